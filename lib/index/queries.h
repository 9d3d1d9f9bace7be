/* queries.h - the users a candidates run answers (schemas/candidates.md):
 * the distinct values of a user column in order of first appearance
 * (--users-from), or every user a model knows, each with its row in that
 * model or -1 for a user it does not know, and the candidates stream of
 * those users. rs-als, rs-ease and rs-itemknn share it.
 */
#ifndef RS_QUERIES_H
#define RS_QUERIES_H

#include <stddef.h>
#include <stdint.h>

struct rs_strmap;
struct rs_writer;

struct rs_queries {
    struct rs_strmap *names; /* query j = id j */
    int64_t *row;            /* n: the user's id in known, or -1 */
    size_t n;
};

/* From column user_col of the TSV at path (CSV when csv; a header-only or
 * empty file gives no query; an empty id is an error naming file, line and
 * column), or, when path is NULL, every id of known in id order. Free q with
 * rs_queries_free, also after an error. */
int rs_queries_read(struct rs_queries *q, const char *path, const char *user_col, int csv,
                    const struct rs_strmap *known);
void rs_queries_free(struct rs_queries *q);

/* A model's top k for the queries of rows[0..n) (model rows, -1 unknown):
 * query j's items in ids[j k ..], scores likewise, how many in counts[j]. */
typedef void rs_queries_fn(void *ctx, const int64_t *rows, size_t n, size_t k, int64_t *ids, float *scores,
                           size_t *counts);
/* Writes q's candidates stream (schemas/candidates.md; ids are keys of
 * items) under the id columns user_col and item_col, computed by fn chunk queries at a time so memory stays
 * O(chunk × k); k above the number of items is capped to it. Returns 0 or a
 * negative rs_err of the writer. */
int rs_queries_write(struct rs_writer *w, const char *user_col, const char *item_col, const struct rs_queries *q, const struct rs_strmap *items, size_t k,
                     size_t chunk, rs_queries_fn *fn, void *ctx);

#endif
