/* test-rank.c - lib/model/rank and lib/model/rank_encode: finite-difference gradient
 * checks of the whole wide & deep model (bucketised numerics included) and
 * of each head alone, the mini-batch aware L2, known answers of the cross
 * hash (stable across runs and machines) and of numeric binning, AUC and log
 * loss, config errors, save/load, labelling of event logs, a planted problem
 * the model must learn, and heads that stop at different epochs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "io/config.h"
#include "core/err.h"
#include "io/io.h"
#include "model/rank.h"
#include "model/rank_encode.h"
#include "core/strmap.h"
#include "tap.h"

static const char *CFG =
    "{\"numeric\": [{\"name\": \"x\", \"buckets\": 3, \"embedding_size\": 2},"
    " {\"name\": \"dist\", \"log1p\": true}],"
    " \"categorical\": [\"user_id\", {\"name\": \"item_id\", \"embedding_size\": 4}, {\"name\": \"cat\", \"embedding_size\": 4}],"
    " \"crosses\": [[\"user_id\", \"cat\"], [\"cat\", \"x\", \"item_id\"]],"
    " \"interactions\": [[\"item_id\", \"cat\"]],"
    " \"cross_buckets\": 16, \"embedding_size\": 3, \"hidden\": [5, 4]}";

static int config_from(struct rs_rank_model *m, const char *text)
{
    json_t *j;
    int rc = rs_config_parse(&j, text, strlen(text), "cfg.json");
    if (rc < 0)
        return rc;
    rc = rs_rank_config(m, j, "cfg.json");
    json_decref(j);
    return rc;
}

/* Vocabularies of n values "v0".."v(n-1)" for every categorical. */
static void set_vocab(struct rs_rank_model *m, size_t n)
{
    for (size_t f = 0; f < m->ncat; f++) {
        m->cat[f].vocab = rs_strmap_new(n);
        for (size_t k = 0; k < n; k++) {
            char s[16];
            int len = snprintf(s, sizeof s, "v%zu", k);
            rs_strmap_put(m->cat[f].vocab, s, (size_t)len, NULL);
        }
    }
}

/* ---- gradient checks ---- */

#define NB 7
struct gc {
    struct rs_rank_model m;
    struct rs_arena a;
    uint32_t cat[NB * 3], bin[NB], cross[NB * 2];
    float num[NB * 2], y[NB * 2], w[NB * 2];
    struct rs_rank_batch b;
};

static double gc_loss(struct gc *g)
{
    struct rs_rank_acts acts;
    rs_arena_reset(&g->a);
    return rs_rank_forward(&g->m, &g->b, &acts, &g->a);
}

/* The batch's loss, and its gradients in the parameters' (zeroed first). */
static double batch_grads(struct gc *g)
{
    struct rs_rank_acts acts;
    rs_params_zero_grad(&g->m.p);
    rs_arena_reset(&g->a);
    double l = rs_rank_forward(&g->m, &g->b, &acts, &g->a);
    rs_rank_backward(&g->m, &g->b, &acts, &g->a);
    return l;
}

static float *grads_copy(const struct rs_params *p)
{
    float *c = malloc(p->size * sizeof *c);
    memcpy(c, p->g, p->size * sizeof *c);
    return c;
}

static double relerr_tensor(struct gc *g, int ti, size_t *skipped)
{
    struct rs_params *p = &g->m.p;
    size_t n = p->t[ti].rows * p->t[ti].cols;
    float *w = rs_params_w(p, ti), *an = rs_params_g(p, ti);
    double d2 = 0, a2 = 0, n2 = 0;
    const float h = 1e-2f;
    for (size_t i = 0; i < n; i++) {
        float x0 = w[i];
        w[i] = x0 + h;
        double lp = gc_loss(g);
        w[i] = x0 - h;
        double lm = gc_loss(g);
        w[i] = x0;
        double num = (lp - lm) / (2 * h);
        /* a ReLU kink inside ±h shows as a second difference far from the
         * curvature of the smooth parts; skip those elements */
        double l0 = gc_loss(g);
        if (fabs(lp + lm - 2 * l0) > 1e-3 * (fabs(num) + 1e-3) && fabs(num - an[i]) > 1e-3) {
            (*skipped)++;
            continue;
        }
        d2 += (num - an[i]) * (num - an[i]), a2 += (double)an[i] * an[i], n2 += num * num;
    }
    double den = sqrt(a2) + sqrt(n2);
    if (den < 1e-6) /* both zero up to rounding (a free bias under the softmax objective) */
        return sqrt(d2) < 1e-6 ? 0 : 1;
    return sqrt(d2) / den;
}

static void gc_run(struct gc *g, const char *what)
{
    struct rs_params *p = &g->m.p;
    double l = batch_grads(g);
    ok(isfinite(l) && l > 0, "%s: loss %.4f", what, l);
    /* the analytic gradient stays in p->g: the loss evaluations do not touch it */
    size_t skipped = 0;
    for (size_t i = 0; i < p->n; i++) {
        double e = relerr_tensor(g, (int)i, &skipped);
        double norm = 0;
        for (size_t k = 0; k < p->t[i].rows * p->t[i].cols; k++)
            norm += fabs(rs_params_g(p, (int)i)[k]);
        ok(e < 5e-3, "%s: grad %s relative error %.2e (|g|_1 %.3g)", what, p->t[i].name, e, norm);
    }
    printf("# %s: %zu elements skipped at ReLU kinks\n", what, skipped);
}

/* The mini-batch aware L2 adds lambda / n_j · w_j to the gradient of the
 * rows of the sparse tables (embeddings, bins, wide) the batch touched, and
 * nothing anywhere else. */
static void test_emb_l2(struct gc *g)
{
    struct rs_params *p = &g->m.p;
    struct rs_rank_data d;
    rs_rank_data_init(&d, &g->m);
    for (size_t i = 0; i < NB; i++) { /* the batch as data: counts of its own rows */
        size_t k = rs_rank_data_push(&d);
        memcpy(d.cat + k * 3, g->cat + i * 3, 3 * sizeof *d.cat);
        memcpy(d.cross + k * 2, g->cross + i * 2, 2 * sizeof *d.cross);
        d.bin[k] = g->bin[i];
    }
    uint32_t **count = rs_rank_row_counts(&g->m, &d);
    uint32_t n0 = 0;
    for (size_t i = 0; i < NB; i++)
        n0 += g->cat[i * 3] == g->cat[0];
    is_int(count[0][g->cat[0]], n0, "row counts of categorical 0");
    is_int(count[3][g->bin[2]] > 0, 1, "row counts of the bins follow the categoricals");
    is_int(count[4][0] + count[4][1] + count[4][2] >= NB, 1, "then those of the wide buckets");
    batch_grads(g);
    float *g0 = grads_copy(p);
    const float lambda = 0.7f;
    rs_rank_emb_l2(&g->m, count, lambda);
    double err = 0;
    size_t changed = 0;
    for (size_t ti = 0; ti < p->n; ti++) {
        const struct rs_tensor *t = &p->t[ti];
        const int tables[5] = {g->m.cat[0].t_emb, g->m.cat[1].t_emb, g->m.cat[2].t_emb, g->m.num[0].t_emb,
                               g->m.t_wide};
        size_t f = 0;
        while (f < 5 && tables[f] != (int)ti)
            f++;
        for (size_t r = 0; r < t->rows; r++)
            for (size_t c = 0; c < t->cols; c++) {
                size_t k = t->off + r * t->cols + c;
                double want = g0[k];
                if (f < 5 && count[f][r]) /* a table row the batch used */
                    want += lambda / count[f][r] * p->w[k], changed += p->w[k] != 0;
                err = fmax(err, fabs(p->g[k] - want));
            }
    }
    ok(err < 1e-6 && changed > 10, "emb_l2: g += lambda / n_j w_j on %zu used entries, max error %.2e",
       changed, err);
    free(g0);
    rs_rank_row_counts_free(&g->m, count);
    rs_rank_data_free(&d);
}

/* Data-parallel slices: the gradients of the two halves of a batch, each
 * told the whole batch's weight sums, add up to the whole batch's. */
static void test_slices(struct gc *g)
{
    struct rs_params *p = &g->m.p;
    struct rs_rank_acts acts;
    batch_grads(g);
    float *whole = grads_copy(p);
    double wsum[2] = {0, 0};
    for (int i = 0; i < NB; i++)
        wsum[0] += g->w[2 * i], wsum[1] += g->w[2 * i + 1];
    rs_params_zero_grad(p);
    for (int half = 0; half < 2; half++) {
        size_t lo = half ? 3 : 0, n = half ? NB - 3 : 3;
        struct rs_rank_batch b = {.B = n, .cat = g->cat + lo * 3, .bin = g->bin + lo, .num = g->num + lo * 2,
                                  .cross = g->cross + lo * 2, .y = g->y + lo * 2, .w = g->w + lo * 2,
                                  .wsum = {wsum[0], wsum[1]}};
        rs_arena_reset(&g->a);
        rs_rank_forward(&g->m, &b, &acts, &g->a);
        rs_rank_backward(&g->m, &b, &acts, &g->a);
    }
    double err = 0, norm = 0;
    for (size_t k = 0; k < p->size; k++)
        err = fmax(err, fabs(p->g[k] - whole[k])), norm = fmax(norm, fabs(whole[k]));
    ok(err < 1e-6 * (1 + norm), "two slices' gradients add up to the batch's (max difference %.2e)", err);
    free(whole);
}

/* The softmax objective over lists {0, 1, 2}, {3, 4}, {5, 6}: the whole
 * model's gradient, and a shift of the output bias changes no loss. */
static void test_listwise(struct gc *g)
{
    static const uint32_t list[NB] = {0, 0, 0, 3, 3, 8, 8};
    g->b.list = list;
    gc_run(g, "softmax objective");
    double l0 = gc_loss(g);
    float *bias = rs_params_w(&g->m.p, g->m.t_b[g->m.nhidden]);
    bias[0] += 0.7f, bias[1] -= 0.4f;
    is_near(gc_loss(g), l0, 1e-5, "softmax objective: the output bias is free (a list ignores a shift)");
    bias[0] -= 0.7f, bias[1] += 0.4f;
    g->b.list = NULL;
}

static void test_gradients(void)
{
    struct gc g;
    memset(&g, 0, sizeof g);
    is_int(config_from(&g.m, CFG), 0, "config parses");
    is_int(g.m.d_in, 3 + 4 + 4 + 2 + 2 + 1, "d_in = embeddings + bin embedding + numerics + interactions");
    is_int(g.m.nbin, 1, "one bucketised numeric");
    set_vocab(&g.m, 5);
    float fx[6] = {-1, 0, 0, 0, 1, 2};
    rs_rank_numeric_fit_edges(&g.m.num[0], fx, 6);
    is_int(g.m.num[0].nedges, 2, "x: 2 edges, 4 bins with missing");
    rs_rank_model_build(&g.m);
    rs_rank_model_init(&g.m, 7, 0.3, 0.1);
    struct rs_rng r;
    rs_rng_init(&r, 99, 0);
    /* embeddings of norm about 1 (not the near-zero start of training), so
     * that every path, the interactions' products included, carries weight */
    for (size_t f = 0; f < g.m.ncat; f++)
        rs_nn_init_embedding(rs_params_w(&g.m.p, g.m.cat[f].t_emb), 6, g.m.cat[f].dim, &r);
    rs_nn_init_embedding(rs_params_w(&g.m.p, g.m.num[0].t_emb), 4, 2, &r);
    /* nonzero wide weights so their path is exercised beyond the first step */
    int tw = g.m.t_wide;
    rs_nn_init_uniform(rs_params_w(&g.m.p, tw), 16 * 2, 0.5f, &r);
    rs_nn_init_uniform(rs_params_w(&g.m.p, g.m.t_wide_b), 2, 0.5f, &r);
    for (size_t l = 0; l <= g.m.nhidden; l++)
        rs_nn_init_uniform(rs_params_w(&g.m.p, g.m.t_b[l]), g.m.p.t[g.m.t_b[l]].cols, 0.3f, &r);
    for (int i = 0; i < NB; i++) {
        for (int f = 0; f < 3; f++)
            g.cat[i * 3 + f] = (uint32_t)rs_rng_below(&r, 6); /* 0 = unknown included */
        g.bin[i] = (uint32_t)rs_rng_below(&r, 4); /* 0 = missing included */
        g.cross[i * 2] = (uint32_t)rs_rng_below(&r, 16);
        g.cross[i * 2 + 1] = (uint32_t)(i % 3); /* repeated buckets */
        g.num[i * 2] = (float)rs_rng_normal(&r), g.num[i * 2 + 1] = (float)rs_rng_normal(&r);
        g.y[i * 2] = (float)(i % 2), g.y[i * 2 + 1] = (float)(i % 3 == 0);
        g.w[i * 2] = g.y[i * 2] > 0 ? 3.0f : 1.0f, g.w[i * 2 + 1] = g.y[i * 2 + 1] > 0 ? 5.0f : 1.0f;
    }
    g.b = (struct rs_rank_batch){.B = NB, .cat = g.cat, .bin = g.bin, .num = g.num, .cross = g.cross, .y = g.y,
                                 .w = g.w};
    rs_arena_init(&g.a, 0);
    gc_run(&g, "both heads, class weights");
    test_emb_l2(&g);
    test_slices(&g);
    /* each head alone: the other head's weights are all 0 */
    float w2[NB * 2];
    memcpy(w2, g.w, sizeof w2);
    for (int i = 0; i < NB; i++)
        g.w[i * 2 + 1] = 0;
    gc_run(&g, "click head");
    int tb = g.m.t_b[g.m.nhidden];
    ok(rs_params_g(&g.m.p, tb)[1] == 0 && rs_params_g(&g.m.p, tb)[0] != 0,
       "click head alone: no gradient on the booking output");
    memcpy(g.w, w2, sizeof w2);
    for (int i = 0; i < NB; i++)
        g.w[i * 2] = 0;
    gc_run(&g, "booking head");
    ok(rs_params_g(&g.m.p, tb)[0] == 0 && rs_params_g(&g.m.p, tb)[1] != 0,
       "booking head alone: no gradient on the click output");
    memcpy(g.w, w2, sizeof w2);
    test_listwise(&g);
    rs_arena_free(&g.a);
    rs_rank_model_free(&g.m);
}

/* ---- hashing, metrics, config ---- */

static void test_hash(void)
{
    /* the library itself: XXH3-64 of the empty input (xxHash's test vector) */
    ok(XXH3_64bits("", 0) == 0x2D06800538D394C2ULL, "XXH3-64 known answer for the empty input");
    struct rs_rank_cross x2 = {.name = "region&category", .ncols = 2, .cols = {"region", "category"}};
    struct rs_rank_cross x3 = {.name = "hour&category&age", .ncols = 3, .cols = {"hour", "category", "age"}};
    const char *v2[2] = {"region3", "cinema"}, *v3[3] = {"18", "museum", "25-34"};
    size_t l2[2] = {7, 6}, l3[3] = {2, 6, 5};
    uint64_t full = XXH3_64bits("region=region3\x1f" "category=cinema", 30);
    is_int(rs_rank_cross_hash(&x2, v2, l2, 1ULL << 32), full % (1ULL << 32),
           "cross key is 'a=va<US>b=vb'");
    /* known answers: fixed forever (a change breaks every saved model) */
    is_int(rs_rank_cross_hash(&x2, v2, l2, 1u << 20), 89328, "cross hash known answer (2 columns)");
    is_int(rs_rank_cross_hash(&x3, v3, l3, 1u << 20), 838219, "cross hash known answer (3 columns)");
    const char *vm[2] = {"", "cinema"};
    size_t lm[2] = {0, 6};
    is_int(rs_rank_cross_hash(&x2, vm, lm, 1000003), XXH3_64bits("region=\x1f" "category=cinema", 23) % 1000003,
           "missing value hashes as the empty string");
    struct rs_rank_cross y2 = {.name = "a&b", .ncols = 2, .cols = {"category", "region"}};
    const char *w2[2] = {"cinema", "region3"};
    ok(rs_rank_cross_hash(&y2, w2, l2, 1u << 20) != rs_rank_cross_hash(&x2, v2, l2, 1u << 20),
       "column names keep crosses apart");
}

static void test_metrics(void)
{
    float s[4] = {0.1f, 0.4f, 0.35f, 0.8f}, y[4] = {0, 0, 1, 1};
    is_near(rs_rank_auc(s, y, 4, 1), 0.75, 1e-12, "AUC known answer");
    float st[4] = {0.5f, 0.5f, 0.5f, 0.9f};
    float yt[4] = {0, 1, 0, 1};
    is_near(rs_rank_auc(st, yt, 4, 1), (0.5 * 2 + 2) / 4.0, 1e-12, "AUC counts ties half");
    float y1[2] = {1, 1};
    is_near(rs_rank_auc(s, y1, 2, 1), 0.5, 0, "AUC of one class is 0.5");
    float p[2] = {0.8f, 0.1f}, yy[2] = {1, 0};
    is_near(rs_rank_logloss(p, yy, 2, 1), -(log(0.8f) + log(0.9f)) / 2, 1e-6, "log loss known answer");
    float inter[4] = {0.9f, 9, 0.2f, 9}, yi[4] = {1, 9, 0, 9};
    is_near(rs_rank_auc(inter, yi, 2, 2), 1.0, 0, "AUC with a stride");
}

/* Greedy equal-frequency bins of distinct values: a spike gets a bin of its
 * own, the last value never closes one, NaN is skipped and is bin 0. */
static void test_bins(void)
{
    struct rs_rank_numeric f = {.buckets = 4};
    float a[13] = {3, 0, 0, 7, 0, 1, 0, 2, 4, 0, 5, 6, NAN};
    rs_rank_numeric_fit_edges(&f, a, 13); /* 12 values: 3 a bin */
    ok(f.nedges == 3 && f.edges[0] == 0 && f.edges[1] == 3 && f.edges[2] == 6, "edges 0 3 6 (got %zu)",
       f.nedges);
    static const float x[] = {NAN, -1, 0, 0.5f, 3, 3.5f, 6, 7, 100};
    static const uint32_t want[] = {0, 1, 1, 2, 2, 3, 3, 4, 4};
    int good = 1;
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        good &= rs_rank_numeric_bin(&f, x[i]) == want[i];
    ok(good, "bins: missing 0, (-inf, 0] 1, (0, 3] 2, (3, 6] 3, above 6 4");
    float b[10] = {1, 2, 5, 5, 5, 5, 5, 5, 8, 9};
    rs_rank_numeric_fit_edges(&f, b, 10); /* 2.5 a bin: the spike 5 closes [1, 2] first */
    ok(f.nedges == 2 && f.edges[0] == 2 && f.edges[1] == 5, "a spike has a bin of its own");
    is_int(rs_rank_numeric_bin(&f, 5), 2, "the spike's bin");
    is_int(rs_rank_numeric_bin(&f, 2), 1, "the value below the spike is in the bin before");
    float c[4] = {7, 7, 7, NAN};
    rs_rank_numeric_fit_edges(&f, c, 4);
    ok(f.nedges == 0 && rs_rank_numeric_bin(&f, 7) == 1 && rs_rank_numeric_bin(&f, -7) == 1,
       "a constant has one bin");
    float d[2] = {NAN, NAN};
    rs_rank_numeric_fit_edges(&f, d, 2);
    ok(f.nedges == 0 && rs_rank_numeric_bin(&f, NAN) == 0, "all missing: no edges, missing bin 0");
    struct rs_rank_numeric l = {.log1p = 1};
    is_near(rs_rank_numeric_raw(&l, -5), 0, 0, "raw log1p of a negative is 0");
    is_near(rs_rank_numeric_raw(&l, 9), (float)log1p(9), 0, "raw log1p as a float");
    ok(isnan(rs_rank_numeric_raw(&l, NAN)), "raw of missing stays NaN");
    free(f.edges);
}

static void test_config_errors(void)
{
    static const struct {
        const char *cfg, *msg;
    } bad[] = {
        {"[1]", "'cfg.json': top level: expected an object, got [1]"},
        {"{\"numeric\": [\"x\"], \"bogus\": 1}", "top level: unknown key \"bogus\" (expected one of numeric, "},
        {"{}", "no features"},
        {"{\"categorical\": [\"a\"], \"crosses\": [[\"a\"]]}", "2 or 3 column names"},
        {"{\"categorical\": [\"a\", {\"name\": \"b\", \"embedding_size\": 4}], \"interactions\": [[\"a\", \"b\"]]}",
         "same embedding_size"},
        {"{\"categorical\": [\"a\"], \"hidden\": [0]}", "hidden[0]: expected an integer in 1..4096, got 0"},
        {"{\"categorical\": [\"a\", \"a\"]}", "given twice"},
        {"{\"numeric\": [\"a=b\"]}", "numeric[0]: expected a name (no tab, newline, '=' or '&'), got \"a=b\""},
        {"{\"numeric\": [\"x\", {\"log1p\": true}]}", "numeric[1].name: missing: expected a name"},
        {"{\"numeric\": [{\"name\": \"x\", \"buckets\": 1}]}", "numeric[0].buckets: expected 0 (none) or an "
                                                               "integer in 2..65536, got 1"},
        {"{\"numeric\": [{\"name\": \"x\", \"buckets\": \"8\"}]}", "numeric[0].buckets: expected 0 (none) or an "
                                                                 "integer in 2..65536, got \"8\""},
        {"{\"numeric\": [{\"name\": \"x\", \"buckets\": 65537}]}", "2..65536, got 65537"},
        {"{\"numeric\": [{\"name\": \"x\", \"log1p\": 1}]}", "numeric[0].log1p: expected true or false, got 1"},
        {"{\"numeric\": [{\"name\": \"x\", \"buckets\": 8, \"embedding_size\": 0}]}",
         "numeric[0].embedding_size: expected an integer in 1..1024, got 0"},
        {"{\"numeric\": [{\"name\": \"x\", \"bucket\": 8}]}", "numeric[0]: unknown key \"bucket\" (expected one "
                                                              "of name, log1p, buckets, embedding_size)"},
        {"{\"numeric\": [\"x\"], \"numeric_buckets\": 1}", "'cfg.json': numeric_buckets: expected 0 (none)"},
        {"{\"numeric\": [\"x\"], \"numeric_buckets\": 2.5}", "numeric_buckets: expected 0 (none) or an integer "
                                                              "in 2..65536, got 2.5"},
        {"{\"categorical\": [\"a\", {\"name\": \"b\", \"embedding_size\": \"64\"}]}",
         "'cfg.json': categorical[1].embedding_size: expected an integer in 1..1024, got \"64\""},
        {"{\"categorical\": [\"a\"], \"embedding_size\": 64.5}",
         "'cfg.json': embedding_size: expected an integer in 1..1024, got 64.5"},
        {"{\"categorical\": [\"a\"], \"interactions\": [[\"a\", \"z\"]]}",
         "interactions[0][1]: 'z' is not a categorical feature"},
        {"{\"categorical\": [\"a\"], \"crosses\": [[\"a\", 3]]}", "crosses[0][1]: expected a name"},
        {"{\"categorical\": 5}", "categorical: expected an array, got 5"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct rs_rank_model m;
        int rc = config_from(&m, bad[i].cfg);
        ok(rc == RS_ERR_FORMAT && strstr(rs_err_msg(), bad[i].msg), "config error: %s (got '%s')",
           bad[i].msg, rs_err_msg());
        rs_rank_model_free(&m);
    }
}

/* ---- streams: planted problem, training, save/load, scoring ---- */

static char dir[64];

static const char *path_of(const char *name)
{
    static char buf[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* Users of taste t click items of group t: a logged event stream with
 * impressions, clicks (joined by session) and a few bookings. */
static void write_events(const char *path, int sessions, uint64_t seed)
{
    FILE *f = fopen(path, "w");
    struct rs_rng r;
    rs_rng_init(&r, seed, 0);
    fprintf(f, "user_id\titem_id\tevent\ttimestamp\tsession_id\tdist\n");
    for (int s = 0; s < sessions; s++) {
        int u = (int)rs_rng_below(&r, 40);
        int items[6];
        for (int k = 0; k < 6; k++) {
            items[k] = (int)rs_rng_below(&r, 30);
            fprintf(f, "u%d\ti%d\timpression\t%d\ts%d\t%.1f\n", u, items[k], s, s, 10.0 * k);
        }
        for (int k = 0; k < 6; k++) {
            int match = items[k] % 3 == u % 3;
            if (rs_rng_uniform(&r) < (match ? 0.6 : 0.05)) {
                fprintf(f, "u%d\ti%d\tclick\t%d\ts%d\t%.1f\n", u, items[k], s, s, 10.0 * k);
                if (rs_rng_uniform(&r) < (match ? 0.5 : 0.1))
                    fprintf(f, "u%d\ti%d\tbooking\t%d\ts%d\t%.1f\n", u, items[k], s, s, 10.0 * k);
            }
        }
    }
    fclose(f);
}

static const char *PLANT_CFG =
    "{\"numeric\": [{\"name\": \"dist\", \"log1p\": true, \"buckets\": 8}],"
    " \"categorical\": [\"user_id\", \"item_id\", \"group\"],"
    " \"crosses\": [[\"user_id\", \"group\"]], \"interactions\": [[\"user_id\", \"item_id\"]],"
    " \"cross_buckets\": 4096, \"hidden\": [16]}";

/* Two and three workers: the bits of one (fixed micro-batches), and the
 * planted problem learned. */
static void test_threads(struct rs_rank_model *m, const struct rs_rank_data *d, size_t ntr,
                         const struct rs_rank_train_opts *o1)
{
    struct rs_rank_data tr = rs_rank_data_view(d, 0, ntr), va = rs_rank_data_view(d, ntr, d->n - ntr);
    struct rs_rank_train_opts o = *o1;
    struct rs_rank_epoch best[2];
    float *w1 = malloc(m->p.size * sizeof *w1), *keep = malloc(m->p.size * sizeof *keep);
    float *keep_booking = m->w_booking; /* the 1-thread model, for what follows */
    memcpy(keep, m->p.w, m->p.size * sizeof *keep);
    m->w_booking = NULL;
    o.threads = 1;
    o.batch = 500; /* four micro-batches, the last one short */
    rs_rank_model_init(m, 42, 0.2, 0.05);
    rs_rank_train(m, &tr, &va, &o, best);
    memcpy(w1, m->p.w, m->p.size * sizeof *w1);
    for (o.threads = 2; o.threads <= 3; o.threads++) {
        rs_rank_model_init(m, 42, 0.2, 0.05);
        rs_rank_train(m, &tr, &va, &o, best);
        ok(memcmp(w1, m->p.w, m->p.size * sizeof *w1) == 0, "%d threads: the weights of 1", o.threads);
    }
    ok(best[0].auc[0] > 0.8, "3 threads: planted click AUC %.4f > 0.8", best[0].auc[0]);
    memcpy(m->p.w, keep, m->p.size * sizeof *keep);
    free(m->w_booking);
    m->w_booking = keep_booking;
    free(w1), free(keep);
}

/* Validation booking labels that contradict training (booked = not
 * clicked): the booking head is best at an early epoch, the click head at a
 * later one; each keeps its own weights, through save and load. */
static void test_heads_apart(struct rs_rank_model *m, const struct rs_rank_data *d, size_t ntr)
{
    struct rs_rank_data tr = rs_rank_data_view(d, 0, ntr), va = rs_rank_data_view(d, ntr, d->n - ntr);
    float *y = malloc(2 * va.n * sizeof *y);
    for (size_t i = 0; i < va.n; i++)
        y[2 * i] = va.y[2 * i], y[2 * i + 1] = 1 - va.y[2 * i];
    va.y = y;
    struct rs_rank_train_opts o;
    rs_rank_train_defaults(&o);
    o.epochs = 4;
    o.patience = 4;
    o.batch = 128;
    struct rs_rank_epoch best[2];
    rs_rank_model_init(m, 42, 0.2, 0.05);
    is_int(rs_rank_train(m, &tr, &va, &o, best), 0, "trains against contrary bookings");
    ok(best[1].epoch < best[0].epoch && m->w_booking, "best epochs: click %d, booking %d", best[0].epoch,
       best[1].epoch);
    is_int(rs_rank_model_save(m, path_of("m2.rsm"), NULL), 0, "two-weight model saves");
    struct rs_rank_model m2;
    is_int(rs_rank_model_load(&m2, path_of("m2.rsm")), 0, "two-weight model loads");
    float *p1 = malloc(2 * va.n * sizeof *p1), *p2 = malloc(2 * va.n * sizeof *p2);
    rs_rank_predict(m, &va, p1);
    rs_rank_predict(&m2, &va, p2);
    ok(m2.w_booking && memcmp(p1, p2, 2 * va.n * sizeof *p1) == 0, "loaded: the same two heads bit for bit");
    is_near(rs_rank_auc(p1 + 1, va.y + 1, va.n, 2), best[1].auc[1], 1e-9, "booking from its own epoch");
    is_near(rs_rank_auc(p1, va.y, va.n, 2), best[0].auc[0], 1e-9, "click from its own epoch");
    free(m2.w_booking);
    m2.w_booking = NULL; /* one set of weights: the click epoch's for both heads */
    rs_rank_predict(&m2, &va, p2);
    int same_click = 1, same_booking = 1;
    for (size_t i = 0; i < va.n; i++)
        same_click &= p1[2 * i] == p2[2 * i], same_booking &= p1[2 * i + 1] == p2[2 * i + 1];
    ok(same_click && !same_booking, "without them the booking head changes, the click head does not");
    free(p1), free(p2), free(y);
    rs_rank_model_free(&m2);
    unlink(path_of("m2.rsm"));
}

static void test_planted(void)
{
    write_events(path_of("train.tsv"), 3000, 1);
    write_events(path_of("test.tsv"), 400, 2);
    FILE *f = fopen(path_of("items.tsv"), "w");
    fprintf(f, "item_id\tgroup\n");
    for (int i = 0; i < 30; i++)
        fprintf(f, "i%d\tg%d\n", i, i % 3);
    fclose(f);
    struct rs_rank_model m;
    is_int(config_from(&m, PLANT_CFG), 0, "planted config");
    struct rs_rank_table *items = NULL;
    is_int(rs_rank_table_load(&items, path_of("items.tsv"), "item_id", &m), 0, "items table loads");
    is_int(rs_rank_table_rows(items), 30, "items table rows");
    struct rs_rank_io io;
    rs_rank_io_defaults(&io);
    io.items = items;
    struct rs_rank_fit *fit = rs_rank_fit_new(&m);
    struct rs_rank_data d;
    struct rs_rank_read_stats st = {0};
    rs_rank_data_init(&d, &m);
    is_int(rs_rank_read(&m, path_of("train.tsv"), &io, fit, &d, &st), 0, "event log reads");
    is_int(d.n, 3000 * 6, "one example per impression");
    double clicks = 0, books = 0;
    for (size_t i = 0; i < d.n; i++)
        clicks += d.y[2 * i], books += d.y[2 * i + 1];
    ok(clicks > 1000 && books > 200 && books < clicks, "clicks %.0f and bookings %.0f joined to impressions",
       clicks, books);
    size_t ntr = d.n * 9 / 10;
    rs_rank_fit_finish(&m, fit, &d, ntr);
    rs_rank_fit_free(fit);
    is_int(rs_strmap_size(m.cat[2].vocab), 3, "group vocabulary from the items table");
    ok(fabs(m.num[0].mean - 2.57) < 0.3, "numeric mean of log1p(dist) %.3f", m.num[0].mean);
    /* dist takes 6 values, 0 10 .. 50, each in 1/6 of the rows: a bin each */
    is_int(m.num[0].nedges, 5, "dist: an edge below each of its 6 values but the last");
    ok(d.bin[0] >= 1 && d.bin[0] <= 6 && d.bin[5] == d.bin[0] + 5, "bins of a session's 6 impressions %u..%u",
       d.bin[0], d.bin[5]);
    rs_rank_model_build(&m);
    rs_rank_model_init(&m, 42, 0.2, 0.05);
    struct rs_rank_train_opts o;
    rs_rank_train_defaults(&o);
    o.epochs = 6;
    o.batch = 128;
    o.lr = 5e-3f;
    struct rs_rank_data tr = rs_rank_data_view(&d, 0, ntr), va = rs_rank_data_view(&d, ntr, d.n - ntr);
    struct rs_rank_epoch best[2];
    is_int(rs_rank_train(&m, &tr, &va, &o, best), 0, "trains");
    ok(best[0].auc[0] > 0.8, "planted click AUC %.4f > 0.8 (Bayes optimum 0.84)", best[0].auc[0]);
    ok(best[1].auc[1] > 0.75, "planted booking AUC %.4f > 0.75", best[1].auc[1]);
    test_threads(&m, &d, ntr, &o);
    /* save, load: the same predictions */
    is_int(rs_rank_model_save(&m, path_of("m.rsm"), NULL), 0, "model saves");
    struct rs_rank_model m2;
    is_int(rs_rank_model_load(&m2, path_of("m.rsm")), 0, "model loads");
    float *p1 = malloc(2 * va.n * sizeof *p1), *p2 = malloc(2 * va.n * sizeof *p2);
    rs_rank_predict(&m, &va, p1);
    rs_rank_predict(&m2, &va, p2);
    ok(memcmp(p1, p2, 2 * va.n * sizeof *p1) == 0, "loaded model predicts bit for bit the same");
    /* evaluation: the model's order beats the input order on the test log */
    struct rs_writer *w;
    is_int(rs_writer_open(&w, path_of("eval.tsv"), 0, 0), 0, "eval output opens");
    size_t ks[2] = {3, 6};
    memset(&st, 0, sizeof st);
    io.group_col = "session_id";
    is_int(rs_rank_eval(&m2, path_of("test.tsv"), &io, ks, 2, w, &st), 0, "eval runs");
    rs_writer_close(w);
    f = fopen(path_of("eval.tsv"), "r");
    char model[32], metric[32], kbuf[16];
    double v, nd_m = -1, nd_i = -1, auc = -1;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%31[^\t]\t%31[^\t]\t%15[^\t]\t%lf", model, metric, kbuf, &v) == 4) {
            if (!strcmp(metric, "ndcg") && !strcmp(kbuf, "3"))
                *(strcmp(model, "input") ? &nd_m : &nd_i) = v;
        } else if (sscanf(line, "%31[^\t]\t%31[^\t]\t\t%lf", model, metric, &v) == 3 && !strcmp(metric, "auc_click")) {
            auc = v;
        }
    }
    fclose(f);
    ok(auc > 0.78, "eval: click AUC %.4f on the test log", auc);
    ok(nd_m > nd_i + 0.1, "eval: ndcg@3 of the model %.4f beats the input order %.4f", nd_m, nd_i);
    /* a labelled stream with a bad label names file, line and column */
    f = fopen(path_of("bad.tsv"), "w");
    fprintf(f, "user_id\titem_id\tclick\tbooking\tdist\nu1\ti1\t1\t0\t3\nu1\ti2\tyes\t0\t3\n");
    fclose(f);
    struct rs_rank_data e;
    rs_rank_data_init(&e, &m2);
    memset(&st, 0, sizeof st);
    int rc = rs_rank_read(&m2, path_of("bad.tsv"), &io, NULL, &e, &st);
    ok(rc == RS_ERR_FORMAT && strstr(rs_err_msg(), "line 3") && strstr(rs_err_msg(), "column 'click'"),
       "bad label: %s", rs_err_msg());
    rs_rank_data_free(&e);
    free(p1), free(p2);
    test_heads_apart(&m, &d, ntr);
    rs_rank_data_free(&d);
    rs_rank_table_free(items);
    rs_rank_model_free(&m);
    rs_rank_model_free(&m2);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/test-rank.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    test_hash();
    test_metrics();
    test_config_errors();
    test_bins();
    test_gradients();
    test_planted();
    const char *names[] = {"train.tsv", "test.tsv", "items.tsv", "m.rsm", "eval.tsv", "bad.tsv"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        unlink(path_of(names[i]));
    rmdir(dir);
    return done_testing();
}
