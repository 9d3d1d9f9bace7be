/* threads.h - a static-partition parallel for, so results never depend on
 * scheduling: range [0, n) is cut into nthreads contiguous chunks, and chunk
 * t always goes to worker t. */
#ifndef RS_THREADS_H
#define RS_THREADS_H

#include <stddef.h>

/* Calls fn(ctx, begin, end, tid) for each chunk, tid in [0, nthreads); runs
 * on the calling thread when nthreads is 1 or n is small. */
void rs_parallel_for(int nthreads, size_t n, void (*fn)(void *ctx, size_t begin, size_t end, int tid),
                     void *ctx);

#endif
