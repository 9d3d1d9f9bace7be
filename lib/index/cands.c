/* cands.c - candidate-generation helpers: item order, seen sets, item
 * lists, popularity and random baselines, the candidates stream. */
#include "index/cands.h"
#include "core/err.h"
#include "io/io.h"
#include "index/knn.h"
#include "core/rng.h"
#include "io/rsb.h"
#include "core/strmap.h"
#include "io/tsv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- item order ---- */

static int cmp_bytes(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

static int cmp_ids(const void *x, const void *y, void *ctx)
{
    const struct rs_strmap *m = ctx;
    size_t na, nb;
    const char *a = rs_strmap_key(m, *(const uint32_t *)x, &na);
    const char *b = rs_strmap_key(m, *(const uint32_t *)y, &nb);
    return cmp_bytes(a, na, b, nb);
}

uint32_t *rs_cands_id_order(const struct rs_strmap *ids)
{
    size_t n = rs_strmap_size(ids);
    uint32_t *perm = xmalloc((n ? n : 1) * sizeof *perm);
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    qsort_r(perm, n, sizeof *perm, cmp_ids, (void *)ids);
    return perm;
}

void rs_cands_sort_items(struct rs_embset *e)
{
    uint32_t *perm = rs_cands_id_order(e->ids);
    float *x = xmalloc((e->n ? e->n : 1) * e->dims * sizeof *x);
    struct rs_strmap *ids = rs_strmap_new(e->n);
    for (size_t i = 0; i < e->n; i++) {
        size_t len;
        const char *key = rs_strmap_key(e->ids, perm[i], &len);
        rs_strmap_put(ids, key, len, NULL);
        memcpy(x + i * e->dims, e->x + (size_t)perm[i] * e->dims, e->dims * sizeof *x);
    }
    free(e->x);
    rs_strmap_free(e->ids);
    e->x = x;
    e->ids = ids;
    free(perm);
}

/* ---- seen sets ---- */

int rs_seen_load(struct rs_seen *s, const char *path, const char *user_col, const char *item_col,
                 const struct rs_strmap *items, uint64_t *count)
{
    memset(s, 0, sizeof *s);
    struct rs_tsv *t;
    int rc = rs_tsv_open(&t, path, 0), uc, ic;
    if (rc < 0)
        return rc;
    if ((rc = rs_tsv_require(t, user_col, &uc)) < 0 || (rc = rs_tsv_require(t, item_col, &ic)) < 0) {
        rs_tsv_close(t);
        return rc;
    }
    s->users = rs_strmap_new(1024);
    size_t n = 0, cap = 1024;
    uint32_t *pu = xmalloc(cap * sizeof *pu), *pi = xmalloc(cap * sizeof *pi);
    while ((rc = rs_tsv_next(t)) == 0) {
        int64_t item = rs_strmap_get(items, rs_tsv_get(t, ic), rs_tsv_len(t, ic));
        if (item < 0)
            continue;
        if (n == cap) {
            cap *= 2;
            pu = xrealloc(pu, cap * sizeof *pu);
            pi = xrealloc(pi, cap * sizeof *pi);
        }
        pu[n] = (uint32_t)rs_strmap_put(s->users, rs_tsv_get(t, uc), rs_tsv_len(t, uc), NULL);
        pi[n++] = (uint32_t)item;
        if (count)
            count[item]++;
    }
    rs_tsv_close(t);
    if (rc == RS_ERR_EOF) {
        size_t nu = rs_strmap_size(s->users);
        s->off = xcalloc(nu + 1, sizeof *s->off);
        s->item = xmalloc((n ? n : 1) * sizeof *s->item);
        for (size_t j = 0; j < n; j++)
            s->off[pu[j] + 1]++;
        for (size_t u = 0; u < nu; u++)
            s->off[u + 1] += s->off[u];
        uint64_t *fill = xmalloc((nu ? nu : 1) * sizeof *fill);
        memcpy(fill, s->off, nu * sizeof *fill);
        for (size_t j = 0; j < n; j++)
            s->item[fill[pu[j]]++] = pi[j];
        free(fill);
        /* Sort and dedupe each user's items, compacting in place. */
        uint64_t w = 0;
        for (size_t u = 0; u < nu; u++) {
            uint64_t b = s->off[u], e = s->off[u + 1];
            rs_knn_sort_excl(s->item + b, e - b);
            s->off[u] = w;
            for (uint64_t j = b; j < e; j++)
                if (j == b || s->item[j] != s->item[j - 1])
                    s->item[w++] = s->item[j];
        }
        s->off[nu] = w;
        rc = 0;
    } else {
        rs_seen_free(s);
    }
    free(pu);
    free(pi);
    return rc;
}

const uint32_t *rs_seen_get(const struct rs_seen *s, const char *user, size_t len, size_t *n)
{
    int64_t u = s->users ? rs_strmap_get(s->users, user, len) : -1;
    *n = u < 0 ? 0 : s->off[u + 1] - s->off[u];
    return u < 0 ? NULL : s->item + s->off[u];
}

void rs_seen_free(struct rs_seen *s)
{
    rs_strmap_free(s->users);
    free(s->off);
    free(s->item);
    memset(s, 0, sizeof *s);
}

void rs_seen_batch_reset(struct rs_seen_batch *b)
{
    b->n = 0;
    if (!b->off)
        b->off = xmalloc((b->cap_off = 64) * sizeof *b->off);
    b->off[0] = 0;
}

void rs_seen_batch_add(struct rs_seen_batch *b, const struct rs_seen *s, const char *user, size_t len)
{
    size_t n;
    const uint32_t *it = rs_seen_get(s, user, len, &n);
    if (b->n + 2 > b->cap_off)
        b->off = xrealloc(b->off, (b->cap_off *= 2) * sizeof *b->off);
    size_t at = b->off[b->n];
    if (at + n > b->cap_item) {
        b->cap_item = 2 * (at + n);
        b->item = xrealloc(b->item, b->cap_item * sizeof *b->item);
    }
    if (n)
        memcpy(b->item + at, it, n * sizeof *it);
    b->off[++b->n] = at + n;
}

void rs_seen_batch_free(struct rs_seen_batch *b)
{
    free(b->off);
    free(b->item);
    memset(b, 0, sizeof *b);
}

/* ---- item lists ---- */

int rs_cands_mark_items(const char *path, const char *item_col, const struct rs_strmap *items,
                        uint8_t *mark, size_t *unknown)
{
    struct rs_tsv *t;
    int rc = rs_tsv_open(&t, path, 0), ic;
    *unknown = 0;
    if (rc < 0)
        return rc;
    if ((rc = rs_tsv_require(t, item_col, &ic)) == 0) {
        while ((rc = rs_tsv_next(t)) == 0) {
            int64_t i = rs_strmap_get(items, rs_tsv_get(t, ic), rs_tsv_len(t, ic));
            if (i < 0)
                ++*unknown;
            else
                mark[i] = 1;
        }
        if (rc == RS_ERR_EOF)
            rc = 0;
    }
    rs_tsv_close(t);
    return rc;
}

/* ---- popularity ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_pop(const void *x, const void *y, void *ctx)
{
    const struct rs_popular *p = ctx;
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    if (p->count[a] != p->count[b])
        return p->count[a] > p->count[b] ? -1 : 1;
    size_t na, nb;
    const char *ka = rs_strmap_key(p->items, a, &na), *kb = rs_strmap_key(p->items, b, &nb);
    return cmp_bytes(ka, na, kb, nb);
}

int rs_popular_load(struct rs_popular *p, const char *path, const char *item_col, double quantile)
{
    memset(p, 0, sizeof *p);
    struct rs_tsv *t;
    int rc = rs_tsv_open(&t, path, 0), ic;
    if (rc < 0)
        return rc;
    if ((rc = rs_tsv_require(t, item_col, &ic)) < 0) {
        rs_tsv_close(t);
        return rc;
    }
    p->items = rs_strmap_new(1024);
    size_t cap = 1024;
    p->count = xcalloc(cap, sizeof *p->count);
    while ((rc = rs_tsv_next(t)) == 0) {
        if (rs_tsv_len(t, ic) == 0) {
            rc = rs_tsv_errf(t, ic, "empty item id");
            break;
        }
        size_t i = (size_t)rs_strmap_put(p->items, rs_tsv_get(t, ic), rs_tsv_len(t, ic), NULL);
        if (i == cap) {
            p->count = xrealloc(p->count, 2 * cap * sizeof *p->count);
            memset(p->count + cap, 0, cap * sizeof *p->count);
            cap *= 2;
        }
        p->count[i] += 1;
    }
    rs_tsv_close(t);
    if (rc != RS_ERR_EOF) {
        rs_popular_free(p);
        return rc;
    }
    size_t n = rs_strmap_size(p->items);
    double thr = 0;
    if (n > 0) {
        double *sorted = xmalloc(n * sizeof *sorted);
        memcpy(sorted, p->count, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, cmp_double);
        double pos = quantile * (double)(n - 1);
        size_t lo = (size_t)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
        thr = sorted[lo] + (pos - (double)lo) * (sorted[hi] - sorted[lo]);
        free(sorted);
    }
    p->rank = xmalloc((n ? n : 1) * sizeof *p->rank);
    for (size_t i = 0; i < n; i++)
        if (p->count[i] >= thr)
            p->rank[p->npool++] = (uint32_t)i;
    qsort_r(p->rank, p->npool, sizeof *p->rank, cmp_pop, p);
    return 0;
}

size_t rs_popular_pick(const struct rs_popular *p, size_t k, const struct rs_knn_filter *f, size_t q,
                       int64_t *ids, float *scores)
{
    size_t got = 0;
    for (size_t r = 0; r < p->npool && got < k; r++) {
        uint32_t i = p->rank[r];
        if (rs_knn_filtered(f, q, i))
            continue;
        ids[got] = i;
        scores[got++] = (float)p->count[i];
    }
    return got;
}

void rs_popular_free(struct rs_popular *p)
{
    rs_strmap_free(p->items);
    free(p->count);
    free(p->rank);
    memset(p, 0, sizeof *p);
}

/* ---- random ---- */

static void sort_by_score(int64_t *ids, float *scores, size_t n)
{
    for (size_t i = 1; i < n; i++) /* insertion sort: n is a k */
        for (size_t j = i; j > 0 && (scores[j] > scores[j - 1] ||
                                     (scores[j] == scores[j - 1] && ids[j] < ids[j - 1])); j--) {
            float s = scores[j];
            int64_t id = ids[j];
            scores[j] = scores[j - 1];
            ids[j] = ids[j - 1];
            scores[j - 1] = s;
            ids[j - 1] = id;
        }
}

size_t rs_random_pick(size_t n, size_t k, const struct rs_knn_filter *f, size_t q, struct rs_rng *g,
                      uint32_t *stamp, uint32_t *gen, int64_t *ids, float *scores)
{
    if (++*gen == 0) { /* wrapped: stale stamps could alias */
        memset(stamp, 0, n * sizeof *stamp);
        *gen = 1;
    }
    size_t got = 0;
    /* Rejection sampling; when most items are filtered, a sweep from a
     * random start finds whatever is left, so k results are never lost. */
    for (size_t tries = 0; got < k && n > 0 && tries < 8 * k + 64; tries++) {
        size_t i = rs_rng_below(g, n);
        if (stamp[i] == *gen || rs_knn_filtered(f, q, i))
            continue;
        stamp[i] = *gen;
        ids[got] = (int64_t)i;
        scores[got++] = (float)rs_rng_uniform(g);
    }
    size_t start = n ? rs_rng_below(g, n) : 0;
    for (size_t j = 0; got < k && j < n; j++) {
        size_t i = (start + j) % n;
        if (stamp[i] == *gen || rs_knn_filtered(f, q, i))
            continue;
        stamp[i] = *gen;
        ids[got] = (int64_t)i;
        scores[got++] = (float)rs_rng_uniform(g);
    }
    sort_by_score(ids, scores, got);
    return got;
}

/* ---- the candidates stream ---- */

int rs_cands_header(struct rs_writer *w, const char *query_col)
{
    return rs_writer_put_field(w, query_col, strlen(query_col)) |
           rs_writer_printf(w, "\titem_id\trank\tscore\n");
}

int rs_cands_write(struct rs_writer *w, const char *query, size_t qlen, const struct rs_strmap *items,
                   const int64_t *ids, const float *scores, size_t n)
{
    int rc = 0;
    for (size_t r = 0; r < n && rc == 0; r++) {
        size_t len;
        const char *item = rs_strmap_key(items, ids[r], &len);
        rc |= rs_writer_put_field(w, query, qlen);
        rc |= rs_writer_putc(w, '\t');
        rc |= rs_writer_put_field(w, item, len);
        rc |= rs_writer_printf(w, "\t%zu\t", r + 1);
        rc |= rs_writer_put_float(w, scores[r]);
        rc |= rs_writer_putc(w, '\n');
    }
    return rc;
}
