/* prefilter.h - the rules of rs-prefilter on an in-memory interaction table.
 *
 * The table holds one (user, item) pair of dense 32-bit ids per input row
 * and a live flag: 9 bytes a row. Rules clear live flags (rows are never
 * moved, so row k of the table is still line k + 2 of the input) or, for the
 * top-N rule, mark items that the output maps to a placeholder id. Users and
 * items "left" are those with at least one live row.
 *
 * The k-core (min interactions per user and per item, iterated until
 * stable) is the largest set of rows in which every user has at least
 * min_user rows and every item at least min_item rows; it is unique, so the
 * order in which rows are dropped does not change it. Repeated (user, item)
 * rows count once each.
 */
#ifndef RS_PREFILTER_H
#define RS_PREFILTER_H

#include <stddef.h>
#include <stdint.h>

struct rs_inter {
    size_t n, cap;
    uint32_t *user, *item; /* n each */
    uint8_t *live;         /* n: 1 = kept so far */
    size_t nusers, nitems; /* 1 + the largest id added (or set by the caller) */
};

/* Numbers of live rows, and of users and items with a live row. */
struct rs_inter_stats {
    uint64_t rows, users, items;
};

void rs_inter_init(struct rs_inter *t);
/* Frees the arrays; a zeroed table is a no-op. */
void rs_inter_free(struct rs_inter *t);
/* Appends a live row (user u, item i); grows nusers/nitems to cover them. */
void rs_inter_add(struct rs_inter *t, uint32_t u, uint32_t i);
void rs_inter_stats(const struct rs_inter *t, struct rs_inter_stats *s);
/* Clears the rows of every item i < nitems with drop[i] != 0. */
void rs_inter_drop_items(struct rs_inter *t, const uint8_t *drop);
/* Keeps the k-core (see above); returns the number of sweeps over the rows
 * it took (the last one changes nothing). A minimum of 0 or 1 is no rule. */
int rs_inter_kcore(struct rs_inter *t, uint64_t min_user, uint64_t min_item);
/* pop[i] (nitems entries) = live rows of item i, or with distinct_users the
 * number of distinct users among them (sorts a copy of the live pairs). */
void rs_inter_popularity(const struct rs_inter *t, int distinct_users, uint64_t *pop);
/* Writes into order the items with pop > 0, most popular first, equal
 * popularity by lower id (first seen in the input); returns their count. */
size_t rs_inter_rank_items(const struct rs_inter *t, const uint64_t *pop, uint32_t *order);

/* ---- the rules of rs-prefilter, in their fixed order ---- */

/* A popularity cut: v items, or v percent of the items left (floor). */
struct rs_prefilter_cut {
    double v;
    int pct;
};

struct rs_prefilter_rules {
    double min_price, max_price;     /* 1 price: -INFINITY / INFINITY for no bound */
    uint64_t min_category_items;     /* 2 category: 0 for no rule */
    int64_t recency, now;            /* 3 recency: window (0: no rule) before now */
    struct rs_prefilter_cut top;     /* 4 popular: v = 0 for no rule */
    struct rs_prefilter_cut bottom;  /* 5 unpopular */
    int popularity_users;            /* 4, 5, 7: popularity by distinct users */
    uint64_t min_user, min_item;     /* 6 kcore: 0 or 1 for no bound */
    uint64_t top_n;                  /* 7 top-n: 0 for no rule */
};

/* What the item rules know of each item (nitems entries; an array may be
 * NULL when its rule is off). */
struct rs_prefilter_items {
    const double *price;     /* NaN: unknown, the item stays */
    const int32_t *category; /* -1: none, the item stays */
    const int64_t *last;     /* latest event counted for recency; INT64_MIN: none */
};

/* One applied rule: what it removed and what is left. For top-n, removed
 * items are those mapped to the placeholder, and items left count the
 * placeholder as one. */
struct rs_prefilter_step {
    const char *rule; /* "input", "price", "category", "recency", "popular",
                         "unpopular", "kcore", "top-n" */
    struct rs_inter_stats removed, left;
};

/* Applies the rules that are on, in the order above (see schemas/prefilter.md),
 * calling report(ctx, step) for the input and after each rule. Top-n sets
 * mapped[i] = 1 (nitems entries, zeroed by the caller) for the items past the
 * N most popular. Categories count every item < t->nitems that has one, so a
 * caller with a catalogue sets t->nitems to cover it. Returns 0, or the first
 * non-zero value report returned. */
int rs_prefilter_apply(struct rs_inter *t, const struct rs_prefilter_rules *r, const struct rs_prefilter_items *it,
                       uint8_t *mapped, int (*report)(void *ctx, const struct rs_prefilter_step *s), void *ctx);

#endif
