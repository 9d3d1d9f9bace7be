/* diversify.c - filters, boosts, quotas, caps, round-robin and MMR on one
 * candidate list (see diversify.h for the order of operations). Greedy slot
 * filling: O(N * n) for score and round-robin, O(N * n * dims) for MMR, which
 * is nothing next to ranking for lists of a few hundred. */
#include "rerank/diversify.h"
#include "core/err.h"
#include "nn/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int rs_div_check(const struct rs_div_params *p)
{
    if (p->mode != RS_DIV_SCORE && p->mode != RS_DIV_ROUND_ROBIN && p->mode != RS_DIV_MMR)
        return rs_err_set(RS_ERR_USAGE, "unknown diversification mode %d", p->mode);
    if (!(p->lambda >= 0 && p->lambda <= 1))
        return rs_err_set(RS_ERR_USAGE, "MMR lambda %g is not in [0, 1]", p->lambda);
    if (p->nboost > RS_DIV_MAX_RULES || p->nquota > RS_DIV_MAX_RULES)
        return rs_err_set(RS_ERR_USAGE, "at most %d boost rules and %d quotas", RS_DIV_MAX_RULES,
                          RS_DIV_MAX_RULES);
    for (size_t q = 0; q < p->nquota; q++)
        if (!(p->share[q] >= 0 && p->share[q] <= 1))
            return rs_err_set(RS_ERR_USAGE, "quota share %g is not in [0, 1]", p->share[q]);
    for (size_t r = 0; r < p->nboost; r++)
        if (!isfinite(p->boost[r].factor))
            return rs_err_set(RS_ERR_USAGE, "boost factor is not finite");
    return 0;
}

/* The state of one re-ranking: kept candidates in sorted order, their local
 * group ids, what has been chosen so far. */
struct sel {
    struct rs_div_cand *c;
    const struct rs_div_params *p;
    size_t n;            /* kept candidates */
    size_t *idx;         /* sorted: index into c */
    size_t *grp;         /* local group of idx[k], 0..ngroups */
    size_t ngroups;
    size_t *per_group;   /* chosen per group */
    char *taken;         /* by sorted position */
    size_t need[RS_DIV_MAX_RULES], have[RS_DIV_MAX_RULES];
    uint32_t short_mask; /* quota sets with have < need, when restricting */
    double *max_sim;     /* MMR, by sorted position; -inf until a first pick */
};

static int by_score(const void *a, const void *b, void *base)
{
    const struct rs_div_cand *c = base;
    const struct rs_div_cand *x = &c[*(const size_t *)a], *y = &c[*(const size_t *)b];
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

struct gkey {
    int32_t group;
    size_t k;
};

static int by_group(const void *a, const void *b)
{
    const struct gkey *x = a, *y = b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    return (x->k > y->k) - (x->k < y->k);
}

/* Local group ids numbered by each group's best sorted position, so group
 * 0 holds the best candidate: that is also the round-robin order. A
 * negative group id is a group of its own. */
static void number_groups(struct sel *s)
{
    struct gkey *g = xmalloc((s->n ? s->n : 1) * sizeof *g);
    size_t *first = xmalloc((s->n ? s->n : 1) * sizeof *first);
    for (size_t k = 0; k < s->n; k++)
        g[k] = (struct gkey){ s->c[s->idx[k]].group, k };
    qsort(g, s->n, sizeof *g, by_group);
    /* first[k]: best sorted position of k's group */
    for (size_t i = 0, start = 0; i < s->n; i++) {
        if (i == 0 || g[i].group != g[i - 1].group || g[i].group < 0)
            start = g[i].k;
        first[g[i].k] = start;
    }
    size_t *id_of_first = xmalloc((s->n ? s->n : 1) * sizeof *id_of_first);
    s->ngroups = 0;
    for (size_t k = 0; k < s->n; k++) {
        if (first[k] == k)
            id_of_first[k] = s->ngroups++;
        s->grp[k] = id_of_first[first[k]];
    }
    free(id_of_first);
    free(first);
    free(g);
}

static void apply_boosts(struct rs_div_cand *c, const struct rs_div_params *p)
{
    for (size_t r = 0; r < p->nboost; r++)
        if (c->boost >> r & 1)
            c->score = p->boost[r].add ? c->score + p->boost[r].factor : c->score * p->boost[r].factor;
}

/* Quota sets still short: restricting once their deficits fill the slots left. */
static void update_restriction(struct sel *s, size_t slots_left)
{
    size_t deficit = 0;
    uint32_t mask = 0;
    for (size_t q = 0; q < s->p->nquota; q++)
        if (s->have[q] < s->need[q]) {
            deficit += s->need[q] - s->have[q];
            mask |= 1u << q;
        }
    s->short_mask = deficit > 0 && deficit >= slots_left ? mask : 0;
}

static int eligible(const struct sel *s, size_t k, int restrict_quota)
{
    if (s->taken[k])
        return 0;
    if (s->p->max_per_group && s->per_group[s->grp[k]] >= s->p->max_per_group)
        return 0;
    return !restrict_quota || !s->short_mask || (s->c[s->idx[k]].quota & s->short_mask);
}

/* Next pick, as a sorted position, or SIZE_MAX when none is eligible. */
static size_t pick_score(const struct sel *s, int rq)
{
    for (size_t k = 0; k < s->n; k++)
        if (eligible(s, k, rq))
            return k;
    return SIZE_MAX;
}

static size_t pick_mmr(const struct sel *s, int rq)
{
    size_t best = SIZE_MAX;
    double best_v = 0, lambda = s->p->lambda;
    for (size_t k = 0; k < s->n; k++) {
        if (!eligible(s, k, rq))
            continue;
        double sim = s->max_sim[k] == -INFINITY ? 0 : s->max_sim[k];
        double v = lambda * s->c[s->idx[k]].score - (1 - lambda) * sim;
        if (best == SIZE_MAX || v > best_v) {
            best = k;
            best_v = v;
        }
    }
    return best;
}

/* Round-robin: from group *turn on, the first group with an eligible
 * candidate gives its best; the turn passes to the group after it. */
static size_t pick_round_robin(const struct sel *s, int rq, size_t *turn)
{
    for (size_t j = 0; j < s->ngroups; j++) {
        size_t g = (*turn + j) % s->ngroups;
        for (size_t k = 0; k < s->n; k++)
            if (s->grp[k] == g && eligible(s, k, rq)) {
                *turn = (g + 1) % s->ngroups;
                return k;
            }
    }
    return SIZE_MAX;
}

static size_t pick(const struct sel *s, int rq, size_t *turn)
{
    switch (s->p->mode) {
    case RS_DIV_ROUND_ROBIN: return pick_round_robin(s, rq, turn);
    case RS_DIV_MMR: return pick_mmr(s, rq);
    default: return pick_score(s, rq);
    }
}

static void choose(struct sel *s, size_t k)
{
    const struct rs_div_cand *ck = &s->c[s->idx[k]];
    s->taken[k] = 1;
    s->per_group[s->grp[k]]++;
    for (size_t q = 0; q < s->p->nquota; q++)
        s->have[q] += ck->quota >> q & 1;
    if (s->p->mode != RS_DIV_MMR)
        return;
    for (size_t j = 0; j < s->n; j++) {
        const float *v = s->c[s->idx[j]].vec;
        double sim = v && ck->vec && !s->taken[j] ? rs_sdot(s->p->dims, v, ck->vec) : 0;
        if (sim > s->max_sim[j])
            s->max_sim[j] = sim;
    }
}

size_t rs_div_rerank(struct rs_div_cand *c, size_t n, const struct rs_div_params *p, size_t *out)
{
    struct sel s = { .c = c, .p = p };
    size_t room = n ? n : 1;
    s.idx = xmalloc(room * sizeof *s.idx);
    for (size_t i = 0; i < n; i++)
        if (!c[i].drop) {
            apply_boosts(&c[i], p);
            s.idx[s.n++] = i;
        }
    qsort_r(s.idx, s.n, sizeof *s.idx, by_score, c);
    s.grp = xmalloc(room * sizeof *s.grp);
    number_groups(&s);
    s.per_group = xcalloc(s.ngroups ? s.ngroups : 1, sizeof *s.per_group);
    s.taken = xcalloc(room, 1);
    s.max_sim = xmalloc(room * sizeof *s.max_sim);
    for (size_t k = 0; k < room; k++)
        s.max_sim[k] = -INFINITY;
    size_t slots = p->top_n && p->top_n < s.n ? p->top_n : s.n;
    for (size_t q = 0; q < p->nquota; q++) {
        size_t members = 0;
        for (size_t k = 0; k < s.n; k++)
            members += c[s.idx[k]].quota >> q & 1;
        /* the small epsilon keeps 0.3 * 10 from rounding up to 4 */
        size_t want = (size_t)ceil(p->share[q] * (double)slots - 1e-9);
        s.need[q] = want < members ? want : members;
    }
    size_t got = 0, turn = 0;
    while (got < slots) {
        update_restriction(&s, slots - got);
        size_t k = pick(&s, 1, &turn);
        if (k == SIZE_MAX && s.short_mask) /* quota unreachable under the caps */
            k = pick(&s, 0, &turn);
        if (k == SIZE_MAX)
            break;
        choose(&s, k);
        out[got++] = s.idx[k];
    }
    free(s.idx);
    free(s.grp);
    free(s.per_group);
    free(s.taken);
    free(s.max_sim);
    return got;
}
