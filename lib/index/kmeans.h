/* kmeans.h - k-means clustering of dense f32 rows (Lloyd's algorithm with
 * greedy k-means++ seeding), shared by rs-cluster and rs-retrieve's IVF index.
 *
 * Seeding: Arthur & Vassilvitskii, "k-means++" (SODA 2007), in the greedy
 * variant of scikit-learn: each new centre is the best of 2 + ln k candidates
 * drawn with probability ∝ D(x)², the one that lowers the potential most.
 * Lloyd iterations compute ‖x − c‖² = ‖x‖² − 2 x·c + ‖c‖² through sgemm.
 * Deterministic for a given seed, whatever the thread count.
 */
#ifndef RS_KMEANS_H
#define RS_KMEANS_H

#include <stddef.h>
#include <stdint.h>

#define RS_KMEANS_MAX_ITER 300
#define RS_KMEANS_TOL 1e-4

struct rs_kmeans_opts {
    size_t k;           /* clusters, 1 <= k <= n */
    int n_init;         /* independent seedings; the run with the lowest inertia wins */
    int max_iter;       /* Lloyd iterations per run */
    double tol;         /* stop when Σ‖c_new − c_old‖² <= tol · mean per-dimension variance */
    size_t init_sample; /* seed k-means++ on this many random rows (0 or >= n: all rows) */
    uint64_t seed;
    int threads;
    /* Called after each Lloyd iteration with the inertia of the assignment it
     * made (NULL: silent). run counts from 0, iter from 1. */
    void (*log)(void *ctx, int run, int iter, double inertia);
    void *log_ctx;
};

/* Fills o with the defaults above (k = 8, n_init = 1, seed 42, 1 thread). */
void rs_kmeans_defaults(struct rs_kmeans_opts *o);

/* Clusters x (n × d, row-major) into o->k clusters. Writes centroids (k × d),
 * assign[n] (the nearest centroid of each row, may be NULL), the final
 * inertia Σ‖x − c(x)‖² and the number of Lloyd iterations of the winning run
 * (either may be NULL). Returns 0, or RS_ERR_USAGE when k is 0 or above n or
 * a value of x is not finite or beyond +-RS_NUM_VEC_MAX (core/num.h), the
 * range in which no squared norm or distance overflows. */
int rs_kmeans_fit(const float *x, size_t n, size_t d, const struct rs_kmeans_opts *o, float *centroids,
                  int32_t *assign, double *inertia, int *iters);

/* Nearest of the k centroids c (k × d) for each row of x: assign[n] (ties: the
 * lower index) and, if dist is not NULL, the squared distance dist[n]. Returns
 * the inertia, summed in a fixed order. */
double rs_kmeans_assign(const float *x, size_t n, size_t d, const float *c, size_t k, int threads,
                        int32_t *assign, float *dist);

#endif
