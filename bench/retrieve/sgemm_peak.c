/* sgemm_peak.c - this machine's sgemm rate through lib/nn/tensor (OpenBLAS,
 * one BLAS thread per call, as the library runs it): N of the library's
 * workers (core/threads.h) each multiply their own 2048³ pair at once; the
 * best of 5 rounds. Prints GFLOP per wall second and per CPU second of the
 * process (the second is the fair one on a machine shared with other jobs).
 *   sgemm_peak [THREADS] */
#include "core/clock.h"
#include "core/threads.h"
#include "nn/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define M 2048

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

struct job {
    const float *a, *b;
    float *c; /* one M × M product per worker */
};

static void multiply(void *arg, size_t lo, size_t hi, int tid)
{
    (void)tid;
    const struct job *j = arg;
    for (size_t w = lo; w < hi; w++)
        rs_sgemm(0, 1, M, M, M, 1, j->a, M, j->b, M, 0, j->c + w * M * M, M);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    threads = threads < 1 ? 1 : threads;
    size_t mm = (size_t)M * M;
    float *a = malloc(mm * sizeof *a), *b = malloc(mm * sizeof *b), *c = malloc(threads * mm * sizeof *c);
    for (size_t i = 0; i < mm; i++) {
        a[i] = (float)(i % 7) * 1e-3f;
        b[i] = (float)(i % 5) * 1e-3f;
    }
    struct job j = { a, b, c };
    rs_parallel_for(threads, (size_t)threads, multiply, &j); /* warm up */
    double best = 0, best_cpu = 0, flop = 2.0 * threads * (double)mm * M;
    for (int r = 0; r < 5; r++) {
        double t0 = rs_now(), c0 = cpu_seconds();
        rs_parallel_for(threads, (size_t)threads, multiply, &j);
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
