/* test-negsample.c - the empirical distribution of each sampling strategy
 * against its formula (chi-square on 10^6 draws), the reported
 * log-probabilities, no negative among the user's positives, hard negatives
 * only from their sources, and the failure paths. */
#include "core/err.h"
#include "prep/negsample.h"
#include "core/pairset.h"
#include "core/rng.h"
#include "io/rsb.h"
#include "core/strmap.h"
#include "nn/tensor.h"
#include "tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 50
#define DRAWS 1000000
#define K 100

static double count[N];
static struct rs_pairset *pos; /* user 0's positives */
static const uint32_t positives[] = { 3, 7, 20, 31 };

/* Chi-square critical value at p = 1e-4 (Wilson-Hilferty). */
static double chi2_crit(double df)
{
    double z = 3.719, a = 2 / (9 * df);
    return df * pow(1 - a + z * sqrt(a), 3);
}

static double chi2(const double *obs, const double *p, size_t n, double total, int *df)
{
    double s = 0, norm = 0;
    for (size_t i = 0; i < n; i++)
        norm += p[i];
    *df = -1;
    for (size_t i = 0; i < n; i++) {
        double e = p[i] / norm * total;
        if (e < 5) /* too little expected mass for the chi2 approximation */
            continue;
        s += (obs[i] - e) * (obs[i] - e) / e;
        (*df)++;
    }
    return s;
}

static int is_pos(uint32_t i)
{
    for (size_t j = 0; j < sizeof positives / sizeof *positives; j++)
        if (positives[j] == i)
            return 1;
    return 0;
}

/* The formulas, written independently of the library. */
static void formula(int kind, double alpha, double *q)
{
    double z = 0;
    int rank[N];
    for (int i = 0; i < N; i++) {
        rank[i] = 0;
        for (int j = 0; j < N; j++)
            rank[i] += count[j] > count[i] || (count[j] == count[i] && j < i);
        z += pow(count[i], alpha);
    }
    for (int i = 0; i < N; i++)
        q[i] = kind == RS_NEG_UNIFORM      ? 1.0 / N
               : kind == RS_NEG_POPULARITY ? pow(count[i], alpha) / z
                                           : log((rank[i] + 2.0) / (rank[i] + 1.0)) / log(N + 1.0);
}

/* Draws DRAWS negatives for user 0 and compares with want[] (restricted to
 * non-positives); also checks every logq against log(want_logq[item]). */
static void check_dist(const char *name, const double *ratio, const struct rs_neg_query *q, const double *want,
                       const double *proposal)
{
    struct rs_negsampler s;
    is_int(rs_negsampler_init(&s, count, N, ratio, 0.75), 0, "%s: init", name);
    struct rs_rng g;
    rs_rng_init(&g, 99, 0);
    double obs[N] = { 0 }, p[N];
    uint32_t items[K], scratch[2 * N];
    double logq[K];
    int no_pos = 1, logq_ok = 1;
    size_t total = 0;
    double t0 = (double)clock() / CLOCKS_PER_SEC;
    for (int call = 0; call < DRAWS / K; call++) {
        size_t got = rs_negsampler_draw(&s, q, &g, K, scratch, items, logq);
        total += got;
        for (size_t j = 0; j < got; j++) {
            obs[items[j]]++;
            no_pos &= !is_pos(items[j]);
            logq_ok &= fabs(logq[j] - log(proposal[items[j]])) < 1e-9;
        }
    }
    double secs = (double)clock() / CLOCKS_PER_SEC - t0;
    for (int i = 0; i < N; i++)
        p[i] = is_pos((uint32_t)i) ? 0 : want[i];
    int df;
    double x2 = chi2(obs, p, N, (double)total, &df);
    is_int(total, DRAWS, "%s: %d draws", name, DRAWS);
    ok(x2 < chi2_crit(df), "%s: chi2 %.1f < %.1f (df %d)", name, x2, chi2_crit(df), df);
    ok(no_pos, "%s: no negative is a positive of the user", name);
    ok(logq_ok, "%s: logq = log of the mixture's proposal probability", name);
    printf("# %s: %.1f M draws/s\n", name, (double)total / secs / 1e6);
    rs_negsampler_free(&s);
}

static void test_catalogue(void)
{
    static const char *names[3] = { "uniform", "popularity^0.75", "loguniform" };
    struct rs_neg_query q = { .user = 0, .exclude = pos };
    for (int kind = 0; kind < 3; kind++) {
        double ratio[RS_NEG_NKINDS] = { 0 }, want[N];
        ratio[kind] = 1;
        formula(kind, 0.75, want);
        check_dist(names[kind], ratio, &q, want, want);
    }
    /* a mix: 0.25 uniform + 0.75 popularity */
    double ratio[RS_NEG_NKINDS] = { 0.25, 0.75 }, qu[N], qp[N], mix[N];
    formula(RS_NEG_UNIFORM, 0.75, qu);
    formula(RS_NEG_POPULARITY, 0.75, qp);
    for (int i = 0; i < N; i++)
        mix[i] = 0.25 * qu[i] + 0.75 * qp[i];
    check_dist("uniform:0.25,popularity:0.75", ratio, &q, mix, mix);

    /* the chi-square test can fail: popularity draws are not uniform */
    struct rs_negsampler s;
    double pr[RS_NEG_NKINDS] = { 0, 1 }, obs[N] = { 0 };
    rs_negsampler_init(&s, count, N, pr, 0.75);
    struct rs_rng g;
    rs_rng_init(&g, 5, 0);
    uint32_t items[K], scratch[1];
    double logq[K];
    for (int call = 0; call < 1000; call++) {
        size_t got = rs_negsampler_draw(&s, &q, &g, K, scratch, items, logq);
        for (size_t j = 0; j < got; j++)
            obs[items[j]]++;
    }
    for (int i = 0; i < N; i++)
        qu[i] = is_pos((uint32_t)i) ? 0 : 1;
    int df;
    ok(chi2(obs, qu, N, 1000 * K, &df) > chi2_crit(df), "popularity draws fail a uniform chi2");
    is_near(rs_negsampler_freq_logq(&s, 0), log(count[0] / s.total), 1e-12, "positive logq = log(c_i / C)");
    rs_negsampler_free(&s);
}

static void test_hard(void)
{
    /* impressions {1,2,3,4,5}: 3 is a positive -> uniform over {1,2,4,5} */
    static const uint32_t shown[] = { 1, 2, 3, 4, 5 }, near[] = { 7, 8, 9, 10, 20, 30 };
    struct rs_neg_query q = { .user = 0, .exclude = pos, .hard = { shown, near }, .nhard = { 5, 6 } };
    double ratio[RS_NEG_NKINDS] = { 0 }, want[N] = { 0 };
    ratio[RS_NEG_IMPRESSIONS] = 1;
    for (int i = 0; i < 5; i++)
        want[shown[i]] = shown[i] == 3 ? 0 : 0.25;
    check_dist("impressions", ratio, &q, want, want);
    /* nearest {7,8,9,10,20,30}: 7, 20 positives -> uniform over 4 */
    memset(ratio, 0, sizeof ratio);
    memset(want, 0, sizeof want);
    ratio[RS_NEG_NEAREST] = 1;
    for (int i = 0; i < 6; i++)
        want[near[i]] = is_pos(near[i]) ? 0 : 0.25;
    check_dist("nearest", ratio, &q, want, want);
    /* loguniform:0.6 + impressions:0.4 */
    double ql[N], mix[N];
    formula(RS_NEG_LOGUNIFORM, 0.75, ql);
    memset(ratio, 0, sizeof ratio);
    ratio[RS_NEG_LOGUNIFORM] = 0.6;
    ratio[RS_NEG_IMPRESSIONS] = 0.4;
    /* rejecting positives restricts the mixture: accepted draws follow mix
     * without the positives (check_dist zeroes them) */
    for (int i = 0; i < N; i++)
        mix[i] = 0.6 * ql[i] + 0.4 * ((i == 1 || i == 2 || i == 4 || i == 5) ? 0.25 : 0);
    check_dist("loguniform:0.6,impressions:0.4", ratio, &q, mix, mix);

    /* empty hard source: it drops out; hard-only with nothing: no draws */
    struct rs_negsampler s;
    struct rs_rng g;
    rs_rng_init(&g, 1, 0);
    uint32_t items[K], scratch[16];
    double logq[K];
    static const uint32_t only_pos[] = { 3, 7 };
    struct rs_neg_query empty = { .user = 0, .exclude = pos, .hard = { only_pos, NULL }, .nhard = { 2, 0 } };
    rs_negsampler_init(&s, count, N, ratio, 0.75);
    size_t got = rs_negsampler_draw(&s, &empty, &g, K, scratch, items, logq);
    int ok_all = got == K;
    for (size_t j = 0; j < got; j++)
        ok_all &= fabs(logq[j] - log(ql[items[j]])) < 1e-9 && !is_pos(items[j]);
    ok(ok_all, "impressions all positives: loguniform alone, logq = its q");
    rs_negsampler_free(&s);
    memset(ratio, 0, sizeof ratio);
    ratio[RS_NEG_IMPRESSIONS] = 1;
    rs_negsampler_init(&s, count, N, ratio, 0.75);
    is_int(rs_negsampler_draw(&s, &empty, &g, K, scratch, items, logq), 0, "hard-only with nothing left: 0 draws");
    rs_negsampler_free(&s);
}

static void test_errors(void)
{
    struct rs_negsampler s;
    double zero[RS_NEG_NKINDS] = { 0 }, pop[RS_NEG_NKINDS] = { 0, 1 }, neg[RS_NEG_NKINDS] = { -1, 1 };
    is_int(rs_negsampler_init(&s, count, N, zero, 0.75), RS_ERR_USAGE, "no positive ratio rejected");
    is_int(rs_negsampler_init(&s, count, 0, pop, 0.75), RS_ERR_USAGE, "empty catalogue rejected");
    is_int(rs_negsampler_init(&s, count, N, neg, 0.75), RS_ERR_USAGE, "negative ratio rejected");
    double zc[3] = { 0 };
    is_int(rs_negsampler_init(&s, zc, 3, pop, 0.75), RS_ERR_USAGE, "popularity with zero counts rejected");
    ok(strstr(rs_err_msg(), "positive count") != NULL, "message: %s", rs_err_msg());
    rs_negsampler_free(&s);
    is_int(rs_neg_kind_parse("loguniform", 10), RS_NEG_LOGUNIFORM, "parse loguniform");
    is_int(rs_neg_kind_parse("log", 3), RS_ERR_USAGE, "parse 'log' fails");
    is_str(rs_neg_kind_name(RS_NEG_NEAREST), "nearest", "kind name");
}

static void test_lists(void)
{
    struct rs_neg_lists l;
    rs_neg_lists_init(&l);
    rs_neg_lists_add(&l, 1, "s1", 2, 10);
    rs_neg_lists_add(&l, 1, "s1", 2, 11);
    rs_neg_lists_add(&l, 1, "s1", 2, 10);
    rs_neg_lists_add(&l, 2, "s1", 2, 12);
    rs_neg_lists_add(&l, 1, "", 0, 13);
    size_t n;
    const uint32_t *a = rs_neg_lists_get(&l, 1, "s1", 2, &n);
    ok(n == 2 && a[0] == 10 && a[1] == 11, "lists: (1, s1) = {10, 11}, duplicates dropped");
    a = rs_neg_lists_get(&l, 2, "s1", 2, &n);
    ok(n == 1 && a[0] == 12, "lists: users kept apart");
    a = rs_neg_lists_get(&l, 1, "s2", 2, &n);
    ok(n == 0 && !a, "lists: unknown key is empty");
    for (uint32_t i = 0; i < 5000; i++)
        rs_neg_lists_add(&l, i, "d", 1, i);
    a = rs_neg_lists_get(&l, 4999, "d", 1, &n);
    ok(n == 1 && a[0] == 4999, "lists: 5000 lists grow");
    rs_neg_lists_free(&l);
}

/* Nearest lists against a brute-force cosine ranking on random vectors; an
 * item without a vector and an unwanted item get empty lists. */
static void test_nearest(void)
{
    enum { NI = 60, D = 5, KN = 7 };
    struct rs_embset e = { .n = NI - 1, .dims = D, .ids = rs_strmap_new(NI) };
    struct rs_strmap *items = rs_strmap_new(NI);
    e.x = malloc(NI * D * sizeof *e.x);
    struct rs_rng g;
    rs_rng_init(&g, 11, 0);
    char id[16];
    /* the catalogue lists the items in reverse order of the RSB */
    for (int i = NI - 1; i >= 0; i--) {
        snprintf(id, sizeof id, "i%d", i);
        rs_strmap_put(items, id, strlen(id), NULL);
    }
    for (int i = 0; i < NI - 1; i++) { /* item i59 has no vector */
        snprintf(id, sizeof id, "i%d", i);
        rs_strmap_put(e.ids, id, strlen(id), NULL);
        for (int j = 0; j < D; j++)
            e.x[i * D + j] = (float)rs_rng_normal(&g) * (float)(1 + i % 3);
    }
    uint8_t want[NI];
    for (int i = 0; i < NI; i++)
        want[i] = i != 5;
    size_t *off, with;
    uint32_t *ids;
    rs_neg_nearest(&e, items, want, KN, 2, &off, &ids, &with);
    is_int(with, NI - 1, "nearest: %d items with a vector", NI - 1);
    int all = 1;
    for (int c = 0; c < NI; c++) {
        size_t len;
        const char *name = rs_strmap_key(items, c, &len);
        int64_t r = rs_strmap_get(e.ids, name, len);
        size_t n = off[c + 1] - off[c];
        if (r < 0 || !want[c]) {
            all &= n == 0;
            continue;
        }
        /* the KN-th best cosine by brute force; every listed item reaches it */
        double sim[NI], nr = sqrt(rs_sdot(D, e.x + r * D, e.x + r * D));
        int better = 0;
        for (int o = 0; o < NI - 1; o++) {
            double no = sqrt(rs_sdot(D, e.x + o * D, e.x + o * D));
            sim[o] = o == r ? -2 : rs_sdot(D, e.x + r * D, e.x + o * D) / (nr * no);
        }
        all &= n == KN;
        for (size_t j = 0; j < n; j++) {
            const char *nb = rs_strmap_key(items, ids[off[c] + j], &len);
            int64_t o = rs_strmap_get(e.ids, nb, len);
            better = 0;
            for (int x = 0; x < NI - 1; x++)
                better += sim[x] > sim[o] + 1e-6;
            all &= o != r && better < KN;
        }
    }
    ok(all, "nearest: lists are the %d most cosine-similar, self and unwanted excluded", KN);
    free(off);
    free(ids);
    free(e.x);
    rs_strmap_free(e.ids);
    rs_strmap_free(items);
}

int main(void)
{
    /* Zipf-like counts in shuffled positions, with ties */
    struct rs_rng g;
    rs_rng_init(&g, 2026, 0);
    uint32_t perm[N];
    for (uint32_t i = 0; i < N; i++)
        perm[i] = i;
    rs_rng_shuffle_u32(&g, perm, N);
    for (int i = 0; i < N; i++)
        count[perm[i]] = floor(1000.0 / (i + 1)) + 1;
    pos = rs_pairset_new(8);
    for (size_t j = 0; j < sizeof positives / sizeof *positives; j++)
        rs_pairset_add(pos, 0, positives[j]);
    test_catalogue();
    test_hard();
    test_errors();
    test_lists();
    test_nearest();
    rs_pairset_free(pos);
    return done_testing();
}
