/* cands.h - what candidate generators share besides the search itself: the
 * candidates stream (schemas/candidates.md), already-seen sets, allow/deny
 * item lists, recency-weighted counts, user segments, popularity (global or
 * per segment) and random baselines, and the item order that makes ties go
 * to the lower item id. A user's own history is index/history.h.
 */
#ifndef RS_CANDS_H
#define RS_CANDS_H

#include <stddef.h>
#include <stdint.h>

struct rs_embset;
struct rs_knn_filter;
struct rs_rng;
struct rs_strmap;
struct rs_tsv;
struct rs_writer;

/* The keys of ids in id order (bytewise, shorter prefix first): a new array
 * of their indices, which the caller frees. */
uint32_t *rs_cands_id_order(const struct rs_strmap *ids);
/* Reorders e's rows by id (rs_cands_id_order), so that an item index order
 * is the id order and "ties to the lower index" means "ties to the lower
 * item id". Rebuilds e->ids. */
void rs_cands_sort_items(struct rs_embset *e);

/* Opens the table at path and finds its columns cols[0..n): idx[j] gets
 * the index of cols[j], or -1 where cols[j] is NULL (not wanted). A missing
 * column is an error naming it (the table is then closed). */
int rs_cands_open(struct rs_tsv **t, const char *path, const char *const *cols, int *idx, size_t n);

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

/* A count of events weighted by recency: with half-life H (seconds), an
 * event at time t weighs 2^-((ref - t) / H), ref the newest event of the
 * whole file. ref is known only at the end, so the sum is kept relative to
 * the newest event added so far (last): every factor is at most 1 and
 * nothing overflows in one pass. H = 0: a plain count. A zeroed struct is
 * an empty count. */
struct rs_recency {
    int64_t last;
    double w;
};
void rs_recency_add(struct rs_recency *r, int64_t t, double half_life);
/* The weighted count relative to ref (>= every t added). */
double rs_recency_value(const struct rs_recency *r, int64_t ref, double half_life);

/* &a[i] of a zeroed array of counts that grows (doubling *cap, the new
 * part zeroed) when i reaches *cap. */
struct rs_recency *rs_recency_at(struct rs_recency **a, size_t *cap, size_t i);

/* An item and a value (a count, a weight, a time) to rank it by. */
struct rs_item_value {
    uint32_t item;
    double value;
};
/* Groups n values by group[j] < ngroups (segments, users): *off gets
 * ngroups + 1 offsets, *out the values of group g at (*off)[g] ..
 * (*off)[g+1], highest value first, ties to the lower item id (bytes of the
 * items' keys). */
void rs_cands_group(const uint32_t *group, const struct rs_item_value *v, size_t n, size_t ngroups,
                    const struct rs_strmap *items, uint64_t **off, struct rs_item_value **out);

/* Users' segments (age band, region...): a user table's (user_col,
 * seg_col), a user on one row only (a second is an error naming both lines).
 * users keep the table's order; seg[u] indexes values, or is -1 for an
 * empty value. */
struct rs_segments {
    struct rs_strmap *users, *values;
    int32_t *seg;
};
int rs_segments_load(struct rs_segments *s, const char *path, const char *user_col, const char *seg_col);
/* The segment of user, or -1 (no row, or an empty value). */
int32_t rs_segments_of(const struct rs_segments *s, const char *user, size_t len);
void rs_segments_free(struct rs_segments *s);

/* Popularity: event counts per item, and the pool of items whose count is at
 * least the q-quantile of all items' counts (numpy's linear interpolation),
 * ranked by count, ties to the lower item id. Optionally the counts are
 * recency-weighted (rs_recency, ref = the newest event of the file), and
 * kept per segment too: a segment's count of an item counts the events of
 * the segment's users. */
struct rs_popular_opts {
    const char *item_col;
    double quantile;
    double half_life;              /* seconds; 0: plain counts */
    const char *time_col;          /* read only with half_life */
    const struct rs_segments *seg; /* NULL: global counts only */
    const char *user_col;          /* read only with seg */
};
struct rs_popular {
    struct rs_strmap *items; /* every item seen in the events */
    double *count;
    uint32_t *rank; /* the pool, best first */
    size_t npool;
    int64_t newest; /* the newest timestamp (with half_life) */
    /* with seg: per segment s, its pool items with a count > 0 in it */
    size_t nseg;
    uint64_t *seg_off;   /* nseg + 1 */
    uint32_t *seg_rank;  /* seg_off[s] .. seg_off[s+1]: best first */
    double *seg_count;   /*   their counts in the segment */
    uint32_t *seg_items; /*   the same items ascending */
};
int rs_popular_load(struct rs_popular *p, const char *path, const struct rs_popular_opts *o);
/* Top k for query q that pass f: ids and scores; returns how many. seg < 0:
 * the pool by count, scores the counts. seg >= 0: the segment's items by
 * their count in it (the scores), then the rest of the pool by global
 * count, with score 0 (their count in the segment). */
size_t rs_popular_pick(const struct rs_popular *p, int32_t seg, size_t k, const struct rs_knn_filter *f,
                       size_t q, int64_t *ids, float *scores);
void rs_popular_free(struct rs_popular *p);

/* k distinct random items of n that pass f for query q (fewer only when
 * fewer pass), with uniform scores sorted best first. stamp is caller
 * scratch of n zeroed words, reused across calls with *gen. */
size_t rs_random_pick(size_t n, size_t k, const struct rs_knn_filter *f, size_t q, struct rs_rng *g,
                      uint32_t *stamp, uint32_t *gen, int64_t *ids, float *scores);

/* The candidates header: query_col, item_col, rank, score (the id columns
 * keep the input's names: docs/design.md, "Column names"). */
int rs_cands_header(struct rs_writer *w, const char *query_col, const char *item_col);
/* Rows query, items key ids[r], rank r + 1, scores[r] for r < n. */
int rs_cands_write(struct rs_writer *w, const char *query, size_t qlen, const struct rs_strmap *items,
                   const int64_t *ids, const float *scores, size_t n);

#endif
