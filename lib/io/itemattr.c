/* itemattr.c - item attribute tables joined by item id (see itemattr.h). */
#include "io/itemattr.h"
#include "core/err.h"
#include "core/strmap.h"
#include "io/io.h"
#include "io/tsv.h"

#include <stdlib.h>
#include <string.h>

/* Makes room for item row `row` in every column. */
static void reserve(struct rs_itemattr *a, size_t row)
{
    if (row < a->cap)
        return;
    size_t cap = a->cap ? a->cap * 2 : 1024;
    while (cap <= row)
        cap *= 2;
    for (size_t c = 0; c < a->ncols; c++) {
        a->val[c] = xrealloc(a->val[c], cap * sizeof *a->val[c]);
        for (size_t i = a->cap; i < cap; i++)
            a->val[c][i] = -1;
    }
    a->cap = cap;
}

/* Reads one table, taking from it each requested column that no earlier
 * table provided (done[c] marks those already taken). */
static int load_table(struct rs_itemattr *a, struct rs_reader *in, const char *item_col, int *done, int flags)
{
    struct rs_tsv *t;
    int rc = rs_tsv_open_reader(&t, in, rs_tsv_flags(rs_reader_name(in), 0)), key;
    if (rc < 0)
        return rc;
    if ((rc = rs_tsv_require(t, item_col, &key)) < 0) {
        rs_tsv_close(t);
        return rc;
    }
    int *own = xmalloc(a->ncols * sizeof *own);
    for (size_t c = 0; c < a->ncols; c++) {
        own[c] = done[c] ? -1 : rs_tsv_col(t, a->names[c]);
        done[c] |= own[c] >= 0;
    }
    while ((rc = rs_tsv_next(t)) == 0) {
        size_t len = rs_tsv_len(t, key);
        if (len == 0) {
            rc = rs_tsv_errf(t, key, "empty item id");
            break;
        }
        int added;
        size_t row = (size_t)rs_strmap_put(a->items, rs_tsv_get(t, key), len, &added);
        if (!added && (flags & RS_ITEMATTR_UNIQUE)) {
            rc = rs_tsv_errf(t, key, "item id '%.64s' given twice", rs_tsv_get(t, key));
            break;
        }
        reserve(a, row);
        for (size_t c = 0; c < a->ncols; c++)
            if (own[c] >= 0)
                a->val[c][row] = (int32_t)rs_strmap_put(a->values[c], rs_tsv_get(t, own[c]),
                                                        rs_tsv_len(t, own[c]), NULL);
    }
    free(own);
    rs_tsv_close(t);
    return rc == RS_ERR_EOF ? 0 : rc;
}

int rs_itemattr_load(struct rs_itemattr *a, const char *const *paths, size_t npaths,
                     const char *item_col, const char *const *cols, size_t ncols, int flags)
{
    struct rs_reader **in = xcalloc(npaths + 1, sizeof *in);
    int rc = 0;
    size_t n = 0;
    while (n < npaths && (rc = rs_reader_open(&in[n], paths[n])) == 0)
        n++;
    if (rc < 0) {
        for (size_t p = 0; p < n; p++)
            rs_reader_close(in[p]);
        memset(a, 0, sizeof *a);
    } else {
        rc = rs_itemattr_read(a, in, npaths, item_col, cols, ncols, flags);
    }
    free(in);
    return rc;
}

int rs_itemattr_read(struct rs_itemattr *a, struct rs_reader *const *in, size_t nin, const char *item_col,
                     const char *const *cols, size_t ncols, int flags)
{
    memset(a, 0, sizeof *a);
    a->items = rs_strmap_new(1024);
    a->ncols = ncols;
    a->names = xcalloc(ncols ? ncols : 1, sizeof *a->names);
    a->values = xcalloc(ncols ? ncols : 1, sizeof *a->values);
    a->val = xcalloc(ncols ? ncols : 1, sizeof *a->val);
    for (size_t c = 0; c < ncols; c++) {
        a->names[c] = xstrdup(cols[c]);
        a->values[c] = rs_strmap_new(64);
    }
    int *done = xcalloc(ncols ? ncols : 1, sizeof *done), rc = 0;
    for (size_t p = 0; p < nin; p++) {
        if (rc == 0)
            rc = load_table(a, in[p], item_col, done, flags);
        else
            rs_reader_close(in[p]); /* not read after an error */
    }
    for (size_t c = 0; c < ncols && rc == 0; c++)
        if (!done[c])
            rc = rs_err_set(RS_ERR_FORMAT, "no item table has a column '%s'", cols[c]);
    free(done);
    if (rc < 0)
        rs_itemattr_free(a);
    return rc;
}

void rs_itemattr_free(struct rs_itemattr *a)
{
    for (size_t c = 0; c < a->ncols; c++) {
        free(a->names[c]);
        rs_strmap_free(a->values[c]);
        free(a->val[c]);
    }
    free(a->names);
    free(a->values);
    free(a->val);
    rs_strmap_free(a->items);
    memset(a, 0, sizeof *a);
}

int rs_itemattr_col(const struct rs_itemattr *a, const char *name)
{
    for (size_t c = 0; c < a->ncols; c++)
        if (strcmp(a->names[c], name) == 0)
            return (int)c;
    return -1;
}

int32_t rs_itemattr_get(const struct rs_itemattr *a, int c, const char *key, size_t len)
{
    int64_t row = rs_strmap_get(a->items, key, len);
    return row < 0 ? -1 : a->val[c][row];
}

int32_t rs_itemattr_value(const struct rs_itemattr *a, int c, const char *value, size_t len)
{
    return (int32_t)rs_strmap_get(a->values[c], value, len);
}
