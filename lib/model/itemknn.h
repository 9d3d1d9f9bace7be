/* itemknn.h - sparse item-item nearest neighbours (Sarwar, Karypis, Konstan
 * and Riedl, "Item-based collaborative filtering recommendation algorithms",
 * WWW 2001; Deshpande and Karypis, "Item-based top-N recommendation
 * algorithms", TOIS 2004), EASE's sparse sibling for larger catalogues.
 *
 * With X the binary users × items matrix, n_i = #users of item i and
 * c_ij = #users of both i and j (i ≠ j), the similarity is cosine with
 * shrinkage
 *     s_ij = c_ij / (sqrt(n_i n_j) + shrink),
 * of which each item keeps its top M neighbours (ties to the lower item id).
 * A user's scores are
 *     score_u(i) = Σ_{j ∈ u} s_ji   over the kept lists N(j) ∋ i.
 * c is accumulated sparsely from each user's item list (cost Σ_u |u|²), one
 * item at a time, so memory is O(items × M + nnz), never items². Item rows
 * are computed independently in fixed blocks and every sum runs in a fixed
 * order: the model and the scores are the same bits for any thread count.
 * Formulas, file layout and figures: schemas/itemknn.md.
 */
#ifndef RS_ITEMKNN_H
#define RS_ITEMKNN_H

#include <stddef.h>
#include <stdint.h>

struct rs_coo;
struct rs_csr;
struct rs_strmap;
struct rs_rsm;

struct rs_itemknn_params {
    size_t neighbours; /* M >= 1: neighbours kept per item */
    double shrink;     /* >= 0: the shrinkage of the cosine */
    size_t max_history; /* recorded in the model (the caller caps the fit matrix) */
    int threads;       /* worker threads (>= 1) */
};

struct rs_itemknn {
    size_t nitems, neighbours, max_history;
    double shrink;
    uint64_t nusers, npairs;   /* training users and distinct (user, item) pairs */
    const uint64_t *ptr;       /* nitems + 1: item j's neighbours are [ptr[j], ptr[j+1]) */
    const int32_t *nbr;        /* neighbour ids, best first (s desc, then id asc) */
    const float *sim;          /* s_j,nbr */
    const float *popularity;   /* nitems: training users of each item */
    struct rs_strmap *items;   /* item ids: id k = row k, ascending in byte order */
    void *own[4];              /* ptr, nbr, sim, popularity when fitted here */
    struct rs_rsm *file;       /* when loaded: the arrays point into it */
};

/* x (users × items) from triplets c (input order): 1 for each user's last
 * max_history distinct items in input order (the most recent when the
 * stream is in time order; 0: all). Returns the number of users whose
 * history was cut. The caller frees x. */
size_t rs_itemknn_history(struct rs_csr *x, const struct rs_coo *c, size_t nusers, size_t nitems,
                          size_t max_history);

/* Fits m: co-occurrences and n_i from xfit (users × items, every entry
 * counts 1), popularity (the fallback) from x (same shape: the full
 * histories); columns named by items (any order: the model sorts them).
 * Returns 0. Free m with rs_itemknn_free. */
int rs_itemknn_fit(struct rs_itemknn *m, const struct rs_csr *xfit, const struct rs_csr *x,
                   const struct rs_strmap *items, const struct rs_itemknn_params *p);

/* Writes m as an RSM model (lib/io/rsm.h) to path, atomically. */
int rs_itemknn_save(const struct rs_itemknn *m, const char *path);
/* Reads a model written by rs_itemknn_save; checks kind, shapes, ids, the
 * lists (offsets ascending, ids in range and not the item itself, at most M
 * each) and that similarities and popularity are finite and >= 0. */
int rs_itemknn_load(struct rs_itemknn *m, const char *path);
void rs_itemknn_free(struct rs_itemknn *m);

/* Top-k items for nq queries: users[q] is a row of hist (users × nitems, the
 * model's item order), or -1. A user with at least one item in hist ranks
 * items by score_u (items no list reaches score 0; ties to the lower item),
 * skipping the items of their row when exclude_seen; any other user gets
 * the k items with the most training users (score = that count). Writes ids
 * and scores (nq × k, best first) and counts[q] (< k only when fewer items
 * qualify). */
void rs_itemknn_recommend(const struct rs_itemknn *m, const struct rs_csr *hist, const int64_t *users,
                          size_t nq, size_t k, int exclude_seen, int threads, int64_t *ids, float *scores,
                          size_t *counts);

#endif
