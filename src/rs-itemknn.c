/* rs-itemknn - sparse item-item nearest neighbours (Sarwar et al., WWW 2001;
 * Deshpande & Karypis, TOIS 2004) on an events stream: cosine with
 * shrinkage, the top M neighbours per item, saved as RSM and/or scored into
 * top-N candidates per user, with a popularity fallback for users without a
 * known item. rs-ease's sparse sibling for catalogues too large for a dense
 * items × items matrix: same inputs, same candidates options and stream.
 * The algorithm is lib/model/itemknn.c. */
#include "core/clock.h"
#include "model/itemknn.h"
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

#define SYNOPSIS "rs-itemknn [OPTIONS] --save-model F | -k N [EVENTS...]\n" \
                 "       rs-itemknn -m MODEL -k N [OPTIONS] [HISTORY...]"

#define DEF_NEIGHBOURS 100
#define DEF_SHRINK 10
#define DEF_MAX_HISTORY 500

static struct {
    int exclude_seen, fit_opts;
    double shrink;
    long long candidates, neighbours, max_history; /* candidates 0: none; max_history 0: all */
    const char *model, *save, *users_from;
    struct rs_output out;
    struct rs_events_spec ev;
} opt = { .shrink = DEF_SHRINK, .neighbours = DEF_NEIGHBOURS, .max_history = DEF_MAX_HISTORY };

static struct rs_cols cols = RS_COLS_INIT(RS_COLS_USER | RS_COLS_ITEM | RS_COLS_EVENT);

#define STR(x) #x
#define XSTR(x) STR(x)

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Item-item nearest neighbours (Sarwar et al. WWW 2001, Deshpande & Karypis TOIS 2004)\n"
           "on an events stream (user_id, item_id; no EVENTS or '-': stdin). X is the binary\n"
           "users x items matrix; with n_i the users of item i and c_ij the users of both,\n"
           "  s_ij = c_ij / (sqrt(n_i n_j) + shrink)   (cosine with shrinkage),\n"
           "each item keeps its top M neighbours (ties to the lower id), and a user's scores are\n"
           "  score_u(i) = sum over the user's items j of s_ji (0 where i is not in j's list).\n"
           "Sparse: memory items x M + the events, never items^2; fit time sum_u |u|^2.\n"
           "\n"
           "Model:\n"
           "  -M, --neighbours N    neighbours kept per item (default " XSTR(DEF_NEIGHBOURS) ")\n"
           "      --shrink X        shrinkage of the cosine, >= 0 (default " XSTR(DEF_SHRINK) "; 0: plain cosine)\n"
           "      --max-history H   fit on each user's last H distinct items in input order, the\n"
           "                        most recent in a time-ordered stream (default " XSTR(DEF_MAX_HISTORY) "; 0: all);\n"
           "                        bounds the fit's cost; scores and --exclude-seen use them all\n"
           "  -m, --model F         score with a model saved by --save-model instead of fitting;\n"
           "                        the inputs are then the users' histories\n"
           "      --save-model F    write the fitted model (RSM, schemas/itemknn.md)\n"
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
           "The model and the candidates do not depend on --threads: co-occurrences are counted\n"
           "exactly, item rows in fixed blocks, each user's scores add the lists of the user's\n"
           "items in item order. Ties go to the lower item id (bytes). Formulas, model file and\n"
           "figures: schemas/itemknn.md.\n"
           "\n"
           "Examples:\n"
           "  rs-itemknn -k 200 --exclude-seen --users-from test.tsv -o cand.tsv.zst train.tsv\n"
           "  rs-itemknn -M 200 --positive click,booking --save-model knn.rsm train.tsv.zst\n"
           "  rs-itemknn -m knn.rsm -k 100 --exclude-seen -o cand.tsv.zst history.tsv.zst\n",
           rs_cli_cols_help(&cols, 24));
}

/* Candidates for the queries, in chunks so memory stays O(chunk × N). */
struct rec {
    const struct rs_itemknn *m;
    const struct rs_csr *hist;
};

static void recommend(void *ctx, const int64_t *rows, size_t n, size_t k, int64_t *ids, float *scores,
                      size_t *counts)
{
    const struct rec *r = ctx;
    rs_itemknn_recommend(r->m, r->hist, rows, n, k, opt.exclude_seen, rs_opts.threads, ids, scores, counts);
}

static int write_candidates(struct rs_writer *w, const struct rs_itemknn *m, const struct rs_csr *hist,
                            const struct rs_queries *q)
{
    size_t k = rs_opt_cap("--candidates", opt.candidates, m->nitems, "items");
    struct rec r = { m, hist };
    return rs_queries_write(w, cols.user, cols.item, q, m->items, k, 4096, recommend, &r);
}

/* The model: fitted on the triplets c (x: their full matrix), or loaded. */
static int get_model(struct rs_itemknn *m, const struct rs_coo *c, const struct rs_csr *x,
                     const struct rs_strmap *items)
{
    if (opt.model) {
        int rc = rs_itemknn_load(m, opt.model);
        if (rc == 0)
            rs_log("model '%s': %zu items, %zu neighbours, shrink %g", opt.model, m->nitems, m->neighbours,
                   m->shrink);
        return rc;
    }
    struct rs_itemknn_params p = { (size_t)opt.neighbours, opt.shrink, (size_t)opt.max_history, rs_opts.threads };
    double t0 = rs_now();
    struct rs_csr xfit;
    size_t cut = rs_itemknn_history(&xfit, c, x->nrows, x->ncols, p.max_history);
    if (cut)
        rs_log("%zu users' histories cut to their last %zu items for the fit", cut, p.max_history);
    int rc = rs_itemknn_fit(m, &xfit, x, items, &p);
    rs_csr_free(&xfit);
    if (rc == 0)
        rs_log("fitted item kNN on %zu items, %zu neighbour pairs, in %.3f s", m->nitems,
               (size_t)m->ptr[m->nitems], rs_now() - t0);
    return rc;
}

/* Reads the inputs, gets the model, writes the candidates to w (if any),
 * then saves the model (--save-model): a failure leaves neither output. */
static int run(struct rs_writer *w, int nin, char **inputs)
{
    struct rs_strmap *users = rs_strmap_new(1 << 16), *items = rs_strmap_new(1 << 16);
    struct rs_coo c;
    struct rs_csr x = { 0 }, hist = { 0 };
    struct rs_itemknn m = { 0 };
    struct rs_queries q = { 0 };
    rs_coo_init(&c);
    int rc = rs_coo_read_paths(&c, users, items, inputs, (size_t)nin, &opt.ev);
    if (rc == 0) {
        rs_csr_from_coo(&x, &c, rs_strmap_size(users), rs_strmap_size(items));
        rs_log("%zu users, %zu items, %zu pairs", x.nrows, x.ncols, x.nnz);
        rc = get_model(&m, &c, &x, items);
    }
    rs_coo_free(&c);
    if (rc == 0 && w)
        rc = rs_queries_read(&q, opt.users_from, opt.ev.user_col, opt.ev.csv, users);
    if (rc == 0 && w) {
        rs_itemids_remap(&hist, &x, items, m.items);
        rc = write_candidates(w, &m, &hist, &q);
    }
    if (rc == 0 && opt.save)
        rc = rs_itemknn_save(&m, opt.save);
    rs_queries_free(&q);
    rs_itemknn_free(&m);
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
        rs_usage_error(SYNOPSIS, "--model scores a saved model: --save-model, --neighbours, --shrink and "
                                 "--max-history apply when fitting");
}

static void parse(int argc, char **argv)
{
    enum { O_HIST = 256, O_SHRINK, O_SAVE, O_POS, O_CSV, O_EXCL, O_FROM };
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        { "neighbours", required_argument, 0, 'M' }, { "shrink", required_argument, 0, O_SHRINK },
        { "max-history", required_argument, 0, O_HIST },
        { "model", required_argument, 0, 'm' }, { "save-model", required_argument, 0, O_SAVE },
        { "positive", required_argument, 0, O_POS }, RS_COLS_LONGOPTS, { "csv", no_argument, 0, O_CSV },
        { "candidates", required_argument, 0, 'k' },
        { "exclude-seen", no_argument, 0, O_EXCL }, { "users-from", required_argument, 0, O_FROM },
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS "M:m:k:", longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out) || rs_cli_cols(c, optarg, &cols))
            continue;
        switch (c) {
        case 'M': opt.neighbours = rs_opt_int("--neighbours", optarg, 1, 1000000), opt.fit_opts = 1; break;
        case O_SHRINK: opt.shrink = rs_opt_double("--shrink", optarg, 0, 1e12), opt.fit_opts = 1; break;
        case O_HIST: opt.max_history = rs_opt_int("--max-history", optarg, 0, 1LL << 31), opt.fit_opts = 1; break;
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
