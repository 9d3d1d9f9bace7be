/* rs-retrieve - top-K items per user by dot product (exact, or through an
 * IVF index), similar items, popularity (global or per user segment), a
 * user's own history, a random baseline; and `rs-retrieve index build`,
 * which writes the IVF index.
 *
 * Queries stream in batches (--batch); the catalogue is held in memory. The
 * item RSB is read whole with rs_embset_load rather than mapped: RSB
 * interleaves ids and vectors in checksummed blocks (and may be zstd), so it
 * cannot be used in place; the IVF index is the mmap-friendly form. */
#include "core/clock.h"
#include "index/ann.h"
#include "index/cands.h"
#include "index/history.h"
#include "cli.h"
#include "core/err.h"
#include "io/io.h"
#include "index/knn.h"
#include "index/pq4.h"
#include "core/rng.h"
#include "io/rsb.h"
#include "core/strmap.h"
#include "io/tsv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SYNOPSIS "rs-retrieve [OPTIONS] --users FILE (--items FILE | --index FILE)\n" \
                 "       rs-retrieve index build --items FILE -o INDEX [OPTIONS]\n" \
                 "       rs-retrieve index tune --index INDEX --users QUERIES [--target-recall R] [-k N]"
#define DEF_K 100
#define DEF_NPROBE 16
#define DEF_BATCH 4096
#define DEF_SUBDIMS 2
#define DEF_THRESHOLD 0.2
#define DEF_TARGET 0.95
#define DEF_TUNE_QUERIES 2048 /* two blocks of queries: two threads at work */

static struct {
    const char *users, *items, *index, *popular, *users_from, *exclude, *allow, *deny;
    const char *history, *segment_col, *segments;
    struct rs_output out;
    const char *query_col;
    long long k, nprobe, rerank, batch, partitions, train_sample, iters, subdims;
    double quantile, half_life; /* half_life in days */
    double threshold;           /* pq4's anisotropic T */
    double target;              /* index tune: recall wanted */
    long long tune_queries;
    int similar, random, build, tune, quant;
} opt = { .k = DEF_K, .nprobe = DEF_NPROBE, .batch = DEF_BATCH, .threshold = DEF_THRESHOLD, .quant = RS_ANN_INT8,
          .target = DEF_TARGET, .tune_queries = DEF_TUNE_QUERIES };

/* The user column of --exclude, --users-from, --segments and of the EVENTS of
 * --history / --segment-col; the item column of --exclude, --allow, --deny,
 * --popular, --history; the timestamp column of EVENTS (--history,
 * --half-life). */
static struct rs_cols cols = RS_COLS_INIT(RS_COLS_USER | RS_COLS_ITEM | RS_COLS_TIME);

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Top-K candidates per query (user) as TSV: user_id, item_id, rank, score (rank from 1,\n"
           "best first, ties to the lower item id in byte order). Queries stream in batches.\n"
           "\n"
           "Sources (one of):\n"
           "      --users FILE       query embeddings (RSB) scored against the items\n"
           "      --similar          the items are the queries: similar items, the item itself\n"
           "                         excluded; first column query_item_id\n"
           "      --popular EVENTS   popularity baseline: items by event count (TSV); with\n"
           "                         --segment-col, by the count among the user's segment\n"
           "      --history EVENTS   the user's own past items (TSV: user_id, item_id, timestamp),\n"
           "                         most recent first; repeat purchases, re-watching\n"
           "      --random           random baseline (seeded) over the catalogue\n"
           "Catalogue:\n"
           "      --items FILE       item embeddings (RSB): exact search\n"
           "      --index FILE       IVF index from 'index build': approximate search\n"
           "      --nprobe N         partitions searched per query (default %d)\n"
           "      --rerank R         candidates re-scored exactly (default max(k, 100))\n"
           "Options:\n"
           "  -k N                   candidates per query (default %d)\n"
           "      --quantile Q       with --popular: only items whose count is at least the\n"
           "                         Q-quantile of the item counts (default 0: all)\n"
           "      --users-from FILE  with --popular/--history/--random: the users (TSV column\n"
           "                         user_id, or RSB); a user listed again gets one list, at its\n"
           "                         first row\n"
           "      --segment-col COL  with --popular: popularity per segment, COL of the users\n"
           "                         table (age band, region...). An item's count in a segment\n"
           "                         counts the events of the segment's users; a user gets the top\n"
           "                         K of their segment, then the global ranking fills in (score\n"
           "                         0, the items' count in the segment) when the segment has\n"
           "                         fewer than K items. A user without a row or with an empty\n"
           "                         value gets the global ranking (score: the global count)\n"
           "      --segments FILE    the users table with --segment-col (default: --users-from,\n"
           "                         whose users are then the queries, in the table's order)\n"
           "      --half-life DAYS   with --popular/--history: an event weighs 2^(-age/DAYS), age\n"
           "                         to the newest event of EVENTS; the score is the weighted\n"
           "                         count. --history without it: newest first, score = -(days\n"
           "                         from the item's last event to the newest event of EVENTS)\n"
           "      --exclude FILE     TSV of (user_id, item_id) pairs never returned (already seen;\n"
           "                         not with --history, whose candidates are seen items)\n"
           "      --allow FILE       TSV with item_id: only these items are returned\n"
           "      --deny FILE        TSV with item_id: these items are never returned\n"
           "%s"
           "      --query-col NAME   first output column (default the --user-col, or\n"
           "                         query_ and the --item-col)\n"
           "      --batch N          queries per batch (default %d)\n"
           "  -o, --output FILE      write to FILE, atomically (default: stdout)\n"
           "  -z, --zstd             compress the output (default when FILE ends in .zst)\n"
           "      --level N          zstd level 1..19 (default 3)\n"
           "index build options:\n"
           "      --partitions P     k-means partitions (default about sqrt(items))\n"
           "      --quant KIND       residual codes: int8 (default; 1 byte per dim), or pq4\n"
           "                         (4-bit product quantisation scored by SIMD table lookups:\n"
           "                         half a byte per sub-space)\n"
           "      --subspace-dims N  pq4: dims per sub-space (default %d: 32 sub-spaces of 16\n"
           "                         centroids for 64 dims)\n"
           "      --threshold T      pq4: T of the score-aware (anisotropic) loss, in units of\n"
           "                         the inner products that matter (default %g; 0: plain PQ)\n"
           "      --train-sample N   items k-means trains on (default 128 per partition)\n"
           "      --iters N          k-means iterations (default 20)\n"
           "index tune options (--index, --users: held-back queries, RSB; -k):\n"
           "      --target-recall R  recall@k against exact search wanted (default %g)\n"
           "      --tune-queries N   queries of --users used (default %d, the first ones)\n"
           "                         For each rerank depth (k, 2k, 5k, 10k, 20k), the fewest\n"
           "                         partitions reaching R, their recall and queries/s; the\n"
           "                         fastest is logged as the options to search with\n"
           "\n"
           "Sharding (queries: the users; the items with --similar):\n"
           RS_SHARD_HELP RS_COMMON_HELP
           "\n"
           "Results do not depend on --threads, nor on --batch while it is a multiple of 256\n"
           "(the queries of a score tile), nor on the CPU's SIMD for a pq4 index (integer sums;\n"
           "RS_PQ4_KERNEL=scalar|avx2|avx512bw forces a kernel the CPU has, named in the log).\n"
           "Format of the index: schemas/ann-index.md; candidates: schemas/candidates.md.\n"
           "\n"
           "Examples:\n"
           "  rs-retrieve --users users.rsb --items items.rsb -k 200 --exclude train.tsv -o cands.tsv.zst\n"
           "  rs-retrieve --similar --items items.rsb -k 20\n"
           "  rs-retrieve --popular train.tsv --quantile 0.99 --users-from test.tsv -k 10\n"
           "  rs-retrieve --popular train.tsv --segment-col region --users-from users.tsv -k 50\n"
           "  rs-retrieve --popular train.tsv --segment-col age --segments users.tsv \\\n"
           "      --users-from test.tsv --half-life 14 --exclude train.tsv -k 50\n"
           "  rs-retrieve --history purchases.tsv --users-from test.tsv -k 20\n"
           "  rs-retrieve --history purchases.tsv --half-life 30 --users-from test.tsv -k 20\n"
           "  rs-retrieve index build --items items.rsb -o items.idx --partitions 1000\n"
           "  rs-retrieve index build --items items.rsb -o items.idx --quant pq4 --partitions 2000\n"
           "  rs-retrieve --users users.rsb --index items.idx --nprobe 32 -k 10\n"
           "  rs-retrieve index tune --index items.idx --users heldout.rsb --target-recall 0.95 -k 10\n",
           DEF_NPROBE, DEF_K, rs_cli_cols_help(&cols, 25), DEF_BATCH, DEF_SUBDIMS, DEF_THRESHOLD, DEF_TARGET,
           DEF_TUNE_QUERIES);
}

/* ---- catalogue and queries ---- */

struct state {
    struct rs_embset items; /* --items, sorted by id */
    struct rs_ann *ann;
    struct rs_popular pop;
    struct rs_segments segs; /* --segment-col */
    struct rs_history hist;
    struct rs_strmap *cat; /* item index -> id of whichever catalogue */
    struct rs_strmap *ann_ids;
    size_t ni;
    uint32_t d;
    struct rs_seen seen;
    uint8_t *deny;
    struct rs_rsb_reader *qrsb;
    struct rs_tsv *qtsv;
    struct rs_strmap *qseen; /* users of a TSV query list already answered */
    size_t next_user;        /* queries from --users-from as the segments table */
    int qcol;
    size_t next_item; /* --similar: next item row to use as a query */
    float *scratch;   /* a query vector nobody needs (baselines from RSB) */
    uint32_t *stamp, gen;
    double search_s, search_cpu; /* wall and process CPU seconds in searches */
};

static void log_kmeans(void *ctx, int run, int iter, double inertia)
{
    (void)ctx;
    (void)run;
    rs_log("k-means iteration %d: inertia %.9g", iter, inertia);
}

/* The users table of --segment-col must be TSV: an RSB regular file is
 * refused by name (a pipe cannot be peeked at and then read again). */
static int refuse_rsb(const char *path)
{
    struct rs_reader *in;
    const unsigned char *p;
    size_t avail;
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || rs_reader_open(&in, path) < 0)
        return 0; /* the table's own reader reports it */
    int rsb = rs_reader_peek(in, 8, &p, &avail) == 0 && rs_rsb_sniff(p, avail);
    rs_reader_close(in);
    return rsb ? rs_err_set(RS_ERR_FORMAT, "'%s' is RSB: --segment-col needs a users table (TSV), "
                                           "given by --segments FILE", path)
               : 0;
}

static int load_catalogue(struct state *s)
{
    int rc = 0;
    if (opt.items) {
        if ((rc = rs_embset_load(&s->items, opt.items)) < 0)
            return rc;
        rs_cands_sort_items(&s->items);
        s->cat = s->items.ids;
        s->ni = s->items.n;
        s->d = s->items.dims;
    }
    if (opt.index) {
        if ((rc = rs_ann_open(&s->ann, opt.index)) < 0)
            return rc;
        s->ni = rs_ann_size(s->ann);
        if (opt.items && s->d != rs_ann_dims(s->ann))
            return rs_err_set(RS_ERR_FORMAT, "'%s' has %u dims, index '%s' %u", opt.items, s->d,
                              opt.index, rs_ann_dims(s->ann));
        s->d = rs_ann_dims(s->ann);
        s->cat = s->ann_ids = rs_strmap_new(s->ni);
        for (size_t i = 0; i < s->ni; i++) {
            size_t len;
            const char *id = rs_ann_id(s->ann, i, &len);
            rs_strmap_put(s->ann_ids, id, len, NULL);
        }
    }
    if (opt.segment_col) {
        const char *path = opt.segments ? opt.segments : opt.users_from;
        if ((rc = refuse_rsb(path)) < 0 ||
            (rc = rs_segments_load(&s->segs, path, cols.user, opt.segment_col)) < 0)
            return rc;
    }
    if (opt.popular) {
        struct rs_popular_opts po = { cols.item, opt.quantile, opt.half_life * 86400, cols.time,
                                      opt.segment_col ? &s->segs : NULL, cols.user };
        if ((rc = rs_popular_load(&s->pop, opt.popular, &po)) < 0)
            return rc;
        if (!opt.random || !s->cat) { /* --random takes --items/--index first */
            s->cat = s->pop.items;
            s->ni = rs_strmap_size(s->pop.items);
        }
    }
    if (opt.history) {
        struct rs_history_opts ho = { cols.user, cols.item, cols.time, opt.half_life * 86400 };
        if ((rc = rs_history_load(&s->hist, opt.history, &ho)) < 0)
            return rc;
        s->cat = s->hist.items;
        s->ni = rs_strmap_size(s->hist.items);
    }
    s->deny = xcalloc(s->ni ? s->ni : 1, 1);
    size_t unknown;
    if (opt.allow) {
        if ((rc = rs_cands_mark_items(opt.allow, cols.item, s->cat, s->deny, &unknown)) < 0)
            return rc;
        for (size_t i = 0; i < s->ni; i++)
            s->deny[i] = !s->deny[i];
    }
    if (opt.deny && (rc = rs_cands_mark_items(opt.deny, cols.item, s->cat, s->deny, &unknown)) < 0)
        return rc;
    if (opt.exclude)
        rc = rs_seen_load(&s->seen, opt.exclude, cols.user, cols.item, s->cat, NULL);
    return rc;
}

static int open_queries(struct state *s)
{
    const char *path = opt.users ? opt.users : opt.users_from;
    if (opt.similar || (opt.segment_col && !opt.segments)) /* the items, or the segments' users */
        return 0;
    struct rs_reader *in;
    const unsigned char *p;
    size_t avail;
    int rc = rs_reader_open(&in, path);
    if (rc == 0 && (rc = rs_reader_peek(in, 8, &p, &avail)) < 0)
        rs_reader_close(in);
    if (rc < 0)
        return rc;
    if (rs_rsb_sniff(p, avail)) {
        if ((rc = rs_rsb_open_reader(&s->qrsb, in)) < 0)
            return rc;
        s->scratch = xmalloc(rs_rsb_dims(s->qrsb) * sizeof *s->scratch);
        if (opt.users && rs_rsb_dims(s->qrsb) != s->d)
            return rs_err_set(RS_ERR_FORMAT, "'%s' has %u dims, the items %u", path,
                              rs_rsb_dims(s->qrsb), s->d);
        return 0;
    }
    if (opt.users)
        return rs_err_set(RS_ERR_FORMAT, "'%s': --users must be RSB (rs-cat --to rsb)", path);
    if ((rc = rs_tsv_open_reader(&s->qtsv, in, 0)) < 0)
        return rc;
    s->qseen = rs_strmap_new(1024);
    return rs_tsv_ncols(s->qtsv) ? rs_tsv_require(s->qtsv, cols.user, &s->qcol) : 0;
}

/* Next query: its id (valid until the next call) and, for searches, vec. */
static int next_query(struct state *s, const char **id, size_t *len, float *vec)
{
    if (opt.similar) {
        if (s->next_item >= s->items.n)
            return RS_ERR_EOF;
        memcpy(vec, s->items.x + s->next_item * s->d, s->d * sizeof *vec);
        *id = rs_strmap_key(s->items.ids, (int64_t)s->next_item++, len);
        return 0;
    }
    if (opt.segment_col && !opt.segments) {
        if (s->next_user >= rs_strmap_size(s->segs.users))
            return RS_ERR_EOF;
        *id = rs_strmap_key(s->segs.users, (int64_t)s->next_user++, len);
        return 0;
    }
    if (s->qrsb)
        return rs_rsb_next(s->qrsb, id, len, vec ? vec : s->scratch);
    if (!rs_tsv_ncols(s->qtsv))
        return RS_ERR_EOF;
    /* A user listed again (one row per interaction) gets one list, at its
     * first appearance, so the output's user blocks stay contiguous. */
    for (;;) {
        int rc = rs_tsv_next(s->qtsv), added;
        if (rc < 0)
            return rc;
        *id = rs_tsv_get(s->qtsv, s->qcol);
        *len = rs_tsv_len(s->qtsv, s->qcol);
        if (*len == 0)
            return rs_tsv_errf(s->qtsv, s->qcol, "empty user id");
        rs_strmap_put(s->qseen, *id, *len, &added);
        if (added)
            return 0;
    }
}

/* ---- one batch ---- */

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

struct batch {
    size_t n, cap, idcap, idlen;
    char *idbuf;
    size_t *idoff; /* n + 1 */
    float *q;
    int64_t *ids, *self;
    uint64_t *qno; /* each query's number in the whole input (--shard skips some) */
    float *scores;
    size_t *counts;
    struct rs_seen_batch excl;
};

static void search_batch(struct state *s, struct batch *b)
{
    size_t k = (size_t)opt.k;
    struct rs_knn_filter f = { s->deny, NULL, NULL, NULL };
    rs_seen_batch_reset(&b->excl);
    for (size_t q = 0; q < b->n; q++) {
        const char *id = b->idbuf + b->idoff[q];
        size_t len = b->idoff[q + 1] - b->idoff[q];
        if (opt.exclude)
            rs_seen_batch_add(&b->excl, &s->seen, id, len);
        if (opt.similar)
            b->self[q] = rs_strmap_get(s->cat, id, len);
    }
    if (opt.exclude) {
        f.excl_off = b->excl.off;
        f.excl = b->excl.item;
    }
    f.self = opt.similar ? b->self : NULL;
    double t0 = rs_now(), c0 = cpu_seconds();
    if (opt.random) {
        for (size_t q = 0; q < b->n; q++) {
            struct rs_rng g;
            rs_rng_init(&g, rs_opts.seed, b->qno[q]);
            b->counts[q] = rs_random_pick(s->ni, k, &f, q, &g, s->stamp, &s->gen, b->ids + q * k,
                                          b->scores + q * k);
        }
    } else if (opt.popular || opt.history) { /* per user: the segment's list, or the history */
        for (size_t q = 0; q < b->n; q++) {
            const char *id = b->idbuf + b->idoff[q];
            size_t len = b->idoff[q + 1] - b->idoff[q];
            int32_t seg = opt.segment_col ? rs_segments_of(&s->segs, id, len) : -1;
            b->counts[q] = opt.history ? rs_history_pick(&s->hist, id, len, k, &f, q, b->ids + q * k,
                                                         b->scores + q * k)
                                       : rs_popular_pick(&s->pop, seg, k, &f, q, b->ids + q * k,
                                                         b->scores + q * k);
        }
    } else if (s->ann) {
        struct rs_ann_search_opts ao = { (size_t)opt.nprobe,
                                         opt.rerank ? (size_t)opt.rerank : (k > 100 ? k : 100),
                                         rs_opts.threads };
        rs_ann_search(s->ann, b->q, b->n, k, &ao, &f, b->ids, b->scores, b->counts);
    } else {
        rs_knn_search(b->q, b->n, s->items.x, s->ni, s->d, k, &f, rs_opts.threads, b->ids, b->scores,
                      b->counts);
    }
    s->search_s += rs_now() - t0;
    s->search_cpu += cpu_seconds() - c0;
}

/* Room for n queries of d dims and k results each: the buffers grow with
 * the queries read, so a --batch beyond the input allocates for the input. */
static void batch_reserve(struct batch *b, size_t n, size_t d, size_t k)
{
    if (n <= b->cap)
        return;
    b->cap = n;
    b->idoff = xrealloc(b->idoff, (n + 1) * sizeof *b->idoff);
    if (d)
        b->q = xrealloc(b->q, n * d * sizeof *b->q);
    b->ids = xrealloc(b->ids, n * k * sizeof *b->ids);
    b->self = xrealloc(b->self, n * sizeof *b->self);
    b->qno = xrealloc(b->qno, n * sizeof *b->qno);
    b->scores = xrealloc(b->scores, n * k * sizeof *b->scores);
    b->counts = xrealloc(b->counts, n * sizeof *b->counts);
}

static int run_queries(struct state *s, struct rs_writer *w)
{
    size_t k = (size_t)opt.k, cap = (size_t)opt.batch;
    int need_vec = !opt.popular && !opt.random && !opt.history;
    struct batch b = { 0 };
    batch_reserve(&b, cap < 256 ? cap : 256, need_vec ? s->d : 0, k);
    uint64_t total = 0, qno = 0;
    int rc = rs_cands_header(w, opt.query_col, cols.item), end = 0;
    while (rc == 0 && !end) {
        b.n = b.idlen = 0;
        b.idoff[0] = 0;
        while (b.n < cap) {
            const char *id;
            size_t len;
            if (b.n == b.cap)
                batch_reserve(&b, cap - b.n < b.cap ? cap : 2 * b.cap, need_vec ? s->d : 0, k);
            if ((rc = next_query(s, &id, &len, need_vec ? b.q + b.n * s->d : NULL)) < 0)
                break;
            if (!rs_shard_has(&rs_shard_sel, id, len)) {
                qno++;
                continue;
            }
            b.qno[b.n] = qno++;
            if (b.idlen + len > b.idcap)
                b.idbuf = xrealloc(b.idbuf, b.idcap = 2 * (b.idlen + len) + 64);
            memcpy(b.idbuf + b.idlen, id, len);
            b.idlen += len;
            b.idoff[++b.n] = b.idlen;
        }
        if (rc == RS_ERR_EOF) {
            rc = 0;
            end = 1;
        }
        if (rc < 0 || b.n == 0)
            break;
        search_batch(s, &b);
        for (size_t q = 0; q < b.n && rc == 0; q++)
            rc = rs_cands_write(w, b.idbuf + b.idoff[q], b.idoff[q + 1] - b.idoff[q], s->cat,
                                b.ids + q * k, b.scores + q * k, b.counts[q]);
        total += b.n;
    }
    if (rc == 0 && need_vec && s->search_s > 0) {
        double flop = s->ann ? 0 : 2.0 * (double)total * (double)s->ni * s->d;
        rs_log("search: %llu queries in %.3f s, %.3f CPU s (%.0f queries/s, %.0f per CPU s)%s%s",
               (unsigned long long)total, s->search_s, s->search_cpu, (double)total / s->search_s,
               (double)total / s->search_cpu, s->ann && rs_ann_quant(s->ann) == RS_ANN_PQ4 ? "; pq4 kernel " : "",
               s->ann && rs_ann_quant(s->ann) == RS_ANN_PQ4 ? rs_pq4_kernel_name() : "");
        if (flop > 0)
            rs_log("search: %.1f GFLOP/s, %.1f GFLOP per CPU s", flop / s->search_s / 1e9,
                   flop / s->search_cpu / 1e9);
    }
    free(b.idbuf);
    free(b.idoff);
    free(b.q);
    free(b.ids);
    free(b.self);
    free(b.qno);
    free(b.scores);
    free(b.counts);
    rs_seen_batch_free(&b.excl);
    return rc;
}

/* ---- index build ---- */

static int build_index(struct rs_writer *w)
{
    struct rs_embset e;
    int rc = rs_embset_load(&e, opt.items);
    if (rc < 0)
        return rc;
    rs_cands_sort_items(&e);
    struct rs_ann_build_opts o = { (size_t)opt.partitions, opt.quant, (size_t)opt.train_sample,
                                   (int)opt.iters, rs_opts.seed, rs_opts.threads, log_kmeans, NULL,
                                   (size_t)opt.subdims, opt.threshold };
    double t0 = rs_now();
    rc = rs_ann_build(e.x, e.n, e.dims, e.ids, &o, w);
    if (rc == 0)
        rs_log("index: %zu items, %u dims built in %.2f s, peak memory %.0f MiB", e.n, e.dims, rs_now() - t0,
               rs_peak_rss_mib());
    rs_embset_free(&e);
    return rc;
}

/* ---- index tune ---- */

struct tune {
    const struct rs_ann *a;
    const float *q;
    size_t nq, k;
    int64_t *truth, *ids;
    float *scores;
    size_t *tcounts, *counts;
};

/* Recall@k of the index at (nprobe, rerank) on the tuning queries, and
 * their rate in *qps. */
static double tune_eval(const struct tune *t, size_t nprobe, size_t rerank, double *qps)
{
    struct rs_ann_search_opts o = { nprobe, rerank, rs_opts.threads };
    double t0 = rs_now();
    rs_ann_search(t->a, t->q, t->nq, t->k, &o, NULL, t->ids, t->scores, t->counts);
    *qps = (double)t->nq / (rs_now() - t0);
    size_t hit = 0, total = 0;
    for (size_t q = 0; q < t->nq; q++) {
        total += t->tcounts[q];
        for (size_t i = 0; i < t->tcounts[q]; i++)
            for (size_t j = 0; j < t->counts[q]; j++)
                hit += t->truth[q * t->k + i] == t->ids[q * t->k + j];
    }
    return total ? (double)hit / (double)total : 1;
}

/* The fewest partitions reaching the target at this rerank depth (doubling,
 * then bisection: recall grows with nprobe); nlist when none does. */
static size_t tune_nprobe(const struct tune *t, size_t rerank)
{
    size_t nl = rs_ann_nlist(t->a), lo = 0, hi = 1; /* lo misses the target, hi is to be tried */
    double qps;
    while (hi < nl && tune_eval(t, hi, rerank, &qps) < opt.target) {
        lo = hi;
        hi *= 2;
    }
    hi = hi > nl ? nl : hi;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tune_eval(t, mid, rerank, &qps) >= opt.target)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

static int tune_index(struct rs_writer *w)
{
    struct rs_ann *a;
    struct rs_embset e = { 0 };
    int rc = rs_ann_open(&a, opt.index);
    if (rc == 0 && (rc = rs_embset_load(&e, opt.users)) == 0 && e.dims != rs_ann_dims(a))
        rc = rs_err_set(RS_ERR_FORMAT, "'%s' has %u dims, index '%s' %u", opt.users, e.dims, opt.index,
                        rs_ann_dims(a));
    if (rc == 0 && e.n == 0)
        rc = rs_err_set(RS_ERR_FORMAT, "'%s' holds no queries", opt.users);
    if (rc < 0) {
        rs_ann_close(a);
        rs_embset_free(&e);
        return rc;
    }
    size_t k = (size_t)opt.k > rs_ann_size(a) ? rs_ann_size(a) : (size_t)opt.k;
    size_t nq = e.n < (size_t)opt.tune_queries ? e.n : (size_t)opt.tune_queries;
    struct tune t = { a, e.x, nq, k, xmalloc(nq * k * sizeof *t.truth), xmalloc(nq * k * sizeof *t.ids),
                      xmalloc(nq * k * sizeof *t.scores), xmalloc(nq * sizeof *t.tcounts),
                      xmalloc(nq * sizeof *t.counts) };
    rs_ann_exact(a, t.q, nq, k, rs_opts.threads, t.truth, t.scores, t.tcounts);
    rc = rs_writer_printf(w, "rerank\tnprobe\trecall\tqueries_per_s\n");
    size_t mult[] = { 1, 2, 5, 10, 20 }, best_np = 0, best_rr = 0;
    double best_qps = 0, best_rec = 0;
    for (size_t i = 0; i < sizeof mult / sizeof *mult && rc == 0; i++) {
        size_t rr = mult[i] * k, np = tune_nprobe(&t, rr);
        double qps, rec = tune_eval(&t, np, rr, &qps);
        rc = rs_writer_printf(w, "%zu\t%zu\t%.4f\t%.0f\n", rr, np, rec, qps);
        if (rec >= opt.target && qps > best_qps) {
            best_np = np, best_rr = rr, best_qps = qps, best_rec = rec;
        }
    }
    if (rc == 0 && best_np)
        rs_log("tune: --nprobe %zu --rerank %zu: recall@%zu %.4f at %.0f queries/s (%zu queries, %d threads)",
               best_np, best_rr, k, best_rec, best_qps, nq, rs_opts.threads);
    else if (rc == 0)
        rs_log("tune: recall@%zu %.2f is out of reach even probing all %zu partitions", k, opt.target,
               rs_ann_nlist(a));
    free(t.truth), free(t.ids), free(t.scores), free(t.tcounts), free(t.counts);
    rs_ann_close(a);
    rs_embset_free(&e);
    return rc;
}

static void state_free(struct state *s)
{
    rs_embset_free(&s->items);
    rs_ann_close(s->ann);
    rs_strmap_free(s->ann_ids);
    if (s->pop.items)
        rs_popular_free(&s->pop);
    if (s->segs.users)
        rs_segments_free(&s->segs);
    if (s->hist.users)
        rs_history_free(&s->hist);
    rs_seen_free(&s->seen);
    free(s->deny);
    rs_rsb_close(s->qrsb);
    if (s->qtsv)
        rs_tsv_close(s->qtsv);
    rs_strmap_free(s->qseen);
    free(s->scratch);
    free(s->stamp);
}

static void check_options(void)
{
    if (opt.build) {
        size_t n = opt.out.path ? strlen(opt.out.path) : 0;
        if (!opt.items || !opt.out.path)
            rs_usage_error(SYNOPSIS, "index build needs --items FILE and -o INDEX");
        if (opt.out.zstd || (n >= 4 && strcmp(opt.out.path + n - 4, ".zst") == 0))
            rs_usage_error(SYNOPSIS, "an index is mapped in place: it cannot be zstd-compressed");
        return;
    }
    if (opt.tune) {
        if (!opt.index || !opt.users)
            rs_usage_error(SYNOPSIS, "index tune needs --index INDEX and --users QUERIES");
        return;
    }
    int sources = !!opt.users + opt.similar + !!opt.popular + opt.random + !!opt.history;
    if (sources == 2 && opt.popular && opt.random)
        sources = 1; /* --random over the items of --popular's events */
    if (sources != 1)
        rs_usage_error(SYNOPSIS, "give exactly one of --users, --similar, --popular, --history, --random");
    if ((opt.users || opt.similar) && !opt.items && !opt.index)
        rs_usage_error(SYNOPSIS, "a search needs --items FILE or --index FILE");
    if (opt.similar && !opt.items)
        rs_usage_error(SYNOPSIS, "--similar needs --items FILE (the queries)");
    if (opt.random && !opt.items && !opt.index && !opt.popular)
        rs_usage_error(SYNOPSIS, "--random needs a catalogue: --items, --index or --popular");
    if ((opt.popular || opt.random || opt.history) && !opt.users_from)
        rs_usage_error(SYNOPSIS, "--popular, --history and --random need --users-from FILE");
    if (opt.history && opt.exclude)
        rs_usage_error(SYNOPSIS, "--exclude does not apply to --history: its candidates are the "
                                 "user's own past items");
    if (opt.segment_col && (!opt.popular || opt.random))
        rs_usage_error(SYNOPSIS, "--segment-col applies to --popular");
    if (opt.segments && !opt.segment_col)
        rs_usage_error(SYNOPSIS, "--segments needs --segment-col COL");
    if (opt.half_life > 0 && (!(opt.popular || opt.history) || opt.random))
        rs_usage_error(SYNOPSIS, "--half-life applies to --popular and --history");
    if ((cols.given & RS_COLS_TIME) && !opt.history && !(opt.half_life > 0))
        rs_usage_error(SYNOPSIS, "--time-col is read only by --history and --half-life");
    if (!opt.query_col && opt.similar) { /* lives until exit, as every option */
        char *q = xmalloc(strlen("query_") + strlen(cols.item) + 1);
        opt.query_col = strcat(strcpy(q, "query_"), cols.item);
    }
    if (!opt.query_col)
        opt.query_col = cols.user;
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        RS_SHARD_LONGOPTS,
        { "users", required_argument, 0, 'U' }, { "items", required_argument, 0, 'I' },
        { "index", required_argument, 0, 'X' }, { "nprobe", required_argument, 0, 'P' },
        { "rerank", required_argument, 0, 'R' }, { "similar", no_argument, 0, 'S' },
        { "popular", required_argument, 0, 'p' }, { "quantile", required_argument, 0, 'Q' },
        { "random", no_argument, 0, 'r' }, { "users-from", required_argument, 0, 'F' },
        { "exclude", required_argument, 0, 'E' }, { "allow", required_argument, 0, 'A' },
        { "deny", required_argument, 0, 'D' }, { "query-col", required_argument, 0, 'c' },
        { "history", required_argument, 0, 'H' }, { "segment-col", required_argument, 0, 'g' },
        { "segments", required_argument, 0, 'e' }, { "half-life", required_argument, 0, 'L' },
        RS_COLS_LONGOPTS,
        { "batch", required_argument, 0, 'b' }, { "partitions", required_argument, 0, 'N' }, { "quant", required_argument, 0, 'T' },
        { "train-sample", required_argument, 0, 'W' }, { "iters", required_argument, 0, 'G' },
        { "subspace-dims", required_argument, 0, 'd' }, { "threshold", required_argument, 0, 'y' },
        { "target-recall", required_argument, 0, 'a' }, { "tune-queries", required_argument, 0, 'n' },
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS "k:", longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out) || rs_cli_cols(c, optarg, &cols) ||
            rs_cli_shard(c, optarg))
            continue;
        switch (c) {
        case 'U': opt.users = optarg; break;
        case 'I': opt.items = optarg; break;
        case 'X': opt.index = optarg; break;
        case 'P': opt.nprobe = rs_opt_int("--nprobe", optarg, 1, INT32_MAX); break;
        case 'R': opt.rerank = rs_opt_int("--rerank", optarg, 1, INT32_MAX); break;
        case 'S': opt.similar = 1; break;
        case 'p': opt.popular = optarg; break;
        case 'Q': opt.quantile = rs_opt_double("--quantile", optarg, 0, 1); break;
        case 'r': opt.random = 1; break;
        case 'F': opt.users_from = optarg; break;
        case 'E': opt.exclude = optarg; break;
        case 'A': opt.allow = optarg; break;
        case 'D': opt.deny = optarg; break;
        case 'c': opt.query_col = optarg; break;
        case 'H': opt.history = optarg; break;
        case 'g': opt.segment_col = optarg; break;
        case 'e': opt.segments = optarg; break;
        case 'L': opt.half_life = rs_opt_double("--half-life", optarg, 1e-6, 1e9); break;
        case 'b': opt.batch = rs_opt_int("--batch", optarg, 1, 1 << 24); break;
        case 'k': opt.k = rs_opt_int("-k", optarg, 1, 1 << 20); break;
        case 'N': opt.partitions = rs_opt_int("--partitions", optarg, 1, INT32_MAX); break;
        case 'T':
            if (strcmp(optarg, "int8") != 0 && strcmp(optarg, "pq4") != 0)
                rs_usage_error(SYNOPSIS, "invalid --quant '%s': expected int8 or pq4", optarg);
            opt.quant = strcmp(optarg, "pq4") == 0 ? RS_ANN_PQ4 : RS_ANN_INT8;
            break;
        case 'd': opt.subdims = rs_opt_int("--subspace-dims", optarg, 1, 64); break;
        case 'y': opt.threshold = rs_opt_double("--threshold", optarg, 0, 1e6); break;
        case 'a': opt.target = rs_opt_double("--target-recall", optarg, 0, 1); break;
        case 'n': opt.tune_queries = rs_opt_int("--tune-queries", optarg, 1, 1 << 24); break;
        case 'W': opt.train_sample = rs_opt_int("--train-sample", optarg, 1, INT64_MAX); break;
        case 'G': opt.iters = rs_opt_int("--iters", optarg, 1, 100000); break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    /* The subcommands "index build" and "index tune" may come anywhere among the options. */
    if (optind < argc && strcmp(argv[optind], "index") == 0) {
        const char *cmd = optind + 1 < argc ? argv[optind + 1] : "";
        opt.build = strcmp(cmd, "build") == 0;
        opt.tune = strcmp(cmd, "tune") == 0;
        if (!opt.build && !opt.tune)
            rs_usage_error(SYNOPSIS, "unknown index command '%s'", cmd);
        optind += 2;
    }
    if (optind < argc)
        rs_usage_error(SYNOPSIS, "unexpected argument '%s'", argv[optind]);
    if ((opt.build || opt.tune) && rs_shard_sel.count > 1)
        rs_usage_error(SYNOPSIS, "--shard splits the queries of a search, not 'index %s'", opt.build ? "build" : "tune");
    check_options();

    struct rs_writer *w;
    int rc = rs_output_open(&w, &opt.out);
    if (rc < 0)
        rs_die(rc);
    struct state s = { 0 };
    if (opt.build) {
        rc = build_index(w);
    } else if (opt.tune) {
        rc = tune_index(w);
    } else if ((rc = load_catalogue(&s)) == 0 && (rc = open_queries(&s)) == 0) {
        /* no query can get more: keep the buffers small */
        opt.k = s.ni ? (long long)rs_opt_cap("-k", opt.k, s.ni, "items") : 1;
        if (opt.random)
            s.stamp = xcalloc(s.ni ? s.ni : 1, sizeof *s.stamp);
        rc = run_queries(&s, w);
    }
    state_free(&s);
    if ((rc = rs_writer_finish(w, rc)) < 0)
        rs_die(rc);
    return 0;
}
