/* test-metrics.c - ranking metrics against hand-computed values and a naive
 * per-cutoff reimplementation; entropy, Gini and intra-list diversity
 * against their definitions. */
#include "eval/metrics.h"
#include "core/rng.h"
#include "tap.h"

#include <math.h>
#include <stdlib.h>

#define NK 4
static const size_t ks[NK] = { 1, 3, 5, 10 };

static double get(const double *out, int m, size_t j) { return out[m * NK + j]; }

static void known_answers(void)
{
    /* list: hit, miss, hit, miss, miss; |T| = 3 */
    unsigned char rel[5] = { 1, 0, 1, 0, 0 };
    struct rs_metrics_list l = { 5, rel, NULL, 3, NULL };
    double out[RS_MET_NACC * NK];
    rs_metrics_accuracy(&l, ks, NK, out);
    double idcg3 = 1 + 1 / log2(3.0) + 0.5;
    is_near(get(out, RS_MET_PRECISION, 0), 1, 1e-15, "precision@1");
    is_near(get(out, RS_MET_PRECISION, 1), 2.0 / 3, 1e-15, "precision@3");
    is_near(get(out, RS_MET_PRECISION, 3), 0.2, 1e-15, "precision@10 divides by k, not the list length");
    is_near(get(out, RS_MET_RECALL, 0), 1.0 / 3, 1e-15, "recall@1");
    is_near(get(out, RS_MET_RECALL, 3), 2.0 / 3, 1e-15, "recall@10");
    is_near(get(out, RS_MET_NDCG, 0), 1, 1e-15, "ndcg@1");
    is_near(get(out, RS_MET_NDCG, 1), 1.5 / idcg3, 1e-15, "ndcg@3");
    is_near(get(out, RS_MET_NDCG, 3), 1.5 / idcg3, 1e-15, "ndcg@10: IDCG over min(k, |T|) positions");
    is_near(get(out, RS_MET_MAP, 0), 1, 1e-15, "map@1 = 1/min(1,3)");
    is_near(get(out, RS_MET_MAP, 1), (1 + 2.0 / 3) / 3, 1e-15, "map@3");
    is_near(get(out, RS_MET_MAP, 3), (1 + 2.0 / 3) / 3, 1e-15, "map@10 divides by min(k, |T|)");
    is_near(get(out, RS_MET_MRR, 0), 1, 0, "mrr@1");
    is_near(get(out, RS_MET_HIT_RATE, 2), 1, 0, "hit_rate@5");
    is_near(get(out, RS_MET_NDCG_GRADED, 3), 0, 0, "no gains: ndcg_graded is 0");

    /* first hit at position 4, |T| = 1 */
    unsigned char rel2[6] = { 0, 0, 0, 1, 0, 0 };
    struct rs_metrics_list l2 = { 6, rel2, NULL, 1, NULL };
    rs_metrics_accuracy(&l2, ks, NK, out);
    is_near(get(out, RS_MET_MRR, 1), 0, 0, "mrr@3 = 0 when the hit is below the cutoff");
    is_near(get(out, RS_MET_MRR, 2), 0.25, 1e-15, "mrr@5 = 1/4");
    is_near(get(out, RS_MET_HIT_RATE, 1), 0, 0, "hit_rate@3 = 0");
    is_near(get(out, RS_MET_NDCG, 2), 1 / log2(5.0), 1e-15, "ndcg@5 = (1/log2 5) / 1");
    is_near(get(out, RS_MET_MAP, 2), 0.25, 1e-15, "map@5 = (1/4) / min(5, 1)");

    /* empty list */
    struct rs_metrics_list l3 = { 0, NULL, NULL, 2, NULL };
    rs_metrics_accuracy(&l3, ks, NK, out);
    int zero = 1;
    for (int i = 0; i < RS_MET_NACC * NK; i++)
        zero &= out[i] == 0;
    ok(zero, "an empty list scores 0 everywhere");

    /* graded: gains 3 (pos 1), 5 (pos 2); truth gains 5, 3, 1 */
    unsigned char rel4[3] = { 1, 1, 0 };
    double gain4[3] = { 3, 5, 0 }, ideal4[3] = { 5, 3, 1 };
    struct rs_metrics_list l4 = { 3, rel4, gain4, 3, ideal4 };
    rs_metrics_accuracy(&l4, ks, NK, out);
    is_near(get(out, RS_MET_NDCG_GRADED, 0), 3.0 / 5, 1e-15, "ndcg_graded@1 = 3/5");
    double dcg = 3 + 5 / log2(3.0), idcg = 5 + 3 / log2(3.0) + 0.5;
    is_near(get(out, RS_MET_NDCG_GRADED, 1), dcg / idcg, 1e-15, "ndcg_graded@3");
    is_near(get(out, RS_MET_NDCG, 0), 1, 1e-15, "binary ndcg ignores gains");
    is_str(rs_metric_name(RS_MET_NDCG_GRADED), "ndcg_graded", "metric names");
    is_near(rs_metrics_discount(3), 0.5, 1e-15, "discount(3) = 1/log2(4)");
}

/* Naive definitions, one cutoff at a time. */
static void naive(const unsigned char *rel, const double *gain, size_t n, const double *ideal,
                  size_t nt, size_t k, double *m)
{
    double hits = 0, dcg = 0, gdcg = 0, idcg = 0, gidcg = 0, ap = 0, rr = 0;
    for (size_t i = 0; i < n && i < k; i++) {
        if (!rel[i])
            continue;
        hits++;
        dcg += 1 / log2(i + 2.0);
        gdcg += gain[i] / log2(i + 2.0);
        ap += hits / (i + 1.0);
        if (rr == 0)
            rr = 1 / (i + 1.0);
    }
    for (size_t i = 0; i < nt && i < k; i++) {
        idcg += 1 / log2(i + 2.0);
        gidcg += ideal[i] / log2(i + 2.0);
    }
    m[RS_MET_PRECISION] = hits / k;
    m[RS_MET_RECALL] = hits / nt;
    m[RS_MET_NDCG] = dcg / idcg;
    m[RS_MET_NDCG_GRADED] = gidcg > 0 ? gdcg / gidcg : 0;
    m[RS_MET_MAP] = ap / (double)(k < nt ? k : nt);
    m[RS_MET_MRR] = rr;
    m[RS_MET_HIT_RATE] = hits > 0;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

static void random_lists(void)
{
    struct rs_rng g;
    rs_rng_init(&g, 11, 0);
    int all = 1;
    for (int trial = 0; trial < 500 && all; trial++) {
        size_t n = rs_rng_below(&g, 30), nt = 1 + rs_rng_below(&g, 12);
        unsigned char rel[30];
        double gain[30], ideal[64];
        size_t nrel = 0;
        for (size_t i = 0; i < n; i++) {
            rel[i] = nrel < nt && rs_rng_below(&g, 3) == 0;
            gain[i] = rel[i] ? 1 + (double)rs_rng_below(&g, 5) : 0;
            if (rel[i])
                ideal[nrel++] = gain[i];
        }
        for (size_t i = nrel; i < nt; i++)
            ideal[i] = 1 + (double)rs_rng_below(&g, 5);
        qsort(ideal, nt, sizeof *ideal, cmp_desc);
        struct rs_metrics_list l = { n, rel, gain, nt, ideal };
        double out[RS_MET_NACC * NK], m[RS_MET_NACC];
        rs_metrics_accuracy(&l, ks, NK, out);
        for (size_t j = 0; j < NK; j++) {
            naive(rel, gain, n, ideal, nt, ks[j], m);
            for (int x = 0; x < RS_MET_NACC; x++)
                all &= fabs(m[x] - get(out, x, j)) < 1e-12;
        }
    }
    ok(all, "500 random lists: every metric at every cutoff equals the naive definition");
}

static void distribution(void)
{
    uint64_t a[2] = { 1, 1 }, b[1] = { 4 }, c[3] = { 1, 1, 2 }, z[2] = { 0, 0 };
    is_near(rs_metrics_entropy(a, 2), 1, 1e-15, "entropy of two equal counts is 1 bit");
    is_near(rs_metrics_entropy(b, 1), 0, 0, "entropy of one item is 0");
    is_near(rs_metrics_entropy(c, 3), 1.5, 1e-15, "entropy of 1,1,2 is 1.5 bits");
    is_near(rs_metrics_entropy(z, 2), 0, 0, "entropy of no recommendations is 0");
    uint64_t g1[3] = { 5, 5, 5 }, g2[3] = { 9, 0, 0 }, g3[4] = { 1, 0, 1, 0 }, g4[1] = { 3 };
    is_near(rs_metrics_gini(g1, 3), 0, 1e-15, "gini of equal counts is 0");
    is_near(rs_metrics_gini(g2, 3), 1, 1e-15, "gini of one item taking all is 1");
    is_near(rs_metrics_gini(g3, 4), 2.0 / 3, 1e-15, "gini of 0,0,1,1 is 2/3");
    is_near(rs_metrics_gini(g4, 1), 0, 0, "gini of a single item is 0");
    is_near(rs_metrics_gini(z, 2), 0, 0, "gini of zero counts is 0");
}

static void diversity(void)
{
    uint32_t ncat[3] = { 0 };
    struct rs_metrics_ild_cat d = { ncat, 0, 0 };
    int32_t cats[4] = { 0, 0, 1, 2 };
    rs_metrics_ild_cat_add(&d, 0);
    is_near(rs_metrics_ild_cat_value(&d), -1, 0, "one item: undefined");
    rs_metrics_ild_cat_add(&d, 0);
    rs_metrics_ild_cat_add(&d, 1);
    is_near(rs_metrics_ild_cat_value(&d), 2.0 / 3, 1e-15, "a,a,b: 2 of 3 pairs differ");
    rs_metrics_ild_cat_add(&d, 2);
    is_near(rs_metrics_ild_cat_value(&d), 5.0 / 6, 1e-15, "a,a,b,c: 5 of 6 pairs differ");
    rs_metrics_ild_cat_reset(&d, cats, 4);
    ok(ncat[0] == 0 && ncat[1] == 0 && ncat[2] == 0 && d.n == 0 && d.same == 0, "reset clears the counters");

    /* embeddings: the sum trick against all pairs */
    struct rs_rng g;
    rs_rng_init(&g, 5, 0);
    enum { N = 12, D = 7 };
    float v[N][D];
    double sum[D] = { 0 }, brute = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++)
            v[i][j] = (float)rs_rng_uniform(&g) - 0.3f;
    for (int i = 0; i < N; i++)
        rs_metrics_ild_emb_add(sum, v[i], rs_metrics_inv_norm(v[i], D), D);
    for (int a = 0; a < N; a++)
        for (int b = a + 1; b < N; b++) {
            double dot = 0, na = 0, nb = 0;
            for (int j = 0; j < D; j++) {
                dot += (double)v[a][j] * v[b][j];
                na += (double)v[a][j] * v[a][j];
                nb += (double)v[b][j] * v[b][j];
            }
            brute += 1 - dot / sqrt(na * nb);
        }
    brute /= N * (N - 1) / 2.0;
    is_near(rs_metrics_ild_emb_value(sum, D, N), brute, 1e-12, "embedding ILD equals the mean over pairs");
    float e1[2] = { 3, 0 }, e2[2] = { 0, 2 }, zero[2] = { 0, 0 };
    double s2[2] = { 0 };
    rs_metrics_ild_emb_add(s2, e1, rs_metrics_inv_norm(e1, 2), 2);
    is_near(rs_metrics_ild_emb_value(s2, 2, 1), -1, 0, "one vector: undefined");
    rs_metrics_ild_emb_add(s2, e2, rs_metrics_inv_norm(e2, 2), 2);
    is_near(rs_metrics_ild_emb_value(s2, 2, 2), 1, 1e-15, "orthogonal vectors: diversity 1");
    is_near(rs_metrics_inv_norm(zero, 2), 0, 0, "a zero vector has inverse norm 0");
    is_near(rs_metrics_inv_norm(e1, 2), 1.0 / 3, 1e-15, "inverse norm of (3, 0)");
}

int main(void)
{
    known_answers();
    random_lists();
    distribution();
    diversity();
    return done_testing();
}
