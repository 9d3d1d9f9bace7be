/* pq4.c - 4-bit PQ with the anisotropic loss, packing, lookup tables and
 * the fast-scan kernels (see pq4.h).
 *
 * Training: k-means per sub-space (kmeans.h) on a sample of residuals, then
 * rounds of (encode under the anisotropic loss; move each centroid to the
 * minimiser of the loss of its items, the others fixed). With e = r − ĉ the
 * loss of an item is ‖e‖² + (η−1)(e·u)², u = x/‖x‖; the part of e·u outside
 * sub-space s is a constant p, so centroid c of sub-space s solves the
 * dsub × dsub system
 *   Σ_i (I + (η_i−1) u_i u_iᵀ) c = Σ_i r_i + (η_i−1)(p_i + r_i·u_i) u_i
 * over its items i (sub-vectors of sub-space s). Encoding starts from the
 * nearest centroid of each sub-space and then makes coordinate-descent passes
 * over the sub-spaces on the full loss.
 */
#include "index/pq4.h"
#include "core/err.h"
#include "core/rng.h"
#include "core/threads.h"
#include "index/kmeans.h"

#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PQ4_SAMPLE 65536
#define PQ4_ITERS 8
#define PQ4_PASSES 3      /* coordinate-descent passes of the encoder */
#define PQ4_MAX_DSUB 64
#define PQ4_ENCODE_BLOCK 4096

int rs_pq4_init(struct rs_pq4 *pq, size_t d, size_t dsub, const float *codebooks)
{
    if (dsub == 0 || dsub > PQ4_MAX_DSUB || d == 0)
        return rs_err_set(RS_ERR_USAGE, "pq4: sub-spaces of %zu dims (1..%d)", dsub, PQ4_MAX_DSUB);
    size_t m = (d + dsub - 1) / dsub;
    if (m > RS_PQ4_MAX_M)
        return rs_err_set(RS_ERR_USAGE, "pq4: %zu dims in sub-spaces of %zu make %zu sub-spaces (at most %d)",
                          d, dsub, m, RS_PQ4_MAX_M);
    pq->d = d;
    pq->dsub = dsub;
    pq->m = m;
    pq->mpad = (m + 3) / 4 * 4;
    pq->codebooks = codebooks;
    return 0;
}

size_t rs_pq4_block_bytes(const struct rs_pq4 *pq) { return 16 * pq->mpad; }

size_t rs_pq4_dsub_for(size_t d, size_t want)
{
    size_t least = (d + RS_PQ4_MAX_M - 1) / RS_PQ4_MAX_M;
    return want > least ? want : least;
}

/* η of the anisotropic loss for an item of squared norm n2 (Guo et al.,
 * Theorem 3.3 with the approximation ScaNN uses); 1 when T is 0, and never
 * below 1: a T small for the norm would otherwise weigh the parallel error
 * less than the orthogonal one, the opposite of the loss's point. */
static double eta(double threshold, double n2, size_t d)
{
    if (threshold <= 0 || n2 <= 0)
        return 1;
    double t2 = threshold * threshold / n2;
    t2 = t2 > 0.999 ? 0.999 : t2; /* T above ‖x‖: weigh the parallel error, but finitely */
    double e = (double)(d - 1) * t2 / (1 - t2);
    return e > 1 ? e : 1;
}

/* Residual r and direction u of one item, zero-padded to m · dsub. */
static double residual(const struct rs_pq4 *pq, const float *x, const float *c, float *r, float *u)
{
    size_t dp = pq->m * pq->dsub;
    double n2 = 0;
    for (size_t j = 0; j < pq->d; j++)
        n2 += (double)x[j] * x[j];
    float inv = n2 > 0 ? (float)(1 / sqrt(n2)) : 0;
    for (size_t j = 0; j < dp; j++) {
        r[j] = j < pq->d ? x[j] - c[j] : 0;
        u[j] = j < pq->d ? x[j] * inv : 0;
    }
    return n2;
}

/* Codebooks transposed to m × dsub × 16, so the encoder's loops over the 16
 * centroids are contiguous (and vectorise). */
static float *transpose_codebooks(const struct rs_pq4 *pq, const float *cb)
{
    size_t ds = pq->dsub;
    float *t = xmalloc(pq->m * ds * RS_PQ4_K * sizeof *t);
    for (size_t s = 0; s < pq->m; s++)
        for (size_t k = 0; k < RS_PQ4_K; k++)
            for (size_t j = 0; j < ds; j++)
                t[(s * ds + j) * RS_PQ4_K + k] = cb[(s * RS_PQ4_K + k) * ds + j];
    return t;
}

/* Lowest of 16 losses, ties to the lower code. */
static int argmin16(const float *a)
{
    int best = 0;
    for (int k = 1; k < RS_PQ4_K; k++)
        if (a[k] < a[best])
            best = k;
    return best;
}

/* Codes of one item (r, u padded) under the loss with η − 1 = w, from the
 * transposed codebooks cbt; e2 and eu (m × 16 each) are scratch: ‖e‖² and
 * e·u of every (sub-space, code). */
__attribute__((optimize("O3"), target_clones("avx2", "default")))
static void encode_one(const struct rs_pq4 *pq, const float *cbt, const float *r, const float *u, float w,
                       uint8_t *code, float *e2, float *eu)
{
    size_t ds = pq->dsub;
    float p = 0, loss[RS_PQ4_K];
    for (size_t s = 0; s < pq->m; s++) {
        float *a = e2 + s * RS_PQ4_K, *b = eu + s * RS_PQ4_K;
        for (size_t k = 0; k < RS_PQ4_K; k++)
            a[k] = b[k] = 0;
        for (size_t j = 0; j < ds; j++) {
            const float *cw = cbt + (s * ds + j) * RS_PQ4_K;
            float rj = r[s * ds + j], uj = u[s * ds + j];
            for (size_t k = 0; k < RS_PQ4_K; k++) {
                float e = rj - cw[k];
                a[k] += e * e;
                b[k] += e * uj;
            }
        }
        code[s] = (uint8_t)argmin16(a);
        p += b[code[s]];
    }
    for (int pass = 0; w != 0 && pass < PQ4_PASSES; pass++) {
        for (size_t s = 0; s < pq->m; s++) {
            const float *a = e2 + s * RS_PQ4_K, *b = eu + s * RS_PQ4_K;
            float rest = p - b[code[s]];
            for (size_t k = 0; k < RS_PQ4_K; k++)
                loss[k] = a[k] + w * (rest + b[k]) * (rest + b[k]);
            code[s] = (uint8_t)argmin16(loss);
            p = rest + b[code[s]];
        }
    }
}

struct encode_ctx {
    const struct rs_pq4 *pq;
    /* cbt: transposed codebooks; x, c, assign: items; or r, u, w: a padded sample */
    const float *cbt, *x, *c, *r, *u;
    const int32_t *assign;
    const double *w; /* per-row η − 1 with r, u */
    double threshold;
    uint8_t *codes;
};

static void encode_chunk(void *vctx, size_t begin, size_t end, int tid)
{
    (void)tid;
    const struct encode_ctx *e = vctx;
    const struct rs_pq4 *pq = e->pq;
    size_t dp = pq->m * pq->dsub;
    float *r = xmalloc(2 * dp * sizeof *r), *u = r + dp;
    float *e2 = xmalloc(2 * pq->m * RS_PQ4_K * sizeof *e2), *eu = e2 + pq->m * RS_PQ4_K;
    for (size_t i = begin; i < end; i++) {
        float w;
        if (e->r) {
            memcpy(r, e->r + i * dp, dp * sizeof *r);
            memcpy(u, e->u + i * dp, dp * sizeof *u);
            w = (float)e->w[i];
        } else {
            double n2 = residual(pq, e->x + i * pq->d, e->c + (size_t)e->assign[i] * pq->d, r, u);
            w = (float)(eta(e->threshold, n2, pq->d) - 1);
        }
        encode_one(pq, e->cbt, r, u, w, e->codes + i * pq->m, e2, eu);
    }
    free(r);
    free(e2);
}

void rs_pq4_encode(const struct rs_pq4 *pq, const float *x, const float *c, const int32_t *assign,
                   size_t n, double threshold, int threads, uint8_t *codes)
{
    float *cbt = transpose_codebooks(pq, pq->codebooks);
    struct encode_ctx e = { pq, cbt, x, c, NULL, NULL, assign, NULL, threshold, codes };
    rs_parallel_for_blocks(threads, n, PQ4_ENCODE_BLOCK, encode_chunk, &e);
    free(cbt);
}

/* Solves A y = b (n × n, symmetric positive definite up to rounding) by
 * Gaussian elimination with partial pivoting; returns 0 when singular. */
static int solve(double *A, double *b, size_t n)
{
    for (size_t col = 0; col < n; col++) {
        size_t piv = col;
        for (size_t i = col + 1; i < n; i++)
            if (fabs(A[i * n + col]) > fabs(A[piv * n + col]))
                piv = i;
        if (fabs(A[piv * n + col]) < 1e-12)
            return 0;
        for (size_t j = 0; j < n; j++) {
            double t = A[col * n + j];
            A[col * n + j] = A[piv * n + j];
            A[piv * n + j] = t;
        }
        double t = b[col];
        b[col] = b[piv];
        b[piv] = t;
        for (size_t i = col + 1; i < n; i++) {
            double f = A[i * n + col] / A[col * n + col];
            for (size_t j = col; j < n; j++)
                A[i * n + j] -= f * A[col * n + j];
            b[i] -= f * b[col];
        }
    }
    for (size_t i = n; i-- > 0;) {
        for (size_t j = i + 1; j < n; j++)
            b[i] -= A[i * n + j] * b[j];
        b[i] /= A[i * n + i];
    }
    return 1;
}

/* e·u in sub-space s of sample row i with centroid k. */
static double sub_eu(const struct rs_pq4 *pq, const float *cb, const float *r, const float *u, size_t s, int k)
{
    const float *cw = cb + (s * RS_PQ4_K + (size_t)k) * pq->dsub;
    double t = 0;
    for (size_t j = 0; j < pq->dsub; j++)
        t += (double)(r[s * pq->dsub + j] - cw[j]) * u[s * pq->dsub + j];
    return t;
}

/* One round of centroid updates, sub-space by sub-space (see the top). */
static void update_centroids(const struct rs_pq4 *pq, float *cb, const float *R, const float *U,
                             const double *w, size_t ns, const uint8_t *codes)
{
    size_t ds = pq->dsub, dp = pq->m * ds;
    double *p = xcalloc(ns, sizeof *p);
    for (size_t i = 0; i < ns; i++)
        for (size_t s = 0; s < pq->m; s++)
            p[i] += sub_eu(pq, cb, R + i * dp, U + i * dp, s, codes[i * pq->m + s]);
    double *A = xmalloc(RS_PQ4_K * ds * (ds + 1) * sizeof *A), *b = A + RS_PQ4_K * ds * ds;
    for (size_t s = 0; s < pq->m; s++) {
        memset(A, 0, RS_PQ4_K * ds * (ds + 1) * sizeof *A);
        for (size_t i = 0; i < ns; i++) {
            int k = codes[i * pq->m + s];
            const float *r = R + i * dp + s * ds, *u = U + i * dp + s * ds;
            double rest = p[i] - sub_eu(pq, cb, R + i * dp, U + i * dp, s, k), ru = 0;
            for (size_t j = 0; j < ds; j++)
                ru += (double)r[j] * u[j];
            double *Ak = A + (size_t)k * ds * ds, *bk = b + (size_t)k * ds;
            for (size_t j = 0; j < ds; j++) {
                Ak[j * ds + j] += 1;
                for (size_t l = 0; l < ds; l++)
                    Ak[j * ds + l] += w[i] * u[j] * u[l];
                bk[j] += r[j] + w[i] * (rest + ru) * u[j];
            }
            p[i] = rest; /* completed below with the new centroid */
        }
        for (int k = 0; k < RS_PQ4_K; k++)
            if (solve(A + (size_t)k * ds * ds, b + (size_t)k * ds, ds))
                for (size_t j = 0; j < ds; j++)
                    cb[(s * RS_PQ4_K + (size_t)k) * ds + j] = (float)b[(size_t)k * ds + j];
        for (size_t i = 0; i < ns; i++)
            p[i] += sub_eu(pq, cb, R + i * dp, U + i * dp, s, codes[i * pq->m + s]);
    }
    free(A);
    free(p);
}

/* Plain k-means codebooks, sub-space by sub-space. */
static int kmeans_codebooks(const struct rs_pq4 *pq, const float *R, size_t ns, const struct rs_pq4_train_opts *o,
                            float *cb)
{
    size_t ds = pq->dsub, dp = pq->m * ds, k = ns < RS_PQ4_K ? ns : RS_PQ4_K;
    float *sub = xmalloc(ns * ds * sizeof *sub);
    int rc = 0;
    for (size_t s = 0; s < pq->m && rc == 0; s++) {
        for (size_t i = 0; i < ns; i++)
            memcpy(sub + i * ds, R + i * dp + s * ds, ds * sizeof *sub);
        struct rs_kmeans_opts ko;
        rs_kmeans_defaults(&ko);
        ko.k = k;
        ko.max_iter = 25;
        ko.seed = o->seed + s;
        ko.threads = o->threads;
        float *cw = cb + s * RS_PQ4_K * ds;
        rc = rs_kmeans_fit(sub, ns, ds, &ko, cw, NULL, NULL, NULL);
        for (size_t j = k; j < RS_PQ4_K; j++) /* fewer items than centroids: repeat one */
            memcpy(cw + j * ds, cw, ds * sizeof *cw);
    }
    free(sub);
    return rc;
}

int rs_pq4_train(const struct rs_pq4 *pq, const float *x, const float *c, const int32_t *assign,
                 size_t n, const struct rs_pq4_train_opts *o, float *codebooks)
{
    if (n == 0)
        return rs_err_set(RS_ERR_USAGE, "pq4: no items to train on");
    size_t ns = o->sample ? o->sample : PQ4_SAMPLE, dp = pq->m * pq->dsub;
    ns = ns > n ? n : ns;
    uint32_t *idx = xmalloc(n * sizeof *idx);
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    struct rs_rng g;
    rs_rng_init(&g, o->seed, 2000);
    rs_rng_shuffle_u32(&g, idx, n);
    float *R = xmalloc(2 * ns * dp * sizeof *R), *U = R + ns * dp;
    double *w = xmalloc(ns * sizeof *w);
    for (size_t i = 0; i < ns; i++) {
        size_t it = idx[i];
        w[i] = eta(o->threshold, residual(pq, x + it * pq->d, c + (size_t)assign[it] * pq->d, R + i * dp,
                                          U + i * dp), pq->d) - 1;
    }
    free(idx);
    int rc = kmeans_codebooks(pq, R, ns, o, codebooks);
    if (rc == 0 && o->threshold > 0) {
        struct rs_pq4 q = *pq;
        q.codebooks = codebooks;
        uint8_t *codes = xmalloc(ns * pq->m);
        for (int it = 0; it < (o->iters > 0 ? o->iters : PQ4_ITERS); it++) {
            float *cbt = transpose_codebooks(&q, codebooks);
            struct encode_ctx e = { &q, cbt, NULL, NULL, R, U, NULL, w, o->threshold, codes };
            rs_parallel_for_blocks(o->threads, ns, PQ4_ENCODE_BLOCK, encode_chunk, &e);
            free(cbt);
            update_centroids(&q, codebooks, R, U, w, ns, codes);
        }
        free(codes);
    }
    free(R);
    free(w);
    return rc;
}

void rs_pq4_pack(const struct rs_pq4 *pq, const uint8_t *codes, size_t n, uint8_t *blocks)
{
    size_t bb = rs_pq4_block_bytes(pq), nb = (n + RS_PQ4_BLOCK - 1) / RS_PQ4_BLOCK;
    memset(blocks, 0, nb * bb);
    for (size_t i = 0; i < n; i++) {
        uint8_t *blk = blocks + i / RS_PQ4_BLOCK * bb;
        size_t j = i % RS_PQ4_BLOCK;
        for (size_t s = 0; s < pq->m; s++)
            blk[16 * s + j % 16] |= (uint8_t)(codes[i * pq->m + s] << (j < 16 ? 0 : 4));
    }
}

void rs_pq4_lut(const struct rs_pq4 *pq, const float *q, uint8_t *lut, float *bias, float *delta)
{
    size_t ds = pq->dsub;
    float f[RS_PQ4_MAX_M * RS_PQ4_K], lo[RS_PQ4_MAX_M], range = 0;
    double sum_lo = 0;
    for (size_t s = 0; s < pq->m; s++) {
        float mn = INFINITY, mx = -INFINITY;
        for (size_t k = 0; k < RS_PQ4_K; k++) {
            const float *cw = pq->codebooks + (s * RS_PQ4_K + k) * ds;
            float t = 0;
            for (size_t j = 0; j < ds && s * ds + j < pq->d; j++)
                t += q[s * ds + j] * cw[j];
            f[s * RS_PQ4_K + k] = t;
            mn = t < mn ? t : mn;
            mx = t > mx ? t : mx;
        }
        lo[s] = mn;
        sum_lo += mn;
        range = mx - mn > range ? mx - mn : range;
    }
    float step = range > 0 ? range / 255 : 1;
    memset(lut, 0, pq->mpad * RS_PQ4_K);
    for (size_t s = 0; s < pq->m; s++)
        for (size_t k = 0; k < RS_PQ4_K; k++) {
            long v = lrintf((f[s * RS_PQ4_K + k] - lo[s]) / step);
            lut[s * RS_PQ4_K + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    *bias = (float)sum_lo;
    *delta = step;
}

/* ---- kernels ---- */

static void scan_scalar(const uint8_t *blocks, size_t nblocks, const uint8_t *lut, size_t mpad, uint16_t *acc)
{
    for (size_t b = 0; b < nblocks; b++) {
        const uint8_t *blk = blocks + b * 16 * mpad;
        uint16_t *o = acc + b * RS_PQ4_BLOCK;
        memset(o, 0, RS_PQ4_BLOCK * sizeof *o);
        for (size_t s = 0; s < mpad; s++)
            for (size_t j = 0; j < 16; j++) {
                o[j] += lut[16 * s + (blk[16 * s + j] & 15)];
                o[j + 16] += lut[16 * s + (blk[16 * s + j] >> 4)];
            }
    }
}

/* Sums are kept as uint16 pairs: v (a shuffle's 16 bytes seen as 8 uint16)
 * adds even + 256·odd items mod 2¹⁶ into ev, v >> 8 adds the odd ones into
 * od; at the end even = ev − 256·od mod 2¹⁶, exact because every sum is
 * below 2¹⁶ (RS_PQ4_MAX_M). Sums mod 2¹⁶ add, so the 128-bit lanes (one
 * sub-space each) may be added before that subtraction. */
__attribute__((target("avx2")))
static inline __m128i lanes_sum(__m256i v)
{
    return _mm_add_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
}

/* Stores a block's 32 sums from the even/odd sums of items 0..15 (lo) and
 * 16..31 (hi), two lanes each. */
__attribute__((target("avx2")))
static inline void store_block(__m256i ev_lo, __m256i od_lo, __m256i ev_hi, __m256i od_hi, uint16_t *o)
{
    __m128i ol = lanes_sum(od_lo), oh = lanes_sum(od_hi);
    __m128i el = _mm_sub_epi16(lanes_sum(ev_lo), _mm_slli_epi16(ol, 8));
    __m128i eh = _mm_sub_epi16(lanes_sum(ev_hi), _mm_slli_epi16(oh, 8));
    _mm_storeu_si128((__m128i *)o, _mm_unpacklo_epi16(el, ol));
    _mm_storeu_si128((__m128i *)(o + 8), _mm_unpackhi_epi16(el, ol));
    _mm_storeu_si128((__m128i *)(o + 16), _mm_unpacklo_epi16(eh, oh));
    _mm_storeu_si128((__m128i *)(o + 24), _mm_unpackhi_epi16(eh, oh));
}

/* Four sub-spaces per 512-bit register: its halves are added, then as AVX2. */
__attribute__((target("avx512f,avx512bw")))
static inline __m256i halves_sum(__m512i v)
{
    return _mm256_add_epi16(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}

#define AS_256(v) (v)

/* The kernel for registers of BITS bits (intrinsics prefix P), BITS / 128
 * sub-spaces a step, one per 128-bit lane; TO_256 brings a sum to 256 bits. */
#define SCAN_SIMD(NAME, TARGET, P, BITS, TO_256)                                                       \
    __attribute__((target(TARGET))) static void NAME(const uint8_t *blocks, size_t nblocks,           \
                                                     const uint8_t *lut, size_t mpad, uint16_t *acc)  \
    {                                                                                                \
        const __m##BITS##i nib = P##_set1_epi8(0x0f);                                                \
        for (size_t b = 0; b < nblocks; b++) {                                                       \
            const uint8_t *blk = blocks + b * 16 * mpad;                                             \
            __m##BITS##i ev_lo = P##_setzero_si##BITS(), od_lo = ev_lo, ev_hi = ev_lo, od_hi = ev_lo; \
            for (size_t s = 0; s < mpad; s += BITS / 128) {                                          \
                __m##BITS##i c = P##_loadu_si##BITS((const void *)(blk + 16 * s));                   \
                __m##BITS##i t = P##_loadu_si##BITS((const void *)(lut + 16 * s));                   \
                __m##BITS##i lo = P##_shuffle_epi8(t, P##_and_si##BITS(c, nib));                     \
                __m##BITS##i hi = P##_shuffle_epi8(t, P##_and_si##BITS(P##_srli_epi16(c, 4), nib));   \
                ev_lo = P##_add_epi16(ev_lo, lo);                                                    \
                od_lo = P##_add_epi16(od_lo, P##_srli_epi16(lo, 8));                                 \
                ev_hi = P##_add_epi16(ev_hi, hi);                                                    \
                od_hi = P##_add_epi16(od_hi, P##_srli_epi16(hi, 8));                                 \
            }                                                                                        \
            store_block(TO_256(ev_lo), TO_256(od_lo), TO_256(ev_hi), TO_256(od_hi),                  \
                        acc + b * RS_PQ4_BLOCK);                                                     \
        }                                                                                            \
    }

SCAN_SIMD(scan_avx2, "avx2", _mm256, 256, AS_256)
SCAN_SIMD(scan_avx512bw, "avx512f,avx512bw", _mm512, 512, halves_sum)

typedef void (*scan_fn)(const uint8_t *, size_t, const uint8_t *, size_t, uint16_t *);

static const struct {
    const char *name;
    scan_fn fn;
} kernels[] = {
    [RS_PQ4_SCALAR] = { "scalar", scan_scalar },
    [RS_PQ4_AVX2] = { "avx2", scan_avx2 },
    [RS_PQ4_AVX512BW] = { "avx512bw", scan_avx512bw },
};

static int supported(enum rs_pq4_kernel k)
{
    __builtin_cpu_init();
    switch (k) {
    case RS_PQ4_AVX512BW: return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512f");
    case RS_PQ4_AVX2: return __builtin_cpu_supports("avx2");
    default: return 1;
    }
}

static enum rs_pq4_kernel chosen;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

static void choose(void)
{
    const char *want = getenv("RS_PQ4_KERNEL");
    chosen = supported(RS_PQ4_AVX512BW) ? RS_PQ4_AVX512BW : supported(RS_PQ4_AVX2) ? RS_PQ4_AVX2 : RS_PQ4_SCALAR;
    for (int k = 0; want && k < (int)(sizeof kernels / sizeof *kernels); k++)
        if (strcmp(want, kernels[k].name) == 0 && supported((enum rs_pq4_kernel)k))
            chosen = (enum rs_pq4_kernel)k;
}

const char *rs_pq4_kernel_name(void)
{
    pthread_once(&chosen_once, choose);
    return kernels[chosen].name;
}

void rs_pq4_scan(const uint8_t *blocks, size_t nblocks, const uint8_t *lut, size_t mpad, uint16_t *acc)
{
    pthread_once(&chosen_once, choose);
    kernels[chosen].fn(blocks, nblocks, lut, mpad, acc);
}

int rs_pq4_scan_with(enum rs_pq4_kernel k, const uint8_t *blocks, size_t nblocks, const uint8_t *lut,
                     size_t mpad, uint16_t *acc)
{
    if (!supported(k))
        return rs_err_set(RS_ERR_USAGE, "pq4: this CPU cannot run the %s kernel", kernels[k].name);
    kernels[k].fn(blocks, nblocks, lut, mpad, acc);
    return 0;
}
