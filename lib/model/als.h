/* als.h - implicit-feedback matrix factorisation by alternating least
 * squares (Hu, Koren & Volinsky, "Collaborative Filtering for Implicit
 * Feedback Datasets", ICDM 2008).
 *
 * With preferences p_ui = 1 for every stored entry of the user × item matrix
 * (0 elsewhere) and confidences c_ui (the stored value; 1 elsewhere), it
 * minimises
 *     L = Σ_ui c_ui (p_ui − x_uᵀ y_i)² + λ (Σ_u ‖x_u‖² + Σ_i ‖y_i‖²)
 * by solving, for each user, (YᵀY + Yᵀ(C_u − I)Y + λI) x_u = Yᵀ C_u p_u, then
 * the same for each item. YᵀY is computed once per half-sweep (the "Gram
 * trick"), so no row ever touches the items it has no entry for: conjugate
 * gradient warm-started from the current row costs O(steps (nnz_row f + f²))
 * (Takács, Pilászy & Tikk, RecSys 2011; the `implicit` library's default of 3
 * steps), an exact Cholesky solve O(nnz_row f² + f³). Both only ever lower each row's quadratic, so L never increases up
 * to rounding (CG with few steps lowers it less per sweep).
 *
 * Results do not depend on the thread count: rows are solved independently
 * and every reduction (YᵀY, the loss) sums fixed blocks in a fixed order.
 */
#ifndef RS_ALS_H
#define RS_ALS_H

#include <stddef.h>
#include <stdint.h>

struct rs_csr;

enum rs_als_solver {
    RS_ALS_CG = 1,       /* warm-started conjugate gradient, cg_steps per row */
    RS_ALS_CHOLESKY = 2, /* exact: forms the f × f system, Cholesky in double */
};

enum rs_als_scale {
    RS_ALS_LINEAR = 1, /* c = 1 + α r */
    RS_ALS_LOG = 2,    /* c = 1 + α log(1 + r / ε) */
};

struct rs_als_params {
    double lambda; /* L2 regularisation λ >= 0 */
    int solver;    /* enum rs_als_solver */
    int cg_steps;  /* CG steps per row and half-sweep (>= 1) */
    int threads;   /* worker threads (>= 1) */
};

struct rs_als {
    size_t nusers, nitems;
    int f;
    float *x; /* users × f, row-major */
    float *y; /* items × f */
};

/* BM25 weighting as the `implicit` library's bm25_weight applied to the
 * item × user matrix (its lastfm example; the retail seed): items are the
 * documents, users the terms. With N items, n_u the items of user u,
 * len_i = Σ_u r_ui and avg its mean over items:
 *   r'_ui = r_ui (K1 + 1) / (K1 ((1 − B) + B len_i / avg) + r_ui) · idf_u,
 *   idf_u = log N − log(1 + n_u),
 * floored at 0. m is users × items, changed in place. */
void rs_als_bm25(struct rs_csr *m, double k1, double b);
/* TF-IDF likewise: r'_ui = sqrt(r_ui) · idf_u, floored at 0. */
void rs_als_tfidf(struct rs_csr *m);
/* Turns weights r >= 0 into confidences c in place (enum rs_als_scale). */
void rs_als_confidence(struct rs_csr *m, int scale, double alpha, double eps);

/* Allocates factors for nusers × nitems with f factors, each entry
 * N(0, 0.01²) from rs_rng(seed, stream 1 for users, 2 for items). */
void rs_als_init(struct rs_als *m, size_t nusers, size_t nitems, int f, uint64_t seed);
void rs_als_free(struct rs_als *m);

/* One ALS iteration: every user given the items, then every item given the
 * users. cu holds the confidences (users × items), ci = cuᵀ. */
void rs_als_sweep(struct rs_als *m, const struct rs_csr *cu, const struct rs_csr *ci,
                  const struct rs_als_params *p);
/* The objective L above, accumulated in double: x_uᵀ(YᵀY)x_u per user plus
 * a correction per stored entry, O(nnz f + nusers f²). */
double rs_als_loss(const struct rs_als *m, const struct rs_csr *cu, double lambda, int threads);

/* Top-k items for nq queries: users[q] is a user row, or -1 for a user the
 * model does not know, who gets the k items with the highest popularity[].
 * Known users rank items by x_uᵀ y_i (exact search, knn.h), skipping the
 * items of their row in seen when seen is not NULL. The search visits the
 * items in order (a permutation of the item rows; NULL: row order): ties go
 * to the item that comes first in it, and the scores have the bits of
 * rs_knn_search over item vectors stored in that order (rs-retrieve's,
 * over item factors sorted by id: rs_cands_id_order). Writes ids (item
 * rows) and scores (nq × k, best first) and counts[q] (< k when fewer items
 * qualify). */
void rs_als_recommend(const struct rs_als *m, const uint32_t *order, const int64_t *users, size_t nq, size_t k,
                      const struct rs_csr *seen, const float *popularity, int threads, int64_t *ids,
                      float *scores, size_t *counts);

#endif
