/* test-pca.c - the LAPACK eigensolver (rs_sym_eig: values, vectors, the sign
 * convention, a subset of the spectrum) and PCA on data with known axes. */
#include "index/pca.h"
#include "core/err.h"
#include "core/rng.h"
#include "nn/tensor.h"
#include "tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* a = q diag(l) qᵀ for the 3×3 matrices of the tests. */
static void compose(const double *q, const double *l, double *a)
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            a[i * 3 + j] = 0;
            for (int k = 0; k < 3; k++)
                a[i * 3 + j] += q[i * 3 + k] * l[k] * q[j * 3 + k];
        }
}

static void eigen_3x3(void)
{
    /* A = Q diag(5, 2, 1) Qᵀ with a known rotation: values and vectors back */
    double c = cos(0.3), s = sin(0.3);
    double q[9] = { c, -s, 0, s, c, 0, 0, 0, 1 }, l[3] = { 5, 2, 1 }, a[9], w[3], v[9];
    compose(q, l, a);
    is_int(rs_sym_eig(a, 3, 3, w, v), 0, "3x3: solved");
    ok(fabs(w[0] - 5) < 1e-12 && fabs(w[1] - 2) < 1e-12 && fabs(w[2] - 1) < 1e-12, "eigenvalues 5, 2, 1 (%g %g %g)",
       w[0], w[1], w[2]);
    ok(fabs(v[0] - c) < 1e-12 && fabs(v[1] - s) < 1e-12 && fabs(v[2]) < 1e-12,
       "first eigenvector is Q's first column, largest entry positive");
    ok(fabs(v[3] + s) < 1e-12 && fabs(v[4] - c) < 1e-12, "second is Q's second column (-s, c, 0)");
    double flip[9] = { 0, 1, 0, 1, 0, 0, 0, 0, -1 }, l3[3] = { 3, 2, 1 };
    compose(flip, l3, a);
    is_int(rs_sym_eig(a, 3, 3, w, v), 0, "permuted axes: solved");
    ok(fabs(v[1] - 1) < 1e-12 && fabs(v[3] - 1) < 1e-12 && fabs(v[8] - 1) < 1e-12, "each vector's largest entry positive, whatever LAPACK's sign (%g %g %g)",
       v[1], v[3], v[8]);
    ok(fabs(v[8] - 1) < 1e-12, "third is e3");

    /* the same matrix, only the largest eigenpair: the others untouched */
    double one[3], w1[3] = { 0, -7, -7 };
    compose(q, l, a);
    is_int(rs_sym_eig(a, 3, 1, w1, one), 0, "m = 1: solved");
    ok(fabs(w1[0] - 5) < 1e-12 && w1[1] == -7, "m = 1: the top eigenvalue only (%g)", w1[0]);
    ok(fabs(one[0] - c) < 1e-12 && fabs(one[1] - s) < 1e-12, "m = 1: its vector, same sign");

    double bad[4] = { 1, NAN, NAN, 1 }, wb[2], vb[4];
    is_int(rs_sym_eig(bad, 2, 2, wb, vb), RS_ERR_FORMAT, "NaN in the matrix: an error");
    ok(strstr(rs_err_msg(), "not finite") != NULL, "message says why: %s", rs_err_msg());
}

static void pca_known_axes(void)
{
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
    is_int(rs_pca_fit(x, n, d, 2, comp, var, mean), 0, "PCA fitted");
    is_near(mean[3], 4, 0.01, "mean");
    is_near(var[0], 9, 0.3, "variance along the first axis");
    is_near(var[1], 1, 0.05, "variance along the second axis");
    ok(fabs(comp[0] - 1 / sqrt(2)) < 0.01 && fabs(comp[1] - 1 / sqrt(2)) < 0.01, "first component (1,1,0,0)/sqrt2, sign fixed positive");
    ok(fabs(comp[4 + 2] - 1) < 0.01, "second component (0,0,1,0)");
    free(x);
}

int main(void)
{
    eigen_3x3();
    pca_known_axes();
    return done_testing();
}
