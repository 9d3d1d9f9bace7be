/* test-als.c - implicit ALS: the Gram-trick loss against a dense sum, a
 * monotone objective (exact and CG solves), recovery of a planted low-rank
 * preference matrix, thread independence, weighting formulas, top-k. */
#include "model/als.h"
#include "prep/csr.h"
#include "core/rng.h"
#include "tap.h"
#include "nn/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A random users × items matrix with about density·n entries of count 1..3. */
static void random_matrix(struct rs_csr *m, size_t nu, size_t ni, double density, uint64_t seed)
{
    struct rs_rng g;
    rs_rng_init(&g, seed, 0);
    struct rs_coo c;
    rs_coo_init(&c);
    for (size_t u = 0; u < nu; u++)
        for (size_t i = 0; i < ni; i++)
            if (rs_rng_uniform(&g) < density)
                rs_coo_add(&c, (uint32_t)u, (uint32_t)i, (float)(1 + rs_rng_below(&g, 3)));
    rs_csr_from_coo(m, &c, nu, ni);
    rs_coo_free(&c);
}

/* The objective summed over every (u, i) pair directly. */
static double dense_loss(const struct rs_als *m, const struct rs_csr *cu, double lambda)
{
    double loss = 0;
    size_t f = (size_t)m->f;
    for (size_t u = 0; u < m->nusers; u++)
        for (size_t i = 0; i < m->nitems; i++) {
            double s = 0, c = 1, p = 0;
            for (size_t k = 0; k < f; k++)
                s += (double)m->x[u * f + k] * m->y[i * f + k];
            for (uint64_t k = cu->indptr[u]; k < cu->indptr[u + 1]; k++)
                if (cu->indices[k] == i)
                    c = cu->data[k], p = 1;
            loss += c * (p - s) * (p - s);
        }
    for (size_t k = 0; k < m->nusers * f; k++)
        loss += lambda * m->x[k] * m->x[k];
    for (size_t k = 0; k < m->nitems * f; k++)
        loss += lambda * m->y[k] * m->y[k];
    return loss;
}

static void test_loss_and_monotone(int solver, int cg_steps, const char *name)
{
    struct rs_csr cu, ci;
    random_matrix(&cu, 60, 45, 0.1, 11);
    rs_als_confidence(&cu, RS_ALS_LINEAR, 10, 1);
    rs_csr_transpose(&ci, &cu);
    struct rs_als m;
    rs_als_init(&m, 60, 45, 6, 3);
    double l0 = rs_als_loss(&m, &cu, 0.1, 2), d0 = dense_loss(&m, &cu, 0.1);
    is_near(l0 / d0, 1, 1e-6, "%s: Gram-trick loss equals the dense sum at init", name);
    struct rs_als_params p = { 0.1, solver, cg_steps, 2 };
    double prev = l0;
    int monotone = 1;
    for (int it = 0; it < 25; it++) {
        rs_als_sweep(&m, &cu, &ci, &p);
        double l = rs_als_loss(&m, &cu, 0.1, 2);
        if (!(l <= prev * (1 + 1e-7))) {
            monotone = 0;
            printf("#   iteration %d: %.9g after %.9g\n", it + 1, l, prev);
        }
        prev = l;
    }
    ok(monotone, "%s: the objective never increases over 25 iterations", name);
    ok(prev < 0.5 * l0, "%s: and falls well below its start (%.6g -> %.6g)", name, l0, prev);
    is_near(prev / dense_loss(&m, &cu, 0.1), 1, 1e-5, "%s: Gram-trick loss equals the dense sum", name);
    rs_als_free(&m);
    rs_csr_free(&cu);
    rs_csr_free(&ci);
}

/* Exact solves reach a loss CG approaches with more steps. */
static void test_cg_vs_exact(void)
{
    struct rs_csr cu, ci;
    random_matrix(&cu, 80, 50, 0.08, 21);
    rs_als_confidence(&cu, RS_ALS_LINEAR, 5, 1);
    rs_csr_transpose(&ci, &cu);
    double loss[2];
    for (int s = 0; s < 2; s++) {
        struct rs_als m;
        rs_als_init(&m, 80, 50, 85, 9); /* 64 + 16 lanes + a scalar tail */
        struct rs_als_params p = { 0.5, s ? RS_ALS_CHOLESKY : RS_ALS_CG, 8, 1 };
        for (int it = 0; it < 30; it++)
            rs_als_sweep(&m, &cu, &ci, &p);
        loss[s] = rs_als_loss(&m, &cu, 0.5, 1);
        is_near(loss[s] / dense_loss(&m, &cu, 0.5), 1, 1e-5, "f = 85: Gram-trick loss equals the dense sum");
        rs_als_free(&m);
    }
    is_near(loss[0] / loss[1], 1, 0.01, "CG (8 steps) and Cholesky end within 1%% (%.6g, %.6g)", loss[0],
            loss[1]);
    rs_csr_free(&cu);
    rs_csr_free(&ci);
}

static double correlation(const double *a, const double *b, int n)
{
    double ma = 0, mb = 0, saa = 0, sbb = 0, sab = 0;
    for (int i = 0; i < n; i++) {
        ma += a[i] / n;
        mb += b[i] / n;
    }
    for (int i = 0; i < n; i++) {
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
        sab += (a[i] - ma) * (b[i] - mb);
    }
    return sab / sqrt(saa * sbb);
}

/* Planted rank-3 preferences: users like their top 15% items by u·v; 60% of
 * those are observed. The factors must reconstruct the planted scores and
 * rank the unobserved liked items above the rest. */
static void test_planted(void)
{
    enum { NU = 300, NI = 200, R = 3, F = 8 };
    struct rs_rng g;
    rs_rng_init(&g, 77, 0);
    static double pu[NU][R], pv[NI][R], score[NU][NI];
    static int liked[NU][NI], seen[NU][NI];
    for (int u = 0; u < NU; u++)
        for (int r = 0; r < R; r++)
            pu[u][r] = rs_rng_normal(&g);
    for (int i = 0; i < NI; i++)
        for (int r = 0; r < R; r++)
            pv[i][r] = rs_rng_normal(&g);
    struct rs_coo c;
    rs_coo_init(&c);
    for (int u = 0; u < NU; u++) {
        double sorted[NI];
        for (int i = 0; i < NI; i++) {
            score[u][i] = 0;
            for (int r = 0; r < R; r++)
                score[u][i] += pu[u][r] * pv[i][r];
            sorted[i] = score[u][i];
        }
        /* threshold: the 85th percentile of this user's scores */
        for (int a = 1; a < NI; a++)
            for (int b = a; b > 0 && sorted[b - 1] > sorted[b]; b--) {
                double t = sorted[b];
                sorted[b] = sorted[b - 1];
                sorted[b - 1] = t;
            }
        double cut = sorted[(int)(0.85 * NI)];
        for (int i = 0; i < NI; i++) {
            liked[u][i] = score[u][i] >= cut;
            seen[u][i] = liked[u][i] && rs_rng_uniform(&g) < 0.6;
            if (seen[u][i])
                rs_coo_add(&c, (uint32_t)u, (uint32_t)i, 1.0f);
        }
    }
    struct rs_csr cu, ci;
    rs_csr_from_coo(&cu, &c, NU, NI);
    rs_coo_free(&c);
    rs_als_confidence(&cu, RS_ALS_LINEAR, 20, 1);
    rs_csr_transpose(&ci, &cu);
    struct rs_als m;
    rs_als_init(&m, NU, NI, F, 5);
    struct rs_als_params p = { 0.1, RS_ALS_CG, 3, 2 };
    for (int it = 0; it < 15; it++)
        rs_als_sweep(&m, &cu, &ci, &p);

    /* Per-user correlation with the planted scores, averaged, of x·y and of
     * the observed 0/1 matrix itself (the baseline to beat); and AUC of
     * held-out liked items against never-liked ones. */
    double corr = 0, base = 0, auc = 0;
    int auc_users = 0;
    for (int u = 0; u < NU; u++) {
        double pred[NI], obs[NI];
        for (int i = 0; i < NI; i++) {
            pred[i] = rs_sdot(F, m.x + u * F, m.y + i * F);
            obs[i] = seen[u][i];
        }
        corr += correlation(pred, score[u], NI) / NU;
        base += correlation(obs, score[u], NI) / NU;
        long pairs = 0, wins = 0;
        for (int i = 0; i < NI; i++)
            for (int j = 0; j < NI; j++)
                if (liked[u][i] && !seen[u][i] && !liked[u][j]) {
                    pairs++;
                    wins += pred[i] > pred[j];
                }
        if (pairs) {
            auc += (double)wins / (double)pairs;
            auc_users++;
        }
    }
    auc /= auc_users;
    ok(corr > 0.7 && corr > base + 0.15,
       "planted rank 3: correlation of x·y with the planted score %.3f > 0.7 and > observed's %.3f + 0.15",
       corr, base);
    ok(auc > 0.95, "planted rank 3: held-out liked items outrank unliked ones, AUC %.3f > 0.95", auc);
    rs_als_free(&m);
    rs_csr_free(&cu);
    rs_csr_free(&ci);
}

/* Factors are the same bytes for any thread count; seeds matter. */
static void test_determinism(void)
{
    struct rs_csr cu, ci;
    random_matrix(&cu, 500, 300, 0.03, 4);
    rs_als_confidence(&cu, RS_ALS_LOG, 20, 0.5);
    rs_csr_transpose(&ci, &cu);
    struct rs_als m[3];
    int threads[3] = { 1, 3, 2 };
    uint64_t seed[3] = { 8, 8, 9 };
    double loss[3];
    for (int k = 0; k < 3; k++) {
        rs_als_init(&m[k], 500, 300, 16, seed[k]);
        struct rs_als_params p = { 0.05, RS_ALS_CG, 3, threads[k] };
        for (int it = 0; it < 3; it++)
            rs_als_sweep(&m[k], &cu, &ci, &p);
        loss[k] = rs_als_loss(&m[k], &cu, 0.05, threads[k]);
    }
    ok(memcmp(m[0].x, m[1].x, 500 * 16 * sizeof(float)) == 0 &&
           memcmp(m[0].y, m[1].y, 300 * 16 * sizeof(float)) == 0,
       "1 and 3 threads give identical factors");
    ok(loss[0] == loss[1], "and the identical loss");
    ok(memcmp(m[0].x, m[2].x, 500 * 16 * sizeof(float)) != 0, "another seed gives other factors");
    for (int k = 0; k < 3; k++)
        rs_als_free(&m[k]);
    rs_csr_free(&cu);
    rs_csr_free(&ci);
}

static void test_weighting(void)
{
    /* 2 users × 3 items: u0 = {i0: 2, i1: 1}, u1 = {i1: 4}. */
    struct rs_coo c;
    rs_coo_init(&c);
    rs_coo_add(&c, 0, 0, 2);
    rs_coo_add(&c, 0, 1, 1);
    rs_coo_add(&c, 1, 1, 4);
    struct rs_csr m;
    rs_csr_from_coo(&m, &c, 2, 3);
    rs_als_bm25(&m, 100, 0.8);
    /* len = (2, 5, 0), avg 7/3; idf_u0 = log 3 - log 3 = 0, idf_u1 = log 3 - log 2 */
    double idf1 = log(3.0) - log(2.0), norm1 = 0.2 + 0.8 * 5 / (7.0 / 3);
    is_near(m.data[0], 0, 1e-12, "bm25: a user of n-1 items has idf 0");
    is_near(m.data[2], 4 * 101 / (100 * norm1 + 4) * idf1, 1e-6, "bm25 value");
    rs_csr_free(&m);
    rs_csr_from_coo(&m, &c, 2, 3);
    rs_als_tfidf(&m);
    is_near(m.data[2], 2 * idf1, 1e-6, "tfidf: sqrt(r) idf");
    rs_csr_free(&m);
    rs_csr_from_coo(&m, &c, 2, 3);
    rs_als_confidence(&m, RS_ALS_LOG, 3, 0.5);
    is_near(m.data[2], 1 + 3 * log(9.0), 1e-5, "log confidence 1 + a log(1 + r/eps)");
    rs_als_confidence(&m, RS_ALS_LINEAR, 2, 1);
    is_near(m.data[1], 1 + 2 * (1 + 3 * log(3.0)), 1e-5, "linear confidence 1 + a r");
    rs_csr_free(&m);
    rs_coo_free(&c);
}

static void test_recommend(void)
{
    /* 2 users, 4 items, f = 1: scores are x_u y_i. */
    struct rs_als m;
    rs_als_init(&m, 2, 4, 1, 1);
    m.x[0] = 1, m.x[1] = -1;
    m.y[0] = 0.1f, m.y[1] = 0.4f, m.y[2] = 0.3f, m.y[3] = 0.4f;
    struct rs_coo c;
    rs_coo_init(&c);
    rs_coo_add(&c, 0, 1, 1);
    struct rs_csr seen;
    rs_csr_from_coo(&seen, &c, 2, 4);
    float pop[4] = { 5, 1, 7, 5 };
    int64_t users[3] = { 0, -1, 1 }, ids[9];
    float scores[9];
    size_t counts[3];
    rs_als_recommend(&m, NULL, users, 3, 3, &seen, pop, 2, ids, scores, counts);
    ok(counts[0] == 3 && ids[0] == 3 && ids[1] == 2 && ids[2] == 0, "user 0: seen item 1 left out");
    ok(counts[1] == 3 && ids[3] == 2 && ids[4] == 0 && ids[5] == 3 && scores[3] == 7,
       "unknown user: popular items, ties by lower id, score = popularity");
    ok(ids[6] == 0 && ids[7] == 2, "user 1: negative taste reverses the order");
    rs_als_recommend(&m, NULL, users, 1, 4, NULL, pop, 1, ids, scores, counts);
    ok(counts[0] == 4 && ids[0] == 1 && ids[1] == 3, "without seen: ties by lower id");
    rs_als_recommend(&m, NULL, users, 1, 9, &seen, pop, 1, ids, scores, counts);
    is_int(counts[0], 3, "k beyond the items left: count says how many");
    /* Searched in the order 3 2 1 0: ties go to the item earlier in it, the
     * seen item is still left out, item rows come back. */
    uint32_t order[4] = { 3, 2, 1, 0 };
    rs_als_recommend(&m, order, users, 3, 3, &seen, pop, 1, ids, scores, counts);
    ok(counts[0] == 3 && ids[0] == 3 && ids[1] == 2 && ids[2] == 0, "in an order: user 0 as before");
    ok(ids[3] == 2 && ids[4] == 3 && ids[5] == 0, "in an order: popularity ties follow it");
    rs_als_recommend(&m, order, users, 1, 4, NULL, pop, 1, ids, scores, counts);
    ok(ids[0] == 3 && ids[1] == 1, "in an order: score ties follow it");
    rs_csr_free(&seen);
    rs_coo_free(&c);
    rs_als_free(&m);
}

int main(void)
{
    test_loss_and_monotone(RS_ALS_CHOLESKY, 1, "cholesky");
    test_loss_and_monotone(RS_ALS_CG, 3, "cg 3 steps");
    test_cg_vs_exact();
    test_planted();
    test_determinism();
    test_weighting();
    test_recommend();
    return done_testing();
}
