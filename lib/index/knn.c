/* knn.c - blocked exact top-k by inner product: sgemm tiles + bounded heaps.
 *
 * Each worker owns a contiguous range of queries and walks the items in
 * blocks of RS_KNN_IB; for each item block it multiplies RS_KNN_QB of its
 * queries at a time (one sgemm, the tile stays in L2) and scans each tile
 * row against that query's heap threshold. The scan tests 32 scores at once
 * (vectorised) and only touches the heap and the filter for the rare scores
 * above the threshold, so past the first blocks the cost is the sgemm's. A
 * few queries (a server's) split the items over the workers instead and
 * merge their heaps. Items arrive in increasing index order, so a score
 * equal to the threshold can never win its tie and "greater than" is the
 * exact test.
 *
 * Both ways cut the work on the same grid: query ranges start at multiples
 * of RS_KNN_QB and item ranges at multiples of RS_KNN_IB, so every tile is
 * the same sgemm (shape, and row and column in it) whatever the thread count
 * or the way chosen, and a score has the same bits in all of them (OpenBLAS
 * rounds an element by its place in the product).
 */
#include "index/knn.h"
#include "core/err.h"
#include "nn/tensor.h"
#include "core/threads.h"
#include "core/topk.h"

#include <stdlib.h>
#include <string.h>

#define SCAN 32 /* scores tested together */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

void rs_knn_sort_excl(uint32_t *excl, size_t n)
{
    qsort(excl, n, sizeof *excl, cmp_u32);
}

int rs_knn_filtered(const struct rs_knn_filter *f, size_t q, size_t i)
{
    if (!f)
        return 0;
    if (f->deny && f->deny[i])
        return 1;
    if (f->self && f->self[q] == (int64_t)i)
        return 1;
    if (f->excl_off) {
        size_t lo = f->excl_off[q], hi = f->excl_off[q + 1];
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (f->excl[mid] < i)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < f->excl_off[q + 1] && f->excl[lo] == i)
            return 1;
    }
    return 0;
}

/* Pushes the scores s[0..n) of items base.. into heap t (query q). */
__attribute__((optimize("O3"), target_clones("avx2", "default")))
static void scan_row(const float *s, size_t n, size_t base, struct rs_topk *t,
                     const struct rs_knn_filter *f, size_t q)
{
    float thr = rs_topk_threshold(t);
    for (size_t j = 0; j < n; j += SCAN) {
        size_t m = n - j < SCAN ? n - j : SCAN;
        int any = 0;
        if (m == SCAN) {
            for (size_t u = 0; u < SCAN; u++)
                any |= s[j + u] > thr;
            if (!any)
                continue;
        }
        for (size_t u = 0; u < m; u++) {
            if (!(s[j + u] > thr) || rs_knn_filtered(f, q, base + j + u))
                continue;
            rs_topk_push(t, s[j + u], (int64_t)(base + j + u));
            thr = rs_topk_threshold(t);
        }
    }
}

struct search_ctx {
    const float *queries, *items;
    size_t nq, ni, d, k;
    const struct rs_knn_filter *f;
    int64_t *ids;
    float *scores;
    size_t *counts;
};

/* Queries [qb, qe) against items [ib, ie) into heaps[0 .. qe - qb). */
static void search_block(const struct search_ctx *c, size_t qb, size_t qe, size_t ib, size_t ie,
                         struct rs_topk *heaps)
{
    size_t d = c->d;
    float *tile = xmalloc((size_t)RS_KNN_QB * RS_KNN_IB * sizeof *tile);
    for (size_t i0 = ib; i0 < ie; i0 += RS_KNN_IB) {
        size_t ni = ie - i0 < RS_KNN_IB ? ie - i0 : RS_KNN_IB;
        for (size_t q0 = qb; q0 < qe; q0 += RS_KNN_QB) {
            size_t nq = qe - q0 < RS_KNN_QB ? qe - q0 : RS_KNN_QB;
            rs_sgemm(0, 1, nq, ni, d, 1.0f, c->queries + q0 * d, d, c->items + i0 * d, d, 0.0f, tile,
                     ni);
            for (size_t r = 0; r < nq; r++)
                scan_row(tile + r * ni, ni, i0, &heaps[q0 - qb + r], c->f, q0 + r);
        }
    }
    free(tile);
}

/* Sorts heap t and stores it as query slot's results in ids/scores/counts. */
static void store(struct rs_topk *t, size_t k, size_t slot, int64_t *ids, float *scores, size_t *counts)
{
    size_t got = rs_topk_sort(t);
    memcpy(ids + slot * k, t->id, got * sizeof *ids);
    memcpy(scores + slot * k, t->score, got * sizeof *scores);
    counts[slot] = got;
}

/* Query-parallel: worker owns queries [begin, end) and scans every item. */
static void query_chunk(void *vctx, size_t begin, size_t end, int tid)
{
    (void)tid;
    const struct search_ctx *c = vctx;
    size_t nq = end - begin;
    struct rs_topk *heaps = xmalloc((nq ? nq : 1) * sizeof *heaps);
    for (size_t q = 0; q < nq; q++)
        rs_topk_init(&heaps[q], c->k);
    search_block(c, begin, end, 0, c->ni, heaps);
    for (size_t q = 0; q < nq; q++) {
        store(&heaps[q], c->k, begin + q, c->ids, c->scores, c->counts);
        rs_topk_free(&heaps[q]);
    }
    free(heaps);
}

/* Item-parallel, for a few queries (a server's): worker tid scans items
 * [begin, end) for every query into its own slots, merged afterwards. */
static void item_chunk(void *vctx, size_t begin, size_t end, int tid)
{
    const struct search_ctx *c = vctx;
    struct rs_topk *heaps = xmalloc(c->nq * sizeof *heaps);
    for (size_t q = 0; q < c->nq; q++)
        rs_topk_init(&heaps[q], c->k);
    search_block(c, 0, c->nq, begin, end, heaps);
    for (size_t q = 0; q < c->nq; q++) {
        store(&heaps[q], c->k, (size_t)tid * c->nq + q, c->ids, c->scores, c->counts);
        rs_topk_free(&heaps[q]);
    }
    free(heaps);
}

static void search_items_parallel(struct search_ctx *c, int threads, int64_t *ids, float *scores,
                                  size_t *counts)
{
    size_t nq = c->nq, k = c->k, slots = (size_t)threads * nq;
    c->ids = xmalloc(slots * k * sizeof *c->ids);
    c->scores = xmalloc(slots * k * sizeof *c->scores);
    c->counts = xcalloc(slots, sizeof *c->counts);
    rs_parallel_for_blocks(threads, c->ni, RS_KNN_IB, item_chunk, c);
    struct rs_topk t;
    rs_topk_init(&t, k);
    for (size_t q = 0; q < nq; q++) {
        rs_topk_reset(&t);
        for (size_t s = q; s < slots; s += nq)
            for (size_t r = 0; r < c->counts[s]; r++)
                rs_topk_push(&t, c->scores[s * k + r], c->ids[s * k + r]);
        store(&t, k, q, ids, scores, counts);
    }
    rs_topk_free(&t);
    free(c->ids);
    free(c->scores);
    free(c->counts);
}

void rs_knn_search(const float *queries, size_t nq, const float *items, size_t ni, size_t d, size_t k,
                   const struct rs_knn_filter *f, int threads, int64_t *ids, float *scores,
                   size_t *counts)
{
    struct search_ctx c = { queries, items, nq, ni, d, k, f, ids, scores, counts };
    if (nq == 0)
        return;
    if (k == 0 || ni == 0 || d == 0) {
        memset(counts, 0, nq * sizeof *counts);
        if (d == 0 && k > 0) /* every score is 0: the first k eligible items */
            for (size_t q = 0; q < nq; q++)
                for (size_t i = 0; i < ni && counts[q] < k; i++)
                    if (!rs_knn_filtered(f, q, i)) {
                        ids[q * k + counts[q]] = (int64_t)i;
                        scores[q * k + counts[q]++] = 0;
                    }
        return;
    }
    /* Fewer query tiles than workers: split the items instead, so one query
     * (a server's) still uses every thread, unless the workers' own results
     * (threads × nq × k) would pass 2^24 (192 MB). */
    size_t T = threads > 1 ? (size_t)threads : 1;
    if (T > 1 && nq <= (T - 1) * RS_KNN_QB && ni >= T * RS_KNN_IB && T * nq * k <= (size_t)1 << 24)
        search_items_parallel(&c, threads, ids, scores, counts);
    else
        rs_parallel_for_blocks(threads, nq, RS_KNN_QB, query_chunk, &c);
}
