/* pca.h - principal component analysis of a set of vectors: covariance by
 * sgemm, then the cyclic Jacobi eigenvalue method on the d×d symmetric
 * matrix (Golub & Van Loan, Matrix Computations, §8.5), exact for the small d
 * of embeddings. Used for 2-D maps of embedding spaces (the demo report). */
#ifndef RS_PCA_H
#define RS_PCA_H

#include <stddef.h>

/* Top m principal directions of the n rows of x (n × d, row-major):
 * writes comp (m × d, unit rows, each signed so its largest-magnitude entry is
 * positive), var (m: the variance along each, descending) and mean (d).
 * Requires 1 <= m <= d. */
void rs_pca_fit(const float *x, size_t n, size_t d, size_t m, float *comp, double *var, float *mean);
/* Eigen-decomposition of the symmetric d × d matrix a (destroyed): values
 * in w (descending), vectors as the rows of v (d × d). */
void rs_eig_sym(double *a, size_t d, double *w, double *v);

#endif
