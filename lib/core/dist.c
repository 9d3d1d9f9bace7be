/* dist.c - MPI glue (dist.h): Open MPI with -DRS_MPI, one rank without. */
#include "core/dist.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#ifdef RS_MPI
#include <mpi.h>
#endif

static int dist_rank = 0, dist_size = 1;
static struct rs_dist_stats stats;

int rs_dist_rank(void)
{
    return dist_rank;
}

int rs_dist_size(void)
{
    return dist_size;
}

void rs_dist_stats(struct rs_dist_stats *s)
{
    *s = stats;
}

void rs_dist_bounds(size_t n, size_t *bound)
{
    size_t size = (size_t)dist_size, q = n / size, extra = n % size;
    bound[0] = 0;
    for (size_t r = 0; r < size; r++)
        bound[r + 1] = bound[r] + q + (r < extra);
}

void rs_dist_range(size_t n, size_t *lo, size_t *hi)
{
    size_t size = (size_t)dist_size, r = (size_t)dist_rank, q = n / size, extra = n % size;
    *lo = r * q + (r < extra ? r : extra);
    *hi = *lo + q + (r < extra);
}

#ifdef RS_MPI

static int initialised;

static void count(size_t out, size_t in)
{
    stats.bytes_out += out;
    stats.bytes_in += in;
    stats.calls++;
}

int rs_dist_built(void)
{
    return 1;
}

void rs_dist_init(void)
{
    if (initialised)
        return;
    int provided;
    MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &dist_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &dist_size);
    initialised = 1;
}

void rs_dist_finalize(void)
{
    if (!initialised)
        return;
    initialised = 0;
    MPI_Finalize();
}

void rs_dist_abort(int code)
{
    if (initialised && dist_size > 1)
        MPI_Abort(MPI_COMM_WORLD, code);
}

/* MPI counts are ints: collectives larger than that go in pieces (of whole
 * rows, for allgather). */
#define CHUNK ((size_t)1 << 30)

void rs_dist_allgather_rows(void *buf, const size_t *bound, size_t row_bytes)
{
    if (dist_size == 1)
        return;
    size_t size = (size_t)dist_size, mine = (bound[dist_rank + 1] - bound[dist_rank]) * row_bytes;
    count(mine, (bound[size] - bound[0]) * row_bytes - mine);
    /* Byte displacements are ints too: broadcast each rank's rows instead
     * when the whole does not fit one call. */
    if (bound[size] * row_bytes > CHUNK) {
        for (size_t r = 0; r < size; r++)
            for (size_t b = bound[r] * row_bytes, e = bound[r + 1] * row_bytes; b < e; b += CHUNK)
                MPI_Bcast((char *)buf + b, (int)(e - b < CHUNK ? e - b : CHUNK), MPI_BYTE, (int)r, MPI_COMM_WORLD);
        return;
    }
    int *cnt = xmalloc(2 * size * sizeof *cnt);
    for (size_t r = 0; r < size; r++) {
        cnt[r] = (int)((bound[r + 1] - bound[r]) * row_bytes);
        cnt[size + r] = (int)(bound[r] * row_bytes);
    }
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, cnt, cnt + size, MPI_BYTE, MPI_COMM_WORLD);
    free(cnt);
}

void rs_dist_allgather_u32(const uint32_t *v, size_t n, uint32_t **all, size_t *total)
{
    size_t size = (size_t)dist_size;
    uint64_t mine = n, *counts = xmalloc(size * sizeof *counts);
    MPI_Allgather(&mine, 1, MPI_UINT64_T, counts, 1, MPI_UINT64_T, MPI_COMM_WORLD);
    size_t *bound = xmalloc((size + 1) * sizeof *bound);
    bound[0] = 0;
    for (size_t r = 0; r < size; r++)
        bound[r + 1] = bound[r] + counts[r];
    *total = bound[size];
    *all = xmalloc((*total ? *total : 1) * sizeof **all);
    memcpy(*all + bound[dist_rank], v, n * sizeof *v);
    count(sizeof mine, (size - 1) * sizeof mine);
    rs_dist_allgather_rows(*all, bound, sizeof **all);
    free(counts);
    free(bound);
}

static void sum(void *v, size_t n, size_t width, MPI_Datatype type)
{
    if (dist_size == 1)
        return;
    count(n * width, n * width);
    size_t per = CHUNK / width;
    for (size_t b = 0; b < n; b += per) {
        int m = (int)(n - b < per ? n - b : per);
        char *p = (char *)v + b * width;
        if (dist_rank == 0)
            MPI_Reduce(MPI_IN_PLACE, p, m, type, MPI_SUM, 0, MPI_COMM_WORLD);
        else
            MPI_Reduce(p, NULL, m, type, MPI_SUM, 0, MPI_COMM_WORLD);
        MPI_Bcast(p, m, type, 0, MPI_COMM_WORLD);
    }
}

void rs_dist_sum_f32(float *v, size_t n)
{
    sum(v, n, sizeof *v, MPI_FLOAT);
}

void rs_dist_sum_f64(double *v, size_t n)
{
    sum(v, n, sizeof *v, MPI_DOUBLE);
}

int rs_dist_all(int ok)
{
    if (dist_size == 1)
        return ok != 0;
    int in = ok != 0, out;
    count(sizeof in, sizeof out);
    MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    return out;
}

#else /* one rank: nothing to exchange */

int rs_dist_built(void)
{
    return 0;
}

void rs_dist_init(void)
{
}

void rs_dist_finalize(void)
{
}

void rs_dist_abort(int code)
{
    (void)code;
}

void rs_dist_allgather_rows(void *buf, const size_t *bound, size_t row_bytes)
{
    (void)buf, (void)bound, (void)row_bytes;
}

void rs_dist_allgather_u32(const uint32_t *v, size_t n, uint32_t **all, size_t *total)
{
    *all = xmalloc((n ? n : 1) * sizeof **all);
    memcpy(*all, v, n * sizeof *v);
    *total = n;
}

void rs_dist_sum_f32(float *v, size_t n)
{
    (void)v, (void)n;
}

void rs_dist_sum_f64(double *v, size_t n)
{
    (void)v, (void)n;
}

int rs_dist_all(int ok)
{
    return ok != 0;
}

#endif
