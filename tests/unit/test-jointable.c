/* test-jointable.c - tables kept for joins: row text, key ids, callbacks,
 * escaping, and the errors (a key twice among them). */
#include "core/err.h"
#include "io/io.h"
#include "io/jointable.h"
#include "core/strmap.h"
#include "tap.h"
#include "io/tsv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/test-jointable.XXXXXX";

static const char *file(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

/* Row r as rs_jointable_write_row writes it. */
static const char *row_text(const struct rs_jointable *jt, size_t r)
{
    static char text[256];
    char path[128];
    snprintf(path, sizeof path, "%s/row", dir);
    struct rs_writer *w;
    if (rs_writer_open(&w, path, 0, 0) < 0)
        return "(open failed)";
    if (rs_writer_finish(w, rs_jointable_write_row(jt, r, w)) < 0)
        return "(write failed)";
    FILE *f = fopen(path, "r");
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

static int sum_age(void *ctx, struct rs_tsv *t, int64_t id)
{
    int64_t age;
    int rc = rs_tsv_get_i64(t, rs_tsv_col(t, "age"), &age);
    *(int64_t *)ctx += rc == 0 ? age * (id + 1) : 0;
    return rc;
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    struct rs_strmap *m = rs_strmap_new(0);
    rs_strmap_put(m, "u0", 2, NULL);
    struct rs_jointable jt = { 0 };
    int64_t sum = 0;
    const char *p = file("u.tsv", "age\tuser_id\tnote\n30\tu1\ta\\tb\\x\n40\tu0\t\n50\tu2\tagain\n");
    ok(rs_jointable_load(&jt, p, 0, "user_id", m, sum_age, &sum) == 0, "load a TSV table");
    ok(jt.nrows == 3 && jt.ncols == 3 && jt.key_col == 1, "rows, columns, key column");
    is_str(jt.names[2], "note", "column names kept");
    is_str(row_text(&jt, 0), "30\tu1\ta\\tb\\\\x", "row text escaped again (a lone backslash is itself)");
    is_str(row_text(&jt, 1), "40\tu0\t", "empty last field kept");
    ok(jt.id[0] == 1 && jt.id[1] == 0 && jt.id[2] == 2, "keys interned into the caller's map");
    is_int(sum, 30 * 2 + 40 * 1 + 50 * 3, "callback sees every row with its id");
    rs_jointable_free(&jt);
    rs_jointable_free(&jt);

    ok(rs_jointable_load(NULL, p, 0, "user_id", m, NULL, NULL) == 0, "scan without keeping rows");

    p = file("u.csv", "user_id,title\nu7,\"a\tb, c\"\n");
    ok(rs_jointable_load(&jt, p, RS_TSV_CSV, "user_id", m, NULL, NULL) == 0, "load a CSV table");
    is_str(row_text(&jt, 0), "u7\ta\\tb, c", "CSV fields escaped into TSV form");
    rs_jointable_free(&jt);

    p = file("bad.tsv", "user_id\tage\nu1\t3\nu2\told\n");
    ok(rs_jointable_load(&jt, p, 0, "user_id", m, sum_age, &sum) == RS_ERR_FORMAT, "callback error stops the load");
    ok(strstr(rs_err_msg(), "line 3: column 'age'") != NULL, "with its line and column: %s", rs_err_msg());
    rs_jointable_free(&jt);
    p = file("empty-key.tsv", "user_id\tage\n\t3\n");
    ok(rs_jointable_load(&jt, p, 0, "user_id", m, NULL, NULL) == RS_ERR_FORMAT &&
           strstr(rs_err_msg(), "line 2: column 'user_id': empty id"),
       "empty key: %s", rs_err_msg());
    rs_jointable_free(&jt);
    p = file("dup.tsv", "user_id\tage\nu1\t3\nu2\t4\nu1\t5\n");
    ok(rs_jointable_load(&jt, p, 0, "user_id", m, NULL, NULL) == RS_ERR_FORMAT &&
           strstr(rs_err_msg(), "dup.tsv' line 4: column 'user_id': duplicate id 'u1' (first on line 2)"),
       "a key twice: %s", rs_err_msg());
    rs_jointable_free(&jt);
    p = file("nokey.tsv", "uid\tage\nu\t3\n");
    ok(rs_jointable_load(&jt, p, 0, "user_id", m, NULL, NULL) < 0 && strstr(rs_err_msg(), "'user_id'"),
       "missing key column: %s", rs_err_msg());
    rs_jointable_free(&jt);
    p = file("empty.tsv", "");
    ok(rs_jointable_load(&jt, p, 0, "user_id", m, NULL, NULL) == RS_ERR_FORMAT &&
           strstr(rs_err_msg(), "is empty: expected a header with 'user_id'"),
       "empty file: %s", rs_err_msg());
    rs_jointable_free(&jt);
    rs_strmap_free(m);

    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        ok(0, "clean up");
    return done_testing();
}
