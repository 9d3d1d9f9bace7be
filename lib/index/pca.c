/* pca.c - covariance by sgemm, eigenvectors by LAPACK (nn/tensor.c). */
#include "index/pca.h"
#include "core/err.h"
#include "nn/tensor.h"

#include <math.h>
#include <stdlib.h>

#define BLOCK 4096 /* rows per sgemm: fixed, so the sum's order never changes */

/* Σ (x − μ)(x − μ)ᵀ / scale² into cov (d × d, zeroed by the caller), where
 * scale is the largest |x − μ|: sgemm sees values in [-1, 1], so no float
 * product overflows whatever the magnitudes, and there is no XᵀX/n − μμᵀ
 * cancellation. The partial sums of each block add up in double. */
static double centred_scatter(const float *x, size_t n, size_t d, const double *mu, double *cov)
{
    float *lo = xmalloc(d * sizeof *lo), *hi = xmalloc(d * sizeof *hi);
    for (size_t k = 0; k < d; k++)
        lo[k] = hi[k] = x[k];
    for (size_t i = 1; i < n; i++)
        for (size_t k = 0; k < d; k++) {
            float v = x[i * d + k];
            lo[k] = v < lo[k] ? v : lo[k];
            hi[k] = v > hi[k] ? v : hi[k];
        }
    double scale = 0;
    for (size_t k = 0; k < d; k++)
        scale = fmax(scale, fmax(hi[k] - mu[k], mu[k] - lo[k]));
    free(lo);
    free(hi);
    if (scale == 0)
        scale = 1;
    double inv = 1 / scale;
    size_t cap = n < BLOCK ? n : BLOCK;
    float *blk = xmalloc(cap * d * sizeof *blk), *part = xmalloc(d * d * sizeof *part);
    for (size_t b = 0; b < n; b += BLOCK) {
        size_t rows = n - b < BLOCK ? n - b : BLOCK;
        for (size_t r = 0; r < rows; r++)
            for (size_t k = 0; k < d; k++)
                blk[r * d + k] = (float)((x[(b + r) * d + k] - mu[k]) * inv);
        rs_sgemm(1, 0, d, d, rows, 1.0f, blk, d, blk, d, 0.0f, part, d);
        for (size_t i = 0; i < d * d; i++)
            cov[i] += part[i];
    }
    free(blk);
    free(part);
    return scale;
}

int rs_pca_fit(const float *x, size_t n, size_t d, size_t m, float *comp, double *var, float *mean)
{
    RS_ASSERT(m >= 1 && m <= d && n > 0);
    double *mu = xcalloc(d, sizeof *mu);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < d; k++)
            mu[k] += x[i * d + k];
    for (size_t k = 0; k < d; k++)
        mean[k] = (float)(mu[k] /= (double)n);
    double *cov = xcalloc(d * d, sizeof *cov), *v = xmalloc(m * d * sizeof *v);
    double scale = centred_scatter(x, n, d, mu, cov);
    for (size_t i = 0; i < d * d; i++)
        cov[i] *= scale * scale / (double)n;
    int rc = rs_sym_eig(cov, d, m, var, v);
    for (size_t i = 0; rc == 0 && i < m * d; i++)
        comp[i] = (float)v[i];
    free(mu);
    free(cov);
    free(v);
    return rc;
}
