/* test-nn.c - lib/nn/nn: central finite-difference gradient checks for every op
 * with a backward and for a whole two-tower loss (ggml's test-backend-ops
 * grad mode), the optimisers against their formulas, the parameter and
 * scratch arenas, and the reference fixture written by tests/ref/nn_ref.py
 * (numpy, float64), compared tensor by tensor (llm.c's test_gpt2). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "nn/nn.h"
#include "tap.h"

/* ---------------------------------------------------------------------------
 * Gradient checking. A case computes a scalar loss from its current inputs;
 * the analytic gradient of an input is compared with (L(x+h) - L(x-h)) / 2h
 * over all its elements by the relative error |a - n| / (|a| + |n|) of the
 * whole vectors (robust where single elements are near zero).
 */

#define GC_H 1e-2f
#define GC_TOL 2e-3

typedef double (*loss_fn)(void *ctx);

/* Loss functions with ReLUs set gc_kinks to a hash of their activation
 * pattern; an element whose ±h evaluations change the pattern sits at a
 * kink, where the function is not differentiable, and is skipped. */
static uint64_t gc_kinks;
static size_t gc_skipped;

static uint64_t kink_hash(const float *y, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint64_t)(y[i] > 0)) * 0x100000001b3ULL;
    return h;
}

/* Central differences with step h against analytic, relative error. */
static double gc_relerr(const float *analytic, float *x, size_t n, loss_fn f, void *ctx, float h)
{
    double num2 = 0, ana2 = 0, diff2 = 0;
    for (size_t i = 0; i < n; i++) {
        float x0 = x[i];
        f(ctx);
        uint64_t k0 = gc_kinks;
        x[i] = x0 + h;
        double lp = f(ctx);
        uint64_t kp = gc_kinks;
        x[i] = x0 - h;
        double lm = f(ctx);
        x[i] = x0;
        if (kp != k0 || gc_kinks != k0) {
            gc_skipped++;
            continue;
        }
        double num = (lp - lm) / (2.0 * h);
        num2 += num * num;
        ana2 += (double)analytic[i] * analytic[i];
        diff2 += (num - analytic[i]) * (num - analytic[i]);
    }
    double den = sqrt(num2) + sqrt(ana2);
    return den > 0 ? sqrt(diff2) / den : 0;
}

/* gc_check with the step h (for inputs far from GC_H's scale). */
static int gc_check_step(const char *what, const float *analytic, float *x, size_t n, loss_fn f, void *ctx,
                         float h)
{
    double e = gc_relerr(analytic, x, n, f, ctx, h);
    double norm = 0;
    for (size_t i = 0; i < n; i++)
        norm += fabs(analytic[i]);
    ok(e < GC_TOL && norm > 0, "grad %s: relative error %.2e (|g|_1 %.3g)", what, e, norm);
    return e < GC_TOL;
}

static int gc_check(const char *what, const float *analytic, float *x, size_t n, loss_fn f, void *ctx)
{
    return gc_check_step(what, analytic, x, n, f, ctx, GC_H);
}

static struct rs_rng R;

static float *randv(size_t n, float a)
{
    float *v = xmalloc((n ? n : 1) * sizeof(float));
    rs_nn_init_uniform(v, n, a, &R);
    return v;
}

static float *zerov(size_t n)
{
    return xcalloc(n ? n : 1, sizeof(float));
}

/* Σ r·y in double: the probe loss that turns an op's output into a scalar. */
static double probe(const float *r, const float *y, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)r[i] * y[i];
    return s;
}

/* Keep values at least 0.1 away from the ReLU kink so ±h never crosses it. */
static void away_from_zero(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fabsf(x[i]) < 0.1f)
            x[i] = x[i] < 0 ? -0.1f - x[i] : 0.1f + x[i];
}

/* ---- dense ---- */
struct dense_case {
    size_t B, din, dout;
    float *x, *w, *b, *y, *r;
};

static double dense_loss(void *c_)
{
    struct dense_case *c = c_;
    rs_dense_forward(c->y, c->x, c->w, c->b, c->B, c->din, c->dout);
    return probe(c->r, c->y, c->B * c->dout);
}

static void test_dense(void)
{
    struct dense_case c = {.B = 5, .din = 7, .dout = 4};
    c.x = randv(c.B * c.din, 1);
    c.w = randv(c.din * c.dout, 1);
    c.b = randv(c.dout, 1);
    c.y = zerov(c.B * c.dout);
    c.r = randv(c.B * c.dout, 1);
    float *dx = zerov(c.B * c.din), *dw = zerov(c.din * c.dout), *db = zerov(c.dout);
    dense_loss(&c);
    rs_dense_backward(dx, dw, db, c.r, c.x, c.w, c.B, c.din, c.dout);
    gc_check("dense x", dx, c.x, c.B * c.din, dense_loss, &c);
    gc_check("dense w", dw, c.w, c.din * c.dout, dense_loss, &c);
    gc_check("dense b", db, c.b, c.dout, dense_loss, &c);
    /* accumulation: a second backward doubles the gradient */
    rs_dense_backward(NULL, NULL, db, c.r, c.x, c.w, c.B, c.din, c.dout);
    float db1[4] = {0};
    rs_dense_backward(NULL, NULL, db1, c.r, c.x, c.w, c.B, c.din, c.dout);
    is_near(db[2], 2 * db1[2], 1e-5, "backward accumulates into db");
    /* known answer without bias */
    float x1[2] = {1, 2}, w1[6] = {1, 2, 3, 4, 5, 6}, y1[3];
    rs_dense_forward(y1, x1, w1, NULL, 1, 2, 3);
    ok(y1[0] == 9 && y1[1] == 12 && y1[2] == 15, "dense known answer [1 2]·w = [9 12 15]");
    free(c.x), free(c.w), free(c.b), free(c.y), free(c.r), free(dx), free(dw), free(db);
}

/* ---- elementwise: relu, sigmoid, dropout ---- */
struct elem_case {
    size_t n;
    int op; /* 0 relu, 1 sigmoid, 2 dropout */
    float *x, *y, *r, *mask;
};

static double elem_loss(void *c_)
{
    struct elem_case *c = c_;
    if (c->op == 0)
        rs_relu_forward(c->y, c->x, c->n);
    else if (c->op == 1)
        rs_sigmoid_forward(c->y, c->x, c->n);
    else {
        struct rs_rng g;
        rs_rng_init(&g, 42, 0); /* the same mask for every evaluation */
        rs_dropout_forward(c->y, c->mask, c->x, c->n, 0.3f, &g);
    }
    return probe(c->r, c->y, c->n);
}

static void test_elementwise(void)
{
    static const char *names[] = {"relu", "sigmoid", "dropout"};
    for (int op = 0; op < 3; op++) {
        struct elem_case c = {.n = 40, .op = op};
        c.x = randv(c.n, 3);
        away_from_zero(c.x, c.n);
        c.y = zerov(c.n);
        c.r = randv(c.n, 1);
        c.mask = zerov(c.n);
        float *dx = zerov(c.n);
        elem_loss(&c);
        if (op == 0)
            rs_relu_backward(dx, c.r, c.y, c.n);
        else if (op == 1)
            rs_sigmoid_backward(dx, c.r, c.y, c.n);
        else
            rs_dropout_backward(dx, c.r, c.mask, c.n);
        gc_check(names[op], dx, c.x, c.n, elem_loss, &c);
        free(c.x), free(c.y), free(c.r), free(c.mask), free(dx);
    }
    /* dropout keeps about 1-p and rescales by 1/(1-p) */
    size_t n = 20000, kept = 0;
    float *x = zerov(n), *y = zerov(n), *m = zerov(n);
    for (size_t i = 0; i < n; i++)
        x[i] = 1;
    struct rs_rng g;
    rs_rng_init(&g, 7, 0);
    rs_dropout_forward(y, m, x, n, 0.25f, &g);
    int scaled = 1;
    for (size_t i = 0; i < n; i++) {
        kept += y[i] != 0;
        scaled &= y[i] == 0 || fabsf(y[i] - 1 / 0.75f) < 1e-6f;
    }
    ok(kept > 0.73 * n && kept < 0.77 * n && scaled, "dropout keeps %zu of %zu, scaled 1/(1-p)",
       kept, n);
    float s[2] = {-1000, 1000}, ys[2];
    rs_sigmoid_forward(ys, s, 2);
    ok(ys[0] == 0 && ys[1] == 1 && !isnan(ys[0]), "sigmoid saturates without NaN");
    free(x), free(y), free(m);
}

/* ---- l2norm ---- */
struct l2_case {
    size_t B, d;
    float *x, *y, *norm, *r;
};

static double l2_loss(void *c_)
{
    struct l2_case *c = c_;
    rs_l2norm_forward(c->y, c->norm, c->x, c->B, c->d);
    return probe(c->r, c->y, c->B * c->d);
}

static void test_l2norm(void)
{
    struct l2_case c = {.B = 4, .d = 6};
    c.x = randv(c.B * c.d, 2);
    c.y = zerov(c.B * c.d);
    c.norm = zerov(c.B);
    c.r = randv(c.B * c.d, 1);
    float *dx = zerov(c.B * c.d);
    l2_loss(&c);
    double n0 = 0;
    for (size_t j = 0; j < c.d; j++)
        n0 += (double)c.y[j] * c.y[j];
    is_near(n0, 1.0, 1e-6, "l2norm: unit rows");
    rs_l2norm_backward(dx, c.r, c.y, c.norm, c.B, c.d);
    gc_check("l2norm", dx, c.x, c.B * c.d, l2_loss, &c);
    /* Near zero: a row of norm 1e-9 (above RS_L2_EPS) is checked with a step
     * at its scale; a zero row and one of norm below eps are zeroed, and
     * their gradient is zero (x / eps would give them dy / eps = 1e12 dy). */
    for (size_t i = 0; i < c.d; i++) {
        c.x[i] *= 1e-9f;
        c.x[c.d + i] = 0;
        c.x[2 * c.d + i] = 1e-14f;
    }
    memset(dx, 0, c.B * c.d * sizeof *dx);
    l2_loss(&c);
    rs_l2norm_backward(dx, c.r, c.y, c.norm, c.B, c.d);
    struct l2_case tiny = c;
    tiny.B = 1;
    gc_check_step("l2norm, a row of norm 1e-9", dx, c.x, c.d, l2_loss, &tiny, 1e-12f);
    int zeroed = 1;
    for (size_t i = c.d; i < 3 * c.d; i++)
        zeroed &= c.y[i] == 0 && dx[i] == 0;
    ok(zeroed && c.norm[1] == RS_L2_EPS && c.norm[2] == RS_L2_EPS,
       "l2norm: a zero row and a row of norm below eps give zero, and no gradient");
    struct l2_case zero = c;
    zero.x = c.x + c.d;
    zero.y = c.y + c.d;
    zero.r = c.r + c.d;
    zero.B = 2;
    ok(gc_relerr(dx + c.d, zero.x, 2 * c.d, l2_loss, &zero, 1e-15f) == 0,
       "l2norm: finite differences agree at a zero row and one below eps");
    free(c.x), free(c.y), free(c.norm), free(c.r), free(dx);
}

/* ---- concat ---- */
struct cat_case {
    size_t B;
    float *a, *b, *y, *r;
};

static double cat_loss(void *c_)
{
    struct cat_case *c = c_;
    const float *xs[2] = {c->a, c->b};
    size_t dims[2] = {3, 2};
    rs_concat_forward(c->y, xs, dims, 2, c->B);
    return probe(c->r, c->y, c->B * 5);
}

static void test_concat(void)
{
    struct cat_case c = {.B = 3};
    c.a = randv(9, 1), c.b = randv(6, 1), c.y = zerov(15), c.r = randv(15, 1);
    float *da = zerov(9), *db = zerov(6);
    cat_loss(&c);
    ok(c.y[5] == c.a[3] && c.y[8] == c.b[2], "concat places row 1 of a, then of b");
    float *dxs[2] = {da, db};
    size_t dims[2] = {3, 2};
    rs_concat_backward(dxs, c.r, dims, 2, c.B);
    gc_check("concat a", da, c.a, 9, cat_loss, &c);
    gc_check("concat b", db, c.b, 6, cat_loss, &c);
    free(c.a), free(c.b), free(c.y), free(c.r), free(da), free(db);
}

/* ---- embeddings: lookup, bag (sum/mean, weights, empty bag), attention ---- */
struct emb_case {
    struct rs_params p;
    int ti, tq;
    size_t B, d;
    int kind; /* 0 lookup, 1 bag sum weighted, 2 bag mean, 3 attn per-bag q, 4 attn shared q */
    uint32_t ids[12], off[5];
    float wts[12];
    float *q, *y, *alpha, *r;
};

static double emb_loss(void *c_)
{
    struct emb_case *c = c_;
    const float *tab = rs_params_w(&c->p, c->ti);
    switch (c->kind) {
    case 0: rs_embedding_forward(c->y, tab, c->ids, c->B, c->d); break;
    case 1: rs_embedding_bag_forward(c->y, tab, c->ids, c->off, c->wts, c->B, c->d, RS_POOL_SUM); break;
    case 2: rs_embedding_bag_forward(c->y, tab, c->ids, c->off, NULL, c->B, c->d, RS_POOL_MEAN); break;
    case 3: rs_attn_pool_forward(c->y, c->alpha, tab, c->ids, c->off, c->q, c->d, c->B, c->d); break;
    default:
        rs_attn_pool_forward(c->y, c->alpha, tab, c->ids, c->off, rs_params_w(&c->p, c->tq), 0,
                             c->B, c->d);
    }
    return probe(c->r, c->y, c->B * c->d);
}

static void test_embeddings(void)
{
    static const char *names[] = {"embedding", "bag sum weighted", "bag mean", "attn pool query",
                                  "attn pool shared query"};
    for (int kind = 0; kind < 5; kind++) {
        struct emb_case c = {.B = 4, .d = 5, .kind = kind,
                             /* bags {0,3,3}, {}, {5,1,0,2}, {4}; lookup uses the first 4 ids */
                             .ids = {0, 3, 3, 5, 1, 0, 2, 4}, .off = {0, 3, 3, 7, 8}};
        if (kind == 0)
            c.ids[1] = 0, c.ids[2] = 5; /* lookup: ids 0 0 5 5 incl. duplicates */
        rs_params_init(&c.p);
        c.ti = rs_params_add(&c.p, "table", 7, c.d, RS_PARAM_SPARSE);
        c.tq = rs_params_add(&c.p, "query", 1, c.d, RS_PARAM_DENSE);
        rs_params_alloc(&c.p);
        rs_nn_init_uniform(rs_params_w(&c.p, c.ti), 7 * c.d, 1, &R);
        rs_nn_init_uniform(rs_params_w(&c.p, c.tq), c.d, 1, &R);
        for (int j = 0; j < 8; j++)
            c.wts[j] = 0.5f + 0.25f * (float)j;
        c.q = randv(c.B * c.d, 1);
        c.y = zerov(c.B * c.d), c.alpha = zerov(8), c.r = randv(c.B * c.d, 1);
        float *dq = zerov(c.B * c.d);
        emb_loss(&c);
        float *g = rs_params_g(&c.p, c.ti);
        switch (kind) {
        case 0: rs_embedding_backward(&c.p, c.ti, c.ids, c.r, c.B); break;
        case 1: rs_embedding_bag_backward(&c.p, c.ti, c.ids, c.off, c.wts, c.r, c.B, RS_POOL_SUM); break;
        case 2: rs_embedding_bag_backward(&c.p, c.ti, c.ids, c.off, NULL, c.r, c.B, RS_POOL_MEAN); break;
        case 3:
            rs_attn_pool_backward(&c.p, c.ti, dq, c.r, c.alpha, rs_params_w(&c.p, c.ti), c.ids,
                                  c.off, c.q, c.d, c.B, c.d);
            break;
        default:
            rs_attn_pool_backward(&c.p, c.ti, rs_params_g(&c.p, c.tq), c.r, c.alpha,
                                  rs_params_w(&c.p, c.ti), c.ids, c.off, rs_params_w(&c.p, c.tq),
                                  0, c.B, c.d);
        }
        char what[80];
        snprintf(what, sizeof what, "%s table", names[kind]);
        gc_check(what, g, rs_params_w(&c.p, c.ti), 7 * c.d, emb_loss, &c);
        if (kind == 3)
            gc_check("attn pool query (per bag)", dq, c.q, c.B * c.d, emb_loss, &c);
        if (kind == 4)
            gc_check("attn pool query (shared)", rs_params_g(&c.p, c.tq), rs_params_w(&c.p, c.tq),
                     c.d, emb_loss, &c);
        if (kind >= 1) {
            int zero = 1;
            for (size_t j = 0; j < c.d; j++)
                zero &= c.y[c.d + j] == 0;
            ok(zero, "%s: empty bag gives a zero row", names[kind]);
        }
        /* rows touched: lookup {0,5}; bags {0,1,2,3,4,5}; row 6 never */
        const struct rs_tensor *t = &c.p.t[c.ti];
        is_int(t->n_touched, kind == 0 ? 2 : 6, "%s: rows touched listed once each", names[kind]);
        ok(!t->touched_mark[6], "%s: untouched row not marked", names[kind]);
        rs_params_zero_grad(&c.p);
        int clean = t->n_touched == 0;
        for (size_t j = 0; j < 7 * c.d; j++)
            clean &= g[j] == 0;
        ok(clean, "%s: zero_grad clears touched rows", names[kind]);
        rs_params_free(&c.p);
        free(c.q), free(c.y), free(c.alpha), free(c.r), free(dq);
    }
}

/* ---- losses ---- */
struct xent_case {
    size_t B, C;
    float *z, *p;
    uint32_t lab[4];
};

static double xent_loss(void *c_)
{
    struct xent_case *c = c_;
    return rs_softmax_xent_forward(c->p, c->z, c->lab, c->B, c->C);
}

static void test_xent(void)
{
    struct xent_case c = {.B = 4, .C = 6, .lab = {0, 5, 2, 2}};
    c.z = randv(24, 3), c.p = zerov(24);
    c.z[1 * 6 + 3] = -INFINITY; /* a masked class */
    float *dz = zerov(24);
    double l = xent_loss(&c);
    rs_softmax_xent_backward(dz, c.p, c.lab, c.B, c.C, 1);
    ok(c.p[9] == 0 && dz[9] == 0, "xent: masked class has p = 0 and no gradient");
    /* check all but the masked entry: perturbing -inf is meaningless */
    float *zz = c.z;
    double e = 0, num2 = 0, ana2 = 0;
    for (size_t i = 0; i < 24; i++) {
        if (i == 9)
            continue;
        float x0 = zz[i];
        zz[i] = x0 + GC_H;
        double lp = xent_loss(&c);
        zz[i] = x0 - GC_H;
        double lm = xent_loss(&c);
        zz[i] = x0;
        double num = (lp - lm) / (2 * GC_H);
        e += (num - dz[i]) * (num - dz[i]), num2 += num * num, ana2 += (double)dz[i] * dz[i];
    }
    double rel = sqrt(e) / (sqrt(num2) + sqrt(ana2));
    ok(rel < GC_TOL, "grad softmax xent (masked): relative error %.2e", rel);
    float z2[3] = {1, 2, 3}, p2[3];
    uint32_t l2 = 2;
    double want = -(3 - log(exp(1) + exp(2) + exp(3)));
    is_near(rs_softmax_xent_forward(p2, z2, &l2, 1, 3), want, 1e-6, "xent known answer");
    ok(l > 0, "xent positive");
    free(c.z), free(c.p), free(dz);
}

struct bce_case {
    size_t B;
    float *z, *y, *w, *p;
};

static double bce_loss(void *c_)
{
    struct bce_case *c = c_;
    return rs_bce_forward(c->p, c->z, c->y, c->w, c->B);
}

static void test_bce(void)
{
    struct bce_case c = {.B = 8};
    c.z = randv(8, 4), c.p = zerov(8), c.y = zerov(8), c.w = zerov(8);
    for (int i = 0; i < 8; i++)
        c.y[i] = (float)(i % 3 == 0), c.w[i] = c.y[i] ? 4.0f : 1.0f;
    c.y[7] = 0.3f; /* soft target */
    float *dz = zerov(8);
    bce_loss(&c);
    rs_bce_backward(dz, c.p, c.y, c.w, c.B, 1);
    gc_check("bce weighted", dz, c.z, 8, bce_loss, &c);
    float *w = c.w;
    c.w = NULL;
    memset(dz, 0, 8 * sizeof(float));
    bce_loss(&c);
    rs_bce_backward(dz, c.p, c.y, NULL, c.B, 1);
    gc_check("bce unweighted", dz, c.z, 8, bce_loss, &c);
    float z1 = 0, y1 = 1, p1;
    is_near(rs_bce_forward(&p1, &z1, &y1, NULL, 1), log(2.0), 1e-7, "bce(0, 1) = log 2");
    float zb = 50, yb = 0;
    is_near(rs_bce_forward(&p1, &zb, &yb, NULL, 1), 50.0, 1e-5, "bce stable at z = 50");
    float wz = 0;
    is_near(rs_bce_forward(&p1, &z1, &y1, &wz, 1), 0, 0, "bce with zero total weight is 0");
    free(c.z), free(c.p), free(c.y), free(w), free(dz);
}

/* ---- listwise softmax cross-entropy ---- */
struct list_case {
    float *z, *y;
    const uint32_t *list;
    size_t B;
};

static double list_loss(void *c_)
{
    struct list_case *c = c_;
    size_t n;
    return rs_list_softmax_forward(c->z, c->y, c->list, c->B, &n);
}

static void test_list_softmax(void)
{
    /* three lists: two positives (one soft), none, one positive */
    static const uint32_t list[9] = {4, 4, 4, 4, 9, 9, 2, 2, 2};
    struct list_case c = {.z = randv(9, 3), .y = zerov(9), .list = list, .B = 9};
    c.y[1] = 1, c.y[3] = 0.5f, c.y[8] = 1;
    float *dz = zerov(9);
    size_t n;
    double l = rs_list_softmax_forward(c.z, c.y, list, 9, &n);
    ok(n == 2, "two of the three lists have a positive (%zu)", n);
    rs_list_softmax_backward(dz, c.z, c.y, list, 9, 1);
    gc_check("listwise softmax", dz, c.z, 9, list_loss, &c);
    ok(dz[4] == 0 && dz[5] == 0, "a list without a positive gets no gradient");
    /* by hand: list {2, 2, 2} with its positive last */
    double e = exp(c.z[6]) + exp(c.z[7]) + exp(c.z[8]), want = -(c.z[8] - log(e));
    double first = 0;
    for (int i = 0; i < 4; i++)
        first += exp(c.z[i]);
    want += -(c.z[1] - log(first)) / 1.5 - 0.5 * (c.z[3] - log(first)) / 1.5;
    is_near(l, want, 1e-5, "listwise loss by hand");
    float zs[2] = {3, 3}, ys[2] = {1, 0};
    static const uint32_t one[2] = {0, 0};
    is_near(rs_list_softmax_forward(zs, ys, one, 2, &n), log(2.0), 1e-7, "equal scores: log 2");
    free(c.z), free(c.y), free(dz);
}

/* ---- in-batch sampled softmax ---- */
struct ib_case {
    struct rs_inbatch s;
    float *u, *v, *neg, *probs;
};

static double ib_loss(void *c_)
{
    struct ib_case *c = c_;
    return rs_inbatch_softmax_forward(c->probs, &c->s, c->u, c->v, c->neg);
}

static void test_inbatch(void)
{
    static const uint32_t item[5] = {10, 11, 10, 12, 13};       /* rows 0 and 2 share an item */
    static const uint32_t neg_item[10] = {20, 10, 21, 22, 23, 24, 25, 12, 26, 27}; /* 2 hit */
    float logq[5] = {-1, -2, -1, -3, -0.5f};
    float neg_logq[10];
    for (int i = 0; i < 10; i++)
        neg_logq[i] = -1.5f - 0.1f * (float)i;
    for (int K = 0; K <= 2; K += 2) {
        struct ib_case c = {.s = {.B = 5, .K = (size_t)K, .d = 4, .tau = 0.2f, .logq = logq,
                                  .item = item, .neg_logq = neg_logq, .neg_item = neg_item}};
        size_t B = 5, d = 4, C = B + (size_t)K;
        c.u = randv(B * d, 1), c.v = randv(B * d, 1), c.neg = randv(B * 2 * d, 1);
        c.probs = zerov(B * C);
        float *du = zerov(B * d), *dv = zerov(B * d), *dn = zerov(B * 2 * d);
        ib_loss(&c);
        ok(c.probs[0 * C + 2] == 0 && c.probs[2 * C + 0] == 0 && c.probs[0] > 0,
           "inbatch K=%d: duplicate of the positive masked, diagonal kept", K);
        if (K)
            ok(c.probs[0 * C + B + 1] == 0 && c.probs[3 * C + B + 1] == 0 &&
                   c.probs[0 * C + B] > 0,
               "inbatch K=2: negatives equal to the positive masked");
        rs_inbatch_softmax_backward(du, dv, K ? dn : NULL, &c.s, c.probs, c.u, c.v, c.neg, 1);
        char w[64];
        snprintf(w, sizeof w, "inbatch K=%d u", K);
        gc_check(w, du, c.u, B * d, ib_loss, &c);
        snprintf(w, sizeof w, "inbatch K=%d v", K);
        gc_check(w, dv, c.v, B * d, ib_loss, &c);
        if (K)
            gc_check("inbatch K=2 negatives", dn, c.neg, B * 2 * d, ib_loss, &c);
        free(c.u), free(c.v), free(c.neg), free(c.probs), free(du), free(dv), free(dn);
    }
    /* known answer: B = 2, d = 1, tau = 1, no logq: logits [[1,2],[2,4]] */
    float u[2] = {1, 2}, v[2] = {1, 2}, pr[4];
    struct rs_inbatch s = {.B = 2, .d = 1, .tau = 1};
    double want = 0.5 * ((log(exp(1) + exp(2)) - 1) + (log(exp(2) + exp(4)) - 4));
    is_near(rs_inbatch_softmax_forward(pr, &s, u, v, NULL), want, 1e-6, "inbatch known answer");
    float lq[2] = {0, 3};
    s.logq = lq; /* item 1's logit drops by 3: [[1,-1],[2,1]] */
    want = 0.5 * ((log(exp(1) + exp(-1)) - 1) + (log(exp(2) + exp(1)) - 1));
    is_near(rs_inbatch_softmax_forward(pr, &s, u, v, NULL), want, 1e-6,
            "inbatch logQ correction subtracts log q_j");
}

/* Largest |a - b| over n floats. */
static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fabs((double)a[i] - b[i]) > m ? fabs((double)a[i] - b[i]) : m;
    return m;
}

/* Row ranges (data-parallel training): ranges that cut the batch add up to
 * the whole, loss and gradients; the whole range is the whole, bit for bit. */
static void test_inbatch_ranges(void)
{
    enum { B = 300, K = 2, D = 8 }; /* over two INBATCH_ROWS blocks, cut off their edges */
    size_t C = B + K, cut[4] = {0, 77, 77, 300}; /* an empty range too */
    uint32_t item[B], neg_item[B * K];
    float logq[B], neg_logq[B * K];
    for (size_t i = 0; i < B; i++) {
        item[i] = (uint32_t)(i % 50), logq[i] = -0.01f * (float)(i % 13);
        for (size_t k = 0; k < K; k++)
            neg_item[i * K + k] = (uint32_t)((i * 7 + k) % 60), neg_logq[i * K + k] = -0.02f * (float)k;
    }
    struct rs_inbatch s = {.B = B, .K = K, .d = D, .tau = 0.1f, .logq = logq, .item = item,
                           .neg_logq = neg_logq, .neg_item = neg_item};
    float *u = randv(B * D, 1), *v = randv(B * D, 1), *neg = randv(B * K * D, 1), *probs = zerov(B * C);
    float *du = zerov(B * D), *dv = zerov(B * D), *dn = zerov(B * K * D);
    double whole = rs_inbatch_softmax_forward(probs, &s, u, v, neg);
    rs_inbatch_softmax_backward(du, dv, dn, &s, probs, u, v, neg, 1);
    float *du2 = zerov(B * D), *dv2 = zerov(B * D), *dn2 = zerov(B * K * D), *pr2 = zerov(B * C);
    s.row_lo = 0, s.row_hi = B;
    ok(rs_inbatch_softmax_forward(pr2, &s, u, v, neg) == whole, "inbatch range [0, B): the same loss");
    rs_inbatch_softmax_backward(du2, dv2, dn2, &s, pr2, u, v, neg, 1);
    ok(max_diff(du, du2, B * D) == 0 && max_diff(dv, dv2, B * D) == 0 && max_diff(dn, dn2, B * K * D) == 0,
       "inbatch range [0, B): the same gradients, bit for bit");
    memset(du2, 0, B * D * sizeof *du2), memset(dv2, 0, B * D * sizeof *dv2), memset(dn2, 0, B * K * D * sizeof *dn2);
    double sum = 0;
    for (int r = 0; r < 3; r++) {
        /* A range's probs and u hold garbage outside it, as on a rank. */
        float *pr = randv(B * C, 1), *ur = randv(B * D, 5);
        s.row_lo = cut[r], s.row_hi = cut[r + 1];
        memcpy(ur + s.row_lo * D, u + s.row_lo * D, (s.row_hi - s.row_lo) * D * sizeof *ur);
        sum += rs_inbatch_softmax_forward(pr, &s, ur, v, neg);
        rs_inbatch_softmax_backward(du2, dv2, dn2, &s, pr, ur, v, neg, 1);
        free(pr), free(ur);
    }
    is_near(sum, whole, 1e-6, "inbatch ranges: the losses add up to the batch's");
    ok(max_diff(du, du2, B * D) < 1e-6 && max_diff(dn, dn2, B * K * D) < 1e-6,
       "inbatch ranges: du and dneg of each row as the whole batch's");
    is_near(max_diff(dv, dv2, B * D), 0, 1e-6, "inbatch ranges: dv summed over the ranges is the whole's");
    free(u), free(v), free(neg), free(probs), free(du), free(dv), free(dn);
    free(du2), free(dv2), free(dn2), free(pr2);
}

/* ---- a whole two-tower model: embeddings, attention history, dense, relu,
 * l2norm, in-batch softmax with negatives through the item tower ---- */
#define TT_B 6
#define TT_K 2
#define TT_NI (TT_B * (1 + TT_K))
struct tt_model {
    struct rs_params p;
    int uemb, iemb, q, w1, b1, w2, b2, v1, c1, v2, c2;
    uint32_t user[TT_B], item[TT_NI], hist[16], hoff[TT_B + 1];
    float logq[TT_B], nlogq[TT_B * TT_K];
    struct rs_arena a;
};

enum { TT_D = 4, TT_H = 6, TT_E = 5 };

struct tt_acts {
    float *ue, *hv, *alpha, *ucat, *uh, *uo, *un, *unorm;
    float *ie, *ih, *io, *in, *inorm, *probs;
};

static double tt_forward(struct tt_model *m, struct tt_acts *s)
{
    struct rs_params *p = &m->p;
    struct rs_arena *a = &m->a;
    rs_arena_reset(a);
    size_t B = TT_B, N = TT_NI;
    s->ue = rs_arena_floats(a, B * TT_E);
    s->hv = rs_arena_floats(a, B * TT_E);
    s->alpha = rs_arena_floats(a, 16);
    s->ucat = rs_arena_floats(a, B * 2 * TT_E);
    s->uh = rs_arena_floats(a, B * TT_H);
    s->uo = rs_arena_floats(a, B * TT_D);
    s->un = rs_arena_floats(a, B * TT_D);
    s->unorm = rs_arena_floats(a, B);
    s->ie = rs_arena_floats(a, N * TT_E);
    s->ih = rs_arena_floats(a, N * TT_H);
    s->io = rs_arena_floats(a, N * TT_D);
    s->in = rs_arena_floats(a, N * TT_D);
    s->inorm = rs_arena_floats(a, N);
    s->probs = rs_arena_floats(a, B * (B + TT_K));
    rs_embedding_forward(s->ue, rs_params_w(p, m->uemb), m->user, B, TT_E);
    rs_attn_pool_forward(s->hv, s->alpha, rs_params_w(p, m->iemb), m->hist, m->hoff,
                         rs_params_w(p, m->q), 0, B, TT_E);
    const float *xs[2] = {s->ue, s->hv};
    size_t dims[2] = {TT_E, TT_E};
    rs_concat_forward(s->ucat, xs, dims, 2, B);
    rs_dense_forward(s->uh, s->ucat, rs_params_w(p, m->w1), rs_params_w(p, m->b1), B, 2 * TT_E, TT_H);
    rs_relu_forward(s->uh, s->uh, B * TT_H);
    rs_dense_forward(s->uo, s->uh, rs_params_w(p, m->w2), rs_params_w(p, m->b2), B, TT_H, TT_D);
    rs_l2norm_forward(s->un, s->unorm, s->uo, B, TT_D);
    rs_embedding_forward(s->ie, rs_params_w(p, m->iemb), m->item, N, TT_E);
    rs_dense_forward(s->ih, s->ie, rs_params_w(p, m->v1), rs_params_w(p, m->c1), N, TT_E, TT_H);
    rs_relu_forward(s->ih, s->ih, N * TT_H);
    rs_dense_forward(s->io, s->ih, rs_params_w(p, m->v2), rs_params_w(p, m->c2), N, TT_H, TT_D);
    rs_l2norm_forward(s->in, s->inorm, s->io, N, TT_D);
    gc_kinks = kink_hash(s->ih, N * TT_H, kink_hash(s->uh, B * TT_H, 0xcbf29ce484222325ULL));
    struct rs_inbatch ib = {.B = B, .K = TT_K, .d = TT_D, .tau = 0.25f, .logq = m->logq,
                            .item = m->item, .neg_logq = m->nlogq, .neg_item = m->item + B};
    return rs_inbatch_softmax_forward(s->probs, &ib, s->un, s->in, s->in + B * TT_D);
}

static void tt_backward(struct tt_model *m, struct tt_acts *s)
{
    struct rs_params *p = &m->p;
    struct rs_arena *a = &m->a;
    size_t B = TT_B, N = TT_NI;
    struct rs_inbatch ib = {.B = B, .K = TT_K, .d = TT_D, .tau = 0.25f, .logq = m->logq,
                            .item = m->item, .neg_logq = m->nlogq, .neg_item = m->item + B};
    float *dun = rs_arena_zeros(a, B * TT_D), *din = rs_arena_zeros(a, N * TT_D);
    rs_inbatch_softmax_backward(dun, din, din + B * TT_D, &ib, s->probs, s->un, s->in,
                                s->in + B * TT_D, 1);
    float *dio = rs_arena_zeros(a, N * TT_D), *dih = rs_arena_zeros(a, N * TT_H);
    float *dih2 = rs_arena_zeros(a, N * TT_H), *die = rs_arena_zeros(a, N * TT_E);
    rs_l2norm_backward(dio, din, s->in, s->inorm, N, TT_D);
    rs_dense_backward(dih, rs_params_g(p, m->v2), rs_params_g(p, m->c2), dio, s->ih,
                      rs_params_w(p, m->v2), N, TT_H, TT_D);
    rs_relu_backward(dih2, dih, s->ih, N * TT_H);
    rs_dense_backward(die, rs_params_g(p, m->v1), rs_params_g(p, m->c1), dih2, s->ie,
                      rs_params_w(p, m->v1), N, TT_E, TT_H);
    rs_embedding_backward(p, m->iemb, m->item, die, N);
    float *duo = rs_arena_zeros(a, B * TT_D), *duh = rs_arena_zeros(a, B * TT_H);
    float *duh2 = rs_arena_zeros(a, B * TT_H), *ducat = rs_arena_zeros(a, B * 2 * TT_E);
    float *due = rs_arena_zeros(a, B * TT_E), *dhv = rs_arena_zeros(a, B * TT_E);
    rs_l2norm_backward(duo, dun, s->un, s->unorm, B, TT_D);
    rs_dense_backward(duh, rs_params_g(p, m->w2), rs_params_g(p, m->b2), duo, s->uh,
                      rs_params_w(p, m->w2), B, TT_H, TT_D);
    rs_relu_backward(duh2, duh, s->uh, B * TT_H);
    rs_dense_backward(ducat, rs_params_g(p, m->w1), rs_params_g(p, m->b1), duh2, s->ucat,
                      rs_params_w(p, m->w1), B, 2 * TT_E, TT_H);
    float *dxs[2] = {due, dhv};
    size_t dims[2] = {TT_E, TT_E};
    rs_concat_backward(dxs, ducat, dims, 2, B);
    rs_embedding_backward(p, m->uemb, m->user, due, B);
    rs_attn_pool_backward(p, m->iemb, rs_params_g(p, m->q), dhv, s->alpha, rs_params_w(p, m->iemb),
                          m->hist, m->hoff, rs_params_w(p, m->q), 0, B, TT_E);
}

static void tt_init(struct tt_model *m)
{
    struct rs_params *p = &m->p;
    rs_params_init(p);
    m->uemb = rs_params_add(p, "user.emb", 8, TT_E, RS_PARAM_SPARSE);
    m->iemb = rs_params_add(p, "item.emb", 12, TT_E, RS_PARAM_SPARSE);
    m->q = rs_params_add(p, "user.hist.query", 1, TT_E, 0);
    m->w1 = rs_params_add(p, "user.dense1.w", 2 * TT_E, TT_H, 0);
    m->b1 = rs_params_add(p, "user.dense1.b", 1, TT_H, 0);
    m->w2 = rs_params_add(p, "user.dense2.w", TT_H, TT_D, 0);
    m->b2 = rs_params_add(p, "user.dense2.b", 1, TT_D, 0);
    m->v1 = rs_params_add(p, "item.dense1.w", TT_E, TT_H, 0);
    m->c1 = rs_params_add(p, "item.dense1.b", 1, TT_H, 0);
    m->v2 = rs_params_add(p, "item.dense2.w", TT_H, TT_D, 0);
    m->c2 = rs_params_add(p, "item.dense2.b", 1, TT_D, 0);
    rs_params_alloc(p);
    for (size_t i = 0; i < p->n; i++)
        rs_nn_init_uniform(rs_params_w(p, (int)i), p->t[i].rows * p->t[i].cols, 0.8f, &R);
    static const uint32_t user[TT_B] = {0, 1, 2, 3, 4, 1};
    static const uint32_t item[TT_NI] = {0, 1, 2, 3, 2, 4, /* negatives: */ 5, 6, 7, 1, 8, 9,
                                         10, 3, 5, 5, 6, 7};
    static const uint32_t hist[11] = {1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 2};
    static const uint32_t hoff[TT_B + 1] = {0, 2, 5, 5, 7, 10, 11};
    memcpy(m->user, user, sizeof user);
    memcpy(m->item, item, sizeof item);
    memcpy(m->hist, hist, sizeof hist);
    memcpy(m->hoff, hoff, sizeof hoff);
    for (int i = 0; i < TT_B; i++)
        m->logq[i] = -1.0f - 0.3f * (float)i;
    for (int i = 0; i < TT_B * TT_K; i++)
        m->nlogq[i] = -2.0f + 0.1f * (float)i;
    rs_arena_init(&m->a, 0);
}

static double tt_loss(void *m_)
{
    struct tt_acts s;
    return tt_forward(m_, &s);
}

static void test_two_tower(void)
{
    struct tt_model m;
    tt_init(&m);
    struct tt_acts s;
    double l = tt_forward(&m, &s);
    ok(l > 0 && isfinite(l), "two-tower loss %.4f finite", l);
    /* nudge relu pre-activations off their kinks is not possible per
     * parameter; the tolerance covers the rare crossing (checked below) */
    rs_params_zero_grad(&m.p);
    tt_backward(&m, &s);
    for (size_t i = 0; i < m.p.n; i++) {
        float *w = rs_params_w(&m.p, (int)i);
        size_t n = m.p.t[i].rows * m.p.t[i].cols;
        float *g = xmalloc(n * sizeof(float));
        memcpy(g, rs_params_g(&m.p, (int)i), n * sizeof(float));
        char what[96];
        snprintf(what, sizeof what, "two-tower %s", m.p.t[i].name);
        gc_check(what, g, w, n, tt_loss, &m);
        free(g);
    }
    /* training lowers the loss; one Adam run with lazy sparse rows */
    struct rs_optim o;
    rs_optim_init(&o);
    o.lr = 0.02f;
    double l0 = l, l1 = l;
    for (int it = 0; it < 50; it++) {
        rs_params_zero_grad(&m.p);
        l1 = tt_forward(&m, &s);
        tt_backward(&m, &s);
        rs_optim_step(&o, &m.p);
    }
    printf("# %zu elements skipped at ReLU kinks\n", gc_skipped);
    ok(l1 < 0.5 * l0, "two-tower: 50 Adam steps lower the loss %.4f -> %.4f", l0, l1);
    /* item rows 11 never appear: lazy Adam leaves them exactly as initialised */
    ok(m.p.m[m.p.t[m.iemb].off + 11 * TT_E] == 0, "lazy Adam: untouched row has no moment");
    ok(rs_arena_blocks(&m.a) == 1, "arena folded into one block after reset");
    rs_arena_free(&m.a);
    rs_params_free(&m.p);
}

/* ---- optimisers against their formulas ---- */
static void test_optim(void)
{
    struct rs_params p;
    rs_params_init(&p);
    int d = rs_params_add(&p, "dense", 1, 3, 0);
    int s = rs_params_add(&p, "sparse", 4, 2, RS_PARAM_SPARSE);
    ok(rs_params_find(&p, "sparse") == s && rs_params_find(&p, "nope") == -1, "params_find");
    rs_params_alloc(&p);
    ok(p.t[s].off % 16 == 0 && p.size == 32, "tensors start at 16-float boundaries");
    float *w = rs_params_w(&p, d), *g = rs_params_g(&p, d);
    w[0] = 1, w[1] = -2, w[2] = 0.5f;
    struct rs_optim o;
    rs_optim_init(&o);
    o.lr = 0.1f;
    double wref[3] = {1, -2, 0.5}, m[3] = {0}, v[3] = {0};
    for (int t = 1; t <= 3; t++) {
        rs_params_zero_grad(&p);
        for (int i = 0; i < 3; i++)
            g[i] = (float)(w[i] * 2 + 0.1 * t); /* some gradient */
        for (int i = 0; i < 3; i++) {
            double gi = g[i];
            m[i] = 0.9 * m[i] + 0.1 * gi;
            v[i] = 0.999 * v[i] + 0.001 * gi * gi;
            double mh = m[i] / (1 - pow(0.9, t)), vh = v[i] / (1 - pow(0.999, t));
            wref[i] -= 0.1 * mh / (sqrt(vh) + 1e-8);
        }
        rs_optim_step(&o, &p);
    }
    double md = 0;
    for (int i = 0; i < 3; i++)
        md = fmax(md, fabs(w[i] - wref[i]));
    ok(md < 1e-6, "Adam matches the formula over 3 steps (max diff %.2e)", md);
    /* sparse: lazy Adam touches only marked rows */
    float *ws = rs_params_w(&p, s), *gs = rs_params_g(&p, s);
    for (int i = 0; i < 8; i++)
        ws[i] = 1;
    rs_params_zero_grad(&p);
    uint32_t ids[2] = {2, 2};
    float dy[4] = {1, -1, 1, -1};
    rs_embedding_backward(&p, s, ids, dy, 2);
    ok(gs[4] == 2 && gs[5] == -2 && p.t[s].n_touched == 1, "duplicate ids accumulate, listed once");
    rs_optim_step(&o, &p);
    ok(ws[0] == 1 && ws[2] == 1 && ws[6] == 1 && ws[4] < 1 && ws[5] > 1,
       "lazy Adam moves only touched row 2");
    /* Adagrad */
    o.sparse = RS_SPARSE_ADAGRAD;
    o.lr_sparse = 0.5f;
    rs_params_zero_grad(&p);
    uint32_t id1 = 1;
    float dy1[2] = {2, 0};
    rs_embedding_backward(&p, s, &id1, dy1, 1);
    rs_optim_step(&o, &p);
    is_near(ws[2], 1 - 0.5 * 2 / (2 + 1e-8), 1e-6, "Adagrad first step lr·g/sqrt(g²)");
    ok(ws[3] == 1 && ws[0] == 1, "Adagrad: zero gradient element and untouched row unchanged");
    /* clipping */
    rs_params_zero_grad(&p);
    g[0] = 3, g[1] = 4, g[2] = 0;
    is_near(rs_params_grad_norm(&p), 5, 1e-6, "grad norm");
    is_near(rs_params_clip_grad(&p, 1), 5, 1e-6, "clip returns the norm before");
    is_near(rs_params_grad_norm(&p), 1, 1e-6, "clip scales to max norm");
    /* AdamW decay pulls a zero-gradient weight towards 0 */
    o.weight_decay = 0.1f;
    rs_params_zero_grad(&p);
    float w0 = w[0];
    rs_optim_step(&o, &p);
    ok(fabsf(w[0]) < fabsf(w0), "AdamW decay shrinks weights");
    rs_params_free(&p);
    rs_params_free(&p); /* second free is a no-op */
}

/* ---- threaded paths: the in-batch softmax by row blocks (the same math as
 * one block), Adam and the bag backward (the same bits on any count) ---- */
static double maxdiff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* Three of the in-batch softmax's 128-row blocks, the last one short, so 3
 * threads split them differently from 1: the bits must not change. */
static void test_threaded(void)
{
    enum { B = 301, K = 3, D = 24 };
    uint32_t item[B], neg_item[B * K];
    float logq[B], neg_logq[B * K];
    for (int i = 0; i < B; i++)
        item[i] = (uint32_t)(i % 29), logq[i] = -1 - 0.01f * (float)i; /* rows i and i+29 share an item */
    for (int i = 0; i < B * K; i++)
        neg_item[i] = (uint32_t)(i % 41), neg_logq[i] = -2 + 0.01f * (float)i;
    float *u = randv(B * D, 1), *v = randv(B * D, 1), *neg = randv(B * K * D, 1), *out[2][4];
    double loss[2];
    for (int r = 0; r < 2; r++) {
        struct rs_inbatch s = {.B = B, .K = K, .d = D, .tau = 0.1f, .logq = logq, .item = item,
                               .neg_logq = neg_logq, .neg_item = neg_item, .threads = r ? 3 : 1};
        out[r][0] = zerov(B * (B + K)), out[r][1] = zerov(B * D), out[r][2] = zerov(B * D);
        out[r][3] = zerov(B * K * D);
        loss[r] = rs_inbatch_softmax_forward(out[r][0], &s, u, v, neg);
        rs_inbatch_softmax_backward(out[r][1], out[r][2], out[r][3], &s, out[r][0], u, v, neg, 1);
    }
    double md = fmax(fmax(maxdiff(out[0][0], out[1][0], B * (B + K)), maxdiff(out[0][1], out[1][1], B * D)),
                     fmax(maxdiff(out[0][2], out[1][2], B * D), maxdiff(out[0][3], out[1][3], B * K * D)));
    ok(md == 0 && loss[0] == loss[1], "inbatch on 3 threads = 1 thread, bit for bit (probs, du, dv, dneg)");

    struct rs_params p[2];
    uint32_t ids[40], off[9] = {0, 5, 5, 12, 20, 26, 31, 35, 40};
    for (int j = 0; j < 40; j++)
        ids[j] = (uint32_t)((j * 7) % 23);
    float *dy = randv(8 * 5, 1);
    for (int r = 0; r < 2; r++) {
        rs_params_init(&p[r]);
        rs_params_add(&p[r], "dense", 3, 37, RS_PARAM_DENSE);
        int t = rs_params_add(&p[r], "table", 23, 5, RS_PARAM_SPARSE);
        rs_params_alloc(&p[r]);
        struct rs_rng g;
        rs_rng_init(&g, 7, 0);
        rs_nn_init_uniform(p[r].w, p[r].size, 1, &g);
        rs_nn_init_uniform(p[r].g, p[r].t[1].off, 1, &g); /* dense gradient */
        rs_embedding_bag_backward_mt(&p[r], t, ids, off, NULL, dy, 8, RS_POOL_MEAN, r ? 4 : 1);
        struct rs_optim o;
        rs_optim_init(&o);
        o.threads = r ? 4 : 1;
        for (int step = 0; step < 3; step++)
            rs_optim_step(&o, &p[r]);
    }
    ok(memcmp(p[0].g, p[1].g, p[0].size * sizeof(float)) == 0 && p[0].t[1].n_touched == p[1].t[1].n_touched &&
           memcmp(p[0].t[1].touched, p[1].t[1].touched, p[0].t[1].n_touched * sizeof(uint32_t)) == 0,
       "bag backward on 4 threads: the same gradient bits and touched rows");
    ok(memcmp(p[0].w, p[1].w, p[0].size * sizeof(float)) == 0 &&
           memcmp(p[0].v, p[1].v, p[0].size * sizeof(float)) == 0,
       "Adam on 4 threads: the same weights and moments");
    for (int r = 0; r < 2; r++) {
        rs_params_free(&p[r]);
        for (int k = 0; k < 4; k++)
            free(out[r][k]);
    }
    free(u), free(v), free(neg), free(dy);
}

static void test_arena(void)
{
    struct rs_arena a;
    rs_arena_init(&a, 1000);
    float *x = rs_arena_floats(&a, 10);
    ok(((uintptr_t)x & 63) == 0, "arena: 64-byte aligned");
    float *big = rs_arena_zeros(&a, 100000); /* overflows the first block */
    ok(big[99999] == 0 && rs_arena_blocks(&a) == 2, "arena chains a block when full");
    size_t peak = a.peak;
    rs_arena_reset(&a);
    ok(rs_arena_blocks(&a) == 1 && a.used == 0, "reset folds into one block");
    float *again = rs_arena_floats(&a, 100000);
    (void)again;
    rs_arena_alloc(&a, 1);
    ok(rs_arena_blocks(&a) == 1 && a.peak >= peak, "second pass fits in the folded block");
    rs_arena_free(&a);
    rs_arena_free(&a);
}

/* ---- the numpy reference fixture ---- */
struct fixture {
    char **names;
    float **vals;
    size_t *lens;
    size_t n;
};

static int fixture_load(struct fixture *f, const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    memset(f, 0, sizeof *f);
    char name[128];
    size_t len;
    while (fscanf(fp, "%127s %zu", name, &len) == 2) {
        f->names = xrealloc(f->names, (f->n + 1) * sizeof *f->names);
        f->vals = xrealloc(f->vals, (f->n + 1) * sizeof *f->vals);
        f->lens = xrealloc(f->lens, (f->n + 1) * sizeof *f->lens);
        f->names[f->n] = xstrdup(name);
        f->lens[f->n] = len;
        f->vals[f->n] = xmalloc((len ? len : 1) * sizeof(float));
        for (size_t i = 0; i < len; i++)
            if (fscanf(fp, "%f", &f->vals[f->n][i]) != 1) {
                fclose(fp);
                return -1;
            }
        f->n++;
    }
    fclose(fp);
    return 0;
}

static const float *fx(const struct fixture *f, const char *name, size_t len)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->names[i], name) == 0) {
            RS_ASSERT(f->lens[i] == len);
            return f->vals[i];
        }
    fprintf(stderr, "fixture: no tensor %s\n", name);
    abort();
}

static void fixture_free(struct fixture *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->names[i]), free(f->vals[i]);
    free(f->names), free(f->vals), free(f->lens);
}

static int compare(const char *what, const float *got, const float *want, size_t n, double tol)
{
    double md = 0;
    for (size_t i = 0; i < n; i++)
        md = fmax(md, fabs((double)got[i] - want[i]));
    printf("# %-28s max diff %.3e %s\n", what, md, md <= tol ? "OK" : "NOT OK");
    return ok(md <= tol, "reference %s (max diff %.2e, tol %.0e)", what, md, tol);
}

static void test_reference(const char *path)
{
    struct fixture f;
    if (fixture_load(&f, path) != 0) {
        ok(0, "reference fixture %s readable", path);
        return;
    }
    struct tt_model m;
    tt_init(&m);
    for (size_t i = 0; i < m.p.n; i++) {
        size_t n = m.p.t[i].rows * m.p.t[i].cols;
        char key[96];
        snprintf(key, sizeof key, "param.%s", m.p.t[i].name);
        memcpy(rs_params_w(&m.p, (int)i), fx(&f, key, n), n * sizeof(float));
    }
    struct tt_acts s;
    double l = tt_forward(&m, &s);
    compare("user vectors", s.un, fx(&f, "out.user", TT_B * TT_D), TT_B * TT_D, 1e-5);
    compare("item vectors", s.in, fx(&f, "out.item", TT_NI * TT_D), TT_NI * TT_D, 1e-5);
    compare("probs", s.probs, fx(&f, "out.probs", TT_B * (TT_B + TT_K)), TT_B * (TT_B + TT_K), 1e-5);
    float lf = (float)l;
    compare("loss", &lf, fx(&f, "out.loss", 1), 1, 1e-5);
    rs_params_zero_grad(&m.p);
    tt_backward(&m, &s);
    for (size_t i = 0; i < m.p.n; i++) {
        size_t n = m.p.t[i].rows * m.p.t[i].cols;
        char key[96];
        snprintf(key, sizeof key, "grad.%s", m.p.t[i].name);
        compare(key, rs_params_g(&m.p, (int)i), fx(&f, key, n), n, 1e-4);
    }
    struct rs_optim o;
    rs_optim_init(&o);
    o.lr = fx(&f, "adam.lr", 1)[0];
    int steps = (int)fx(&f, "adam.steps", 1)[0];
    for (int it = 0; it < steps; it++) {
        rs_params_zero_grad(&m.p);
        tt_forward(&m, &s);
        tt_backward(&m, &s);
        rs_optim_step(&o, &m.p);
    }
    float losses[1];
    losses[0] = (float)tt_forward(&m, &s);
    for (size_t i = 0; i < m.p.n; i++) {
        size_t n = m.p.t[i].rows * m.p.t[i].cols;
        char key[96];
        snprintf(key, sizeof key, "adam.%s", m.p.t[i].name);
        compare(key, rs_params_w(&m.p, (int)i), fx(&f, key, n), n, 1e-4);
    }
    compare("loss after Adam", losses, fx(&f, "adam.loss", 1), 1, 1e-4);
    rs_arena_free(&m.a);
    rs_params_free(&m.p);
    fixture_free(&f);
}

int main(int argc, char **argv)
{
    rs_rng_init(&R, 12345, 0);
    test_dense();
    test_elementwise();
    test_l2norm();
    test_concat();
    test_embeddings();
    test_xent();
    test_bce();
    test_list_softmax();
    test_inbatch();
    test_inbatch_ranges();
    test_two_tower();
    test_optim();
    test_threaded();
    test_arena();
    test_reference(argc > 1 ? argv[1] : "tests/fixtures/nn/ref.txt");
    return done_testing();
}
