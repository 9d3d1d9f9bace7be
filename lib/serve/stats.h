/* stats.h - what rs-serve counts while it serves, and its two
 * expositions: Prometheus text (prom.h) on /metrics and the JSON of
 * /metrics.json (schemas/serve.md lists both). Counters are atomics, so
 * request threads add to them without a lock. */
#ifndef RS_STATS_H
#define RS_STATS_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "serve/latency.h"
#include "serve/prom.h"
#include "serve/reco.h"

enum rs_ep { RS_EP_RECOMMEND, RS_EP_SIMILAR, RS_EP_SCORE, RS_EP_FEEDBACK, RS_EP_OTHER, RS_NEP };

/* What became of a POST /feedback. */
enum rs_fb_result { RS_FB_ACCEPTED, RS_FB_UNAUTHORIZED, RS_FB_RATE_LIMITED, RS_FB_INVALID, RS_FB_WRITE_FAILED,
                    RS_FB_NRESULTS };

#define RS_STATS_MAX_ARMS 64 /* arm names seen since the start, across reloads */

/* One arm's counters (schemas/serve.md): lists served, and what /feedback
 * recorded for them. */
struct rs_arm_stats {
    char name[65];
    atomic_uint_fast64_t requests, impressions, clicks, conversions;
    double revenue;                                  /* under the stats' arm_lock */
};

struct rs_serve_stats {
    struct rs_latency latency[RS_NEP];
    atomic_uint_fast64_t status[6];                  /* by hundreds: 2xx..5xx */
    atomic_uint_fast64_t sources[RS_RECO_SRC_LAST + 1];
    atomic_uint_fast64_t reloads, reload_failures;
    atomic_uint_fast64_t log_errors;                 /* access log lines not written */
    atomic_uint_fast64_t feedback[RS_FB_NRESULTS];   /* POST /feedback by result */
    atomic_int_fast64_t in_flight;
    pthread_mutex_t arm_lock;
    size_t narms;
    struct rs_arm_stats arm[RS_STATS_MAX_ARMS];
};

#define RS_SERVE_STATS_INIT { .arm_lock = PTHREAD_MUTEX_INITIALIZER }

/* The counters of the arm named name, added when new; NULL once
 * RS_STATS_MAX_ARMS names were seen (that arm is then not counted). */
struct rs_arm_stats *rs_stats_arm(struct rs_serve_stats *s, const char *name);
/* Adds value to the arm's revenue. */
void rs_stats_revenue(struct rs_serve_stats *s, struct rs_arm_stats *a, double value);

/* "recommend", "similar", "score", "feedback", "other". */
const char *rs_ep_name(int ep);
/* The state of the server the expositions report beside the counters. */
struct rs_serve_state {
    uint64_t version;    /* the bundle's, 0: none */
    size_t items;
    int ready;           /* /readyz would answer 200 */
};
void rs_stats_prom(struct rs_serve_stats *s, const struct rs_serve_state *st, struct rs_prom *p);
json_t *rs_stats_json(struct rs_serve_stats *s, const struct rs_serve_state *st);

#endif
