/* ease.h - EASE, the item-item linear autoencoder of Steck ("Embarrassingly
 * Shallow Autoencoders for Sparse Data", WWW 2019), as a candidate source.
 *
 * With X the binary users × items matrix (1 where a user has an event with
 * the item), the model is the items × items matrix B minimising
 *     ‖X − XB‖²_F + λ‖B‖²_F   subject to diag(B) = 0,
 * whose closed form is (Steck, eq. 8)
 *     G = XᵀX + λI,   P = G⁻¹,   B_ij = −P_ij / P_jj  (i ≠ j),   B_jj = 0,
 * i.e. B = I − P · diag(1 / diag(P)). A user's scores are s_u = x_u B: the sum
 * of the rows of B of the user's items.
 *
 * G is counted exactly (integer co-occurrences, one row of G per worker); P
 * comes from a float Cholesky inverse (nn/tensor.h, LAPACK spotrf + spotri)
 * on one BLAS thread; scores sum rows of B in ascending item order. So B and
 * every score are the same bits for any thread count. Items are kept in byte
 * order of their ids (ties in the candidates go to the lower id, as
 * schemas/candidates.md asks). B is dense: n² floats (n = 30 000 → 3.6 GB).
 * Formulas, file layout and measured accuracy: schemas/ease.md.
 */
#ifndef RS_EASE_H
#define RS_EASE_H

#include <stddef.h>
#include <stdint.h>

struct rs_csr;
struct rs_strmap;
struct rs_rsm;

struct rs_ease_params {
    double lambda;    /* λ > 0 (Steck: 500 on ML-20M, Netflix, MSD) */
    size_t max_items; /* refuse more items than this (0: no limit) */
    int threads;      /* worker threads (>= 1) */
};

struct rs_ease {
    size_t nitems;
    double lambda;
    uint64_t nusers, npairs;     /* training users and distinct (user, item) pairs */
    const float *b;              /* nitems × nitems, row-major B_ij; diag 0 */
    const float *popularity;     /* nitems: training users of each item */
    struct rs_strmap *items;     /* item ids: id k = row k, ascending in byte order */
    float *own;                  /* b and popularity when fitted here */
    struct rs_rsm *file;         /* when loaded: b and popularity point into it */
};

/* Fits m on x (users × items: every stored entry counts as 1, whatever its
 * value) whose columns are named by items (any order: the model sorts them).
 * Returns 0, RS_ERR_NOMEM when x has more than p->max_items columns (nothing
 * allocated), or RS_ERR_FORMAT when G is not positive definite (λ too small
 * for float). Free m with rs_ease_free. */
int rs_ease_fit(struct rs_ease *m, const struct rs_csr *x, const struct rs_strmap *items,
                const struct rs_ease_params *p);

/* Writes m as an RSM model (lib/io/rsm.h) to path, atomically. */
int rs_ease_save(const struct rs_ease *m, const char *path);
/* Reads a model written by rs_ease_save; checks kind, shapes, ids (distinct,
 * ascending) and that B is finite with a zero diagonal. */
int rs_ease_load(struct rs_ease *m, const char *path);
void rs_ease_free(struct rs_ease *m);

/* s[0..nitems) = Σ_r B[rows[r], ·], added in the order given (the scores
 * x_u B of a user whose items are rows). */
void rs_ease_scores(const struct rs_ease *m, const uint32_t *rows, size_t nrows, float *s);

/* Top-k items for nq queries: users[q] is a row of hist (users × nitems, the
 * model's item order), or -1. A user with at least one item in hist ranks
 * items by x_u B (exact; ties to the lower item), skipping the items of their
 * row when exclude_seen; any other user gets the k items with the most
 * training users (score = that count). Writes ids and scores (nq × k, best
 * first) and counts[q] (< k only when fewer items qualify). */
void rs_ease_recommend(const struct rs_ease *m, const struct rs_csr *hist, const int64_t *users, size_t nq,
                       size_t k, int exclude_seen, int threads, int64_t *ids, float *scores, size_t *counts);

#endif
