/* als.c - implicit ALS (Hu, Koren & Volinsky 2008) with the YᵀY Gram trick
 * and warm-started conjugate-gradient row solves (Takács, Pilászy & Tikk
 * 2011, as in the `implicit` library), or exact Cholesky solves.
 *
 * Row solve for x (one user; items likewise with the roles swapped), with the
 * row's stored items Y_u (n × f) and confidences c:
 *   A x = b,  A = G + Y_uᵀ diag(c − 1) Y_u,  G = YᵀY + λI,  b = Y_uᵀ c.
 * A CG step reads the row's vectors in place twice (t = Y_u q, then
 * Ap += Y_uᵀ t) with small vectorised kernels instead of BLAS calls.
 */
#include "model/als.h"
#include "prep/csr.h"
#include "core/dist.h"
#include "core/err.h"
#include "index/knn.h"
#include "core/rng.h"
#include "nn/tensor.h"
#include "core/threads.h"
#include "core/topk.h"
#include "core/vec16.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- weighting ---- */

/* idf_u = log N − log(1 + n_u) over the user rows of m (N = items). */
static double *user_idf(const struct rs_csr *m)
{
    double *idf = xmalloc((m->nrows ? m->nrows : 1) * sizeof *idf);
    for (size_t u = 0; u < m->nrows; u++)
        idf[u] = log((double)m->ncols) - log1p((double)(m->indptr[u + 1] - m->indptr[u]));
    return idf;
}

void rs_als_bm25(struct rs_csr *m, double k1, double b)
{
    double *idf = user_idf(m), *len = xcalloc(m->ncols ? m->ncols : 1, sizeof *len), avg = 0;
    for (size_t k = 0; k < m->nnz; k++)
        len[m->indices[k]] += m->data[k];
    for (size_t i = 0; i < m->ncols; i++)
        avg += len[i];
    avg = m->ncols ? avg / (double)m->ncols : 1;
    for (size_t u = 0; u < m->nrows; u++)
        for (uint64_t k = m->indptr[u]; k < m->indptr[u + 1]; k++) {
            double r = m->data[k], norm = (1 - b) + b * len[m->indices[k]] / avg;
            double w = r * (k1 + 1) / (k1 * norm + r) * idf[u];
            m->data[k] = w > 0 ? (float)w : 0.0f;
        }
    free(idf);
    free(len);
}

void rs_als_tfidf(struct rs_csr *m)
{
    double *idf = user_idf(m);
    for (size_t u = 0; u < m->nrows; u++)
        for (uint64_t k = m->indptr[u]; k < m->indptr[u + 1]; k++) {
            double w = sqrt(m->data[k]) * idf[u];
            m->data[k] = w > 0 ? (float)w : 0.0f;
        }
    free(idf);
}

void rs_als_confidence(struct rs_csr *m, int scale, double alpha, double eps)
{
    for (size_t k = 0; k < m->nnz; k++) {
        double r = m->data[k];
        m->data[k] = (float)(1 + alpha * (scale == RS_ALS_LOG ? log1p(r / eps) : r));
    }
}

/* ---- factors ---- */

static void fill_normal(float *v, size_t n, uint64_t seed, uint64_t stream)
{
    struct rs_rng g;
    rs_rng_init(&g, seed, stream);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(0.01 * rs_rng_normal(&g));
}

void rs_als_init(struct rs_als *m, size_t nusers, size_t nitems, int f, uint64_t seed)
{
    RS_ASSERT(f >= 1);
    m->nusers = nusers;
    m->nitems = nitems;
    m->f = f;
    m->x = xmalloc((nusers ? nusers : 1) * (size_t)f * sizeof *m->x);
    m->y = xmalloc((nitems ? nitems : 1) * (size_t)f * sizeof *m->y);
    fill_normal(m->x, nusers * (size_t)f, seed, 1);
    fill_normal(m->y, nitems * (size_t)f, seed, 2);
}

void rs_als_free(struct rs_als *m)
{
    free(m->x);
    free(m->y);
    m->x = m->y = NULL;
}

/* ---- fixed-block reductions: the same sums whatever the thread count ---- */

/* Rows per block for a reduction over n rows: at most 64 blocks. */
static size_t block_rows(size_t n)
{
    size_t b = (n + 63) / 64;
    return b < 4096 ? 4096 : b;
}

struct gram_ctx {
    const float *y;
    size_t n, rows;
    int f;
    float *part; /* nblocks × f × f */
};

static void gram_blocks(void *arg, size_t begin, size_t end, int tid)
{
    (void)tid;
    struct gram_ctx *c = arg;
    size_t ff = (size_t)c->f * (size_t)c->f;
    for (size_t b = begin; b < end; b++) {
        size_t r0 = b * c->rows, r1 = r0 + c->rows < c->n ? r0 + c->rows : c->n;
        rs_sgemm(1, 0, (size_t)c->f, (size_t)c->f, r1 - r0, 1.0f, c->y + r0 * (size_t)c->f,
                 (size_t)c->f, c->y + r0 * (size_t)c->f, (size_t)c->f, 0.0f, c->part + b * ff,
                 (size_t)c->f);
    }
}

/* g (f × f) = YᵀY for y (n × f). */
static void gram(float *g, const float *y, size_t n, int f, int threads)
{
    size_t ff = (size_t)f * (size_t)f, rows = block_rows(n), nb = (n + rows - 1) / rows;
    memset(g, 0, ff * sizeof *g);
    if (nb == 0)
        return;
    struct gram_ctx c = { y, n, rows, f, xmalloc(nb * ff * sizeof(float)) };
    rs_parallel_for(threads, nb, gram_blocks, &c);
    for (size_t b = 0; b < nb; b++)
        for (size_t k = 0; k < ff; k++)
            g[k] += c.part[b * ff + k];
    free(c.part);
}

/* ---- row solves ---- */

struct solve_ctx {
    float *x;       /* rows being solved: n × f */
    const float *y; /* fixed side: m × f */
    const struct rs_csr *c;
    const float *g; /* YᵀY + λI */
    const struct rs_als_params *p;
    int f;
    size_t longest;      /* most entries in a row */
    const size_t *bound; /* row ranges of the parts, one part per thread */
};

struct scratch {
    float *t, *r, *q, *ap; /* longest, f, f, f */
    float *yu, *w, *a;     /* Cholesky: longest × f, longest × f, f × f */
    double *l, *b;         /* Cholesky: f × f, f */
};

/* Gathers the row's fixed-side vectors into yu (n × f), for Cholesky. */
static void gather(const struct solve_ctx *c, const uint32_t *idx, size_t n, float *yu)
{
    size_t f = (size_t)c->f;
    for (size_t j = 0; j < n; j++)
        memcpy(yu + j * f, c->y + (size_t)idx[j] * f, f * sizeof *yu);
}

/* The CG inner loop's kernels, on rows y_j = base + idx[j]·f read in place
 * (idx NULL: row j). At f ≈ 64 a BLAS call costs more in overhead than in
 * arithmetic, so these are GCC vector-extension loops, 16 floats wide (one
 * AVX-512 register, two AVX2 ones), written to keep several independent
 * dependency chains in flight, in a fixed order: every ISA clone gives the
 * same bits (vec16.h). */
static inline const float *row(const float *base, const uint32_t *idx, size_t j, size_t f)
{
    return base + (idx ? (size_t)idx[j] : j) * f;
}

/* y_j · v, for one row, in the fixed lane order. */
static inline float dot16(const float *y, const float *v, size_t f)
{
    size_t f16 = f / 16 * 16;
    vf16 a = { 0 };
    for (size_t k = 0; k < f16; k += 16)
        a += LOAD16(y + k) * LOAD16(v + k);
    float s = HSUM16(a);
    for (size_t k = f16; k < f; k++)
        s += y[k] * v[k];
    return s;
}

/* s0..s3 = y0..y3 · v: the four rows share one horizontal sum (a fixed
 * shuffle tree that leaves row r's total in lane 4r, each lane's sum in
 * dot16's order, so each total equals dot16's). */
#define DOT4(y0, y1, y2, y3, v, f16, f, s0, s1, s2, s3) do {                                               \
    vf16 a0_ = { 0 }, a1_ = { 0 }, a2_ = { 0 }, a3_ = { 0 };                                               \
    for (size_t k_ = 0; k_ < f16; k_ += 16) {                                                              \
        vf16 w_ = LOAD16((v) + k_);                                                                        \
        a0_ += LOAD16((y0) + k_) * w_;                                                                     \
        a1_ += LOAD16((y1) + k_) * w_;                                                                     \
        a2_ += LOAD16((y2) + k_) * w_;                                                                     \
        a3_ += LOAD16((y3) + k_) * w_;                                                                     \
    }                                                                                                      \
    vf16 s01_ = __builtin_shufflevector(a0_, a1_, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) + \
                __builtin_shufflevector(a0_, a1_, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31); \
    vf16 s23_ = __builtin_shufflevector(a2_, a3_, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) + \
                __builtin_shufflevector(a2_, a3_, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31); \
    vf16 q_ = __builtin_shufflevector(s01_, s23_, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) + \
              __builtin_shufflevector(s01_, s23_, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31); \
    q_ += __builtin_shufflevector(q_, q_, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);           \
    q_ += __builtin_shufflevector(q_, q_, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);           \
    s0 = q_[0], s1 = q_[4], s2 = q_[8], s3 = q_[12];                                                       \
    for (size_t k_ = f16; k_ < f; k_++) {                                                                  \
        s0 += (y0)[k_] * (v)[k_];                                                                          \
        s1 += (y1)[k_] * (v)[k_];                                                                          \
        s2 += (y2)[k_] * (v)[k_];                                                                          \
        s3 += (y3)[k_] * (v)[k_];                                                                          \
    }                                                                                                      \
} while (0)

/* t[j] = y_j · v for j < n, four rows at a time. */
RS_VEC static void dots(float *restrict t, const float *base, const uint32_t *idx, size_t n,
                        const float *restrict v, size_t f)
{
    size_t j = 0, f16 = f / 16 * 16;
    for (; j + 4 <= n; j += 4)
        DOT4(row(base, idx, j, f), row(base, idx, j + 1, f), row(base, idx, j + 2, f), row(base, idx, j + 3, f),
             v, f16, f, t[j], t[j + 1], t[j + 2], t[j + 3]);
    for (; j < n; j++)
        t[j] = dot16(row(base, idx, j, f), v, f);
}

/* out[0..f) += Σ_j t[j] y_j, 64 columns at a time held in registers over j:
 * even and odd j in two sets of accumulators (halves the dependency chain),
 * added at the end. */
RS_VEC static void add_rows(float *restrict out, const float *base, const uint32_t *idx,
                            const float *restrict t, size_t n, size_t f)
{
    size_t f16 = f / 16 * 16;
    for (size_t k0 = 0; k0 < f16; k0 += 64) {
        size_t m = f16 - k0 < 64 ? (f16 - k0) / 16 : 4; /* vectors in this block */
        vf16 a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 }, b0 = { 0 }, b1 = { 0 }, b2 = { 0 }, b3 = { 0 };
        size_t j = 0;
        for (; j + 2 <= n; j += 2) {
            const float *y = row(base, idx, j, f) + k0, *z = row(base, idx, j + 1, f) + k0;
            float ty = t[j], tz = t[j + 1];
            a0 += ty * LOAD16(y);
            b0 += tz * LOAD16(z);
            if (m > 1) {
                a1 += ty * LOAD16(y + 16);
                b1 += tz * LOAD16(z + 16);
            }
            if (m > 2) {
                a2 += ty * LOAD16(y + 32);
                b2 += tz * LOAD16(z + 32);
            }
            if (m > 3) {
                a3 += ty * LOAD16(y + 48);
                b3 += tz * LOAD16(z + 48);
            }
        }
        if (j < n) {
            const float *y = row(base, idx, j, f) + k0;
            a0 += t[j] * LOAD16(y);
            if (m > 1)
                a1 += t[j] * LOAD16(y + 16);
            if (m > 2)
                a2 += t[j] * LOAD16(y + 32);
            if (m > 3)
                a3 += t[j] * LOAD16(y + 48);
        }
        vf16 sum[4] = { a0 + b0, a1 + b1, a2 + b2, a3 + b3 };
        for (size_t v = 0; v < m; v++) {
            vf16 o = LOAD16(out + k0 + 16 * v) + sum[v];
            memcpy(out + k0 + 16 * v, &o, sizeof o);
        }
    }
    for (size_t k = f16; k < f; k++) {
        float sum = 0;
        for (size_t j = 0; j < n; j++)
            sum += t[j] * row(base, idx, j, f)[k];
        out[k] += sum;
    }
}

RS_VEC static float dot(const float *a, const float *b, size_t n)
{
    return dot16(a, b, n);
}

/* Row j's weight from its dot product s = y_j · v (see fused_rows). */
static inline float cg_weight(float c, float s, int init)
{
    return init ? c - (c - 1.0f) * s : s * (c - 1.0f);
}

/* acc0..acc3 += t · y (f16 / 16 ≤ 4 vectors), and its tail columns into tail. */
#define ROW_ADD(y, t, f16, f, acc0, acc1, acc2, acc3) do {          \
    size_t m_ = (f16) / 16;                                         \
    if (m_ > 0)                                                     \
        acc0 += (t) * LOAD16(y);                                    \
    if (m_ > 1)                                                     \
        acc1 += (t) * LOAD16((y) + 16);                             \
    if (m_ > 2)                                                     \
        acc2 += (t) * LOAD16((y) + 32);                             \
    if (m_ > 3)                                                     \
        acc3 += (t) * LOAD16((y) + 48);                             \
    for (size_t q_ = f16; q_ < f; q_++)                             \
        tail[q_ - (f16)] += (t) * (y)[q_];                          \
} while (0)

/* out[0..f) += Σ_j t_j y_j with t_j = (c_j − 1)(y_j · v), or, with init,
 * t_j = c_j − (c_j − 1)(y_j · v): dots() then add_rows() fused into one pass
 * that reads each y_j once, for f ≤ 64. Every sum runs as in the two
 * passes (the same dot code; even and odd j in separate accumulators, added
 * at the end; tail columns over j in order), so the bits are theirs. */
static inline __attribute__((always_inline)) void fused_body(float *restrict out, const float *base,
                                                             const uint32_t *idx, const float *conf, size_t n,
                                                             const float *restrict v, size_t f, int init)
{
    size_t f16 = f / 16 * 16, j = 0;
    vf16 a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 }, b0 = { 0 }, b1 = { 0 }, b2 = { 0 }, b3 = { 0 };
    float tail[16] = { 0 };
    for (; j + 4 <= n; j += 4) {
        const float *y0 = row(base, idx, j, f), *y1 = row(base, idx, j + 1, f);
        const float *y2 = row(base, idx, j + 2, f), *y3 = row(base, idx, j + 3, f);
        float t0, t1, t2, t3;
        DOT4(y0, y1, y2, y3, v, f16, f, t0, t1, t2, t3);
        ROW_ADD(y0, cg_weight(conf[j], t0, init), f16, f, a0, a1, a2, a3);
        ROW_ADD(y1, cg_weight(conf[j + 1], t1, init), f16, f, b0, b1, b2, b3);
        ROW_ADD(y2, cg_weight(conf[j + 2], t2, init), f16, f, a0, a1, a2, a3);
        ROW_ADD(y3, cg_weight(conf[j + 3], t3, init), f16, f, b0, b1, b2, b3);
    }
    for (; j < n; j++) {
        const float *y = row(base, idx, j, f);
        float t = cg_weight(conf[j], dot16(y, v, f), init);
        if (j % 2 == 0)
            ROW_ADD(y, t, f16, f, a0, a1, a2, a3);
        else
            ROW_ADD(y, t, f16, f, b0, b1, b2, b3);
    }
    vf16 sum[4] = { a0 + b0, a1 + b1, a2 + b2, a3 + b3 };
    for (size_t k = 0; k < f16 / 16; k++) {
        vf16 o = LOAD16(out + 16 * k) + sum[k];
        memcpy(out + 16 * k, &o, sizeof o);
    }
    for (size_t k = f16; k < f; k++)
        out[k] += tail[k - f16];
}

/* fused_body, with a copy for f = 64 (the default) that has the constants
 * folded in: 7% of a sweep from the fusion, 10% from the copy. */
RS_VEC static void fused_rows(float *restrict out, const float *base, const uint32_t *idx,
                              const float *conf, size_t n, const float *restrict v, size_t f, int init)
{
    if (f == 64)
        fused_body(out, base, idx, conf, n, v, 64, init);
    else
        fused_body(out, base, idx, conf, n, v, f, init);
}

/* out += Σ_j cg_weight(c_j, y_j · v) y_j over the row's vectors. */
static void weighted_rows(const struct solve_ctx *c, struct scratch *s, const uint32_t *idx,
                          const float *conf, size_t n, const float *v, float *out, int init)
{
    size_t f = (size_t)c->f;
    if (f <= 64) {
        fused_rows(out, c->y, idx, conf, n, v, f, init);
        return;
    }
    dots(s->t, c->y, idx, n, v, f);
    for (size_t j = 0; j < n; j++)
        s->t[j] = cg_weight(conf[j], s->t[j], init);
    add_rows(out, c->y, idx, s->t, n, f);
}

/* out = A v with A = G + Y_uᵀ diag(c − 1) Y_u, never forming A:
 * t = (c − 1) ∘ Y_u v, out = G v + Y_uᵀ t. */
static void apply_a(const struct solve_ctx *c, struct scratch *s, const uint32_t *idx,
                    const float *conf, size_t n, const float *v, float *out)
{
    size_t f = (size_t)c->f;
    memset(out, 0, f * sizeof *out);
    add_rows(out, c->g, NULL, v, f, f); /* G symmetric: Σ_k v_k G_k = G v */
    weighted_rows(c, s, idx, conf, n, v, out, 0);
}

/* Warm-started CG from x, cg_steps steps (the `implicit` library's loop);
 * vectorised as a whole for the short f-length updates. */
RS_VEC static void solve_cg(const struct solve_ctx *c, struct scratch *s, const uint32_t *idx,
                            const float *conf, size_t n, float *x)
{
    size_t f = (size_t)c->f;
    /* r = b − A x = Y_uᵀ (c − (c − 1) ∘ Y_u x) − G x */
    for (size_t k = 0; k < f; k++)
        s->q[k] = -x[k];
    memset(s->r, 0, f * sizeof *s->r);
    add_rows(s->r, c->g, NULL, s->q, f, f);
    weighted_rows(c, s, idx, conf, n, x, s->r, 1);
    memcpy(s->q, s->r, f * sizeof *s->q);
    float rsold = dot(s->r, s->r, f);
    for (int step = 0; step < c->p->cg_steps && rsold > 1e-20f; step++) {
        apply_a(c, s, idx, conf, n, s->q, s->ap);
        float qaq = dot(s->q, s->ap, f);
        if (!(qaq > 0))
            break; /* A is positive definite; only rounding gets here */
        float a = rsold / qaq;
        for (size_t k = 0; k < f; k++) {
            x[k] += a * s->q[k];
            s->r[k] -= a * s->ap[k];
        }
        float rsnew = dot(s->r, s->r, f);
        for (size_t k = 0; k < f; k++)
            s->q[k] = s->r[k] + (rsnew / rsold) * s->q[k];
        rsold = rsnew;
    }
}

/* Solves L Lᵀ x = b in place of a (f × f, lower triangle used); returns -1
 * when a is not positive definite (λ = 0 and a rank-deficient row). */
static int cholesky_solve(double *a, double *b, size_t f)
{
    for (size_t j = 0; j < f; j++) {
        double d = a[j * f + j];
        for (size_t k = 0; k < j; k++)
            d -= a[j * f + k] * a[j * f + k];
        if (!(d > 0))
            return -1;
        d = sqrt(d);
        a[j * f + j] = d;
        for (size_t i = j + 1; i < f; i++) {
            double v = a[i * f + j];
            for (size_t k = 0; k < j; k++)
                v -= a[i * f + k] * a[j * f + k];
            a[i * f + j] = v / d;
        }
    }
    for (size_t i = 0; i < f; i++) {
        for (size_t k = 0; k < i; k++)
            b[i] -= a[i * f + k] * b[k];
        b[i] /= a[i * f + i];
    }
    for (size_t i = f; i-- > 0;) {
        for (size_t k = i + 1; k < f; k++)
            b[i] -= a[k * f + i] * b[k];
        b[i] /= a[i * f + i];
    }
    return 0;
}

static void solve_cholesky(const struct solve_ctx *c, struct scratch *s, const float *conf, size_t n,
                           float *x)
{
    size_t f = (size_t)c->f;
    memcpy(s->a, c->g, f * f * sizeof *s->a);
    if (n > 0) {
        /* A += Y_uᵀ diag(c − 1) Y_u with one sgemm on a scaled copy. */
        for (size_t j = 0; j < n; j++)
            for (size_t k = 0; k < f; k++)
                s->w[j * f + k] = (conf[j] - 1.0f) * s->yu[j * f + k];
        rs_sgemm(1, 0, f, f, n, 1.0f, s->yu, f, s->w, f, 1.0f, s->a, f);
        rs_sgemv(1, n, f, 1.0f, s->yu, f, conf, 0.0f, s->r);
    } else {
        memset(s->r, 0, f * sizeof *s->r);
    }
    for (size_t k = 0; k < f * f; k++)
        s->l[k] = s->a[k];
    for (size_t k = 0; k < f; k++)
        s->b[k] = s->r[k];
    /* A singular system (possible only with λ = 0) keeps the old row. */
    if (cholesky_solve(s->l, s->b, f) == 0)
        for (size_t k = 0; k < f; k++)
            x[k] = (float)s->b[k];
}

/* Solves rows bound[part] .. bound[part + 1) for parts [begin, end). */
static void solve_rows(void *arg, size_t part_begin, size_t part_end, int tid)
{
    (void)tid;
    const struct solve_ctx *c = arg;
    size_t f = (size_t)c->f, longest = c->longest ? c->longest : 1;
    size_t begin = c->bound[part_begin], end = c->bound[part_end];
    int chol = c->p->solver == RS_ALS_CHOLESKY;
    struct scratch s = {
        .t = xmalloc(longest * sizeof(float)),
        .r = xmalloc(f * sizeof(float)),
        .q = xmalloc(f * sizeof(float)),
        .ap = xmalloc(f * sizeof(float)),
        .yu = chol ? xmalloc(longest * f * sizeof(float)) : NULL,
        .w = chol ? xmalloc(longest * f * sizeof(float)) : NULL,
        .a = chol ? xmalloc(f * f * sizeof(float)) : NULL,
        .l = chol ? xmalloc(f * f * sizeof(double)) : NULL,
        .b = chol ? xmalloc(f * sizeof(double)) : NULL,
    };
    for (size_t u = begin; u < end; u++) {
        uint64_t b = c->c->indptr[u];
        size_t n = (size_t)(c->c->indptr[u + 1] - b);
        if (chol) {
            gather(c, c->c->indices + b, n, s.yu);
            solve_cholesky(c, &s, c->c->data + b, n, c->x + u * f);
        } else {
            solve_cg(c, &s, c->c->indices + b, c->c->data + b, n, c->x + u * f);
        }
    }
    free(s.yu);
    free(s.t);
    free(s.r);
    free(s.q);
    free(s.ap);
    free(s.w);
    free(s.a);
    free(s.l);
    free(s.b);
}

static size_t longest_row(const struct rs_csr *m)
{
    size_t longest = 0;
    for (size_t r = 0; r < m->nrows; r++)
        if (m->indptr[r + 1] - m->indptr[r] > longest)
            longest = (size_t)(m->indptr[r + 1] - m->indptr[r]);
    return longest;
}

/* bound[0 .. parts] cuts rows [r0, r1) of c into parts of equal work
 * (entries + f per row, for the G products) rather than equal rows: popular
 * items would otherwise load one part. */
static void cut_by_work(const struct rs_csr *c, int f, size_t r0, size_t r1, size_t parts, size_t *bound)
{
    uint64_t base = c->indptr[r0] + r0 * (uint64_t)f, total = c->indptr[r1] + r1 * (uint64_t)f - base;
    for (size_t t = 0, r = r0; t <= parts; t++) {
        uint64_t target = base + total * t / parts;
        while (r < r1 && c->indptr[r] + r * (uint64_t)f < target)
            r++;
        bound[t] = t == parts ? r1 : r;
    }
}

/* Solves every row of x (c->nrows × f) given y (c->ncols × f). Under mpirun
 * each rank solves its part of the rows and gathers the others' (core/dist.h):
 * rows are independent, so neither split changes a result. */
static void solve_side(float *x, const float *y, const struct rs_csr *c, int f,
                       const struct rs_als_params *p)
{
    float *g = xmalloc((size_t)f * (size_t)f * sizeof *g);
    gram(g, y, c->ncols, f, p->threads);
    for (int k = 0; k < f; k++)
        g[(size_t)k * (size_t)f + (size_t)k] += (float)p->lambda;
    size_t ranks = (size_t)rs_dist_size(), rank = (size_t)rs_dist_rank();
    size_t *rank_bound = xmalloc((ranks + 1) * sizeof *rank_bound);
    cut_by_work(c, f, 0, c->nrows, ranks, rank_bound);
    size_t r0 = rank_bound[rank], r1 = rank_bound[rank + 1], n = r1 - r0;
    size_t parts = (size_t)p->threads < n ? (size_t)p->threads : n ? n : 1;
    size_t *bound = xmalloc((parts + 1) * sizeof *bound);
    cut_by_work(c, f, r0, r1, parts, bound);
    struct solve_ctx ctx = { x, y, c, g, p, f, longest_row(c), bound };
    rs_parallel_for((int)parts, parts, solve_rows, &ctx);
    rs_dist_allgather_rows(x, rank_bound, (size_t)f * sizeof *x);
    free(rank_bound);
    free(bound);
    free(g);
}

void rs_als_sweep(struct rs_als *m, const struct rs_csr *cu, const struct rs_csr *ci,
                  const struct rs_als_params *p)
{
    RS_ASSERT(cu->nrows == m->nusers && cu->ncols == m->nitems);
    RS_ASSERT(ci->nrows == m->nitems && ci->ncols == m->nusers);
    RS_ASSERT(p->cg_steps >= 1 && p->threads >= 1 && p->lambda >= 0);
    solve_side(m->x, m->y, cu, m->f, p);
    solve_side(m->y, m->x, ci, m->f, p);
}

/* ---- loss ---- */

struct loss_ctx {
    const struct rs_als *m;
    const struct rs_csr *c;
    const float *g; /* YᵀY */
    size_t rows, longest;
    double *part; /* per block */
};

/* Σ_i c (p − s)² over all items of a user = x Gx + Σ_stored [c (1 − s)² − s²]. */
static void loss_blocks(void *arg, size_t begin, size_t end, int tid)
{
    (void)tid;
    struct loss_ctx *c = arg;
    size_t f = (size_t)c->m->f;
    float *gx = xmalloc(f * sizeof *gx), *t = xmalloc((c->longest ? c->longest : 1) * sizeof *t);
    for (size_t b = begin; b < end; b++) {
        size_t u0 = b * c->rows, u1 = u0 + c->rows < c->m->nusers ? u0 + c->rows : c->m->nusers;
        double sum = 0;
        for (size_t u = u0; u < u1; u++) {
            const float *x = c->m->x + u * f;
            uint64_t k0 = c->c->indptr[u];
            size_t n = (size_t)(c->c->indptr[u + 1] - k0);
            dots(gx, c->g, NULL, f, x, f);
            sum += dot(x, gx, f);
            dots(t, c->m->y, c->c->indices + k0, n, x, f);
            for (size_t j = 0; j < n; j++) {
                double s = t[j], cf = c->c->data[k0 + j];
                sum += cf * (1 - s) * (1 - s) - s * s;
            }
        }
        c->part[b] = sum;
    }
    free(gx);
    free(t);
}

static double sum_squares(const float *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)v[i] * v[i];
    return s;
}

double rs_als_loss(const struct rs_als *m, const struct rs_csr *cu, double lambda, int threads)
{
    size_t f = (size_t)m->f, rows = block_rows(m->nusers), nb = (m->nusers + rows - 1) / rows;
    float *g = xmalloc(f * f * sizeof *g);
    gram(g, m->y, m->nitems, m->f, threads);
    struct loss_ctx c = { m, cu, g, rows, longest_row(cu), xcalloc(nb ? nb : 1, sizeof(double)) };
    rs_parallel_for(threads, nb, loss_blocks, &c);
    double loss = 0;
    for (size_t b = 0; b < nb; b++)
        loss += c.part[b];
    free(c.part);
    free(g);
    return loss + lambda * (sum_squares(m->x, m->nusers * f) + sum_squares(m->y, m->nitems * f));
}

/* ---- recommendation ---- */

/* Item at row r of the search: order[r], or r itself without an order. */
static size_t item_at(const uint32_t *order, size_t r)
{
    return order ? order[r] : r;
}

/* The item vectors in the order given, with row[item] = its row; NULL (and
 * *row NULL) without an order. */
static float *ordered_rows(const struct rs_als *m, const uint32_t *order, uint32_t **row)
{
    size_t f = (size_t)m->f, ni = m->nitems;
    *row = NULL;
    if (!order)
        return NULL;
    float *y = xmalloc((ni ? ni : 1) * f * sizeof *y);
    *row = xmalloc((ni ? ni : 1) * sizeof **row);
    for (size_t r = 0; r < ni; r++) {
        (*row)[order[r]] = (uint32_t)r;
        memcpy(y + r * f, m->y + (size_t)order[r] * f, f * sizeof *y);
    }
    return y;
}

/* The known users' vectors (xq, nk × f) and, with seen, their items as
 * sorted search rows (ex, from offsets off). Returns nk. */
static size_t known_queries(const struct rs_als *m, const int64_t *users, size_t nq, const struct rs_csr *seen,
                            const uint32_t *row, float **xq, size_t **off, uint32_t **ex)
{
    size_t f = (size_t)m->f, nk = 0, nex = 0;
    for (size_t q = 0; q < nq; q++)
        if (users[q] >= 0) {
            nk++;
            if (seen)
                nex += (size_t)(seen->indptr[users[q] + 1] - seen->indptr[users[q]]);
        }
    *xq = xmalloc((nk ? nk : 1) * f * sizeof **xq);
    *off = xmalloc((nk + 1) * sizeof **off);
    *ex = xmalloc((nex ? nex : 1) * sizeof **ex);
    (*off)[0] = 0;
    for (size_t q = 0, j = 0; q < nq; q++) {
        if (users[q] < 0)
            continue;
        size_t u = (size_t)users[q], n = 0;
        memcpy(*xq + j * f, m->x + u * f, f * sizeof **xq);
        if (seen) {
            n = (size_t)(seen->indptr[u + 1] - seen->indptr[u]);
            uint32_t *e = *ex + (*off)[j];
            for (size_t t = 0; t < n; t++)
                e[t] = row ? row[seen->indices[seen->indptr[u] + t]] : seen->indices[seen->indptr[u] + t];
            if (row)
                rs_knn_sort_excl(e, n);
        }
        (*off)[j + 1] = (*off)[j] + n;
        j++;
    }
    return nk;
}

void rs_als_recommend(const struct rs_als *m, const uint32_t *order, const int64_t *users, size_t nq, size_t k,
                      const struct rs_csr *seen, const float *popularity, int threads, int64_t *ids,
                      float *scores, size_t *counts)
{
    RS_ASSERT(k >= 1);
    size_t f = (size_t)m->f;
    uint32_t *row, *ex;
    float *yo = ordered_rows(m, order, &row), *xq;
    size_t *off, nk = known_queries(m, users, nq, seen, row, &xq, &off, &ex);
    /* Known users: one exact search (knn.h) over their vectors and seen lists. */
    struct rs_knn_filter filter = { NULL, off, ex, NULL };
    int64_t *kid = xmalloc((nk ? nk : 1) * k * sizeof *kid);
    float *ksc = xmalloc((nk ? nk : 1) * k * sizeof *ksc);
    size_t *kcount = xmalloc((nk ? nk : 1) * sizeof *kcount);
    rs_knn_search(xq, nk, yo ? yo : m->y, m->nitems, f, k, &filter, threads, kid, ksc, kcount);

    struct rs_topk pop;
    rs_topk_init(&pop, k);
    for (size_t r = 0; r < m->nitems; r++)
        rs_topk_push(&pop, popularity[item_at(order, r)], (int64_t)r);
    size_t pop_n = rs_topk_sort(&pop);
    for (size_t q = 0, j = 0; q < nq; q++) {
        int known = users[q] >= 0;
        const int64_t *got = known ? kid + j * k : pop.id;
        counts[q] = known ? kcount[j] : pop_n;
        for (size_t r = 0; r < counts[q]; r++)
            ids[q * k + r] = (int64_t)item_at(order, (size_t)got[r]);
        memcpy(scores + q * k, known ? ksc + j * k : pop.score, counts[q] * sizeof *scores);
        j += (size_t)known;
    }
    rs_topk_free(&pop);
    free(yo);
    free(row);
    free(xq);
    free(off);
    free(ex);
    free(kid);
    free(ksc);
    free(kcount);
}
