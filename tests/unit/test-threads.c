/* test-threads.c - rs_parallel_for: static chunks, every index once, the
 * pool reused across many calls, nested calls and calls from two threads at
 * once (one of them takes the spawn path while the pool is busy);
 * rs_parallel_for_blocks: chunks of whole blocks, and per-block partial sums
 * combined in block order give the same bits on any thread count. */
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

struct blocks {
    size_t n, grain;
    int nthreads;
    atomic_int *hits; /* (n) */
    atomic_int calls;
    int bad_range;    /* a chunk that is not whole blocks [nb t/T, nb (t+1)/T) */
};

static void count_blocks(void *arg, size_t lo, size_t hi, int tid)
{
    struct blocks *v = arg;
    size_t g = v->grain ? v->grain : 1, nb = (v->n + g - 1) / g, T = (size_t)v->nthreads, t = (size_t)tid;
    if (T > nb)
        T = nb ? nb : 1;
    size_t b1 = nb * (t + 1) / T;
    if (lo != nb * t / T * g || hi != (b1 * g < v->n ? b1 * g : v->n))
        v->bad_range = 1;
    for (size_t i = lo; i < hi; i++)
        atomic_fetch_add(&v->hits[i], 1);
    atomic_fetch_add(&v->calls, 1);
}

/* One blocked call, checked: whole blocks, every index once, and one chunk
 * per thread up to the block count. */
static int visit_blocks(int nthreads, size_t n, size_t grain)
{
    struct blocks v = { n, grain, nthreads, calloc(n + 1, sizeof(atomic_int)), 0, 0 };
    rs_parallel_for_blocks(nthreads, n, grain, count_blocks, &v);
    size_t g = grain ? grain : 1, nb = (n + g - 1) / g;
    size_t chunks = (size_t)nthreads < nb ? (size_t)nthreads : nb ? nb : 1;
    int good = !v.bad_range && (size_t)atomic_load(&v.calls) == chunks;
    for (size_t i = 0; i < n; i++)
        good &= atomic_load(&v.hits[i]) == 1;
    free(v.hits);
    return good;
}

/* A reduction written the way the library writes them: each chunk cuts its
 * range into blocks of grain, sums each block in float, and the block sums
 * are added in block order. */
struct sum {
    const float *x;
    size_t grain;
    float *part; /* one per block */
};

static void block_sums(void *arg, size_t lo, size_t hi, int tid)
{
    (void)tid;
    struct sum *s = arg;
    for (size_t b = lo; b < hi; b += s->grain) {
        size_t e = hi - b < s->grain ? hi : b + s->grain;
        float acc = 0;
        for (size_t i = b; i < e; i++)
            acc += s->x[i];
        s->part[b / s->grain] = acc;
    }
}

static float blocked_sum(const float *x, size_t n, size_t grain, int nthreads)
{
    struct sum s = { x, grain, calloc(n / grain + 1, sizeof(float)) };
    rs_parallel_for_blocks(nthreads, n, grain, block_sums, &s);
    float total = 0;
    for (size_t b = 0; b * grain < n; b++)
        total += s.part[b];
    free(s.part);
    return total;
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

    all = 1;
    for (int t = 1; t <= 6; t++)
        for (size_t n = 0; n < 40; n++)
            for (size_t g = 0; g <= 9; g++)
                all &= visit_blocks(t, n, g);
    ok(all, "blocks: 1..6 threads, n 0..39, grain 0..9: whole blocks, every index once");
    ok(visit_blocks(16, 1000003, 4096), "blocks: a large n, more threads than a few blocks need");

    /* Values whose float sum depends on the order: the blocked sum must not. */
    size_t n = 100003;
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((i * 2654435761u) % 1000003) * (i % 3 ? 1e-3f : 7.1f);
    float one = blocked_sum(x, n, 256, 1);
    all = 1;
    for (int t = 2; t <= 9; t++)
        all &= blocked_sum(x, n, 256, t) == one;
    ok(all, "blocks: per-block sums in block order give the same bits on 1..9 threads");
    free(x);
    return done_testing();
}
