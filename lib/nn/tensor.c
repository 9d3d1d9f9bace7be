/* tensor.c - thin wrappers over CBLAS (OpenBLAS), which always runs on one
 * thread (tensor.h says why). */
#include "nn/tensor.h"

#include <cblas.h>
#include <pthread.h>

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

/* LAPACK (Fortran, exported by OpenBLAS); the trailing size_t is the hidden
 * length of the character argument. */
void spotrf_(const char *uplo, const blasint *n, float *a, const blasint *lda, blasint *info, size_t uplo_len);
void spotri_(const char *uplo, const blasint *n, float *a, const blasint *lda, blasint *info, size_t uplo_len);

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
