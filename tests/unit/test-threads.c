/* test-threads.c - rs_parallel_for: static chunks, every index once, the
 * pool reused across many calls, nested calls and calls from two threads at
 * once (one of them takes the spawn path while the pool is busy). */
#include "tap.h"
#include "core/threads.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct visit {
    size_t n;
    int nthreads;
    atomic_int *hits;  /* (n) */
    int bad_range;     /* a chunk not equal to [n t/T, n (t+1)/T) */
};

static void count(void *arg, size_t lo, size_t hi, int tid)
{
    struct visit *v = arg;
    size_t T = (size_t)v->nthreads, t = (size_t)tid;
    if (T > v->n) /* at most one chunk per index, and one for n = 0 */
        T = v->n ? v->n : 1;
    if (lo != v->n * t / T || hi != v->n * (t + 1) / T)
        v->bad_range = 1;
    for (size_t i = lo; i < hi; i++)
        atomic_fetch_add(&v->hits[i], 1);
}

/* Runs one call and checks it; returns 1 when every index was hit once. */
static int visit_once(int nthreads, size_t n)
{
    struct visit v = { n, nthreads, calloc(n + 1, sizeof(atomic_int)), 0 };
    rs_parallel_for(nthreads, n, count, &v);
    int good = !v.bad_range;
    for (size_t i = 0; i < n; i++)
        good &= atomic_load(&v.hits[i]) == 1;
    free(v.hits);
    return good;
}

static void nested(void *arg, size_t lo, size_t hi, int tid)
{
    (void)tid;
    atomic_int *good = arg;
    for (size_t i = lo; i < hi; i++)
        atomic_fetch_add(good, visit_once(3, 100 + i));
}

static void *caller(void *arg)
{
    int *good = arg;
    for (int r = 0; r < 200; r++)
        *good += visit_once(2, 1000);
    return NULL;
}

int main(void)
{
    int all = 1;
    for (int t = 1; t <= 5; t++)
        for (size_t n = 0; n < 12; n++)
            all &= visit_once(t, n);
    ok(all, "1..5 threads, n 0..11: static chunks, every index once");
    all = 1;
    for (int r = 0; r < 5000; r++)
        all &= visit_once(1 + r % 4, 64 + (size_t)r % 7);
    ok(all, "5000 calls through the pool, thread counts changing");

    atomic_int good = 0;
    rs_parallel_for(2, 4, nested, &good);
    is_int(atomic_load(&good), 4, "nested calls run (on their own threads)");

    pthread_t th;
    int good_a = 0, good_b = 0;
    pthread_create(&th, NULL, caller, &good_a);
    caller(&good_b);
    pthread_join(th, NULL);
    is_int(good_a + good_b, 400, "two threads calling at once");
    return done_testing();
}
