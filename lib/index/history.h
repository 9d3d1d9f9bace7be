/* history.h - a user's own past items as candidates (repeat purchases,
 * re-watching, re-visiting): per user, the items of an event log ranked by
 * the latest interaction, or by a recency-weighted count of interactions.
 */
#ifndef RS_HISTORY_H
#define RS_HISTORY_H

#include <stddef.h>
#include <stdint.h>

struct rs_knn_filter;
struct rs_strmap;

struct rs_history_opts {
    const char *user_col, *item_col, *time_col;
    double half_life; /* seconds; 0: most recent first */
};

/* Each user's distinct items, best first. half_life 0: by the user's latest
 * event with the item, newest first, score = -(days between that event and
 * the newest event of the file). half_life H: by sum over the user's events
 * with the item of 2^-(age / H), age to the newest event of the file
 * (rs_recency), which is the score. Ties to the lower item id. */
struct rs_history {
    struct rs_strmap *users, *items; /* as first seen in the events */
    uint64_t *off;                   /* users + 1 */
    uint32_t *item;                  /* off[u] .. off[u+1]: best first */
    float *score;
    int64_t newest;
};

/* Reads the (user_col, item_col, time_col) rows of the TSV at path; other
 * columns are ignored. Returns 0 or a negative rs_err naming file, line and
 * column (a missing column, an empty id, a bad timestamp). */
int rs_history_load(struct rs_history *h, const char *path, const struct rs_history_opts *o);
/* The first k of user's items that pass f for query q: ids (indices into
 * h->items) and scores; returns how many (0 for a user with no events). */
size_t rs_history_pick(const struct rs_history *h, const char *user, size_t len, size_t k,
                       const struct rs_knn_filter *f, size_t q, int64_t *ids, float *scores);
void rs_history_free(struct rs_history *h);

#endif
