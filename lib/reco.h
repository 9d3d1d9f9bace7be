/* reco.h - the online recommendation engine behind rs-serve: one immutable,
 * fully loaded set of artefacts (a "bundle") answering
 *   recommend(user, k): user embedding → top candidates by dot product among
 *                       the items, exactly or through an ANN index
 *                       (excluding items the user has seen and
 *                       items out of stock) → optional diversification → k;
 *                       a user unknown to every source falls back to the
 *                       most popular items, flagged;
 *   similar(item, k):   the k items nearest to an item, itself excluded.
 * It calls the same library code as the batch tools (knn.h, diversify.h),
 * so for the same inputs the online lists equal rs-retrieve's (and
 * rs-diversify's). A bundle is never modified after loading: servers swap
 * whole bundles (rs-serve's hot swap) and share one across threads.
 */
#ifndef RS_RECO_H
#define RS_RECO_H

#include <stddef.h>
#include <stdint.h>

struct rs_reco_opts {
    const char *items_emb;   /* RSB of item embeddings (required) */
    const char *index;       /* ANN index of the same items (rs-retrieve index build), or NULL:
                              * /recommend searches it instead of every item */
    size_t nprobe, rerank;   /* ANN search (0: 16 partitions, max(k, 100) re-scored) */
    const char *users_emb;   /* RSB of user embeddings (precomputed by rs-embed), or NULL */
    const char *model;       /* two-tower model (RSM): with users, the users' embeddings are */
    const char *users;       /* computed from this feature table when the bundle loads */
    const char *seen;        /* events TSV (user_id, item_id): excluded, and popularity; or NULL */
    const char *items;       /* items TSV with in_stock / group column, or NULL */
    const char *group_col;   /* diversify: at most max_per_group items per value; NULL: off */
    size_t max_per_group;
    size_t candidates;       /* retrieval depth before filters and diversification */
};

#define RS_RECO_DEFAULT_CANDIDATES 200

struct rs_reco;

/* One answer: ids and scores, best first. Reused across calls. */
struct rs_reco_list {
    size_t n, cap;
    const char **ids;   /* point into the bundle: valid while it is held */
    float *scores;
    int fallback;       /* 1: popular items for an unknown user */
};

/* Loads every artefact; an error names the file (the bundle is NULL). */
int rs_reco_load(struct rs_reco **r, const struct rs_reco_opts *o);
void rs_reco_free(struct rs_reco *r);
size_t rs_reco_nitems(const struct rs_reco *r);
uint32_t rs_reco_dims(const struct rs_reco *r);
/* RS_ERR_USAGE "unknown item" when the item has no embedding. */
int rs_reco_similar(const struct rs_reco *r, const char *item, size_t k, struct rs_reco_list *out);
/* Recommends for a known user, or the popular fallback for an unknown one
 * (score: the item's event count in the seen stream). */
int rs_reco_recommend(const struct rs_reco *r, const char *user, size_t k, struct rs_reco_list *out);
/* Same, for a user given by an embedding (a user the model computed on the
 * fly); seen items of user (may be NULL) are still excluded. */
int rs_reco_recommend_vec(const struct rs_reco *r, const char *user, const float *vec, size_t k,
                          struct rs_reco_list *out);
void rs_reco_list_free(struct rs_reco_list *l);
/* Parses a request's k parameter s (as the HTTP layer decoded it): NULL
 * gives dflt; a plain decimal integer in 1..max is returned; anything else
 * (empty, sign-only, trailing bytes, overflow, out of range) gives -1. */
long rs_reco_parse_k(const char *s, long dflt, long max);

#endif
