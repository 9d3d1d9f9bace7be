/* prom.c - Prometheus text exposition 0.0.4 (see prom.h). */
#include "serve/prom.h"
#include "core/err.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_LOG2_NS 16
#define LAST_LOG2_NS 31 /* latency.h's last bucket is open from 2^31.875 ns */

static void put(struct rs_prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct rs_prom *p, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = p->cap - p->len;
        int n = vsnprintf(p->text ? p->text + p->len : NULL, room, fmt, ap);
        va_end(ap);
        RS_ASSERT(n >= 0);
        if ((size_t)n < room) {
            p->len += (size_t)n;
            return;
        }
        p->cap = 2 * (p->cap + (size_t)n + 64);
        p->text = xrealloc(p->text, p->cap);
    }
}

void rs_prom_family(struct rs_prom *p, const char *name, const char *type, const char *help)
{
    put(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* {key="value"} with the value escaped, or nothing; extra (le="...") is
 * appended inside the braces. */
static void labels(struct rs_prom *p, const char *key, const char *value, const char *extra)
{
    if (!key && !extra)
        return;
    put(p, "{");
    if (key) {
        put(p, "%s=\"", key);
        for (const char *c = value; *c; c++)
            put(p, *c == '\\' ? "\\\\" : *c == '"' ? "\\\"" : *c == '\n' ? "\\n" : "%c", *c);
        put(p, "\"%s", extra ? "," : "");
    }
    put(p, "%s}", extra ? extra : "");
}

/* A value as the format writes floats: Go's ParseFloat reads %.17g back
 * exactly; infinities and NaN are spelled out. */
static void value(struct rs_prom *p, double v)
{
    if (isnan(v))
        put(p, " NaN\n");
    else if (isinf(v))
        put(p, v > 0 ? " +Inf\n" : " -Inf\n");
    else
        put(p, " %.17g\n", v);
}

void rs_prom_sample(struct rs_prom *p, const char *name, const char *key, const char *val, double v)
{
    put(p, "%s", name);
    labels(p, key, val, NULL);
    value(p, v);
}

void rs_prom_histogram(struct rs_prom *p, const char *name, const char *key, const char *val,
                       struct rs_latency *h)
{
    char le[64];
    uint64_t counts[RS_LATENCY_BUCKETS], total = rs_latency_snapshot(h, counts), below = 0;
    for (int k = FIRST_LOG2_NS, b = 0; k <= LAST_LOG2_NS; k++) {
        for (; b < 8 * k; b++) /* the log buckets under 2^k ns */
            below += counts[b];
        snprintf(le, sizeof le, "le=\"%.9g\"", ldexp(1, k) * 1e-9);
        put(p, "%s_bucket", name);
        labels(p, key, val, le);
        value(p, (double)below);
    }
    put(p, "%s_bucket", name);
    labels(p, key, val, "le=\"+Inf\"");
    value(p, (double)total);
    put(p, "%s_sum", name);
    labels(p, key, val, NULL);
    value(p, rs_latency_sum(h));
    put(p, "%s_count", name);
    labels(p, key, val, NULL);
    value(p, (double)total);
}

void rs_prom_free(struct rs_prom *p)
{
    free(p->text);
    memset(p, 0, sizeof *p);
}
