/* test-track.c - the run store (lib/track): a run written and read back
 * whole, the queries, producers by content hash, lineage; a foreign, corrupt
 * or newer file refused and left as it was; gates; text tables. */
#include "core/err.h"
#include "io/io.h"
#include "io/table.h"
#include "tap.h"
#include "track/registry.h"
#include "track/track.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[] = "/tmp/test-track-XXXXXX";
static char path_buf[512];

static const char *at(const char *name)
{
    snprintf(path_buf, sizeof path_buf, "%s/%s", root, name);
    return path_buf;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* A finished run of tool reading in and writing out (paths under root). */
static void make_run(struct rs_run *r, const char *tool, const char *group, const char *in, const char *out)
{
    rs_run_init(r, tool, "9.9", "tool --x 1", group);
    rs_run_param(r, "x", "0");
    rs_run_param(r, "x", "1"); /* replaces */
    rs_run_param(r, "seed", "42");
    if (in) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", root, in);
        rs_run_file(r, RS_FILE_IN, p);
        rs_run_file(r, RS_FILE_IN, p); /* kept once */
    }
    if (out) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", root, out);
        rs_run_file(r, RS_FILE_OUT, p);
    }
    rs_run_file(r, RS_FILE_IN, "-");
    rs_run_file(r, RS_FILE_OUT, at("gone.tmp")); /* never written: dropped */
    rs_run_metric(r, "loss", 1, 0.5);
    rs_run_metric(r, "loss", 2, 0.25);
    rs_run_metric(r, "recall@10", 0, 0.125);
    rs_run_finish(r, 0);
}

static void test_roundtrip(void)
{
    struct rs_store *s;
    is_int(rs_store_open(&s, at("runs.db"), RS_STORE_READ), RS_ERR_IO, "READ: a missing store is an error");
    ok(access(at("runs.db"), F_OK) != 0, "READ: nothing created");
    write_text(at("events.tsv"), "user_id\titem_id\nu1\ti1\n");
    is_int(rs_store_open(&s, at("runs.db"), RS_STORE_WRITE), 0, "WRITE: a new store");
    struct rs_run a, b, got;
    make_run(&a, "rs-synth", "g", NULL, "events.tsv");
    write_text(at("pos.tsv"), "user_id\titem_id\n");
    make_run(&b, "rs-split", "g", "events.tsv", "pos.tsv");
    is_int(rs_store_put(s, &a), 0, "put a");
    is_int(rs_store_put(s, &b), 0, "put b");
    ok(a.id == 1 && b.id == 2, "ids in order");
    is_int(rs_store_get(s, 2, NULL, &got), 0, "get by id");
    is_str(got.tool, "rs-split", "tool");
    is_str(got.group, "g", "group");
    is_str(got.uuid, b.uuid, "uuid");
    is_str(rs_run_get_param(&got, "x"), "1", "a later value replaces an earlier one");
    is_int(got.nparams, 2, "two params");
    is_int(got.nfiles, 3, "in (once), stdin, out; the vanished output dropped");
    uint64_t h;
    int64_t size;
    rs_file_xxh3(at("events.tsv"), &h, &size);
    ok(got.files[0].role == RS_FILE_IN && got.files[0].xxh3 == h && got.files[0].size == size,
       "the input's size and XXH3");
    ok(got.files[2].size == -1 && strcmp(got.files[2].path, "-") == 0 && !got.files[2].abspath,
       "stdin: a stream, not hashed");
    double v;
    int64_t step;
    ok(rs_run_get_metric(&got, "loss", &v, &step) == 0 && v == 0.25 && step == 2, "a metric's last step");
    ok(rs_run_get_metric(&got, "nope", &v, NULL) < 0, "a missing metric");
    ok(got.status == 0 && got.end >= got.start, "status and times");
    rs_run_free(&got);
    char prefix[9];
    snprintf(prefix, sizeof prefix, "%.8s", a.uuid);
    ok(rs_store_get(s, 0, prefix, &got) == 0 && got.id == 1, "get by uuid prefix");
    rs_run_free(&got);
    is_int(rs_store_get(s, 9, NULL, &got), RS_ERR_FORMAT, "no such run");

    int64_t *ids;
    size_t n;
    struct rs_run_query q = RS_RUN_QUERY_ALL;
    ok(rs_store_list(s, &q, &ids, &n) == 0 && n == 2, "list all");
    free(ids);
    q.tool = "rs-split";
    ok(rs_store_list(s, &q, &ids, &n) == 0 && n == 1 && ids[0] == 2, "list by tool");
    free(ids);
    q = (struct rs_run_query)RS_RUN_QUERY_ALL;
    q.param = "x=0";
    ok(rs_store_list(s, &q, &ids, &n) == 0 && n == 0, "list by param value: the replaced one is gone");
    free(ids);
    q.param = "x=1";
    q.status = 1;
    ok(rs_store_list(s, &q, &ids, &n) == 0 && n == 0, "list by status");
    free(ids);
    q = (struct rs_run_query)RS_RUN_QUERY_ALL;
    q.metric = "recall@10";
    q.since = a.start - 1;
    ok(rs_store_list(s, &q, &ids, &n) == 0 && n == 2, "list by metric and date");
    free(ids);
    ok(rs_store_producers(s, h, &ids, &n) == 0 && n == 1 && ids[0] == 1, "the producer of events.tsv");
    free(ids);

    struct rs_lineage_node *nodes;
    ok(rs_store_lineage(s, at("pos.tsv"), &nodes, &n) == 0, "lineage");
    ok(n == 4 && nodes[0].run == 2 && nodes[1].run == 1 && nodes[1].depth == 1 && nodes[2].size == -1 &&
       nodes[2].depth == 2 && nodes[3].depth == 1 && !nodes[3].run,
       "lineage: pos.tsv <- rs-split <- events.tsv <- rs-synth; stdin a stream of each");
    rs_lineage_free(nodes, n);
    rs_run_free(&a);
    rs_run_free(&b);
    rs_store_close(s);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_refusals(void)
{
    struct rs_store *s;
    sqlite3 *db;
    sqlite3_open(at("foreign.db"), &db);
    sqlite3_exec(db, "CREATE TABLE t (x); INSERT INTO t VALUES (1);", NULL, NULL, NULL);
    sqlite3_close(db);
    long before = file_size(at("foreign.db"));
    is_int(rs_store_open(&s, at("foreign.db"), RS_STORE_WRITE), RS_ERR_FORMAT, "a foreign database is refused");
    ok(strstr(rs_err_msg(), "not a run store") != NULL, "message: %s", rs_err_msg());
    ok(file_size(at("foreign.db")) == before && access(at("foreign.db-wal"), F_OK) != 0, "and left as it was");
    write_text(at("junk.db"), "this is not a database, not at all, and long enough to have a header........"
                              "...........................................................................");
    is_int(rs_store_open(&s, at("junk.db"), RS_STORE_WRITE), RS_ERR_FORMAT, "a file that is not SQLite");
    ok(rs_store_open(&s, at("new.db"), RS_STORE_WRITE) == 0, "a fresh store");
    rs_store_close(s);
    sqlite3_open(at("new.db"), &db);
    sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL);
    sqlite3_close(db);
    is_int(rs_store_open(&s, at("new.db"), RS_STORE_WRITE), RS_ERR_VERSION, "a newer schema version");
    is_int(rs_store_open(&s, at("no/such/dir.db"), RS_STORE_WRITE), RS_ERR_IO, "a folder that does not exist");
}

static void test_gate(void)
{
    struct rs_gate g;
    ok(rs_gate_parse("recall@10>=-0.002", &g) == 0 && !strcmp(g.metric, "recall@10") && !g.lower_better &&
       g.margin == -0.002, "M>=D");
    ok(rs_gate_parse("loss<=0.01", &g) == 0 && !strcmp(g.metric, "loss") && g.lower_better && g.margin == 0.01,
       "M<=D");
    ok(rs_gate_parse("recall@10", &g) == RS_ERR_USAGE, "no operator");
    ok(rs_gate_parse(">=1", &g) == RS_ERR_USAGE, "no metric");
    ok(rs_gate_parse("m>=x", &g) == RS_ERR_USAGE, "no number");
}

static void test_table(void)
{
    static const char *const head[] = { "name", "n" };
    struct rs_table *t = rs_table_new(2, head);
    rs_table_add(t, "a\tb");
    rs_table_addf(t, "%d", 5);
    rs_table_add(t, "long name");
    rs_table_add(t, "12");
    is_int(rs_table_rows(t), 2, "two rows");
    for (int tsv = 0; tsv < 2; tsv++) {
        struct rs_writer *w;
        rs_writer_open(&w, at(tsv ? "t.tsv" : "t.txt"), 0, 0);
        rs_table_write(t, w, tsv);
        rs_writer_close(w);
    }
    char buf[256] = "";
    FILE *f = fopen(at("t.tsv"), "r");
    buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
    fclose(f);
    is_str(buf, "name\tn\na\\tb\t5\nlong name\t12\n", "TSV, fields escaped");
    f = fopen(at("t.txt"), "r");
    buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
    fclose(f);
    is_str(buf, "name       n\na\\tb        5\nlong name  12\n", "aligned");
    rs_table_free(t);
}

int main(void)
{
    if (!mkdtemp(root))
        return 1;
    test_roundtrip();
    test_refusals();
    test_gate();
    test_table();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        return 1;
    return done_testing();
}
