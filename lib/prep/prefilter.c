/* prefilter.c - interaction table, k-core, item popularity and ranking. */
#include "prep/prefilter.h"
#include "core/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void rs_inter_init(struct rs_inter *t)
{
    memset(t, 0, sizeof *t);
}

void rs_inter_free(struct rs_inter *t)
{
    free(t->user);
    free(t->item);
    free(t->live);
    memset(t, 0, sizeof *t);
}

void rs_inter_add(struct rs_inter *t, uint32_t u, uint32_t i)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap + t->cap / 2 : 1 << 16;
        t->user = xrealloc(t->user, t->cap * sizeof *t->user);
        t->item = xrealloc(t->item, t->cap * sizeof *t->item);
        t->live = xrealloc(t->live, t->cap);
    }
    t->user[t->n] = u;
    t->item[t->n] = i;
    t->live[t->n++] = 1;
    if (u >= t->nusers)
        t->nusers = (size_t)u + 1;
    if (i >= t->nitems)
        t->nitems = (size_t)i + 1;
}

void rs_inter_stats(const struct rs_inter *t, struct rs_inter_stats *s)
{
    uint8_t *seen_u = xcalloc(t->nusers + 1, 1), *seen_i = xcalloc(t->nitems + 1, 1);
    memset(s, 0, sizeof *s);
    for (size_t r = 0; r < t->n; r++) {
        if (!t->live[r])
            continue;
        s->rows++;
        s->users += !seen_u[t->user[r]];
        s->items += !seen_i[t->item[r]];
        seen_u[t->user[r]] = seen_i[t->item[r]] = 1;
    }
    free(seen_u);
    free(seen_i);
}

void rs_inter_drop_items(struct rs_inter *t, const uint8_t *drop)
{
    for (size_t r = 0; r < t->n; r++)
        if (drop[t->item[r]])
            t->live[r] = 0;
}

int rs_inter_kcore(struct rs_inter *t, uint64_t min_user, uint64_t min_item)
{
    uint64_t *ucnt = xcalloc(t->nusers + 1, sizeof *ucnt), *icnt = xcalloc(t->nitems + 1, sizeof *icnt);
    for (size_t r = 0; r < t->n; r++)
        if (t->live[r]) {
            ucnt[t->user[r]]++;
            icnt[t->item[r]]++;
        }
    int sweeps = 0, changed = 1;
    /* Counts only fall, so a row dropped in one sweep stays dropped in the
     * core; repeated sweeps reach the fixed point. */
    while (changed) {
        changed = 0;
        sweeps++;
        for (size_t r = 0; r < t->n; r++) {
            uint32_t u = t->user[r], i = t->item[r];
            if (t->live[r] && (ucnt[u] < min_user || icnt[i] < min_item)) {
                t->live[r] = 0;
                ucnt[u]--;
                icnt[i]--;
                changed = 1;
            }
        }
    }
    free(ucnt);
    free(icnt);
    return sweeps;
}

static int u64_cmp(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return (a > b) - (a < b);
}

void rs_inter_popularity(const struct rs_inter *t, int distinct_users, uint64_t *pop)
{
    memset(pop, 0, t->nitems * sizeof *pop);
    if (!distinct_users) {
        for (size_t r = 0; r < t->n; r++)
            pop[t->item[r]] += t->live[r];
        return;
    }
    size_t m = 0;
    uint64_t *pairs = xmalloc((t->n + 1) * sizeof *pairs);
    for (size_t r = 0; r < t->n; r++)
        if (t->live[r])
            pairs[m++] = (uint64_t)t->item[r] << 32 | t->user[r];
    qsort(pairs, m, sizeof *pairs, u64_cmp);
    for (size_t k = 0; k < m; k++)
        if (k == 0 || pairs[k] != pairs[k - 1])
            pop[pairs[k] >> 32]++;
    free(pairs);
}

struct ranked {
    uint64_t pop;
    uint32_t id;
};

static int rank_cmp(const void *pa, const void *pb)
{
    const struct ranked *a = pa, *b = pb;
    if (a->pop != b->pop)
        return a->pop > b->pop ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

size_t rs_inter_rank_items(const struct rs_inter *t, const uint64_t *pop, uint32_t *order)
{
    size_t m = 0;
    struct ranked *r = xmalloc((t->nitems + 1) * sizeof *r);
    for (size_t i = 0; i < t->nitems; i++)
        if (pop[i])
            r[m++] = (struct ranked){ pop[i], (uint32_t)i };
    qsort(r, m, sizeof *r, rank_cmp);
    for (size_t k = 0; k < m; k++)
        order[k] = r[k].id;
    free(r);
    return m;
}

/* ---- rules ---- */

struct run {
    struct rs_inter *t;
    uint8_t *drop;
    struct rs_inter_stats before;
    int (*report)(void *ctx, const struct rs_prefilter_step *s);
    void *ctx;
};

/* Clears the rows of the items marked in drop, reports the rule, clears drop. */
static int step(struct run *r, const char *rule)
{
    struct rs_prefilter_step s = { rule };
    rs_inter_drop_items(r->t, r->drop);
    memset(r->drop, 0, r->t->nitems);
    rs_inter_stats(r->t, &s.left);
    s.removed.rows = r->before.rows - s.left.rows;
    s.removed.users = r->before.users - s.left.users;
    s.removed.items = r->before.items - s.left.items;
    r->before = s.left;
    return r->report(r->ctx, &s);
}

static size_t cut_count(const struct rs_prefilter_cut *c, size_t m)
{
    double n = c->pct ? floor(c->v * (double)m / 100.0 + 1e-9) : c->v;
    return n > (double)m ? m : (size_t)n;
}

static int item_rules(struct run *r, const struct rs_prefilter_rules *ru, const struct rs_prefilter_items *it)
{
    size_t ni = r->t->nitems;
    int rc = 0;
    if (ru->min_price > -INFINITY || ru->max_price < INFINITY) {
        for (size_t i = 0; i < ni; i++) /* NaN compares false: kept */
            r->drop[i] = it->price[i] < ru->min_price || it->price[i] > ru->max_price;
        rc = step(r, "price");
    }
    if (rc == 0 && ru->min_category_items) {
        int32_t ncat = 0;
        for (size_t i = 0; i < ni; i++)
            ncat = it->category[i] >= ncat ? it->category[i] + 1 : ncat;
        uint64_t *cnt = xcalloc((size_t)ncat + 1, sizeof *cnt);
        for (size_t i = 0; i < ni; i++)
            cnt[it->category[i] + 1]++;
        for (size_t i = 0; i < ni; i++)
            r->drop[i] = it->category[i] >= 0 && cnt[it->category[i] + 1] < ru->min_category_items;
        free(cnt);
        rc = step(r, "category");
    }
    if (rc == 0 && ru->recency) {
        int64_t oldest;
        if (__builtin_sub_overflow(ru->now, ru->recency, &oldest)) /* reaches past the earliest time */
            oldest = INT64_MIN;
        for (size_t i = 0; i < ni; i++)
            r->drop[i] = it->last[i] < oldest;
        rc = step(r, "recency");
    }
    return rc;
}

/* Rules 4 and 5 rank the same items: those left after rule 3. */
static int popularity_rules(struct run *r, const struct rs_prefilter_rules *ru, uint64_t *pop, uint32_t *order)
{
    rs_inter_popularity(r->t, ru->popularity_users, pop);
    size_t m = rs_inter_rank_items(r->t, pop, order);
    size_t ntop = cut_count(&ru->top, m), nbottom = cut_count(&ru->bottom, m);
    int rc = 0;
    for (size_t k = 0; k < ntop; k++)
        r->drop[order[k]] = 1;
    if (ru->top.v > 0)
        rc = step(r, "popular");
    for (size_t k = m - nbottom; k < m; k++)
        r->drop[order[k]] = 1;
    if (rc == 0 && ru->bottom.v > 0)
        rc = step(r, "unpopular");
    return rc;
}

static int top_n(struct run *r, const struct rs_prefilter_rules *ru, uint8_t *mapped, uint64_t *pop, uint32_t *order)
{
    rs_inter_popularity(r->t, ru->popularity_users, pop);
    size_t m = rs_inter_rank_items(r->t, pop, order), keep = m < ru->top_n ? m : (size_t)ru->top_n;
    for (size_t k = keep; k < m; k++)
        mapped[order[k]] = 1;
    struct rs_prefilter_step s = { "top-n", { 0, 0, m - keep }, r->before };
    s.left.items = keep + (m > keep);
    return r->report(r->ctx, &s);
}

int rs_prefilter_apply(struct rs_inter *t, const struct rs_prefilter_rules *ru, const struct rs_prefilter_items *it,
                       uint8_t *mapped, int (*report)(void *ctx, const struct rs_prefilter_step *s), void *ctx)
{
    struct run r = { t, xcalloc(t->nitems + 1, 1), { 0 }, report, ctx };
    uint64_t *pop = xcalloc(t->nitems + 1, sizeof *pop);
    uint32_t *order = xcalloc(t->nitems + 1, sizeof *order);
    struct rs_prefilter_step in = { "input" };
    rs_inter_stats(t, &in.left);
    r.before = in.left;
    int rc = report(ctx, &in);
    if (rc == 0)
        rc = item_rules(&r, ru, it);
    if (rc == 0 && (ru->top.v > 0 || ru->bottom.v > 0))
        rc = popularity_rules(&r, ru, pop, order);
    if (rc == 0 && (ru->min_user > 1 || ru->min_item > 1)) {
        rs_inter_kcore(t, ru->min_user, ru->min_item);
        rc = step(&r, "kcore");
    }
    if (rc == 0 && ru->top_n)
        rc = top_n(&r, ru, mapped, pop, order);
    free(r.drop);
    free(pop);
    free(order);
    return rc;
}
