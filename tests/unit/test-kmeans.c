/* test-kmeans.c - k-means on planted clusters: recovery, inertia, monotone
 * Lloyd iterations, determinism, n_init, sampling, argument errors. */
#include "core/err.h"
#include "index/kmeans.h"
#include "core/rng.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

static double last_inertia;
static int monotone = 1, calls;

static void check_log(void *ctx, int run, int iter, double inertia)
{
    (void)ctx;
    if (iter > 1 && inertia > last_inertia * (1 + 1e-6))
        monotone = 0;
    (void)run;
    last_inertia = inertia;
    calls++;
}

/* n points around `blobs` centres 100 apart on a line, d dims. */
static float *blob_data(struct rs_rng *g, size_t n, size_t d, size_t blobs, int *truth)
{
    float *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        truth[i] = (int)(i % blobs);
        for (size_t j = 0; j < d; j++)
            x[i * d + j] = (float)rs_rng_normal(g) + (j == 0 ? 100.0f * (float)truth[i] : 0);
    }
    return x;
}

static double inertia_of(const float *x, size_t n, size_t d, const float *c, const int32_t *a)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            double v = (double)x[i * d + j] - c[(size_t)a[i] * d + j];
            s += v * v;
        }
    return s;
}

int main(void)
{
    struct rs_rng g;
    rs_rng_init(&g, 5, 0);
    size_t n = 3000, d = 5, k = 6;
    int *truth = malloc(n * sizeof *truth);
    float *x = blob_data(&g, n, d, k, truth);
    struct rs_kmeans_opts o;
    rs_kmeans_defaults(&o);
    o.k = k;
    o.threads = 2;
    o.log = check_log;
    float *c = malloc(k * d * sizeof *c), *c2 = malloc(16 * 5 * sizeof *c2);
    int32_t *a = malloc(n * sizeof *a), *a2 = malloc(n * sizeof *a2);
    double inertia, inertia2;
    int iters;
    is_int(rs_kmeans_fit(x, n, d, &o, c, a, &inertia, &iters), 0, "fit 3000 × 5 into 6");
    int pure = 1;
    for (size_t i = 0; i < n; i++) /* same cluster as the first row of its blob */
        pure &= a[i] == a[truth[i]];
    int distinct = 1;
    for (size_t b = 0; b < k; b++)
        for (size_t b2 = b + 1; b2 < k; b2++)
            distinct &= a[b] != a[b2];
    ok(pure && distinct, "planted blobs recovered exactly");
    is_near(inertia, inertia_of(x, n, d, c, a), 1e-3 * inertia, "reported inertia = Σ‖x − c(x)‖²");
    /* Each blob has unit variance per dim: inertia ≈ n·d. */
    is_near(inertia / (double)(n * d), 1.0, 0.1, "inertia per dim ≈ the planted variance");
    is_int(calls, iters, "one log line per iteration");

    o.log = NULL;
    int same = 1;
    for (o.threads = 1; o.threads <= 5; o.threads++) { /* 3000 rows: 12 blocks */
        rs_kmeans_fit(x, n, d, &o, c2, a2, &inertia2, NULL);
        same &= memcmp(c, c2, k * d * sizeof *c) == 0 && memcmp(a, a2, n * sizeof *a) == 0 && inertia2 == inertia;
    }
    ok(same, "same seed, 1..5 threads: the bits of 2 (centroids, labels, inertia)");
    o.threads = 2;
    o.seed = 43;
    o.n_init = 3;
    o.init_sample = 500;
    rs_kmeans_fit(x, n, d, &o, c2, a2, &inertia2, NULL);
    is_near(inertia2, inertia, 1e-3 * inertia, "n_init 3 with a 500-row k-means++ sample: same optimum");

    /* Overlapping data: k-means++ + Lloyd well below a random assignment. */
    float *u = malloc(2000 * 4 * sizeof *u);
    for (size_t i = 0; i < 2000 * 4; i++)
        u[i] = (float)rs_rng_uniform(&g);
    o.k = 16;
    o.n_init = 1;
    o.init_sample = 0;
    o.log = check_log;
    calls = 0;
    rs_kmeans_fit(u, 2000, 4, &o, c2, a2, &inertia2, &iters);
    ok(monotone && calls == iters && iters > 5, "inertia never rises over %d iterations", iters);
    o.log = NULL;
    /* Uniform in [0,1]^4 has variance 1/12 per dim: 2000·4/12 ≈ 667 for k = 1. */
    ok(inertia2 < 0.5 * 2000 * 4 / 12.0, "16 clusters of uniform data: inertia %.1f < half of k = 1",
       inertia2);
    int used[16] = { 0 }, all = 1;
    for (size_t i = 0; i < 2000; i++)
        used[a2[i]] = 1;
    for (int j = 0; j < 16; j++)
        all &= used[j];
    ok(all, "no empty cluster");

    /* k = n: every row its own centre. */
    float three[6] = { 0, 0, 1, 0, 0, 5 };
    o.k = 3;
    int32_t a3[3];
    float c3[6];
    rs_kmeans_fit(three, 3, 2, &o, c3, a3, &inertia2, NULL);
    ok(inertia2 == 0 && a3[0] != a3[1] && a3[1] != a3[2] && a3[0] != a3[2], "k = n: inertia 0");

    /* rs_kmeans_assign: nearest centre, ties to the lower index. */
    float cc[4] = { 1, 0, -1, 0 }, pts[4] = { 0, 0, -2, 0 }, dist[2];
    int32_t aa[2];
    rs_kmeans_assign(pts, 2, 2, cc, 2, 1, aa, dist);
    ok(aa[0] == 0 && aa[1] == 1 && dist[0] == 1 && dist[1] == 1, "assign: tie to lower index, distances");

    o.k = 4;
    is_int(rs_kmeans_fit(three, 3, 2, &o, c3, a3, &inertia2, NULL), RS_ERR_USAGE, "k > n is refused");
    ok(strstr(rs_err_msg(), "k = 4") != NULL, "and the message says so: %s", rs_err_msg());
    o.k = 0;
    is_int(rs_kmeans_fit(three, 3, 2, &o, c3, a3, &inertia2, NULL), RS_ERR_USAGE, "k = 0 is refused");
    o.k = 2;
    float saved = three[3];
    three[3] = NAN; /* a NaN inertia once left the outputs unwritten */
    is_int(rs_kmeans_fit(three, 3, 2, &o, c3, a3, &inertia2, NULL), RS_ERR_USAGE, "a NaN row is refused");
    ok(strstr(rs_err_msg(), "row 2 dimension 2 is nan") != NULL, "naming row and dimension: %s", rs_err_msg());
    three[3] = 1e20f;
    is_int(rs_kmeans_fit(three, 3, 2, &o, c3, a3, &inertia2, NULL), RS_ERR_USAGE, "so is 1e20");
    three[3] = saved;

    free(truth);
    free(x);
    free(c);
    free(c2);
    free(a);
    free(a2);
    free(u);
    return done_testing();
}
