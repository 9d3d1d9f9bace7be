/* test-pca.c - Jacobi eigen-decomposition and PCA on data with known axes. */
#include "index/pca.h"
#include "core/rng.h"
#include "tap.h"

#include <math.h>
#include <stdlib.h>

int main(void)
{
    /* A = Q diag(5, 2, 1) Qᵀ with a known rotation: values and vectors back */
    double c = cos(0.3), s = sin(0.3);
    double q[9] = { c, -s, 0, s, c, 0, 0, 0, 1 }, l[3] = { 5, 2, 1 }, a[9], w[3], v[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            a[i * 3 + j] = 0;
            for (int k = 0; k < 3; k++)
                a[i * 3 + j] += q[i * 3 + k] * l[k] * q[j * 3 + k];
        }
    rs_eig_sym(a, 3, w, v);
    ok(fabs(w[0] - 5) < 1e-12 && fabs(w[1] - 2) < 1e-12 && fabs(w[2] - 1) < 1e-12, "eigenvalues 5, 2, 1 (%g %g %g)",
       w[0], w[1], w[2]);
    ok(fabs(fabs(v[0] * c + v[1] * s) - 1) < 1e-12, "first eigenvector is Q's first column");

    /* 20000 points: std 3 along u = (1,1,0,0)/√2, 1 along (0,0,1,0), 0.1 elsewhere, mean (1,2,3,4) */
    size_t n = 20000, d = 4;
    float *x = malloc(n * d * sizeof *x), comp[8], mean[4];
    double var[2];
    struct rs_rng g;
    rs_rng_init(&g, 5, 0);
    for (size_t i = 0; i < n; i++) {
        double t = 3 * rs_rng_normal(&g), z = rs_rng_normal(&g);
        x[i * d + 0] = (float)(1 + t / sqrt(2) + 0.1 * rs_rng_normal(&g));
        x[i * d + 1] = (float)(2 + t / sqrt(2) + 0.1 * rs_rng_normal(&g));
        x[i * d + 2] = (float)(3 + z);
        x[i * d + 3] = (float)(4 + 0.1 * rs_rng_normal(&g));
    }
    rs_pca_fit(x, n, d, 2, comp, var, mean);
    is_near(mean[3], 4, 0.01, "mean");
    is_near(var[0], 9, 0.3, "variance along the first axis");
    is_near(var[1], 1, 0.05, "variance along the second axis");
    ok(fabs(comp[0] - 1 / sqrt(2)) < 0.01 && fabs(comp[1] - 1 / sqrt(2)) < 0.01, "first component (1,1,0,0)/sqrt2, sign fixed positive");
    ok(fabs(comp[4 + 2] - 1) < 0.01, "second component (0,0,1,0)");
    free(x);
    return done_testing();
}
