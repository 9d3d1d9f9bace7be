/* kmeans.c - greedy k-means++ seeding and Lloyd iterations on sgemm.
 *
 * Distances come from ‖x − c‖² = ‖x‖² − 2 x·c + ‖c‖²: a block of BLOCK rows
 * times the centroid matrix is one sgemm, so an iteration runs at BLAS speed.
 * The blocks never depend on the thread count (threads.h), per-block sums
 * (inertia, k-means++ potentials) are added in block order, and the centroid
 * numerators are summed in row order, their columns split over the threads:
 * the same seed gives the same bits on any thread count. Under mpirun the
 * ranks share the E-step by blocks and gather its results (assign_ranks):
 * the same bits on any number of ranks too.
 * Convergence follows scikit-learn: labels unchanged, or a total squared
 * centroid shift below tol times the mean per-dimension variance. Empty
 * clusters take the rows farthest from their centroid (also as sklearn).
 */
#include "index/kmeans.h"
#include "core/dist.h"
#include "core/err.h"
#include "core/num.h"
#include "core/rng.h"
#include "nn/tensor.h"
#include "core/threads.h"
#include "core/topk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 256 /* rows per sgemm: BLOCK × k scores stay in L2 */

void rs_kmeans_defaults(struct rs_kmeans_opts *o)
{
    memset(o, 0, sizeof *o);
    o->k = 8;
    o->n_init = 1;
    o->max_iter = RS_KMEANS_MAX_ITER;
    o->tol = RS_KMEANS_TOL;
    o->seed = 42;
    o->threads = 1;
}

static void row_norms(const float *x, size_t n, size_t d, float *out)
{
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < d; j++)
            s += (double)x[i * d + j] * x[i * d + j];
        out[i] = (float)s;
    }
}

/* ---- assignment (E-step), optionally accumulating centroid sums ---- */

struct assign_ctx {
    const float *x, *xn, *c, *cn;
    size_t d, k;
    int32_t *assign;
    float *dist;
    double *inertia; /* per block */
    size_t base;     /* first row of this rank's share (a multiple of BLOCK) */
};

/* Minimum of 16 floats: an exact reduction whatever the order, so
 * fast-math may vectorise it (every value is finite). */
__attribute__((optimize("O3", "fast-math"), target_clones("avx2", "default")))
static float min16(const float *v)
{
    float m = v[0];
    for (size_t u = 1; u < 16; u++)
        m = v[u] < m ? v[u] : m;
    return m;
}

/* Index of the smallest of v[0..k), the first on ties: the minima of 16-wide
 * chunks, then the first chunk holding the overall minimum. */
static size_t row_argmin(const float *v, size_t k)
{
    size_t arg = 0, nc = k / 16;
    float best = v[0];
    for (size_t c = 0; c < nc; c++) {
        float m = min16(v + 16 * c);
        if (m < best || c == 0) {
            best = m;
            arg = 16 * c;
        }
    }
    for (size_t j = arg; j < arg + 16 && j < k; j++) /* position inside the chunk */
        if (v[j] == best) {
            arg = j;
            break;
        }
    for (size_t j = 16 * nc; j < k; j++)
        if (v[j] < best) {
            best = v[j];
            arg = j;
        }
    return arg;
}

static void assign_chunk(void *vctx, size_t begin, size_t end, int tid)
{
    (void)tid;
    struct assign_ctx *a = vctx;
    size_t d = a->d, k = a->k;
    begin += a->base;
    end += a->base;
    float *s = xmalloc(BLOCK * k * sizeof *s);
    for (size_t b = begin; b < end; b += BLOCK) {
        size_t m = end - b < BLOCK ? end - b : BLOCK;
        double inertia = 0;
        /* s = ‖c‖² − 2 x·c: rows start as ‖c‖², sgemm adds −2 x·cᵀ. */
        for (size_t r = 0; r < m; r++)
            memcpy(s + r * k, a->cn, k * sizeof *s);
        rs_sgemm(0, 1, m, k, d, -2.0f, a->x + b * d, d, a->c, d, 1.0f, s, k);
        for (size_t r = 0; r < m; r++) {
            const float *sr = s + r * k;
            size_t arg = row_argmin(sr, k), i = b + r;
            float dist = a->xn[i] + sr[arg];
            if (dist < 0) /* cancellation for a row on its centroid */
                dist = 0;
            a->assign[i] = (int32_t)arg;
            if (a->dist)
                a->dist[i] = dist;
            inertia += dist;
        }
        a->inertia[b / BLOCK] = inertia;
    }
    free(s);
}

struct sums_ctx {
    const float *x;
    const int32_t *assign;
    size_t n, d;
    double *sums; /* k × d */
};

/* Columns [lo, hi) of every cluster's sum: the rows are added in row order,
 * however the columns are split. */
static void cluster_sums(void *vctx, size_t lo, size_t hi, int tid)
{
    (void)tid;
    const struct sums_ctx *c = vctx;
    size_t d = c->d;
    for (size_t i = 0; i < c->n; i++) {
        double *s = c->sums + (size_t)c->assign[i] * d;
        const float *xi = c->x + i * d;
        for (size_t t = lo; t < hi; t++)
            s[t] += xi[t];
    }
}

/* The E-step of rows [bound[r], bound[r + 1]) on rank r (core/dist.h),
 * the ranks cut at whole blocks; then every rank gathers the others'
 * assignments, distances and block inertias. Each block's result does not
 * depend on who computes it, so the gathered whole is the one-process
 * result, bit for bit. */
static void assign_ranks(struct assign_ctx *a, size_t n, int threads)
{
    size_t nb = (n + BLOCK - 1) / BLOCK, ranks = (size_t)rs_dist_size(), r = (size_t)rs_dist_rank();
    size_t *bb = xmalloc((ranks + 1) * sizeof *bb), *rows = xmalloc((ranks + 1) * sizeof *rows);
    rs_dist_bounds(nb, bb);
    for (size_t q = 0; q <= ranks; q++)
        rows[q] = bb[q] * BLOCK < n ? bb[q] * BLOCK : n;
    a->base = rows[r];
    rs_parallel_for_blocks(threads, rows[r + 1] - rows[r], BLOCK, assign_chunk, a);
    rs_dist_allgather_rows(a->assign, rows, sizeof *a->assign);
    if (a->dist)
        rs_dist_allgather_rows(a->dist, rows, sizeof *a->dist);
    rs_dist_allgather_rows(a->inertia, bb, sizeof *a->inertia);
    free(bb);
    free(rows);
}

/* Runs the E-step; with sums/counts (k × d, k) also returns the per-cluster
 * sums of the rows. */
static double assign_all(const float *x, const float *xn, size_t n, size_t d, const float *c, size_t k,
                         int threads, int32_t *assign, float *dist, double *sums, int64_t *counts)
{
    size_t nb = (n + BLOCK - 1) / BLOCK;
    float *cn = xmalloc(k * sizeof *cn);
    row_norms(c, k, d, cn);
    struct assign_ctx a = { x, xn, c, cn, d, k, assign, dist, xcalloc(nb ? nb : 1, sizeof(double)), 0 };
    assign_ranks(&a, n, threads);
    double inertia = 0;
    for (size_t b = 0; b < nb; b++)
        inertia += a.inertia[b];
    if (sums) {
        memset(sums, 0, k * d * sizeof *sums);
        memset(counts, 0, k * sizeof *counts);
        for (size_t i = 0; i < n; i++)
            counts[assign[i]]++;
        struct sums_ctx sc = { x, assign, n, d, sums };
        rs_parallel_for(threads, d, cluster_sums, &sc);
    }
    free(a.inertia);
    free(cn);
    return inertia;
}

double rs_kmeans_assign(const float *x, size_t n, size_t d, const float *c, size_t k, int threads,
                        int32_t *assign, float *dist)
{
    float *xn = xmalloc((n ? n : 1) * sizeof *xn);
    row_norms(x, n, d, xn);
    double inertia = assign_all(x, xn, n, d, c, k, threads, assign, dist, NULL, NULL);
    free(xn);
    return inertia;
}

/* ---- greedy k-means++ ---- */

struct kpp_ctx {
    const float *x, *xn, *cand, *candn;
    size_t d, ncand;
    float *closest;
    double *pot; /* blocks × ncand: Σ min(closest, d(x, cand)) */
    int update;  /* 1: fold candidate 0 into closest instead */
};

static void kpp_chunk(void *vctx, size_t begin, size_t end, int tid)
{
    (void)tid;
    struct kpp_ctx *p = vctx;
    size_t d = p->d, L = p->ncand;
    float *s = xmalloc(BLOCK * L * sizeof *s);
    for (size_t b = begin; b < end; b += BLOCK) {
        size_t m = end - b < BLOCK ? end - b : BLOCK;
        double *pot = p->pot + b / BLOCK * L;
        rs_sgemm(0, 1, m, L, d, 1.0f, p->x + b * d, d, p->cand, d, 0.0f, s, L);
        for (size_t r = 0; r < m; r++) {
            float *cl = &p->closest[b + r];
            for (size_t t = 0; t < L; t++) {
                float dist = p->xn[b + r] - 2 * s[r * L + t] + p->candn[t];
                if (dist < 0)
                    dist = 0;
                if (p->update)
                    *cl = dist < *cl ? dist : *cl;
                else
                    pot[t] += dist < *cl ? dist : *cl;
            }
        }
    }
    free(s);
}

/* First index i with cum[i] >= r (numpy's searchsorted), clipped to n - 1. */
static size_t search_cum(const double *cum, size_t n, double r)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cum[mid] < r)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n ? lo : n - 1;
}

/* Seeds k centres c (k × d) from the s rows of x (norms xn). */
static void kmeanspp(const float *x, const float *xn, size_t s, size_t d, size_t k, struct rs_rng *g,
                     int threads, float *c)
{
    size_t L = 2 + (size_t)log((double)k);
    float *cand = xmalloc(L * d * sizeof *cand), *candn = xmalloc(L * sizeof *candn);
    float *closest = xmalloc(s * sizeof *closest);
    double *cum = xmalloc(s * sizeof *cum);
    size_t nb = (s + BLOCK - 1) / BLOCK;
    double *pot = xmalloc((nb ? nb : 1) * L * sizeof *pot);
    struct kpp_ctx p = { x, xn, cand, candn, d, 1, closest, pot, 1 };

    memcpy(c, x + rs_rng_below(g, s) * d, d * sizeof *c);
    for (size_t i = 0; i < s; i++)
        closest[i] = INFINITY;
    memcpy(cand, c, d * sizeof *c);
    row_norms(cand, 1, d, candn);
    rs_parallel_for_blocks(threads, s, BLOCK, kpp_chunk, &p);
    for (size_t j = 1; j < k; j++) {
        double total = 0;
        for (size_t i = 0; i < s; i++)
            cum[i] = total += closest[i];
        for (size_t t = 0; t < L; t++) {
            size_t i = search_cum(cum, s, rs_rng_uniform(g) * total);
            memcpy(cand + t * d, x + i * d, d * sizeof *cand);
        }
        row_norms(cand, L, d, candn);
        memset(pot, 0, (nb ? nb : 1) * L * sizeof *pot);
        p.ncand = L;
        p.update = 0;
        rs_parallel_for_blocks(threads, s, BLOCK, kpp_chunk, &p);
        size_t best = 0;
        double best_pot = INFINITY;
        for (size_t t = 0; t < L; t++) {
            double sum = 0;
            for (size_t b = 0; b < nb; b++)
                sum += pot[b * L + t];
            if (sum < best_pot) {
                best_pot = sum;
                best = t;
            }
        }
        memcpy(c + j * d, cand + best * d, d * sizeof *c);
        /* Fold the winner into closest: it becomes candidate 0. */
        memmove(cand, cand + best * d, d * sizeof *cand);
        candn[0] = candn[best];
        p.ncand = 1;
        p.update = 1;
        rs_parallel_for_blocks(threads, s, BLOCK, kpp_chunk, &p);
    }
    free(cand);
    free(candn);
    free(closest);
    free(cum);
    free(pot);
}

/* ---- Lloyd ---- */

/* Empty clusters take the rows farthest from their centroids (distinct rows,
 * ties to the lower index), moving them out of their old clusters' sums. */
static void repair_empty(const float *x, size_t n, size_t d, size_t k, const int32_t *assign,
                         const float *dist, double *sums, int64_t *counts)
{
    size_t nempty = 0;
    for (size_t j = 0; j < k; j++)
        nempty += counts[j] == 0;
    if (nempty == 0)
        return;
    struct rs_topk far;
    rs_topk_init(&far, nempty);
    for (size_t i = 0; i < n; i++)
        rs_topk_push(&far, dist[i], (int64_t)i);
    size_t got = rs_topk_sort(&far), next = 0;
    for (size_t j = 0; j < k && next < got; j++) {
        if (counts[j] != 0)
            continue;
        size_t i = (size_t)far.id[next++];
        size_t old = (size_t)assign[i];
        if (counts[old] <= 1)
            continue; /* its only row: moving it would empty another cluster */
        for (size_t t = 0; t < d; t++) {
            sums[old * d + t] -= x[i * d + t];
            sums[j * d + t] = x[i * d + t];
        }
        counts[old]--;
        counts[j] = 1;
    }
    rs_topk_free(&far);
}

/* One seeding plus Lloyd iterations; returns the final inertia. */
static double lloyd(const float *x, const float *xn, size_t n, size_t d, const struct rs_kmeans_opts *o,
                    int run, double tol_abs, float *c, int32_t *assign, int *iters)
{
    size_t k = o->k;
    struct rs_rng g;
    rs_rng_init(&g, o->seed, (uint64_t)run);
    if (o->init_sample && o->init_sample < n) {
        size_t s = o->init_sample;
        uint32_t *idx = xmalloc(n * sizeof *idx);
        for (size_t i = 0; i < n; i++)
            idx[i] = (uint32_t)i;
        for (size_t i = 0; i < s; i++) { /* partial Fisher–Yates */
            size_t j = i + rs_rng_below(&g, n - i);
            uint32_t t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        float *xs = xmalloc(s * d * sizeof *xs), *xsn = xmalloc(s * sizeof *xsn);
        for (size_t i = 0; i < s; i++) {
            memcpy(xs + i * d, x + (size_t)idx[i] * d, d * sizeof *xs);
            xsn[i] = xn[idx[i]];
        }
        kmeanspp(xs, xsn, s, d, k, &g, o->threads, c);
        free(xs);
        free(xsn);
        free(idx);
    } else {
        kmeanspp(x, xn, n, d, k, &g, o->threads, c);
    }

    double *sums = xmalloc(k * d * sizeof *sums);
    int64_t *counts = xmalloc(k * sizeof *counts);
    int32_t *prev = xmalloc(n * sizeof *prev);
    float *dist = xmalloc(n * sizeof *dist);
    int it = 0;
    while (it < o->max_iter) {
        it++;
        double inertia = assign_all(x, xn, n, d, c, k, o->threads, assign, dist, sums, counts);
        if (o->log)
            o->log(o->log_ctx, run, it, inertia);
        repair_empty(x, n, d, k, assign, dist, sums, counts);
        double shift = 0;
        for (size_t j = 0; j < k; j++) {
            if (counts[j] == 0)
                continue;
            for (size_t t = 0; t < d; t++) {
                float v = (float)(sums[j * d + t] / (double)counts[j]);
                shift += ((double)v - c[j * d + t]) * ((double)v - c[j * d + t]);
                c[j * d + t] = v;
            }
        }
        int same = it > 1 && memcmp(prev, assign, n * sizeof *prev) == 0;
        memcpy(prev, assign, n * sizeof *prev);
        if (same || shift <= tol_abs)
            break;
    }
    double inertia = assign_all(x, xn, n, d, c, k, o->threads, assign, NULL, NULL, NULL);
    *iters = it;
    free(sums);
    free(counts);
    free(prev);
    free(dist);
    return inertia;
}

int rs_kmeans_fit(const float *x, size_t n, size_t d, const struct rs_kmeans_opts *o, float *centroids,
                  int32_t *assign, double *inertia, int *iters)
{
    if (o->k == 0 || o->k > n)
        return rs_err_set(RS_ERR_USAGE, "k-means: k = %zu clusters for %zu rows", o->k, n);
    if (d == 0)
        return rs_err_set(RS_ERR_USAGE, "k-means: zero-dimensional rows");
    size_t bad = rs_num_vec_find_bad(x, n * d); /* readers refuse these; a caller's bug otherwise */
    if (bad < n * d)
        return rs_err_set(RS_ERR_USAGE, "k-means: row %zu dimension %zu is %g, not a finite value within +-%g",
                          bad / d + 1, bad % d + 1, x[bad], RS_NUM_VEC_MAX);
    float *xn = xmalloc(n * sizeof *xn);
    row_norms(x, n, d, xn);
    /* sklearn's tolerance: tol × mean over dimensions of the variance. */
    double var = 0;
    for (size_t t = 0; t < d; t++) {
        double m = 0, m2 = 0;
        for (size_t i = 0; i < n; i++) {
            m += x[i * d + t];
            m2 += (double)x[i * d + t] * x[i * d + t];
        }
        m /= (double)n;
        var += m2 / (double)n - m * m;
    }
    double tol_abs = o->tol * var / (double)d;

    size_t k = o->k;
    float *c = xmalloc(k * d * sizeof *c);
    int32_t *a = xmalloc(n * sizeof *a);
    double best = INFINITY;
    int best_iters = 0;
    for (int run = 0; run < (o->n_init > 0 ? o->n_init : 1); run++) {
        int it;
        double v = lloyd(x, xn, n, d, o, run, tol_abs, c, a, &it);
        if (run == 0 || v < best) { /* the first run always fills the outputs */
            best = v;
            best_iters = it;
            memcpy(centroids, c, k * d * sizeof *c);
            if (assign)
                memcpy(assign, a, n * sizeof *a);
        }
    }
    if (inertia)
        *inertia = best;
    if (iters)
        *iters = best_iters;
    free(c);
    free(a);
    free(xn);
    return 0;
}
