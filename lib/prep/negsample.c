/* negsample.c - negative samplers and their log-probabilities (formulas in
 * negsample.h). Every catalogue draw is O(1): uniform is one bounded
 * integer, popularity^alpha an alias-table draw (alias.h), log-uniform the
 * inverse CDF floor(exp(u * ln(n+1))) - 1 of its rank distribution. */
#include "prep/negsample.h"
#include "core/err.h"
#include "index/knn.h"
#include "core/pairset.h"
#include "core/rng.h"
#include "io/rsb.h"
#include "core/strmap.h"
#include "nn/tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[RS_NEG_NKINDS] = { "uniform", "popularity", "loguniform", "impressions",
                                                       "nearest" };

int rs_neg_kind_parse(const char *name, size_t len)
{
    for (int k = 0; k < RS_NEG_NKINDS; k++)
        if (strlen(kind_names[k]) == len && memcmp(kind_names[k], name, len) == 0)
            return k;
    return rs_err_set(RS_ERR_USAGE, "unknown strategy '%.*s' (expected uniform, popularity, loguniform, "
                                    "impressions or nearest)", (int)len, name);
}

const char *rs_neg_kind_name(int kind)
{
    return kind >= 0 && kind < RS_NEG_NKINDS ? kind_names[kind] : "?";
}

/* Most counted first, ties to the lower index. */
static int by_count(const void *a, const void *b, void *count)
{
    const double *c = count;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (c[x] != c[y])
        return c[x] > c[y] ? -1 : 1;
    return (x > y) - (x < y);
}

int rs_negsampler_init(struct rs_negsampler *s, const double *count, size_t n, const double *ratio, double alpha)
{
    memset(s, 0, sizeof *s);
    double sum = 0;
    for (int k = 0; k < RS_NEG_NKINDS; k++) {
        if (!(ratio[k] >= 0) || !isfinite(ratio[k]))
            return rs_err_set(RS_ERR_USAGE, "strategy ratio %g is not >= 0", ratio[k]);
        sum += ratio[k];
    }
    if (!(sum > 0))
        return rs_err_set(RS_ERR_USAGE, "no sampling strategy has a positive ratio");
    if (n == 0 || n >= UINT32_MAX)
        return rs_err_set(RS_ERR_USAGE, "catalogue of %zu items (need 1 to 2^32-2)", n);
    if (!(alpha >= 0) || !isfinite(alpha))
        return rs_err_set(RS_ERR_USAGE, "popularity exponent %g is not >= 0", alpha);
    s->n = n;
    s->alpha = alpha;
    memcpy(s->ratio, ratio, sizeof s->ratio);
    s->count = xmalloc(n * sizeof *s->count);
    s->q_pop = xmalloc(n * sizeof *s->q_pop);
    s->q_logu = xmalloc(n * sizeof *s->q_logu);
    s->rank_item = xmalloc(n * sizeof *s->rank_item);
    for (size_t i = 0; i < n; i++) {
        s->count[i] = count[i];
        s->total += count[i];
        s->q_pop[i] = count[i] > 0 ? pow(count[i], alpha) : 0;
        s->rank_item[i] = (uint32_t)i;
    }
    int rc = 0;
    if (ratio[RS_NEG_POPULARITY] > 0 && (rc = rs_alias_init(&s->pop, s->q_pop, n)) < 0) {
        rs_negsampler_free(s);
        return rs_err_set(RS_ERR_USAGE, "popularity sampling needs a positive count");
    }
    for (size_t i = 0; i < n && s->pop.total > 0; i++)
        s->q_pop[i] /= s->pop.total;
    qsort_r(s->rank_item, n, sizeof *s->rank_item, by_count, s->count);
    double lnn = log((double)n + 1);
    for (size_t r = 0; r < n; r++)
        s->q_logu[s->rank_item[r]] = log(((double)r + 2) / ((double)r + 1)) / lnn;
    return 0;
}

void rs_negsampler_free(struct rs_negsampler *s)
{
    free(s->count);
    free(s->q_pop);
    free(s->q_logu);
    free(s->rank_item);
    rs_alias_free(&s->pop);
    memset(s, 0, sizeof *s);
}

double rs_negsampler_freq_logq(const struct rs_negsampler *s, uint32_t item)
{
    return log(s->count[item] / s->total);
}

/* q_s(i) of a catalogue strategy (uniform, popularity, loguniform). */
static double negsampler_q(const struct rs_negsampler *s, int kind, uint32_t item)
{
    switch (kind) {
    case RS_NEG_UNIFORM: return 1.0 / (double)s->n;
    case RS_NEG_POPULARITY: return s->q_pop[item];
    case RS_NEG_LOGUNIFORM: return s->q_logu[item];
    default: return 0;
    }
}

static uint32_t draw_catalogue(const struct rs_negsampler *s, int kind, struct rs_rng *g)
{
    if (kind == RS_NEG_UNIFORM)
        return (uint32_t)rs_rng_below(g, s->n);
    if (kind == RS_NEG_POPULARITY)
        return rs_alias_sample(&s->pop, g);
    /* P(rank < r) = ln(r+1)/ln(n+1): invert with one uniform */
    double r = floor(exp(rs_rng_uniform(g) * log((double)s->n + 1))) - 1;
    return s->rank_item[r < 0 ? 0 : r >= (double)s->n ? s->n - 1 : (size_t)r];
}

static int in_list(const uint32_t *l, size_t n, uint32_t item)
{
    for (size_t i = 0; i < n; i++)
        if (l[i] == item)
            return 1;
    return 0;
}

size_t rs_negsampler_draw(const struct rs_negsampler *s, const struct rs_neg_query *q, struct rs_rng *g,
                          size_t k, uint32_t *scratch, uint32_t *items, double *logq)
{
    /* hard candidates minus the user's positives */
    const uint32_t *hard[2];
    size_t nhard[2];
    for (int h = 0; h < 2; h++) {
        hard[h] = scratch;
        nhard[h] = 0;
        for (size_t i = 0; i < q->nhard[h]; i++)
            if (!rs_pairset_has(q->exclude, q->user, q->hard[h][i]))
                scratch[nhard[h]++] = q->hard[h][i];
        scratch += nhard[h];
    }
    double w[RS_NEG_NKINDS], sum = 0;
    for (int kind = 0; kind < RS_NEG_NKINDS; kind++) {
        int h = kind - RS_NEG_IMPRESSIONS;
        w[kind] = h >= 0 && nhard[h] == 0 ? 0 : s->ratio[kind];
        sum += w[kind];
    }
    if (!(sum > 0))
        return 0;
    size_t got = 0;
    for (size_t tries = 0; got < k && tries < RS_NEG_MAX_TRIES * k; tries++) {
        double u = rs_rng_uniform(g) * sum, acc = 0;
        int kind = 0;
        while (kind < RS_NEG_NKINDS - 1 && (w[kind] == 0 || u >= (acc += w[kind])))
            kind++;
        while (w[kind] == 0) /* rounding at the top end */
            kind--;
        int h = kind - RS_NEG_IMPRESSIONS;
        uint32_t item = h >= 0 ? hard[h][rs_rng_below(g, nhard[h])] : draw_catalogue(s, kind, g);
        if (h < 0 && rs_pairset_has(q->exclude, q->user, item))
            continue;
        double p = 0;
        for (int j = 0; j < RS_NEG_NKINDS; j++) {
            int hj = j - RS_NEG_IMPRESSIONS;
            if (w[j] > 0)
                p += w[j] * (hj >= 0 ? in_list(hard[hj], nhard[hj], item) / (double)nhard[hj]
                                     : negsampler_q(s, j, item));
        }
        items[got] = item;
        logq[got++] = log(p / sum);
    }
    return got;
}

/* ---- nearest lists ---- */

void rs_neg_nearest(const struct rs_embset *e, const struct rs_strmap *items, const uint8_t *want, size_t k,
                    int threads, size_t **off, uint32_t **ids, size_t *with_vec)
{
    size_t n = rs_strmap_size(items), d = e->dims, ni = 0, nq = 0, room = n ? n : 1;
    float *m = xmalloc(room * d * sizeof *m);   /* unit vectors of the catalogue items that have one */
    uint32_t *cat = xmalloc(room * sizeof *cat); /* row of m -> catalogue index */
    size_t *qrow = xmalloc(room * sizeof *qrow); /* query -> row of m */
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *id = rs_strmap_key(items, (int64_t)i, &len);
        int64_t r = rs_strmap_get(e->ids, id, len);
        if (r < 0)
            continue;
        float *v = m + ni * d, norm;
        memcpy(v, e->x + (size_t)r * d, d * sizeof *v);
        if ((norm = rs_snrm2(d, v)) > 0)
            rs_sscal(d, 1 / norm, v);
        if (want[i])
            qrow[nq++] = ni;
        cat[ni++] = (uint32_t)i;
    }
    size_t qroom = nq ? nq : 1;
    float *q = xmalloc(qroom * d * sizeof *q), *scores = xmalloc(qroom * k * sizeof *scores);
    int64_t *self = xmalloc(qroom * sizeof *self), *found = xmalloc(qroom * k * sizeof *found);
    size_t *counts = xmalloc(qroom * sizeof *counts);
    for (size_t j = 0; j < nq; j++) {
        memcpy(q + j * d, m + qrow[j] * d, d * sizeof *q);
        self[j] = (int64_t)qrow[j];
    }
    struct rs_knn_filter f = { .self = self };
    if (nq)
        rs_knn_search(q, nq, m, ni, d, k, &f, threads, found, scores, counts);
    *off = xcalloc(n + 1, sizeof **off);
    *ids = xmalloc(qroom * k * sizeof **ids);
    size_t at = 0;
    for (size_t i = 0, j = 0; i < n; i++) {
        (*off)[i] = at;
        if (j < nq && cat[qrow[j]] == i) {
            for (size_t r = 0; r < counts[j]; r++)
                (*ids)[at++] = cat[found[j * k + r]];
            j++;
        }
    }
    (*off)[n] = at;
    *with_vec = ni;
    free(m);
    free(cat);
    free(qrow);
    free(q);
    free(scores);
    free(self);
    free(found);
    free(counts);
}

/* ---- per (user, key) item lists ---- */

void rs_neg_lists_init(struct rs_neg_lists *l)
{
    memset(l, 0, sizeof *l);
    l->keys = rs_strmap_new(1024);
    l->seen = rs_pairset_new(4096);
}

void rs_neg_lists_free(struct rs_neg_lists *l)
{
    for (size_t i = 0; i < l->nlists; i++)
        free(l->item[i]);
    free(l->item);
    free(l->n);
    free(l->cap);
    rs_strmap_free(l->keys);
    rs_pairset_free(l->seen);
    memset(l, 0, sizeof *l);
}

/* The strmap key of (user, key): the user as decimal, 0x1f, the key. */
static size_t list_key(char *buf, size_t size, uint32_t user, const char *key, size_t len)
{
    int n = snprintf(buf, size, "%u\x1f%.*s", user, (int)len, key);
    return (size_t)n < size ? (size_t)n : size - 1;
}

void rs_neg_lists_add(struct rs_neg_lists *l, uint32_t user, const char *key, size_t len, uint32_t item)
{
    char buf[512];
    size_t n = list_key(buf, sizeof buf, user, key, len);
    int added;
    size_t id = (size_t)rs_strmap_put(l->keys, buf, n, &added);
    if (added && id == l->lists_cap) {
        l->lists_cap = l->lists_cap ? 2 * l->lists_cap : 256;
        l->item = xrealloc(l->item, l->lists_cap * sizeof *l->item);
        l->n = xrealloc(l->n, l->lists_cap * sizeof *l->n);
        l->cap = xrealloc(l->cap, l->lists_cap * sizeof *l->cap);
    }
    if (added) {
        l->item[id] = NULL;
        l->n[id] = l->cap[id] = 0;
        l->nlists = id + 1;
    }
    if (!rs_pairset_add(l->seen, (uint32_t)id, item))
        return;
    if (l->n[id] == l->cap[id]) {
        l->cap[id] = l->cap[id] ? 2 * l->cap[id] : 4;
        l->item[id] = xrealloc(l->item[id], l->cap[id] * sizeof *l->item[id]);
    }
    l->item[id][l->n[id]++] = item;
}

const uint32_t *rs_neg_lists_get(const struct rs_neg_lists *l, uint32_t user, const char *key, size_t len,
                                 size_t *n)
{
    char buf[512];
    int64_t id = rs_strmap_get(l->keys, buf, list_key(buf, sizeof buf, user, key, len));
    *n = id < 0 ? 0 : l->n[id];
    return id < 0 ? NULL : l->item[id];
}
