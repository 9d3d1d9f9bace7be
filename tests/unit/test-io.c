/* test-io.c - readers (plain, zstd, concatenated frames, truncation, a tee,
 * another name) and atomic writers. */
#include "core/err.h"
#include "io/io.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

static char dir[] = "/tmp/rs-test-io-XXXXXX";

static char *path(const char *name)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return buf;
}

static void write_file(const char *p, const void *data, size_t n)
{
    FILE *f = fopen(p, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

static size_t file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (size_t)st.st_size : 0;
}

/* Reads every line of p; returns the count, or < 0 with the error. */
static long count_lines(const char *p, unsigned long long *sum)
{
    struct rs_reader *r;
    int rc = rs_reader_open(&r, p);
    if (rc < 0)
        return rc;
    char *line;
    size_t len;
    long n = 0;
    *sum = 0;
    while ((rc = rs_reader_getline(r, &line, &len)) == 0) {
        n++;
        *sum += strtoull(line, NULL, 10);
    }
    rs_reader_close(r);
    return rc == RS_ERR_EOF ? n : rc;
}

static void test_roundtrip(void)
{
    /* ~20 MB of numbered lines through a .zst writer and back. */
    struct rs_writer *w;
    is_int(rs_writer_open(&w, path("big.tsv.zst"), 0, 1), 0, "open .zst writer");
    unsigned long long want = 0;
    long n = 2000000;
    for (long i = 0; i < n; i++) {
        rs_writer_printf(w, "%ld\tsome text to compress\n", i);
        want += (unsigned long long)i;
    }
    is_int(rs_writer_close(w), 0, "close .zst writer");
    ok(access(path("big.tsv.zst"), F_OK) == 0, "output renamed into place");
    unsigned char magic[4];
    FILE *f = fopen(path("big.tsv.zst"), "rb");
    ok(f && fread(magic, 1, 4, f) == 4 && magic[0] == 0x28 && magic[3] == 0xFD, "output is a zstd frame");
    if (f)
        fclose(f);
    unsigned long long sum;
    is_int(count_lines(path("big.tsv.zst"), &sum), n, "all lines read back");
    ok(sum == want, "line contents read back");
    ok(file_size(path("big.tsv.zst")) < 44u * 1000000 / 4, "compressed smaller than a quarter");
}

static void test_concat_and_truncated(void)
{
    const char a[] = "1\n2\n", b[] = "3\n4";
    size_t cap = ZSTD_compressBound(16);
    char *fa = malloc(cap), *fb = malloc(cap), *both = malloc(2 * cap);
    size_t na = ZSTD_compress(fa, cap, a, strlen(a), 3), nb = ZSTD_compress(fb, cap, b, strlen(b), 3);
    memcpy(both, fa, na);
    memcpy(both + na, fb, nb);
    write_file(path("cat.zst"), both, na + nb);
    unsigned long long sum;
    is_int(count_lines(path("cat.zst"), &sum), 4, "concatenated frames: 4 lines");
    is_int(sum, 10, "concatenated frames: contents, last line without newline");

    write_file(path("trunc.zst"), both, na + nb - 3);
    long rc = count_lines(path("trunc.zst"), &sum);
    is_int(rc, RS_ERR_CORRUPT, "truncated zstd stream is an error");
    ok(strstr(rs_err_msg(), "truncated zstd stream") && strstr(rs_err_msg(), "trunc.zst"),
       "message names the file: %s", rs_err_msg());

    both[na + 5] ^= 0x55;
    write_file(path("flip.zst"), both, na + nb);
    ok(count_lines(path("flip.zst"), &sum) < 0, "corrupt zstd frame is an error");
    free(fa);
    free(fb);
    free(both);
}

static void test_plain_and_long_lines(void)
{
    size_t n = 3u << 20;
    char *big = malloc(n + 3);
    memset(big, 'x', n);
    memcpy(big + n, "\r\n7", 3);
    write_file(path("long.txt"), big, n + 3);
    struct rs_reader *r;
    rs_reader_open(&r, path("long.txt"));
    char *line;
    size_t len;
    is_int(rs_reader_getline(r, &line, &len), 0, "long line read");
    is_int(len, n, "3 MiB line, CR stripped");
    is_int(rs_reader_getline(r, &line, &len), 0, "last line without newline");
    is_str(line, "7", "last line contents");
    is_int(rs_reader_getline(r, &line, &len), RS_ERR_EOF, "then end of input");
    rs_reader_close(r);
    free(big);

    write_file(path("nul.txt"), "ab\ncd\0ef\ngh\n", 12);
    rs_reader_open(&r, path("nul.txt"));
    rs_reader_getline(r, &line, &len);
    is_int(rs_reader_getline(r, &line, &len), 0, "line with a NUL read");
    ok(len == 3 && memcmp(line, "cd", 3) == 0, "cut just after its NUL (len %zu)", len);
    rs_reader_close(r);

    write_file(path("empty"), "", 0);
    rs_reader_open(&r, path("empty"));
    is_int(rs_reader_getline(r, &line, &len), RS_ERR_EOF, "empty file: no lines");
    rs_reader_close(r);
    is_int(rs_reader_open(&r, path("missing")), RS_ERR_IO, "missing file is RS_ERR_IO");
    ok(strstr(rs_err_msg(), "cannot open") && strstr(rs_err_msg(), "No such file"), "message: %s",
       rs_err_msg());
}

static void test_atomic_writer(void)
{
    write_file(path("out.tsv"), "old\n", 4);
    struct rs_writer *w;
    rs_writer_open(&w, path("out.tsv"), 0, 0);
    rs_writer_printf(w, "new\n");
    is_int(file_size(path("out.tsv")), 4, "previous output intact while writing");
    rs_writer_abort(w);
    is_int(file_size(path("out.tsv")), 4, "abort keeps the previous output");
    rs_writer_open(&w, path("out.tsv"), 0, 0);
    rs_writer_put_field(w, "a\tb\\c\nd", 7);
    is_int(rs_writer_close(w), 0, "close succeeds");
    unsigned long long sum;
    (void)sum;
    FILE *f = fopen(path("out.tsv"), "r");
    char got[64] = "";
    fgets(got, sizeof got, f);
    fclose(f);
    is_str(got, "a\\tb\\\\c\\nd", "put_field escapes tab, backslash, newline");

    rs_writer_open(&w, "/dev/full", 0, 0);
    for (int i = 0; i < 100000; i++)
        rs_writer_printf(w, "%d\n", i);
    ok(rs_writer_close(w) == RS_ERR_IO && strstr(rs_err_msg(), "No space"), "ENOSPC reported: %s",
       rs_err_msg());

    ok(rs_writer_open(&w, "/nonexistent-dir/x", 0, 0) == RS_ERR_IO, "unwritable directory reported");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp", dir);
    FILE *p = popen(cmd, "r");
    int leftovers = -1;
    if (fscanf(p, "%d", &leftovers) != 1)
        leftovers = -1;
    pclose(p);
    is_int(leftovers, 0, "no temporary files left behind");
}

/* A tee gets every decoded byte, peeked ones included, once each. */
static void test_tee_and_name(void)
{
    struct rs_writer *w;
    size_t bytes = 0;
    rs_writer_open(&w, path("src.zst"), 0, 0);
    for (int i = 0; i < 50000; i++) {
        rs_writer_printf(w, "line %d\n", i);
        bytes += (size_t)snprintf(NULL, 0, "line %d\n", i);
    }
    rs_writer_close(w);
    struct rs_reader *r;
    const unsigned char *p;
    size_t avail;
    char *line;
    size_t len;
    rs_reader_open(&r, path("src.zst"));
    rs_writer_open(&w, path("copy.txt"), 0, 0);
    is_int(rs_reader_tee(r, w), 0, "tee set after open");
    rs_reader_peek(r, 4, &p, &avail);
    rs_reader_getline(r, &line, &len);
    is_str(line, "line 0", "reading goes on as before");
    while (rs_reader_getline(r, &line, &len) == 0)
        ;
    rs_reader_set_name(r, "the input");
    is_str(rs_reader_name(r), "the input", "another name for messages");
    rs_reader_close(r);
    is_int(rs_writer_close(w), 0, "tee written");
    unsigned long long sum;
    is_int(count_lines(path("copy.txt"), &sum), 50000, "the tee holds every line, decoded, once");
    is_int(file_size(path("copy.txt")), bytes, "and nothing else");
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    test_roundtrip();
    test_concat_and_truncated();
    test_plain_and_long_lines();
    test_atomic_writer();
    test_tee_and_name();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return done_testing();
}
