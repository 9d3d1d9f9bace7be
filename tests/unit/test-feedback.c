/* test-feedback.c - the feedback log (fblog.c): frames that decode as one
 * stream, a partial last frame cut back, rotation; the served lists' table
 * and its checks (feedback.c); the token buckets (ratelimit.c). */
#include "serve/fblog.h"
#include "serve/feedback.h"
#include "serve/ratelimit.h"
#include "core/err.h"
#include "io/io.h"
#include "tap.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

/* The decoded text of every log file of dir, in name order; their count. */
static char *decode_all(const char *dir, int *files)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    char *text = calloc(1, 1);
    size_t len = 0;
    *files = 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != 'f')
            continue;
        char path[512], buf[1 << 16];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        FILE *f = fopen(path, "rb");
        size_t zn = fread(buf, 1, sizeof buf, f);
        fclose(f);
        char out[1 << 16];
        ZSTD_DCtx *d = ZSTD_createDCtx();
        ZSTD_inBuffer in = { buf, zn, 0 };
        ZSTD_outBuffer o = { out, sizeof out, 0 };
        while (in.pos < in.size && !ZSTD_isError(ZSTD_decompressStream(d, &o, &in)))
            ;
        ZSTD_freeDCtx(d);
        text = realloc(text, len + o.pos + 1);
        memcpy(text + len, out, o.pos);
        len += o.pos;
        text[len] = 0;
        (*files)++;
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return text;
}

int main(void)
{
    char dir[] = "/tmp/test-feedback-XXXXXX";
    ok(mkdtemp(dir) != NULL, "a directory");
    struct rs_fblog *l;
    is_int(rs_fblog_open(&l, dir, "a\tb", 1 << 20, 3600), 0, "opened");
    is_int(rs_fblog_append(l, "1\t2\n", 4), 0, "a batch");
    is_int(rs_fblog_append(l, "3\t4\n5\t6\n", 8), 0, "another");
    rs_fblog_close(l);
    int files;
    char *text = decode_all(dir, &files);
    is_str(text, "a\tb\n1\t2\n3\t4\n5\t6\n", "the frames decode as one stream, header first");
    is_int(files, 1, "one file");
    free(text);

    /* a write cut by a crash: part of one more frame */
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, names[n - 1]->d_name);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    char z[256];
    size_t zn = ZSTD_compress(z, sizeof z, "7\t8\n", 4, 3);
    FILE *f = fopen(path, "ab");
    fwrite(z, 1, zn - 3, f);
    fclose(f);
    uint64_t cut;
    is_int(rs_fblog_repair(path, &cut), 0, "repaired");
    is_int((int)cut, (int)zn - 3, "the partial frame cut off");
    is_int(rs_fblog_repair(path, &cut), 0, "repairing a whole file");
    is_int((int)cut, 0, "cuts nothing");

    /* reopening: a new file; rotation by size */
    is_int(rs_fblog_open(&l, dir, "a\tb", 1, 3600), 0, "opened again, rotating past 1 byte");
    is_int(rs_fblog_append(l, "9\t9\n", 4), 0, "a batch in a new file");
    rs_fblog_close(l);
    text = decode_all(dir, &files);
    is_str(text, "a\tb\n1\t2\n3\t4\n5\t6\na\tb\na\tb\n9\t9\n", "every file whole, each with its header");
    is_int(files, 3, "the old file, the one of the start, the rotated one");
    free(text);

    /* the served lists */
    struct rs_served *t = rs_served_new(2);
    const char *items[] = { "i1", "i2" };
    rs_served_add(t, "00000000000000000000000000000001", "u1", "a", items, 2);
    struct rs_fb_batch b;
    const char *imp = "{\"events\": [{\"request_id\": \"00000000000000000000000000000001\", \"user_id\": \"u1\", "
                      "\"item_id\": \"i2\", \"event\": \"impression\", \"position\": 2}]}";
    is_int(rs_fb_check(t, imp, strlen(imp), 10, 123, &b), 0, "an impression of a list served");
    is_str(b.rows, "u1\ti2\timpression\t123\t00000000000000000000000000000001\t2\ta\t\n", "its row");
    rs_fb_undo(t, &b);
    rs_fb_batch_free(&b);
    is_int(rs_fb_check(t, imp, strlen(imp), 10, 123, &b), 0, "accepted again once undone");
    rs_fb_batch_free(&b);
    ok(rs_fb_check(t, imp, strlen(imp), 10, 123, &b) < 0 && strstr(rs_err_msg(), "recorded already"),
       "the same impression twice: %s", rs_err_msg());
    rs_fb_batch_free(&b);
    rs_served_add(t, "00000000000000000000000000000002", "u2", "a", items, 2);
    rs_served_add(t, "00000000000000000000000000000003", "u3", "a", items, 2);
    ok(rs_fb_check(t, imp, strlen(imp), 10, 123, &b) < 0 && strstr(rs_err_msg(), "unknown, or too old"),
       "a list pushed out of the table is unknown: %s", rs_err_msg());
    rs_fb_batch_free(&b);
    rs_served_free(t);

    /* token buckets: a burst of 3, then 1 a second */
    struct rs_ratelimit *r = rs_ratelimit_new(1, 3);
    int got = 0;
    for (int i = 0; i < 5; i++)
        got += rs_ratelimit_take(r, "a", 1, 100.0);
    is_int(got, 3, "a burst of 3");
    ok(rs_ratelimit_take(r, "b", 1, 100.0), "another client has its own bucket");
    ok(!rs_ratelimit_take(r, "a", 1, 100.5) && rs_ratelimit_take(r, "a", 1, 101.1), "one token back a second");
    rs_ratelimit_free(r);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ok(system(cmd) == 0, "cleaned up");
    return done_testing();
}
