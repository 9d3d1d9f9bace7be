/* test-vocab.c - counting, pruning and ordering, the file format and its
 * errors, OOV buckets, a million tokens. */
#include "core/err.h"
#include "io/io.h"
#include "tap.h"
#include "io/vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

static char dir[] = "/tmp/test-vocab.XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

/* Loads a malformed vocabulary and checks the message. */
static void bad_file(const char *text, const char *want, const char *what)
{
    struct rs_vocab *v = (struct rs_vocab *)1;
    int rc = rs_vocab_load(&v, write_file("bad.tsv", text));
    ok(rc == RS_ERR_FORMAT && v == NULL, "%s: rejected", what);
    ok(strstr(rs_err_msg(), want) != NULL, "%s: message '%s'", what, rs_err_msg());
}

static void add(struct rs_vocab_counter *c, const char *tok, uint64_t n)
{
    rs_vocab_counter_add(c, tok, strlen(tok), n);
}

static void test_build(void)
{
    struct rs_vocab_counter *c = rs_vocab_counter_new(0);
    add(c, "b", 3);
    add(c, "a", 3);
    add(c, "ab", 3);
    add(c, "zz", 5);
    add(c, "rare", 1);
    add(c, "", 7);
    add(c, "zz", 1);
    is_int(rs_vocab_counter_size(c), 5, "empty token not counted");

    struct rs_vocab *v = rs_vocab_counter_finish(c, 1, 0);
    is_int(rs_vocab_size(v), 5, "all tokens kept with min count 1");
    is_str(rs_vocab_token(v, 1, NULL), "zz", "most frequent gets id 1");
    is_str(rs_vocab_token(v, 2, NULL), "a", "ties in bytewise order: a");
    is_str(rs_vocab_token(v, 3, NULL), "ab", "prefix before longer: ab");
    is_str(rs_vocab_token(v, 4, NULL), "b", "then b");
    is_int(rs_vocab_count(v, 1), 6, "counts add up");
    is_int(rs_vocab_count(v, 0), 0, "nothing dropped");
    rs_vocab_free(v);

    v = rs_vocab_counter_finish(c, 2, 2);
    is_int(rs_vocab_size(v), 2, "min count 2 and max size 2");
    is_str(rs_vocab_token(v, 2, NULL), "a", "max size keeps the first by order");
    is_int(rs_vocab_count(v, 0), 3 + 3 + 1, "OOV count = occurrences of dropped tokens");
    is_int(rs_vocab_id(v, "zz", 2, 0), 1, "known token id");
    is_int(rs_vocab_id(v, "b", 1, 0), 0, "dropped token is OOV");
    is_int(rs_vocab_id(v, "", 0, 10), 0, "empty token is 0 even with buckets");
    is_int(rs_vocab_id(v, "b", 1, 10), 3 + XXH3_64bits("b", 1) % 10, "bucket = V+1+XXH3 % B");
    is_int(rs_vocab_nids(v, 10), 13, "nids = 1 + V + B");
    ok(rs_vocab_token(v, 0, NULL) == NULL && rs_vocab_token(v, 3, NULL) == NULL, "no token for 0 or > V");
    is_int(rs_vocab_count(v, 99), 0, "count of an id out of range");
    rs_vocab_free(v);

    v = rs_vocab_counter_finish(c, 100, 0);
    is_int(rs_vocab_size(v), 0, "everything below min count: empty vocabulary");
    is_int(rs_vocab_count(v, 0), 16, "all occurrences to OOV");
    rs_vocab_free(v);
    rs_vocab_counter_free(c);
    rs_vocab_counter_free(NULL);
    rs_vocab_free(NULL);
}

static void test_file(void)
{
    struct rs_vocab_counter *c = rs_vocab_counter_new(0);
    add(c, "x\ty", 2);
    add(c, "w", 1);
    add(c, "q", 1);
    struct rs_vocab *v = rs_vocab_counter_finish(c, 1, 2);
    char path[256];
    snprintf(path, sizeof path, "%s/v.tsv", dir);
    struct rs_writer *w;
    ok(rs_writer_open(&w, path, 0, 0) == 0 && rs_vocab_write(v, w) == 0 && rs_writer_close(w) == 0,
       "write a vocabulary");
    FILE *f = fopen(path, "r");
    char text[256] = "";
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    is_str(text, "id\ttoken\tcount\n0\t\t1\n1\tx\\ty\t2\n2\tq\t1\n", "file text (the tab in a token escaped)");
    struct rs_vocab *u;
    ok(rs_vocab_load(&u, path) == 0, "load it back");
    is_int(rs_vocab_size(u), 2, "same size");
    is_int(rs_vocab_id(u, "x\ty", 3, 0), 1, "same ids (the token read back unescaped)");
    is_int(rs_vocab_count(u, 0), 1, "OOV count read");
    rs_vocab_free(u);
    rs_vocab_free(v);
    rs_vocab_counter_free(c);

    ok(rs_vocab_load(&u, write_file("extra.tsv", "count\tnote\ttoken\tid\n5\t\t\t0\n2\tx\ta\t1\n")) == 0,
       "columns by name, in any order, extra ones ignored");
    is_int(rs_vocab_id(u, "a", 1, 0), 1, "token of a reordered file");
    rs_vocab_free(u);

    bad_file("id\ttok\tcount\n", "column 'token'", "missing column");
    bad_file("id\ttoken\tcount\n", "without the OOV row", "no rows");
    bad_file("", "empty vocabulary file", "empty file");
    bad_file("id\ttoken\tcount\n1\ta\t1\n", "line 2: column 'id': expected id 0", "first id not 0");
    bad_file("id\ttoken\tcount\n0\t\t0\n2\ta\t1\n", "line 3: column 'id': expected id 1", "gap in ids");
    bad_file("id\ttoken\tcount\n0\tx\t0\n", "column 'token': id 0 is the OOV entry", "token at id 0");
    bad_file("id\ttoken\tcount\n0\t\t0\n1\t\t1\n", "line 3: column 'token': empty token", "empty token");
    bad_file("id\ttoken\tcount\n0\t\t0\n1\ta\t1\n2\ta\t1\n", "token 'a' repeated (first at id 1, line 3)", "repeat");
    bad_file("id\ttoken\tcount\n0\t\t-1\n", "negative count", "negative count");
    bad_file("id\ttoken\tcount\n0\t\tmany\n", "line 2: column 'count'", "non-numeric count");
}

static void test_million(void)
{
    size_t n = 1000000;
    struct rs_vocab_counter *c = rs_vocab_counter_new(16);
    char key[32];
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(key, sizeof key, "item_%zu", i);
        /* item_i occurs (i % 7) + 1 times: counts 1..7 */
        rs_vocab_counter_add(c, key, (size_t)len, i % 7 + 1);
    }
    is_int(rs_vocab_counter_size(c), n, "1M distinct tokens counted");
    struct rs_vocab *v = rs_vocab_counter_finish(c, 2, 500000);
    is_int(rs_vocab_size(v), 500000, "max size honoured");
    size_t bad = 0, known = 0;
    uint64_t prev = UINT64_MAX;
    for (uint64_t id = 1; id <= rs_vocab_size(v); id++) {
        bad += rs_vocab_count(v, id) > prev;
        prev = rs_vocab_count(v, id);
    }
    is_int(bad, 0, "counts never increase with the id");
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(key, sizeof key, "item_%zu", i);
        uint64_t id = rs_vocab_id(v, key, (size_t)len, 0);
        known += id != 0;
        bad += id != 0 && rs_vocab_count(v, id) != i % 7 + 1;
    }
    is_int(known, 500000, "exactly V tokens found");
    is_int(bad, 0, "each found token has its own count");
    is_int(rs_vocab_count(v, rs_vocab_size(v)), 4, "the kept tokens are the most frequent ones");
    rs_vocab_free(v);
    rs_vocab_counter_free(c);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    test_build();
    test_file();
    test_million();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        ok(0, "clean up %s", dir);
    return done_testing();
}
