/* test-pq4.c - 4-bit PQ: the fast-scan kernels against a direct float
 * computation of the PQ score, within the bound of the lookup table's
 * quantisation; every kernel this CPU runs gives the scalar kernel's sums
 * exactly; the anisotropic loss shrinks the error along the item; odd
 * shapes (d not a multiple of the sub-space size, sub-spaces not a multiple
 * of 4, a partial last block); bad geometry refused.
 *
 * The bound: each table entry is rounded to the nearest multiple of delta
 * above its sub-space's minimum, so it is off by at most delta / 2, and a
 * sum over m sub-spaces by at most m · delta / 2; the float arithmetic of
 * the reference and of bias + delta · acc adds a relative 1e-5 or so. */
#include "index/pq4.h"
#include "core/err.h"
#include "core/rng.h"
#include "tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Clustered unit-norm rows: a few directions plus noise. */
static void draw(struct rs_rng *g, float *x, size_t n, size_t d)
{
    float dirs[8 * 64];
    for (size_t i = 0; i < 8 * d; i++)
        dirs[i] = (float)rs_rng_normal(g);
    for (size_t i = 0; i < n; i++) {
        size_t c = rs_rng_below(g, 8);
        double n2 = 0;
        for (size_t j = 0; j < d; j++) {
            x[i * d + j] = dirs[c * d + j] + 0.7f * (float)rs_rng_normal(g);
            n2 += (double)x[i * d + j] * x[i * d + j];
        }
        for (size_t j = 0; j < d; j++)
            x[i * d + j] /= (float)sqrt(n2);
    }
}

/* Direct PQ score of the query against item i's codes: Σ_s q_s · centroid. */
static double pq_score(const struct rs_pq4 *pq, const float *q, const uint8_t *code)
{
    double t = 0;
    for (size_t s = 0; s < pq->m; s++)
        for (size_t j = 0; j < pq->dsub && s * pq->dsub + j < pq->d; j++)
            t += (double)q[s * pq->dsub + j] * pq->codebooks[(s * RS_PQ4_K + code[s]) * pq->dsub + j];
    return t;
}

static void check_shape(struct rs_rng *g, size_t n, size_t d, size_t dsub, double threshold)
{
    struct rs_pq4 pq;
    is_int(rs_pq4_init(&pq, d, dsub, NULL), 0, "d %zu, sub-spaces of %zu", d, dsub);
    float *x = malloc(n * d * sizeof *x), *c = calloc(d, sizeof *c), *q = malloc(d * sizeof *q);
    float *cb = malloc(pq.m * RS_PQ4_K * dsub * sizeof *cb);
    int32_t *assign = calloc(n, sizeof *assign);
    draw(g, x, n, d);
    struct rs_pq4_train_opts o = { threshold, 0, 3, 7, 2 };
    is_int(rs_pq4_train(&pq, x, c, assign, n, &o, cb), 0, "trained (T %g)", threshold);
    pq.codebooks = cb;
    uint8_t *codes = malloc(n * pq.m), *blocks = malloc((n + 31) / 32 * rs_pq4_block_bytes(&pq));
    rs_pq4_encode(&pq, x, c, assign, n, threshold, 3, codes);
    rs_pq4_pack(&pq, codes, n, blocks);
    size_t nb = (n + 31) / 32;
    uint8_t *lut = malloc(pq.mpad * RS_PQ4_K);
    uint16_t *ref = malloc(nb * 32 * sizeof *ref), *acc = malloc(nb * 32 * sizeof *acc);
    double worst = 0; /* largest error as a fraction of the bound */
    int same = 1, ran = 0;
    for (int t = 0; t < 20; t++) {
        draw(g, q, 1, d);
        float bias, delta;
        rs_pq4_lut(&pq, q, lut, &bias, &delta);
        same &= rs_pq4_scan_with(RS_PQ4_SCALAR, blocks, nb, lut, pq.mpad, ref) == 0;
        double bound = (double)pq.m * delta / 2;
        for (size_t i = 0; i < n; i++) {
            double want = pq_score(&pq, q, codes + i * pq.m), got = bias + (double)delta * ref[i];
            double slack = 1e-5 * (fabs(want) + fabs(bias) + delta * ref[i]);
            double e = fabs(got - want) / (bound + slack);
            worst = e > worst ? e : worst;
        }
        for (int k = RS_PQ4_AVX2; k <= RS_PQ4_AVX512BW; k++)
            if (rs_pq4_scan_with((enum rs_pq4_kernel)k, blocks, nb, lut, pq.mpad, acc) == 0) {
                ran |= 1 << k;
                same &= memcmp(acc, ref, n * sizeof *acc) == 0;
            }
    }
    ok(worst <= 1, "%zu × %zu: every LUT score within m·delta/2 of the float PQ score (worst %.3f of it)", n, d,
       worst);
    ok(same, "%zu × %zu: the SIMD kernels this CPU runs (mask %d) sum exactly as the scalar one", n, d, ran);
    free(x), free(c), free(q), free(cb), free(assign), free(codes), free(blocks), free(lut), free(ref), free(acc);
}

/* Mean squared error along the item, (e·x̂)², and across it, for T. */
static void aniso_errors(const float *x, size_t n, size_t d, double threshold, double *par, double *perp)
{
    struct rs_pq4 pq;
    rs_pq4_init(&pq, d, 2, NULL);
    float *c = calloc(d, sizeof *c), *cb = malloc(pq.m * RS_PQ4_K * 2 * sizeof *cb);
    int32_t *assign = calloc(n, sizeof *assign);
    struct rs_pq4_train_opts o = { threshold, 0, 0, 7, 2 };
    rs_pq4_train(&pq, x, c, assign, n, &o, cb);
    pq.codebooks = cb;
    uint8_t *codes = malloc(n * pq.m);
    rs_pq4_encode(&pq, x, c, assign, n, threshold, 2, codes);
    *par = *perp = 0;
    for (size_t i = 0; i < n; i++) {
        double ep = 0, e2 = 0;
        for (size_t j = 0; j < d; j++) {
            double e = x[i * d + j] - cb[((j / 2) * RS_PQ4_K + codes[i * pq.m + j / 2]) * 2 + j % 2];
            ep += e * x[i * d + j];
            e2 += e * e;
        }
        *par += ep * ep / (double)n;
        *perp += (e2 - ep * ep) / (double)n;
    }
    free(c), free(cb), free(assign), free(codes);
}

int main(void)
{
    struct rs_rng g;
    rs_rng_init(&g, 5, 0);
    check_shape(&g, 3000, 64, 2, 0);   /* 32 sub-spaces */
    check_shape(&g, 1000, 64, 2, 0.2); /* anisotropic codebooks */
    check_shape(&g, 517, 10, 2, 0.2);  /* 5 sub-spaces (padded to 8), last block partial */
    check_shape(&g, 300, 7, 3, 0);     /* last sub-space 1 dim of 3 */
    check_shape(&g, 40, 16, 4, 0.2);   /* fewer items than training wants */
    check_shape(&g, 10, 8, 2, 0);      /* fewer items than centroids */

    size_t n = 4000, d = 32;
    float *x = malloc(n * d * sizeof *x);
    draw(&g, x, n, d);
    double par0, perp0, par1, perp1;
    aniso_errors(x, n, d, 0, &par0, &perp0);
    aniso_errors(x, n, d, 0.2, &par1, &perp1);
    ok(par1 < 0.7 * par0, "T 0.2: parallel error %.3g below T 0's %.3g", par1, par0);
    ok(perp1 > perp0, "... paid for with orthogonal error %.3g over %.3g", perp1, perp0);
    free(x);

    struct rs_pq4 pq;
    is_int(rs_pq4_init(&pq, 64, 0, NULL), RS_ERR_USAGE, "sub-spaces of 0 dims refused");
    is_int(rs_pq4_init(&pq, 1024, 2, NULL), RS_ERR_USAGE, "512 sub-spaces refused (uint16 sums)");
    is_str(rs_err_msg(), "pq4: 1024 dims in sub-spaces of 2 make 512 sub-spaces (at most 256)",
           "... and said why");
    ok(rs_pq4_dsub_for(1024, 2) == 4 && rs_pq4_dsub_for(64, 2) == 2, "the smallest sub-space size that fits");
    ok(strcmp(rs_pq4_kernel_name(), "scalar") == 0 || strcmp(rs_pq4_kernel_name(), "avx2") == 0 ||
           strcmp(rs_pq4_kernel_name(), "avx512bw") == 0,
       "a kernel is chosen: %s", rs_pq4_kernel_name());
    return done_testing();
}
