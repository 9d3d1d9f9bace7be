/* rs-ease - EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse
 * Data", WWW 2019) on an events stream: the item-item model B, saved as RSM
 * and/or scored into top-N candidates per user, with a popularity fallback
 * for users without a known item. rs-als's sibling: same inputs, same
 * candidates options and stream. The algorithm is lib/model/ease.c. */
#include "core/clock.h"
#include "model/ease.h"
#include "model/itemids.h"
#include "cli.h"
#include "prep/csr.h"
#include "core/err.h"
#include "index/cands.h"
#include "io/io.h"
#include "index/queries.h"
#include "core/strmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "rs-ease [OPTIONS] --save-model F | -k N [EVENTS...]\n" \
                 "       rs-ease -m MODEL -k N [OPTIONS] [HISTORY...]"

#define DEF_LAMBDA 500
#define DEF_MAX_ITEMS 30000

static struct {
    int exclude_seen, fit_opts;
    double lambda;
    long long candidates, max_items; /* candidates 0: none */
    const char *model, *save, *users_from;
    struct rs_output out;
    struct rs_events_spec ev;
} opt = { .lambda = DEF_LAMBDA, .max_items = DEF_MAX_ITEMS };

static struct rs_cols cols = RS_COLS_INIT(RS_COLS_USER | RS_COLS_ITEM | RS_COLS_EVENT);

#define STR(x) #x
#define XSTR(x) STR(x)

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "EASE, the item-item linear autoencoder of Steck (WWW 2019), on an events stream\n"
           "(user_id, item_id; no EVENTS or '-': stdin). X is the binary users x items matrix\n"
           "(1 where a user has any row with the item); the model is\n"
           "  G = X'X + lambda I,  P = G^-1,  B_ij = -P_ij / P_jj,  B_jj = 0,\n"
           "and a user's scores are x_u B, the sum of the rows of B of the user's items.\n"
           "B is a dense items x items float matrix: memory and model size 4 n^2 bytes, fit\n"
           "time about n^3 flops (Cholesky inverse, one BLAS thread).\n"
           "\n"
           "Model:\n"
           "  -l, --lambda X        L2 regularisation (default " XSTR(DEF_LAMBDA) ", the paper's value on\n"
           "                        ML-20M, Netflix and MSD; tune it on a validation split)\n"
           "      --max-items N     refuse to fit more items (default " XSTR(DEF_MAX_ITEMS) ": 3.6 GB of B)\n"
           "  -m, --model F         score with a model saved by --save-model instead of fitting;\n"
           "                        the inputs are then the users' histories\n"
           "      --save-model F    write the fitted model (RSM, schemas/ease.md)\n"
           "Input:\n"
           "      --positive LIST   only rows whose event is in the comma LIST (default: all)\n"
           "%s"
           "      --csv             parse input as CSV (default: by .csv/.csv.zst name)\n"
           "Output:\n"
           "  -k, --candidates N    top N items per user as candidates TSV (user_id, item_id,\n"
           "                        rank, score); users without an item of the model get the\n"
           "                        N items with the most training users, score = that count\n"
           "      --exclude-seen    leave out each user's items in the input\n"
           "      --users-from F    candidates for the users of F's user column, in order of\n"
           "                        first appearance (default: every user of the input)\n"
           "  -o, --output FILE     candidates to FILE, atomically (default: stdout)\n"
           "  -z, --zstd            compress the candidates (default when FILE ends in .zst)\n"
           "      --level N         zstd level 1..19 (default 3)\n"
           RS_COMMON_HELP
           "\n"
           "B and the candidates do not depend on --threads: G is counted exactly, the inverse\n"
           "runs on one BLAS thread, each user's scores add rows of B in item order. Ties go to\n"
           "the lower item id (bytes). Formulas, model file and accuracy: schemas/ease.md.\n"
           "\n"
           "Examples:\n"
           "  rs-ease -k 200 --exclude-seen --users-from test.tsv -o cand.tsv.zst train.tsv\n"
           "  rs-ease --lambda 250 --positive click,booking --save-model ease.rsm train.tsv.zst\n"
           "  rs-ease -m ease.rsm -k 100 --exclude-seen -o cand.tsv.zst history.tsv.zst\n",
           rs_cli_cols_help(&cols, 24));
}

/* Candidates for the queries, in chunks so memory stays O(chunk × N). */
struct rec {
    const struct rs_ease *m;
    const struct rs_csr *hist;
};

static void recommend(void *ctx, const int64_t *rows, size_t n, size_t k, int64_t *ids, float *scores,
                      size_t *counts)
{
    const struct rec *r = ctx;
    rs_ease_recommend(r->m, r->hist, rows, n, k, opt.exclude_seen, rs_opts.threads, ids, scores, counts);
}

static int write_candidates(struct rs_writer *w, const struct rs_ease *m, const struct rs_csr *hist,
                            const struct rs_queries *q)
{
    size_t k = rs_opt_cap("--candidates", opt.candidates, m->nitems, "items");
    struct rec r = { m, hist };
    return rs_queries_write(w, cols.user, cols.item, q, m->items, k, 4096, recommend, &r);
}

/* The model: fitted on x, or loaded. */
static int get_model(struct rs_ease *m, const struct rs_csr *x, const struct rs_strmap *items)
{
    if (opt.model) {
        int rc = rs_ease_load(m, opt.model);
        if (rc == 0)
            rs_log("model '%s': %zu items, lambda %g", opt.model, m->nitems, m->lambda);
        return rc;
    }
    struct rs_ease_params p = { opt.lambda, (size_t)opt.max_items, rs_opts.threads };
    double t0 = rs_now();
    int rc = rs_ease_fit(m, x, items, &p);
    if (rc == 0)
        rs_log("fitted EASE on %zu items, lambda %g, in %.3f s", m->nitems, opt.lambda, rs_now() - t0);
    return rc;
}

/* Reads the inputs, gets the model, writes the candidates to w (if any),
 * then saves the model (--save-model): a failure leaves neither output. */
static int run(struct rs_writer *w, int nin, char **inputs)
{
    struct rs_strmap *users = rs_strmap_new(1 << 16), *items = rs_strmap_new(1 << 16);
    struct rs_csr x = { 0 }, hist = { 0 };
    struct rs_ease m = { 0 };
    struct rs_queries q = { 0 };
    int rc = rs_csr_read_events(&x, users, items, inputs, (size_t)nin, &opt.ev);
    if (rc == 0) {
        rs_log("%zu users, %zu items, %zu pairs", x.nrows, x.ncols, x.nnz);
        rc = get_model(&m, &x, items);
    }
    if (rc == 0 && w)
        rc = rs_queries_read(&q, opt.users_from, opt.ev.user_col, opt.ev.csv, users);
    if (rc == 0 && w) {
        rs_itemids_remap(&hist, &x, items, m.items);
        rc = write_candidates(w, &m, &hist, &q);
    }
    if (rc == 0 && opt.save)
        rc = rs_ease_save(&m, opt.save);
    rs_queries_free(&q);
    rs_ease_free(&m);
    rs_csr_free(&hist);
    rs_csr_free(&x);
    rs_strmap_free(users);
    rs_strmap_free(items);
    return rc;
}

static void check(void)
{
    if (!opt.save && !opt.candidates)
        rs_usage_error(SYNOPSIS, "nothing to write: give --save-model or --candidates");
    if (!opt.candidates && (opt.out.path || opt.exclude_seen || opt.users_from || opt.out.zstd))
        rs_usage_error(SYNOPSIS, "-o, -z, --exclude-seen and --users-from need --candidates");
    if (opt.model && (opt.save || opt.fit_opts))
        rs_usage_error(SYNOPSIS, "--model scores a saved model: --save-model, --lambda and --max-items "
                                 "apply when fitting");
}

static void parse(int argc, char **argv)
{
    enum { O_MAX = 256, O_SAVE, O_POS, O_CSV, O_EXCL, O_FROM };
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        { "lambda", required_argument, 0, 'l' }, { "max-items", required_argument, 0, O_MAX },
        { "model", required_argument, 0, 'm' }, { "save-model", required_argument, 0, O_SAVE },
        { "positive", required_argument, 0, O_POS }, RS_COLS_LONGOPTS, { "csv", no_argument, 0, O_CSV }, { "candidates", required_argument, 0, 'k' },
        { "exclude-seen", no_argument, 0, O_EXCL }, { "users-from", required_argument, 0, O_FROM },
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS "l:m:k:", longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out) || rs_cli_cols(c, optarg, &cols))
            continue;
        switch (c) {
        case 'l':
            opt.lambda = rs_opt_double("--lambda", optarg, 0, 1e12);
            if (!(opt.lambda > 0))
                rs_usage_error(SYNOPSIS, "--lambda must be > 0 (X'X alone is singular)");
            opt.fit_opts = 1;
            break;
        case O_MAX: opt.max_items = rs_opt_int("--max-items", optarg, 1, 1LL << 31), opt.fit_opts = 1; break;
        case 'm': opt.model = optarg; break;
        case O_SAVE: opt.save = optarg; break;
        case O_POS: opt.ev.positive = optarg; break;
        case O_CSV: opt.ev.csv = 1; break;
        case 'k': opt.candidates = rs_opt_int("--candidates", optarg, 1, 1000000); break;
        case O_EXCL: opt.exclude_seen = 1; break;
        case O_FROM: opt.users_from = optarg; break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    opt.ev.user_col = cols.user;
    opt.ev.item_col = cols.item;
    opt.ev.event_col = cols.event;
    opt.ev.event_required = cols.given & RS_COLS_EVENT;
    check();
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    parse(argc, argv);
    struct rs_writer *w = NULL;
    int rc = 0;
    if (opt.candidates)
        rc = rs_output_open(&w, &opt.out);
    if (rc == 0)
        rc = run(w, argc - optind, argv + optind);
    if (w)
        rc = rs_writer_finish(w, rc);
    if (rc < 0)
        rs_die(rc);
    return 0;
}
