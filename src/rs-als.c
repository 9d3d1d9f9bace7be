/* rs-als - implicit-feedback ALS (Hu, Koren & Volinsky 2008) on an events
 * stream: user and item factors as RSB, a per-iteration loss log, and top-N
 * candidates per user with a popularity fallback for unknown users (the
 * retail seed's MainRecommender). The algorithm is lib/model/als.c. */
#include "core/clock.h"
#include "model/als.h"
#include "index/cands.h"
#include "cli.h"
#include "prep/csr.h"
#include "core/err.h"
#include "io/io.h"
#include "index/knn.h"
#include "io/rsb.h"
#include "index/queries.h"
#include "core/strmap.h"
#include "io/tsv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "rs-als [OPTIONS] --user-factors F | --item-factors F | --candidates N [EVENTS...]"

#define DEF_FACTORS 64
#define DEF_LAMBDA 0.1
#define DEF_ALPHA 20.0
#define DEF_ITERATIONS 15
#define DEF_CG_STEPS 3
#define DEF_EPSILON 1.0
#define DEF_BM25_K1 100.0
#define DEF_BM25_B 0.8

enum { W_NONE, W_BM25, W_TFIDF };

static struct {
    int factors, iterations, cg_steps, solver, scale, weighting, dtype, exclude_seen;
    double lambda, alpha, epsilon, k1, b;
    long long candidates; /* 0: none */
    const char *user_factors, *item_factors, *log, *users_from;
    struct rs_output out;
    struct rs_events_spec ev;
} opt = { .factors = DEF_FACTORS, .iterations = DEF_ITERATIONS, .cg_steps = DEF_CG_STEPS, .solver = RS_ALS_CG,
          .scale = RS_ALS_LINEAR, .weighting = W_NONE, .dtype = RS_F32, .lambda = DEF_LAMBDA, .alpha = DEF_ALPHA,
          .epsilon = DEF_EPSILON, .k1 = DEF_BM25_K1, .b = DEF_BM25_B };

static struct rs_cols cols = RS_COLS_INIT(RS_COLS_USER | RS_COLS_ITEM | RS_COLS_EVENT);

#define STR(x) #x
#define XSTR(x) STR(x)

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008) by alternating\n"
           "least squares on an events stream (user_id, item_id; no EVENTS or '-': stdin).\n"
           "Every stored (user, item) has preference 1 and confidence c = 1 + alpha*r, where r\n"
           "is the row count or the summed --weight-col; it minimises\n"
           "  sum_ui c_ui (p_ui - x_u.y_i)^2 + lambda (sum |x_u|^2 + sum |y_i|^2).\n"
           "\n"
           "Model:\n"
           "  -f, --factors N       factors per user and item (default " XSTR(DEF_FACTORS) ")\n"
           "  -l, --lambda X        L2 regularisation (default " XSTR(DEF_LAMBDA) ")\n"
           "  -a, --alpha X         confidence scale (default " XSTR(DEF_ALPHA) ")\n"
           "  -i, --iterations N    ALS iterations, users then items (default " XSTR(DEF_ITERATIONS) ")\n"
           "      --solver S        cg: warm-started conjugate gradient (default); cholesky:\n"
           "                        exact solves (slower; monotone loss)\n"
           "      --cg-steps N      CG steps per row and iteration (default " XSTR(DEF_CG_STEPS) ")\n"
           "      --confidence S    linear: 1 + alpha*r (default); log: 1 + alpha*log(1 + r/eps)\n"
           "      --epsilon X       eps of --confidence log (default " XSTR(DEF_EPSILON) ")\n"
           "      --weighting W     none (default), bm25 or tfidf on r before the confidence,\n"
           "                        as implicit's bm25_weight on the item x user matrix\n"
           "      --bm25-k1 X       BM25 K1 (default " XSTR(DEF_BM25_K1) ")\n"
           "      --bm25-b X        BM25 B (default " XSTR(DEF_BM25_B) ")\n"
           "Input:\n"
           "      --weight-col NAME r = sum of this column (>= 0) per pair (default: row count)\n"
           "      --positive LIST   only rows whose event is in the comma LIST (default: all)\n"
           "%s"
           "      --csv             parse input as CSV (default: by .csv/.csv.zst name)\n"
           "Output:\n"
           "      --user-factors F  user factors as RSB (ids user_id)\n"
           "      --item-factors F  item factors as RSB (ids item_id)\n"
           "      --dtype T         f32 (default) or f16 for the factor files\n"
           "      --log F.tsv       iteration, loss, seconds (the sweep's wall time) per iteration\n"
           "      --candidates N    top N items per user as candidates TSV (user_id, item_id,\n"
           "                        rank, score); users unknown to the model get the N most\n"
           "                        popular items (by summed r), score = that popularity\n"
           "      --exclude-seen    leave out each user's training items\n"
           "      --users-from F    candidates for the users of F's user column, in order of\n"
           "                        first appearance (default: every user of the model)\n"
           "  -o, --output FILE     candidates to FILE, atomically (default: stdout)\n"
           "  -z, --zstd            compress the candidates (default when FILE ends in .zst)\n"
           "      --level N         zstd level 1..19 (default 3)\n"
           RS_COMMON_HELP
           "\n"
           "Factors and candidates do not depend on --threads (fixed blocks, summed in a fixed\n"
           "order); the candidates equal rs-retrieve's over the factor files byte for byte.\n"
           "The loss with --solver cg may stall at float rounding.\n"
           "Formulas, metadata and the log: schemas/als.md.\n"
           "\n"
           "Examples:\n"
           "  rs-als -f 64 -a 20 -i 15 --user-factors u.rsb --item-factors i.rsb train.tsv\n"
           "  rs-als --weighting bm25 --candidates 200 --exclude-seen --users-from next.tsv \\\n"
           "         -o cand.tsv.zst --log als.tsv events.tsv.zst\n",
           rs_cli_cols_help(&cols, 24));
}

static int parse_word(const char *flag, const char *arg, const char *const *words, const int *values)
{
    for (int i = 0; words[i]; i++)
        if (strcmp(arg, words[i]) == 0)
            return values[i];
    rs_usage_error(SYNOPSIS, "invalid %s '%s'", flag, arg);
}

static char *meta_text(void)
{
    static const char *solver[] = { "", "cg", "cholesky" }, *scale[] = { "", "linear", "log" };
    static const char *weighting[] = { "none", "bm25", "tfidf" };
    char *m = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&m, &n);
    RS_ASSERT(f != NULL);
    fprintf(f, "tool\trs-als\nmodel\tals\nfactors\t%d\nalpha\t%.9g\nlambda\t%.9g\niterations\t%d\n"
               "solver\t%s\ncg_steps\t%d\nconfidence\t%s\nweighting\t%s\nseed\t%llu\n",
            opt.factors, opt.alpha, opt.lambda, opt.iterations, solver[opt.solver], opt.cg_steps,
            scale[opt.scale], weighting[opt.weighting], (unsigned long long)rs_opts.seed);
    fclose(f);
    return m;
}

/* Writes factors (n × f) with ids from ids to an open writer as RSB. */
static int write_factors(struct rs_writer *w, const struct rs_strmap *ids, const float *v, size_t n,
                         const char *meta, const char *kind)
{
    size_t ml = strlen(meta);
    char *m = xmalloc(ml + strlen(kind) + 8);
    sprintf(m, "%skind\t%s\n", meta, kind);
    struct rs_rsb_writer *rw;
    int rc = rs_rsb_writer_init(&rw, w, (uint32_t)opt.factors, opt.dtype, m);
    free(m);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t len;
        const char *id = rs_strmap_key(ids, (int64_t)i, &len);
        rc = rs_rsb_write(rw, id, len, v + i * (size_t)opt.factors);
    }
    if (rc == 0)
        return rs_rsb_writer_finish(rw);
    rs_rsb_writer_free(rw);
    return rc;
}

struct rec {
    const struct rs_als *m;
    uint32_t *order;
    const struct rs_csr *seen;
    const float *pop;
};

static void recommend(void *ctx, const int64_t *rows, size_t n, size_t k, int64_t *ids, float *scores,
                      size_t *counts)
{
    const struct rec *r = ctx;
    rs_als_recommend(r->m, r->order, rows, n, k, r->seen, r->pop, rs_opts.threads, ids, scores, counts);
}

/* Candidates for the queries, in chunks of whole score tiles (knn.h) over
 * the items in id order, as rs-retrieve's over the factor files: the same
 * ties, and the same bits. */
static int write_candidates(struct rs_writer *w, const struct rs_als *m, const struct rs_strmap *items,
                            const struct rs_csr *seen, const float *pop, const struct rs_queries *qs)
{
    struct rec r = { m, rs_cands_id_order(items), seen, pop };
    size_t k = rs_opt_cap("--candidates", opt.candidates, rs_strmap_size(items), "items");
    int rc = rs_queries_write(w, qs, items, k, 16 * RS_KNN_QB, recommend, &r);
    free(r.order);
    return rc;
}

/* Fits the model: weighting, confidence, opt.iterations sweeps, loss log. */
static int train(struct rs_als *m, struct rs_csr *cu, struct rs_writer *log)
{
    if (opt.weighting == W_BM25)
        rs_als_bm25(cu, opt.k1, opt.b);
    else if (opt.weighting == W_TFIDF)
        rs_als_tfidf(cu);
    rs_csr_prune_zeros(cu);
    rs_als_confidence(cu, opt.scale, opt.alpha, opt.epsilon);
    struct rs_csr ci;
    rs_csr_transpose(&ci, cu);
    rs_als_init(m, cu->nrows, cu->ncols, opt.factors, rs_opts.seed);
    struct rs_als_params p = { opt.lambda, opt.solver, opt.cg_steps, rs_opts.threads };
    rs_cli_param("factors", "%d", opt.factors);
    rs_cli_param("lambda", "%.9g", opt.lambda);
    rs_cli_param("alpha", "%.9g", opt.alpha);
    rs_cli_param("iterations", "%d", opt.iterations);
    int rc = log ? rs_writer_printf(log, "iteration\tloss\tseconds\n") : 0;
    for (int it = 1; rc == 0 && it <= opt.iterations; it++) {
        double t0 = rs_now();
        rs_als_sweep(m, cu, &ci, &p);
        double secs = rs_now() - t0;
        if (rs_opts.quiet && !log && !rs_cli_tracking())
            continue; /* the loss costs about a CG step: only when someone reads it */
        double loss = rs_als_loss(m, cu, opt.lambda, rs_opts.threads);
        rs_log("iteration %d/%d: loss %.9g in %.3f s", it, opt.iterations, loss, secs);
        rs_cli_metric("loss", it, loss);
        if (log)
            rc = rs_writer_printf(log, "%d\t", it) | rs_writer_put_float(log, loss) |
                 rs_writer_printf(log, "\t%.6f\n", secs);
    }
    rs_csr_free(&ci);
    return rc;
}

static void parse(int argc, char **argv)
{
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        { "factors", required_argument, 0, 'f' }, { "lambda", required_argument, 0, 'l' },
        { "alpha", required_argument, 0, 'a' }, { "iterations", required_argument, 0, 'i' },
        { "solver", required_argument, 0, 1 }, { "cg-steps", required_argument, 0, 2 },
        { "confidence", required_argument, 0, 3 }, { "epsilon", required_argument, 0, 4 },
        { "weighting", required_argument, 0, 5 }, { "bm25-k1", required_argument, 0, 6 },
        { "bm25-b", required_argument, 0, 7 }, { "weight-col", required_argument, 0, 8 },
        { "positive", required_argument, 0, 9 }, RS_COLS_LONGOPTS,
        { "csv", no_argument, 0, 13 }, { "user-factors", required_argument, 0, 14 },
        { "item-factors", required_argument, 0, 15 }, { "dtype", required_argument, 0, 16 },
        { "log", required_argument, 0, 17 }, { "candidates", required_argument, 0, 18 },
        { "exclude-seen", no_argument, 0, 19 }, { "users-from", required_argument, 0, 20 },
        { 0, 0, 0, 0 },
    };
    static const char *const solvers[] = { "cg", "cholesky", NULL }, *scales[] = { "linear", "log", NULL };
    static const char *const weightings[] = { "none", "bm25", "tfidf", NULL };
    static const int solver_v[] = { RS_ALS_CG, RS_ALS_CHOLESKY }, scale_v[] = { RS_ALS_LINEAR, RS_ALS_LOG };
    static const int weighting_v[] = { W_NONE, W_BM25, W_TFIDF };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS "f:l:a:i:", longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out) || rs_cli_cols(c, optarg, &cols))
            continue;
        switch (c) {
        case 'f': opt.factors = (int)rs_opt_int("--factors", optarg, 1, 4096); break;
        case 'l': opt.lambda = rs_opt_double("--lambda", optarg, 0, 1e12); break;
        case 'a': opt.alpha = rs_opt_double("--alpha", optarg, 0, 1e12); break;
        case 'i': opt.iterations = (int)rs_opt_int("--iterations", optarg, 0, 1000000); break;
        case 1: opt.solver = parse_word("--solver", optarg, solvers, solver_v); break;
        case 2: opt.cg_steps = (int)rs_opt_int("--cg-steps", optarg, 1, 1000); break;
        case 3: opt.scale = parse_word("--confidence", optarg, scales, scale_v); break;
        case 4: opt.epsilon = rs_opt_double("--epsilon", optarg, 1e-12, 1e12); break;
        case 5: opt.weighting = parse_word("--weighting", optarg, weightings, weighting_v); break;
        case 6: opt.k1 = rs_opt_double("--bm25-k1", optarg, 0, 1e12); break;
        case 7: opt.b = rs_opt_double("--bm25-b", optarg, 0, 1); break;
        case 8: opt.ev.weight_col = optarg; break;
        case 9: opt.ev.positive = optarg; break;
        case 13: opt.ev.csv = 1; break;
        case 14: opt.user_factors = optarg; break;
        case 15: opt.item_factors = optarg; break;
        case 16:
            if ((opt.dtype = rs_dtype_parse(optarg)) < 0 || opt.dtype == RS_I8)
                rs_usage_error(SYNOPSIS, "invalid --dtype '%s': expected f32 or f16", optarg);
            break;
        case 17: opt.log = optarg; break;
        case 18: opt.candidates = rs_opt_int("--candidates", optarg, 1, 1000000); break;
        case 19: opt.exclude_seen = 1; break;
        case 20: opt.users_from = optarg; break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    opt.ev.user_col = cols.user;
    opt.ev.item_col = cols.item;
    opt.ev.event_col = cols.event;
    if (opt.user_factors || opt.item_factors) /* checked where the line is known */
        opt.ev.max_id = RS_RSB_MAX_ID;
    if (!opt.user_factors && !opt.item_factors && !opt.candidates)
        rs_usage_error(SYNOPSIS, "nothing to write: give --user-factors, --item-factors or --candidates");
    if (!opt.candidates && (opt.out.path || opt.exclude_seen || opt.users_from || opt.out.zstd))
        rs_usage_error(SYNOPSIS, "-o, -z, --exclude-seen and --users-from need --candidates");
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    parse(argc, argv);

    /* Outputs: [0] user factors, [1] item factors, [2] candidates, [3] log. */
    const char *paths[4] = { opt.user_factors, opt.item_factors, opt.candidates ? opt.out.path : NULL, opt.log };
    int want[4] = { opt.user_factors != NULL, opt.item_factors != NULL, opt.candidates > 0, opt.log != NULL };
    struct rs_writer *w[4] = { 0 };
    int rc = 0;
    for (int k = 0; rc == 0 && k < 4; k++)
        if (want[k])
            rc = rs_writer_open(&w[k], paths[k], k == 2 && opt.out.zstd ? RS_W_ZSTD : 0, opt.out.level);

    struct rs_strmap *users = rs_strmap_new(1 << 16), *items = rs_strmap_new(1 << 16);
    struct rs_csr cu = { 0 }, seen = { 0 };
    struct rs_als m = { 0 };
    struct rs_queries qs = { 0 };
    float *pop = NULL;
    if (rc == 0)
        rc = rs_csr_read_events(&cu, users, items, argv + optind, (size_t)(argc - optind), &opt.ev);
    if (rc == 0 && opt.candidates) {
        pop = xcalloc(cu.ncols ? cu.ncols : 1, sizeof *pop);
        for (size_t k = 0; k < cu.nnz; k++)
            pop[cu.indices[k]] += cu.data[k];
        rc = rs_queries_read(&qs, opt.users_from, opt.ev.user_col, opt.ev.csv, users);
        if (opt.exclude_seen) /* every training pair, even of weight 0 */
            rs_csr_copy(&seen, &cu);
    }
    if (rc == 0) {
        rs_log("%zu users, %zu items, %zu interactions", cu.nrows, cu.ncols, cu.nnz);
        rc = train(&m, &cu, w[3]);
    }
    char *meta = meta_text();
    if (rc == 0 && w[0])
        rc = write_factors(w[0], users, m.x, m.nusers, meta, "user_factors");
    if (rc == 0 && w[1])
        rc = write_factors(w[1], items, m.y, m.nitems, meta, "item_factors");
    if (rc == 0 && w[2])
        rc = write_candidates(w[2], &m, items, opt.exclude_seen ? &seen : NULL, pop, &qs);
    for (int k = 0; k < 4; k++) {
        if (rc == 0 && w[k])
            rc = rs_writer_close(w[k]);
        else
            rs_writer_abort(w[k]);
    }
    free(meta);
    free(pop);
    rs_queries_free(&qs);
    rs_als_free(&m);
    rs_csr_free(&cu);
    rs_csr_free(&seen);
    rs_strmap_free(users);
    rs_strmap_free(items);
    if (rc < 0)
        rs_die(rc);
    return 0;
}
