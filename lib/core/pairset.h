/* pairset.h - a set of (a, b) pairs of 32-bit ids, e.g. (user, item) pairs a
 * user already interacted with: "exclude already seen" in rs-diversify, "never
 * a positive as a negative" in rs-negsample. Open addressing with linear
 * probing on a 64-bit mix of the pair; 8 bytes a slot, load factor <= 1/2.
 * And a pair map, the same table giving each pair a dense id.
 */
#ifndef RS_PAIRSET_H
#define RS_PAIRSET_H

#include <stddef.h>
#include <stdint.h>

struct rs_pairset;

/* A set sized for about expected pairs (it grows as needed). */
struct rs_pairset *rs_pairset_new(size_t expected);
/* NULL is a no-op. */
void rs_pairset_free(struct rs_pairset *s);
/* Adds (a, b); returns 1 if it was new, 0 if already there. The pair
 * (UINT32_MAX, UINT32_MAX) is reserved (asserted). */
int rs_pairset_add(struct rs_pairset *s, uint32_t a, uint32_t b);
/* 1 if (a, b) is in the set; a NULL set holds nothing. */
int rs_pairset_has(const struct rs_pairset *s, uint32_t a, uint32_t b);
size_t rs_pairset_size(const struct rs_pairset *s);

/* A map from (a, b) pairs to dense ids 0, 1, 2... in first-insertion order,
 * for counts per pair ((segment, item), (user, item)) kept in the caller's
 * arrays indexed by id. Slots hold id + 1; the pairs are stored once, by id. */
struct rs_pairmap;

struct rs_pairmap *rs_pairmap_new(size_t expected);
/* NULL is a no-op. */
void rs_pairmap_free(struct rs_pairmap *m);
/* Id of (a, b), adding it with the next id if absent; *added tells which
 * (added may be NULL). */
uint32_t rs_pairmap_put(struct rs_pairmap *m, uint32_t a, uint32_t b, int *added);
/* Id of (a, b), or -1 if absent. */
int64_t rs_pairmap_get(const struct rs_pairmap *m, uint32_t a, uint32_t b);
size_t rs_pairmap_size(const struct rs_pairmap *m);
/* The pair of id. */
void rs_pairmap_pair(const struct rs_pairmap *m, uint32_t id, uint32_t *a, uint32_t *b);

#endif
