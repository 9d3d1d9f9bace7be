/* jointable.c - tables keyed by id, kept as TSV text for joins. */
#include "io/jointable.h"
#include "core/err.h"
#include "core/strmap.h"
#include "io/io.h"
#include "io/tsv.h"

#include <stdlib.h>
#include <string.h>

/* Appends t's current row as TSV text. */
static void keep_row(struct rs_jointable *jt, struct rs_tsv *t, int64_t id)
{
    size_t need = jt->len + 1;
    for (size_t c = 0; c < rs_tsv_ncols(t); c++)
        need += 2 * rs_tsv_len(t, (int)c) + 1;
    jt->text = xrealloc(jt->text, need);
    jt->off = xrealloc(jt->off, (jt->nrows + 1) * sizeof *jt->off);
    jt->id = xrealloc(jt->id, (jt->nrows + 1) * sizeof *jt->id);
    jt->off[jt->nrows] = jt->len;
    jt->id[jt->nrows++] = id;
    char *p = jt->text + jt->len;
    for (size_t c = 0; c < rs_tsv_ncols(t); c++) {
        if (c)
            *p++ = '\t';
        p += rs_field_escape(p, rs_tsv_get(t, (int)c), rs_tsv_len(t, (int)c));
    }
    *p++ = '\0';
    jt->len = (size_t)(p - jt->text);
}

int rs_jointable_load(struct rs_jointable *jt, const char *path, int flags, const char *key_col,
                      struct rs_strmap *m, rs_jointable_row_fn fn, void *ctx)
{
    struct rs_tsv *t;
    uint64_t *first = NULL;
    size_t nfirst = 0;
    int kc = -1, rc = rs_tsv_open(&t, path, flags);
    if (rc < 0)
        return rc;
    if (rs_tsv_ncols(t) == 0)
        rc = rs_err_set(RS_ERR_FORMAT, "'%s' is empty: expected a header with '%s'", rs_tsv_name(t), key_col);
    else
        rc = rs_tsv_require(t, key_col, &kc);
    if (jt && rc == 0) {
        jt->key_col = kc;
        jt->ncols = rs_tsv_ncols(t);
        jt->names = xmalloc(jt->ncols * sizeof *jt->names);
        for (size_t c = 0; c < jt->ncols; c++)
            jt->names[c] = xstrdup(rs_tsv_colname(t, c));
    }
    while (rc == 0 && (rc = rs_tsv_next(t)) == 0) {
        if (rs_tsv_len(t, kc) == 0) {
            rc = rs_tsv_errf(t, kc, "empty id");
            break;
        }
        int64_t id = rs_strmap_put(m, rs_tsv_get(t, kc), rs_tsv_len(t, kc), NULL);
        if ((rc = rs_tsv_key_once(t, kc, (size_t)id, &first, &nfirst)) < 0 || (fn && (rc = fn(ctx, t, id)) < 0))
            break;
        if (jt)
            keep_row(jt, t, id);
    }
    free(first);
    rs_tsv_close(t);
    return rc == RS_ERR_EOF ? 0 : rc;
}

int rs_jointable_write_row(const struct rs_jointable *jt, size_t r, struct rs_writer *w)
{
    RS_ASSERT(r < jt->nrows);
    const char *row = jt->text + jt->off[r];
    return rs_writer_write(w, row, strlen(row)); /* escaped when kept */
}

void rs_jointable_free(struct rs_jointable *jt)
{
    for (size_t c = 0; c < jt->ncols; c++)
        free(jt->names[c]);
    free(jt->names);
    free(jt->text);
    free(jt->off);
    free(jt->id);
    memset(jt, 0, sizeof *jt);
}
