/* knn.h - exact maximum inner product search: for each query row, the k
 * item rows with the highest dot product, ties to the lower item index.
 *
 * Blocked: a block of queries times a block of items is one sgemm into a
 * score tile that stays in cache, and each query keeps a bounded heap
 * (topk.h). A score is compared with the heap's threshold first, so filters
 * (deny mask, per-query exclusions) cost nothing for items that could not
 * enter anyway, and a dropped item never costs a result: each query still
 * gets k items when k eligible items exist. Used by rs-retrieve, and meant
 * for rs-negsample's hard negatives and rs-serve.
 */
#ifndef RS_KNN_H
#define RS_KNN_H

#include <stddef.h>
#include <stdint.h>

/* The score tiles: RS_KNN_QB queries by RS_KNN_IB items, counted from
 * query 0 and item 0. Measured on Zen 4 with d = 64: a 256 × 512 tile
 * (512 KB) fits L2 and keeps sgemm near its peak (384 and 128 queries ran
 * as fast). A caller that searches in batches of a multiple of RS_KNN_QB
 * queries gets the tiles, hence the bits, of one search over all. */
#define RS_KNN_QB 256
#define RS_KNN_IB 512

/* Items a query must not return. Every member may be NULL. */
struct rs_knn_filter {
    const uint8_t *deny;     /* ni flags: nonzero = never returned (out of stock, not allowed) */
    const size_t *excl_off;  /* nq + 1 offsets into excl: query q drops */
    const uint32_t *excl;    /*   excl[excl_off[q] .. excl_off[q+1]), sorted ascending */
    const int64_t *self;     /* nq: one more item index to drop per query (-1: none) */
};

/* Sorts an exclusion list ascending, as excl wants it (after its items were
 * mapped to another order, say). */
void rs_knn_sort_excl(uint32_t *excl, size_t n);
/* 1 if filter f drops item i for query q. */
int rs_knn_filtered(const struct rs_knn_filter *f, size_t q, size_t i);

/* Top-k items by dot product for each of the nq queries (nq × d) among the
 * ni items (ni × d), both row-major f32. Writes ids[q*k + r] (item index)
 * and scores[q*k + r] for r < counts[q], best first; counts[q] < k only when
 * fewer than k items pass the filter (f may be NULL). Uses threads workers
 * over queries (or items, for few queries). Scores come from the same
 * tiles whatever the thread count, so any count gives the same bits. */
void rs_knn_search(const float *queries, size_t nq, const float *items, size_t ni, size_t d, size_t k,
                   const struct rs_knn_filter *f, int threads, int64_t *ids, float *scores,
                   size_t *counts);

#endif
