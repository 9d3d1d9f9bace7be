/* test-ids.c - one id, one byte string: random ids of every byte value but
 * NUL come back identical through the TSV writer and reader, through the RSB
 * writer and reader, and through TSV -> RSB -> TSV; and reading then writing
 * any TSV line is stable after one pass (schemas/tsv.md, "Escaping"); a list
 * field refuses an id holding a comma. */
#include "core/err.h"
#include "core/rng.h"
#include "io/io.h"
#include "io/rsb.h"
#include "io/tsv.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NIDS 2000
#define MAXLEN 40

static char dir[] = "/tmp/rs-test-ids-XXXXXX";

static const char *path(const char *name)
{
    static char p[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

/* A random id of 1..MAXLEN bytes in 1..255, half of them drawn from the
 * bytes the escaping is about (and those that follow a backslash). */
static size_t random_id(struct rs_rng *g, char *id)
{
    static const char special[] = "\t\n\r\\tnr\" ,";
    size_t n = 1 + rs_rng_below(g, MAXLEN);
    for (size_t i = 0; i < n; i++)
        id[i] = rs_rng_below(g, 2) ? special[rs_rng_below(g, sizeof special - 1)]
                                    : (char)(1 + rs_rng_below(g, 255));
    return n;
}

/* Writes ids as a one-column TSV table "id" through rs_writer_put_field. */
static int write_tsv(const char *p, char ids[][MAXLEN], const size_t *lens, size_t n)
{
    struct rs_writer *w;
    int rc = rs_writer_open(&w, p, 0, 0);
    if (rc < 0)
        return rc;
    rc = rs_writer_printf(w, "id\n");
    for (size_t i = 0; i < n; i++)
        rc |= rs_writer_put_field(w, ids[i], lens[i]) | rs_writer_putc(w, '\n');
    return rs_writer_finish(w, rc);
}

/* Reads the TSV table back: how many rows match ids, in order. */
static size_t read_tsv(const char *p, char ids[][MAXLEN], const size_t *lens, size_t n)
{
    struct rs_tsv *t;
    size_t same = 0, row = 0;
    if (rs_tsv_open(&t, p, 0) < 0)
        return 0;
    while (rs_tsv_next(t) == 0 && row < n) {
        same += rs_tsv_len(t, 0) == lens[row] && memcmp(rs_tsv_get(t, 0), ids[row], lens[row]) == 0;
        row++;
    }
    rs_tsv_close(t);
    return same;
}

/* The ids of the TSV table at src into an RSB (one dimension, value = row). */
static int tsv_to_rsb(const char *src, const char *dst)
{
    struct rs_tsv *t;
    struct rs_writer *w;
    struct rs_rsb_writer *rw;
    int rc = rs_tsv_open(&t, src, 0);
    if (rc < 0 || (rc = rs_writer_open(&w, dst, 0, 0)) < 0)
        return rc;
    if ((rc = rs_rsb_writer_init(&rw, w, 1, RS_F32, NULL)) == 0) {
        float v = 0;
        while (rc == 0 && (rc = rs_tsv_next(t)) == 0) {
            rc = rs_rsb_write(rw, rs_tsv_get(t, 0), rs_tsv_len(t, 0), &v);
            v++;
        }
        rc = rc == RS_ERR_EOF ? rs_rsb_writer_finish(rw) : (rs_rsb_writer_free(rw), rc);
    }
    rs_tsv_close(t);
    return rs_writer_finish(w, rc);
}

/* The ids of an RSB into a one-column TSV table, as RSB-sourced tools write
 * them. */
static int rsb_to_tsv(const char *src, const char *dst)
{
    struct rs_rsb_reader *r;
    struct rs_writer *w;
    int rc = rs_rsb_open(&r, src);
    if (rc < 0 || (rc = rs_writer_open(&w, dst, 0, 0)) < 0)
        return rc;
    const char *id;
    size_t len;
    float v;
    rc = rs_writer_printf(w, "id\n");
    while (rc == 0 && (rc = rs_rsb_next(r, &id, &len, &v)) == 0)
        rc = rs_writer_put_field(w, id, len) | rs_writer_putc(w, '\n');
    rs_rsb_close(r);
    return rs_writer_finish(w, rc == RS_ERR_EOF ? 0 : rc);
}

static size_t read_rsb(const char *p, char ids[][MAXLEN], const size_t *lens, size_t n)
{
    struct rs_rsb_reader *r;
    size_t same = 0, row = 0;
    const char *id;
    size_t len;
    float v;
    if (rs_rsb_open(&r, p) < 0)
        return 0;
    while (rs_rsb_next(r, &id, &len, &v) == 0 && row < n) {
        same += len == lens[row] && memcmp(id, ids[row], len) == 0 && v == (float)row;
        row++;
    }
    rs_rsb_close(r);
    return same;
}

static char *slurp(const char *p)
{
    FILE *f = fopen(p, "rb");
    static char buf[1 << 20];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    static char ids[NIDS][MAXLEN];
    static size_t lens[NIDS];
    struct rs_rng g;
    rs_rng_init(&g, 20, 0);
    /* the corner cases first, then random ones */
    static const char *const fixed[] = { "\\", "\\\\", "a\\", "\\t", "x\\y", "\r", " lead", "trail ",
                                         "\"q\"", "\xC3\xA9t\xC3\xA9", "\xFF\xFE", "t\\\\n" };
    size_t nfixed = sizeof fixed / sizeof *fixed;
    for (size_t i = 0; i < NIDS; i++) {
        lens[i] = i < nfixed ? strlen(fixed[i]) : random_id(&g, ids[i]);
        if (i < nfixed)
            memcpy(ids[i], fixed[i], lens[i]);
    }

    /* read(write(x)) == x */
    is_int(write_tsv(path("ids.tsv"), ids, lens, NIDS), 0, "write %d ids as TSV", NIDS);
    is_int((int)read_tsv(path("ids.tsv"), ids, lens, NIDS), NIDS, "every id read back from TSV identical");

    /* RSB, and TSV -> RSB -> TSV */
    is_int(tsv_to_rsb(path("ids.tsv"), path("ids.rsb")), 0, "the TSV ids into an RSB");
    is_int((int)read_rsb(path("ids.rsb"), ids, lens, NIDS), NIDS, "every id read back from the RSB identical");
    is_int(rsb_to_tsv(path("ids.rsb"), path("again.tsv")), 0, "the RSB ids written as TSV");
    is_int((int)read_tsv(path("again.tsv"), ids, lens, NIDS), NIDS, "TSV -> RSB -> TSV: every id identical");
    char *a = slurp(path("ids.tsv")), *b = slurp(path("again.tsv"));
    is_str(b, a, "TSV -> RSB -> TSV gives the same bytes");
    free(a);
    free(b);

    /* write(read(line)) is stable: any line (a backslash before any byte,
     * last, doubled...) reads as some id, which writes and reads back as
     * itself; the second write is the first one */
    FILE *f = fopen(path("raw.tsv"), "wb");
    fputs("id\n", f);
    for (size_t i = 0; i < NIDS; i++) {
        char line[MAXLEN];
        size_t n = random_id(&g, line);
        for (size_t k = 0; k < n; k++)
            fputc(line[k] == '\t' || line[k] == '\n' || line[k] == '\r' ? '\\' : line[k], f);
        fputc('\n', f);
    }
    fclose(f);
    is_int(tsv_to_rsb(path("raw.tsv"), path("raw.rsb")), 0, "raw lines read as ids");
    is_int(rsb_to_tsv(path("raw.rsb"), path("once.tsv")), 0, "written once");
    is_int(tsv_to_rsb(path("once.tsv"), path("once.rsb")), 0, "read again");
    is_int(rsb_to_tsv(path("once.rsb"), path("twice.tsv")), 0, "written twice");
    a = slurp(path("once.tsv"));
    b = slurp(path("twice.tsv"));
    is_str(b, a, "write(read(line)) is stable");
    free(a);
    free(b);

    /* list items: escaped, comma-separated, an id with a comma refused */
    struct rs_writer *w;
    int rc = rs_writer_open(&w, path("list.txt"), 0, 0);
    rc = rc ? rc : rs_tsv_put_list_item(w, "history", 0, "a\tb", 3) | rs_tsv_put_list_item(w, "history", 1, "c", 1);
    is_int(rs_writer_finish(w, rc), 0, "two list items written");
    a = slurp(path("list.txt"));
    is_str(a, "a\\tb,c", "escaped and comma-separated");
    free(a);
    rs_writer_open(&w, path("bad.txt"), 0, 0);
    is_int(rs_writer_finish(w, rs_tsv_put_list_item(w, "neg_items", 0, "x,y", 3)), RS_ERR_FORMAT,
           "an id with a comma in a list is refused");
    is_str(rs_err_msg(), "id 'x,y' holds a comma and cannot go in the list column 'neg_items'", "naming id and column");

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        ok(0, "clean up");
    return done_testing();
}
