/* test-knn.c - blocked exact top-k against a brute-force sort, with ties,
 * filters (deny, per-query exclusions, self) and several thread counts. */
#include "index/knn.h"
#include "core/rng.h"
#include "tap.h"

#include <stdlib.h>

struct pair { float s; int64_t id; };

static int cmp(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    if (x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Small integer vectors: dot products are exact, so ties are real. */
static float *int_matrix(struct rs_rng *g, size_t n, size_t d)
{
    float *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < n * d; i++)
        x[i] = (float)((int)rs_rng_below(g, 7) - 3);
    return x;
}

/* Brute force for query q: returns how many of the top k it wrote. */
static size_t brute(const float *q, const float *it, size_t ni, size_t d, size_t k,
                    const struct rs_knn_filter *f, size_t qi, int64_t *ids, float *sc)
{
    struct pair *p = malloc(ni * sizeof *p);
    size_t n = 0;
    for (size_t i = 0; i < ni; i++) {
        if (rs_knn_filtered(f, qi, i))
            continue;
        float s = 0;
        for (size_t j = 0; j < d; j++)
            s += q[j] * it[i * d + j];
        p[n++] = (struct pair){ s, (int64_t)i };
    }
    qsort(p, n, sizeof *p, cmp);
    size_t got = n < k ? n : k;
    for (size_t r = 0; r < got; r++) {
        ids[r] = p[r].id;
        sc[r] = p[r].s;
    }
    free(p);
    return got;
}

/* The results of one search (nq × k ids and scores, counts). */
struct found {
    int64_t *ids;
    float *sc;
    size_t *cnt;
};

static struct found search(const float *q, size_t nq, const float *it, size_t ni, size_t d, size_t k,
                           int threads)
{
    struct found r = { malloc(nq * k * sizeof *r.ids), malloc(nq * k * sizeof *r.sc), malloc(nq * sizeof *r.cnt) };
    rs_knn_search(q, nq, it, ni, d, k, NULL, threads, r.ids, r.sc, r.cnt);
    return r;
}

/* a's queries [q0, q0 + nq) against b's [0, nq), bit for bit. */
static int same_found(struct found a, size_t q0, struct found b, size_t nq, size_t k)
{
    return memcmp(a.ids + q0 * k, b.ids, nq * k * sizeof *a.ids) == 0 &&
           memcmp(a.sc + q0 * k, b.sc, nq * k * sizeof *a.sc) == 0 &&
           memcmp(a.cnt + q0, b.cnt, nq * sizeof *a.cnt) == 0;
}

static void found_free(struct found r)
{
    free(r.ids);
    free(r.sc);
    free(r.cnt);
}

/* Real-valued scores, whose last bit OpenBLAS's kernels may round by the
 * shape of the product: every thread count, the query- and the
 * item-parallel way, and a search of one tile-aligned part of the queries
 * must all give the bits of the one-thread search. */
static void test_same_bits(struct rs_rng *g)
{
    size_t nq = 2 * RS_KNN_QB + 77, ni = 3 * RS_KNN_IB + 101, d = 40, k = 7;
    float *q = malloc(nq * d * sizeof *q), *it = malloc(ni * d * sizeof *it);
    for (size_t i = 0; i < nq * d; i++)
        q[i] = (float)rs_rng_normal(g);
    for (size_t i = 0; i < ni * d; i++)
        it[i] = (float)rs_rng_normal(g);
    struct found one = search(q, nq, it, ni, d, k, 1);
    int same = 1;
    for (int t = 2; t <= 5; t++) {
        struct found r = search(q, nq, it, ni, d, k, t);
        same &= same_found(one, 0, r, nq, k);
        found_free(r);
    }
    ok(same, "%zu queries, %zu items: 2..5 threads give the bits of 1", nq, ni);
    struct found part = search(q + RS_KNN_QB * d, RS_KNN_QB + 77, it, ni, d, k, 1);
    ok(same_found(one, RS_KNN_QB, part, RS_KNN_QB + 77, k), "queries from a tile edge on: the same bits alone");
    found_free(part);
    part = search(q + RS_KNN_QB * d, 3, it, ni, d, k, 3); /* 3 queries: items split over the threads */
    ok(same_found(one, RS_KNN_QB, part, 3, k), "item-parallel search: the same bits as query-parallel");
    found_free(part);
    found_free(one);
    free(q);
    free(it);
}

static int same_as_brute(const float *q, size_t nq, const float *it, size_t ni, size_t d, size_t k,
                         const struct rs_knn_filter *f, int threads)
{
    int64_t *ids = malloc(nq * k * sizeof *ids), *eids = malloc(k * sizeof *eids);
    float *sc = malloc(nq * k * sizeof *sc), *esc = malloc(k * sizeof *esc);
    size_t *cnt = malloc(nq * sizeof *cnt);
    rs_knn_search(q, nq, it, ni, d, k, f, threads, ids, sc, cnt);
    int ok = 1;
    for (size_t qi = 0; qi < nq && ok; qi++) {
        size_t got = brute(q + qi * d, it, ni, d, k, f, qi, eids, esc);
        ok = cnt[qi] == got;
        for (size_t r = 0; r < got && ok; r++)
            ok = ids[qi * k + r] == eids[r] && sc[qi * k + r] == esc[r];
        if (!ok)
            printf("# query %zu differs\n", qi);
    }
    free(ids);
    free(eids);
    free(sc);
    free(esc);
    free(cnt);
    return ok;
}

int main(void)
{
    struct rs_rng g;
    rs_rng_init(&g, 11, 0);

    /* Sizes straddle the 256 × 512 tiles and the 32-wide scan. */
    size_t nq = 420, ni = 1500, d = 8;
    float *q = int_matrix(&g, nq, d), *it = int_matrix(&g, ni, d);
    ok(same_as_brute(q, nq, it, ni, d, 10, NULL, 1), "top-10, ties to the lower index, 1 thread");
    ok(same_as_brute(q, nq, it, ni, d, 10, NULL, 3), "same with 3 threads");
    ok(same_as_brute(q, 5, it, ni, d, 700, NULL, 2), "k = 700 spans item blocks");
    ok(same_as_brute(q, 3, it, 20, d, 50, NULL, 1), "k above the item count returns them all");

    /* Filters: deny 1 item in 3, exclude the best items of each query. */
    uint8_t *deny = calloc(ni, 1);
    for (size_t i = 0; i < ni; i += 3)
        deny[i] = 1;
    size_t *off = malloc((nq + 1) * sizeof *off);
    uint32_t *excl = malloc(nq * 40 * sizeof *excl);
    int64_t *self = malloc(nq * sizeof *self);
    off[0] = 0;
    for (size_t qi = 0; qi < nq; qi++) {
        size_t n = rs_rng_below(&g, 40);
        for (size_t j = 0; j < n; j++)
            excl[off[qi] + j] = (uint32_t)(j * (ni / 40) + qi % 7); /* ascending */
        off[qi + 1] = off[qi] + n;
        self[qi] = (int64_t)(qi % ni);
    }
    struct rs_knn_filter f = { deny, off, excl, self };
    ok(same_as_brute(q, nq, it, ni, d, 25, &f, 2), "deny + exclusions + self still give k results");
    ok(same_as_brute(q, 7, it, ni, d, 25, &f, 3), "7 queries: items split over 3 threads, filtered");
    ok(same_as_brute(q, 1, it, ni, d, 10, NULL, 2), "1 query on 2 threads");
    ok(rs_knn_filtered(&f, 0, 0) && !rs_knn_filtered(&f, 0, 1) && rs_knn_filtered(NULL, 0, 0) == 0,
       "rs_knn_filtered: deny mask, NULL filter");
    /* Deny all but 5 items: counts drop to 5. */
    for (size_t i = 0; i < ni; i++)
        deny[i] = i >= 5;
    struct rs_knn_filter f5 = { deny, NULL, NULL, NULL };
    int64_t ids[20];
    float sc[20];
    size_t cnt[2];
    rs_knn_search(q, 2, it, ni, d, 10, &f5, 1, ids, sc, cnt);
    is_int(cnt[0], 5, "only 5 eligible items: 5 results");
    ok(ids[0] < 5 && ids[4] < 5, "and they are the allowed ones");

    /* Random real-valued data, d = 64: compare order with a tolerance-free
     * brute force in the same float arithmetic is too strict; check ids. */
    size_t n2 = 3000, d2 = 64;
    float *q2 = malloc(50 * d2 * sizeof *q2), *it2 = malloc(n2 * d2 * sizeof *it2);
    for (size_t i = 0; i < 50 * d2; i++)
        q2[i] = (float)rs_rng_normal(&g);
    for (size_t i = 0; i < n2 * d2; i++)
        it2[i] = (float)rs_rng_normal(&g);
    int64_t *i2 = malloc(50 * 10 * sizeof *i2), e2[10];
    float *s2 = malloc(50 * 10 * sizeof *s2), es2[10];
    size_t c2[50];
    rs_knn_search(q2, 50, it2, n2, d2, 10, NULL, 2, i2, s2, c2);
    int same = 1;
    for (size_t qi = 0; qi < 50; qi++) {
        brute(q2 + qi * d2, it2, n2, d2, 10, NULL, qi, e2, es2);
        for (size_t r = 0; r < 10; r++)
            same &= i2[qi * 10 + r] == e2[r] && fabsf(s2[qi * 10 + r] - es2[r]) < 1e-4f;
    }
    ok(same, "gaussian 64-dim data: same ids, scores within 1e-4");
    test_same_bits(&g);

    free(q);
    free(it);
    free(deny);
    free(off);
    free(excl);
    free(self);
    free(q2);
    free(it2);
    free(i2);
    free(s2);
    return done_testing();
}
