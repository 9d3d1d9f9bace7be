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
