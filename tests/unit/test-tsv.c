/* test-tsv.c - header-addressed columns, positioned errors, CSV quoting. */
#include "core/err.h"
#include "tap.h"
#include "io/tsv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/rs-test-tsv-XXXXXX";

static const char *make(const char *name, const char *text)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    fputs(text, f);
    fclose(f);
    return p;
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    struct rs_tsv *t;
    is_int(rs_tsv_open(&t, make("a.tsv", "user_id\titem_id\tclick\nu1\ti1\t1\nu2\ti2\tx\n"), 0), 0, "open");
    int u, c, miss;
    is_int(rs_tsv_ncols(t), 3, "three columns");
    is_int(rs_tsv_require(t, "click", &c), 0, "require present column");
    is_int(c, 2, "column by name");
    rs_tsv_require(t, "user_id", &u);
    is_int(rs_tsv_require(t, "booking", &miss), RS_ERR_FORMAT, "missing column is an error");
    ok(strstr(rs_err_msg(), "no column 'booking'") && strstr(rs_err_msg(), "a.tsv' line 1"),
       "message names file, line and column: %s", rs_err_msg());
    is_int(rs_tsv_next(t), 0, "row 1");
    is_str(rs_tsv_get(t, u), "u1", "field by column");
    int64_t v;
    is_int(rs_tsv_get_i64(t, c, &v), 0, "integer field");
    is_int(v, 1, "integer value");
    is_int(rs_tsv_next(t), 0, "row 2");
    is_int(rs_tsv_get_i64(t, c, &v), RS_ERR_FORMAT, "bad integer is an error");
    ok(strstr(rs_err_msg(), "line 3: column 'click': expected an integer, got 'x'"), "message: %s",
       rs_err_msg());
    is_int(rs_tsv_next(t), RS_ERR_EOF, "end");
    rs_tsv_close(t);

    rs_tsv_open(&t, make("b.tsv", "a\tb\n1\t2\n3\n"), 0);
    rs_tsv_next(t);
    is_int(rs_tsv_next(t), RS_ERR_FORMAT, "short row is an error");
    ok(strstr(rs_err_msg(), "line 3: expected 2 fields, got 1"), "message: %s", rs_err_msg());
    rs_tsv_close(t);

    rs_tsv_open(&t, make("c.tsv", "x\n1e400\nnan\n2.5\n"), 0);
    float f;
    rs_tsv_next(t);
    is_int(rs_tsv_get_f32(t, 0, &f), RS_ERR_FORMAT, "overflowing float rejected");
    rs_tsv_next(t);
    is_int(rs_tsv_get_f32(t, 0, &f), RS_ERR_FORMAT, "NaN rejected");
    rs_tsv_next(t);
    ok(rs_tsv_get_f32(t, 0, &f) == 0 && f == 2.5f, "2.5 parsed");
    rs_tsv_close(t);

    is_int(rs_tsv_open(&t, make("empty.tsv", ""), 0), 0, "empty input opens");
    is_int(rs_tsv_ncols(t), 0, "no columns");
    is_int(rs_tsv_next(t), RS_ERR_EOF, "no rows");
    ok(rs_tsv_require(t, "x", &miss) < 0 && strstr(rs_err_msg(), "empty input"), "require on empty: %s",
       rs_err_msg());
    rs_tsv_close(t);

    rs_tsv_open(&t, make("h.tsv", "only\theader\n"), 0);
    is_int(rs_tsv_next(t), RS_ERR_EOF, "header-only input has no rows");
    rs_tsv_close(t);

    const char *csv = "\xEF\xBB\xBFid,title,price\n"
                      "1,\"Hello, world\",3.5\n"
                      "2,\"say \"\"hi\"\"\",4\n"
                      "3,\"two\nlines\",5\n";
    is_int(rs_tsv_open(&t, make("q.csv", csv), 0), 0, "CSV by name");
    int ti;
    is_int(rs_tsv_require(t, "id", &ti), 0, "BOM stripped from the first column name");
    rs_tsv_require(t, "title", &ti);
    rs_tsv_next(t);
    is_str(rs_tsv_get(t, ti), "Hello, world", "quoted comma");
    rs_tsv_next(t);
    is_str(rs_tsv_get(t, ti), "say \"hi\"", "doubled quotes");
    rs_tsv_next(t);
    is_str(rs_tsv_get(t, ti), "two\nlines", "quoted newline");
    is_int(rs_tsv_next(t), RS_ERR_EOF, "CSV end");
    rs_tsv_close(t);

    rs_tsv_open(&t, make("bad.csv", "a,b\n1,\"unterminated\n"), 0);
    ok(rs_tsv_next(t) < 0, "unterminated quote is an error: %s", rs_err_msg());
    rs_tsv_close(t);

    /* CSV rows straddling the 64 KiB read chunks keep every field */
    char *big = malloc(400000), *bp = big;
    bp += sprintf(bp, "user_id,item_id,category_id,event,timestamp\n");
    for (int i = 0; i < 9000; i++)
        bp += sprintf(bp, "%d,%d,\"c,%d\",pv,%d\n", i * 7919 % 100003, i * 31, i % 97, 1511544070 + i);
    is_int(rs_tsv_open(&t, make("big.csv", big), 0), 0, "big CSV");
    int rows = 0, good = 1, ts;
    rs_tsv_require(t, "timestamp", &ts);
    int64_t when;
    while (rs_tsv_next(t) == 0)
        good &= rs_tsv_get_i64(t, ts, &when) == 0 && when == 1511544070 + rows++;
    ok(good && rows == 9000, "9000 rows across read chunks, every field in place (%d rows)", rows);
    rs_tsv_close(t);
    free(big);

    char esc[] = "a\\tb\\\\c\\n";
    size_t n = rs_tsv_unescape(esc, strlen(esc));
    ok(n == 6 && memcmp(esc, "a\tb\\c\n", 6) == 0, "unescape");
    char lone[] = "x\\y\\";
    n = rs_tsv_unescape(lone, strlen(lone));
    ok(n == 4 && memcmp(lone, "x\\y\\", 4) == 0, "a backslash before another byte, or last, is itself");

    /* the reader hands out the unescaped bytes */
    is_int(rs_tsv_open(&t, make("esc.tsv", "id\tn\nx\\y\ta\\tb\\\\\nplain\t1\n"), 0), 0, "open escaped TSV");
    rs_tsv_next(t);
    ok(rs_tsv_len(t, 0) == 3 && strcmp(rs_tsv_get(t, 0), "x\\y") == 0, "x\\y is x, backslash, y");
    ok(rs_tsv_len(t, 1) == 4 && strcmp(rs_tsv_get(t, 1), "a\tb\\") == 0, "a\\tb\\\\ is a, tab, b, backslash");
    rs_tsv_close(t);

    /* a header naming a column twice */
    is_int(rs_tsv_open(&t, make("dup.tsv", "user_id\titem_id\tuser_id\nu\ti\tv\n"), 0), RS_ERR_FORMAT,
           "a column named twice is an error");
    ok(strstr(rs_err_msg(), "dup.tsv' line 1: column 'user_id' named twice (columns 1 and 3)"), "message: %s",
       rs_err_msg());

    /* timestamps: one unit per table, times in [1970, 2100) */
    rs_tsv_open(&t, make("ms.tsv", "t\n1704448800123\n2024-01-05\n1704448800456\n1704448800\n"), 0);
    rs_tsv_next(t);
    ok(rs_tsv_get_time(t, 0, &when) == 0 && when == 1704448800, "milliseconds by magnitude");
    rs_tsv_next(t);
    ok(rs_tsv_get_time(t, 0, &when) == 0 && when == 1704412800, "ISO 8601 between them");
    rs_tsv_next(t);
    ok(rs_tsv_get_time(t, 0, &when) == 0 && when == 1704448800, "milliseconds again");
    rs_tsv_next(t);
    is_int(rs_tsv_get_time(t, 0, &when), RS_ERR_FORMAT, "seconds after milliseconds: mixed units");
    ok(strstr(rs_err_msg(), "ms.tsv' line 5: column 't': time '1704448800' is in seconds, line 2's in "
                            "milliseconds"), "message: %s", rs_err_msg());
    rs_tsv_close(t);
    rs_tsv_open(&t, make("range.tsv", "t\n-5\n"), 0);
    rs_tsv_next(t);
    is_int(rs_tsv_get_time(t, 0, &when), RS_ERR_FORMAT, "before 1970 refused");
    ok(strstr(rs_err_msg(), "range.tsv' line 2: column 't': time '-5' read in seconds is 1969-12-31 23:59:55 UTC"),
       "message: %s", rs_err_msg());
    rs_tsv_close(t);
    rs_tsv_time_unit(RS_TIME_S);
    rs_tsv_open(&t, make("s.tsv", "t\n1704448800123\n"), 0);
    rs_tsv_next(t);
    is_int(rs_tsv_get_time(t, 0, &when), RS_ERR_FORMAT, "declared seconds: milliseconds land after 2100");
    rs_tsv_close(t);
    rs_tsv_time_unit(RS_TIME_AUTO);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return done_testing();
}
