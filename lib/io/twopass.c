/* twopass.c - a second pass over a file, or over a spool of a pipe. */
#include "io/twopass.h"
#include "core/err.h"
#include "io/io.h"
#include "io/tsv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct rs_twopass {
    char *path;              /* the input, read again when it is a file */
    int flags, csv;
    struct rs_tsv *t;        /* the table of the current pass */
    struct rs_writer *spool; /* first pass over a pipe: the copy being written */
    char *dir, *spool_path;  /* NULL when reading the file twice */
};

static int write_header(struct rs_tsv *t, struct rs_writer *w)
{
    int rc = 0;
    for (size_t c = 0; c < rs_tsv_ncols(t); c++) {
        const char *name = rs_tsv_colname(t, c);
        rc |= (c ? rs_writer_putc(w, '\t') : 0) | rs_writer_put_field(w, name, strlen(name));
    }
    return rs_tsv_ncols(t) ? rc | rs_writer_putc(w, '\n') : rc;
}

static int make_spool(struct rs_twopass *tp)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    size_t n = strlen(tmp) + 32;
    tp->dir = xmalloc(n);
    snprintf(tp->dir, n, "%s/rs-spool.XXXXXX", tmp);
    if (!mkdtemp(tp->dir)) {
        free(tp->dir);
        tp->dir = NULL;
        return rs_err_set(RS_ERR_IO, "cannot create a spool directory in '%s'", tmp);
    }
    tp->spool_path = xmalloc(n + 16);
    snprintf(tp->spool_path, n + 16, "%s/spool.tsv.zst", tp->dir);
    int rc = rs_writer_open(&tp->spool, tp->spool_path, RS_W_ZSTD, 1);
    return rc < 0 ? rc : write_header(tp->t, tp->spool);
}

int rs_twopass_open(struct rs_twopass **out, const char *path, int tsv_flags, struct rs_tsv **t)
{
    *out = NULL;
    if (!path)
        path = "-";
    struct rs_twopass *tp = xcalloc(1, sizeof *tp);
    tp->path = xstrdup(path);
    tp->flags = tsv_flags;
    int rc = rs_tsv_open(&tp->t, path, tsv_flags);
    if (rc < 0) {
        rs_twopass_close(tp);
        return rc;
    }
    struct stat sb;
    tp->csv = (tsv_flags & RS_TSV_CSV) != 0;
    if (strcmp(path, "-") == 0 || stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
        rc = make_spool(tp);
    if (rc < 0) {
        rs_twopass_close(tp);
        return rc;
    }
    *out = tp;
    *t = tp->t;
    return 0;
}

int rs_twopass_next(struct rs_twopass *tp)
{
    int rc = rs_tsv_next(tp->t);
    if (rc < 0 || !tp->spool)
        return rc;
    for (size_t c = 0; c < rs_tsv_ncols(tp->t); c++) {
        const char *f = rs_tsv_get(tp->t, (int)c);
        size_t n = rs_tsv_len(tp->t, (int)c);
        rc |= (c ? rs_writer_putc(tp->spool, '\t') : 0) |
              (tp->csv ? rs_writer_put_field(tp->spool, f, n) : rs_writer_write(tp->spool, f, n));
    }
    return rc | rs_writer_putc(tp->spool, '\n');
}

static void remove_spool(struct rs_twopass *tp)
{
    if (tp->spool_path)
        unlink(tp->spool_path);
    if (tp->dir)
        rmdir(tp->dir);
    free(tp->spool_path);
    free(tp->dir);
    tp->spool_path = tp->dir = NULL;
}

int rs_twopass_rewind(struct rs_twopass *tp, struct rs_tsv **t)
{
    rs_tsv_close(tp->t);
    tp->t = NULL;
    int rc = 0;
    if (tp->spool) {
        rc = rs_writer_close(tp->spool);
        tp->spool = NULL;
        tp->csv = 0;
        if (rc == 0)
            rc = rs_tsv_open(&tp->t, tp->spool_path, 0);
        remove_spool(tp);
    } else {
        rc = rs_tsv_open(&tp->t, tp->path, tp->flags);
    }
    *t = tp->t;
    return rc;
}

int rs_twopass_csv(const struct rs_twopass *tp)
{
    return tp->csv;
}

void rs_twopass_close(struct rs_twopass *tp)
{
    if (!tp)
        return;
    rs_tsv_close(tp->t);
    rs_writer_abort(tp->spool);
    remove_spool(tp);
    free(tp->path);
    free(tp);
}
