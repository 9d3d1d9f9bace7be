/* latency.h - a thread-safe latency histogram for servers: log-spaced
 * buckets (8 per power of two, so a reported percentile is within ~9% of the
 * true value), lock-free recording with atomics, percentiles on demand. */
#ifndef RS_LATENCY_H
#define RS_LATENCY_H

#include <stdatomic.h>
#include <stdint.h>

#define RS_LATENCY_BUCKETS 256

struct rs_latency {
    atomic_uint_fast64_t count[RS_LATENCY_BUCKETS];
    atomic_uint_fast64_t total, sum_ns;
};

/* Records one duration in nanoseconds. */
void rs_latency_add(struct rs_latency *h, uint64_t ns);
/* The p-quantile (0 < p <= 1) in seconds, from the bucket's upper bound;
 * 0 when nothing was recorded. */
double rs_latency_quantile(struct rs_latency *h, double p);
uint64_t rs_latency_count(struct rs_latency *h);
/* Copies the bucket counts (bucket b: [2^(b/8), 2^((b+1)/8)) ns, the last
 * one open-ended) into out, and returns their sum: one snapshot, so the
 * cumulative counts of an exposition never decrease. */
uint64_t rs_latency_snapshot(struct rs_latency *h, uint64_t out[RS_LATENCY_BUCKETS]);
/* Sum of the observations in seconds. */
double rs_latency_sum(struct rs_latency *h);
/* Mean in seconds (0 when empty). */
double rs_latency_mean(struct rs_latency *h);

#endif
