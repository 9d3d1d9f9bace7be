/* rs-rank - the ranking stage: trains a wide & deep two-head classifier
 * (click, booking) on labelled impressions, scores candidate lists with
 * score = p_click + p_booking, and evaluates a model (lib/model/rank.h,
 * lib/model/rank_encode.h, schemas/rank.md). */
#include "cli.h"
#include "io/config.h"
#include "core/err.h"
#include "io/io.h"
#include "model/rank.h"
#include "model/rank_encode.h"
#include "io/rsb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "rs-rank train|score|eval [OPTIONS] [FILE]"
#define DEFAULT_VALID_FRAC 0.1
#define DEFAULT_KS "5,10"

static struct {
    const char *cmd, *config, *model, *users, *items, *valid, *ks, *log, *user_emb, *item_emb;
    struct rs_writer *logw;
    double valid_frac;
    long long keep;
    int allow_missing;
    struct rs_output out;
    struct rs_rank_io io;
    struct rs_rank_train_opts t;
} opt;

/* The columns of the input, the tables and (event logs) their labels. */
static struct rs_cols cols = RS_COLS_INIT(RS_COLS_USER | RS_COLS_ITEM | RS_COLS_EVENT | RS_COLS_SESSION);

static void help(void)
{
    struct rs_rank_train_opts d;
    rs_rank_train_defaults(&d);
    printf("Usage: " SYNOPSIS "\n"
           "Ranking with two heads, P(click) and P(booking), from a wide part (hashed crosses)\n"
           "and a small MLP on embedded categoricals and standardised numerics\n"
           "(schemas/rank.md). No FILE or '-': stdin.\n"
           "\n"
           "  train  FILE is a labelled stream: 'click' (and 'booking') 0/1 columns, one example\n"
           "         per row, or an event log whose impression rows are labelled by later click\n"
           "         and booking rows of the same session, user and item. Writes the model (RSM).\n"
           "  score  FILE is a candidates stream (rows of a user contiguous); writes it with\n"
           "         rank, score = p_click + p_booking, p_click, p_booking, sorted per user.\n"
           "  eval   FILE is a labelled stream; writes AUC and log loss per head, and ndcg@k and\n"
           "         precision@k of the model's order and of the input order per list.\n"
           "\n"
           "Config keys: numeric, categorical, crosses, interactions, cross_buckets,\n"
           "embedding_size, hidden, numeric_buckets. A numeric feature {\"name\": \"price\",\n"
           "\"buckets\": N} (or \"numeric_buckets\": N for all) also feeds the MLP an embedding\n"
           "of the value's bin among about N equal-frequency bins of the training rows (a\n"
           "frequent value gets a bin of its own; the edges are kept in the model).\n"
           "\n"
           "Options:\n"
           "  -c, --config FILE      train: feature config (JSON, schemas/rank.md), required\n"
           "  -m, --model FILE       score, eval: the model written by train, required\n"
           "  -o, --output FILE      train: the model (required); score, eval: output (stdout)\n"
           "      --users FILE       user feature table, joined on the user column\n"
           "      --items FILE       item feature table, joined on the item column\n"
           "      --user-emb FILE    with --item-emb: user and item embeddings (RSB, rs-embed);\n"
           "                         a numeric feature named " RS_RANK_TOWER_SCORE " is then their dot\n"
           "                         product, the retrieval score, for every row (train and score)\n"
           "      --item-emb FILE    item embeddings (RSB)\n"
           "      --valid FILE       train: validation stream (default: the last --valid-frac)\n"
           "      --valid-frac F     train: share of the input (its tail) kept for validation\n"
           "                         (default %g)\n"
           "      --epochs N         train: at most N epochs (default %d)\n"
           "      --patience N       train: stop once neither head has improved its validation\n"
           "                         metric for N epochs; each head keeps the weights of its\n"
           "                         own best epoch (default %d)\n"
           "      --stop-metric M    train: what a head's best epoch maximises: auc, or\n"
           "                         minimises: logloss (default auc)\n"
           "      --batch N          train: examples per step (default %zu)\n"
           "      --lr X             train: Adam learning rate (default %g)\n"
           "      --weight-decay X   train: AdamW decay of the dense layers (default 0)\n"
           "      --emb-l2 X         train: L2 of the embedding and wide-cross rows each batch\n"
           "                         uses, X over the row's training count (mini-batch aware\n"
           "                         regularisation, DIN); 0 = off (default %g)\n"
           "      --pos-weight-click W    train: class weight of clicked examples (default 1)\n"
           "      --pos-weight-booking W  train: class weight of booked examples (default 1)\n"
           "      --log FILE         train: one TSV row per epoch (epoch, losses, AUC, log\n"
           "                         loss per head, seconds, best_click, best_booking)\n"
           "      --keep N           score: at most N rows per user (default: all)\n"
           "      --allow-missing    score, eval: a model column found neither in the input\n"
           "                         nor in --users/--items reads as missing (logged) instead\n"
           "                         of an error\n"
           "      --k LIST           eval: cutoffs (default " DEFAULT_KS ")\n"
           "      --group-col NAME   eval: rows sharing NAME form a list (default: user column)\n"
           "%s"
           "                         (the event and session columns label an event log; the\n"
           "                         session column is used if present)\n"
           "  -z, --zstd             compress the output\n"
           "      --level N          zstd level 1..19 (default 3)\n"
           "score: --shard I/N, the users:\n"
           RS_SHARD_HELP
           RS_COMMON_HELP
           "\n"
           "The same --seed gives the same model and scores whatever --threads: a batch runs\n"
           "as micro-batches of 128 rows whose gradients are added in order.\n"
           "\n"
           "Examples:\n"
           "  rs-rank train -c rank.json --items items.tsv --users users.tsv -o rank.rsm events.tsv\n"
           "  rs-rank score -m rank.rsm --items items.tsv --keep 50 candidates.tsv > ranked.tsv\n"
           "  rs-rank eval -m rank.rsm --items items.tsv --group-col session_id test.tsv\n",
           DEFAULT_VALID_FRAC, d.epochs, d.patience, d.batch, (double)d.lr, (double)d.emb_l2,
           rs_cli_cols_help(&cols, 25));
}

static int parse_stop(const char *s)
{
    if (strcmp(s, "auc") == 0)
        return RS_RANK_STOP_AUC;
    if (strcmp(s, "logloss") == 0)
        return RS_RANK_STOP_LOGLOSS;
    rs_usage_error(SYNOPSIS, "--stop-metric: expected auc or logloss, got '%s'", s);
}

static size_t parse_ks(const char *s, size_t *ks, size_t max)
{
    size_t n = 0;
    char *copy = xstrdup(s), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == max)
            rs_usage_error(SYNOPSIS, "--k: at most %zu cutoffs", max);
        ks[n] = (size_t)rs_opt_int("--k", tok, 1, 1000000);
        if (n && ks[n] <= ks[n - 1])
            rs_usage_error(SYNOPSIS, "--k: cutoffs must be ascending");
        n++;
    }
    free(copy);
    if (n == 0)
        rs_usage_error(SYNOPSIS, "--k: no cutoffs");
    return n;
}

/* The epoch's metrics for the run store (--track). */
static void track_epoch(const struct rs_rank_epoch *e)
{
    static const char *const names[] = { "train_loss", "valid_loss", "val_auc_click", "val_auc_booking",
                                         "val_logloss_click", "val_logloss_booking", "best_click", "best_booking" };
    double v[] = { e->train_loss, e->valid_loss, e->auc[0], e->auc[1], e->logloss[0], e->logloss[1],
                   e->best[0], e->best[1] };
    for (int i = 0; i < 8; i++)
        rs_cli_metric(names[i], e->epoch, v[i]);
}

static void log_epoch(void *ctx, const struct rs_rank_epoch *e)
{
    (void)ctx;
    track_epoch(e);
    if (opt.logw) {
        rs_writer_printf(opt.logw, "%d", e->epoch);
        double v[9] = {e->train_loss, e->valid_loss, e->auc[0], e->auc[1], e->logloss[0],
                       e->logloss[1], e->seconds, e->best[0], e->best[1]};
        for (int i = 0; i < 9; i++)
            rs_writer_putc(opt.logw, '\t'), rs_writer_put_float(opt.logw, v[i]);
        rs_writer_putc(opt.logw, '\n');
    }
    rs_log("epoch %d: train loss %.5f, valid auc click %.4f%s booking %.4f%s, logloss click %.5f "
           "booking %.5f (%.1f s)",
           e->epoch, e->train_loss, e->auc[0], e->best[0] ? " *" : "", e->auc[1], e->best[1] ? " *" : "",
           e->logloss[0], e->logloss[1], e->seconds);
}

static struct rs_embset user_emb, item_emb;

static int load_tables(const struct rs_rank_model *m, struct rs_rank_table **u, struct rs_rank_table **i)
{
    int rc = 0;
    if (opt.user_emb) {
        if ((rc = rs_embset_load(&user_emb, opt.user_emb)) < 0 || (rc = rs_embset_load(&item_emb, opt.item_emb)) < 0)
            return rc;
        if (user_emb.dims != item_emb.dims)
            return rs_err_set(RS_ERR_FORMAT, "'%s' has %u dims, '%s' has %u", opt.user_emb, user_emb.dims,
                              opt.item_emb, item_emb.dims);
        opt.io.user_emb = &user_emb;
        opt.io.item_emb = &item_emb;
    }
    if (opt.users && (rc = rs_rank_table_load(u, opt.users, opt.io.user_col, m)) < 0)
        return rc;
    if (opt.items && (rc = rs_rank_table_load(i, opt.items, opt.io.item_col, m)) < 0)
        return rc;
    opt.io.users = *u;
    opt.io.items = *i;
    return 0;
}

static double base_rate(const struct rs_rank_data *d, int h)
{
    double s = 0;
    for (size_t i = 0; i < d->n; i++)
        s += d->y[2 * i + h];
    return d->n ? s / (double)d->n : 0.5;
}

static int cmd_train(const char *input)
{
    json_t *cfg;
    struct rs_rank_model m;
    struct rs_rank_table *u = NULL, *it = NULL;
    struct rs_rank_data all;
    struct rs_rank_read_stats st = {0};
    int rc = rs_config_load(&cfg, opt.config);
    if (rc < 0)
        return rc;
    rc = rs_rank_config(&m, cfg, opt.config);
    json_decref(cfg);
    if (rc < 0 || (rc = load_tables(&m, &u, &it)) < 0) {
        rs_rank_model_free(&m);
        return rc;
    }
    if (opt.log && (rc = rs_writer_open(&opt.logw, opt.log, 0, 0)) == 0)
        rc = rs_writer_printf(opt.logw, "epoch\ttrain_loss\tvalid_loss\tauc_click\tauc_booking\t"
                                        "logloss_click\tlogloss_booking\tseconds\tbest_click\tbest_booking\n");
    if (rc < 0) {
        rs_rank_table_free(u);
        rs_rank_table_free(it);
        rs_rank_model_free(&m);
        return rc;
    }
    struct rs_rank_fit *fit = rs_rank_fit_new(&m);
    rs_rank_data_init(&all, &m);
    rc = rs_rank_read(&m, input, &opt.io, fit, &all, &st);
    size_t n_train = all.n;
    if (rc == 0 && opt.valid)
        rc = rs_rank_read(&m, opt.valid, &opt.io, fit, &all, &st);
    else
        n_train = all.n - (size_t)((double)all.n * opt.valid_frac);
    if (rc == 0 && n_train == 0)
        rc = rs_err_set(RS_ERR_FORMAT, "'%s': no training examples", input);
    if (rc == 0) {
        rs_rank_fit_finish(&m, fit, &all, n_train);
        rs_rank_model_build(&m);
        struct rs_rank_data tr = rs_rank_data_view(&all, 0, n_train);
        struct rs_rank_data va = rs_rank_data_view(&all, n_train, all.n - n_train);
        rs_log("%zu training and %zu validation examples (%llu click/booking rows without an "
               "impression); click rate %.4f, booking rate %.4f",
               tr.n, va.n, (unsigned long long)st.unmatched, base_rate(&tr, 0), base_rate(&tr, 1));
        rs_rank_model_init(&m, opt.t.seed, base_rate(&tr, 0), base_rate(&tr, 1));
        struct rs_rank_epoch best[2];
        opt.t.on_epoch = log_epoch;
        rs_cli_param("batch", "%zu", opt.t.batch);
        rs_cli_param("epochs", "%d", opt.t.epochs);
        rs_cli_param("patience", "%d", opt.t.patience);
        rs_cli_param("lr", "%.9g", opt.t.lr);
        rs_cli_param("weight-decay", "%.9g", opt.t.weight_decay);
        rs_cli_param("emb-l2", "%.9g", opt.t.emb_l2);
        rc = rs_rank_train(&m, &tr, &va, &opt.t, best);
        if (rc == 0) {
            json_t *info = json_pack("{s:i, s:i, s:f, s:f, s:f, s:f, s:I, s:I, s:I}", "best_epoch",
                                     best[0].epoch, "best_epoch_booking", best[1].epoch, "auc_click",
                                     best[0].auc[0], "auc_booking", best[1].auc[1], "logloss_click",
                                     best[0].logloss[0], "logloss_booking", best[1].logloss[1],
                                     "train_examples", (json_int_t)tr.n, "valid_examples",
                                     (json_int_t)va.n, "seed", (json_int_t)opt.t.seed);
            rc = rs_rank_model_save(&m, opt.out.path, info);
            json_decref(info);
            rs_cli_metric("auc_click", 0, best[0].auc[0]);
            rs_cli_metric("auc_booking", 0, best[1].auc[1]);
            if (rc == 0)
                rs_log("best epochs: click %d (valid auc %.4f), booking %d (valid auc %.4f); model '%s'",
                       best[0].epoch, best[0].auc[0], best[1].epoch, best[1].auc[1], opt.out.path);
        }
    }
    if (opt.logw && rc == 0)
        rc = rs_writer_close(opt.logw);
    else if (opt.logw)
        rs_writer_abort(opt.logw);
    rs_rank_fit_free(fit);
    rs_rank_data_free(&all);
    rs_rank_table_free(u);
    rs_rank_table_free(it);
    rs_rank_model_free(&m);
    return rc;
}

static int cmd_apply(const char *input)
{
    struct rs_rank_model m;
    struct rs_rank_table *u = NULL, *it = NULL;
    struct rs_rank_read_stats st = {0};
    struct rs_writer *w = NULL;
    size_t ks[32], nk = parse_ks(opt.ks ? opt.ks : DEFAULT_KS, ks, 32);
    int rc = rs_rank_model_load(&m, opt.model);
    if (rc < 0)
        return rc;
    if ((rc = load_tables(&m, &u, &it)) == 0 &&
        (rc = rs_output_open(&w, &opt.out)) == 0) {
        if (strcmp(opt.cmd, "score") == 0)
            rc = rs_rank_score(&m, input, &opt.io, &rs_shard_sel, (size_t)opt.keep, w, &st);
        else
            rc = rs_rank_eval(&m, input, &opt.io, ks, nk, w, &st);
        if (rc == 0 && *st.missing && !opt.allow_missing)
            rc = rs_err_set(RS_ERR_FORMAT, "'%s': columns of the model neither in the input nor in the users or "
                            "items table: %s (--allow-missing reads them as missing)", input, st.missing);
        else if (rc == 0 && *st.missing)
            rs_log("columns not found, read as missing: %s", st.missing);
        rc = rs_writer_finish(w, rc);
    }
    rs_rank_table_free(u);
    rs_rank_table_free(it);
    rs_rank_model_free(&m);
    return rc;
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    rs_rank_io_defaults(&opt.io);
    rs_rank_train_defaults(&opt.t);
    opt.valid_frac = DEFAULT_VALID_FRAC;
    if (argc > 1 && argv[1][0] != '-') {
        opt.cmd = argv[1];
        if (strcmp(opt.cmd, "train") && strcmp(opt.cmd, "score") && strcmp(opt.cmd, "eval"))
            rs_usage_error(SYNOPSIS, "unknown command '%s': expected train, score or eval", opt.cmd);
        argv[1] = argv[0];
        argc--, argv++;
    }
    enum { O_USERS = 256, O_ITEMS, O_UEMB, O_IEMB, O_VALID, O_VFRAC, O_EPOCHS, O_PAT, O_BATCH, O_LR, O_WD, O_PWC,
           O_PWB, O_KEEP, O_ALLOW_MISSING, O_K, O_GROUP, O_LOG, O_EMBL2, O_STOP };
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        RS_SHARD_LONGOPTS,
        { "config", required_argument, 0, 'c' }, { "model", required_argument, 0, 'm' },
        { "users", required_argument, 0, O_USERS },
        { "user-emb", required_argument, 0, O_UEMB }, { "item-emb", required_argument, 0, O_IEMB },
        { "items", required_argument, 0, O_ITEMS }, { "valid", required_argument, 0, O_VALID },
        { "valid-frac", required_argument, 0, O_VFRAC }, { "epochs", required_argument, 0, O_EPOCHS },
        { "patience", required_argument, 0, O_PAT }, { "batch", required_argument, 0, O_BATCH },
        { "lr", required_argument, 0, O_LR }, { "weight-decay", required_argument, 0, O_WD },
        { "pos-weight-click", required_argument, 0, O_PWC },
        { "pos-weight-booking", required_argument, 0, O_PWB },
        { "emb-l2", required_argument, 0, O_EMBL2 }, { "stop-metric", required_argument, 0, O_STOP },
        { "keep", required_argument, 0, O_KEEP }, { "k", required_argument, 0, O_K },
        { "allow-missing", no_argument, 0, O_ALLOW_MISSING },
        { "group-col", required_argument, 0, O_GROUP }, { "log", required_argument, 0, O_LOG },
        RS_COLS_LONGOPTS,
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS "c:m:", longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out) || rs_cli_cols(c, optarg, &cols) ||
            rs_cli_shard(c, optarg))
            continue;
        switch (c) {
        case 'c': opt.config = optarg; break;
        case 'm': opt.model = optarg; break;
        case O_USERS: opt.users = optarg; break;
        case O_UEMB: opt.user_emb = optarg; break;
        case O_IEMB: opt.item_emb = optarg; break;
        case O_ITEMS: opt.items = optarg; break;
        case O_VALID: opt.valid = optarg; break;
        case O_VFRAC: opt.valid_frac = rs_opt_double("--valid-frac", optarg, 0, 0.9); break;
        case O_EPOCHS: opt.t.epochs = (int)rs_opt_int("--epochs", optarg, 1, 100000); break;
        case O_PAT: opt.t.patience = (int)rs_opt_int("--patience", optarg, 0, 100000); break;
        case O_BATCH: opt.t.batch = (size_t)rs_opt_int("--batch", optarg, 1, 1 << 20); break;
        case O_LR: opt.t.lr = (float)rs_opt_double("--lr", optarg, 1e-7, 10); break;
        case O_WD: opt.t.weight_decay = (float)rs_opt_double("--weight-decay", optarg, 0, 10); break;
        case O_PWC: opt.t.pos_weight[0] = (float)rs_opt_double("--pos-weight-click", optarg, 1e-3, 1e4); break;
        case O_PWB: opt.t.pos_weight[1] = (float)rs_opt_double("--pos-weight-booking", optarg, 1e-3, 1e4); break;
        case O_EMBL2: opt.t.emb_l2 = (float)rs_opt_double("--emb-l2", optarg, 0, 1e6); break;
        case O_STOP: opt.t.stop = parse_stop(optarg); break;
        case O_KEEP: opt.keep = rs_opt_int("--keep", optarg, 1, 1LL << 40); break;
        case O_ALLOW_MISSING: opt.allow_missing = 1; break;
        case O_K: opt.ks = optarg; break;
        case O_GROUP: opt.io.group_col = optarg; break;
        case O_LOG: opt.log = optarg; break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    if (!opt.cmd)
        rs_usage_error(SYNOPSIS, "missing command: train, score or eval");
    opt.io.user_col = cols.user;
    opt.io.item_col = cols.item;
    opt.io.event_col = cols.event;
    opt.io.session_col = cols.session;
    if (argc - optind > 1)
        rs_usage_error(SYNOPSIS, "at most one input file");
    if (rs_shard_sel.count > 1 && strcmp(opt.cmd, "score") != 0)
        rs_usage_error(SYNOPSIS, "--shard applies to score, not %s", opt.cmd);
    int train = strcmp(opt.cmd, "train") == 0;
    if (train && (!opt.config || !opt.out.path))
        rs_usage_error(SYNOPSIS, "train needs --config and -o MODEL");
    if (!train && !opt.model)
        rs_usage_error(SYNOPSIS, "%s needs --model", opt.cmd);
    if (!opt.user_emb != !opt.item_emb)
        rs_usage_error(SYNOPSIS, "--user-emb and --item-emb go together");
    if (opt.ks)
        parse_ks(opt.ks, (size_t[32]){0}, 32);
    opt.t.seed = rs_opts.seed;
    opt.t.threads = rs_opts.threads;
    const char *input = optind < argc ? argv[optind] : "-";
    int rc = train ? cmd_train(input) : cmd_apply(input);
    rs_embset_free(&user_emb);
    rs_embset_free(&item_emb);
    if (rc < 0)
        rs_die(rc);
    return 0;
}
