/* rs-negsample - training examples for the two-tower model: each positive
 * with K sampled or hard negatives and the log-probabilities of the logQ
 * correction. Samplers and formulas: lib/prep/negsample.h; this file reads the
 * events twice (counts, then examples), builds the hard-negative sources
 * and writes the examples stream (schemas/examples.md). */
#include "cli.h"
#include "core/err.h"
#include "io/io.h"
#include "prep/negsample.h"
#include "core/pairset.h"
#include "core/rng.h"
#include "io/rsb.h"
#include "core/strmap.h"
#include "io/tsv.h"
#include "io/twopass.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "rs-negsample [OPTIONS] [EVENTS.tsv]"
#define DEFAULT_K 10
#define DEFAULT_ALPHA 0.75
#define DEFAULT_HARD_K 20
#define DEFAULT_STRATEGY "loguniform"

static struct {
    const char *impressions, *imp_event, *emb, *items, *strategy, *positive;
    struct rs_output out;
    long long k, hard_k;
    double alpha, ratio[RS_NEG_NKINDS];
} opt = { .imp_event = "impression", .strategy = DEFAULT_STRATEGY, .k = DEFAULT_K, .hard_k = DEFAULT_HARD_K,
          .alpha = DEFAULT_ALPHA };

/* The columns of the events and of --impressions (--items: the item column). */
static struct rs_cols cols =
    RS_COLS_INIT(RS_COLS_USER | RS_COLS_ITEM | RS_COLS_EVENT | RS_COLS_TIME | RS_COLS_SESSION);

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Write training examples: every positive event with K negatives drawn from a mix of\n"
           "strategies, and the log-probabilities for the logQ correction. Output columns:\n"
           "user_id, item_id, logq, neg_items, neg_logq (comma lists), then the other input\n"
           "columns. logq = log(count(item) / positives): the positive's training frequency,\n"
           "its chance of being an in-batch negative. neg_logq = log of the mixture's\n"
           "probability of proposing that negative (schemas/examples.md).\n"
           "\n"
           "Strategies (q = the probability of drawing item i):\n"
           "  uniform      1/n over the catalogue (items of the events, impressions, --items)\n"
           "  popularity   count^alpha / sum count^alpha (word2vec's unigram^0.75)\n"
           "  loguniform   ln((r+2)/(r+1)) / ln(n+1), r = popularity rank from 0: damps the\n"
           "               head less steeply than popularity, keeps the tail in play\n"
           "  impressions  uniform over items shown to the user in the positive's session\n"
           "               (--session-col; else its UTC day by --time-col; else any time)\n"
           "               and never among the user's positives (needs --impressions)\n"
           "  nearest      uniform over the positive's --hard-k nearest items by cosine in\n"
           "               --emb, minus the user's positives (exact top-k)\n"
           "A negative is never a positive of its user (catalogue draws are redrawn); draws\n"
           "are with replacement; a hard strategy with nothing to offer for a positive drops\n"
           "out of the mix for it, and neg_items is shorter than K only if nothing is left.\n"
           "\n"
           "Options:\n"
           "  -k, --negatives K        negatives per positive (default %d)\n"
           "      --strategy S[:W],... strategies and mix weights (default %s; weight 1\n"
           "                           when omitted), e.g. loguniform:0.7,impressions:0.3\n"
           "      --alpha A            popularity exponent (default %g)\n"
           "      --positive E1,E2     events that are positives (default: every row, or every\n"
           "                           row whose event is not the impression event)\n"
           "      --impressions FILE   events with the items shown to users\n"
           "      --impression-event E rows of --impressions with this event (default %s;\n"
           "                           all rows when the file has no event column)\n"
           "      --emb FILE           item embeddings (RSB) for nearest\n"
           "      --hard-k N           nearest items per positive item (default %d)\n"
           "      --items FILE         more catalogue items (column item_id), e.g. never seen\n"
           "%s"
           "  -o, --output FILE        write to FILE, atomically (default: stdout)\n"
           "  -z, --zstd               compress the output (default when FILE ends in .zst)\n"
           "      --level N            zstd level 1..19 (default 3)\n"
           RS_SHARD_HELP
           RS_COMMON_HELP
           "\n"
           "The events are read twice (counts, then examples); stdin or a pipe is spooled\n"
           "zstd-compressed to $TMPDIR during the first. Memory: the catalogue, the users, the (user, item) positive\n"
           "pairs, the impression lists and the nearest lists. Row r of the output uses\n"
           "random stream (seed, r), so outputs depend on --seed only; with --shard, r\n"
           "counts the positives of every shard, so a shard's rows are the unsharded ones.\n"
           "\n"
           "Examples:\n"
           "  rs-negsample -k 8 --strategy loguniform train.tsv.zst -o examples.tsv.zst\n"
           "  rs-negsample --positive click,booking --impressions events.tsv.zst \\\n"
           "      --strategy loguniform:0.5,impressions:0.5 events.tsv.zst\n"
           "  rs-negsample --emb item_emb.rsb --strategy uniform:0.8,nearest:0.2 train.tsv\n",
           DEFAULT_K, DEFAULT_STRATEGY, DEFAULT_ALPHA, opt.imp_event, DEFAULT_HARD_K, rs_cli_cols_help(&cols, 27));
}

static void parse_strategy(const char *arg)
{
    memset(opt.ratio, 0, sizeof opt.ratio);
    for (const char *p = arg; *p;) {
        size_t len = strcspn(p, ",");
        const char *colon = memchr(p, ':', len);
        int kind = rs_neg_kind_parse(p, colon ? (size_t)(colon - p) : len);
        if (kind < 0)
            rs_usage_error(SYNOPSIS, "invalid --strategy '%s': %s", arg, rs_err_msg());
        char w[64] = "1";
        if (colon)
            snprintf(w, sizeof w, "%.*s", (int)(len - (size_t)(colon - p) - 1), colon + 1);
        opt.ratio[kind] += rs_opt_double("--strategy", w, 0, 1e9);
        p += len + (p[len] == ',');
    }
}

/* ---- the state built from the inputs ---- */

struct ctx {
    struct rs_strmap *users, *items;
    double *count;
    size_t cap;
    struct rs_pairset *pos;
    struct rs_neg_lists imp;
    size_t *near_off; /* nearest lists: CSR over catalogue items */
    uint32_t *near;
    struct rs_negsampler s;
    int session_mode; /* 0: none, 1: session column, 2: day of the time column */
};

static int is_positive(struct rs_tsv *t, int ec)
{
    size_t n;
    const char *e = rs_tsv_event(t, ec, &n);
    if (!opt.positive)
        return !(n == strlen(opt.imp_event) && memcmp(e, opt.imp_event, n) == 0);
    for (const char *p = opt.positive; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && memcmp(p, e, n) == 0)
            return 1;
        p += len + (p[len] == ',');
    }
    return 0;
}

/* Catalogue index of the current row's item, added with count 0 if new. */
static int put_item(struct ctx *x, struct rs_tsv *t, int ic, uint32_t *item)
{
    const char *id = rs_tsv_get(t, ic);
    size_t n = rs_tsv_len(t, ic);
    if (n == 0 || memchr(id, ',', n))
        return rs_tsv_errf(t, ic, n ? "item id '%s' contains a comma (ids go into lists)" : "empty item id", id);
    int added;
    *item = (uint32_t)rs_strmap_put(x->items, id, n, &added);
    if (*item == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 1024;
        x->count = xrealloc(x->count, x->cap * sizeof *x->count);
    }
    if (added)
        x->count[*item] = 0;
    return 0;
}

/* The positive's session key: session id, UTC day, or "" (any time). */
static int session_key(const struct ctx *x, struct rs_tsv *t, int sc, char *buf, size_t size, const char **key,
                       size_t *len)
{
    *key = "";
    *len = 0;
    if (x->session_mode == 1) {
        *key = rs_tsv_get(t, sc);
        *len = rs_tsv_len(t, sc);
    } else if (x->session_mode == 2) {
        int64_t ts;
        int rc = rs_tsv_get_time(t, sc, &ts);
        if (rc < 0)
            return rc;
        *len = (size_t)snprintf(buf, size, "%lld", (long long)((ts - (((ts % 86400) + 86400) % 86400)) / 86400));
        *key = buf;
    }
    return 0;
}

/* 1st pass over the events: the catalogue, the positives and their counts. */
static int count_pass(struct ctx *x, struct rs_tsv *t)
{
    int rc = 0, uc, ic;
    int ec;
    if (rs_tsv_ncols(t) && ((rc = rs_tsv_require(t, cols.user, &uc)) == 0) &&
        (rc = rs_tsv_require(t, cols.item, &ic)) == 0 &&
        (rc = rs_tsv_event_col(t, cols.event, cols.given & RS_COLS_EVENT, &ec)) == 0) {
        uint32_t item;
        while ((rc = rs_tsv_next(t)) == 0) {
            if (!is_positive(t, ec))
                continue;
            if (rs_tsv_len(t, uc) == 0 && (rc = rs_tsv_errf(t, uc, "empty user id")) < 0)
                break;
            if ((rc = put_item(x, t, ic, &item)) < 0)
                break;
            uint32_t user = (uint32_t)rs_strmap_put(x->users, rs_tsv_get(t, uc), rs_tsv_len(t, uc), NULL);
            x->count[item]++;
            rs_pairset_add(x->pos, user, item);
        }
        rc = rc == RS_ERR_EOF ? 0 : rc;
    }
    return rc;
}

/* ev: the events, for their header. */
static int load_impressions(struct ctx *x, const struct rs_tsv *ev)
{
    struct rs_tsv *t;
    int rc = rs_tsv_open(&t, opt.impressions, 0), uc, ic, sc = -1;
    if (rc < 0)
        return rc;
    /* the session key must exist on both sides */
    if (rs_tsv_col(t, cols.session) >= 0 && rs_tsv_col(ev, cols.session) >= 0)
        x->session_mode = 1;
    else if (rs_tsv_col(t, cols.time) >= 0 && rs_tsv_col(ev, cols.time) >= 0)
        x->session_mode = 2;
    sc = rs_tsv_col(t, x->session_mode == 1 ? cols.session : cols.time);
    int ec = rs_tsv_col(t, cols.event);
    rs_neg_lists_init(&x->imp);
    if (rc == 0 && (rc = rs_tsv_require(t, cols.user, &uc)) == 0 && (rc = rs_tsv_require(t, cols.item, &ic)) == 0)
        while ((rc = rs_tsv_next(t)) == 0) {
            const char *e = ec >= 0 ? rs_tsv_get(t, ec) : NULL, *key;
            int64_t user = rs_strmap_get(x->users, rs_tsv_get(t, uc), rs_tsv_len(t, uc));
            if ((e && strcmp(e, opt.imp_event) != 0) || user < 0)
                continue;
            char buf[32];
            size_t len;
            uint32_t item;
            if ((rc = session_key(x, t, sc, buf, sizeof buf, &key, &len)) < 0 || (rc = put_item(x, t, ic, &item)) < 0)
                break;
            rs_neg_lists_add(&x->imp, (uint32_t)user, key, len, item);
        }
    rs_tsv_close(t);
    return rc == RS_ERR_EOF ? 0 : rc;
}

static int load_items(struct ctx *x)
{
    struct rs_tsv *t;
    int rc = rs_tsv_open(&t, opt.items, 0), ic;
    if (rc < 0)
        return rc;
    uint32_t item;
    if ((rc = rs_tsv_require(t, cols.item, &ic)) == 0)
        while ((rc = rs_tsv_next(t)) == 0 && (rc = put_item(x, t, ic, &item)) == 0)
            ;
    rs_tsv_close(t);
    return rc == RS_ERR_EOF ? 0 : rc;
}

static int load_nearest(struct ctx *x)
{
    struct rs_embset e;
    int rc = rs_embset_load(&e, opt.emb);
    if (rc < 0)
        return rc;
    size_t n = rs_strmap_size(x->items), with_vec;
    uint8_t *want = xmalloc(n);
    for (size_t i = 0; i < n; i++)
        want[i] = x->count[i] > 0;
    rs_neg_nearest(&e, x->items, want, (size_t)opt.hard_k, rs_opts.threads, &x->near_off, &x->near, &with_vec);
    rs_log("nearest: %zu of %zu catalogue items have a vector", with_vec, n);
    free(want);
    rs_embset_free(&e);
    return 0;
}

/* ---- the examples pass ---- */

static int put_list(struct rs_writer *w, const struct ctx *x, const uint32_t *items, const double *logq, size_t n)
{
    int rc = rs_writer_putc(w, '\t');
    for (size_t j = 0; j < n && rc == 0; j++) {
        size_t len;
        const char *id = rs_strmap_key(x->items, items[j], &len);
        rc = rs_tsv_put_list_item(w, "neg_items", j, id, len);
    }
    rc |= rs_writer_putc(w, '\t');
    for (size_t j = 0; j < n; j++)
        rc |= (j ? rs_writer_putc(w, ',') : 0) | rs_writer_put_float(w, logq[j]);
    return rc;
}

static int passed_through(struct rs_tsv *t, size_t i, int uc, int ic)
{
    const char *name = rs_tsv_colname(t, i);
    return (int)i != uc && (int)i != ic && strcmp(name, "logq") && strcmp(name, "neg_items") && strcmp(name, "neg_logq");
}

/* 2nd pass over the events: an example per positive. */
static int example_pass(const struct ctx *x, struct rs_twopass *tp, struct rs_writer *w)
{
    struct rs_tsv *t;
    int rc = rs_twopass_rewind(tp, &t), uc, ic;
    if (rc < 0 || rs_tsv_ncols(t) == 0)
        return rc;
    rs_tsv_require(t, cols.user, &uc);
    rs_tsv_require(t, cols.item, &ic);
    int ec = rs_tsv_col(t, cols.event), sc = rs_tsv_col(t, x->session_mode == 1 ? cols.session : cols.time);
    size_t k = (size_t)opt.k, nc = rs_tsv_ncols(t), short_rows = 0;
    rc = rs_writer_put_field(w, cols.user, strlen(cols.user)) | rs_writer_putc(w, '\t') |
         rs_writer_put_field(w, cols.item, strlen(cols.item)) | rs_writer_printf(w, "\tlogq\tneg_items\tneg_logq");
    for (size_t i = 0; i < nc; i++)
        if (passed_through(t, i, uc, ic))
            rc |= rs_writer_putc(w, '\t') | rs_writer_put_field(w, rs_tsv_colname(t, i), strlen(rs_tsv_colname(t, i)));
    rc |= rs_writer_putc(w, '\n');
    uint32_t *neg = xmalloc((k ? k : 1) * sizeof *neg);
    double *logq = xmalloc((k ? k : 1) * sizeof *logq);
    size_t scratch_n = 1;
    for (size_t i = 0; i < x->imp.nlists; i++)
        scratch_n = x->imp.n[i] > scratch_n ? x->imp.n[i] : scratch_n;
    uint32_t *scratch = xmalloc((scratch_n + (size_t)opt.hard_k) * sizeof *scratch);
    for (uint64_t row = 0; rc == 0 && (rc = rs_tsv_next(t)) == 0;) {
        if (!is_positive(t, ec))
            continue;
        if (!rs_shard_has(&rs_shard_sel, rs_tsv_get(t, uc), rs_tsv_len(t, uc))) {
            row++; /* a positive's draws follow its number in the whole input */
            continue;
        }
        uint32_t user = (uint32_t)rs_strmap_get(x->users, rs_tsv_get(t, uc), rs_tsv_len(t, uc));
        uint32_t item = (uint32_t)rs_strmap_get(x->items, rs_tsv_get(t, ic), rs_tsv_len(t, ic));
        struct rs_neg_query q = { .user = user, .exclude = x->pos };
        char buf[32];
        const char *key;
        size_t len;
        if (x->imp.keys && (rc = session_key(x, t, sc, buf, sizeof buf, &key, &len)) == 0)
            q.hard[0] = rs_neg_lists_get(&x->imp, user, key, len, &q.nhard[0]);
        if (x->near_off) {
            q.hard[1] = x->near + x->near_off[item];
            q.nhard[1] = x->near_off[item + 1] - x->near_off[item];
        }
        struct rs_rng g;
        rs_rng_init(&g, rs_opts.seed, row++);
        size_t got = rs_negsampler_draw(&x->s, &q, &g, k, scratch, neg, logq);
        short_rows += got < k;
        rc |= rs_writer_put_field(w, rs_tsv_get(t, uc), rs_tsv_len(t, uc)) | rs_writer_putc(w, '\t');
        rc |= rs_writer_put_field(w, rs_tsv_get(t, ic), rs_tsv_len(t, ic)) | rs_writer_putc(w, '\t');
        rc |= rs_writer_put_float(w, rs_negsampler_freq_logq(&x->s, item)) | put_list(w, x, neg, logq, got);
        for (size_t i = 0; i < nc; i++)
            if (passed_through(t, i, uc, ic))
                rc |= rs_writer_putc(w, '\t') | rs_writer_put_field(w, rs_tsv_get(t, (int)i), rs_tsv_len(t, (int)i));
        rc |= rs_writer_putc(w, '\n');
    }
    if (short_rows)
        rs_log("warning: %zu positives got fewer than %zu negatives", short_rows, k);
    free(neg), free(logq), free(scratch);
    return rc == RS_ERR_EOF ? 0 : rc;
}

static int build(struct ctx *x, struct rs_tsv *events)
{
    int rc = count_pass(x, events);
    if (rc == 0 && opt.impressions)
        rc = load_impressions(x, events);
    if (rc == 0 && opt.items)
        rc = load_items(x);
    size_t n = rs_strmap_size(x->items);
    if (rc < 0 || n == 0)
        return rc;
    if ((rc = rs_negsampler_init(&x->s, x->count, n, opt.ratio, opt.alpha)) < 0)
        return rs_err_set(RS_ERR_FORMAT, "%s", rs_err_msg());
    if (opt.emb)
        rc = load_nearest(x);
    rs_log("catalogue: %zu items, %zu users, %zu positive pairs, %zu impression lists", n,
           rs_strmap_size(x->users), rs_pairset_size(x->pos), x->imp.nlists);
    return rc;
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        RS_SHARD_LONGOPTS,
        { "negatives", required_argument, 0, 'k' },
        { "strategy", required_argument, 0, 'S' },
        { "alpha", required_argument, 0, 'A' },
        { "positive", required_argument, 0, 'P' },
        { "impressions", required_argument, 0, 'I' },
        { "impression-event", required_argument, 0, 'E' },
        { "emb", required_argument, 0, 'M' },
        { "hard-k", required_argument, 0, 'H' },
        { "items", required_argument, 0, 'C' },
        RS_COLS_LONGOPTS,
        { 0, 0, 0, 0 },
    };
    parse_strategy(opt.strategy);
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS "k:", longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out) || rs_cli_cols(c, optarg, &cols) ||
            rs_cli_shard(c, optarg))
            continue;
        switch (c) {
        case 'k': opt.k = rs_opt_int("--negatives", optarg, 0, 100000); break;
        case 'S': opt.strategy = optarg; parse_strategy(optarg); break;
        case 'A': opt.alpha = rs_opt_double("--alpha", optarg, 0, 100); break;
        case 'P': opt.positive = optarg; break;
        case 'I': opt.impressions = optarg; break;
        case 'E': opt.imp_event = optarg; break;
        case 'M': opt.emb = optarg; break;
        case 'H': opt.hard_k = rs_opt_int("--hard-k", optarg, 1, 100000); break;
        case 'C': opt.items = optarg; break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    if (argc - optind > 1)
        rs_usage_error(SYNOPSIS, "one events input at most");
    if (opt.ratio[RS_NEG_IMPRESSIONS] > 0 && !opt.impressions)
        rs_usage_error(SYNOPSIS, "strategy impressions needs --impressions FILE");
    if (opt.ratio[RS_NEG_NEAREST] > 0 && !opt.emb)
        rs_usage_error(SYNOPSIS, "strategy nearest needs --emb FILE");
    const char *in = optind < argc ? argv[optind] : "-";
    struct ctx x = { .users = rs_strmap_new(1024), .items = rs_strmap_new(1024), .pos = rs_pairset_new(4096) };
    struct rs_twopass *tp = NULL;
    struct rs_tsv *events;
    int rc = rs_twopass_open(&tp, in, 0, &events);
    if (rc == 0)
        rc = build(&x, events);
    struct rs_writer *w = NULL;
    if (rc == 0)
        rc = rs_output_open(&w, &opt.out);
    if (rc == 0) /* an empty catalogue means no positive rows: the header only */
        rc = example_pass(&x, tp, w);
    rs_twopass_close(tp);
    rs_strmap_free(x.users), rs_strmap_free(x.items), rs_pairset_free(x.pos);
    rs_neg_lists_free(&x.imp), rs_negsampler_free(&x.s);
    free(x.count), free(x.near_off), free(x.near);
    if ((rc = rs_writer_finish(w, rc)) < 0)
        rs_die(rc);
    return 0;
}
