/* sgemm.c - OpenBLAS sgemm GFLOP/s at given shapes (bench/two-tower's
 * reference rate). Usage: sgemm M N K [REPEATS] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    int m = atoi(argv[1]), n = atoi(argv[2]), k = atoi(argv[3]), reps = argc > 4 ? atoi(argv[4]) : 200;
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n), *c = malloc(sizeof(float) * m * n);
    for (int i = 0; i < m * k; i++)
        a[i] = (float)(i % 7) * 0.1f;
    for (int i = 0; i < k * n; i++)
        b[i] = (float)(i % 5) * 0.1f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < reps; r++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("%.1f\n", 2.0 * m * n * k * reps / s / 1e9);
    free(a);
    free(b);
    free(c);
    return 0;
}
