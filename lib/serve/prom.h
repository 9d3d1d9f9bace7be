/* prom.h - the Prometheus text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): metric
 * families with # HELP and # TYPE lines, samples with escaped label values,
 * and latency histograms (latency.h) as cumulative _bucket{le=...} series
 * with _sum and _count. Built in memory; the server sends the text. */
#ifndef RS_PROM_H
#define RS_PROM_H

#include <stddef.h>

#include "serve/latency.h"

struct rs_prom {
    char *text;
    size_t len, cap;
};

/* # HELP and # TYPE of a family (type: counter, gauge or histogram); once
 * before its samples. */
void rs_prom_family(struct rs_prom *p, const char *name, const char *type, const char *help);
/* One sample: name{key="value"} v, the label left out when key is NULL;
 * the value is escaped (backslash, double quote, newline). */
void rs_prom_sample(struct rs_prom *p, const char *name, const char *key, const char *value, double v);
/* A histogram of h under name (its family written already): the buckets
 * are powers of two nanoseconds from 2^16 (65.5 us) to 2^31 (2.1 s), where
 * h's log buckets have edges, so each count is exact (an observation of
 * exactly 2^k ns counts in the next bucket), then +Inf, _sum (seconds) and
 * _count; labelled key="value" when key is not NULL. */
void rs_prom_histogram(struct rs_prom *p, const char *name, const char *key, const char *value,
                       struct rs_latency *h);
void rs_prom_free(struct rs_prom *p);

#endif
