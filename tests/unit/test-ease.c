/* test-ease.c - EASE (Steck 2019): B on two items against the closed form,
 * B on a random matrix against a double-precision Gauss-Jordan reference,
 * diag(B) = 0, item order, thread independence, top-k with exclusions, ties
 * and the popularity fallback, the item limit, save/load and what load
 * refuses, and the Cholesky inverse wrapper itself. */
#include "model/ease.h"
#include "prep/csr.h"
#include "core/err.h"
#include "io/rsm.h"
#include "core/rng.h"
#include "core/strmap.h"
#include "nn/tensor.h"
#include "tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct rs_ease_params P1 = { 500, 0, 1 };

/* A users × items 0/1 matrix with about density·n entries, items named i0.. */
static void random_matrix(struct rs_csr *x, struct rs_strmap **items, size_t nu, size_t ni, double density,
                          uint64_t seed)
{
    struct rs_rng g;
    rs_rng_init(&g, seed, 0);
    struct rs_coo c;
    rs_coo_init(&c);
    for (size_t u = 0; u < nu; u++)
        for (size_t i = 0; i < ni; i++)
            if (rs_rng_uniform(&g) < density || i == u % ni) /* every item has a user */
                rs_coo_add(&c, (uint32_t)u, (uint32_t)i, 1.0f);
    rs_csr_from_coo(x, &c, nu, ni);
    rs_coo_free(&c);
    *items = rs_strmap_new(ni);
    for (size_t i = 0; i < ni; i++) {
        char id[32];
        int len = snprintf(id, sizeof id, "i%03zu", i); /* zero-padded: byte order = index order */
        rs_strmap_put(*items, id, (size_t)len, NULL);
    }
}

/* a (n × n, row-major, double) inverted in place by Gauss-Jordan with partial
 * pivoting: the reference for P = G⁻¹. */
static void inverse_ref(double *a, size_t n)
{
    double *inv = calloc(n * n, sizeof *inv);
    for (size_t i = 0; i < n; i++)
        inv[i * n + i] = 1;
    for (size_t c = 0; c < n; c++) {
        size_t p = c;
        for (size_t r = c + 1; r < n; r++)
            if (fabs(a[r * n + c]) > fabs(a[p * n + c]))
                p = r;
        for (size_t k = 0; k < n; k++) {
            double t = a[c * n + k]; a[c * n + k] = a[p * n + k]; a[p * n + k] = t;
            t = inv[c * n + k]; inv[c * n + k] = inv[p * n + k]; inv[p * n + k] = t;
        }
        double d = a[c * n + c];
        for (size_t k = 0; k < n; k++)
            a[c * n + k] /= d, inv[c * n + k] /= d;
        for (size_t r = 0; r < n; r++) {
            double f = a[r * n + c];
            if (r == c || f == 0)
                continue;
            for (size_t k = 0; k < n; k++)
                a[r * n + k] -= f * a[c * n + k], inv[r * n + k] -= f * inv[c * n + k];
        }
    }
    memcpy(a, inv, n * n * sizeof *a);
    free(inv);
}

/* B of x in double: G = XᵀX + λI, P = G⁻¹, B_ij = −P_ij / P_jj, B_jj = 0. */
static double *b_ref(const struct rs_csr *x, double lambda)
{
    size_t n = x->ncols;
    double *g = calloc(n * n, sizeof *g);
    for (size_t u = 0; u < x->nrows; u++)
        for (uint64_t a = x->indptr[u]; a < x->indptr[u + 1]; a++)
            for (uint64_t b = x->indptr[u]; b < x->indptr[u + 1]; b++)
                g[x->indices[a] * n + x->indices[b]] += 1;
    for (size_t i = 0; i < n; i++)
        g[i * n + i] += lambda;
    inverse_ref(g, n);
    double *b = malloc(n * n * sizeof *b);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            b[i * n + j] = i == j ? 0 : -g[i * n + j] / g[j * n + j];
    free(g);
    return b;
}

/* x (nu × ni) with a 1 at each (user, item) pair of ui[0..2n). */
static void from_pairs(struct rs_csr *x, const uint32_t *ui, size_t n, size_t nu, size_t ni)
{
    struct rs_coo c;
    rs_coo_init(&c);
    for (size_t k = 0; k < n; k++)
        rs_coo_add(&c, ui[2 * k], ui[2 * k + 1], 1.0f + (float)(k % 2)); /* any value counts as 1 */
    rs_csr_from_coo(x, &c, nu, ni);
    rs_coo_free(&c);
}

/* Two items, a users with the first, b with the second, c with both:
 * G = [[a+λ, c], [c, b+λ]] gives B_01 = c / (a+λ), B_10 = c / (b+λ). */
static void test_two_items(void)
{
    /* column 0 ("b"): users 0..5; column 1 ("a"): users 3..7; so a = 5, b = 6, c = 3 */
    uint32_t ui[22];
    size_t n = 0;
    for (uint32_t u = 0; u < 8; u++) {
        if (u < 6)
            ui[2 * n] = u, ui[2 * n++ + 1] = 0;
        if (u >= 3)
            ui[2 * n] = u, ui[2 * n++ + 1] = 1;
    }
    struct rs_csr x;
    from_pairs(&x, ui, n, 8, 2);
    struct rs_strmap *items = rs_strmap_new(2);
    rs_strmap_put(items, "b", 1, NULL);
    rs_strmap_put(items, "a", 1, NULL); /* column 1 is "a": the model puts it first (row 0) */
    struct rs_ease m;
    struct rs_ease_params p = { 2.0, 0, 1 };
    is_int(rs_ease_fit(&m, &x, items, &p), 0, "two items: fit");
    is_str(rs_strmap_key(m.items, 0, NULL), "a", "items in byte order: 'a' first");
    is_near(m.b[0], 0, 0, "B_aa = 0");
    is_near(m.b[3], 0, 0, "B_bb = 0");
    is_near(m.b[1], 3.0 / 7.0, 1e-6, "B_ab = c / (a + lambda)");
    is_near(m.b[2], 3.0 / 8.0, 1e-6, "B_ba = c / (b + lambda)");
    is_near(m.popularity[0], 5, 0, "popularity = users of the item");
    is_int(m.npairs, 11, "pairs");
    rs_ease_free(&m);
    rs_csr_free(&x);
    rs_strmap_free(items);
}

static void test_against_double(void)
{
    struct rs_csr x;
    struct rs_strmap *items;
    random_matrix(&x, &items, 60, 25, 0.2, 3);
    for (int t = 0; t < 3; t++) {
        double lambda = t == 0 ? 0.5 : t == 1 ? 10 : 500;
        struct rs_ease m;
        struct rs_ease_params p = { lambda, 0, 2 };
        is_int(rs_ease_fit(&m, &x, items, &p), 0, "random 60 x 25, lambda %g: fit", lambda);
        double *b = b_ref(&x, lambda), err = 0, scale = 0, diag = 0;
        for (size_t k = 0; k < 25 * 25; k++) {
            err = fmax(err, fabs(m.b[k] - b[k]));
            scale = fmax(scale, fabs(b[k]));
        }
        for (size_t i = 0; i < 25; i++)
            diag = fmax(diag, fabs(m.b[i * 25 + i]));
        ok(err <= 1e-5 * scale, "lambda %g: B within 1e-5 of the double reference (max |B| %.3g, error %.3g)",
           lambda, scale, err);
        is_near(diag, 0, 0, "lambda %g: diag(B) = 0", lambda);
        free(b);
        rs_ease_free(&m);
    }
    rs_csr_free(&x);
    rs_strmap_free(items);
}

static void test_threads(void)
{
    struct rs_csr x;
    struct rs_strmap *items;
    random_matrix(&x, &items, 300, 70, 0.1, 5);
    struct rs_ease a, b;
    struct rs_ease_params p3 = { 50, 0, 3 };
    rs_ease_fit(&a, &x, items, &P1);
    p3.lambda = P1.lambda;
    rs_ease_fit(&b, &x, items, &p3);
    ok(memcmp(a.b, b.b, 70 * 70 * sizeof(float)) == 0, "B: the same bits with 1 and 3 threads");
    int64_t users[300];
    for (size_t u = 0; u < 300; u++)
        users[u] = (int64_t)u;
    int64_t id1[300 * 10], id3[300 * 10];
    float s1[300 * 10], s3[300 * 10];
    size_t c1[300], c3[300];
    rs_ease_recommend(&a, &x, users, 300, 10, 1, 1, id1, s1, c1);
    rs_ease_recommend(&b, &x, users, 300, 10, 1, 3, id3, s3, c3);
    ok(memcmp(id1, id3, sizeof id1) == 0 && memcmp(s1, s3, sizeof s1) == 0 && memcmp(c1, c3, sizeof c1) == 0,
       "candidates: the same bits with 1 and 3 threads");
    rs_ease_free(&a);
    rs_ease_free(&b);
    rs_csr_free(&x);
    rs_strmap_free(items);
}

/* Top-k of user u by brute force: the k best of s, seen items skipped. */
static int topk_matches(const struct rs_ease *m, const struct rs_csr *x, size_t u, int excl,
                        const int64_t *ids, const float *sc, size_t count)
{
    size_t n = m->nitems, nr = (size_t)(x->indptr[u + 1] - x->indptr[u]);
    float *s = malloc(n * sizeof *s);
    rs_ease_scores(m, x->indices + x->indptr[u], nr, s);
    char *used = calloc(n, 1);
    for (uint64_t a = x->indptr[u]; excl && a < x->indptr[u + 1]; a++)
        used[x->indices[a]] = 1;
    int good = 1;
    for (size_t r = 0; r < count && good; r++) {
        size_t best = n;
        for (size_t j = 0; j < n; j++)
            if (!used[j] && (best == n || s[j] > s[best]))
                best = j;
        good = best < n && ids[r] == (int64_t)best && sc[r] == s[best];
        if (best < n)
            used[best] = 1;
    }
    free(s);
    free(used);
    return good;
}

/* The k most popular items, ties to the lower item, with their counts. */
static int popular_matches(const struct rs_ease *m, const int64_t *ids, const float *sc, size_t k)
{
    char *used = calloc(m->nitems, 1);
    int good = 1;
    for (size_t r = 0; r < k && good; r++) {
        size_t best = m->nitems;
        for (size_t j = 0; j < m->nitems; j++)
            if (!used[j] && (best == m->nitems || m->popularity[j] > m->popularity[best]))
                best = j;
        good = ids[r] == (int64_t)best && sc[r] == m->popularity[best];
        used[best] = 1;
    }
    free(used);
    return good;
}

static void test_topk(void)
{
    struct rs_csr x;
    struct rs_strmap *items;
    random_matrix(&x, &items, 40, 30, 0.15, 9);
    struct rs_ease m;
    rs_ease_fit(&m, &x, items, &P1);
    int64_t users[3] = { 4, -1, 7 }, ids[3 * 8];
    float sc[3 * 8];
    size_t counts[3];
    for (int excl = 0; excl < 2; excl++) {
        rs_ease_recommend(&m, &x, users, 3, 8, excl, 2, ids, sc, counts);
        ok(counts[0] == 8 && topk_matches(&m, &x, 4, excl, ids, sc, 8),
           "exclude %d: user 4's top 8 = the brute-force top 8 of x_u B", excl);
        ok(topk_matches(&m, &x, 7, excl, ids + 16, sc + 16, counts[2]), "exclude %d: user 7 likewise", excl);
        ok(counts[1] == 8 && popular_matches(&m, ids + 8, sc + 8, 8),
           "exclude %d: an unknown user gets the most popular items, ties to the lower id", excl);
    }
    int clean = 1; /* the last run excluded: no seen item among user 4's candidates */
    for (uint64_t a = x.indptr[4]; a < x.indptr[5]; a++)
        for (size_t r = 0; r < counts[0]; r++)
            clean &= ids[r] != (int64_t)x.indices[a];
    ok(clean, "user 4: no seen item among the candidates");
    int64_t one = 4;
    rs_ease_recommend(&m, &x, &one, 1, 100, 1, 1, ids, sc, counts);
    is_int(counts[0], 30 - (x.indptr[5] - x.indptr[4]), "k beyond the unseen items: every unseen item, once");
    rs_ease_free(&m);
    rs_csr_free(&x);
    rs_strmap_free(items);
}

/* Equal scores go to the lower item: 3 items nobody shares give B = 0. */
static void test_ties(void)
{
    static const uint32_t ui[] = { 0, 0, 1, 1, 2, 2 };
    struct rs_csr x;
    from_pairs(&x, ui, 3, 3, 3);
    struct rs_strmap *items = rs_strmap_new(3);
    rs_strmap_put(items, "z", 1, NULL);
    rs_strmap_put(items, "m", 1, NULL);
    rs_strmap_put(items, "a", 1, NULL);
    struct rs_ease m;
    rs_ease_fit(&m, &x, items, &P1);
    int64_t u = 1, ids[2];
    float sc[2];
    size_t count;
    rs_ease_recommend(&m, &x, &u, 1, 2, 1, 1, ids, sc, &count); /* x as a history: model order */
    /* user 1 has "m" (row 1); "a" (row 0) and "z" (row 2) both score 0 */
    ok(count == 2 && ids[0] == 0 && ids[1] == 2 && sc[0] == 0 && sc[1] == 0, "ties go to the lower item id");
    rs_ease_free(&m);
    rs_csr_free(&x);
    rs_strmap_free(items);
}

static void test_limit(void)
{
    struct rs_csr x;
    struct rs_strmap *items;
    random_matrix(&x, &items, 20, 12, 0.3, 1);
    struct rs_ease m;
    struct rs_ease_params p = { 500, 11, 1 };
    is_int(rs_ease_fit(&m, &x, items, &p), RS_ERR_NOMEM, "12 items over a limit of 11: refused");
    ok(strstr(rs_err_msg(), "12 items: more than the limit of 11") && strstr(rs_err_msg(), "rs-als"),
       "the message names the count, the limit and a sparse model: %s", rs_err_msg());
    ok(m.items == NULL && m.own == NULL, "nothing allocated");
    p.max_items = 12;
    is_int(rs_ease_fit(&m, &x, items, &p), 0, "12 items at a limit of 12: fitted");
    rs_ease_free(&m);
    rs_csr_free(&x);
    rs_strmap_free(items);
}

/* Writes an RSM of kind ease with B's diagonal set to v (a broken model). */
static void save_bad(const struct rs_ease *m, const char *path, const char *kind, float v)
{
    size_t n = m->nitems;
    float *b = malloc(n * n * sizeof *b);
    memcpy(b, m->b, n * n * sizeof *b);
    b[0] = v;
    struct rs_rsm *r = rs_rsm_new();
    json_t *model = json_pack("{s:s, s:f, s:I}", "kind", kind, "lambda", 1.0, "items", (json_int_t)n);
    rs_rsm_set_section(r, "model", model);
    json_decref(model);
    uint64_t sb[2] = { n, n }, sn = n, ids = 0;
    char blob[64];
    for (size_t i = 0; i < n; i++)
        ids += (uint64_t)snprintf(blob + ids, sizeof blob - ids, "%s", rs_strmap_key(m->items, (int64_t)i, NULL)) + 1;
    rs_rsm_add_tensor(r, "item_ids", RS_RSM_U8, 1, &ids, blob);
    rs_rsm_add_tensor(r, "popularity", RS_RSM_F32, 1, &sn, m->popularity);
    rs_rsm_add_tensor(r, "B", RS_RSM_F32, 2, sb, b);
    rs_rsm_save(r, path);
    rs_rsm_free(r);
    free(b);
}

static void test_save_load(void)
{
    struct rs_csr x;
    struct rs_strmap *items;
    random_matrix(&x, &items, 30, 9, 0.3, 2);
    struct rs_ease m, l;
    rs_ease_fit(&m, &x, items, &P1);
    char path[64];
    snprintf(path, sizeof path, "/tmp/test-ease-%d.rsm", (int)getpid());
    is_int(rs_ease_save(&m, path), 0, "save");
    is_int(rs_ease_load(&l, path), 0, "load");
    ok(l.nitems == 9 && l.lambda == 500 && l.nusers == 30 && l.npairs == m.npairs, "load: metadata");
    ok(memcmp(l.b, m.b, 81 * sizeof(float)) == 0 && memcmp(l.popularity, m.popularity, 9 * sizeof(float)) == 0,
       "load: B and popularity bit for bit");
    int same = 1;
    for (size_t i = 0; i < 9; i++)
        same &= strcmp(rs_strmap_key(l.items, (int64_t)i, NULL), rs_strmap_key(m.items, (int64_t)i, NULL)) == 0;
    ok(same, "load: item ids in order");
    rs_ease_free(&l);
    save_bad(&m, path, "ease", 0.5f);
    is_int(rs_ease_load(&l, path), RS_ERR_FORMAT, "load refuses a nonzero diagonal");
    ok(strstr(rs_err_msg(), "row 0 of B") != NULL, "... naming the row: %s", rs_err_msg());
    save_bad(&m, path, "ease", NAN);
    is_int(rs_ease_load(&l, path), RS_ERR_FORMAT, "load refuses NaN");
    save_bad(&m, path, "rank", 0);
    is_int(rs_ease_load(&l, path), RS_ERR_FORMAT, "load refuses another model kind");
    ok(strstr(rs_err_msg(), "is not an rs-ease model (model kind 'rank')") != NULL, "%s", rs_err_msg());
    unlink(path);
    rs_ease_free(&m);
    rs_csr_free(&x);
    rs_strmap_free(items);
}

static void test_spd_inverse(void)
{
    float a[9] = { 4, 2, 0.5f, 2, 5, 1, 0.5f, 1, 3 }, inv[9];
    memcpy(inv, a, sizeof a);
    is_int(rs_spd_inverse(inv, 3), 0, "spd inverse: 3 x 3");
    double err = 0, asym = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < 3; k++)
                s += (double)a[i * 3 + k] * inv[k * 3 + j];
            err = fmax(err, fabs(s - (i == j)));
            asym = fmax(asym, fabs(inv[i * 3 + j] - inv[j * 3 + i]));
        }
    ok(err < 1e-6, "A A^-1 = I (error %.3g)", err);
    ok(asym == 0, "both triangles filled, symmetric");
    float bad[4] = { 1, 2, 2, 1 }; /* eigenvalues 3 and -1 */
    is_int(rs_spd_inverse(bad, 2), 2, "not positive definite: the order of the failing minor");
}

int main(void)
{
    test_two_items();
    test_against_double();
    test_threads();
    test_topk();
    test_ties();
    test_limit();
    test_save_load();
    test_spd_inverse();
    return done_testing();
}
