/* tensor.h - dense linear algebra on OpenBLAS. The only file that calls
 * cblas_* (and LAPACK) is tensor.c: a future backend (CUDA) replaces these
 * functions. Matrices are row-major, f32 unless said otherwise.
 *
 * OpenBLAS runs single-threaded whatever OPENBLAS_NUM_THREADS says (set on
 * the first call): its threads would split a product by their own count,
 * and the rounding of an element depends on the shape of the product it is
 * computed in, so results would follow the thread count. Parallel work is
 * the library's own, in blocks of a fixed size (core/threads.h). The bits of
 * a call still depend on the CPU (OpenBLAS picks its kernels at load time). */
#ifndef RS_TENSOR_H
#define RS_TENSOR_H

#include <stddef.h>

/* C[m×n] = alpha · op(A) · op(B) + beta · C, with op(A) m×k and op(B) k×n;
 * ta/tb nonzero transpose A/B. lda/ldb/ldc are row strides. */
void rs_sgemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
              const float *b, size_t ldb, float beta, float *c, size_t ldc);
/* y[m] = alpha · op(A) · x + beta · y, A m×n (op(A) n×m when ta). */
void rs_sgemv(int ta, size_t m, size_t n, float alpha, const float *a, size_t lda, const float *x,
              float beta, float *y);
float rs_sdot(size_t n, const float *x, const float *y);
/* y += alpha · x */
void rs_saxpy(size_t n, float alpha, const float *x, float *y);
void rs_sscal(size_t n, float alpha, float *x);
float rs_snrm2(size_t n, const float *x);
/* Inverts the symmetric positive-definite n×n matrix a in place (both
 * triangles) by Cholesky: LAPACK spotrf (a = LLᵀ) then spotri (a⁻¹ = L⁻ᵀL⁻¹).
 * Returns 0; k > 0 when the leading minor of order k is not positive
 * definite (a is then garbage). */
int rs_spd_inverse(float *a, size_t n);
/* The m largest eigenvalues of the symmetric d×d f64 matrix a (destroyed),
 * by LAPACK's dsyevr (MRRR), in w (descending), and their unit eigenvectors
 * as the rows of v (m×d). An eigenvector's sign is arbitrary; each is
 * flipped so its largest-magnitude entry is positive, the same on every run.
 * Requires 1 <= m <= d. Returns 0, or RS_ERR_FORMAT when LAPACK fails or a
 * holds a NaN or infinity. */
int rs_sym_eig(double *a, size_t d, size_t m, double *w, double *v);

#endif
