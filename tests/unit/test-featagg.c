/* test-featagg.c - per-entity aggregates and last-N histories (order, ties,
 * random streams against a full sort). */
#include "prep/featagg.h"
#include "core/rng.h"
#include "tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_acc(void)
{
    struct rs_feat_table f;
    rs_feat_init(&f);
    rs_feat_add(&f, 2, 1u << RS_FEAT_BOOKING | 1u << RS_FEAT_CLICK, 100, 10.0);
    rs_feat_add(&f, 2, 1u << RS_FEAT_BOOKING, 50, NAN);
    rs_feat_add(&f, 2, 0, 70, 20.0);
    is_int(f.n, 3, "table covers entity 2");
    const struct rs_feat_acc *a = rs_feat_at(&f, 2), *z = rs_feat_at(&f, 0);
    ok(a->events == 3 && a->cnt[RS_FEAT_BOOKING] == 2 && a->cnt[RS_FEAT_CLICK] == 1 && a->cnt[RS_FEAT_CONSULT] == 0,
       "counts per class");
    is_int(a->last, 100, "latest time, whatever the order");
    ok(a->price_n == 2 && a->price_sum == 30.0, "NaN prices are not counted");
    ok(z->events == 0 && z->last == INT64_MIN, "an entity without events is empty");
    rs_feat_at(&f, 1000);
    is_int(rs_feat_at(&f, 2)->events, 3, "growing keeps the accumulators");
    rs_feat_free(&f);
    rs_feat_free(&f);
}

static void test_lastn(void)
{
    struct rs_lastn l;
    uint32_t out[3];
    rs_lastn_init(&l, 3);
    is_int(rs_lastn_get(&l, 5, out), 0, "no history for an unseen entity");
    rs_lastn_push(&l, 1, 30, 0, 7);
    rs_lastn_push(&l, 1, 10, 1, 8);
    rs_lastn_push(&l, 1, 40, 2, 9);
    rs_lastn_push(&l, 1, 20, 3, 10);
    is_int(rs_lastn_get(&l, 1, out), 3, "keeps n");
    ok(out[0] == 9 && out[1] == 7 && out[2] == 10, "most recent first, the oldest dropped");
    rs_lastn_push(&l, 1, 40, 4, 11); /* same time as item 9, later row: more recent */
    rs_lastn_get(&l, 1, out);
    ok(out[0] == 11 && out[1] == 9 && out[2] == 7, "equal times: the later row is more recent");
    rs_lastn_push(&l, 1, 5, 5, 12);
    rs_lastn_get(&l, 1, out);
    ok(out[0] == 11 && out[2] == 7, "an older event does not enter a full history");
    is_int(rs_lastn_get(&l, 0, out), 0, "other entities untouched");
    rs_lastn_free(&l);

    struct rs_rng rng;
    rs_rng_init(&rng, 3, 0);
    int bad = 0;
    for (int trial = 0; trial < 200; trial++) {
        size_t n = 1 + rs_rng_below(&rng, 10), m = rs_rng_below(&rng, 40);
        int64_t *times = malloc((m + 1) * sizeof *times);
        rs_lastn_init(&l, n);
        for (size_t k = 0; k < m; k++) {
            times[k] = (int64_t)rs_rng_below(&rng, 8);
            rs_lastn_push(&l, 0, times[k], (uint32_t)k, (uint32_t)k);
        }
        uint32_t got[16];
        size_t g = rs_lastn_get(&l, 0, got);
        /* expected: rows by (time desc, row desc), first n */
        size_t want = 0;
        for (int64_t t = 7; t >= 0; t--)
            for (size_t k = m; k-- > 0;)
                if (times[k] == t && want < n)
                    bad += want >= g || got[want++] != k;
        bad += want != g;
        free(times);
        rs_lastn_free(&l);
    }
    is_int(bad, 0, "200 random streams agree with a full sort");
}

int main(void)
{
    test_acc();
    test_lastn();
    return done_testing();
}
