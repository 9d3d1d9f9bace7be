/* test-itemknn.c - item-item kNN (Sarwar et al. 2001): the lists of a tiny
 * hand-computed case, shrink 0 is plain cosine, top-M truncation and ties
 * to the lower id, the --max-history cut, thread independence, candidates
 * with exclusions and the popularity fallback, save/load and what load
 * refuses. */
#include "model/itemknn.h"
#include "prep/csr.h"
#include "core/err.h"
#include "io/rsm.h"
#include "core/rng.h"
#include "core/strmap.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* u0 {a, b}, u1 {a, b, c}, u2 {b, c}, u3 {d}; items named in the order d c b a
 * so the model has to sort them. n = a 2, b 3, c 2, d 1; c_ab = 2, c_ac = 1,
 * c_bc = 2, nothing with d. */
static struct rs_strmap *tiny(struct rs_csr *x)
{
    static const char *names[] = { "d", "c", "b", "a" };
    static const uint32_t rows[] = { 0, 0, 1, 1, 1, 2, 2, 3 }, cols[] = { 3, 2, 3, 2, 1, 2, 1, 0 };
    struct rs_strmap *items = rs_strmap_new(4);
    for (int i = 0; i < 4; i++)
        rs_strmap_put(items, names[i], 1, NULL);
    struct rs_coo c;
    rs_coo_init(&c);
    for (int k = 0; k < 8; k++)
        rs_coo_add(&c, rows[k], cols[k], 1.0f);
    rs_csr_from_coo(x, &c, 4, 4);
    rs_coo_free(&c);
    return items;
}

static void fit(struct rs_itemknn *m, const struct rs_csr *x, const struct rs_strmap *items, size_t nb,
                double shrink, int threads)
{
    struct rs_itemknn_params p = { nb, shrink, 0, threads };
    rs_itemknn_fit(m, x, x, items, &p);
}

/* "i:j=s" for item i's list, joined: the model's lists as a string. */
static void lists(const struct rs_itemknn *m, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = 0;
    for (size_t i = 0; i < m->nitems; i++)
        for (uint64_t k = m->ptr[i]; k < m->ptr[i + 1]; k++)
            at += (size_t)snprintf(out + at, cap - at, "%zu:%d ", i, m->nbr[k]);
}

static void test_tiny(void)
{
    struct rs_csr x;
    struct rs_strmap *items = tiny(&x);
    struct rs_itemknn m;
    char s[256];
    fit(&m, &x, items, 10, 0, 1);
    is_str(rs_strmap_key(m.items, 0, NULL), "a", "items sorted: a first");
    lists(&m, s, sizeof s);
    /* a: b (2/√6), c (1/2); b: a, c tied at 2/√6, a first; c: b, a; d: none */
    is_str(s, "0:1 0:2 1:0 1:2 2:1 2:0 ", "shrink 0: the cosine lists, ties to the lower id");
    is_near(m.sim[0], 2 / sqrt(6), 1e-7, "s_ab = c_ab / sqrt(n_a n_b) = 2/√6");
    is_near(m.sim[1], 0.5, 1e-7, "s_ac = 1 / sqrt(2 · 2)");
    ok(m.sim[2] == m.sim[3], "s_ba = s_bc (the tie)");
    is_int(m.ptr[4] - m.ptr[3], 0, "d has no neighbour");
    is_near(m.popularity[1], 3, 0, "popularity of b: 3 users");
    rs_itemknn_free(&m);
    fit(&m, &x, items, 10, 10, 1);
    is_near(m.sim[0], 2 / (sqrt(6) + 10), 1e-7, "shrink 10: 2 / (√6 + 10)");
    is_near(m.sim[1], 1 / (2 + 10.0), 1e-7, "shrink 10: 1 / (2 + 10)");
    rs_itemknn_free(&m);
    fit(&m, &x, items, 1, 0, 1);
    lists(&m, s, sizeof s);
    is_str(s, "0:1 1:0 2:1 ", "M = 1: each item's best, b's tie to a");
    rs_itemknn_free(&m);
    rs_csr_free(&x);
    rs_strmap_free(items);
}

/* Recommend for u0 {a, b}, u2 {b, c} and an unknown user, top 3. */
static void test_recommend(void)
{
    struct rs_csr x, h;
    struct rs_strmap *items = tiny(&x);
    struct rs_itemknn m;
    fit(&m, &x, items, 10, 0, 1);
    /* h: the rows of x in model order (a 0, b 1, c 2, d 3) */
    struct rs_coo c;
    rs_coo_init(&c);
    rs_coo_add(&c, 0, 0, 1), rs_coo_add(&c, 0, 1, 1), rs_coo_add(&c, 1, 1, 1), rs_coo_add(&c, 1, 2, 1);
    rs_csr_from_coo(&h, &c, 2, 4);
    rs_coo_free(&c);
    int64_t users[] = { 0, 1, -1 }, ids[9];
    float sc[9];
    size_t n[3];
    rs_itemknn_recommend(&m, &h, users, 3, 3, 0, 1, ids, sc, n);
    /* u0: c = s_ac + s_bc = 1/2 + 2/√6; a = s_ba, b = s_ab tied: a first */
    ok(n[0] == 3 && ids[0] == 2 && ids[1] == 0 && ids[2] == 1, "u0: c, then a and b tied, a first");
    is_near(sc[0], 0.5 + 2 / sqrt(6), 1e-6, "score of c for u0 = s_ac + s_bc");
    ok(n[2] == 3 && ids[6] == 1 && ids[7] == 0 && ids[8] == 2 && sc[6] == 3, "unknown: popularity b, a, c");
    rs_itemknn_recommend(&m, &h, users, 3, 3, 1, 1, ids, sc, n);
    ok(n[0] == 2 && ids[0] == 2 && ids[1] == 3 && sc[1] == 0, "u0 excluding seen: c, then d at 0");
    ok(n[1] == 2 && ids[3] == 0 && ids[4] == 3, "u2 excluding seen: a, then d");
    rs_itemknn_free(&m);
    rs_csr_free(&h);
    rs_csr_free(&x);
    rs_strmap_free(items);
}

static void test_history(void)
{
    struct rs_coo c;
    rs_coo_init(&c);
    /* u0: a b a c (input order); u1: b */
    rs_coo_add(&c, 0, 0, 1), rs_coo_add(&c, 1, 1, 1), rs_coo_add(&c, 0, 1, 1);
    rs_coo_add(&c, 0, 0, 1), rs_coo_add(&c, 0, 2, 1);
    struct rs_csr x;
    size_t cut = rs_itemknn_history(&x, &c, 2, 3, 2);
    ok(cut == 1 && x.indptr[1] == 2 && x.indices[0] == 0 && x.indices[1] == 2,
       "H = 2: u0 keeps its last two distinct items, a and c");
    rs_csr_free(&x);
    cut = rs_itemknn_history(&x, &c, 2, 3, 0);
    ok(cut == 0 && x.nnz == 4, "H = 0: everything, once per pair");
    rs_csr_free(&x);
    rs_coo_free(&c);
}

static void random_matrix(struct rs_csr *x, struct rs_strmap **items, size_t nu, size_t ni)
{
    struct rs_rng g;
    rs_rng_init(&g, 7, 0);
    struct rs_coo c;
    rs_coo_init(&c);
    for (size_t u = 0; u < nu; u++)
        for (size_t i = 0; i < ni; i++)
            if (rs_rng_uniform(&g) < 0.05 || i == u % ni)
                rs_coo_add(&c, (uint32_t)u, (uint32_t)i, 1.0f);
    rs_csr_from_coo(x, &c, nu, ni);
    rs_coo_free(&c);
    *items = rs_strmap_new(ni);
    for (size_t i = 0; i < ni; i++) {
        char id[32];
        rs_strmap_put(*items, id, (size_t)snprintf(id, sizeof id, "i%zu", i), NULL);
    }
}

static int same_model(const struct rs_itemknn *a, const struct rs_itemknn *b)
{
    size_t n = a->nitems, nnz = a->ptr[n];
    return n == b->nitems && !memcmp(a->ptr, b->ptr, (n + 1) * 8) && !memcmp(a->nbr, b->nbr, nnz * 4) &&
           !memcmp(a->sim, b->sim, nnz * 4) && !memcmp(a->popularity, b->popularity, n * 4);
}

static void test_threads_and_file(void)
{
    struct rs_csr x;
    struct rs_strmap *items;
    random_matrix(&x, &items, 400, 300);
    struct rs_itemknn a, b, l;
    fit(&a, &x, items, 20, 5, 1);
    fit(&b, &x, items, 20, 5, 3);
    ok(same_model(&a, &b), "-j1 and -j3: the same bits");
    ok(a.ptr[300] == 300 * 20, "every item keeps M = 20");
    char path[64];
    snprintf(path, sizeof path, "/tmp/test-itemknn-%d.rsm", (int)getpid());
    is_int(rs_itemknn_save(&a, path), 0, "save");
    is_int(rs_itemknn_load(&l, path), 0, "load");
    ok(same_model(&a, &l) && l.neighbours == 20 && l.shrink == 5, "load gives back the model");
    rs_itemknn_free(&l);
    ((int32_t *)b.own[1])[5] = 0; /* item 0's list names item 0 itself */
    rs_itemknn_save(&b, path);
    is_int(rs_itemknn_load(&l, path), RS_ERR_FORMAT, "load refuses an item in its own list");
    ((int32_t *)b.own[1])[5] = 1;
    ((float *)b.own[2])[9] = NAN;
    rs_itemknn_save(&b, path);
    is_int(rs_itemknn_load(&l, path), RS_ERR_FORMAT, "load refuses NaN");
    unlink(path);
    rs_itemknn_free(&a);
    rs_itemknn_free(&b);
    rs_csr_free(&x);
    rs_strmap_free(items);
}

int main(void)
{
    test_tiny();
    test_recommend();
    test_history();
    test_threads_and_file();
    return done_testing();
}
