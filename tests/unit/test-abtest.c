/* test-abtest.c - the mSPRT of lib/eval/abtest.c: its statistic against the
 * balanced form printed in Johari et al. (2017), its type I error under
 * continuous monitoring of A/A tests (at most alpha, where a fixed-horizon
 * z-test read after every impression is far above), its power on a real
 * difference, and the intervals. */
#include "eval/abtest.h"
#include "core/rng.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void add(struct rs_ab_arm *a, double x)
{
    a->n++;
    for (int m = 0; m < RS_AB_NMETRICS; m++)
        a->sum[m] += x, a->sumsq[m] += x * x;
}

/* Runs one experiment of n impressions per arm with click rates pa, pb,
 * looking after every pair: *msprt 1 when the always-valid p fell to alpha,
 * *naive 1 when the two-sided z-test's p did at some look (after 100). */
static void run(struct rs_rng *g, int n, double pa, double pb, double tau, double alpha, int *msprt, int *naive)
{
    struct rs_ab_arm a = { 0 }, b = { 0 };
    double p = 1;
    *msprt = *naive = 0;
    for (int i = 0; i < n; i++) {
        add(&a, rs_rng_uniform(g) < pa);
        add(&b, rs_rng_uniform(g) < pb);
        double l = rs_ab_msprt_log(&b, &a, RS_AB_CTR, tau);
        if (l == l && exp(-l) < p)
            p = exp(-l);
        double va = a.sum[0] / a.n * (1 - a.sum[0] / a.n), vb = b.sum[0] / b.n * (1 - b.sum[0] / b.n);
        double z = (b.sum[0] / b.n - a.sum[0] / a.n) / sqrt((va * a.n / (a.n - 1.0) + vb * b.n / (b.n - 1.0)) / a.n);
        if (i >= 100 && erfc(fabs(z) / sqrt(2)) <= alpha)
            *naive = 1;
    }
    *msprt = p <= alpha;
}

int main(void)
{
    /* the statistic, against the paper's balanced form with a common variance */
    struct rs_ab_arm a = { 0 }, b = { 0 };
    for (int i = 0; i < 400; i++)
        add(&a, i % 4 == 0), add(&b, i % 4 == 0 || i % 10 == 1);
    double s2a = (a.sumsq[0] - a.sum[0] * a.sum[0] / 400) / 399, s2b = (b.sumsq[0] - b.sum[0] * b.sum[0] / 400) / 399;
    double s2 = (s2a + s2b) / 2, n = 400, tau = 0.05, d = (b.sum[0] - a.sum[0]) / 400;
    double want = 0.5 * log(2 * s2 / (2 * s2 + n * tau * tau)) +
                  n * n * tau * tau * d * d / (4 * s2 * (2 * s2 + n * tau * tau));
    is_near(rs_ab_msprt_log(&b, &a, RS_AB_CTR, tau), want, 1e-12, "log Lambda = the balanced form of Johari et al.");
    struct rs_ab_arm z = { 0 }, y = { 0 };
    for (int i = 0; i < RS_AB_BURN_IN; i++)
        add(&z, 0), add(&y, i % 2);
    ok(isnan(rs_ab_msprt_log(&z, &z, RS_AB_CTR, tau)), "no variance yet: no statistic");
    y.n--;
    ok(isnan(rs_ab_msprt_log(&y, &a, RS_AB_CTR, tau)), "before the burn-in: no statistic");

    /* intervals: mean +- 1.96 s / sqrt(n) */
    double mean, lo, hi;
    rs_ab_summary(&a, RS_AB_CTR, &mean, &lo, &hi);
    is_near(mean, 0.25, 1e-15, "mean");
    is_near(hi - mean, 1.959963984540054 * sqrt(s2a / 400), 1e-12, "95%% half width");

    /* type I error under continuous monitoring: 300 A/A tests, a look after every impression */
    struct rs_rng g;
    rs_rng_init(&g, 7, 0);
    int fp = 0, naive_fp = 0, m, nv;
    for (int t = 0; t < 300; t++) {
        run(&g, 3000, 0.1, 0.1, 0.02, 0.05, &m, &nv);
        fp += m, naive_fp += nv;
    }
    printf("# A/A: mSPRT rejects %d of 300, the z-test read at every look %d of 300\n", fp, naive_fp);
    ok(fp <= 15 + 10, "mSPRT: type I error at most alpha (+ sampling slack) under continuous monitoring");
    ok(naive_fp > 2 * 15, "a fixed-horizon p-value read at every look rejects far more often");

    /* power: CTR 0.10 vs 0.13 over 3000 impressions per arm */
    int power = 0;
    for (int t = 0; t < 100; t++) {
        run(&g, 3000, 0.10, 0.13, 0.02, 0.05, &m, &nv);
        power += m;
    }
    printf("# A/B 0.10 vs 0.13: mSPRT rejects %d of 100\n", power);
    ok(power >= 70, "mSPRT finds a 30%% lift in CTR on 3000 impressions per arm");
    return done_testing();
}
