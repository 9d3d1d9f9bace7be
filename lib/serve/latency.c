/* latency.c - log-linear histogram: bucket b covers [2^(b/8), 2^((b+1)/8)) ns. */
#include "serve/latency.h"

#include <math.h>

static int bucket_of(uint64_t ns)
{
    if (ns < 1)
        return 0;
    int b = (int)(log2((double)ns) * 8);
    return b < RS_LATENCY_BUCKETS ? b : RS_LATENCY_BUCKETS - 1;
}

void rs_latency_add(struct rs_latency *h, uint64_t ns)
{
    atomic_fetch_add_explicit(&h->count[bucket_of(ns)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->total, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

uint64_t rs_latency_count(struct rs_latency *h)
{
    return atomic_load_explicit(&h->total, memory_order_relaxed);
}

uint64_t rs_latency_snapshot(struct rs_latency *h, uint64_t out[RS_LATENCY_BUCKETS])
{
    uint64_t n = 0;
    for (int b = 0; b < RS_LATENCY_BUCKETS; b++)
        n += out[b] = atomic_load_explicit(&h->count[b], memory_order_relaxed);
    return n;
}

double rs_latency_sum(struct rs_latency *h)
{
    return atomic_load_explicit(&h->sum_ns, memory_order_relaxed) * 1e-9;
}

double rs_latency_mean(struct rs_latency *h)
{
    uint64_t n = rs_latency_count(h);
    return n ? atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / (double)n * 1e-9 : 0;
}

double rs_latency_quantile(struct rs_latency *h, double p)
{
    uint64_t counts[RS_LATENCY_BUCKETS], n = rs_latency_snapshot(h, counts);
    if (n == 0)
        return 0;
    uint64_t need = (uint64_t)ceil(p * (double)n), seen = 0;
    for (int b = 0; b < RS_LATENCY_BUCKETS; b++)
        if ((seen += counts[b]) >= need)
            return exp2((b + 1) / 8.0) * 1e-9;
    return exp2(RS_LATENCY_BUCKETS / 8.0) * 1e-9;
}
