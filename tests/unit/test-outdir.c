/* test-outdir.c - staged directory outputs: a new directory appears whole,
 * an existing one gets its files replaced and keeps the others, an abort
 * leaves nothing, and a path that is a file is refused. */
#include "core/err.h"
#include "io/io.h"
#include "io/outdir.h"
#include "tap.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[] = "/tmp/test-outdir-XXXXXX";

static int write_file(struct rs_outdir *d, const char *name, const char *text)
{
    struct rs_writer *w;
    int rc = rs_writer_open(&w, rs_outdir_path(d, name), 0, 0);
    if (rc == 0)
        rc = rs_writer_printf(w, "%s", text);
    return rc == 0 ? rs_writer_close(w) : rc;
}

static char *slurp(const char *path)
{
    static char buf[256];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Entries of root other than . and .. */
static int entries(void)
{
    DIR *dir = opendir(root);
    int n = 0;
    for (struct dirent *e; (e = readdir(dir));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(dir);
    return n;
}

int main(void)
{
    RS_ASSERT(mkdtemp(root));
    char out[128], path[192];
    snprintf(out, sizeof out, "%s/out", root);

    struct rs_outdir *d;
    is_int(rs_outdir_open(&d, out), 0, "open a new directory");
    is_int(write_file(d, "a.tsv", "one\n"), 0, "stage a.tsv");
    is_int(write_file(d, "b.tsv", "two\n"), 0, "stage b.tsv");
    struct stat st;
    ok(stat(out, &st) < 0, "nothing at the target before commit");
    is_int(rs_outdir_commit(d), 0, "commit");
    snprintf(path, sizeof path, "%s/a.tsv", out);
    is_str(slurp(path), "one\n", "a.tsv in place");
    ok(stat(out, &st) == 0 && (st.st_mode & 0777) != 0700, "the directory has the usual mode, not mkdtemp's");
    is_int(entries(), 1, "no staging directory left");

    snprintf(path, sizeof path, "%s/keep.txt", out);
    FILE *f = fopen(path, "w");
    fputs("mine\n", f);
    fclose(f);
    is_int(rs_outdir_open(&d, out), 0, "open an existing directory");
    is_int(write_file(d, "a.tsv", "new\n"), 0, "stage a new a.tsv");
    is_int(rs_outdir_commit(d), 0, "commit into it");
    snprintf(path, sizeof path, "%s/a.tsv", out);
    is_str(slurp(path), "new\n", "a.tsv replaced");
    snprintf(path, sizeof path, "%s/keep.txt", out);
    is_str(slurp(path), "mine\n", "other files kept");
    is_int(entries(), 1, "no staging directory left");

    snprintf(out, sizeof out, "%s/never", root);
    is_int(rs_outdir_open(&d, out), 0, "open another");
    is_int(write_file(d, "a.tsv", "x\n"), 0, "stage");
    rs_outdir_abort(d);
    ok(stat(out, &st) < 0, "abort: the target never appears");
    is_int(entries(), 1, "abort: no staging directory left");
    rs_outdir_abort(NULL);

    snprintf(path, sizeof path, "%s/out/keep.txt", root);
    is_int(rs_outdir_open(&d, path), RS_ERR_IO, "a regular file as the directory is refused");
    ok(strstr(rs_err_msg(), "Not a directory") != NULL, "message: %s", rs_err_msg());
    snprintf(path, sizeof path, "%s/no/such/dir", root);
    is_int(rs_outdir_open(&d, path), RS_ERR_IO, "a missing parent is an error");
    ok(strstr(rs_err_msg(), "cannot create") != NULL, "message: %s", rs_err_msg());

    snprintf(path, sizeof path, "rm -rf '%s'", root);
    RS_ASSERT(system(path) == 0);
    return done_testing();
}
