/* test-twopass.c - a second pass over a file, and over the spool of a pipe
 * (TSV and CSV), and that the spool never outlives its use. */
#include "core/err.h"
#include "tap.h"
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

/* A path that reads text through a pipe (not a regular file). */
static const char *pipe_path(const char *text, int *fds)
{
    static char path[64];
    if (pipe(fds) < 0 || write(fds[1], text, strlen(text)) != (ssize_t)strlen(text))
        return NULL;
    close(fds[1]);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fds[0]);
    return path;
}

/* Reads all rows of t, fields joined by '|', rows by ';'. */
static void slurp(struct rs_twopass *tp, struct rs_tsv *t, int first, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = '\0';
    while ((first ? rs_twopass_next(tp) : rs_tsv_next(t)) == 0)
        for (size_t c = 0; c < rs_tsv_ncols(t); c++)
            k += (size_t)snprintf(out + k, cap - k, "%s%s", rs_tsv_get(t, (int)c),
                                  c + 1 < rs_tsv_ncols(t) ? "|" : ";");
}

static void check(const char *what, const char *path, int flags, int want_csv, int spooled)
{
    struct rs_twopass *tp;
    struct rs_tsv *t;
    char a[256], b[256];
    ok(rs_twopass_open(&tp, path, flags, &t) == 0, "%s: open", what);
    slurp(tp, t, 1, a, sizeof a);
    is_int(leftovers(), spooled, "%s: spool present during the first pass", what);
    ok(rs_twopass_rewind(tp, &t) == 0, "%s: rewind", what);
    is_int(leftovers(), 0, "%s: spool gone once the second pass opened", what);
    is_str(rs_tsv_colname(t, 1), "b", "%s: same header", what);
    slurp(tp, t, 0, b, sizeof b);
    is_str(b, a, "%s: same rows", what);
    is_int(rs_twopass_csv(tp), want_csv, "%s: CSV fields in the second pass", what);
    rs_twopass_close(tp);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    snprintf(spool_dir, sizeof spool_dir, "%s/spool", dir);
    mkdir(spool_dir, 0700);
    setenv("TMPDIR", spool_dir, 1);

    char path[128];
    snprintf(path, sizeof path, "%s/t.tsv", dir);
    FILE *f = fopen(path, "w");
    fputs("a\tb\n1\tx\\ty\n2\tz\n", f);
    fclose(f);
    check("file", path, 0, 0, 0);

    int fds[2];
    check("pipe", pipe_path("a\tb\n1\tx\\ty\n2\tz\n", fds), 0, 0, 1);
    close(fds[0]);

    snprintf(path, sizeof path, "%s/t.csv", dir);
    f = fopen(path, "w");
    fputs("a,b\n1,\"x\ty\"\n", f);
    fclose(f);
    check("CSV file", path, RS_TSV_CSV, 1, 0);

    struct rs_twopass *tp;
    struct rs_tsv *t;
    char out[256];
    ok(rs_twopass_open(&tp, pipe_path("a,b\n1,\"x\ty\"\n", fds), RS_TSV_CSV, &t) == 0, "CSV pipe: open");
    slurp(tp, t, 1, out, sizeof out);
    is_str(out, "1|x\ty;", "CSV pipe: raw field in the first pass");
    ok(rs_twopass_rewind(tp, &t) == 0, "CSV pipe: rewind");
    slurp(tp, t, 0, out, sizeof out);
    is_str(out, "1|x\\ty;", "CSV pipe: the spool holds the TSV escape");
    is_int(rs_twopass_csv(tp), 0, "CSV pipe: second pass is TSV");
    rs_twopass_close(tp);
    close(fds[0]);

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

    snprintf(path, sizeof path, "%s/none.tsv", dir);
    tp = (struct rs_twopass *)1;
    ok(rs_twopass_open(&tp, path, 0, &t) == RS_ERR_IO && tp == NULL, "missing file: RS_ERR_IO");
    ok(strstr(rs_err_msg(), "none.tsv") != NULL, "missing file: message names it");
    is_int(leftovers(), 0, "nothing left behind");

    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        ok(0, "clean up");
    return done_testing();
}
