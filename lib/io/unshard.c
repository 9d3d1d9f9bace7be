/* unshard.c - merging shard outputs in the order of their input (unshard.h). */
#include "io/unshard.h"

#include "core/err.h"
#include "core/shard.h"
#include "io/io.h"
#include "io/rsb.h"
#include "io/tsv.h"

#include <stdlib.h>
#include <string.h>

/* One input, TSV or RSB, with its current row (have) and that row's key. */
struct src {
    const char *path;
    struct rs_tsv *t;
    struct rs_rsb_reader *r;
    int col, have, eof;
    const char *key;
    size_t len;
    float *vec;
};

static int src_open(struct src *s, const char *path, const char *col)
{
    struct rs_reader *in;
    const unsigned char *p;
    size_t avail;
    s->path = path;
    int rc = rs_reader_open(&in, path);
    if (rc == 0 && (rc = rs_reader_peek(in, 8, &p, &avail)) < 0)
        rs_reader_close(in);
    if (rc < 0)
        return rc;
    if (rs_rsb_sniff(p, avail)) {
        if ((rc = rs_rsb_open_reader(&s->r, in)) == 0)
            s->vec = xmalloc((rs_rsb_dims(s->r) ? rs_rsb_dims(s->r) : 1) * sizeof *s->vec);
        return rc;
    }
    if ((rc = rs_tsv_open_reader(&s->t, in, 0)) < 0)
        return rc;
    if (rs_tsv_ncols(s->t) == 0) { /* an empty file: no rows */
        s->eof = 1;
        return 0;
    }
    return rs_tsv_require(s->t, col, &s->col);
}

static void src_close(struct src *s)
{
    rs_tsv_close(s->t);
    rs_rsb_close(s->r);
    free(s->vec);
}

/* Reads the next row into s (s->have), or sets s->eof. */
static int src_next(struct src *s)
{
    if (s->have || s->eof)
        return 0;
    int rc = s->r ? rs_rsb_next(s->r, &s->key, &s->len, s->vec) : rs_tsv_next(s->t);
    if (rc == RS_ERR_EOF) {
        s->eof = 1;
        return 0;
    }
    if (rc == 0 && s->t) {
        s->key = rs_tsv_get(s->t, s->col);
        s->len = rs_tsv_len(s->t, s->col);
    }
    s->have = rc == 0;
    return rc;
}

static int same_key(const struct src *s, const char *key, size_t len)
{
    return s->have && s->len == len && memcmp(s->key, key, len) == 0;
}

/* The shards agree with shard 0 on their header, and the output starts
 * with it. */
static int write_header(struct src *sh, size_t n, struct rs_writer *w, struct rs_rsb_writer **rw)
{
    const struct src *a = &sh[0];
    for (size_t i = 1; i < n; i++) {
        const struct src *b = &sh[i];
        if (!a->r != !b->r)
            return rs_err_set(RS_ERR_FORMAT, "'%s' and '%s': one is RSB, the other not", a->path, b->path);
        if (a->r && (rs_rsb_dims(a->r) != rs_rsb_dims(b->r) || rs_rsb_dtype(a->r) != rs_rsb_dtype(b->r) ||
                     strcmp(rs_rsb_meta_text(a->r), rs_rsb_meta_text(b->r)) != 0))
            return rs_err_set(RS_ERR_FORMAT, "'%s' and '%s' differ in dims, type or metadata: not shards of "
                              "one run", a->path, b->path);
        if (a->t && !a->eof && !b->eof) {
            int same = rs_tsv_ncols(a->t) == rs_tsv_ncols(b->t);
            for (size_t c = 0; same && c < rs_tsv_ncols(a->t); c++)
                same = strcmp(rs_tsv_colname(a->t, c), rs_tsv_colname(b->t, c)) == 0;
            if (!same)
                return rs_err_set(RS_ERR_FORMAT, "'%s' and '%s' have different columns: not shards of one run",
                                  a->path, b->path);
        }
    }
    if (a->r)
        return rs_rsb_writer_init(rw, w, rs_rsb_dims(a->r), rs_rsb_dtype(a->r), rs_rsb_meta_text(a->r));
    for (size_t i = 0; i < n; i++)
        if (!sh[i].eof) {
            int rc = 0;
            for (size_t c = 0; c < rs_tsv_ncols(sh[i].t); c++) {
                const char *name = rs_tsv_colname(sh[i].t, c);
                rc |= (c ? rs_writer_putc(w, '\t') : 0) | rs_writer_put_field(w, name, strlen(name));
            }
            return rc | rs_writer_putc(w, '\n');
        }
    return 0; /* every shard is an empty file: so is the output */
}

/* Writes s's current row and reads the next. */
static int take_row(struct src *s, struct rs_writer *w, struct rs_rsb_writer *rw)
{
    int rc = s->r ? rs_rsb_write(rw, s->key, s->len, s->vec) : rs_tsv_write_row(s->t, w);
    s->have = 0;
    return rc < 0 ? rc : src_next(s);
}

/* Shard s's block for key, if its next row has that key. */
static int take_block(struct src *s, const char *key, size_t len, int one_row, struct rs_writer *w,
                      struct rs_rsb_writer *rw)
{
    if (!same_key(s, key, len))
        return 0;
    char *k = xmalloc(len ? len : 1); /* the row buffer moves on */
    memcpy(k, key, len);
    int rc = take_row(s, w, rw);
    while (rc == 0 && !one_row && same_key(s, k, len))
        rc = take_row(s, w, rw);
    free(k);
    return rc;
}

int rs_unshard(struct rs_writer *w, const struct rs_unshard_opts *o, const char *const *paths, size_t n)
{
    struct src ord = { 0 }, *sh = xcalloc(n, sizeof *sh);
    struct rs_rsb_writer *rw = NULL;
    int rc = src_open(&ord, o->order, o->order_col);
    for (size_t i = 0; i < n && rc == 0; i++)
        if ((rc = src_open(&sh[i], paths[i], o->key_col)) == 0)
            rc = src_next(&sh[i]);
    if (rc == 0)
        rc = write_header(sh, n, w, &rw);
    while (rc == 0 && (rc = src_next(&ord)) == 0 && !ord.eof) {
        struct src *s = &sh[rs_shard_of(ord.key, ord.len, (uint32_t)n)];
        rc = take_block(s, ord.key, ord.len, o->one_row, w, rw);
        ord.have = 0;
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        if (sh[i].have)
            rc = rs_err_set(RS_ERR_FORMAT, "'%s': rows of '%.*s' left after the order of '%s' ended: not shard %zu "
                            "of %zu of a run over that order", sh[i].path, (int)(sh[i].len > 200 ? 200 : sh[i].len),
                            sh[i].key, o->order, i, n);
    if (rc == 0 && rw) {
        rc = rs_rsb_writer_finish(rw);
        rw = NULL;
    }
    rs_rsb_writer_free(rw);
    src_close(&ord);
    for (size_t i = 0; i < n; i++)
        src_close(&sh[i]);
    free(sh);
    return rc;
}
