/* pca.h - principal component analysis of a set of vectors: covariance by
 * sgemm, then LAPACK's symmetric eigensolver on the d×d matrix
 * (rs_sym_eig). Used for 2-D maps of embedding spaces (the demo report). */
#ifndef RS_PCA_H
#define RS_PCA_H

#include <stddef.h>

/* Top m principal directions of the n rows of x (n × d, row-major):
 * writes comp (m × d, unit rows, each signed so its largest-magnitude entry is
 * positive), var (m: the variance along each, descending) and mean (d).
 * Requires 1 <= m <= d. Returns 0 or rs_sym_eig's error. */
int rs_pca_fit(const float *x, size_t n, size_t d, size_t m, float *comp, double *var, float *mean);

#endif
