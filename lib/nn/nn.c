/* nn.c - layers, losses and optimisers with hand-written backward passes
 * (see nn.h for shapes, formulas and references). Matrix products go through
 * lib/nn/tensor.h (OpenBLAS sgemm) in shapes that never follow the thread
 * count; everything else is plain loops in a fixed order, so results depend
 * only on the inputs (and, through OpenBLAS's kernels, on the CPU). */
#include "nn/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "nn/tensor.h"
#include "core/threads.h"
#include "core/vec16.h"

/* Hot element-wise loops are RS_VEC (vec16.h); reductions that must
 * vectorise use explicit 16-lane blocks summed in a fixed order. The Makefile
 * builds this file with -fno-math-errno: otherwise sqrtf keeps a scalar errno
 * branch. */

/* e^x lane-wise for x <= 0, as Cephes expf (Moshier): x = n ln2 + r with
 * n = round(x / ln2) (by adding and subtracting 1.5·2^23) and ln2 split in two
 * so r is exact, e^r by its degree-7 polynomial, times 2^n built in the
 * exponent bits: relative error below 1e-7 on [-87.3, 0]. Lanes below -87.3 (-inf included), where
 * e^x < FLT_MIN, give 0. */
#define EXP16(x) ({                                                                             \
    vf16 x_ = (x), c_ = MAX16(x_, SPLAT16(-87.3f));                                             \
    vf16 n_ = (c_ * 1.44269504088896341f + 12582912.0f) - 12582912.0f;                          \
    vf16 r_ = (c_ - n_ * 0.693359375f) - n_ * -2.12194440e-4f;                                 \
    vf16 p_ = SPLAT16(1.9875691500e-4f);                                                        \
    p_ = p_ * r_ + 1.3981999507e-3f;                                                            \
    p_ = p_ * r_ + 8.3334519073e-3f;                                                            \
    p_ = p_ * r_ + 4.1665795894e-2f;                                                            \
    p_ = p_ * r_ + 1.6666665459e-1f;                                                            \
    p_ = p_ * r_ + 5.0000001201e-1f;                                                            \
    p_ = p_ * (r_ * r_) + r_ + 1.0f;                                                            \
    vf16 e_ = p_ * (vf16)((__builtin_convertvector(n_, vi16) + 127) << 23);                    \
    SELECT16(x_ >= -87.3f, e_, SPLAT16(0.0f));                                                  \
})
#define HMAX16(a) ({                                                                                  \
    vf16 h_ = (a);                                                                                    \
    h_ = MAX16(h_, __builtin_shufflevector(h_, h_, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)); \
    h_ = MAX16(h_, __builtin_shufflevector(h_, h_, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11)); \
    h_ = MAX16(h_, __builtin_shufflevector(h_, h_, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13)); \
    h_ = MAX16(h_, __builtin_shufflevector(h_, h_, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14)); \
    h_[0];                                                                                            \
})
/* Σ a_k b_k over n floats: 16 lanes, a fixed tree, then the tail in order. */
#define DOT16(a, b, n) ({                                                        \
    const float *a_ = (a), *b_ = (b);                                           \
    size_t n_ = (n), k_ = 0;                                                    \
    vf16 s_ = { 0 };                                                            \
    for (; k_ + 16 <= n_; k_ += 16)                                             \
        s_ += LOAD16(a_ + k_) * LOAD16(b_ + k_);                                \
    float t_ = HSUM16(s_);                                                      \
    for (; k_ < n_; k_++)                                                       \
        t_ += a_[k_] * b_[k_];                                                  \
    t_;                                                                         \
})

/* Each tensor starts on a 64-byte boundary relative to the base. */
#define PARAM_ALIGN 16

/* ---------------------------------------------------------------------------
 * Parameter arena
 */

void rs_params_init(struct rs_params *p)
{
    memset(p, 0, sizeof *p);
}

void rs_params_free(struct rs_params *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->t[i].touched_mark);
        free(p->t[i].touched);
    }
    free(p->t);
    free(p->w);
    free(p->g);
    free(p->m);
    free(p->v);
    memset(p, 0, sizeof *p);
}

int rs_params_add(struct rs_params *p, const char *name, size_t rows, size_t cols, int flags)
{
    RS_ASSERT(!p->allocated);
    RS_ASSERT(strlen(name) < RS_PARAM_NAME_MAX);
    RS_ASSERT(rs_params_find(p, name) < 0);
    RS_ASSERT(rows > 0 && cols > 0);
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 16;
        p->t = xrealloc(p->t, p->cap * sizeof *p->t);
    }
    struct rs_tensor *t = &p->t[p->n];
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    t->rows = rows;
    t->cols = cols;
    t->flags = flags;
    t->off = p->size;
    p->size += (rows * cols + PARAM_ALIGN - 1) / PARAM_ALIGN * PARAM_ALIGN;
    return (int)p->n++;
}

void rs_params_alloc(struct rs_params *p)
{
    RS_ASSERT(!p->allocated);
    size_t n = p->size ? p->size : 1;
    p->w = xcalloc(n, sizeof(float));
    p->g = xcalloc(n, sizeof(float));
    p->m = xcalloc(n, sizeof(float));
    p->v = xcalloc(n, sizeof(float));
    for (size_t i = 0; i < p->n; i++) {
        struct rs_tensor *t = &p->t[i];
        if (t->flags & RS_PARAM_SPARSE) {
            t->touched_mark = xcalloc(t->rows, 1);
            t->touched = xmalloc(t->rows * sizeof *t->touched);
        }
    }
    p->allocated = 1;
}

int rs_params_find(const struct rs_params *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->t[i].name, name) == 0)
            return (int)i;
    return -1;
}

float *rs_params_w(const struct rs_params *p, int i)
{
    RS_ASSERT(p->allocated && i >= 0 && (size_t)i < p->n);
    return p->w + p->t[i].off;
}

float *rs_params_g(const struct rs_params *p, int i)
{
    RS_ASSERT(p->allocated && i >= 0 && (size_t)i < p->n);
    return p->g + p->t[i].off;
}

void rs_params_touch(struct rs_params *p, int i, size_t r)
{
    struct rs_tensor *t = &p->t[i];
    if (!(t->flags & RS_PARAM_SPARSE))
        return;
    RS_ASSERT(r < t->rows);
    if (!t->touched_mark[r]) {
        t->touched_mark[r] = 1;
        t->touched[t->n_touched++] = (uint32_t)r;
    }
}

void rs_params_zero_grad(struct rs_params *p)
{
    for (size_t i = 0; i < p->n; i++) {
        struct rs_tensor *t = &p->t[i];
        float *g = p->g + t->off;
        if (!(t->flags & RS_PARAM_SPARSE)) {
            memset(g, 0, t->rows * t->cols * sizeof(float));
            continue;
        }
        for (size_t k = 0; k < t->n_touched; k++) {
            memset(g + (size_t)t->touched[k] * t->cols, 0, t->cols * sizeof(float));
            t->touched_mark[t->touched[k]] = 0;
        }
        t->n_touched = 0;
    }
}

/* Calls fn on every stretch of gradient that may be nonzero. */
static void grad_visit(const struct rs_params *p, void (*fn)(float *g, size_t n, void *ctx),
                       void *ctx)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct rs_tensor *t = &p->t[i];
        float *g = p->g + t->off;
        if (!(t->flags & RS_PARAM_SPARSE)) {
            fn(g, t->rows * t->cols, ctx);
            continue;
        }
        for (size_t k = 0; k < t->n_touched; k++)
            fn(g + (size_t)t->touched[k] * t->cols, t->cols, ctx);
    }
}

static void sumsq(float *g, size_t n, void *ctx)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)g[i] * g[i];
    *(double *)ctx += s;
}

static void scale(float *g, size_t n, void *ctx)
{
    float c = *(float *)ctx;
    for (size_t i = 0; i < n; i++)
        g[i] *= c;
}

double rs_params_grad_norm(const struct rs_params *p)
{
    double s = 0;
    grad_visit(p, sumsq, &s);
    return sqrt(s);
}

double rs_params_clip_grad(struct rs_params *p, double max_norm)
{
    double norm = rs_params_grad_norm(p);
    if (max_norm > 0 && norm > max_norm) {
        float c = (float)(max_norm / norm);
        grad_visit(p, scale, &c);
    }
    return norm;
}

/* ---------------------------------------------------------------------------
 * Initialisation
 */

void rs_nn_init_uniform(float *w, size_t n, float a, struct rs_rng *g)
{
    for (size_t i = 0; i < n; i++)
        w[i] = (float)((2 * rs_rng_uniform(g) - 1) * a);
}

void rs_nn_init_normal(float *w, size_t n, float std, struct rs_rng *g)
{
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(rs_rng_normal(g) * std);
}

void rs_nn_init_he(float *w, size_t d_in, size_t d_out, struct rs_rng *g)
{
    rs_nn_init_uniform(w, d_in * d_out, (float)sqrt(6.0 / (double)d_in), g);
}

void rs_nn_init_glorot(float *w, size_t d_in, size_t d_out, struct rs_rng *g)
{
    rs_nn_init_uniform(w, d_in * d_out, (float)sqrt(6.0 / (double)(d_in + d_out)), g);
}

void rs_nn_init_embedding(float *table, size_t rows, size_t d, struct rs_rng *g)
{
    rs_nn_init_normal(table, rows * d, (float)(1.0 / sqrt((double)d)), g);
}

/* ---------------------------------------------------------------------------
 * Dense, activations, normalisation, dropout, concat
 */

void rs_dense_forward(float *y, const float *x, const float *w, const float *b, size_t B,
                      size_t d_in, size_t d_out)
{
    if (b)
        for (size_t i = 0; i < B; i++)
            memcpy(y + i * d_out, b, d_out * sizeof(float));
    rs_sgemm(0, 0, B, d_out, d_in, 1.0f, x, d_in, w, d_out, b ? 1.0f : 0.0f, y, d_out);
}

RS_VEC void rs_dense_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                           const float *w, size_t B, size_t d_in, size_t d_out)
{
    if (dx)
        rs_sgemm(0, 1, B, d_in, d_out, 1.0f, dy, d_out, w, d_out, 1.0f, dx, d_in);
    if (dw)
        rs_sgemm(1, 0, d_in, d_out, B, 1.0f, x, d_in, dy, d_out, 1.0f, dw, d_out);
    if (db)
        for (size_t i = 0; i < B; i++)
            for (size_t j = 0; j < d_out; j++)
                db[j] += dy[i * d_out + j];
}

RS_VEC void rs_relu_forward(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0 ? x[i] : 0;
}

RS_VEC void rs_relu_backward(float *dx, const float *dy, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] += y[i] > 0 ? dy[i] : 0.0f;
}

static float sigmoidf(float x)
{
    if (x >= 0)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

void rs_sigmoid_forward(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = sigmoidf(x[i]);
}

void rs_sigmoid_backward(float *dx, const float *dy, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] += dy[i] * y[i] * (1 - y[i]);
}

RS_VEC void rs_l2norm_forward(float *y, float *norm, const float *x, size_t B, size_t d)
{
    for (size_t b = 0; b < B; b++) {
        const float *xb = x + b * d;
        float n = sqrtf(DOT16(xb, xb, d));
        /* A row within eps of zero has no direction: its output is zero and
         * constant (no gradient, see the backward), not x / eps. */
        float inv = n > RS_L2_EPS ? 1.0f / n : 0.0f;
        norm[b] = n > RS_L2_EPS ? n : RS_L2_EPS;
        for (size_t j = 0; j < d; j++)
            y[b * d + j] = xb[j] * inv;
    }
}

RS_VEC void rs_l2norm_backward(float *dx, const float *dy, const float *y, const float *norm, size_t B,
                            size_t d)
{
    for (size_t b = 0; b < B; b++) {
        /* A zeroed row (norm clamped to eps) passes no gradient. With
         * torch.nn.functional.normalize's x / max(|x|, eps) it would get
         * dy / eps = 1e12 dy: a tower row whose features were all dropped
         * (zero input, zero biases) sent that to Adam, whose second moment
         * then overflowed the checkpoint's +-1e16 bound. */
        if (norm[b] <= RS_L2_EPS)
            continue;
        const float *yb = y + b * d, *dyb = dy + b * d;
        float inv = 1.0f / norm[b];
        float dot = DOT16(yb, dyb, d);
        for (size_t j = 0; j < d; j++)
            dx[b * d + j] += (dyb[j] - yb[j] * dot) * inv;
    }
}

void rs_dropout_forward(float *y, float *mask, const float *x, size_t n, float p, struct rs_rng *g)
{
    RS_ASSERT(p >= 0 && p < 1);
    float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        mask[i] = (p == 0 || rs_rng_uniform(g) >= p) ? keep : 0.0f;
        y[i] = x[i] * mask[i];
    }
}

void rs_dropout_backward(float *dx, const float *dy, const float *mask, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] += dy[i] * mask[i];
}

void rs_concat_forward(float *y, const float *const *xs, const size_t *dims, size_t nparts,
                       size_t B)
{
    size_t D = 0;
    for (size_t k = 0; k < nparts; k++)
        D += dims[k];
    for (size_t b = 0; b < B; b++) {
        float *yb = y + b * D;
        for (size_t k = 0; k < nparts; k++) {
            memcpy(yb, xs[k] + b * dims[k], dims[k] * sizeof(float));
            yb += dims[k];
        }
    }
}

RS_VEC void rs_concat_backward(float *const *dxs, const float *dy, const size_t *dims, size_t nparts,
                            size_t B)
{
    size_t D = 0;
    for (size_t k = 0; k < nparts; k++)
        D += dims[k];
    for (size_t b = 0; b < B; b++) {
        const float *dyb = dy + b * D;
        for (size_t k = 0; k < nparts; k++) {
            if (dxs[k])
                for (size_t j = 0; j < dims[k]; j++)
                    dxs[k][b * dims[k] + j] += dyb[j];
            dyb += dims[k];
        }
    }
}

/* ---------------------------------------------------------------------------
 * Embeddings
 */

void rs_embedding_forward(float *y, const float *table, const uint32_t *ids, size_t B, size_t d)
{
    for (size_t b = 0; b < B; b++)
        memcpy(y + b * d, table + (size_t)ids[b] * d, d * sizeof(float));
}

RS_VEC void rs_embedding_backward(struct rs_params *p, int ti, const uint32_t *ids, const float *dy,
                               size_t B)
{
    const struct rs_tensor *t = &p->t[ti];
    size_t d = t->cols;
    float *g = rs_params_g(p, ti);
    for (size_t b = 0; b < B; b++) {
        RS_ASSERT(ids[b] < t->rows);
        rs_params_touch(p, ti, ids[b]);
        float *gr = g + (size_t)ids[b] * d;
        for (size_t j = 0; j < d; j++)
            gr[j] += dy[b * d + j];
    }
}

/* Factor applied to every id of bag b: 1 for SUM, 1/n_b for MEAN. */
static float bag_scale(const uint32_t *offsets, size_t b, int pool)
{
    uint32_t n = offsets[b + 1] - offsets[b];
    return (pool == RS_POOL_MEAN && n > 0) ? 1.0f / (float)n : 1.0f;
}

RS_VEC void rs_embedding_bag_forward(float *y, const float *table, const uint32_t *ids,
                                  const uint32_t *offsets, const float *wts, size_t B, size_t d,
                                  int pool)
{
    RS_ASSERT(pool == RS_POOL_SUM || pool == RS_POOL_MEAN);
    for (size_t b = 0; b < B; b++) {
        float *yb = y + b * d;
        memset(yb, 0, d * sizeof(float));
        float c = bag_scale(offsets, b, pool);
        for (uint32_t j = offsets[b]; j < offsets[b + 1]; j++) {
            const float *e = table + (size_t)ids[j] * d;
            float a = wts ? c * wts[j] : c;
            for (size_t k = 0; k < d; k++)
                yb[k] += a * e[k];
        }
    }
}

/* Adds bag gradients into the rows r of the table with r % nparts == part;
 * every row gets its terms in the same order whatever the split. */
RS_VEC static void bag_backward_part(const struct rs_tensor *t, float *g, const uint32_t *ids,
                                  const uint32_t *offsets, const float *wts, const float *dy,
                                  size_t B, int pool, size_t part, size_t nparts)
{
    size_t d = t->cols;
    for (size_t b = 0; b < B; b++) {
        float c = bag_scale(offsets, b, pool);
        for (uint32_t j = offsets[b]; j < offsets[b + 1]; j++) {
            RS_ASSERT(ids[j] < t->rows);
            if (ids[j] % nparts != part)
                continue;
            float *gr = g + (size_t)ids[j] * d;
            float a = wts ? c * wts[j] : c;
            for (size_t k = 0; k < d; k++)
                gr[k] += a * dy[b * d + k];
        }
    }
}

struct bag_job {
    const struct rs_tensor *t;
    float *g;
    const uint32_t *ids, *offsets;
    const float *wts, *dy;
    size_t B;
    int pool;
    size_t nparts;
};

static void bag_parts(void *arg, size_t lo, size_t hi, int tid)
{
    (void)tid;
    const struct bag_job *j = arg;
    for (size_t part = lo; part < hi; part++)
        bag_backward_part(j->t, j->g, j->ids, j->offsets, j->wts, j->dy, j->B, j->pool, part, j->nparts);
}

void rs_embedding_bag_backward_mt(struct rs_params *p, int ti, const uint32_t *ids,
                                  const uint32_t *offsets, const float *wts, const float *dy,
                                  size_t B, int pool, int threads)
{
    for (uint32_t j = 0; j < offsets[B]; j++)
        rs_params_touch(p, ti, ids[j]);
    size_t nparts = threads > 1 ? (size_t)threads : 1;
    struct bag_job job = { &p->t[ti], rs_params_g(p, ti), ids, offsets, wts, dy, B, pool, nparts };
    rs_parallel_for(threads, nparts, bag_parts, &job);
}

void rs_embedding_bag_backward(struct rs_params *p, int ti, const uint32_t *ids,
                               const uint32_t *offsets, const float *wts, const float *dy,
                               size_t B, int pool)
{
    rs_embedding_bag_backward_mt(p, ti, ids, offsets, wts, dy, B, pool, 1);
}

RS_VEC void rs_attn_pool_forward(float *y, float *alpha, const float *table, const uint32_t *ids,
                                 const uint32_t *offsets, const float *q, size_t q_stride, size_t B,
                                 size_t d)
{
    float sc = 1.0f / sqrtf((float)d);
    for (size_t b = 0; b < B; b++) {
        const float *qb = q + b * q_stride;
        float *yb = y + b * d;
        uint32_t lo = offsets[b], hi = offsets[b + 1];
        memset(yb, 0, d * sizeof(float));
        if (lo == hi)
            continue;
        float mx = -INFINITY;
        for (uint32_t j = lo; j < hi; j++) {
            alpha[j] = DOT16(qb, table + (size_t)ids[j] * d, d) * sc;
            if (alpha[j] > mx)
                mx = alpha[j];
        }
        double z = 0;
        for (uint32_t j = lo; j < hi; j++) {
            alpha[j] = expf(alpha[j] - mx);
            z += alpha[j];
        }
        for (uint32_t j = lo; j < hi; j++) {
            float a = alpha[j] = (float)(alpha[j] / z);
            const float *e = table + (size_t)ids[j] * d;
            for (size_t k = 0; k < d; k++)
                yb[k] += a * e[k];
        }
    }
}

RS_VEC void rs_attn_pool_backward(struct rs_params *p, int ti, float *dq, const float *dy,
                                  const float *alpha, const float *table, const uint32_t *ids,
                                  const uint32_t *offsets, const float *q, size_t q_stride, size_t B,
                                  size_t d)
{
    const struct rs_tensor *t = &p->t[ti];
    float *g = rs_params_g(p, ti);
    float sc = 1.0f / sqrtf((float)d);
    RS_ASSERT(t->cols == d);
    for (size_t b = 0; b < B; b++) {
        const float *qb = q + b * q_stride, *dyb = dy + b * d;
        uint32_t lo = offsets[b], hi = offsets[b + 1];
        /* ds_j = alpha_j (dy·e_j - Σ_k alpha_k dy·e_k): softmax backward */
        double c = 0;
        for (uint32_t j = lo; j < hi; j++)
            c += alpha[j] * (double)DOT16(dyb, table + (size_t)ids[j] * d, d);
        for (uint32_t j = lo; j < hi; j++) {
            RS_ASSERT(ids[j] < t->rows);
            const float *e = table + (size_t)ids[j] * d;
            float a = alpha[j], ds = (float)(a * ((double)DOT16(dyb, e, d) - c)) * sc;
            float *gr = g + (size_t)ids[j] * d;
            rs_params_touch(p, ti, ids[j]);
            for (size_t k = 0; k < d; k++)
                gr[k] += a * dyb[k] + ds * qb[k];
            if (dq)
                for (size_t k = 0; k < d; k++)
                    dq[b * q_stride + k] += ds * e[k];
        }
    }
}

/* ---------------------------------------------------------------------------
 * Losses
 */

/* Softmax of one row (pr may equal z) over finite entries (-inf stays 0);
 * returns log Σ exp(z - max) and stores max in *mx. Sixteen columns at a
 * time, the last block padded with -inf; the sum runs in 16 float lanes. */
RS_VEC static double softmax_row(float *pr, const float *z, size_t C, float *mx)
{
    size_t C16 = C / 16 * 16, rem = C - C16;
    float tail[16];
    for (size_t c = 0; c < 16; c++)
        tail[c] = c < rem ? z[C16 + c] : -INFINITY;
    vf16 m16 = LOAD16(tail);
    for (size_t c = 0; c < C16; c += 16)
        m16 = MAX16(LOAD16(z + c), m16);
    float m = HMAX16(m16);
    vf16 s16 = { 0 };
    for (size_t c = 0; c < C16; c += 16) {
        vf16 e = EXP16(LOAD16(z + c) - m);
        STORE16(pr + c, e);
        s16 += e;
    }
    vf16 e = EXP16(LOAD16(tail) - m);
    s16 += e;
    double s = HSUM16(s16);
    float inv = (float)(1.0 / s);
    for (size_t c = 0; c < C16; c += 16)
        STORE16(pr + c, LOAD16(pr + c) * inv);
    for (size_t c = 0; c < rem; c++)
        pr[C16 + c] = e[c] * inv;
    *mx = m;
    return log(s);
}

double rs_softmax_xent_forward(float *probs, const float *logits, const uint32_t *labels,
                               size_t B, size_t C)
{
    double loss = 0;
    for (size_t b = 0; b < B; b++) {
        RS_ASSERT(labels[b] < C);
        float zl = logits[b * C + labels[b]], mx;
        RS_ASSERT(isfinite(zl));
        double lse = softmax_row(probs + b * C, logits + b * C, C, &mx);
        loss += lse - ((double)zl - mx);
    }
    return B ? loss / (double)B : 0;
}

void rs_softmax_xent_backward(float *dlogits, const float *probs, const uint32_t *labels,
                              size_t B, size_t C, float dloss)
{
    float c = dloss / (float)B;
    for (size_t b = 0; b < B; b++) {
        for (size_t j = 0; j < C; j++)
            dlogits[b * C + j] += c * probs[b * C + j];
        dlogits[b * C + labels[b]] -= c;
    }
}

double rs_bce_forward(float *p, const float *z, const float *y, const float *w, size_t B)
{
    double loss = 0, sw = 0;
    for (size_t b = 0; b < B; b++) {
        double wb = w ? w[b] : 1.0, zb = z[b];
        p[b] = sigmoidf(z[b]);
        loss += wb * ((zb > 0 ? zb : 0) - zb * y[b] + log1p(exp(-fabs(zb))));
        sw += wb;
    }
    return sw > 0 ? loss / sw : 0;
}

void rs_bce_backward(float *dz, const float *p, const float *y, const float *w, size_t B,
                     float dloss)
{
    double sw = 0;
    for (size_t b = 0; b < B; b++)
        sw += w ? w[b] : 1.0;
    if (!(sw > 0))
        return;
    float c = (float)(dloss / sw);
    for (size_t b = 0; b < B; b++)
        dz[b] += c * (w ? w[b] : 1.0f) * (p[b] - y[b]);
}

/* End of the list starting at row b (the run of equal list ids). */
static size_t list_end(const uint32_t *list, size_t B, size_t b)
{
    size_t e = b + 1;
    while (e < B && list[e] == list[b])
        e++;
    return e;
}

/* Σ y and the log-sum-exp of z over rows [b, e). */
static void list_stats(const float *z, const float *y, size_t b, size_t e, double *ysum, double *lse)
{
    double mx = z[b], s = 0, ys = 0;
    for (size_t i = b; i < e; i++)
        mx = z[i] > mx ? z[i] : mx;
    for (size_t i = b; i < e; i++)
        s += exp((double)z[i] - mx), ys += y[i];
    *ysum = ys;
    *lse = mx + log(s);
}

double rs_list_softmax_forward(const float *z, const float *y, const uint32_t *list, size_t B, size_t *nlists)
{
    double loss = 0;
    *nlists = 0;
    for (size_t b = 0, e; b < B; b = e) {
        double ys, lse;
        e = list_end(list, B, b);
        list_stats(z, y, b, e, &ys, &lse);
        if (!(ys > 0))
            continue;
        for (size_t i = b; i < e; i++)
            loss -= y[i] / ys * ((double)z[i] - lse);
        ++*nlists;
    }
    return loss;
}

void rs_list_softmax_backward(float *dz, const float *z, const float *y, const uint32_t *list, size_t B,
                              float dloss)
{
    for (size_t b = 0, e; b < B; b = e) {
        double ys, lse;
        e = list_end(list, B, b);
        list_stats(z, y, b, e, &ys, &lse);
        if (!(ys > 0))
            continue;
        for (size_t i = b; i < e; i++)
            dz[i] += dloss * (float)(exp((double)z[i] - lse) - y[i] / ys);
    }
}

/* The in-batch softmax runs in blocks of INBATCH_ROWS rows dealt out to the
 * threads: rows [lo, hi) need only their own logits (forward), and their own
 * rows and columns of probs (backward). Each block is its own sgemm whatever
 * the thread count, since OpenBLAS rounds an element by the shape of the
 * product it sits in; row losses are summed in row order afterwards. At
 * B = 512, d = 64 on one thread, 128-row blocks cost 6.5% more time in these
 * sgemms than one product (64 rows: 13%), about 2% of a training step, and
 * leave four blocks for the threads. */
#define INBATCH_ROWS 128
struct inbatch_fwd {
    const struct rs_inbatch *s;
    float *probs;
    const float *u, *v, *neg;
    double *row_loss; /* (B) */
    size_t r0;        /* first row of the range */
};
struct inbatch_bwd {
    const struct rs_inbatch *s;
    const float *probs, *u, *v, *neg;
    float *du, *dv, *dneg, c;
    size_t r0, r1;    /* the row range */
};

/* The rows s computes: [row_lo, row_hi), or all B. */
static void inbatch_range(const struct rs_inbatch *s, size_t *r0, size_t *r1)
{
    int whole = s->row_lo == 0 && s->row_hi == 0;
    RS_ASSERT(whole || (s->row_lo <= s->row_hi && s->row_hi <= s->B));
    *r0 = whole ? 0 : s->row_lo;
    *r1 = whole ? s->B : s->row_hi;
}

/* Row i's logits in place: minus log q, and the positive's duplicates masked. */
RS_VEC static void inbatch_logits(float *z, const struct rs_inbatch *s, size_t i)
{
    size_t B = s->B, K = s->K;
    if (s->logq)
        for (size_t j = 0; j < B; j++)
            z[j] -= s->logq[j];
    if (s->item) {
        uint32_t pos = s->item[i];
        for (size_t j = 0; j < B; j++)
            z[j] = s->item[j] == pos && j != i ? -INFINITY : z[j];
    }
    for (size_t k = 0; k < K; k++) {
        if (s->neg_logq)
            z[B + k] -= s->neg_logq[i * K + k];
        if (s->item && s->neg_item && s->neg_item[i * K + k] == s->item[i])
            z[B + k] = -INFINITY;
    }
}

/* Rows [lo, hi) of one block. */
static void inbatch_forward_block(const struct inbatch_fwd *j, size_t lo, size_t hi)
{
    const struct rs_inbatch *s = j->s;
    size_t B = s->B, K = s->K, d = s->d, C = B + K;
    float it = 1.0f / s->tau;
    rs_sgemm(0, 1, hi - lo, B, d, it, j->u + lo * d, d, j->v, d, 0.0f, j->probs + lo * C, C);
    for (size_t i = lo; i < hi; i++) {
        float *z = j->probs + i * C, mx;
        if (K > 0)
            rs_sgemv(0, K, d, it, j->neg + i * K * d, d, j->u + i * d, 0.0f, z + B);
        inbatch_logits(z, s, i);
        float zi = z[i];
        double lse = softmax_row(z, z, C, &mx);
        j->row_loss[i] = lse - ((double)zi - mx);
    }
}

/* Blocks are counted from the range's first row. */
static void inbatch_forward_rows(void *arg, size_t lo, size_t hi, int tid)
{
    (void)tid;
    const struct inbatch_fwd *j = arg;
    lo += j->r0, hi += j->r0;
    for (size_t b = lo; b < hi; b += INBATCH_ROWS)
        inbatch_forward_block(j, b, hi - b < INBATCH_ROWS ? hi : b + INBATCH_ROWS);
}

double rs_inbatch_softmax_forward(float *probs, const struct rs_inbatch *s, const float *u,
                                  const float *v, const float *neg)
{
    size_t B = s->B, r0, r1;
    RS_ASSERT(s->tau > 0 && (s->K == 0 || neg));
    inbatch_range(s, &r0, &r1);
    if (r1 == r0)
        return 0;
    struct inbatch_fwd j = { s, probs, u, v, neg, xmalloc(B * sizeof(double)), r0 };
    rs_parallel_for_blocks(s->threads, r1 - r0, INBATCH_ROWS, inbatch_forward_rows, &j);
    double loss = 0;
    for (size_t i = r0; i < r1; i++)
        loss += j.row_loss[i];
    free(j.row_loss);
    return loss / (double)B;
}

/* Block [lo, hi) of one backward pass over rows [r0, r1): du and the
 * negatives of the rows of the block in the range, and dv of the items
 * [lo, hi) (column block [lo, hi) of probs, its rows in the range). */
static void inbatch_backward_block(const struct inbatch_bwd *j, size_t lo, size_t hi)
{
    const struct rs_inbatch *s = j->s;
    size_t B = s->B, K = s->K, d = s->d, C = B + K, n = hi - lo, r0 = j->r0, r1 = j->r1;
    size_t a = lo > r0 ? lo : r0, b = hi < r1 ? hi : r1; /* the block's rows in the range */
    float c = j->c;
    const float *P = j->probs;
    if (j->du && a < b) {
        rs_sgemm(0, 0, b - a, d, B, c, P + a * C, C, j->v, d, 1.0f, j->du + a * d, d);
        rs_saxpy((b - a) * d, -c, j->v + a * d, j->du + a * d);
        for (size_t i = a; i < b && K > 0; i++)
            rs_sgemv(1, K, d, c, j->neg + i * K * d, d, P + i * C + B, 1.0f, j->du + i * d);
    }
    if (j->dv && r1 > r0) {
        rs_sgemm(1, 0, n, d, r1 - r0, c, P + r0 * C + lo, C, j->u + r0 * d, d, 1.0f, j->dv + lo * d, d);
        if (a < b)
            rs_saxpy((b - a) * d, -c, j->u + a * d, j->dv + a * d);
    }
    if (j->dneg)
        for (size_t i = a; i < b; i++)
            for (size_t k = 0; k < K; k++)
                rs_saxpy(d, c * P[i * C + B + k], j->u + i * d, j->dneg + (i * K + k) * d);
}

static void inbatch_backward_rows(void *arg, size_t lo, size_t hi, int tid)
{
    (void)tid;
    for (size_t b = lo; b < hi; b += INBATCH_ROWS)
        inbatch_backward_block(arg, b, hi - b < INBATCH_ROWS ? hi : b + INBATCH_ROWS);
}

void rs_inbatch_softmax_backward(float *du, float *dv, float *dneg, const struct rs_inbatch *s,
                                 const float *probs, const float *u, const float *v,
                                 const float *neg, float dloss)
{
    if (s->B == 0)
        return;
    /* dlogits = c·(P - I) with c = dloss/B; logits = u·vᵀ/tau, so each
     * product carries c/tau. The identity part is applied row by row. */
    struct inbatch_bwd j = { s, probs, u, v, neg, du, dv, dneg, dloss / (float)s->B / s->tau, 0, 0 };
    inbatch_range(s, &j.r0, &j.r1);
    rs_parallel_for_blocks(s->threads, s->B, INBATCH_ROWS, inbatch_backward_rows, &j);
}

/* ---------------------------------------------------------------------------
 * Optimiser
 */

void rs_optim_init(struct rs_optim *o)
{
    o->lr = 1e-3f;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-8f;
    o->weight_decay = 0;
    o->sparse = RS_SPARSE_ADAM;
    o->lr_sparse = 0.05f;
    o->t = 0;
    o->threads = 1;
}

/* Adam on n consecutive floats; bc1/bc2 are the bias corrections 1 - beta^t. */
RS_VEC static void adam_span(const struct rs_optim *o, float *restrict w, const float *restrict g,
                          float *restrict m, float *restrict v, size_t n, float bc1, float bc2,
                          float decay)
{
    float b1 = o->beta1, b2 = o->beta2, lr = o->lr, eps = o->eps;
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        float mh = m[i] / bc1, vh = v[i] / bc2;
        w[i] -= lr * (mh / (sqrtf(vh) + eps) + decay * w[i]);
    }
}

/* Lazy Adam on the rows of a sparse table, in the form of Kingma & Ba 2015,
 * section 2 (before Algorithm 1): w -= lr·sqrt(bc2)/bc1 · m / (sqrt(v) + eps),
 * eps outside the bias correction, as PyTorch's SparseAdam and TF's LazyAdam.
 * While bc2 is small (the first few hundred steps) this eps is the larger
 * one, which damps rows whose gradients are tiny. */
RS_VEC static void lazy_adam_span(const struct rs_optim *o, float *restrict w, const float *restrict g,
                                  float *restrict m, float *restrict v, size_t n, float bc1, float bc2)
{
    float b1 = o->beta1, b2 = o->beta2, eps = o->eps, step = o->lr * sqrtf(bc2) / bc1;
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        w[i] -= step * (m[i] / (sqrtf(v[i]) + eps));
    }
}

RS_VEC static void adagrad_span(const struct rs_optim *o, float *restrict w, const float *restrict g,
                             float *restrict v, size_t n)
{
    float lr = o->lr_sparse, eps = o->eps;
    for (size_t i = 0; i < n; i++) {
        v[i] += g[i] * g[i];
        w[i] -= lr * g[i] / (sqrtf(v[i]) + eps);
    }
}

struct optim_job {
    const struct rs_optim *o;
    struct rs_params *p;
    float bc1, bc2;
};

/* Updates floats [off, off + n) of tensor t, the stretch at *pos of the
 * update sequence, where it overlaps [lo, hi); advances *pos by n. */
static void optim_span(const struct optim_job *j, const struct rs_tensor *t, size_t off, size_t n,
                       size_t *pos, size_t lo, size_t hi)
{
    size_t a = *pos > lo ? *pos : lo, b = *pos + n < hi ? *pos + n : hi;
    if (a < b) {
        const struct rs_optim *o = j->o;
        struct rs_params *p = j->p;
        size_t at = t->off + off + (a - *pos);
        if (!(t->flags & RS_PARAM_SPARSE))
            adam_span(o, p->w + at, p->g + at, p->m + at, p->v + at, b - a, j->bc1, j->bc2, o->weight_decay);
        else if (o->sparse == RS_SPARSE_ADAGRAD)
            adagrad_span(o, p->w + at, p->g + at, p->v + at, b - a);
        else
            lazy_adam_span(o, p->w + at, p->g + at, p->m + at, p->v + at, b - a, j->bc1, j->bc2);
    }
    *pos += n;
}

/* Floats [lo, hi) of the update sequence: each tensor in order, a dense one
 * whole, a sparse one its touched rows. */
static void optim_range(void *arg, size_t lo, size_t hi, int tid)
{
    (void)tid;
    const struct optim_job *j = arg;
    size_t pos = 0;
    for (size_t i = 0; i < j->p->n && pos < hi; i++) {
        const struct rs_tensor *t = &j->p->t[i];
        if (!(t->flags & RS_PARAM_SPARSE)) {
            optim_span(j, t, 0, t->rows * t->cols, &pos, lo, hi);
            continue;
        }
        for (size_t k = 0; k < t->n_touched && pos < hi; k++)
            optim_span(j, t, (size_t)t->touched[k] * t->cols, t->cols, &pos, lo, hi);
    }
}

void rs_optim_step(struct rs_optim *o, struct rs_params *p)
{
    o->t++;
    struct optim_job j = { o, p, (float)(1 - pow(o->beta1, (double)o->t)),
                           (float)(1 - pow(o->beta2, (double)o->t)) };
    size_t total = 0;
    for (size_t i = 0; i < p->n; i++) {
        const struct rs_tensor *t = &p->t[i];
        total += (t->flags & RS_PARAM_SPARSE ? t->n_touched : t->rows) * t->cols;
    }
    rs_parallel_for(o->threads, total, optim_range, &j);
}
