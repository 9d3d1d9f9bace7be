/* test-topk.c - bounded heap against a full sort. */
#include "core/rng.h"
#include "tap.h"
#include "core/topk.h"

#include <math.h>
#include <stdlib.h>

struct pair { float s; int64_t id; };

static int cmp(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    if (x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int main(void)
{
    struct rs_rng g;
    rs_rng_init(&g, 3, 0);
    struct rs_topk t;
    int all_ok = 1;
    for (int trial = 0; trial < 200; trial++) {
        size_t n = 1 + rs_rng_below(&g, 300), k = 1 + rs_rng_below(&g, 40);
        struct pair *p = malloc(n * sizeof *p);
        rs_topk_init(&t, k);
        for (size_t i = 0; i < n; i++) {
            p[i].s = (float)rs_rng_below(&g, 20); /* many ties */
            p[i].id = (int64_t)i;
            rs_topk_push(&t, p[i].s, p[i].id);
        }
        qsort(p, n, sizeof *p, cmp);
        size_t got = rs_topk_sort(&t);
        all_ok &= got == (n < k ? n : k);
        for (size_t i = 0; i < got; i++)
            all_ok &= t.score[i] == p[i].s && t.id[i] == p[i].id;
        rs_topk_free(&t);
        free(p);
    }
    ok(all_ok, "200 random trials equal a full sort, ties by lower id");

    rs_topk_init(&t, 3);
    rs_topk_push(&t, NAN, 1);
    rs_topk_push(&t, 1.0f, 2);
    ok(rs_topk_threshold(&t) == -INFINITY, "threshold is -inf until full");
    rs_topk_push(&t, 2.0f, 3);
    rs_topk_push(&t, 0.5f, 4);
    is_near(rs_topk_threshold(&t), 0.5, 0, "threshold is the worst kept score");
    is_int(rs_topk_sort(&t), 3, "NaN ignored");
    is_int(t.id[0], 3, "best first");
    rs_topk_free(&t);
    return done_testing();
}
