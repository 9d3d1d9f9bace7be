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

/* Items a query must not return. Every member may be NULL. */
struct rs_knn_filter {
    const uint8_t *deny;     /* ni flags: nonzero = never returned (out of stock, not allowed) */
    const size_t *excl_off;  /* nq + 1 offsets into excl: query q drops */
    const uint32_t *excl;    /*   excl[excl_off[q] .. excl_off[q+1]), sorted ascending */
    const int64_t *self;     /* nq: one more item index to drop per query (-1: none) */
};

/* 1 if filter f drops item i for query q. */
int rs_knn_filtered(const struct rs_knn_filter *f, size_t q, size_t i);

/* Top-k items by dot product for each of the nq queries (nq × d) among the
 * ni items (ni × d), both row-major f32. Writes ids[q*k + r] (item index)
 * and scores[q*k + r] for r < counts[q], best first; counts[q] < k only when
 * fewer than k items pass the filter (f may be NULL). Uses threads workers
 * over queries, each calling BLAS single-threaded (call
 * rs_blas_set_threads(1) first). The same threads give the same bits (a
 * score is one sgemm dot product; other thread counts change the tiling,
 * which OpenBLAS may round differently in the last bit). */
void rs_knn_search(const float *queries, size_t nq, const float *items, size_t ni, size_t d, size_t k,
                   const struct rs_knn_filter *f, int threads, int64_t *ids, float *scores,
                   size_t *counts);

#endif
