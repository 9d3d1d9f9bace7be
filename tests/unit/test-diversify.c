/* test-diversify.c - property tests of lib/rerank/diversify on many random lists
 * (seeded): filters, boosts, caps, round-robin order against a round-based
 * reference, MMR against a brute-force reference and at lambda = 1, quotas,
 * output sizes, tie-breaking independent of the array order. */
#include "rerank/diversify.h"
#include "rerank/divitems.h"
#include "core/err.h"
#include "io/itemattr.h"
#include "core/pairset.h"
#include "core/rng.h"
#include "io/io.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRIALS 3000
#define MAXN 120
#define DIMS 4

struct list {
    size_t n;
    struct rs_div_cand c[MAXN];
    double raw[MAXN]; /* score before boosts */
    float vec[MAXN][DIMS];
};

/* A random list: scores with many ties, some ungrouped items, some dropped,
 * positions a random permutation, vectors unit length or missing. */
static void gen(struct rs_rng *g, struct list *l, int ngroups)
{
    l->n = rs_rng_below(g, MAXN + 1);
    uint32_t perm[MAXN];
    for (uint32_t i = 0; i < MAXN; i++)
        perm[i] = i;
    rs_rng_shuffle_u32(g, perm, l->n);
    for (size_t i = 0; i < l->n; i++) {
        struct rs_div_cand *c = &l->c[i];
        double norm = 0;
        for (int d = 0; d < DIMS; d++) {
            l->vec[i][d] = (float)rs_rng_normal(g);
            norm += l->vec[i][d] * l->vec[i][d];
        }
        for (int d = 0; d < DIMS; d++)
            l->vec[i][d] /= (float)sqrt(norm);
        *c = (struct rs_div_cand){
            .pos = perm[i],
            .drop = rs_rng_below(g, 10) == 0,
            .group = rs_rng_below(g, 12) == 0 ? -1 : (int32_t)rs_rng_below(g, (uint64_t)ngroups),
            .boost = (uint32_t)rs_rng_below(g, 4),
            .quota = (uint32_t)rs_rng_below(g, 4) == 0 ? 1u : 0u,
            .score = (double)rs_rng_below(g, 16) / 4,
            .vec = rs_rng_below(g, 10) == 0 ? NULL : l->vec[i],
        };
        l->raw[i] = c->score;
    }
}

static const struct rs_div_boost boosts[2] = { { 0, 1.5 }, { 1, 0.25 } };

static double boosted(double s, uint32_t bits, size_t nboost)
{
    for (size_t r = 0; r < nboost; r++)
        if (bits >> r & 1)
            s = boosts[r].add ? s + boosts[r].factor : s * boosts[r].factor;
    return s;
}

static int better(const struct rs_div_cand *x, const struct rs_div_cand *y)
{
    return x->score > y->score || (x->score == y->score && x->pos < y->pos);
}

/* Kept candidates in (score desc, pos asc) order, by insertion sort. */
static size_t sorted_kept(const struct list *l, size_t *k)
{
    size_t m = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->c[i].drop)
            continue;
        size_t j = m++;
        while (j > 0 && better(&l->c[i], &l->c[k[j - 1]])) {
            k[j] = k[j - 1];
            j--;
        }
        k[j] = i;
    }
    return m;
}

static int same_group(const struct rs_div_cand *a, const struct rs_div_cand *b)
{
    return a == b || (a->group >= 0 && a->group == b->group);
}

/* Round-based round-robin: round r takes the r-th best of every group, the
 * groups in the order of their best candidate. */
static size_t ref_round_robin(const struct list *l, size_t top, size_t *out)
{
    size_t k[MAXN], lead[MAXN], nlead = 0, got = 0;
    size_t m = sorted_kept(l, k);
    for (size_t a = 0; a < m; a++) {
        size_t b = 0;
        while (b < a && !same_group(&l->c[k[a]], &l->c[k[b]]))
            b++;
        if (b == a)
            lead[nlead++] = k[a];
    }
    for (size_t round = 0; got < m; round++)
        for (size_t gi = 0; gi < nlead; gi++) {
            size_t seen = 0;
            for (size_t a = 0; a < m; a++)
                if (same_group(&l->c[k[a]], &l->c[lead[gi]]) && seen++ == round)
                    out[got++] = k[a];
        }
    return got < top || top == 0 ? got : top;
}

static double dot(const float *a, const float *b)
{
    double s = 0;
    for (int d = 0; d < DIMS; d++)
        s += (double)a[d] * b[d];
    return s;
}

/* MMR straight from its definition, recomputing max_sim at every step. */
static size_t ref_mmr(const struct list *l, size_t top, double lambda, size_t *out)
{
    size_t k[MAXN], m = sorted_kept(l, k), got = 0;
    char taken[MAXN] = { 0 };
    size_t slots = top && top < m ? top : m;
    while (got < slots) {
        size_t best = SIZE_MAX;
        double best_v = 0;
        for (size_t a = 0; a < m; a++) {
            if (taken[a])
                continue;
            double sim = got ? -INFINITY : 0;
            for (size_t j = 0; j < got; j++) {
                const float *x = l->c[k[a]].vec, *y = l->c[out[j]].vec;
                double s = x && y ? dot(x, y) : 0;
                sim = s > sim ? s : sim;
            }
            double v = lambda * l->c[k[a]].score - (1 - lambda) * sim;
            if (best == SIZE_MAX || v > best_v + 1e-12) {
                best = a;
                best_v = v;
            }
        }
        taken[best] = 1;
        out[got++] = k[best];
    }
    return got;
}

static size_t count_group(const struct list *l, const size_t *out, size_t n, size_t i)
{
    size_t c = 0;
    for (size_t j = 0; j < n; j++)
        c += same_group(&l->c[out[j]], &l->c[i]);
    return c;
}

static void test_properties(void)
{
    struct rs_rng g;
    rs_rng_init(&g, 20261122, 0);
    static struct list l, copy;
    size_t out[MAXN], ref[MAXN], k[MAXN];
    int f_ok = 1, b_ok = 1, cap_ok = 1, size_ok = 1, rr_ok = 1, mmr_ok = 1, mmr1_ok = 1;
    int q_ok = 1, det_ok = 1, order_ok = 1;
    for (int trial = 0; trial < TRIALS; trial++) {
        gen(&g, &l, 1 + (int)rs_rng_below(&g, 8));
        struct rs_div_params p = {
            .top_n = rs_rng_below(&g, 4) == 0 ? 0 : 1 + rs_rng_below(&g, 40),
            .mode = (int)rs_rng_below(&g, 3),
            .max_per_group = rs_rng_below(&g, 2) ? 0 : 1 + rs_rng_below(&g, 4),
            .lambda = (double)rs_rng_below(&g, 5) / 4,
            .dims = DIMS,
            .nboost = rs_rng_below(&g, 3),
            .boost = boosts,
        };
        double share = (double)rs_rng_below(&g, 11) / 10;
        if (rs_rng_below(&g, 3) == 0) {
            p.nquota = 1;
            p.share = &share;
        }
        copy = l;
        size_t n = rs_div_rerank(l.c, l.n, &p, out);
        size_t m = sorted_kept(&l, k);
        /* filters: exactly the dropped ones never come out */
        for (size_t j = 0; j < n; j++)
            f_ok &= !l.c[out[j]].drop && out[j] < l.n;
        for (size_t i = 0; i < l.n; i++)
            if (!l.c[i].drop)
                b_ok &= l.c[i].score == boosted(l.raw[i], l.c[i].boost, p.nboost);
        /* caps, and sizes: min(N, sum over groups of min(cap, size)) */
        size_t avail = 0;
        for (size_t a = 0; a < m; a++) {
            size_t before = 0;
            for (size_t b = 0; b < a; b++)
                before += same_group(&l.c[k[a]], &l.c[k[b]]);
            avail += !p.max_per_group || before < p.max_per_group;
        }
        for (size_t j = 0; j < n && p.max_per_group; j++)
            cap_ok &= count_group(&l, out, n, out[j]) <= p.max_per_group;
        size_t want = p.top_n && p.top_n < avail ? p.top_n : avail;
        size_t slots = p.top_n && p.top_n < m ? p.top_n : m;
        size_t members = 0, got_q = 0;
        for (size_t a = 0; a < m; a++)
            members += l.c[k[a]].quota & 1;
        for (size_t j = 0; j < n; j++)
            got_q += l.c[out[j]].quota & 1;
        size_t need = (size_t)ceil(share * (double)slots - 1e-9);
        need = need < members ? need : members;
        size_ok &= n == want;
        if (p.nquota && !p.max_per_group)
            q_ok &= got_q >= need;
        /* mode-specific references, without caps and quotas */
        if (!p.max_per_group && !p.nquota) {
            if (p.mode == RS_DIV_SCORE)
                for (size_t j = 0; j < n; j++)
                    order_ok &= out[j] == k[j];
            if (p.mode == RS_DIV_ROUND_ROBIN) {
                size_t r = ref_round_robin(&l, p.top_n, ref);
                rr_ok &= r == n && memcmp(ref, out, n * sizeof *out) == 0;
            }
            if (p.mode == RS_DIV_MMR) {
                size_t r = ref_mmr(&l, p.top_n, p.lambda, ref);
                mmr_ok &= r == n && memcmp(ref, out, n * sizeof *out) == 0;
                if (p.lambda == 1)
                    for (size_t j = 0; j < n; j++)
                        mmr1_ok &= out[j] == k[j];
            }
        }
        /* the same list in reverse array order gives the same items */
        for (size_t i = 0; i < copy.n; i++)
            l.c[i] = copy.c[copy.n - 1 - i];
        size_t n2 = rs_div_rerank(l.c, copy.n, &p, ref);
        det_ok &= n2 == n;
        for (size_t j = 0; j < n && j < n2; j++)
            det_ok &= ref[j] == copy.n - 1 - out[j];
    }
    ok(f_ok, "filters: no dropped candidate is output (%d lists)", TRIALS);
    ok(b_ok, "boosts: score*F and score+F applied in rule order to exactly the flagged items");
    ok(cap_ok, "caps: no group exceeds --max-per-group");
    ok(size_ok, "sizes: min(N, sum over groups of min(cap, size)) items out");
    ok(order_ok, "score mode: the top N of (score desc, pos asc)");
    ok(rr_ok, "round-robin equals the round-based reference");
    ok(mmr_ok, "MMR equals the brute-force reference");
    ok(mmr1_ok, "MMR at lambda = 1 equals the score order");
    ok(q_ok, "quotas: at least min(ceil(p*N), members) of the set");
    ok(det_ok, "ties broken by pos: array order does not matter");
}

/* lambda = 1 on a list given in rank order gives the input order back. */
static void test_mmr_identity(void)
{
    struct rs_rng g;
    rs_rng_init(&g, 7, 0);
    static struct list l;
    size_t out[MAXN];
    int all = 1;
    for (int trial = 0; trial < 500; trial++) {
        gen(&g, &l, 5);
        double s = 10;
        for (size_t i = 0; i < l.n; i++) {
            s -= (double)rs_rng_below(&g, 2) / 8; /* non-increasing, with ties */
            l.c[i].score = s;
            l.c[i].pos = (uint32_t)i;
            l.c[i].drop = 0;
        }
        struct rs_div_params p = { .mode = RS_DIV_MMR, .lambda = 1, .dims = DIMS };
        size_t n = rs_div_rerank(l.c, l.n, &p, out);
        all &= n == l.n;
        for (size_t j = 0; j < n; j++)
            all &= out[j] == j;
    }
    ok(all, "MMR lambda = 1 returns the input ranking unchanged");
}

static void test_examples(void)
{
    /* groups A A A B B C with scores 6..1: round-robin A B C A B A */
    struct rs_div_cand c[6];
    int32_t grp[6] = { 0, 0, 0, 1, 1, 2 };
    for (int i = 0; i < 6; i++)
        c[i] = (struct rs_div_cand){ .pos = (uint32_t)i, .group = grp[i], .score = 6 - i };
    size_t out[6];
    struct rs_div_params p = { .mode = RS_DIV_ROUND_ROBIN, .lambda = 1 };
    size_t n = rs_div_rerank(c, 6, &p, out);
    size_t want[6] = { 0, 3, 5, 1, 4, 2 };
    ok(n == 6 && memcmp(out, want, sizeof want) == 0, "round-robin A B C A B A");
    p = (struct rs_div_params){ .mode = RS_DIV_SCORE, .max_per_group = 1, .lambda = 1, .top_n = 10 };
    n = rs_div_rerank(c, 6, &p, out);
    ok(n == 3 && out[0] == 0 && out[1] == 3 && out[2] == 5, "cap 1: one per group, 3 out");
    /* quota: C must have 1 of top 2 -> A then C */
    double share = 0.5;
    for (int i = 0; i < 6; i++)
        c[i].quota = grp[i] == 2;
    p = (struct rs_div_params){ .mode = RS_DIV_SCORE, .lambda = 1, .top_n = 2, .nquota = 1, .share = &share };
    n = rs_div_rerank(c, 6, &p, out);
    ok(n == 2 && out[0] == 0 && out[1] == 5, "min-share 0.5 of 2 pulls the only C item up");
    /* boost x3 on item 4 (score 2 -> 6): ties with item 0, pos decides */
    struct rs_div_boost b = { 0, 3 };
    c[4].boost = 1;
    p = (struct rs_div_params){ .mode = RS_DIV_SCORE, .lambda = 1, .top_n = 2, .nboost = 1, .boost = &b };
    n = rs_div_rerank(c, 6, &p, out);
    ok(n == 2 && out[0] == 0 && out[1] == 4 && c[4].score == 6, "boost x3 lifts item 4 to second");
    n = rs_div_rerank(c, 0, &p, out);
    is_int(n, 0, "empty list: nothing out");
}

static void test_check(void)
{
    struct rs_div_params p = { .mode = RS_DIV_MMR, .lambda = 0.5 };
    is_int(rs_div_check(&p), 0, "valid parameters pass");
    p.lambda = 1.5;
    is_int(rs_div_check(&p), RS_ERR_USAGE, "lambda 1.5 rejected");
    ok(strstr(rs_err_msg(), "lambda 1.5") != NULL, "message names lambda: %s", rs_err_msg());
    p.lambda = 1;
    p.mode = 9;
    is_int(rs_div_check(&p), RS_ERR_USAGE, "unknown mode rejected");
    double bad = 1.2;
    p = (struct rs_div_params){ .nquota = 1, .share = &bad, .lambda = 1 };
    is_int(rs_div_check(&p), RS_ERR_USAGE, "share 1.2 rejected");
}

static void test_pairset(void)
{
    struct rs_pairset *s = rs_pairset_new(1);
    struct rs_rng g;
    rs_rng_init(&g, 1, 0);
    int all = 1;
    for (uint32_t i = 0; i < 20000; i++)
        all &= rs_pairset_add(s, i % 1000, i / 1000 * 7919) == 1;
    all &= rs_pairset_add(s, 5, 0) == 0;
    for (uint32_t i = 0; i < 20000; i++)
        all &= rs_pairset_has(s, i % 1000, i / 1000 * 7919) && !rs_pairset_has(s, i / 1000 * 7919, i % 1000 + 1000);
    ok(all && rs_pairset_size(s) == 20000, "pairset: 20000 pairs in, found, (b, a) not confused");
    ok(!rs_pairset_has(NULL, 1, 2), "pairset: NULL holds nothing");
    rs_pairset_free(s);
    rs_pairset_free(NULL);
}

static void test_itemattr(void)
{
    char dir[] = "/tmp/test-diversify-XXXXXX", a[64], b[64];
    if (!mkdtemp(dir))
        return;
    snprintf(a, sizeof a, "%s/items.tsv", dir);
    snprintf(b, sizeof b, "%s/clusters.tsv", dir);
    FILE *f = fopen(a, "w");
    fputs("item_id\tcategory\tcluster\ni1\tbook\t\ni2\tmusic\tx\n", f);
    fclose(f);
    f = fopen(b, "w");
    fputs("item_id\tcluster\ni1\t7\ni3\t8\n", f);
    fclose(f);
    const char *paths[2] = { b, a }, *cols[2] = { "category", "cluster" };
    struct rs_itemattr t;
    is_int(rs_itemattr_load(&t, paths, 2, "item_id", cols, 2), 0, "itemattr: two tables load");
    int cat = rs_itemattr_col(&t, "category"), cl = rs_itemattr_col(&t, "cluster");
    ok(rs_itemattr_get(&t, cl, "i1", 2) == rs_itemattr_value(&t, cl, "7", 1), "cluster from the first table");
    ok(rs_itemattr_get(&t, cl, "i2", 2) == -1, "i2 has no cluster (not in the first table)");
    ok(rs_itemattr_get(&t, cat, "i2", 2) == rs_itemattr_value(&t, cat, "music", 5), "category of i2");
    ok(rs_itemattr_get(&t, cat, "zz", 2) == -1, "unknown item: -1");
    rs_itemattr_free(&t);
    const char *missing[1] = { "venue" };
    is_int(rs_itemattr_load(&t, paths, 2, "item_id", missing, 1), RS_ERR_FORMAT, "missing column fails");
    ok(strstr(rs_err_msg(), "'venue'") != NULL, "message names the column: %s", rs_err_msg());
    is_int(rs_itemattr_load(&t, paths, 2, "id", cols, 1), RS_ERR_FORMAT, "missing key column fails");
    remove(a);
    remove(b);
    remove(dir);
}

/* The item side: groups, stock, deny, seen and rule bits from tables. */
static void test_divitems(void)
{
    char dir[] = "/tmp/test-divitems-XXXXXX", it[64], deny[64], seen[64];
    if (!mkdtemp(dir))
        return;
    snprintf(it, sizeof it, "%s/items.tsv", dir);
    snprintf(deny, sizeof deny, "%s/deny.tsv", dir);
    snprintf(seen, sizeof seen, "%s/seen.tsv", dir);
    FILE *f = fopen(it, "w");
    fputs("item_id\tcategory\tin_stock\tnew\na\tbook\t1\t1\nb\tbook\tfalse\t0\nc\tmusic\t1\t0\nd\tmusic\t1\t1\n", f);
    fclose(f);
    f = fopen(deny, "w");
    fputs("item_id\nc\n", f);
    fclose(f);
    f = fopen(seen, "w");
    fputs("user_id\titem_id\nu1\td\n", f);
    fclose(f);
    struct rs_reader *tables[1];
    rs_reader_open(&tables[0], it);
    struct rs_div_rule boost = { "new", "1" }, quota = { NULL, "music" };
    struct rs_div_items_opts o = { .tables = tables, .ntables = 1, .deny = deny, .seen = seen, .user_col = "user_id",
                                   .item_col = "item_id", .by = "category", .stock_col = "in_stock",
                                   .boost = &boost, .nboost = 1, .quota = &quota, .nquota = 1 };
    struct rs_div_items d;
    is_int(rs_div_items_load(&d, &o), 0, "divitems: load");
    struct rs_div_cand c[5];
    const char *ids[5] = { "a", "b", "c", "d", "zz" };
    for (int i = 0; i < 5; i++)
        rs_div_items_fill(&d, "u1", ids[i], NULL, &c[i]);
    ok(c[0].group == c[1].group && c[2].group == c[3].group && c[0].group != c[2].group && c[4].group < 0,
       "divitems: groups by category; unknown item has none");
    ok(!c[0].drop && c[1].drop && c[2].drop && c[3].drop && !c[4].drop,
       "divitems: out of stock, denied, seen dropped; the rest kept");
    ok(c[0].boost == 1 && c[1].boost == 0 && c[3].boost == 1, "divitems: boost bit where new = 1");
    ok(c[0].quota == 0 && c[2].quota == 1 && c[3].quota == 1, "divitems: quota bit on the group music");
    rs_div_items_fill(&d, "u2", "d", NULL, &c[3]);
    ok(!c[3].drop, "divitems: seen is per user");
    rs_div_items_free(&d);
    struct rs_div_rule bad = { "venue", "v1" };
    o.boost = &bad;
    rs_reader_open(&tables[0], it); /* the load closed it */
    is_int(rs_div_items_load(&d, &o), RS_ERR_FORMAT, "divitems: a missing rule column fails");
    remove(it);
    remove(deny);
    remove(seen);
    remove(dir);
}

int main(void)
{
    test_divitems();
    test_properties();
    test_mmr_identity();
    test_examples();
    test_check();
    test_pairset();
    test_itemattr();
    return done_testing();
}
