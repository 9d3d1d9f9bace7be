/* threads.c - rs_parallel_for on POSIX threads. */
#include "threads.h"
#include "err.h"

#include <pthread.h>
#include <stdlib.h>

struct chunk {
    void (*fn)(void *, size_t, size_t, int);
    void *ctx;
    size_t begin, end;
    int tid;
};

static void *run_chunk(void *arg)
{
    struct chunk *c = arg;
    c->fn(c->ctx, c->begin, c->end, c->tid);
    return NULL;
}

void rs_parallel_for(int nthreads, size_t n, void (*fn)(void *, size_t, size_t, int), void *ctx)
{
    if (nthreads < 1)
        nthreads = 1;
    if ((size_t)nthreads > n)
        nthreads = n ? (int)n : 1;
    if (nthreads == 1) {
        fn(ctx, 0, n, 0);
        return;
    }
    struct chunk *c = xmalloc((size_t)nthreads * sizeof *c);
    pthread_t *th = xmalloc((size_t)nthreads * sizeof *th);
    for (int t = 0; t < nthreads; t++) {
        c[t] = (struct chunk){ fn, ctx, n * (size_t)t / (size_t)nthreads,
                               n * (size_t)(t + 1) / (size_t)nthreads, t };
        if (t > 0)
            RS_ASSERT(pthread_create(&th[t], NULL, run_chunk, &c[t]) == 0);
    }
    run_chunk(&c[0]);
    for (int t = 1; t < nthreads; t++)
        pthread_join(th[t], NULL);
    free(c);
    free(th);
}
