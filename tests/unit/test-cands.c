/* test-cands.c - the pieces behind rs-retrieve's event-log sources: the pair
 * map (dense ids through growth), recency-weighted counts kept in one pass
 * against the direct sum in any event order, and values grouped and ranked
 * with ties to the lower item id. The sources themselves: 11-rs-retrieve.bats. */
#include "core/pairset.h"
#include "core/rng.h"
#include "core/strmap.h"
#include "index/cands.h"
#include "tap.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_pairmap(void)
{
    struct rs_pairmap *m = rs_pairmap_new(1);
    int added, bad = 0;
    for (uint32_t j = 0; j < 5000; j++) /* through many growths */
        if (rs_pairmap_put(m, j % 97, j, &added) != j || !added)
            bad++;
    is_int(bad, 0, "new pairs get ids 0, 1, 2... in insertion order");
    is_int(rs_pairmap_size(m), 5000, "5000 pairs");
    for (uint32_t j = 0; j < 5000; j++) {
        uint32_t a, b;
        rs_pairmap_pair(m, j, &a, &b);
        if (rs_pairmap_put(m, j % 97, j, &added) != j || added || rs_pairmap_get(m, j % 97, j) != j ||
            a != j % 97 || b != j)
            bad++;
    }
    is_int(bad, 0, "a pair again keeps its id; get and pair agree");
    ok(rs_pairmap_get(m, 1, 0) == -1 && rs_pairmap_get(m, UINT32_MAX, UINT32_MAX) == -1, "absent pairs: -1");
    is_int(rs_pairmap_put(m, UINT32_MAX, UINT32_MAX, NULL), 5000, "every pair is a valid key");
    rs_pairmap_free(m);
    rs_pairmap_free(NULL);
}

static void test_recency(void)
{
    struct rs_rng g;
    rs_rng_init(&g, 1, 0);
    const double h = 86400 * 3.5;
    int64_t t[200], newest = 0;
    for (int i = 0; i < 200; i++) {
        t[i] = 1700000000 + (int64_t)rs_rng_below(&g, 86400 * 100);
        newest = t[i] > newest ? t[i] : newest;
    }
    struct rs_recency r = { 0 }, c = { 0 };
    double direct = 0;
    for (int i = 0; i < 200; i++) { /* unsorted times: the newest moves */
        rs_recency_add(&r, t[i], h);
        rs_recency_add(&c, t[i], 0);
        direct += exp2((double)(t[i] - newest) / h);
    }
    is_near(rs_recency_value(&r, newest, h), direct, 1e-12 * direct, "one pass = the direct sum");
    is_near(rs_recency_value(&c, newest, 0), 200, 0, "half-life 0: a count");
    is_int(c.last, newest, "a count still tracks the newest time");
    struct rs_recency z = { 0 };
    is_near(rs_recency_value(&z, newest, h), 0, 0, "an empty count is 0");
    rs_recency_add(&z, 0, 1); /* 1.7e9 half-lives of 1 s before: underflows, never inf/NaN */
    rs_recency_add(&z, newest, 1);
    ok(rs_recency_value(&z, newest, 1) == 1, "an ancient event adds nothing, overflows nothing");
    struct rs_recency *a = NULL;
    size_t cap = 0;
    rs_recency_add(rs_recency_at(&a, &cap, 3000), 5, 0);
    ok(cap > 3000 && a[3000].w == 1 && a[2999].w == 0 && a[0].w == 0, "rs_recency_at grows zeroed");
    free(a);
}

static void test_group(void)
{
    struct rs_strmap *items = rs_strmap_new(8);
    const char *ids[] = { "i9", "i10", "b", "a" };
    for (int i = 0; i < 4; i++)
        rs_strmap_put(items, ids[i], strlen(ids[i]), NULL);
    /* group 1: i9 2, i10 2, a 3; group 0: b 1; group 2: none */
    uint32_t group[] = { 1, 1, 0, 1 };
    struct rs_item_value v[] = { { 0, 2 }, { 1, 2 }, { 2, 1 }, { 3, 3 } }, *out;
    uint64_t *off;
    rs_cands_group(group, v, 4, 3, items, &off, &out);
    ok(off[0] == 0 && off[1] == 1 && off[2] == 4 && off[3] == 4, "offsets per group");
    ok(out[0].item == 2 && out[1].item == 3 && out[2].item == 1 && out[3].item == 0,
       "highest value first; ties to the lower id in bytes (i10 < i9)");
    free(off);
    free(out);
    rs_strmap_free(items);
}

int main(void)
{
    test_pairmap();
    test_recency();
    test_group();
    return done_testing();
}
