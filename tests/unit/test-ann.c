/* test-ann.c - the IVF index, int8 and pq4: exact when it probes and
 * re-ranks everything, recall against exact search as an oracle, filters,
 * the same bits on any thread count, and every way a file can be bad
 * (signature, version, checksums, truncation, fields, tables). */
#include "index/ann.h"
#include "core/err.h"
#include "io/io.h"
#include "index/knn.h"
#include "core/rng.h"
#include "core/strmap.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

static char path[256];

static int quant = RS_ANN_INT8; /* of the indexes build() makes */

static int build(const float *x, size_t n, size_t d, size_t nlist, int threads, const char *to)
{
    struct rs_strmap *ids = rs_strmap_new(n);
    for (size_t i = 0; i < n; i++) {
        char id[32];
        int len = snprintf(id, sizeof id, "item%zu", i);
        rs_strmap_put(ids, id, (size_t)len, NULL);
    }
    struct rs_ann_build_opts o = { nlist, quant, 0, 0, 42, threads, NULL, NULL, 0, 0.2 };
    struct rs_writer *w;
    int rc = rs_writer_open(&w, to, 0, 0);
    if (rc == 0 && (rc = rs_ann_build(x, n, d, ids, &o, w)) == 0)
        rc = rs_writer_close(w);
    else if (rc < 0)
        rs_writer_abort(w);
    rs_strmap_free(ids);
    return rc;
}

static char *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    char *b = malloc(*n);
    *n = fread(b, 1, *n, f);
    fclose(f);
    return b;
}

static void spit(const char *p, const char *b, size_t n)
{
    FILE *f = fopen(p, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

/* Opens a modified copy of the index; returns the error code. */
static int open_copy(const char *buf, size_t n)
{
    char p2[300];
    snprintf(p2, sizeof p2, "%s.bad", path);
    spit(p2, buf, n);
    struct rs_ann *a;
    int rc = rs_ann_open(&a, p2);
    rs_ann_close(a);
    unlink(p2);
    return rc;
}

/* Built on 1 and 3 threads: the same file; 2500 queries (3 blocks) on 1
 * and 3 threads: the same results, bit for bit. */
static void same_bits(const float *x, size_t n, size_t d, struct rs_rng *g)
{
    char p3[300];
    snprintf(p3, sizeof p3, "%s.3", path);
    build(x, n, d, 0, 1, path);
    build(x, n, d, 0, 3, p3);
    size_t n1, n3;
    char *b1 = slurp(path, &n1), *b3 = slurp(p3, &n3);
    ok(n1 == n3 && memcmp(b1, b3, n1) == 0, "quant %d built on 1 and 3 threads: the same index file", quant);
    unlink(p3);
    size_t nq = 2500, k = 10;
    float *q = malloc(nq * d * sizeof *q), *sc[2];
    int64_t *ids[2];
    size_t *cnt[2];
    for (int t = 0; t < 2; t++) {
        sc[t] = malloc(nq * k * sizeof **sc);
        ids[t] = malloc(nq * k * sizeof **ids);
        cnt[t] = malloc(nq * sizeof **cnt);
    }
    for (size_t i = 0; i < nq; i++)
        memcpy(q + i * d, x + rs_rng_below(g, n) * d, d * sizeof *q);
    for (size_t i = 0; i < nq * d; i++)
        q[i] += 0.3f * (float)rs_rng_normal(g);
    struct rs_ann *a;
    rs_ann_open(&a, path);
    for (int t = 0; t < 2; t++) {
        struct rs_ann_search_opts o = { 8, 50, t ? 3 : 1 };
        rs_ann_search(a, q, nq, k, &o, NULL, ids[t], sc[t], cnt[t]);
    }
    ok(memcmp(ids[0], ids[1], nq * k * sizeof **ids) == 0 && memcmp(sc[0], sc[1], nq * k * sizeof **sc) == 0 &&
           memcmp(cnt[0], cnt[1], nq * sizeof **cnt) == 0,
       "quant %d: 2500 queries on 1 and 3 threads: the same results, bit for bit", quant);
    rs_ann_close(a);
    for (int t = 0; t < 2; t++)
        free(sc[t]), free(ids[t]), free(cnt[t]);
    free(q);
    free(b1);
    free(b3);
}

/* Recall@10 of approximate ids a against exact ones e (nq × 10). */
static double recall10(const int64_t *e, const int64_t *a, const size_t *cnt, size_t nq)
{
    size_t hit = 0;
    for (size_t i = 0; i < nq; i++)
        for (size_t r = 0; r < 10; r++)
            for (size_t r2 = 0; r2 < cnt[i]; r2++)
                hit += e[i * 10 + r] == a[i * 10 + r2];
    return (double)hit / (double)(nq * 10);
}

/* Recall@10 of 200 queries q against their exact ids e at nprobe 2 and 30,
 * rerank 100. */
static void recall_2_30(const struct rs_ann *a, const float *q, const int64_t *e, double rec[2])
{
    int64_t ids[2000];
    float sc[2000];
    size_t cnt[200], probes[2] = { 2, 30 };
    for (int t = 0; t < 2; t++) {
        struct rs_ann_search_opts o = { probes[t], 100, 2 };
        rs_ann_search(a, q, 200, 10, &o, NULL, ids, sc, cnt);
        rec[t] = recall10(e, ids, cnt, 200);
    }
}

/* Rewrites the checksums of an index image after a patch. */
static void reseal(char *buf, size_t sz)
{
    uint64_t h = XXH3_64bits(buf + 128, sz - 128);
    memcpy(buf + 112, &h, 8);
    h = XXH3_64bits(buf, 120);
    memcpy(buf + 120, &h, 8);
}

/* pq4: exact when everything is probed and re-ranked (x, q: integer data);
 * recall on the clustered x2, q2 (200 queries); the same bits on any
 * thread count; fields and tables a reader must refuse. */
static void check_pq4(const float *x, size_t n, size_t d, const float *q, size_t nq, const float *x2,
                      size_t n2, size_t d2, const float *q2, struct rs_rng *g)
{
    quant = RS_ANN_PQ4;
    size_t k = 10, nb = nq > 200 ? nq : 200; /* result rows for either query set */
    int64_t *ei = malloc(nb * k * sizeof *ei), *ai = malloc(nb * k * sizeof *ai);
    float *es = malloc(nb * k * sizeof *es), *as = malloc(nb * k * sizeof *as);
    size_t *ec = malloc(nb * sizeof *ec), *ac = malloc(nb * sizeof *ac);
    is_int(build(x, n, d, 20, 2, path), 0, "pq4: build 2000 × 8 into 20 partitions");
    struct rs_ann *a;
    is_int(rs_ann_open(&a, path), 0, "pq4: open the index");
    ok(rs_ann_quant(a) == RS_ANN_PQ4 && rs_ann_size(a) == n && rs_ann_nlist(a) == 20,
       "pq4: kind, size, partitions");
    rs_knn_search(q, nq, x, n, d, k, NULL, 1, ei, es, ec);
    struct rs_ann_search_opts all = { 20, n, 2 };
    rs_ann_search(a, q, nq, k, &all, NULL, ai, as, ac);
    ok(memcmp(ei, ai, nq * k * sizeof *ei) == 0 && memcmp(es, as, nq * k * sizeof *es) == 0,
       "pq4: nprobe = all, rerank = all: identical to exact search");
    rs_ann_close(a);

    is_int(build(x2, n2, d2, 0, 2, path), 0, "pq4: build 20000 × 32, default partitions");
    rs_ann_open(&a, path);
    rs_knn_search(q2, 200, x2, n2, d2, 10, NULL, 2, ei, es, ec);
    double rec[2];
    recall_2_30(a, q2, ei, rec);
    ok(rec[1] >= 0.95, "pq4: recall@10 at nprobe 30 of 141, rerank 100: %.3f >= 0.95", rec[1]);
    ok(rec[0] < rec[1], "pq4: fewer probes, lower recall (%.3f < %.3f)", rec[0], rec[1]);
    struct rs_ann_search_opts few = { 30, 10, 2 };
    rs_ann_search(a, q2, 200, 10, &few, NULL, ai, as, ac);
    double r10 = recall10(ei, ai, ac, 200);
    ok(r10 >= 0.6 && r10 < rec[1], "pq4: the codes alone (rerank 10) rank well: recall %.3f", r10);
    rs_ann_close(a);
    same_bits(x2, n2, d2, g);

    size_t sz;
    char *buf = slurp(path, &sz);
    uint32_t sub = 0;
    memcpy(buf + 36, &sub, 4);
    reseal(buf, sz);
    is_int(open_copy(buf, sz), RS_ERR_FORMAT, "pq4: sub-spaces of 0 dims: %s", rs_err_msg());
    sub = 2;
    memcpy(buf + 36, &sub, 4);
    buf[8] = 1;
    reseal(buf, sz);
    is_int(open_copy(buf, sz), RS_ERR_FORMAT, "pq4 in a 1.x file: %s", rs_err_msg());
    buf[8] = 2;
    uint64_t s4;
    memcpy(&s4, buf + 40 + 4 * 8, 8);
    buf[s4 + 8] ^= 1; /* the first partition's block count */
    reseal(buf, sz);
    is_int(open_copy(buf, sz), RS_ERR_FORMAT, "pq4: block offsets off: %s", rs_err_msg());
    buf[s4 + 8] ^= 1;
    reseal(buf, sz);
    is_int(open_copy(buf, sz), 0, "pq4: patched back: opens");
    free(buf);
    free(ei), free(ai), free(es), free(as), free(ec), free(ac);
    quant = RS_ANN_INT8;
}

int main(void)
{
    snprintf(path, sizeof path, "%s/test-ann-%d.idx", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    struct rs_rng g;
    rs_rng_init(&g, 9, 0);

    /* Integer data: quantised scores only pick candidates; with every
     * partition probed and everything re-ranked the result is exact. */
    size_t n = 2000, d = 8, nq = 60, k = 10;
    float *x = malloc(n * d * sizeof *x), *q = malloc(nq * d * sizeof *q);
    for (size_t i = 0; i < n * d; i++)
        x[i] = (float)((int)rs_rng_below(&g, 9) - 4);
    for (size_t i = 0; i < nq * d; i++)
        q[i] = (float)((int)rs_rng_below(&g, 9) - 4);
    is_int(build(x, n, d, 20, 2, path), 0, "build 2000 × 8 into 20 partitions");
    struct rs_ann *a;
    is_int(rs_ann_open(&a, path), 0, "open the index");
    ok(rs_ann_size(a) == n && rs_ann_dims(a) == d && rs_ann_nlist(a) == 20, "size, dims, partitions");
    size_t len;
    const char *id = rs_ann_id(a, 17, &len);
    ok(len == 6 && memcmp(id, "item17", 6) == 0, "ids kept in item order");

    int64_t *ei = malloc(nq * k * sizeof *ei), *ai = malloc(nq * k * sizeof *ai);
    float *es = malloc(nq * k * sizeof *es), *as = malloc(nq * k * sizeof *as);
    size_t *ec = malloc(nq * sizeof *ec), *ac = malloc(nq * sizeof *ac);
    rs_knn_search(q, nq, x, n, d, k, NULL, 1, ei, es, ec);
    struct rs_ann_search_opts so = { 20, n, 2 };
    rs_ann_search(a, q, nq, k, &so, NULL, ai, as, ac);
    int same = 1;
    for (size_t i = 0; i < nq * k; i++)
        same &= ei[i] == ai[i] && es[i] == as[i];
    ok(same, "nprobe = all, rerank = all: identical to exact search");

    /* Deny the exact winners: the index must not return them. */
    uint8_t *deny = calloc(n, 1);
    for (size_t i = 0; i < nq; i++)
        deny[ei[i * k]] = 1;
    struct rs_knn_filter f = { deny, NULL, NULL, NULL };
    rs_ann_search(a, q, nq, k, &so, &f, ai, as, ac);
    int clean = 1;
    for (size_t i = 0; i < nq; i++)
        for (size_t r = 0; r < ac[i]; r++)
            clean &= !deny[ai[i * k + r]];
    ok(clean && ac[0] == k, "deny list honoured, k results kept");
    /* The file truncated under an open index (a server's, cp over it): the
     * index is its own copy, so the search neither dies (SIGBUS under a
     * mapping) nor changes. */
    ok(truncate(path, 0) == 0, "index file truncated while open");
    rs_ann_search(a, q, nq, k, &so, &f, ei, es, ec);
    same = 1;
    for (size_t i = 0; i < nq * k; i++)
        same &= ei[i] == ai[i] && es[i] == as[i];
    ok(same, "an open index answers as before once its file is truncated");
    rs_ann_close(a);

    /* Oracle: clustered gaussian data, recall@10 of a partial probe. */
    size_t n2 = 20000, d2 = 32, nc = 100;
    float *cent = malloc(nc * d2 * sizeof *cent), *x2 = malloc(n2 * d2 * sizeof *x2);
    float *q2 = malloc(200 * d2 * sizeof *q2);
    for (size_t i = 0; i < nc * d2; i++)
        cent[i] = (float)rs_rng_normal(&g);
    for (size_t i = 0; i < n2 + 200; i++) {
        float *row = i < n2 ? x2 + i * d2 : q2 + (i - n2) * d2;
        size_t c = rs_rng_below(&g, nc);
        for (size_t j = 0; j < d2; j++)
            row[j] = cent[c * d2 + j] + 1.2f * (float)rs_rng_normal(&g);
    }
    is_int(build(x2, n2, d2, 0, 2, path), 0, "build 20000 × 32, default partitions");
    rs_ann_open(&a, path);
    is_int(rs_ann_nlist(a), 141, "default partitions: round(sqrt(n))");
    int64_t *e2 = malloc(200 * 10 * sizeof *e2), *a2 = malloc(200 * 10 * sizeof *a2);
    float *s2 = malloc(200 * 10 * sizeof *s2);
    size_t c2[200];
    rs_knn_search(q2, 200, x2, n2, d2, 10, NULL, 2, e2, s2, c2);
    double recall[2];
    recall_2_30(a, q2, e2, recall);
    ok(recall[1] >= 0.95, "recall@10 at nprobe 30 of 141: %.3f >= 0.95", recall[1]);
    ok(recall[0] < recall[1], "fewer probes, lower recall (%.3f < %.3f)", recall[0], recall[1]);
    rs_ann_close(a);
    same_bits(x2, n2, d2, &g);

    /* Bad files. */
    size_t sz;
    char *buf = slurp(path, &sz);
    buf[sz - 70] ^= 1;
    is_int(open_copy(buf, sz), RS_ERR_CORRUPT, "flipped payload bit: corrupt");
    ok(strstr(rs_err_msg(), "payload checksum") != NULL, "message: %s", rs_err_msg());
    buf[sz - 70] ^= 1;
    is_int(open_copy(buf, sz - 64), RS_ERR_CORRUPT, "truncated: corrupt (%s)", rs_err_msg());
    is_int(open_copy(buf, 100), RS_ERR_CORRUPT, "cut inside the header: corrupt");
    buf[40] ^= 1;
    is_int(open_copy(buf, sz), RS_ERR_CORRUPT, "header bit flipped: corrupt");
    buf[40] ^= 1;
    buf[8] = 3; /* major version 3, with a valid header checksum */
    uint64_t h = XXH3_64bits(buf, 120);
    memcpy(buf + 120, &h, 8);
    is_int(open_copy(buf, sz), RS_ERR_VERSION, "newer major version: %s", rs_err_msg());
    buf[0] = 'X';
    is_int(open_copy(buf, sz), RS_ERR_FORMAT, "bad signature: format");
    is_int(open_copy("tiny", 4), RS_ERR_FORMAT, "4 bytes: not an index");
    is_int(rs_ann_open(&a, "/nonexistent/x.idx"), RS_ERR_IO, "missing file: io error");
    struct rs_ann_build_opts bad = { 4, 99, 0, 0, 1, 1, NULL, NULL, 0, 0 };
    is_int(rs_ann_build(x, n, d, NULL, &bad, NULL), RS_ERR_USAGE, "unknown quantisation refused");
    check_pq4(x, n, d, q, nq, x2, n2, d2, q2, &g);
    unlink(path);

    free(buf);
    free(x);
    free(q);
    free(ei);
    free(ai);
    free(es);
    free(as);
    free(ec);
    free(ac);
    free(deny);
    free(cent);
    free(x2);
    free(q2);
    free(e2);
    free(a2);
    free(s2);
    return done_testing();
}
