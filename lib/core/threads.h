/* threads.h - a static-partition parallel for, so results never depend on
 * scheduling: range [0, n) is cut into nthreads contiguous chunks, and chunk
 * t always goes to worker t. Workers persist between calls (threads.c). */
#ifndef RS_THREADS_H
#define RS_THREADS_H

#include <stddef.h>

/* Calls fn(ctx, begin, end, tid) for each chunk, tid in [0, nthreads), chunk
 * t = [n t / T, n (t + 1) / T) with T = min(nthreads, n) (1 when n is 0);
 * chunk 0 runs on the calling thread, alone when T is 1. Safe to call from
 * several threads and from inside a chunk. */
void rs_parallel_for(int nthreads, size_t n, void (*fn)(void *ctx, size_t begin, size_t end, int tid),
                     void *ctx);

#endif
