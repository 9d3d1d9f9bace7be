/* topk.h - the k best (score, id) pairs of a stream, in a bounded min-heap.
 * Better means a higher score, and on equal scores the lower id, so results
 * are deterministic. NaN scores are ignored. */
#ifndef RS_TOPK_H
#define RS_TOPK_H

#include <stddef.h>
#include <stdint.h>

struct rs_topk {
    size_t k, n;
    float *score;
    int64_t *id;
};

void rs_topk_init(struct rs_topk *t, size_t k);
void rs_topk_free(struct rs_topk *t);
void rs_topk_reset(struct rs_topk *t);
/* Lowest score that can still enter (-INFINITY until the heap is full). */
float rs_topk_threshold(const struct rs_topk *t);
void rs_topk_push(struct rs_topk *t, float score, int64_t id);
/* Sorts the kept pairs best first, in place (the heap is consumed: call
 * rs_topk_reset before pushing again). Returns the count. */
size_t rs_topk_sort(struct rs_topk *t);

#endif
