/* outdir.c - staged multi-file outputs (see outdir.h). When dir does not
 * exist yet, the staging directory itself is renamed to it: one atomic
 * step. Otherwise each staged file is renamed over its namesake (renames
 * only, after every file was complete). */
#include "io/outdir.h"

#include "core/err.h"
#include "io/io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct rs_outdir {
    char *dir, *stage;
    char **names, **paths; /* paths: the staged files, registered with rs_io_temp_add until d is freed */
    size_t n, cap;
    char *buf;
};

int rs_outdir_open(struct rs_outdir **dp, const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
        return rs_err_set(RS_ERR_IO, "cannot write into '%s': Not a directory", dir);
    struct rs_outdir *d = xcalloc(1, sizeof *d);
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    d->dir = xstrndup(dir, n);
    d->stage = xmalloc(n + 16);
    snprintf(d->stage, n + 16, "%s.tmp.XXXXXX", d->dir);
    if (!mkdtemp(d->stage)) {
        int rc = rs_err_set(RS_ERR_IO, "cannot create '%s': %s", d->stage, strerror(errno));
        free(d->dir);
        free(d->stage);
        free(d);
        return rc;
    }
    /* mkdtemp makes it 0700; the final directory gets the usual mode. */
    mode_t mask = umask(0);
    umask(mask);
    chmod(d->stage, 0777 & ~mask);
    rs_io_temp_add(d->stage);
    *dp = d;
    return 0;
}

static const char *join(struct rs_outdir *d, const char *dir, const char *name)
{
    free(d->buf);
    size_t n = strlen(dir) + strlen(name) + 2;
    d->buf = xmalloc(n);
    snprintf(d->buf, n, "%s/%s", dir, name);
    return d->buf;
}

const char *rs_outdir_path(struct rs_outdir *d, const char *name)
{
    RS_ASSERT(!strchr(name, '/'));
    size_t k;
    for (k = 0; k < d->n && strcmp(d->names[k], name) != 0; k++)
        ;
    if (k == d->n) {
        if (d->n == d->cap) {
            d->cap = d->cap ? 2 * d->cap : 8;
            d->names = xrealloc(d->names, d->cap * sizeof *d->names);
            d->paths = xrealloc(d->paths, d->cap * sizeof *d->paths);
        }
        d->paths[d->n] = xstrdup(join(d, d->stage, name));
        rs_io_temp_add(d->paths[d->n]);
        d->names[d->n++] = xstrdup(name);
    }
    return join(d, d->stage, name);
}

static void outdir_free(struct rs_outdir *d)
{
    rs_io_temp_drop(d->stage);
    for (size_t k = 0; k < d->n; k++) {
        rs_io_temp_drop(d->paths[k]);
        free(d->names[k]), free(d->paths[k]);
    }
    free(d->names);
    free(d->paths);
    free(d->dir);
    free(d->stage);
    free(d->buf);
    free(d);
}

/* The files under their final names, for the run store (rs_io_note). */
static void note_committed(struct rs_outdir *d)
{
    for (size_t k = 0; k < d->n; k++)
        rs_io_note(RS_IO_WRITTEN, join(d, d->dir, d->names[k]));
}

int rs_outdir_commit(struct rs_outdir *d)
{
    struct stat st;
    int rc = 0;
    if (stat(d->dir, &st) < 0) {
        if (rename(d->stage, d->dir) == 0) {
            note_committed(d);
            outdir_free(d);
            return 0;
        }
        rc = rs_err_set(RS_ERR_IO, "cannot create '%s': %s", d->dir, strerror(errno));
    }
    for (size_t k = 0; rc == 0 && k < d->n; k++) {
        char *from = xstrdup(join(d, d->stage, d->names[k]));
        const char *to = join(d, d->dir, d->names[k]);
        if (rename(from, to) < 0)
            rc = rs_err_set(RS_ERR_IO, "cannot rename '%s' to '%s': %s", from, to, strerror(errno));
        free(from);
    }
    if (rc < 0) {
        rs_outdir_abort(d);
        return rc;
    }
    rmdir(d->stage);
    note_committed(d);
    outdir_free(d);
    return 0;
}

void rs_outdir_abort(struct rs_outdir *d)
{
    if (!d)
        return;
    for (size_t k = 0; k < d->n; k++)
        unlink(join(d, d->stage, d->names[k]));
    rmdir(d->stage);
    outdir_free(d);
}
