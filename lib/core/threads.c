/* threads.c - rs_parallel_for on a persistent pool of POSIX threads.
 *
 * A training step makes several parallel calls of a few hundred microseconds
 * each; creating and joining threads every time costs tens of microseconds
 * and leaves the second core idle in between. So worker t (t >= 1) is
 * created once, on first need, and then waits for work: it polls its slot for
 * a short while (the next call usually follows within microseconds), then
 * sleeps on a condition variable. The caller runs chunk 0 itself and waits for
 * the others the same way. The pool serves one call at a time; a call that
 * finds it busy (a nested call from inside a chunk, or another thread's call)
 * runs on threads of its own, created and joined as before. Either way chunk
 * t is the same range, so results never depend on which path ran. */
#include "core/threads.h"
#include "core/err.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Polling rounds before sleeping: about 20 µs at 50 ns a pause (Zen 4;
 * Skylake's is similar). Long enough to bridge the short serial gaps of a
 * training step; longer spins only burn a loaded machine's CPU. */
#define SPIN 400

typedef void (*chunk_fn)(void *ctx, size_t begin, size_t end, int tid);

struct job {
    chunk_fn fn;
    void *ctx;
    size_t n, grain, nblocks;
    int nthreads;
};

struct worker {
    pthread_t th;
    int tid;
    atomic_ulong posted; /* generation of the last job handed to this worker */
    pthread_cond_t wake;
};

static struct {
    pthread_mutex_t owner; /* held by the call using the pool */
    pthread_mutex_t mu;    /* guards the sleeps below */
    pthread_cond_t done;
    struct worker **w;     /* w[t] for t in [1, nw] */
    int nw;
    struct job job;
    unsigned long gen;
    atomic_int pending; /* workers still running the current job */
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER };

static void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Chunk t: whole blocks, the last one cut at n. */
static void run_chunk(const struct job *j, int t)
{
    size_t nb = j->nblocks, T = (size_t)j->nthreads;
    size_t b0 = nb * (size_t)t / T, b1 = nb * (size_t)(t + 1) / T;
    size_t end = b1 * j->grain < j->n ? b1 * j->grain : j->n;
    j->fn(j->ctx, b0 * j->grain, end, t);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    unsigned long seen = 0;
    for (;;) {
        for (int i = 0; i < SPIN && atomic_load(&w->posted) == seen; i++)
            relax();
        if (atomic_load(&w->posted) == seen) {
            pthread_mutex_lock(&pool.mu);
            while (atomic_load(&w->posted) == seen)
                pthread_cond_wait(&w->wake, &pool.mu);
            pthread_mutex_unlock(&pool.mu);
        }
        seen = atomic_load(&w->posted);
        run_chunk(&pool.job, w->tid);
        if (atomic_fetch_sub(&pool.pending, 1) == 1) {
            pthread_mutex_lock(&pool.mu);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.mu);
        }
    }
    return NULL;
}

static void grow(int nthreads)
{
    if (nthreads - 1 <= pool.nw)
        return;
    pool.w = xrealloc(pool.w, (size_t)nthreads * sizeof *pool.w);
    for (int t = pool.nw + 1; t < nthreads; t++) {
        struct worker *w = xcalloc(1, sizeof *w);
        w->tid = t;
        atomic_init(&w->posted, 0);
        RS_ASSERT(pthread_cond_init(&w->wake, NULL) == 0);
        RS_ASSERT(pthread_create(&w->th, NULL, worker_main, w) == 0);
        pool.w[t] = w;
    }
    pool.nw = nthreads - 1;
}

static void run_pooled(const struct job *j)
{
    grow(j->nthreads);
    pool.job = *j;
    pool.gen++;
    atomic_store(&pool.pending, j->nthreads - 1);
    for (int t = 1; t < j->nthreads; t++) {
        atomic_store(&pool.w[t]->posted, pool.gen);
        pthread_mutex_lock(&pool.mu);
        pthread_cond_signal(&pool.w[t]->wake);
        pthread_mutex_unlock(&pool.mu);
    }
    run_chunk(j, 0);
    for (int i = 0; i < SPIN && atomic_load(&pool.pending) > 0; i++)
        relax();
    pthread_mutex_lock(&pool.mu);
    while (atomic_load(&pool.pending) > 0)
        pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
}

struct spawned {
    const struct job *j;
    int t;
};

static void *spawned_main(void *arg)
{
    struct spawned *s = arg;
    run_chunk(s->j, s->t);
    return NULL;
}

static void run_spawned(const struct job *j)
{
    struct spawned *s = xmalloc((size_t)j->nthreads * sizeof *s);
    pthread_t *th = xmalloc((size_t)j->nthreads * sizeof *th);
    for (int t = 1; t < j->nthreads; t++) {
        s[t] = (struct spawned){ j, t };
        RS_ASSERT(pthread_create(&th[t], NULL, spawned_main, &s[t]) == 0);
    }
    run_chunk(j, 0);
    for (int t = 1; t < j->nthreads; t++)
        pthread_join(th[t], NULL);
    free(s);
    free(th);
}

void rs_parallel_for(int nthreads, size_t n, chunk_fn fn, void *ctx)
{
    rs_parallel_for_blocks(nthreads, n, 1, fn, ctx);
}

void rs_parallel_for_blocks(int nthreads, size_t n, size_t grain, chunk_fn fn, void *ctx)
{
    grain = grain ? grain : 1;
    size_t nb = n / grain + (n % grain != 0);
    if (nthreads < 1)
        nthreads = 1;
    if ((size_t)nthreads > nb)
        nthreads = nb ? (int)nb : 1;
    struct job j = { fn, ctx, n, grain, nb, nthreads };
    if (nthreads == 1) {
        run_chunk(&j, 0);
    } else if (pthread_mutex_trylock(&pool.owner) == 0) {
        run_pooled(&j);
        pthread_mutex_unlock(&pool.owner);
    } else {
        run_spawned(&j);
    }
}
