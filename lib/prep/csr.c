/* csr.c - CSR sparse matrices: triplets -> CSR by a counting sort on rows,
 * then a sort of each row by column that keeps input order among equal
 * columns, so duplicates are summed in a fixed order. */
#include "prep/csr.h"
#include "core/err.h"
#include "core/strmap.h"
#include "io/tsv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void rs_coo_init(struct rs_coo *c)
{
    memset(c, 0, sizeof *c);
}

void rs_coo_free(struct rs_coo *c)
{
    free(c->row);
    free(c->col);
    free(c->val);
    memset(c, 0, sizeof *c);
}

void rs_coo_add(struct rs_coo *c, uint32_t row, uint32_t col, float val)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 1024;
        c->row = xrealloc(c->row, c->cap * sizeof *c->row);
        c->col = xrealloc(c->col, c->cap * sizeof *c->col);
        c->val = xrealloc(c->val, c->cap * sizeof *c->val);
    }
    c->row[c->n] = row;
    c->col[c->n] = col;
    c->val[c->n] = val;
    c->n++;
}

/* Sorts one row's (col, val) pairs by col, stably: insertion sort for the
 * short rows that dominate, merge sort through tmp for long ones. */
static void sort_row(uint32_t *col, float *val, size_t n, uint32_t *tcol, float *tval)
{
    if (n <= 32) {
        for (size_t i = 1; i < n; i++) {
            uint32_t c = col[i];
            float v = val[i];
            size_t j = i;
            for (; j > 0 && col[j - 1] > c; j--) {
                col[j] = col[j - 1];
                val[j] = val[j - 1];
            }
            col[j] = c;
            val[j] = v;
        }
        return;
    }
    size_t h = n / 2;
    sort_row(col, val, h, tcol, tval);
    sort_row(col + h, val + h, n - h, tcol, tval);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        int left = col[i] <= col[j];
        tcol[k] = left ? col[i] : col[j];
        tval[k++] = left ? val[i++] : val[j++];
    }
    while (i < h) {
        tcol[k] = col[i];
        tval[k++] = val[i++];
    }
    while (j < n) {
        tcol[k] = col[j];
        tval[k++] = val[j++];
    }
    memcpy(col, tcol, n * sizeof *col);
    memcpy(val, tval, n * sizeof *val);
}

void rs_csr_from_coo(struct rs_csr *m, const struct rs_coo *c, size_t nrows, size_t ncols)
{
    m->nrows = nrows;
    m->ncols = ncols;
    m->indptr = xcalloc(nrows + 1, sizeof *m->indptr);
    for (size_t k = 0; k < c->n; k++) {
        RS_ASSERT(c->row[k] < nrows && c->col[k] < ncols);
        m->indptr[c->row[k] + 1]++;
    }
    for (size_t r = 0; r < nrows; r++)
        m->indptr[r + 1] += m->indptr[r];
    uint32_t *col = xmalloc((c->n ? c->n : 1) * sizeof *col);
    float *val = xmalloc((c->n ? c->n : 1) * sizeof *val);
    uint64_t *fill = xmalloc((nrows + 1) * sizeof *fill);
    memcpy(fill, m->indptr, (nrows + 1) * sizeof *fill);
    for (size_t k = 0; k < c->n; k++) {
        uint64_t at = fill[c->row[k]]++;
        col[at] = c->col[k];
        val[at] = c->val[k];
    }
    free(fill);
    size_t longest = 0;
    for (size_t r = 0; r < nrows; r++)
        if (m->indptr[r + 1] - m->indptr[r] > longest)
            longest = m->indptr[r + 1] - m->indptr[r];
    uint32_t *tcol = xmalloc((longest ? longest : 1) * sizeof *tcol);
    float *tval = xmalloc((longest ? longest : 1) * sizeof *tval);
    /* Sort and merge duplicates in place, compacting rows to the front. */
    size_t out = 0;
    for (size_t r = 0; r < nrows; r++) {
        uint64_t b = m->indptr[r], e = m->indptr[r + 1];
        sort_row(col + b, val + b, e - b, tcol, tval);
        m->indptr[r] = out;
        for (uint64_t k = b; k < e; k++) {
            if (out > m->indptr[r] && col[out - 1] == col[k]) {
                val[out - 1] += val[k];
            } else {
                col[out] = col[k];
                val[out++] = val[k];
            }
        }
    }
    m->indptr[nrows] = out;
    free(tcol);
    free(tval);
    m->nnz = out;
    m->indices = xrealloc(col, (out ? out : 1) * sizeof *col);
    m->data = xrealloc(val, (out ? out : 1) * sizeof *val);
}

void rs_csr_transpose(struct rs_csr *t, const struct rs_csr *m)
{
    t->nrows = m->ncols;
    t->ncols = m->nrows;
    t->nnz = m->nnz;
    t->indptr = xcalloc(t->nrows + 1, sizeof *t->indptr);
    t->indices = xmalloc((m->nnz ? m->nnz : 1) * sizeof *t->indices);
    t->data = xmalloc((m->nnz ? m->nnz : 1) * sizeof *t->data);
    for (size_t k = 0; k < m->nnz; k++)
        t->indptr[m->indices[k] + 1]++;
    for (size_t r = 0; r < t->nrows; r++)
        t->indptr[r + 1] += t->indptr[r];
    uint64_t *fill = xmalloc((t->nrows + 1) * sizeof *fill);
    memcpy(fill, t->indptr, (t->nrows + 1) * sizeof *fill);
    /* Walking m's rows in order makes each row of t ascending. */
    for (size_t r = 0; r < m->nrows; r++)
        for (uint64_t k = m->indptr[r]; k < m->indptr[r + 1]; k++) {
            uint64_t at = fill[m->indices[k]]++;
            t->indices[at] = (uint32_t)r;
            t->data[at] = m->data[k];
        }
    free(fill);
}

void rs_csr_copy(struct rs_csr *dst, const struct rs_csr *src)
{
    *dst = *src;
    dst->indptr = xmalloc((src->nrows + 1) * sizeof *dst->indptr);
    dst->indices = xmalloc((src->nnz ? src->nnz : 1) * sizeof *dst->indices);
    dst->data = xmalloc((src->nnz ? src->nnz : 1) * sizeof *dst->data);
    memcpy(dst->indptr, src->indptr, (src->nrows + 1) * sizeof *dst->indptr);
    memcpy(dst->indices, src->indices, src->nnz * sizeof *dst->indices);
    memcpy(dst->data, src->data, src->nnz * sizeof *dst->data);
}

void rs_csr_prune_zeros(struct rs_csr *m)
{
    size_t out = 0;
    for (size_t r = 0; r < m->nrows; r++) {
        uint64_t b = m->indptr[r], e = m->indptr[r + 1];
        m->indptr[r] = out;
        for (uint64_t k = b; k < e; k++)
            if (m->data[k] != 0) {
                m->indices[out] = m->indices[k];
                m->data[out++] = m->data[k];
            }
    }
    m->indptr[m->nrows] = out;
    m->nnz = out;
}

void rs_csr_free(struct rs_csr *m)
{
    free(m->indptr);
    free(m->indices);
    free(m->data);
    memset(m, 0, sizeof *m);
}

/* 1 if value is one of the comma-separated words in list. */
static int in_list(const char *list, const char *value, size_t n)
{
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && memcmp(p, value, n) == 0)
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

static int intern(struct rs_tsv *t, int col, struct rs_strmap *m, size_t max_id, uint32_t *id)
{
    size_t n = rs_tsv_len(t, col);
    if (n == 0)
        return rs_tsv_errf(t, col, "empty id");
    if (max_id && n > max_id)
        return rs_tsv_errf(t, col, "id of %zu bytes (at most %zu)", n, max_id);
    int64_t v = rs_strmap_put(m, rs_tsv_get(t, col), n, NULL);
    if (v >= (int64_t)UINT32_MAX)
        return rs_tsv_errf(t, col, "more than %u distinct ids", UINT32_MAX - 1);
    *id = (uint32_t)v;
    return 0;
}

static int read_rows(struct rs_tsv *t, struct rs_coo *c, struct rs_strmap *users,
                     struct rs_strmap *items, const struct rs_events_spec *spec)
{
    int ucol, icol, ecol = -1, wcol = -1, rc;
    if ((rc = rs_tsv_require(t, spec->user_col, &ucol)) < 0 ||
        (rc = rs_tsv_require(t, spec->item_col, &icol)) < 0 ||
        (spec->weight_col && (rc = rs_tsv_require(t, spec->weight_col, &wcol)) < 0))
        return rc;
    if (spec->positive && (rc = rs_tsv_event_col(t, spec->event_col, spec->event_required, &ecol)) < 0)
        return rc;
    while ((rc = rs_tsv_next(t)) == 0) {
        size_t evn;
        const char *ev = rs_tsv_event(t, ecol, &evn);
        if (spec->positive && !in_list(spec->positive, ev, evn))
            continue;
        float w = 1.0f;
        if (wcol >= 0) {
            if ((rc = rs_tsv_get_f32(t, wcol, &w)) < 0)
                return rc;
            if (w < 0)
                return rs_tsv_errf(t, wcol, "expected a weight >= 0, got '%s'", rs_tsv_get(t, wcol));
        }
        uint32_t u, i;
        if ((rc = intern(t, ucol, users, spec->max_id, &u)) < 0 ||
            (rc = intern(t, icol, items, spec->max_id, &i)) < 0)
            return rc;
        rs_coo_add(c, u, i, w);
    }
    return rc == RS_ERR_EOF ? 0 : rc;
}

int rs_coo_read_events(struct rs_coo *c, struct rs_strmap *users, struct rs_strmap *items,
                       const char *path, const struct rs_events_spec *spec)
{
    struct rs_tsv *t;
    int rc = rs_tsv_open(&t, path, spec->csv ? RS_TSV_CSV : 0);
    if (rc < 0)
        return rc;
    if (rs_tsv_ncols(t) > 0)
        rc = read_rows(t, c, users, items, spec);
    rs_tsv_close(t);
    return rc;
}

int rs_coo_read_paths(struct rs_coo *c, struct rs_strmap *users, struct rs_strmap *items, char *const *paths,
                      size_t npaths, const struct rs_events_spec *spec)
{
    int rc = 0, stdin_used = 0;
    for (size_t i = 0; rc == 0 && i < (npaths ? npaths : 1); i++) {
        const char *path = npaths ? paths[i] : "-";
        if (strcmp(path, "-") == 0 && stdin_used++)
            rc = rs_err_set(RS_ERR_USAGE, "stdin named twice");
        else
            rc = rs_coo_read_events(c, users, items, path, spec);
    }
    return rc;
}

int rs_csr_read_events(struct rs_csr *m, struct rs_strmap *users, struct rs_strmap *items, char *const *paths,
                       size_t npaths, const struct rs_events_spec *spec)
{
    struct rs_coo c;
    rs_coo_init(&c);
    int rc = rs_coo_read_paths(&c, users, items, paths, npaths, spec);
    memset(m, 0, sizeof *m);
    if (rc == 0)
        rs_csr_from_coo(m, &c, rs_strmap_size(users), rs_strmap_size(items));
    rs_coo_free(&c);
    return rc;
}
