/* tensor.c - thin wrappers over CBLAS (OpenBLAS). */
#include "nn/tensor.h"

#include <cblas.h>

void rs_sgemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
              const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c,
                (blasint)ldc);
}

void rs_sgemv(int ta, size_t m, size_t n, float alpha, const float *a, size_t lda, const float *x,
              float beta, float *y)
{
    cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, alpha, a,
                (blasint)lda, x, 1, beta, y, 1);
}

float rs_sdot(size_t n, const float *x, const float *y)
{
    return cblas_sdot((blasint)n, x, 1, y, 1);
}

void rs_saxpy(size_t n, float alpha, const float *x, float *y)
{
    cblas_saxpy((blasint)n, alpha, x, 1, y, 1);
}

void rs_sscal(size_t n, float alpha, float *x)
{
    cblas_sscal((blasint)n, alpha, x, 1);
}

float rs_snrm2(size_t n, const float *x)
{
    return cblas_snrm2((blasint)n, x, 1);
}

void rs_blas_set_threads(int n)
{
    openblas_set_num_threads(n);
}
