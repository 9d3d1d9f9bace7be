/* itemids.c - item ids in byte order, their RSM blob, and histories in the
 * model's item order (itemids.h). */
#include "model/itemids.h"
#include "prep/csr.h"
#include "core/err.h"
#include "io/rsm.h"
#include "core/strmap.h"
#include "core/topk.h"

#include <stdlib.h>
#include <string.h>

struct idref {
    const char *s;
    size_t len;
    uint32_t old;
};

/* Byte order, a shorter prefix first (memcmp; schemas/candidates.md). */
static int cmp_id(const void *pa, const void *pb)
{
    const struct idref *a = pa, *b = pb;
    int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

struct rs_strmap *rs_itemids_sort(const struct rs_strmap *items, uint32_t *perm)
{
    size_t n = rs_strmap_size(items);
    struct idref *r = xmalloc((n ? n : 1) * sizeof *r);
    for (size_t i = 0; i < n; i++) {
        r[i].s = rs_strmap_key(items, (int64_t)i, &r[i].len);
        r[i].old = (uint32_t)i;
    }
    qsort(r, n, sizeof *r, cmp_id);
    struct rs_strmap *sorted = rs_strmap_new(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        rs_strmap_put(sorted, r[i].s, r[i].len, NULL);
        perm[r[i].old] = (uint32_t)i;
    }
    free(r);
    return sorted;
}

char *rs_itemids_blob(const struct rs_strmap *items, size_t *nbytes)
{
    size_t n = rs_strmap_size(items), total = 0, len;
    for (size_t i = 0; i < n; i++)
        total += (rs_strmap_key(items, (int64_t)i, &len), len + 1);
    char *blob = xmalloc(total + 1), *q = blob;
    for (size_t i = 0; i < n; i++) {
        const char *s = rs_strmap_key(items, (int64_t)i, &len);
        memcpy(q, s, len + 1);
        q += len + 1;
    }
    blob[total] = 0;
    *nbytes = total ? total : 1;
    return blob;
}

int rs_itemids_load(struct rs_strmap **out, const struct rs_rsm *file, size_t n, const char *path)
{
    *out = NULL;
    const struct rs_rsm_tensor *t = rs_rsm_tensor(file, "item_ids");
    if (!t || t->dtype != RS_RSM_U8)
        return rs_err_set(RS_ERR_FORMAT, "'%s': missing tensor 'item_ids'", path);
    struct rs_strmap *m = *out = rs_strmap_new(n ? n : 1);
    const char *s = t->data, *end = s + t->nbytes;
    struct idref prev = { "", 0, 0 };
    for (size_t k = 0; k < n; k++) {
        const char *z = memchr(s, 0, (size_t)(end - s));
        if (!z)
            return rs_err_set(RS_ERR_FORMAT, "'%s': tensor 'item_ids' holds fewer than %zu ids", path, n);
        struct idref cur = { s, (size_t)(z - s), 0 };
        if (k && cmp_id(&prev, &cur) >= 0)
            return rs_err_set(RS_ERR_FORMAT, "'%s': tensor 'item_ids' is not ascending at id %zu", path, k);
        rs_strmap_put(m, s, cur.len, NULL);
        prev = cur;
        s = z + 1;
    }
    return 0;
}

void rs_itemids_remap(struct rs_csr *h, const struct rs_csr *x, const struct rs_strmap *items,
                      const struct rs_strmap *model_items)
{
    int64_t *map = xmalloc((x->ncols ? x->ncols : 1) * sizeof *map);
    for (size_t i = 0; i < x->ncols; i++) {
        size_t len;
        const char *id = rs_strmap_key(items, (int64_t)i, &len);
        map[i] = rs_strmap_get(model_items, id, len);
    }
    struct rs_coo c;
    rs_coo_init(&c);
    for (size_t u = 0; u < x->nrows; u++)
        for (uint64_t k = x->indptr[u]; k < x->indptr[u + 1]; k++)
            if (map[x->indices[k]] >= 0)
                rs_coo_add(&c, (uint32_t)u, (uint32_t)map[x->indices[k]], 1.0f);
    rs_csr_from_coo(h, &c, x->nrows, rs_strmap_size(model_items));
    rs_coo_free(&c);
    free(map);
}

void rs_itemids_popular(struct rs_topk *pop, const float *popularity, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rs_topk_push(pop, popularity[i], (int64_t)i);
    rs_topk_sort(pop);
}

void rs_itemids_store(const struct rs_topk *t, size_t q, size_t k, int64_t *ids, float *scores, size_t *counts)
{
    counts[q] = t->n;
    memcpy(ids + q * k, t->id, t->n * sizeof *ids);
    memcpy(scores + q * k, t->score, t->n * sizeof *scores);
}
