/* queries.c - the query users of a candidates run. */
#include "index/queries.h"
#include "core/err.h"
#include "core/strmap.h"
#include "index/cands.h"
#include "io/tsv.h"

#include <stdlib.h>
#include <string.h>

/* Adds id as the next query unless it is one already. */
static void add(struct rs_queries *q, size_t *cap, const char *id, size_t len, const struct rs_strmap *known)
{
    int added;
    rs_strmap_put(q->names, id, len, &added);
    if (!added)
        return;
    if (q->n == *cap)
        q->row = xrealloc(q->row, (*cap *= 2) * sizeof *q->row);
    q->row[q->n++] = rs_strmap_get(known, id, len);
}

static int read_column(struct rs_queries *q, size_t *cap, struct rs_tsv *t, const char *user_col,
                       const struct rs_strmap *known)
{
    int col, rc = rs_tsv_require(t, user_col, &col);
    while (rc == 0 && (rc = rs_tsv_next(t)) == 0) {
        size_t len = rs_tsv_len(t, col);
        if (len == 0)
            rc = rs_tsv_errf(t, col, "empty id");
        else
            add(q, cap, rs_tsv_get(t, col), len, known);
    }
    return rc == RS_ERR_EOF ? 0 : rc;
}

int rs_queries_read(struct rs_queries *q, const char *path, const char *user_col, int csv,
                    const struct rs_strmap *known)
{
    size_t cap = path || !rs_strmap_size(known) ? 1024 : rs_strmap_size(known), len;
    memset(q, 0, sizeof *q);
    q->names = rs_strmap_new(1024);
    q->row = xmalloc(cap * sizeof *q->row);
    if (!path) {
        for (size_t u = 0; u < rs_strmap_size(known); u++) {
            const char *id = rs_strmap_key(known, (int64_t)u, &len);
            add(q, &cap, id, len, known);
        }
        return 0;
    }
    struct rs_tsv *t;
    int rc = rs_tsv_open(&t, path, csv ? RS_TSV_CSV : 0);
    if (rc < 0)
        return rc;
    if (rs_tsv_ncols(t) > 0)
        rc = read_column(q, &cap, t, user_col, known);
    rs_tsv_close(t);
    return rc;
}

void rs_queries_free(struct rs_queries *q)
{
    rs_strmap_free(q->names);
    free(q->row);
    memset(q, 0, sizeof *q);
}

int rs_queries_write(struct rs_writer *w, const char *user_col, const char *item_col, const struct rs_queries *q, const struct rs_strmap *items, size_t k,
                     size_t chunk, rs_queries_fn *fn, void *ctx)
{
    size_t nitems = rs_strmap_size(items);
    if (k > nitems) /* no query gets more rows than there are items: memory follows the data */
        k = nitems ? nitems : 1;
    int64_t *ids = xmalloc(chunk * k * sizeof *ids);
    float *scores = xmalloc(chunk * k * sizeof *scores);
    size_t *counts = xmalloc(chunk * sizeof *counts);
    int rc = rs_cands_header(w, user_col, item_col);
    for (size_t c0 = 0; rc == 0 && c0 < q->n; c0 += chunk) {
        size_t n = q->n - c0 < chunk ? q->n - c0 : chunk;
        fn(ctx, q->row + c0, n, k, ids, scores, counts);
        for (size_t j = 0; rc == 0 && j < n; j++) {
            size_t len;
            const char *user = rs_strmap_key(q->names, (int64_t)(c0 + j), &len);
            rc = rs_cands_write(w, user, len, items, ids + j * k, scores + j * k, counts[j]);
        }
    }
    free(ids);
    free(scores);
    free(counts);
    return rc;
}
