/* itemids.h - the item catalogue of the item-item models (rs-ease,
 * rs-itemknn): ids kept in byte order (so ties in the candidates go to the
 * lower id, schemas/candidates.md), stored in an RSM file as one
 * NUL-separated blob, and histories renumbered into the model's order. */
#ifndef RS_ITEMIDS_H
#define RS_ITEMIDS_H

#include <stddef.h>
#include <stdint.h>

struct rs_csr;
struct rs_strmap;
struct rs_rsm;
struct rs_topk;

/* The ids of items in byte order, a shorter prefix first (a new map), and
 * perm[old id] = new id. */
struct rs_strmap *rs_itemids_sort(const struct rs_strmap *items, uint32_t *perm);

/* The ids as one NUL-separated blob (at least one byte; caller frees). */
char *rs_itemids_blob(const struct rs_strmap *items, size_t *nbytes);

/* Reads n NUL-terminated ids, distinct and ascending, from the u8 tensor
 * "item_ids" of file into a new map *out (freed by the caller, also after
 * an error). Errors name path. */
int rs_itemids_load(struct rs_strmap **out, const struct rs_rsm *file, size_t n, const char *path);

/* h = x (columns named by items) with its columns renumbered into the
 * model's order model_items (nmodel columns); items the model does not know
 * are dropped. Caller frees h. */
void rs_itemids_remap(struct rs_csr *h, const struct rs_csr *x, const struct rs_strmap *items,
                      const struct rs_strmap *model_items);

/* pop (initialised for k) = the k items of highest popularity[0..n), ties to
 * the lower index, sorted: the answer for a user with no item the model
 * knows. */
void rs_itemids_popular(struct rs_topk *pop, const float *popularity, size_t n);
/* Query q's slot of a recommend call (k wide) = the sorted heap t. */
void rs_itemids_store(const struct rs_topk *t, size_t q, size_t k, int64_t *ids, float *scores, size_t *counts);

#endif
