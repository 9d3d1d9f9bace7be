/* test-prefilter.c - k-core (known answer, and against a naive fixed point on
 * random tables), popularity by rows and by distinct users, ranking ties. */
#include "prep/prefilter.h"
#include "core/rng.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_rows(struct rs_inter *t, const uint32_t (*rows)[2], size_t n)
{
    for (size_t r = 0; r < n; r++)
        rs_inter_add(t, rows[r][0], rows[r][1]);
}

/* The k-core by its definition: recount everything from scratch and drop
 * every violating row, until nothing changes. */
static void naive_kcore(const struct rs_inter *t, uint8_t *live, uint64_t mu, uint64_t mi)
{
    uint64_t *uc = calloc(t->nusers, sizeof *uc), *ic = calloc(t->nitems, sizeof *ic);
    for (int changed = 1; changed;) {
        changed = 0;
        memset(uc, 0, t->nusers * sizeof *uc);
        memset(ic, 0, t->nitems * sizeof *ic);
        for (size_t r = 0; r < t->n; r++)
            if (live[r]) {
                uc[t->user[r]]++;
                ic[t->item[r]]++;
            }
        for (size_t r = 0; r < t->n; r++)
            if (live[r] && (uc[t->user[r]] < mu || ic[t->item[r]] < mi)) {
                live[r] = 0;
                changed = 1;
            }
    }
    free(uc);
    free(ic);
}

static void test_known(void)
{
    /* u0: a b c; u1: a b; u2: a d; u3: e.  2-core: u0,u1 x a,b. */
    static const uint32_t rows[][2] = { { 0, 0 }, { 0, 1 }, { 0, 2 }, { 1, 0 }, { 1, 1 }, { 2, 0 }, { 2, 3 }, { 3, 4 } };
    struct rs_inter t;
    rs_inter_init(&t);
    add_rows(&t, rows, 8);
    struct rs_inter_stats s;
    rs_inter_stats(&t, &s);
    ok(s.rows == 8 && s.users == 4 && s.items == 5, "stats of the input");
    int sweeps = rs_inter_kcore(&t, 2, 2);
    static const uint8_t want[] = { 1, 1, 0, 1, 1, 0, 0, 0 };
    ok(memcmp(t.live, want, 8) == 0, "2-core rows");
    ok(sweeps >= 2, "at least one sweep that changes nothing (%d)", sweeps);
    rs_inter_stats(&t, &s);
    ok(s.rows == 4 && s.users == 2 && s.items == 2, "stats of the core");
    is_int(rs_inter_kcore(&t, 2, 2), 1, "a core is stable: one sweep, no change");
    rs_inter_kcore(&t, 3, 1);
    rs_inter_stats(&t, &s);
    is_int(s.rows, 0, "no user has 3 rows left: empty");
    rs_inter_free(&t);

    /* the chain: dropping u2 (1 row) makes item d fall under 2, which drops u1... */
    static const uint32_t chain[][2] = { { 0, 0 }, { 0, 1 }, { 1, 1 }, { 1, 2 }, { 2, 2 }, { 3, 0 }, { 3, 1 } };
    rs_inter_init(&t);
    add_rows(&t, chain, 7);
    rs_inter_kcore(&t, 2, 2);
    static const uint8_t want2[] = { 1, 1, 0, 0, 0, 1, 1 };
    ok(memcmp(t.live, want2, 7) == 0, "removals cascade");
    rs_inter_free(&t);
}

static void test_random(void)
{
    struct rs_rng rng;
    rs_rng_init(&rng, 7, 0);
    int bad = 0;
    for (int trial = 0; trial < 50; trial++) {
        struct rs_inter t;
        rs_inter_init(&t);
        size_t n = 200 + rs_rng_below(&rng, 800);
        uint32_t nu = 5 + (uint32_t)rs_rng_below(&rng, 60), ni = 5 + (uint32_t)rs_rng_below(&rng, 60);
        for (size_t r = 0; r < n; r++) /* skewed items: low ids popular */
            rs_inter_add(&t, (uint32_t)rs_rng_below(&rng, nu),
                         (uint32_t)(rs_rng_below(&rng, ni) * rs_rng_below(&rng, ni) / ni));
        uint64_t mu = 1 + rs_rng_below(&rng, 10), mi = 1 + rs_rng_below(&rng, 10);
        uint8_t *live = malloc(t.n);
        memcpy(live, t.live, t.n);
        naive_kcore(&t, live, mu, mi);
        rs_inter_kcore(&t, mu, mi);
        bad += memcmp(live, t.live, t.n) != 0;
        free(live);
        rs_inter_free(&t);
    }
    is_int(bad, 0, "k-core equals the naive fixed point on 50 random tables");
}

static void test_popularity(void)
{
    /* item 0: rows from u0, u0, u1 (3 rows, 2 users); item 1: u2, u3 (2, 2); item 2: u0 (1, 1) */
    static const uint32_t rows[][2] = { { 0, 0 }, { 0, 0 }, { 1, 0 }, { 2, 1 }, { 3, 1 }, { 0, 2 } };
    struct rs_inter t;
    rs_inter_init(&t);
    add_rows(&t, rows, 6);
    uint64_t pop[3];
    uint32_t order[3];
    rs_inter_popularity(&t, 0, pop);
    ok(pop[0] == 3 && pop[1] == 2 && pop[2] == 1, "popularity by rows");
    rs_inter_popularity(&t, 1, pop);
    ok(pop[0] == 2 && pop[1] == 2 && pop[2] == 1, "popularity by distinct users");
    is_int(rs_inter_rank_items(&t, pop, order), 3, "three items ranked");
    ok(order[0] == 0 && order[1] == 1 && order[2] == 2, "equal popularity: lower id first");
    uint8_t drop[3] = { 1, 0, 0 };
    rs_inter_drop_items(&t, drop);
    rs_inter_popularity(&t, 0, pop);
    ok(pop[0] == 0 && pop[1] == 2, "dropped items have no popularity");
    is_int(rs_inter_rank_items(&t, pop, order), 2, "dropped items are not ranked");
    is_int(order[0], 1, "most popular live item first");
    rs_inter_free(&t);
    rs_inter_free(&t);
}

static char steps[512];

static int log_step(void *ctx, const struct rs_prefilter_step *p)
{
    size_t n = strlen(steps);
    snprintf(steps + n, sizeof steps - n, "%s %d %d %d %d %d %d;", p->rule, (int)p->removed.rows,
             (int)p->removed.users, (int)p->removed.items, (int)p->left.rows, (int)p->left.users, (int)p->left.items);
    return ctx ? -99 : 0;
}

/* The rules in their fixed order; the table of tests/04-rs-prefilter.bats:
 * rows r1..r10 as (user, item), items i1..i7 = 0..6, users u1..u4 = 0..3,
 * item 7 only in the catalogue. */
static void test_rules(void)
{
    static const uint32_t rows[][2] = { { 0, 0 }, { 0, 1 }, { 0, 2 }, { 1, 0 }, { 1, 3 },
                                        { 1, 4 }, { 2, 0 }, { 2, 5 }, { 3, 1 }, { 0, 6 } };
    static const double price[8] = { 5, 50, 0.5, 900, 20, 10, NAN, 1 };
    static const int32_t cat[8] = { 0, 0, 1, 1, 2, 0, -1, 1 };
    static const int64_t last[8] = { 360, 100, 200, 10, 350, 365, 364, INT64_MIN };
    struct rs_prefilter_items it = { price, cat, last };
    struct rs_prefilter_rules r = { .min_price = -INFINITY, .max_price = 500, .min_category_items = 3,
                                    .recency = 200, .now = 365, .bottom = { 1, 0 }, .min_user = 2, .top_n = 1 };
    struct rs_inter t;
    uint8_t mapped[8] = { 0 };
    rs_inter_init(&t);
    add_rows(&t, rows, 10);
    t.nitems = 8;
    steps[0] = '\0';
    is_int(rs_prefilter_apply(&t, &r, &it, mapped, log_step, NULL), 0, "rules applied");
    /* category B reaches 3 items only with the catalogue-only item; C (i5) goes */
    is_str(steps, "input 0 0 0 10 4 7;price 1 0 1 9 4 6;category 1 0 1 8 4 5;recency 2 1 1 6 3 4;"
                  "unpopular 1 0 1 5 3 3;kcore 1 1 0 4 2 3;top-n 0 0 2 4 2 2;", "steps in the documented order");
    static const uint8_t live[] = { 1, 0, 1, 0, 0, 0, 1, 1, 0, 0 };
    ok(memcmp(t.live, live, 10) == 0, "rows kept");
    ok(!mapped[0] && mapped[2] && mapped[5], "top-n maps all but the most popular");
    rs_inter_free(&t);

    rs_inter_init(&t);
    add_rows(&t, rows, 10);
    struct rs_prefilter_rules none = { .min_price = -INFINITY, .max_price = INFINITY, .min_user = 1 };
    steps[0] = '\0';
    is_int(rs_prefilter_apply(&t, &none, &it, mapped, log_step, NULL), 0, "no rule");
    is_str(steps, "input 0 0 0 10 4 7;", "only the input is reported");
    is_int(rs_prefilter_apply(&t, &r, &it, mapped, log_step, &t), -99, "a report error stops the rules");
    rs_inter_free(&t);
}

int main(void)
{
    test_rules();
    test_known();
    test_random();
    test_popularity();
    return done_testing();
}
