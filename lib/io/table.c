/* table.c - text tables as TSV or aligned columns (table.h). */
#include "io/table.h"
#include "core/err.h"
#include "core/num.h"
#include "io/io.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rs_table {
    size_t ncols, ncells, cap;
    char **cells; /* row-major; the header is row 0 */
};

struct rs_table *rs_table_new(size_t ncols, const char *const *header)
{
    RS_ASSERT(ncols > 0);
    struct rs_table *t = xcalloc(1, sizeof *t);
    t->ncols = ncols;
    for (size_t c = 0; c < ncols; c++)
        rs_table_add(t, header[c]);
    return t;
}

void rs_table_add(struct rs_table *t, const char *cell)
{
    if (t->ncells == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->cells = xrealloc(t->cells, t->cap * sizeof *t->cells);
    }
    t->cells[t->ncells++] = xstrdup(cell ? cell : "");
}

void rs_table_addf(struct rs_table *t, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    rs_table_add(t, buf);
}

size_t rs_table_rows(const struct rs_table *t)
{
    return (t->ncells + t->ncols - 1) / t->ncols - 1;
}

static const char *cell(const struct rs_table *t, size_t r, size_t c)
{
    size_t k = r * t->ncols + c;
    return k < t->ncells ? t->cells[k] : "";
}

/* Numbers line up by their right end. */
static int is_number(const char *s)
{
    double v;
    return *s && rs_num_f64(s, strlen(s), &v) == 0;
}

static int pad(struct rs_writer *w, size_t n)
{
    int rc = 0;
    while (n-- > 0)
        rc |= rs_writer_putc(w, ' ');
    return rc;
}

static int write_aligned(const struct rs_table *t, struct rs_writer *w, size_t nrows)
{
    size_t *width = xcalloc(t->ncols, sizeof *width);
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t n = strlen(cell(t, r, c));
            width[c] = n > width[c] ? n : width[c];
        }
    int rc = 0;
    for (size_t r = 0; r < nrows && rc == 0; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = cell(t, r, c);
            size_t gap = width[c] - strlen(s);
            int right = r > 0 && c + 1 < t->ncols && is_number(s); /* a last column stays ragged */
            if (c > 0)
                rc |= pad(w, 2);
            if (right)
                rc |= pad(w, gap);
            rc |= rs_writer_put_text(w, s);
            if (!right && c + 1 < t->ncols)
                rc |= pad(w, gap);
        }
        rc |= rs_writer_putc(w, '\n');
    }
    free(width);
    return rc;
}

int rs_table_write(const struct rs_table *t, struct rs_writer *w, int tsv)
{
    size_t nrows = rs_table_rows(t) + 1;
    if (!tsv)
        return write_aligned(t, w, nrows);
    int rc = 0;
    for (size_t r = 0; r < nrows && rc == 0; r++) {
        for (size_t c = 0; c < t->ncols; c++)
            rc |= (c ? rs_writer_putc(w, '\t') : 0) | rs_writer_put_text(w, cell(t, r, c));
        rc |= rs_writer_putc(w, '\n');
    }
    return rc;
}

void rs_table_free(struct rs_table *t)
{
    if (!t)
        return;
    for (size_t k = 0; k < t->ncells; k++)
        free(t->cells[k]);
    free(t->cells);
    free(t);
}
