/* test-twopass.c - a second pass over a file, and over the spool of a pipe
 * (TSV, CSV, zstd, a first pass that stops early): the same rows, fields,
 * line numbers and input name; and the spool never outlives its use. */
#include "core/err.h"
#include "tap.h"
#include "io/io.h"
#include "io/tsv.h"
#include "io/twopass.h"

#include <dirent.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/test-twopass.XXXXXX";
static char spool_dir[64];

/* Entries left in the spool directory. */
static int leftovers(void)
{
    DIR *d = opendir(spool_dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* A path that reads n bytes of text through a pipe (not a regular file). */
static const char *pipe_bytes(const void *text, size_t n, int *fds)
{
    static char path[64];
    if (pipe(fds) < 0 || write(fds[1], text, n) != (ssize_t)n)
        return NULL;
    close(fds[1]);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fds[0]);
    return path;
}

static const char *pipe_path(const char *text, int *fds)
{
    return pipe_bytes(text, strlen(text), fds);
}

/* Reads at most max rows of t: fields joined by '|', rows by ';'. */
static void slurp(struct rs_tsv *t, size_t max, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t r = 0; r < max && rs_tsv_next(t) == 0; r++)
        for (size_t c = 0; c < rs_tsv_ncols(t); c++)
            k += (size_t)snprintf(out + k, cap - k, "%s%s", rs_tsv_get(t, (int)c),
                                  c + 1 < rs_tsv_ncols(t) ? "|" : ";");
}

/* Both passes over path give want (the first one stopping after first_rows);
 * spooled: whether a spool is there during the first pass. */
static void check(const char *what, const char *path, int flags, size_t first_rows, const char *want, int spooled)
{
    struct rs_twopass *tp;
    struct rs_tsv *t;
    char a[256], b[256], name[128];
    if (!ok(rs_twopass_open(&tp, path, flags, &t) == 0, "%s: open", what))
        return;
    snprintf(name, sizeof name, "%s", rs_tsv_name(t));
    slurp(t, first_rows, a, sizeof a);
    is_int(leftovers(), spooled, "%s: spool present during the first pass", what);
    ok(rs_twopass_rewind(tp, &t) == 0, "%s: rewind", what);
    is_int(leftovers(), 0, "%s: spool gone once the second pass opened", what);
    is_str(rs_tsv_colname(t, 1), "b", "%s: same header", what);
    is_str(rs_tsv_name(t), name, "%s: the second pass has the input's name", what);
    slurp(t, 100, b, sizeof b);
    is_str(b, want, "%s: every row again", what);
    rs_twopass_close(tp);
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void passes(void)
{
    char path[128];
    int fds[2];
    const char *tsv = "a\tb\n1\tx\\ty\n2\tz\n", *rows = "1|x\ty;2|z;"; /* escapes undone */
    snprintf(path, sizeof path, "%s/t.tsv", dir);
    spit(path, tsv);
    check("file", path, 0, 100, rows, 0);
    check("pipe", pipe_path(tsv, fds), 0, 100, rows, 1);
    close(fds[0]);
    check("pipe, first pass stops after a row", pipe_path(tsv, fds), 0, 1, rows, 1);
    close(fds[0]);

    const char *csv = "a,b\n1,\"x\ty\"\n2,\"two\nlines\"\n";
    snprintf(path, sizeof path, "%s/t.csv", dir);
    spit(path, csv);
    check("CSV file", path, 0, 100, "1|x\ty;2|two\nlines;", 0);
    check("CSV pipe: raw fields in both passes", pipe_path(csv, fds), RS_TSV_CSV, 100, "1|x\ty;2|two\nlines;", 1);
    close(fds[0]);

    /* a zstd stream through a pipe: the spool holds the decoded bytes */
    snprintf(path, sizeof path, "%s/t.tsv.zst", dir);
    struct rs_writer *w;
    if (rs_writer_open(&w, path, 0, 0) == 0 && rs_writer_write(w, tsv, strlen(tsv)) == 0)
        rs_writer_close(w);
    FILE *f = fopen(path, "rb");
    char z[256];
    size_t nz = fread(z, 1, sizeof z, f);
    fclose(f);
    check("zstd pipe", pipe_bytes(z, nz, fds), 0, 100, rows, 1);
    close(fds[0]);
}

/* A bad field in the second pass over a pipe names the input and its line. */
static void second_pass_errors(void)
{
    int fds[2];
    struct rs_twopass *tp;
    struct rs_tsv *t;
    const char *path = pipe_path("a\tb\n1\t2\n3\tx\n", fds);
    char name[64];
    snprintf(name, sizeof name, "%s", path);
    ok(rs_twopass_open(&tp, path, 0, &t) == 0, "errors: open");
    while (rs_tsv_next(t) == 0)
        ;
    ok(rs_twopass_rewind(tp, &t) == 0, "errors: rewind");
    int64_t v;
    rs_tsv_next(t);
    rs_tsv_next(t);
    is_int(rs_tsv_get_i64(t, 1, &v), RS_ERR_FORMAT, "errors: a bad field in the second pass");
    char want[128];
    snprintf(want, sizeof want, "'%s' line 3: column 'b'", name);
    ok(strstr(rs_err_msg(), want) != NULL, "errors: names the input and the line: %s", rs_err_msg());
    rs_twopass_close(tp);
    close(fds[0]);
}

static void lifetimes(void)
{
    int fds[2];
    struct rs_twopass *tp;
    struct rs_tsv *t;
    ok(rs_twopass_open(&tp, pipe_path("a\tb\n1\t2\n", fds), 0, &t) == 0, "pipe closed early: open");
    ok(leftovers() == 1, "pipe closed early: spool exists");
    rs_twopass_close(tp);
    is_int(leftovers(), 0, "pipe closed early: close removes the spool");
    close(fds[0]);
    rs_twopass_close(NULL);

    ok(rs_twopass_open(&tp, pipe_path("", fds), 0, &t) == 0 && rs_tsv_ncols(t) == 0, "empty pipe: no columns");
    ok(rs_twopass_rewind(tp, &t) == 0 && rs_tsv_ncols(t) == 0 && rs_tsv_next(t) == RS_ERR_EOF,
       "empty pipe: empty second pass");
    rs_twopass_close(tp);
    close(fds[0]);

    char path[128];
    snprintf(path, sizeof path, "%s/none.tsv", dir);
    tp = (struct rs_twopass *)1;
    ok(rs_twopass_open(&tp, path, 0, &t) == RS_ERR_IO && tp == NULL, "missing file: RS_ERR_IO");
    ok(strstr(rs_err_msg(), "none.tsv") != NULL, "missing file: message names it");
    is_int(leftovers(), 0, "nothing left behind");
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    snprintf(spool_dir, sizeof spool_dir, "%s/spool", dir);
    mkdir(spool_dir, 0700);
    setenv("TMPDIR", spool_dir, 1);
    passes();
    second_pass_errors();
    lifetimes();
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        ok(0, "clean up");
    return done_testing();
}
