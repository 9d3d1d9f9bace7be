/* dist.h - the one place that talks MPI: ranks, collectives and the bytes
 * they move. Built with -DRS_MPI (make MPI=1) it calls Open MPI; without, it
 * is a world of one rank where every collective is a no-op, so a tool's code
 * is the same in both builds (docs/scaling.md).
 *
 * Every collective is called by every rank at the same point of the same
 * code path (the tools run one command line on every rank). A failed MPI
 * call aborts the job (MPI_ERRORS_ARE_FATAL, MPI's default), so these
 * functions return nothing. Sums are MPI_Reduce to rank 0 then MPI_Bcast:
 * every rank holds the same bits afterwards, which ranks training one model
 * must (an allreduce need not give every rank the same rounding).
 *
 * Not thread-safe: call from the main thread only (MPI_THREAD_FUNNELED).
 */
#ifndef RS_DIST_H
#define RS_DIST_H

#include <stddef.h>
#include <stdint.h>

/* 1 when built with MPI. */
int rs_dist_built(void);
/* Joins the MPI job (MPI_Init_thread) when built with MPI; a no-op after the
 * first call and without MPI. A process started without mpirun is a job of
 * one rank. */
void rs_dist_init(void);
/* Leaves the job (MPI_Finalize); a no-op without MPI or before init. */
void rs_dist_finalize(void);
/* This process's rank, 0 .. size - 1, and the number of ranks (0 and 1
 * without MPI or before init). */
int rs_dist_rank(void);
int rs_dist_size(void);
/* Ends every rank of the job with status code (MPI_Abort) when there is more
 * than one; returns otherwise. For the tools' fatal errors only (cli.c). */
void rs_dist_abort(int code);

/* bound[0 .. size] of n items cut into size contiguous ranges, the first
 * n % size ranks one item longer: rank r owns [bound[r], bound[r + 1]). */
void rs_dist_bounds(size_t n, size_t *bound);
/* This rank's range of n items as rs_dist_bounds cuts it. */
void rs_dist_range(size_t n, size_t *lo, size_t *hi);

/* In place: rank r holds rows [bound[r], bound[r + 1]) of buf (rows of
 * row_bytes); afterwards every rank holds all of them. */
void rs_dist_allgather_rows(void *buf, const size_t *bound, size_t row_bytes);
/* Concatenation in rank order of every rank's n values v: *all (xmalloc'd,
 * caller frees) and its length *total. */
void rs_dist_allgather_u32(const uint32_t *v, size_t n, uint32_t **all, size_t *total);
/* v (n values) replaced by its sum over the ranks, the same bits on every rank. */
void rs_dist_sum_f32(float *v, size_t n);
void rs_dist_sum_f64(double *v, size_t n);
/* 1 when every rank passes ok != 0, else 0 (a logical AND over the ranks). */
int rs_dist_all(int ok);

/* What this rank's collectives carried since init: payload bytes it put in
 * (its contribution) and got out (the result from other ranks), not what
 * the MPI algorithm forwards on the way; and how many calls. Always zero in
 * a job of one rank. */
struct rs_dist_stats {
    uint64_t bytes_out, bytes_in;
    uint64_t calls;
};
void rs_dist_stats(struct rs_dist_stats *s);

#endif
