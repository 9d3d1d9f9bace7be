/* spool.c - copy a non-seekable input to a temporary file (see spool.h). */
#include "io/spool.h"
#include "core/err.h"
#include "io/io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rs_spool(const char *path, const char *prog, char **tmp)
{
    struct stat st;
    *tmp = NULL;
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
        return 0;
    const char *dir = getenv("TMPDIR");
    dir = dir && *dir ? dir : "/tmp";
    char *name = xmalloc(strlen(dir) + strlen(prog) + 16);
    sprintf(name, "%s/%s-XXXXXX", dir, prog);
    int fd = mkstemp(name);
    if (fd < 0) {
        free(name);
        return rs_err_set(RS_ERR_IO, "cannot create a temporary file in '%s'", dir);
    }
    close(fd);
    *tmp = name;
    struct rs_reader *in;
    struct rs_writer *w;
    int rc = rs_reader_open(&in, path);
    if (rc < 0)
        return rc;
    if ((rc = rs_writer_open(&w, name, RS_W_ZSTD, 1)) < 0) {
        rs_reader_close(in);
        return rc;
    }
    char buf[1 << 16];
    ssize_t n;
    while ((n = rs_reader_read(in, buf, sizeof buf)) > 0 && (rc = rs_writer_write(w, buf, (size_t)n)) == 0)
        ;
    rs_reader_close(in);
    if (n < 0 || rc < 0) {
        rs_writer_abort(w);
        return n < 0 ? (int)n : rc;
    }
    return rs_writer_close(w);
}
