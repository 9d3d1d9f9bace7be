/* sgemm_peak.c - this machine's sgemm rate through lib/nn/tensor (OpenBLAS):
 * the best of 5 square 2048³ products on N BLAS threads. Prints GFLOP per
 * wall second and per CPU second of the process (the second is the fair
 * one on a machine shared with other jobs).
 *   sgemm_peak [THREADS] */
#include "core/clock.h"
#include "nn/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    size_t m = 2048;
    float *a = malloc(m * m * sizeof *a), *b = malloc(m * m * sizeof *b), *c = malloc(m * m * sizeof *c);
    for (size_t i = 0; i < m * m; i++) {
        a[i] = (float)(i % 7) * 1e-3f;
        b[i] = (float)(i % 5) * 1e-3f;
    }
    rs_blas_set_threads(threads);
    rs_sgemm(0, 1, m, m, m, 1, a, m, b, m, 0, c, m); /* warm up */
    double best = 0, best_cpu = 0, flop = 2.0 * (double)m * m * m;
    for (int r = 0; r < 5; r++) {
        double t0 = rs_now(), c0 = cpu_seconds();
        rs_sgemm(0, 1, m, m, m, 1, a, m, b, m, 0, c, m);
        double g = flop / (rs_now() - t0) / 1e9, gc = flop / (cpu_seconds() - c0) / 1e9;
        best = g > best ? g : best;
        best_cpu = gc > best_cpu ? gc : best_cpu;
    }
    printf("%.1f %.1f\n", best, best_cpu);
    free(a);
    free(b);
    free(c);
    return 0;
}
