/* test-alias.c - the alias sampler: exact tables for small cases, draw
 * frequencies against the weights (chi-square), zero weights never drawn,
 * determinism, and the rejected inputs. */
#include "core/alias.h"
#include "core/err.h"
#include "core/rng.h"
#include "tap.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Probability of outcome i implied by the table: sum over columns j of
 * prob[j] (if j == i) plus 1 - prob[j] (if alias[j] == i), over n. */
static double implied(const struct rs_alias *a, uint32_t i)
{
    double p = 0;
    for (size_t j = 0; j < a->n; j++) {
        if (j == i)
            p += a->prob[j];
        if (a->alias[j] == i && j != i)
            p += 1 - a->prob[j];
    }
    return p / (double)a->n;
}

int main(void)
{
    struct rs_alias a;
    const double w[] = { 1, 0, 3, 6, 0.5, 9.5 };
    size_t n = sizeof w / sizeof w[0];
    is_int(rs_alias_init(&a, w, n), 0, "init from 6 weights");
    is_near(a.total, 20.0, 1e-12, "total weight kept");
    for (uint32_t i = 0; i < n; i++)
        is_near(implied(&a, i), w[i] / 20.0, 1e-12, "table gives outcome %u probability w/sum", i);

    struct rs_rng g;
    rs_rng_init(&g, 7, 0);
    long counts[6] = { 0 };
    long draws = 400000;
    for (long k = 0; k < draws; k++)
        counts[rs_alias_sample(&a, &g)]++;
    is_int(counts[1], 0, "a zero weight is never drawn");
    double chi2 = 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] == 0)
            continue;
        double e = draws * w[i] / 20.0;
        chi2 += (counts[i] - e) * (counts[i] - e) / e;
    }
    ok(chi2 < 20.52, "draw frequencies match the weights: chi-square %.2f < 20.52 (p = 0.001, 4 dof)", chi2);

    /* Same generator state, same draws. */
    struct rs_rng g1, g2;
    rs_rng_init(&g1, 99, 3);
    rs_rng_init(&g2, 99, 3);
    int same = 1;
    for (int k = 0; k < 1000; k++)
        same &= rs_alias_sample(&a, &g1) == rs_alias_sample(&a, &g2);
    ok(same, "deterministic given the generator state");
    rs_alias_free(&a);
    ok(a.prob == NULL && a.n == 0, "free zeroes the struct");
    rs_alias_free(&a);
    rs_alias_free(NULL);
    ok(1, "free twice and free(NULL) are no-ops");

    /* Zipf weights over many outcomes: the head's share is right. */
    enum { N = 10000 };
    static double zw[N];
    double zsum = 0;
    for (int i = 0; i < N; i++)
        zsum += zw[i] = 1.0 / (i + 1);
    is_int(rs_alias_init(&a, zw, N), 0, "init Zipf over 10000 outcomes");
    long head = 0;
    for (long k = 0; k < draws; k++)
        head += rs_alias_sample(&a, &g) < 10;
    double want = 0;
    for (int i = 0; i < 10; i++)
        want += zw[i] / zsum;
    is_near((double)head / draws, want, 0.005, "top-10 share %.4f", want);
    for (uint32_t i = 0; i < 5; i++)
        is_near(implied(&a, i), zw[i] / zsum, 1e-12, "Zipf table exact for outcome %u", i);
    rs_alias_free(&a);

    const double one[] = { 2.5 };
    is_int(rs_alias_init(&a, one, 1), 0, "a single outcome");
    is_int(rs_alias_sample(&a, &g), 0, "always draws it");
    rs_alias_free(&a);

    const double neg[] = { 1, -1 }, zero[] = { 0, 0 }, bad[] = { 1, NAN }, inf[] = { INFINITY, 1 };
    is_int(rs_alias_init(&a, neg, 2), RS_ERR_USAGE, "negative weight rejected");
    ok(strstr(rs_err_msg(), "weight 1 is -1") != NULL, "message names the weight: %s", rs_err_msg());
    ok(a.prob == NULL, "failed init leaves the struct zeroed");
    rs_alias_free(&a);
    is_int(rs_alias_init(&a, zero, 2), RS_ERR_USAGE, "all-zero weights rejected");
    ok(strstr(rs_err_msg(), "sum") != NULL, "message says why: %s", rs_err_msg());
    is_int(rs_alias_init(&a, bad, 2), RS_ERR_USAGE, "NaN weight rejected");
    is_int(rs_alias_init(&a, inf, 2), RS_ERR_USAGE, "infinite weight rejected");
    is_int(rs_alias_init(&a, w, 0), RS_ERR_USAGE, "no outcomes rejected");
    return done_testing();
}
