/* stats.c - rs-serve's counters in Prometheus text and JSON (see stats.h). */
#include "serve/stats.h"

#include <string.h>

const char *rs_ep_name(int ep)
{
    static const char *const names[RS_NEP] = { "recommend", "similar", "score", "feedback", "other" };
    return names[ep];
}

static double load(atomic_uint_fast64_t *x)
{
    return (double)atomic_load_explicit(x, memory_order_relaxed);
}

struct rs_arm_stats *rs_stats_arm(struct rs_serve_stats *s, const char *name)
{
    struct rs_arm_stats *a = NULL;
    pthread_mutex_lock(&s->arm_lock);
    for (size_t i = 0; i < s->narms && !a; i++)
        if (strcmp(s->arm[i].name, name) == 0)
            a = &s->arm[i];
    if (!a && s->narms < RS_STATS_MAX_ARMS && strlen(name) < sizeof a->name) {
        a = &s->arm[s->narms++];
        strcpy(a->name, name);
    }
    pthread_mutex_unlock(&s->arm_lock);
    return a;
}

void rs_stats_revenue(struct rs_serve_stats *s, struct rs_arm_stats *a, double value)
{
    pthread_mutex_lock(&s->arm_lock);
    a->revenue += value;
    pthread_mutex_unlock(&s->arm_lock);
}

/* The per-arm counters: one family each, one sample per arm. */
static void arms_prom(struct rs_serve_stats *s, struct rs_prom *p)
{
    static const char *const names[5][2] = {
        { "rs_serve_arm_requests_total", "Lists served by the arm." },
        { "rs_serve_arm_impressions_total", "Impressions /feedback recorded for the arm's lists." },
        { "rs_serve_arm_clicks_total", "Clicks /feedback recorded for the arm's lists." },
        { "rs_serve_arm_conversions_total", "Bookings and purchases /feedback recorded for the arm's lists." },
        { "rs_serve_arm_revenue_total", "Sum of the purchase values /feedback recorded for the arm's lists." },
    };
    pthread_mutex_lock(&s->arm_lock);
    for (int f = 0; f < 5; f++) {
        rs_prom_family(p, names[f][0], "counter", names[f][1]);
        for (size_t i = 0; i < s->narms; i++) {
            struct rs_arm_stats *a = &s->arm[i];
            double v = f == 0 ? load(&a->requests) : f == 1 ? load(&a->impressions) : f == 2 ? load(&a->clicks)
                     : f == 3 ? load(&a->conversions) : a->revenue;
            rs_prom_sample(p, names[f][0], "arm", a->name, v);
        }
    }
    pthread_mutex_unlock(&s->arm_lock);
}

void rs_stats_prom(struct rs_serve_stats *s, const struct rs_serve_state *st, struct rs_prom *p)
{
    static const char *const codes[6] = { "", "1xx", "2xx", "3xx", "4xx", "5xx" };
    rs_prom_family(p, "rs_serve_request_duration_seconds", "histogram",
                   "Time from a request's last byte to its answer, by endpoint.");
    for (int e = 0; e < RS_NEP; e++)
        rs_prom_histogram(p, "rs_serve_request_duration_seconds", "endpoint", rs_ep_name(e), &s->latency[e]);
    rs_prom_family(p, "rs_serve_responses_total", "counter", "Responses by status class.");
    for (int c = 2; c < 6; c++)
        rs_prom_sample(p, "rs_serve_responses_total", "code", codes[c], load(&s->status[c]));
    rs_prom_family(p, "rs_serve_lists_total", "counter", "Lists answered, by where the user's vector came from.");
    for (int src = RS_RECO_SRC_EMBEDDING; src <= RS_RECO_SRC_LAST; src++)
        rs_prom_sample(p, "rs_serve_lists_total", "source", rs_reco_source_name(src), load(&s->sources[src]));
    arms_prom(s, p);
    rs_prom_family(p, "rs_serve_reloads_total", "counter", "Bundles loaded and swapped in, the first included.");
    rs_prom_sample(p, "rs_serve_reloads_total", NULL, NULL, load(&s->reloads));
    rs_prom_family(p, "rs_serve_reload_failures_total", "counter", "Bundles refused; the old one kept serving.");
    rs_prom_sample(p, "rs_serve_reload_failures_total", NULL, NULL, load(&s->reload_failures));
    rs_prom_family(p, "rs_serve_access_log_errors_total", "counter", "Access log lines that could not be written.");
    rs_prom_sample(p, "rs_serve_access_log_errors_total", NULL, NULL, load(&s->log_errors));
    static const char *const results[RS_FB_NRESULTS] = { "accepted", "unauthorized", "rate_limited", "invalid",
                                                         "write_failed" };
    rs_prom_family(p, "rs_serve_feedback_requests_total", "counter",
                   "POST /feedback by result (write_failed: the log could not be written, e.g. a full disk; 503).");
    for (int r = 0; r < RS_FB_NRESULTS; r++)
        rs_prom_sample(p, "rs_serve_feedback_requests_total", "result", results[r], load(&s->feedback[r]));
    rs_prom_family(p, "rs_serve_in_flight_requests", "gauge", "Requests received and not yet answered.");
    rs_prom_sample(p, "rs_serve_in_flight_requests", NULL, NULL,
                   (double)atomic_load_explicit(&s->in_flight, memory_order_relaxed));
    rs_prom_family(p, "rs_serve_bundle_version", "gauge", "The version of the bundle served (1 at start).");
    rs_prom_sample(p, "rs_serve_bundle_version", NULL, NULL, (double)st->version);
    rs_prom_family(p, "rs_serve_bundle_items", "gauge", "Items of the bundle served.");
    rs_prom_sample(p, "rs_serve_bundle_items", NULL, NULL, (double)st->items);
    rs_prom_family(p, "rs_serve_ready", "gauge", "1 when /readyz answers 200.");
    rs_prom_sample(p, "rs_serve_ready", NULL, NULL, st->ready);
}

json_t *rs_stats_json(struct rs_serve_stats *s, const struct rs_serve_state *st)
{
    json_t *lat = json_object(), *src = json_object();
    for (int e = 0; e < RS_NEP; e++) {
        struct rs_latency *h = &s->latency[e];
        json_object_set_new(lat, rs_ep_name(e),
                            json_pack("{s:I, s:f, s:f, s:f, s:f}", "count", (json_int_t)rs_latency_count(h), "mean_s",
                                      rs_latency_mean(h), "p50_s", rs_latency_quantile(h, 0.5), "p90_s",
                                      rs_latency_quantile(h, 0.9), "p99_s", rs_latency_quantile(h, 0.99)));
    }
    for (int r = RS_RECO_SRC_EMBEDDING; r <= RS_RECO_SRC_LAST; r++)
        json_object_set_new(src, rs_reco_source_name(r), json_integer((json_int_t)s->sources[r]));
    json_t *arms = json_object();
    pthread_mutex_lock(&s->arm_lock);
    for (size_t i = 0; i < s->narms; i++) {
        struct rs_arm_stats *a = &s->arm[i];
        json_object_set_new(arms, a->name, json_pack("{s:I, s:I, s:I, s:I, s:f}", "requests", (json_int_t)a->requests,
                                                     "impressions", (json_int_t)a->impressions, "clicks",
                                                     (json_int_t)a->clicks, "conversions",
                                                     (json_int_t)a->conversions, "revenue", a->revenue));
    }
    pthread_mutex_unlock(&s->arm_lock);
    return json_pack("{s:o, s:o, s:{s:I, s:I, s:I, s:I}, s:o, s:I, s:I, s:I, s:I, s:I}", "arms", arms, "latency", lat, "responses",
                     "2xx", (json_int_t)s->status[2], "3xx", (json_int_t)s->status[3], "4xx",
                     (json_int_t)s->status[4], "5xx", (json_int_t)s->status[5], "sources", src, "fallbacks",
                     (json_int_t)s->sources[RS_RECO_SRC_POPULAR], "reloads", (json_int_t)s->reloads,
                     "reload_failures", (json_int_t)s->reload_failures, "version", (json_int_t)st->version,
                     "items", (json_int_t)st->items);
}
