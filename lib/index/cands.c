/* cands.c - candidate-generation helpers: item order, seen sets, item
 * lists, recency-weighted counts, user segments, popularity (global or per
 * segment) and random baselines, the candidates stream. */
#include "index/cands.h"
#include "core/err.h"
#include "core/pairset.h"
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

/* ---- tables ---- */

int rs_cands_open(struct rs_tsv **t, const char *path, const char *const *cols, int *idx, size_t n)
{
    *t = NULL;
    int rc = rs_tsv_open(t, path, 0);
    for (size_t j = 0; j < n && rc == 0; j++) {
        idx[j] = -1;
        if (cols[j])
            rc = rs_tsv_require(*t, cols[j], &idx[j]);
    }
    if (rc < 0 && *t) {
        rs_tsv_close(*t);
        *t = NULL;
    }
    return rc;
}

/* ---- seen sets ---- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int rs_seen_load(struct rs_seen *s, const char *path, const char *user_col, const char *item_col,
                 const struct rs_strmap *items, uint64_t *count)
{
    memset(s, 0, sizeof *s);
    struct rs_tsv *t = NULL;
    int col[2];
    int rc = rs_cands_open(&t, path, (const char *const[]){ user_col, item_col }, col, 2), uc = col[0],
        ic = col[1];
    if (rc < 0)
        return rc;
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
    struct rs_tsv *t = NULL;
    int ic, rc = rs_cands_open(&t, path, &item_col, &ic, 1);
    *unknown = 0;
    if (rc < 0)
        return rc;
    while ((rc = rs_tsv_next(t)) == 0) {
        int64_t i = rs_strmap_get(items, rs_tsv_get(t, ic), rs_tsv_len(t, ic));
        if (i < 0)
            ++*unknown;
        else
            mark[i] = 1;
    }
    rs_tsv_close(t);
    return rc == RS_ERR_EOF ? 0 : rc;
}

/* ---- recency-weighted counts ---- */

void rs_recency_add(struct rs_recency *r, int64_t t, double half_life)
{
    if (r->w == 0) {
        r->last = t;
        r->w = 1;
    } else if (half_life <= 0) {
        r->w += 1;
        r->last = t > r->last ? t : r->last;
    } else if (t > r->last) {
        r->w = r->w * exp2((double)(r->last - t) / half_life) + 1;
        r->last = t;
    } else {
        r->w += exp2((double)(t - r->last) / half_life);
    }
}

double rs_recency_value(const struct rs_recency *r, int64_t ref, double half_life)
{
    if (half_life <= 0 || r->w == 0)
        return r->w;
    return r->w * exp2((double)(r->last - ref) / half_life);
}

struct rs_recency *rs_recency_at(struct rs_recency **a, size_t *cap, size_t i)
{
    if (i >= *cap) {
        size_t ncap = *cap ? *cap : 1024;
        while (ncap <= i)
            ncap *= 2;
        *a = xrealloc(*a, ncap * sizeof **a);
        memset(*a + *cap, 0, (ncap - *cap) * sizeof **a);
        *cap = ncap;
    }
    return *a + i;
}

/* ---- values grouped and ranked ---- */

/* Higher value first, then the lower item id. */
static int cmp_value_id(const struct rs_strmap *items, uint32_t a, double va, uint32_t b, double vb)
{
    if (va != vb)
        return va > vb ? -1 : 1;
    size_t na, nb;
    const char *ka = rs_strmap_key(items, a, &na), *kb = rs_strmap_key(items, b, &nb);
    return cmp_bytes(ka, na, kb, nb);
}

static int cmp_item_value(const void *x, const void *y, void *ctx)
{
    const struct rs_item_value *a = x, *b = y;
    return cmp_value_id(ctx, a->item, a->value, b->item, b->value);
}

void rs_cands_group(const uint32_t *group, const struct rs_item_value *v, size_t n, size_t ngroups,
                    const struct rs_strmap *items, uint64_t **off, struct rs_item_value **out)
{
    uint64_t *o = xcalloc(ngroups + 1, sizeof *o);
    struct rs_item_value *e = xmalloc((n ? n : 1) * sizeof *e);
    for (size_t j = 0; j < n; j++)
        o[group[j] + 1]++;
    for (size_t g = 0; g < ngroups; g++)
        o[g + 1] += o[g];
    uint64_t *fill = xmalloc((ngroups ? ngroups : 1) * sizeof *fill);
    memcpy(fill, o, ngroups * sizeof *fill);
    for (size_t j = 0; j < n; j++)
        e[fill[group[j]]++] = v[j];
    free(fill);
    for (size_t g = 0; g < ngroups; g++)
        qsort_r(e + o[g], o[g + 1] - o[g], sizeof *e, cmp_item_value, (void *)items);
    *off = o;
    *out = e;
}

/* ---- segments ---- */

int rs_segments_load(struct rs_segments *s, const char *path, const char *user_col, const char *seg_col)
{
    memset(s, 0, sizeof *s);
    struct rs_tsv *t = NULL;
    int col[2];
    int rc = rs_cands_open(&t, path, (const char *const[]){ user_col, seg_col }, col, 2), uc = col[0],
        sc = col[1];
    if (rc < 0)
        return rc;
    s->users = rs_strmap_new(1024);
    s->values = rs_strmap_new(64);
    size_t cap = 1024;
    s->seg = xmalloc(cap * sizeof *s->seg);
    uint64_t *first = NULL;
    size_t nfirst = 0;
    while ((rc = rs_tsv_next(t)) == 0) {
        if (rs_tsv_len(t, uc) == 0) {
            rc = rs_tsv_errf(t, uc, "empty user id");
            break;
        }
        size_t u = (size_t)rs_strmap_put(s->users, rs_tsv_get(t, uc), rs_tsv_len(t, uc), NULL);
        if ((rc = rs_tsv_key_once(t, uc, u, &first, &nfirst)) < 0)
            break;
        if (u == cap)
            s->seg = xrealloc(s->seg, (cap *= 2) * sizeof *s->seg);
        s->seg[u] = rs_tsv_len(t, sc) == 0
                        ? -1
                        : (int32_t)rs_strmap_put(s->values, rs_tsv_get(t, sc), rs_tsv_len(t, sc), NULL);
    }
    free(first);
    rs_tsv_close(t);
    if (rc != RS_ERR_EOF) {
        rs_segments_free(s);
        return rc;
    }
    return 0;
}

int32_t rs_segments_of(const struct rs_segments *s, const char *user, size_t len)
{
    int64_t u = rs_strmap_get(s->users, user, len);
    return u < 0 ? -1 : s->seg[u];
}

void rs_segments_free(struct rs_segments *s)
{
    rs_strmap_free(s->users);
    rs_strmap_free(s->values);
    free(s->seg);
    memset(s, 0, sizeof *s);
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
    return cmp_value_id(p->items, a, p->count[a], b, p->count[b]);
}

/* Per-segment ranked lists from the (segment, item) counts, pool items only. */
static void build_segments(struct rs_popular *p, const struct rs_pairmap *pairs, const struct rs_recency *acc,
                           const uint8_t *in_pool, double half_life)
{
    size_t np = rs_pairmap_size(pairs), n = 0;
    struct rs_item_value *v = xmalloc((np ? np : 1) * sizeof *v), *by_seg;
    uint32_t *seg_of = xmalloc((np ? np : 1) * sizeof *seg_of);
    for (uint32_t id = 0; id < np; id++) {
        uint32_t sg, item;
        rs_pairmap_pair(pairs, id, &sg, &item);
        double c = rs_recency_value(&acc[id], p->newest, half_life);
        if (!in_pool[item] || !(c > 0)) /* an underflowed weight counts as none */
            continue;
        seg_of[n] = sg;
        v[n++] = (struct rs_item_value){ item, c };
    }
    rs_cands_group(seg_of, v, n, p->nseg, p->items, &p->seg_off, &by_seg);
    p->seg_rank = xmalloc((n ? n : 1) * sizeof *p->seg_rank);
    p->seg_count = xmalloc((n ? n : 1) * sizeof *p->seg_count);
    p->seg_items = xmalloc((n ? n : 1) * sizeof *p->seg_items);
    for (size_t j = 0; j < n; j++) {
        p->seg_rank[j] = p->seg_items[j] = by_seg[j].item;
        p->seg_count[j] = by_seg[j].value;
    }
    for (size_t sg = 0; sg < p->nseg; sg++)
        qsort(p->seg_items + p->seg_off[sg], p->seg_off[sg + 1] - p->seg_off[sg], sizeof *p->seg_items,
              cmp_u32);
    free(by_seg);
    free(seg_of);
    free(v);
}

int rs_popular_load(struct rs_popular *p, const char *path, const struct rs_popular_opts *o)
{
    memset(p, 0, sizeof *p);
    struct rs_tsv *t = NULL;
    const char *cols[3] = { o->item_col, o->half_life > 0 ? o->time_col : NULL, o->seg ? o->user_col : NULL };
    int col[3];
    int rc = rs_cands_open(&t, path, cols, col, 3), ic = col[0], tc = col[1], uc = col[2];
    if (rc < 0)
        return rc;
    p->items = rs_strmap_new(1024);
    p->newest = INT64_MIN;
    size_t cap = 0, pcap = 0;
    struct rs_recency *acc = NULL, *pacc = NULL;
    struct rs_pairmap *pairs = o->seg ? rs_pairmap_new(1024) : NULL;
    while ((rc = rs_tsv_next(t)) == 0) {
        int64_t ts = 0;
        if (rs_tsv_len(t, ic) == 0) {
            rc = rs_tsv_errf(t, ic, "empty item id");
            break;
        }
        if (tc >= 0) {
            if ((rc = rs_tsv_get_time(t, tc, &ts)) < 0)
                break;
            p->newest = ts > p->newest ? ts : p->newest;
        }
        size_t i = (size_t)rs_strmap_put(p->items, rs_tsv_get(t, ic), rs_tsv_len(t, ic), NULL);
        rs_recency_add(rs_recency_at(&acc, &cap, i), ts, o->half_life);
        int32_t sg = uc >= 0 ? rs_segments_of(o->seg, rs_tsv_get(t, uc), rs_tsv_len(t, uc)) : -1;
        if (sg >= 0)
            rs_recency_add(rs_recency_at(&pacc, &pcap, rs_pairmap_put(pairs, (uint32_t)sg, (uint32_t)i, NULL)),
                           ts, o->half_life);
    }
    rs_tsv_close(t);
    size_t n = rs_strmap_size(p->items);
    p->count = xmalloc((n ? n : 1) * sizeof *p->count);
    for (size_t i = 0; i < n; i++)
        p->count[i] = rs_recency_value(&acc[i], p->newest, o->half_life);
    free(acc);
    if (rc != RS_ERR_EOF) {
        rs_pairmap_free(pairs);
        free(pacc);
        rs_popular_free(p);
        return rc;
    }
    double thr = 0;
    if (n > 0) {
        double *sorted = xmalloc(n * sizeof *sorted);
        memcpy(sorted, p->count, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, cmp_double);
        double pos = o->quantile * (double)(n - 1);
        size_t lo = (size_t)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
        thr = sorted[lo] + (pos - (double)lo) * (sorted[hi] - sorted[lo]);
        free(sorted);
    }
    p->rank = xmalloc((n ? n : 1) * sizeof *p->rank);
    uint8_t *in_pool = xcalloc(n ? n : 1, 1);
    for (size_t i = 0; i < n; i++)
        if (p->count[i] >= thr) {
            p->rank[p->npool++] = (uint32_t)i;
            in_pool[i] = 1;
        }
    qsort_r(p->rank, p->npool, sizeof *p->rank, cmp_pop, p);
    if (o->seg) {
        p->nseg = rs_strmap_size(o->seg->values);
        build_segments(p, pairs, pacc, in_pool, o->half_life);
        rs_pairmap_free(pairs);
        free(pacc);
    }
    free(in_pool);
    return 0;
}

size_t rs_popular_pick(const struct rs_popular *p, int32_t seg, size_t k, const struct rs_knn_filter *f,
                       size_t q, int64_t *ids, float *scores)
{
    size_t got = 0;
    const uint32_t *own = NULL;
    size_t nown = 0;
    if (seg >= 0 && (size_t)seg < p->nseg) {
        uint64_t b = p->seg_off[seg], e = p->seg_off[seg + 1];
        for (uint64_t r = b; r < e && got < k; r++) {
            uint32_t i = p->seg_rank[r];
            if (rs_knn_filtered(f, q, i))
                continue;
            ids[got] = i;
            scores[got++] = (float)p->seg_count[r];
        }
        own = p->seg_items + b;
        nown = e - b;
    }
    /* The pool by global count; after a segment's own items, the rest
     * score 0, their count in the segment. */
    for (size_t r = 0; r < p->npool && got < k; r++) {
        uint32_t i = p->rank[r];
        if (rs_knn_filtered(f, q, i) || (nown && bsearch(&i, own, nown, sizeof *own, cmp_u32)))
            continue;
        ids[got] = i;
        scores[got++] = own ? 0.0f : (float)p->count[i];
    }
    return got;
}

void rs_popular_free(struct rs_popular *p)
{
    rs_strmap_free(p->items);
    free(p->count);
    free(p->rank);
    free(p->seg_off);
    free(p->seg_rank);
    free(p->seg_count);
    free(p->seg_items);
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

int rs_cands_header(struct rs_writer *w, const char *query_col, const char *item_col)
{
    return rs_writer_put_field(w, query_col, strlen(query_col)) | rs_writer_putc(w, '\t') |
           rs_writer_put_field(w, item_col, strlen(item_col)) | rs_writer_printf(w, "\trank\tscore\n");
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
