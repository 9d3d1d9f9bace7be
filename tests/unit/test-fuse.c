/* test-fuse.c - one user's fusion (order, ties, repeated items, column
 * text) against a naive reference, and a source's stream grouped by user. */
#include "core/err.h"
#include "core/rng.h"
#include "core/strmap.h"
#include "index/fuse.h"
#include "io/tsv.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXN 64

/* The worked example: tower 10, 11, 12; als 12, 13, 12 again (rank 5, not
 * its best), 10 (rank 9). */
static void example(void)
{
    static const uint32_t ti[] = { 10, 11, 12 }, tr[] = { 1, 2, 3 }, ai[] = { 12, 13, 12, 10 }, ar[] = { 1, 2, 5, 9 };
    static const float ts[] = { 0.9f, 0.8f, 0.7f }, as[] = { 12, 7, 99, 1 };
    struct rs_fuse_in in[2] = { { 3, ti, tr, ts }, { 4, ai, ar, as } };
    struct rs_fuse_list l = { 0 };
    rs_fuse_user(&l, in, 2, 60);
    is_int(l.n, 4, "four distinct items");
    ok(l.item[0] == 12 && l.item[1] == 10 && l.item[2] == 11 && l.item[3] == 13,
       "by fused score, the tie 11 / 13 in order of first appearance");
    is_near(l.fused[0], 1.0 / 63 + 1.0 / 61, 1e-15, "fused score: sum of 1 / (K + rank)");
    ok(l.rank[0 * 2 + 1] == 1 && l.score[0 * 2 + 1] == 12, "a repeated item keeps its best rank and that score");
    char buf[RS_FUSE_FIELD_MAX], want[RS_FUSE_FIELD_MAX];
    const char *text[] = { "1", NULL, "2", "3", "0.699999988", "1", "12" };
    snprintf(want, sizeof want, "%.9g", 1.0 / 63 + 1.0 / 61);
    text[1] = want;
    int same = 1;
    for (size_t c = 0; c < RS_FUSE_NCOLS(2); c++)
        same &= rs_fuse_field(&l, 0, c, buf) == strlen(text[c]) && strcmp(buf, text[c]) == 0;
    ok(same, "row 1's columns as rs-merge writes them");
    is_int(rs_fuse_field(&l, 3, 3, buf), 0, "a source that did not propose the item: empty");
    rs_fuse_list_free(&l);
}

static void names(void)
{
    const char *src[] = { "tower", "als" };
    const char *want[] = { "rank", "score", "sources", "tower_rank", "tower_score", "als_rank", "als_score" };
    int same = 1;
    for (size_t c = 0; c < RS_FUSE_NCOLS(2); c++) {
        char *s = rs_fuse_col_name(src, c);
        same &= strcmp(s, want[c]) == 0;
        free(s);
    }
    ok(same, "column names");
}

/* The naive fusion: entries by first appearance, best rank, O(n^2). */
static size_t reference(const struct rs_fuse_in *in, size_t nsrc, uint32_t *item, double *fused)
{
    uint32_t best[MAXN * 4][4] = { { 0 } };
    size_t n = 0;
    for (size_t k = 0; k < nsrc; k++)
        for (size_t r = 0; r < in[k].n; r++) {
            size_t e = 0;
            while (e < n && item[e] != in[k].item[r])
                e++;
            if (e == n)
                item[n++] = in[k].item[r];
            if (!best[e][k] || in[k].rank[r] < best[e][k])
                best[e][k] = in[k].rank[r];
        }
    for (size_t e = 0; e < n; e++) {
        fused[e] = 0;
        for (size_t k = 0; k < nsrc; k++)
            fused[e] += best[e][k] ? 1.0 / (60 + best[e][k]) : 0;
    }
    for (size_t i = 1; i < n; i++) /* stable insertion sort: ties keep first appearance */
        for (size_t j = i; j > 0 && fused[j] > fused[j - 1]; j--) {
            double f = fused[j];
            uint32_t it = item[j];
            fused[j] = fused[j - 1], item[j] = item[j - 1];
            fused[j - 1] = f, item[j - 1] = it;
        }
    return n;
}

/* Random lists with many repeats and ties, one list struct reused: its
 * table grows and is cleared between users. */
static void random_lists(void)
{
    struct rs_rng g;
    rs_rng_init(&g, 5, 0);
    struct rs_fuse_list l = { 0 };
    int all = 1;
    for (int trial = 0; trial < 300; trial++) {
        size_t nsrc = 1 + rs_rng_below(&g, 4);
        uint32_t it[4][MAXN], rk[4][MAXN], item[MAXN * 4];
        float sc[4][MAXN] = { { 0 } };
        double fused[MAXN * 4];
        struct rs_fuse_in in[4];
        for (size_t k = 0; k < nsrc; k++) {
            in[k] = (struct rs_fuse_in){ rs_rng_below(&g, MAXN), it[k], rk[k], sc[k] };
            for (size_t r = 0; r < in[k].n; r++)
                it[k][r] = (uint32_t)rs_rng_below(&g, 1 + trial), rk[k][r] = 1 + (uint32_t)rs_rng_below(&g, 20);
        }
        size_t n = reference(in, nsrc, item, fused);
        rs_fuse_user(&l, in, nsrc, 60);
        all &= l.n == n;
        for (size_t j = 0; all && j < n; j++)
            all &= l.item[j] == item[j] && l.fused[j] == fused[j];
    }
    ok(all, "300 random users: the naive fusion's items, scores and order");
    rs_fuse_list_free(&l);
}

static char dir[] = "/tmp/rs-test-fuse-XXXXXX";

static int read_lists(struct rs_fuse_lists *l, const char *text, size_t per_source, struct rs_strmap *users,
                      struct rs_strmap *items)
{
    char path[256];
    snprintf(path, sizeof path, "%s/s.tsv", dir);
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
    struct rs_tsv *t;
    int rc = rs_tsv_open(&t, path, 0);
    if (rc == 0)
        rc = rs_fuse_lists_read(l, t, "als", "user_id", "item_id", per_source, users, items);
    rs_tsv_close(t);
    unlink(path);
    return rc;
}

static void lists(void)
{
    struct rs_strmap *users = rs_strmap_new(8), *items = rs_strmap_new(8);
    struct rs_fuse_lists l;
    rs_strmap_put(users, "u0", 2, NULL); /* a user known before, without rows here */
    is_int(read_lists(&l, "user_id\titem_id\trank\tscore\nu1\ti1\t2\t0.5\nu2\ti2\t1\t1\nu1\ti3\t1\t2\n"
                          "u1\ti4\t3\t0\n", 2, users, items), 0, "read");
    struct rs_fuse_in u0 = rs_fuse_lists_user(&l, 0), u1 = rs_fuse_lists_user(&l, 1), u9 = rs_fuse_lists_user(&l, 9);
    ok(u0.n == 0 && u9.n == 0, "users without rows, or unknown: empty lists");
    ok(u1.n == 2 && u1.rank[0] == 2 && u1.rank[1] == 1 && u1.score[1] == 2,
       "u1's rows in file order, past rank 2 dropped");
    rs_fuse_lists_free(&l);
    is_int(read_lists(&l, "user_id\titem_id\trank\tscore\n", 0, users, items), RS_ERR_FORMAT, "no row");
    ok(strstr(rs_err_msg(), "source 'als' has no candidates") != NULL, "names the source: %s", rs_err_msg());
    is_int(read_lists(&l, "user_id\titem_id\trank\tscore\nu1\ti1\t0\t1\n", 0, users, items), RS_ERR_FORMAT,
           "rank 0");
    ok(strstr(rs_err_msg(), "line 2: column 'rank'") != NULL, "names line and column: %s", rs_err_msg());
    rs_strmap_free(users);
    rs_strmap_free(items);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    example();
    names();
    random_lists();
    lists();
    rmdir(dir);
    return done_testing();
}
