/* featagg.h - per-user / per-item aggregates of an events stream, and the
 * last-N item history of each user (rs-features; schemas/features.md).
 *
 * Both hold O(entities) state and take events in any order: an aggregate
 * is order-free, and a history keeps the N most recent events by
 * (timestamp, row number), so equal timestamps put the later input row
 * first.
 */
#ifndef RS_FEATAGG_H
#define RS_FEATAGG_H

#include <stddef.h>
#include <stdint.h>

/* Event classes counted per entity; an event value may be in several. */
enum rs_feat_class {
    RS_FEAT_BOOKING = 0,
    RS_FEAT_CLICK = 1,
    RS_FEAT_FAVOURITE = 2,
    RS_FEAT_CONSULT = 3,
    RS_FEAT_NCLASS = 4,
};

struct rs_feat_acc {
    uint64_t events;              /* every event */
    uint64_t cnt[RS_FEAT_NCLASS]; /* events of each class */
    int64_t last;                 /* latest timestamp; INT64_MIN: none */
    double price_sum;             /* over the events given a price */
    uint64_t price_n;
};

struct rs_feat_table {
    size_t n, cap;
    struct rs_feat_acc *acc; /* acc[entity], n entries */
};

void rs_feat_init(struct rs_feat_table *f);
/* A zeroed table is a no-op. */
void rs_feat_free(struct rs_feat_table *f);
/* Accumulator of entity e, the table grown (with empty ones) to cover it. */
struct rs_feat_acc *rs_feat_at(struct rs_feat_table *f, size_t e);
/* Adds one event of entity e: classes is a bit mask of (1 << enum
 * rs_feat_class); price is counted unless it is NaN. */
void rs_feat_add(struct rs_feat_table *f, size_t e, unsigned classes, int64_t time, double price);

/* The n most recent items of each entity: a min-heap of n entries of 16
 * bytes, allocated on an entity's first event. */
struct rs_lastn {
    size_t n, nent;
    struct rs_lastn_entry *heap; /* nent * n entries */
    uint32_t *len;               /* nent: filled entries */
};

/* n >= 1 items per entity. */
void rs_lastn_init(struct rs_lastn *l, size_t n);
void rs_lastn_free(struct rs_lastn *l);
/* Offers item (seen at time, on input row row) to entity e's history. */
void rs_lastn_push(struct rs_lastn *l, size_t e, int64_t time, uint32_t row, uint32_t item);
/* Writes entity e's items into out (room for n), most recent first; returns
 * their count. Leaves e's history sorted, still valid for rs_lastn_push. */
size_t rs_lastn_get(struct rs_lastn *l, size_t e, uint32_t *out);

#endif
