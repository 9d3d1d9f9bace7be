/* cands.h - what candidate generators share besides the search itself: the
 * candidates stream (schemas/candidates.md), already-seen sets, allow/deny
 * item lists, popularity and random baselines, and the item order that makes
 * ties go to the lower item id.
 */
#ifndef RS_CANDS_H
#define RS_CANDS_H

#include <stddef.h>
#include <stdint.h>

struct rs_embset;
struct rs_knn_filter;
struct rs_rng;
struct rs_strmap;
struct rs_writer;

/* The keys of ids in id order (bytewise, shorter prefix first): a new array
 * of their indices, which the caller frees. */
uint32_t *rs_cands_id_order(const struct rs_strmap *ids);
/* Reorders e's rows by id (rs_cands_id_order), so that an item index order
 * is the id order and "ties to the lower index" means "ties to the lower
 * item id". Rebuilds e->ids. */
void rs_cands_sort_items(struct rs_embset *e);

/* Items each user already interacted with, as sorted item indices. */
struct rs_seen {
    struct rs_strmap *users;
    uint64_t *off;  /* users + 1 */
    uint32_t *item; /* off[u] .. off[u+1], ascending, no duplicates */
};

/* Reads the (user_col, item_col) pairs of the TSV at path; items not in
 * items are ignored. With count (one per item of items), adds each kept
 * row's item to it, repeats included. Returns 0 or a negative rs_err naming
 * file and line. */
int rs_seen_load(struct rs_seen *s, const char *path, const char *user_col, const char *item_col,
                 const struct rs_strmap *items, uint64_t *count);
/* The sorted items of user (NULL and *n = 0 if none). */
const uint32_t *rs_seen_get(const struct rs_seen *s, const char *user, size_t len, size_t *n);
void rs_seen_free(struct rs_seen *s);

/* Per-query exclusion lists for a batch (rs_knn_filter's excl_off/excl),
 * growing the caller's buffers. */
struct rs_seen_batch {
    size_t *off;
    uint32_t *item;
    size_t cap_off, cap_item, n;
};
void rs_seen_batch_reset(struct rs_seen_batch *b);
void rs_seen_batch_add(struct rs_seen_batch *b, const struct rs_seen *s, const char *user, size_t len);
void rs_seen_batch_free(struct rs_seen_batch *b);

/* Sets mark[i] = 1 for every item of items listed in column item_col of the
 * TSV at path; ids not in items are counted in *unknown. */
int rs_cands_mark_items(const char *path, const char *item_col, const struct rs_strmap *items,
                        uint8_t *mark, size_t *unknown);

/* Popularity: event counts per item, and the pool of items whose count is at
 * least the q-quantile of all items' counts (numpy's linear interpolation),
 * ranked by count, ties to the lower item id. */
struct rs_popular {
    struct rs_strmap *items; /* every item seen in the events */
    double *count;
    uint32_t *rank; /* the pool, best first */
    size_t npool;
};
int rs_popular_load(struct rs_popular *p, const char *path, const char *item_col, double quantile);
/* Top k of the pool for query q that pass f: ids and scores (the counts);
 * returns how many. */
size_t rs_popular_pick(const struct rs_popular *p, size_t k, const struct rs_knn_filter *f, size_t q,
                       int64_t *ids, float *scores);
void rs_popular_free(struct rs_popular *p);

/* k distinct random items of n that pass f for query q (fewer only when
 * fewer pass), with uniform scores sorted best first. stamp is caller
 * scratch of n zeroed words, reused across calls with *gen. */
size_t rs_random_pick(size_t n, size_t k, const struct rs_knn_filter *f, size_t q, struct rs_rng *g,
                      uint32_t *stamp, uint32_t *gen, int64_t *ids, float *scores);

/* The candidates header: query_col, item_id, rank, score. */
int rs_cands_header(struct rs_writer *w, const char *query_col);
/* Rows query, items key ids[r], rank r + 1, scores[r] for r < n. */
int rs_cands_write(struct rs_writer *w, const char *query, size_t qlen, const struct rs_strmap *items,
                   const int64_t *ids, const float *scores, size_t n);

#endif
