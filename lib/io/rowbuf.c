/* rowbuf.c - copies of consecutive table rows (see rowbuf.h). */
#include "io/rowbuf.h"
#include "core/err.h"
#include "io/tsv.h"

#include <stdlib.h>
#include <string.h>

void rs_rowbuf_init(struct rs_rowbuf *b, size_t ncols)
{
    memset(b, 0, sizeof *b);
    b->ncols = ncols;
}

void rs_rowbuf_free(struct rs_rowbuf *b)
{
    free(b->buf);
    free(b->off);
    memset(b, 0, sizeof *b);
}

size_t rs_rowbuf_add(struct rs_rowbuf *b, const struct rs_tsv *t)
{
    RS_ASSERT(rs_tsv_ncols(t) == b->ncols);
    if (b->nrows == b->rowcap) {
        b->rowcap = b->rowcap ? 2 * b->rowcap : 256;
        b->off = xrealloc(b->off, b->rowcap * (b->ncols ? b->ncols : 1) * sizeof *b->off);
    }
    for (size_t i = 0; i < b->ncols; i++) {
        size_t n = rs_tsv_len(t, (int)i);
        if (b->len + n + 1 > b->cap) {
            b->cap = 2 * (b->len + n + 1);
            b->buf = xrealloc(b->buf, b->cap);
        }
        memcpy(b->buf + b->len, rs_tsv_get(t, (int)i), n + 1);
        b->off[b->nrows * b->ncols + i] = b->len;
        b->len += n + 1;
    }
    return b->nrows++;
}

const char *rs_rowbuf_get(const struct rs_rowbuf *b, size_t row, size_t col)
{
    return b->buf + b->off[row * b->ncols + col];
}

void rs_rowbuf_clear(struct rs_rowbuf *b)
{
    b->nrows = b->len = 0;
}
