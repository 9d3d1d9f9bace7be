/* pca.c - covariance by sgemm, eigenvectors by LAPACK (nn/tensor.c). */
#include "index/pca.h"
#include "core/err.h"
#include "nn/tensor.h"

#include <stdlib.h>

int rs_pca_fit(const float *x, size_t n, size_t d, size_t m, float *comp, double *var, float *mean)
{
    RS_ASSERT(m >= 1 && m <= d && n > 0);
    double *mu = xcalloc(d, sizeof *mu);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < d; k++)
            mu[k] += x[i * d + k];
    for (size_t k = 0; k < d; k++)
        mean[k] = (float)(mu[k] /= (double)n);
    /* covariance = XᵀX/n − μμᵀ; XᵀX through sgemm on the raw rows */
    float *xtx = xcalloc(d * d, sizeof *xtx);
    rs_sgemm(1, 0, d, d, n, 1.0f, x, d, x, d, 0.0f, xtx, d);
    double *cov = xmalloc(d * d * sizeof *cov), *v = xmalloc(m * d * sizeof *v);
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < d; b++)
            cov[a * d + b] = xtx[a * d + b] / (double)n - mu[a] * mu[b];
    int rc = rs_sym_eig(cov, d, m, var, v);
    for (size_t i = 0; rc == 0 && i < m * d; i++)
        comp[i] = (float)v[i];
    free(mu);
    free(xtx);
    free(cov);
    free(v);
    return rc;
}
