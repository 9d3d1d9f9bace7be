/* threads.h - a static-partition parallel for, so results never depend on
 * scheduling: range [0, n) is cut into nthreads contiguous chunks, and chunk
 * t always goes to worker t. Workers persist between calls (threads.c).
 *
 * Results that must not depend on the thread count either (the README's
 * "Reproducibility") use rs_parallel_for_blocks: the work is cut into blocks
 * of a fixed size, every BLAS call covers one block (or a fixed tiling of
 * it), and partial results are kept per block and combined in block order.
 * OpenBLAS rounds an output element differently depending on the shape of
 * the call and its row in it (the Haswell and Zen sgemm kernels do), so a
 * chunk edge that moved with the thread count would move the bits. */
#ifndef RS_THREADS_H
#define RS_THREADS_H

#include <stddef.h>

/* Calls fn(ctx, begin, end, tid) for each chunk, tid in [0, nthreads), chunk
 * t = [n t / T, n (t + 1) / T) with T = min(nthreads, n) (1 when n is 0);
 * chunk 0 runs on the calling thread, alone when T is 1. Safe to call from
 * several threads and from inside a chunk. */
void rs_parallel_for(int nthreads, size_t n, void (*fn)(void *ctx, size_t begin, size_t end, int tid),
                     void *ctx);

/* The same over the nb = ceil(n / grain) blocks [b grain, min((b + 1) grain, n)):
 * chunk t is blocks [nb t / T, nb (t + 1) / T) with T = min(nthreads, nb),
 * so begin is a multiple of grain and end is one too, or n. Blocks never
 * depend on nthreads: fn cuts its range at multiples of grain before any
 * call whose rounding depends on its shape, and keeps per-block partials.
 * grain 0 counts as 1; rs_parallel_for is grain 1. */
void rs_parallel_for_blocks(int nthreads, size_t n, size_t grain,
                            void (*fn)(void *ctx, size_t begin, size_t end, int tid), void *ctx);

#endif
