/* rowbuf.h - copies of consecutive table rows, e.g. one user's rows of a
 * stream whose rows are grouped by user (ranked lists, candidates): a tool
 * keeps the current group, processes it when the key changes, clears it.
 * Fields are stored NUL-terminated, back to back, as rs_tsv_get returns them
 * (TSV escapes undone), and written back with rs_writer_put_field.
 */
#ifndef RS_ROWBUF_H
#define RS_ROWBUF_H

#include <stddef.h>

struct rs_tsv;

struct rs_rowbuf {
    size_t ncols, nrows;
    char *buf;   /* the fields */
    size_t len, cap;
    size_t *off; /* off[row * ncols + col] into buf */
    size_t rowcap;
};

/* An empty buffer for rows of ncols fields. */
void rs_rowbuf_init(struct rs_rowbuf *b, size_t ncols);
void rs_rowbuf_free(struct rs_rowbuf *b);
/* Appends a copy of t's current row (t must have b->ncols columns);
 * returns its row index. */
size_t rs_rowbuf_add(struct rs_rowbuf *b, const struct rs_tsv *t);
/* Field col of row (NUL-terminated), valid until the next add or clear. */
const char *rs_rowbuf_get(const struct rs_rowbuf *b, size_t row, size_t col);
/* Forgets the rows, keeping the memory. */
void rs_rowbuf_clear(struct rs_rowbuf *b);

#endif
