/* twopass.c - a second pass over a file, or over a raw copy of a pipe. */
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
    int flags;               /* rs_tsv flags, CSV by name included */
    struct rs_tsv *t;        /* the table of the current pass */
    struct rs_reader *in;    /* first pass over a pipe: its reader, owned by t */
    struct rs_writer *spool; /* first pass over a pipe: the copy being written */
    char *dir, *spool_path;  /* NULL when reading the file twice */
};

static int is_file(const char *path)
{
    struct stat sb;
    return strcmp(path, "-") != 0 && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
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
    snprintf(tp->spool_path, n + 16, "%s/spool.zst", tp->dir);
    /* A run that dies (exit, signal) before rs_twopass_close leaves no spool in TMPDIR. */
    rs_io_temp_add(tp->dir);
    rs_io_temp_add(tp->spool_path);
    return rs_writer_open(&tp->spool, tp->spool_path, RS_W_ZSTD, 1);
}

/* Opens the table of a pass on src, named name in its messages (NULL: src's
 * own name); the first pass over a pipe copies itself to the spool. */
static int open_pass(struct rs_twopass *tp, const char *src, const char *name)
{
    struct rs_reader *in;
    int rc = rs_reader_open(&in, src);
    if (rc < 0)
        return rc;
    if (name)
        rs_reader_set_name(in, name);
    if (tp->spool && (rc = rs_reader_tee(in, tp->spool)) < 0) {
        rs_reader_close(in);
        return rc;
    }
    rc = rs_tsv_open_reader(&tp->t, in, tp->flags);
    tp->in = rc == 0 && tp->spool ? in : NULL;
    return rc;
}

int rs_twopass_open(struct rs_twopass **out, const char *path, int tsv_flags, struct rs_tsv **t)
{
    *out = NULL;
    if (!path)
        path = "-";
    struct rs_twopass *tp = xcalloc(1, sizeof *tp);
    tp->path = xstrdup(path);
    tp->flags = rs_tsv_flags(path, tsv_flags);
    int rc = is_file(path) ? 0 : make_spool(tp);
    if (rc == 0)
        rc = open_pass(tp, path, NULL);
    if (rc < 0) {
        rs_twopass_close(tp);
        return rc;
    }
    *out = tp;
    *t = tp->t;
    return 0;
}

static void remove_spool(struct rs_twopass *tp)
{
    if (tp->spool_path)
        unlink(tp->spool_path);
    if (tp->dir)
        rmdir(tp->dir);
    rs_io_temp_drop(tp->spool_path);
    rs_io_temp_drop(tp->dir);
    free(tp->spool_path);
    free(tp->dir);
    tp->spool_path = tp->dir = NULL;
}

/* Copies what the first pass left unread, so the spool holds all of it. */
static int drain(struct rs_reader *in)
{
    char buf[1 << 16];
    ssize_t got;
    while ((got = rs_reader_read(in, buf, sizeof buf)) > 0)
        ;
    return (int)got;
}

int rs_twopass_rewind(struct rs_twopass *tp, struct rs_tsv **t)
{
    char *name = xstrdup(rs_tsv_name(tp->t));
    int rc = tp->in ? drain(tp->in) : 0;
    rs_tsv_close(tp->t);
    tp->t = NULL;
    tp->in = NULL;
    if (tp->spool) {
        int closed = rs_writer_close(tp->spool);
        tp->spool = NULL;
        rc = rc < 0 ? rc : closed;
    }
    if (rc == 0)
        rc = open_pass(tp, tp->spool_path ? tp->spool_path : tp->path, name);
    remove_spool(tp); /* an open spool lives on until closed */
    free(name);
    *t = tp->t;
    return rc;
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
