/* pca.c - covariance + Jacobi eigen-decomposition. */
#include "index/pca.h"
#include "core/err.h"
#include "nn/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void rs_eig_sym(double *a, size_t d, double *w, double *v)
{
    double *vt = xcalloc(d * d, sizeof *vt); /* columns are eigenvectors */
    for (size_t i = 0; i < d; i++)
        vt[i * d + i] = 1;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (size_t p = 0; p < d; p++)
            for (size_t q = p + 1; q < d; q++)
                off += a[p * d + q] * a[p * d + q];
        if (off < 1e-22)
            break;
        for (size_t p = 0; p < d; p++)
            for (size_t q = p + 1; q < d; q++) {
                double apq = a[p * d + q];
                if (fabs(apq) < 1e-300)
                    continue;
                /* rotation that zeroes a[p][q]: tan(2θ) = 2 a_pq / (a_qq - a_pp) */
                double theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (size_t k = 0; k < d; k++) { /* A ← JᵀAJ: columns, then rows */
                    double akp = a[k * d + p], akq = a[k * d + q];
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for (size_t k = 0; k < d; k++) {
                    double apk = a[p * d + k], aqk = a[q * d + k];
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for (size_t k = 0; k < d; k++) {
                    double vkp = vt[k * d + p], vkq = vt[k * d + q];
                    vt[k * d + p] = c * vkp - s * vkq;
                    vt[k * d + q] = s * vkp + c * vkq;
                }
            }
    }
    /* sort by eigenvalue, descending (selection: d is small) */
    size_t *order = xmalloc(d * sizeof *order);
    for (size_t i = 0; i < d; i++)
        order[i] = i;
    for (size_t i = 0; i < d; i++)
        for (size_t j = i + 1; j < d; j++)
            if (a[order[j] * d + order[j]] > a[order[i] * d + order[i]]) {
                size_t tmp = order[i];
                order[i] = order[j];
                order[j] = tmp;
            }
    for (size_t i = 0; i < d; i++) {
        w[i] = a[order[i] * d + order[i]];
        for (size_t k = 0; k < d; k++)
            v[i * d + k] = vt[k * d + order[i]];
    }
    free(order);
    free(vt);
}

void rs_pca_fit(const float *x, size_t n, size_t d, size_t m, float *comp, double *var, float *mean)
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
    double *cov = xmalloc(d * d * sizeof *cov), *w = xmalloc(d * sizeof *w), *v = xmalloc(d * d * sizeof *v);
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < d; b++)
            cov[a * d + b] = xtx[a * d + b] / (double)n - mu[a] * mu[b];
    rs_eig_sym(cov, d, w, v);
    for (size_t c = 0; c < m; c++) {
        size_t big = 0;
        for (size_t k = 1; k < d; k++)
            if (fabs(v[c * d + k]) > fabs(v[c * d + big]))
                big = k;
        double sign = v[c * d + big] < 0 ? -1 : 1;
        for (size_t k = 0; k < d; k++)
            comp[c * d + k] = (float)(sign * v[c * d + k]);
        var[c] = w[c];
    }
    free(mu);
    free(xtx);
    free(cov);
    free(w);
    free(v);
}
