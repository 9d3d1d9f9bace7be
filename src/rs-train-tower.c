/* rs-train-tower - train the two-tower retrieval model (lib/model/tower,
 * lib/model/tower_train) from an examples stream joined with user and item feature
 * tables; write it as an RSM model file (schemas/rsm.md). */
#include "cli.h"
#include "io/config.h"
#include "core/err.h"
#include "io/io.h"
#include "io/rsm.h"
#include "model/tower.h"
#include "model/tower_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "rs-train-tower -c CONFIG.json -o MODEL.rsm [OPTIONS] [EXAMPLES]"

static struct {
    const char *config, *output, *checkpoint, *log;
    struct rs_tt_inputs in;
    size_t d;
    int resume;
} opt;

/* The id columns of every input. */
static struct rs_cols cols = RS_COLS_INIT(RS_COLS_USER | RS_COLS_ITEM);

static struct rs_tt_opts to;

static void help(void)
{
    struct rs_tt_opts def;
    rs_tt_opts_init(&def);
    printf("Usage: " SYNOPSIS "\n"
           "Train a two-tower model: user and item towers built from a JSON feature config\n"
           "(user_embedding_layers, item_embedding_layers; types string, int, text, numeric,\n"
           "pretrained, sequence), in-batch softmax with logQ correction, Adam. EXAMPLES (or\n"
           "stdin) has columns user_id, item_id and optionally logq, neg_items, neg_logq\n"
           "(rs-negsample); feature columns come from --users / --items, which are read\n"
           "twice (vocabularies, then encoding; a pipe is spooled zstd-compressed to\n"
           "$TMPDIR). Config format: schemas/tower-config.md.\n"
           "\n"
           "Inputs and outputs:\n"
           "  -c, --config FILE       feature config (JSON; with --resume: optional, must be\n"
           "                          the checkpoint's)\n"
           "      --users FILE        user feature table (user_id + feature columns)\n"
           "      --items FILE        item feature table (item_id + feature columns)\n"
           "      --valid FILE        validation pairs (user_id, item_id): recall@k each epoch,\n"
           "                          early stopping, best weights kept\n"
           "  -o, --output FILE       the model (RSM), written atomically at the end\n"
           "      --checkpoint FILE   checkpoint after every epoch (default: OUTPUT.ckpt)\n"
           "      --resume            continue from the checkpoint exactly where it stopped\n"
           "      --log FILE          epoch log as TSV (epoch, step, loss, lr, recall, ndcg, ...)\n"
           "%s"
           "Model and training:\n"
           "  -d, --embedding-size N  output embedding size d (default: the config's, else 64)\n"
           "      --batch N           examples per step (default %zu)\n"
           "      --epochs N          epochs; the schedule spans them (default %d)\n"
           "      --stop-after N      stop this run after N epochs (resume later; default: no)\n"
           "      --lr X              Adam learning rate (default %g)\n"
           "      --lr-schedule S     constant, cosine or linear decay (default cosine)\n"
           "      --warmup N          linear warm-up steps (default %ld)\n"
           "      --temperature X     softmax temperature (default %g)\n"
           "      --feature-dropout X fraction of each batch whose behavioural user features\n"
           "                          are zeroed, for cold start (default %g)\n"
           "      --no-logq           no logQ popularity correction\n"
           "  -k, --k N               validation recall@k / NDCG@k (default %zu)\n"
           "      --patience N        epochs without better recall before stopping; 0 never\n"
           "                          (default %d)\n"
           "      --valid-users N     evaluate at most N validation users (default: all)\n"
           "      --sparse-optim O    embedding tables: adam (lazy) or adagrad (default adam)\n"
           "      --lr-sparse X       Adagrad learning rate (default %g)\n"
           RS_COMMON_HELP
           "\n"
           "The same --seed gives a byte-identical model whatever --threads. The model holds\n"
           "the config, vocabularies, normalisation statistics and weights: rs-cat --schema\n"
           "MODEL.rsm describes it.\n"
           "\n"
           "Examples:\n"
           "  rs-train-tower -c examples/ml100k-tower.json --users users.tsv --items items.tsv \\\n"
           "      --valid valid.tsv -o tower.rsm train.tsv\n"
           "  rs-train-tower -c tower.json -o tower.rsm --resume train.tsv\n"
           "  rs-embed --model tower.rsm --items items.tsv -o item_emb.rsb\n",
           rs_cli_cols_help(&cols, 26), def.batch, def.epochs, def.lr, def.warmup, def.tau, def.dropout, def.k,
           def.patience, def.lr_sparse);
}

static struct rs_progress prog;
static char prog_what[64];

static void on_step(void *ctx, int epoch, size_t done, size_t total)
{
    (void)ctx;
    if (done <= to.batch) {
        snprintf(prog_what, sizeof prog_what, "epoch %d/%d", epoch, to.epochs);
        rs_progress_start(&prog, prog_what, total);
    }
    rs_progress_add(&prog, done - prog.done);
}

struct log_ctx {
    struct rs_writer *w;
    int rc;
};

/* The training options as resolved (config, flags, defaults) for the run
 * store (--track). */
static void track_opts(void)
{
    rs_cli_param("batch", "%zu", to.batch);
    rs_cli_param("epochs", "%d", to.epochs);
    rs_cli_param("lr", "%.9g", to.lr);
    rs_cli_param("warmup", "%ld", to.warmup);
    rs_cli_param("tau", "%.9g", to.tau);
    rs_cli_param("dropout", "%.9g", to.dropout);
    rs_cli_param("logq", "%d", to.logq);
    rs_cli_param("k", "%zu", to.k);
    rs_cli_param("patience", "%d", to.patience);
    rs_cli_param("lr-sparse", "%.9g", to.lr_sparse);
}

/* The epoch's metrics for the run store (--track). */
static void track_epoch(const struct rs_tt_epoch *e)
{
    char name[32];
    rs_cli_metric("loss", e->epoch, e->loss);
    rs_cli_metric("lr", e->epoch, e->lr);
    rs_cli_metric("best", e->epoch, e->best);
    if (isnan(e->recall))
        return;
    snprintf(name, sizeof name, "val_recall@%zu", to.k);
    rs_cli_metric(name, e->epoch, e->recall);
    snprintf(name, sizeof name, "val_ndcg@%zu", to.k);
    rs_cli_metric(name, e->epoch, e->ndcg);
}

static void on_epoch(void *vctx, const struct rs_tt_epoch *e)
{
    struct log_ctx *c = vctx;
    if (prog.on)
        fputs("\r\033[K", stderr); /* the progress line gives way to the epoch's log line */
    char metrics[96] = "";
    if (!isnan(e->recall))
        snprintf(metrics, sizeof metrics, ", recall@%zu %.4f, ndcg@%zu %.4f", to.k, e->recall, to.k, e->ndcg);
    rs_log("epoch %d/%d: loss %.4f%s, lr %.3g, %.0f examples/s (%.1f s)%s%s", e->epoch, to.epochs, e->loss, metrics,
           e->lr, e->examples_per_s, e->seconds, e->best ? ", best" : "", e->stop ? ", early stop" : "");
    track_epoch(e);
    if (!c->w)
        return;
    c->rc |= rs_writer_printf(c->w, "%d\t%ld\t", e->epoch, e->steps);
    double v[] = { e->loss, e->lr, e->recall, e->ndcg };
    for (int i = 0; i < 4; i++)
        c->rc |= rs_writer_put_float(c->w, v[i]) | rs_writer_putc(c->w, '\t');
    c->rc |= rs_writer_printf(c->w, "%zu\t%.1f\t%.3f\n", to.k, e->examples_per_s, e->seconds);
}

static int parse_schedule(const char *s)
{
    if (!strcmp(s, "constant"))
        return RS_LR_CONSTANT;
    if (!strcmp(s, "cosine"))
        return RS_LR_COSINE;
    if (!strcmp(s, "linear"))
        return RS_LR_LINEAR;
    rs_usage_error(SYNOPSIS, "invalid --lr-schedule '%s': expected constant, cosine or linear", s);
}

static void parse_args(int argc, char **argv)
{
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        { "config", required_argument, 0, 'c' },      { "users", required_argument, 0, 'U' },
        { "items", required_argument, 0, 'I' },       { "valid", required_argument, 0, 'W' },
        { "output", required_argument, 0, 'o' },      { "checkpoint", required_argument, 0, 'C' },
        { "resume", no_argument, 0, 'R' },            { "log", required_argument, 0, 'L' },
        RS_COLS_LONGOPTS,
        { "embedding-size", required_argument, 0, 'd' }, { "batch", required_argument, 0, 'B' },
        { "epochs", required_argument, 0, 'E' },      { "stop-after", required_argument, 0, 'S' },
        { "lr", required_argument, 0, 'l' },          { "lr-schedule", required_argument, 0, 'H' },
        { "warmup", required_argument, 0, 'w' },      { "temperature", required_argument, 0, 'T' },
        { "feature-dropout", required_argument, 0, 'D' }, { "no-logq", no_argument, 0, 'N' },
        { "k", required_argument, 0, 'k' },           { "patience", required_argument, 0, 'P' },
        { "valid-users", required_argument, 0, 'V' + 256 }, { "sparse-optim", required_argument, 0, 'O' },
        { "lr-sparse", required_argument, 0, 'A' },   { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS "c:o:d:k:", longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_cols(c, optarg, &cols))
            continue;
        switch (c) {
        case 'c': opt.config = optarg; break;
        case 'U': opt.in.users = optarg; break;
        case 'I': opt.in.items = optarg; break;
        case 'W': opt.in.valid = optarg; break;
        case 'o': opt.output = optarg; break;
        case 'C': opt.checkpoint = optarg; break;
        case 'R': opt.resume = 1; break;
        case 'L': opt.log = optarg; break;
        case 'd': opt.d = (size_t)rs_opt_int("--embedding-size", optarg, 1, 65536); break;
        case 'B': to.batch = (size_t)rs_opt_int("--batch", optarg, 2, 1 << 20); break;
        case 'E': to.epochs = (int)rs_opt_int("--epochs", optarg, 1, 1000000); break;
        case 'S': to.stop_after = (int)rs_opt_int("--stop-after", optarg, 1, 1000000); break;
        case 'l': to.lr = rs_opt_double("--lr", optarg, 0, 10); break;
        case 'H': to.schedule = parse_schedule(optarg); break;
        case 'w': to.warmup = (long)rs_opt_int("--warmup", optarg, 0, 1L << 40); break;
        case 'T': to.tau = rs_opt_double("--temperature", optarg, 1e-4, 100); break;
        case 'D': to.dropout = rs_opt_double("--feature-dropout", optarg, 0, 1); break;
        case 'N': to.logq = 0; break;
        case 'k': to.k = (size_t)rs_opt_int("--k", optarg, 1, 100000); break;
        case 'P': to.patience = (int)rs_opt_int("--patience", optarg, 0, 1000000); break;
        case 'V' + 256: to.valid_users = (size_t)rs_opt_int("--valid-users", optarg, 1, INT64_MAX); break;
        case 'O':
            if (strcmp(optarg, "adam") && strcmp(optarg, "adagrad"))
                rs_usage_error(SYNOPSIS, "invalid --sparse-optim '%s': expected adam or adagrad", optarg);
            to.sparse_adagrad = !strcmp(optarg, "adagrad");
            break;
        case 'A': to.lr_sparse = rs_opt_double("--lr-sparse", optarg, 0, 100); break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    if (!opt.output)
        rs_usage_error(SYNOPSIS, "no output: use -o MODEL.rsm");
    if (!opt.config && !opt.resume)
        rs_usage_error(SYNOPSIS, "no feature config: use -c CONFIG.json");
    if (argc - optind > 1)
        rs_usage_error(SYNOPSIS, "one examples input at most");
    opt.in.examples = optind < argc ? argv[optind] : "-";
    opt.in.user_col = cols.user;
    opt.in.item_col = cols.item;
    opt.in.batch = to.batch;
}

/* With --resume, a -c config must be the checkpoint's own: another would be
 * ignored without a word. */
static int check_resume_config(const struct rs_rsm *ckpt)
{
    json_t *config;
    int rc = rs_config_load(&config, opt.config);
    if (rc == 0 && !json_equal(config, rs_rsm_section(ckpt, "config")))
        rc = rs_err_set(RS_ERR_FORMAT, "'%s' is not the feature config of checkpoint '%s': resume without -c, or "
                        "train afresh without --resume", opt.config, to.checkpoint);
    json_decref(config);
    return rc;
}

/* Builds the tower: from the config (fresh) or from the checkpoint (resume). */
static int build(struct rs_tower *t, struct rs_rsm **ckpt, struct rs_tt_data *d)
{
    int rc;
    if (opt.resume) {
        if ((rc = rs_rsm_load(ckpt, to.checkpoint)) < 0 || (rc = rs_tower_from_rsm(t, *ckpt)) < 0 ||
            (opt.config && (rc = check_resume_config(*ckpt)) < 0))
            return rc;
        return rs_tt_load(d, t, &opt.in, 1);
    }
    json_t *config;
    if ((rc = rs_config_load(&config, opt.config)) < 0)
        return rc;
    rc = rs_tower_parse(t, config, opt.d, opt.config);
    json_decref(config);
    if (rc == 0 && (rc = rs_tt_load(d, t, &opt.in, 0)) == 0)
        rs_tower_init_params(t, to.seed);
    return rc;
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    rs_tt_opts_init(&to);
    parse_args(argc, argv);
    to.seed = rs_opts.seed;
    to.threads = rs_opts.threads;
    to.on_step = on_step;
    char *ckpt_name = NULL;
    if (!opt.checkpoint) {
        ckpt_name = xmalloc(strlen(opt.output) + 6);
        sprintf(ckpt_name, "%s.ckpt", opt.output);
    }
    to.checkpoint = opt.checkpoint ? opt.checkpoint : ckpt_name;

    struct rs_tower t = { 0 };
    struct rs_tt_data d = { 0 };
    struct rs_rsm *ckpt = NULL;
    struct log_ctx lc = { 0 };
    int rc = build(&t, &ckpt, &d);
    track_opts();
    if (rc == 0) {
        rs_log("%zu examples, %zu users, %zu items, %zu extra negatives per example, %zu validation pairs "
               "(%zu skipped: unknown user or item), %zu parameters",
               d.n, d.users.n, d.items.n, d.K, d.nv, d.skipped_valid, t.p.size);
        if (opt.log && (rc = rs_writer_open(&lc.w, opt.log, 0, 0)) == 0)
            rc = rs_writer_printf(lc.w, "epoch\tstep\tloss\tlr\trecall\tndcg\tk\texamples_per_s\tseconds\n");
    }
    if (rc == 0)
        rc = rs_tt_train(&t, &d, &to, ckpt, on_epoch, &lc);
    if (rc == 0 && lc.rc)
        rc = rs_err_set(RS_ERR_IO, "cannot write '%s'", opt.log);
    if (rc == 0) {
        struct rs_rsm *m = rs_rsm_new();
        rs_tower_to_rsm(&t, m);
        rc = rs_rsm_save(m, opt.output);
        rs_rsm_free(m);
    }
    if (lc.w)
        rc = rs_writer_finish(lc.w, rc);
    rs_tt_data_free(&d);
    rs_tower_free(&t);
    rs_rsm_free(ckpt);
    free(ckpt_name);
    if (rc < 0)
        rs_die(rc);
    return 0;
}
