/* tensor.c - thin wrappers over CBLAS and LAPACK (OpenBLAS), which always
 * runs on one thread (tensor.h says why). */
#include "nn/tensor.h"
#include "core/err.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

static pthread_once_t blas_pinned = PTHREAD_ONCE_INIT;

static void pin_one_thread(void)
{
    openblas_set_num_threads(1);
}

/* Before every call, not in a constructor: a statically linked OpenBLAS
 * could run its own initialisation (which reads OPENBLAS_NUM_THREADS) after
 * ours. After the first call this is one load and a branch. */
static void one_thread(void)
{
    pthread_once(&blas_pinned, pin_one_thread);
}

/* OpenBLAS exports LAPACK's Fortran symbols but ships no prototype for them
 * (no lapacke.h here): arguments by reference, then the hidden lengths of
 * the character arguments. */
void dsyevr_(const char *jobz, const char *range, const char *uplo, const blasint *n, double *a,
             const blasint *lda, const double *vl, const double *vu, const blasint *il, const blasint *iu,
             const double *abstol, blasint *m, double *w, double *z, const blasint *ldz, blasint *isuppz,
             double *work, const blasint *lwork, blasint *iwork, const blasint *liwork, blasint *info,
             size_t jobz_len, size_t range_len, size_t uplo_len);
void spotrf_(const char *uplo, const blasint *n, float *a, const blasint *lda, blasint *info, size_t uplo_len);
void spotri_(const char *uplo, const blasint *n, float *a, const blasint *lda, blasint *info, size_t uplo_len);

void rs_sgemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
              const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    one_thread();
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c,
                (blasint)ldc);
}

void rs_sgemv(int ta, size_t m, size_t n, float alpha, const float *a, size_t lda, const float *x,
              float beta, float *y)
{
    one_thread();
    cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, alpha, a,
                (blasint)lda, x, 1, beta, y, 1);
}

float rs_sdot(size_t n, const float *x, const float *y)
{
    one_thread();
    return cblas_sdot((blasint)n, x, 1, y, 1);
}

void rs_saxpy(size_t n, float alpha, const float *x, float *y)
{
    one_thread();
    cblas_saxpy((blasint)n, alpha, x, 1, y, 1);
}

void rs_sscal(size_t n, float alpha, float *x)
{
    one_thread();
    cblas_sscal((blasint)n, alpha, x, 1);
}

float rs_snrm2(size_t n, const float *x)
{
    one_thread();
    return cblas_snrm2((blasint)n, x, 1);
}


int rs_spd_inverse(float *a, size_t n)
{
    blasint nn = (blasint)n, info = 0;
    if (n == 0)
        return 0;
    one_thread();
    /* Row-major a is column-major aᵀ = a: Fortran's 'L' is our upper triangle. */
    spotrf_("L", &nn, a, &nn, &info, 1);
    if (info == 0)
        spotri_("L", &nn, a, &nn, &info, 1);
    if (info != 0)
        return info > 0 ? (int)info : -1;
    enum { T = 64 }; /* mirror the upper triangle (j > i) below, in cache-sized tiles */
    for (size_t i0 = 0; i0 < n; i0 += T)
        for (size_t j0 = i0; j0 < n; j0 += T)
            for (size_t i = i0; i < i0 + T && i < n; i++)
                for (size_t j = j0 > i + 1 ? j0 : i + 1; j < j0 + T && j < n; j++)
                    a[j * n + i] = a[i * n + j];
    return 0;
}

/* Flips the n-vector x so that its largest-magnitude entry is positive. */
static void fix_sign(double *x, size_t n)
{
    size_t big = 0;
    for (size_t k = 1; k < n; k++)
        if (fabs(x[k]) > fabs(x[big]))
            big = k;
    if (x[big] < 0)
        for (size_t k = 0; k < n; k++)
            x[k] = -x[k];
}

int rs_sym_eig(double *a, size_t d, size_t m, double *w, double *v)
{
    RS_ASSERT(m >= 1 && m <= d);
    /* a is symmetric, so row-major is column-major; z comes back column-major
     * d×m, i.e. one eigenvector per row of a row-major m×d matrix. */
    blasint n = (blasint)d, il = (blasint)(d - m + 1), iu = (blasint)d, found = 0, info = 0;
    blasint lwork = 26 * n, liwork = 10 * n; /* dsyevr's documented minimums */
    double vl = 0, vu = 0, abstol = 0, *wall = xmalloc(d * sizeof *wall), *work = xmalloc(26 * d * sizeof *work);
    double *z = xmalloc(d * m * sizeof *z);
    blasint *isuppz = xmalloc(2 * d * sizeof *isuppz), *iwork = xmalloc(10 * d * sizeof *iwork);
    one_thread();
    dsyevr_("V", "I", "U", &n, a, &n, &vl, &vu, &il, &iu, &abstol, &found, wall, z, &n, isuppz, work, &lwork,
            iwork, &liwork, &info, 1, 1, 1);
    RS_ASSERT(info >= 0); /* < 0: an argument above is wrong */
    int rc = info == 0 && (size_t)found == m ? 0
             : rs_err_set(RS_ERR_FORMAT, "the eigensolver failed (LAPACK dsyevr info %d)", (int)info);
    for (size_t c = 0; rc == 0 && c < m; c++) /* NaN in, NaN out: dsyevr itself does not object */
        if (!isfinite(wall[c]))
            rc = rs_err_set(RS_ERR_FORMAT, "the eigensolver's input is not finite (a NaN or infinity)");
    for (size_t c = 0; rc == 0 && c < m; c++) { /* LAPACK's order is ascending */
        w[c] = wall[m - 1 - c];
        for (size_t k = 0; k < d; k++)
            v[c * d + k] = z[(m - 1 - c) * d + k];
        fix_sign(v + c * d, d);
    }
    free(wall), free(work), free(z), free(isuppz), free(iwork);
    return rc;
}
