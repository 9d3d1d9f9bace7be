/* rs-prefilter - drop users and items by rules (price, category assortment,
 * recency, popularity, k-core) and map the tail of the catalogue to a
 * placeholder item, reporting what each rule removed. The rules are
 * rs_prefilter_apply (lib/prep/prefilter.h); formats in schemas/prefilter.md. */
#include "cli.h"
#include "core/err.h"
#include "io/io.h"
#include "prep/prefilter.h"
#include "core/strmap.h"
#include "core/timeparse.h"
#include "io/tsv.h"
#include "io/twopass.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "rs-prefilter [OPTIONS] [EVENTS]"
#define DEFAULT_PLACEHOLDER "999999"

static struct {
    const char *items, *report, *map, *placeholder, *recency_events;
    struct rs_output out;
    const char *price_col, *category_col;
    int have_now, csv;
    struct rs_prefilter_rules r;
} opt = { .placeholder = DEFAULT_PLACEHOLDER, .price_col = "price", .category_col = "category",
          .r = { .min_price = -INFINITY, .max_price = INFINITY } };

/* The events' columns (--items: the item column). */
static struct rs_cols cols = RS_COLS_INIT(RS_COLS_USER | RS_COLS_ITEM | RS_COLS_EVENT | RS_COLS_TIME);

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Drop the events of users and items that fail the rules, with a report of the rows,\n"
           "users and items each rule removed (stderr, and --report). Kept rows are written\n"
           "unchanged, every column passed through. No EVENTS or '-': stdin.\n"
           "\n"
           "Rules, applied in this order (each only when asked):\n"
           "  1 price      --min-price X, --max-price Y: drop items priced outside [X, Y]\n"
           "               (price from --items; items without a price are kept)\n"
           "  2 category   --min-category-items M: drop items of categories with fewer than M\n"
           "               items in --items (items without a category are kept)\n"
           "  3 recency    --recency D: drop items with no event in the D before --now (e.g. 365d)\n"
           "  4 popular    --drop-top N|P%%: drop the N (or P%% of the) most popular items\n"
           "  5 unpopular  --drop-bottom N|P%%: drop the least popular ones (4 and 5 both rank\n"
           "               the items left after rule 3; ties: the item seen first ranks higher)\n"
           "  6 kcore      --min-user-interactions N, --min-item-interactions M: drop users with\n"
           "               fewer than N rows and items with fewer than M, repeated until stable\n"
           "  7 top-n      --top-n N: keep the N most popular items, write --placeholder for\n"
           "               every other item (rows kept, so user histories stay complete)\n"
           "\n"
           "Options:\n"
           "      --items FILE            items table (item id, price, category columns)\n"
           "      --price-col NAME        price column of --items (default price)\n"
           "      --category-col NAME     category column of --items (default category)\n"
           "      --now TIME              recency reference (default: the latest timestamp)\n"
           "      --recency-events LIST   events that count for recency, e.g. booking,purchase\n"
           "                              (default: all)\n"
           "      --popularity rows|users popularity = rows, or distinct users (default rows)\n"
           "      --placeholder ID        id of the tail items in top-n (default " DEFAULT_PLACEHOLDER ")\n"
           "      --map FILE              top-n: write item_id, mapped_id for every item left\n"
           "      --report FILE           rule, rows/users/items removed, rows/users/items left\n"
           "%s"
           "      --csv                   parse inputs as CSV (default: by .csv/.csv.zst name)\n"
           "  -o, --output FILE           write to FILE, atomically (default: stdout)\n"
           "  -z, --zstd                  compress the output (default when FILE ends in .zst)\n"
           "      --level N               zstd level 1..19 (default 3)\n" RS_COMMON_HELP
           "\n"
           "Memory: 9 bytes per input row plus the user and item ids; a non-file input (a pipe)\n"
           "is spooled zstd-compressed to $TMPDIR, as the kept rows are written in a 2nd pass.\n"
           "Report and map formats: schemas/prefilter.md.\n"
           "\n"
           "Examples:\n"
           "  rs-prefilter --min-user-interactions 5 --min-item-interactions 5 events.tsv.zst\n"
           "  rs-prefilter --items items.tsv --min-price 1 --max-price 500 --recency 365d \\\n"
           "      --drop-top 1%% --top-n 2500 --map top.tsv --report report.tsv -o out.tsv.zst ev.tsv\n",
           rs_cli_cols_help(&cols, 30));
}

struct state {
    struct rs_strmap *users, *items, *cats, *events;
    struct rs_inter t;
    int64_t *last, tmax; /* last[item]: latest recency-qualifying time */
    double *price;
    int32_t *cat;
    size_t cap;
    uint8_t *mapped;
    struct rs_writer *report;
};

/* rs_tsv flags of input p: CSV with --csv or by name. */
static int tsv_flags(const char *p)
{
    return rs_tsv_flags(p, opt.csv ? RS_TSV_CSV : 0);
}

static int price_rule(void)
{
    return opt.r.min_price > -INFINITY || opt.r.max_price < INFINITY;
}

/* Grows the per-item arrays to cover item i. */
static void cover_item(struct state *s, size_t i)
{
    if (i < s->cap)
        return;
    size_t old = s->cap;
    s->cap = i + 1 > 2 * old ? i + 1 : 2 * old;
    s->last = xrealloc(s->last, s->cap * sizeof *s->last);
    s->price = xrealloc(s->price, s->cap * sizeof *s->price);
    s->cat = xrealloc(s->cat, s->cap * sizeof *s->cat);
    for (size_t k = old; k < s->cap; k++) {
        s->last[k] = INT64_MIN;
        s->price[k] = NAN;
        s->cat[k] = -1;
    }
}

static int64_t intern(struct rs_strmap *m, struct rs_tsv *t, int col, int *rc)
{
    if (rs_tsv_len(t, col) == 0)
        *rc = rs_tsv_errf(t, col, "empty id");
    return rs_strmap_put(m, rs_tsv_get(t, col), rs_tsv_len(t, col), NULL);
}

/* 1st pass: interns the rows, notes each item's latest qualifying time. */
static int read_events(struct state *s, struct rs_tsv *t)
{
    int uc, ic, tc = -1, ec = -1, rc = 0;
    if ((rc = rs_tsv_require(t, cols.user, &uc)) < 0 || (rc = rs_tsv_require(t, cols.item, &ic)) < 0 ||
        (opt.r.recency && (rc = rs_tsv_require(t, cols.time, &tc)) < 0) ||
        (rc = rs_tsv_event_col(t, cols.event, cols.given & RS_COLS_EVENT, &ec)) < 0)
        return rc;
    s->tmax = INT64_MIN;
    while (rc == 0 && (rc = rs_tsv_next(t)) == 0) {
        int64_t u = intern(s->users, t, uc, &rc), i = intern(s->items, t, ic, &rc), time;
        if (rc == 0 && (u >= UINT32_MAX || i >= UINT32_MAX))
            rc = rs_tsv_errf(t, u >= UINT32_MAX ? uc : ic, "more than 2^32 - 1 distinct ids");
        if (rc < 0)
            break;
        rs_inter_add(&s->t, (uint32_t)u, (uint32_t)i);
        cover_item(s, (size_t)i);
        if (tc >= 0 && (rc = rs_tsv_get_time(t, tc, &time)) == 0) {
            s->tmax = time > s->tmax ? time : s->tmax;
            size_t evn;
            const char *ev = rs_tsv_event(t, ec, &evn);
            if ((!s->events || rs_strmap_get(s->events, ev, evn) >= 0) && time > s->last[i])
                s->last[i] = time;
        }
    }
    return rc == RS_ERR_EOF ? 0 : rc;
}

/* The items table: price and category of each item, catalogue items too. */
static int read_items(struct state *s)
{
    struct rs_tsv *t;
    int ic, pc = -1, cc = -1, rc = rs_tsv_open(&t, opt.items, tsv_flags(opt.items));
    if (rc < 0)
        return rc;
    if ((rc = rs_tsv_require(t, cols.item, &ic)) < 0 ||
        (price_rule() && (rc = rs_tsv_require(t, opt.price_col, &pc)) < 0) ||
        (opt.r.min_category_items && (rc = rs_tsv_require(t, opt.category_col, &cc)) < 0)) {
        rs_tsv_close(t);
        return rc;
    }
    while ((rc = rs_tsv_next(t)) == 0) {
        int64_t i = intern(s->items, t, ic, &rc);
        if (rc < 0)
            break;
        cover_item(s, (size_t)i);
        if (pc >= 0 && rs_tsv_len(t, pc) && (rc = rs_tsv_get_f64(t, pc, &s->price[i])) < 0)
            break;
        if (cc >= 0 && rs_tsv_len(t, cc))
            s->cat[i] = (int32_t)rs_strmap_put(s->cats, rs_tsv_get(t, cc), rs_tsv_len(t, cc), NULL);
    }
    rs_tsv_close(t);
    return rc == RS_ERR_EOF ? 0 : rc;
}

/* Logs a rule's step and adds it to --report. */
static int report(void *ctx, const struct rs_prefilter_step *p)
{
    struct state *s = ctx;
    unsigned long long v[6] = { p->removed.rows, p->removed.users, p->removed.items,
                                p->left.rows,    p->left.users,    p->left.items };
    rs_log("%-9s removed %llu rows, %llu users, %llu items; left %llu rows, %llu users, %llu items", p->rule, v[0],
           v[1], v[2], v[3], v[4], v[5]);
    if (!s->report)
        return 0;
    return rs_writer_put_text(s->report, p->rule) |
           rs_writer_printf(s->report, "\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\n", v[0], v[1], v[2], v[3], v[4], v[5]);
}

/* Top-n: checks the placeholder, writes --map (most popular first). */
static int top_n_map(struct state *s)
{
    size_t ni = s->t.nitems;
    uint64_t *pop = xcalloc(ni + 1, sizeof *pop);
    uint32_t *order = xcalloc(ni + 1, sizeof *order);
    rs_inter_popularity(&s->t, opt.r.popularity_users, pop);
    size_t m = rs_inter_rank_items(&s->t, pop, order);
    int64_t p = rs_strmap_get(s->items, opt.placeholder, strlen(opt.placeholder));
    struct rs_writer *w = NULL;
    int rc = 0;
    if (p >= 0 && pop[p] && !s->mapped[p])
        rc = rs_err_set(RS_ERR_FORMAT, "placeholder '%s' is an item among the top %llu; choose another --placeholder",
                        opt.placeholder, (unsigned long long)opt.r.top_n);
    if (rc == 0 && opt.map && (rc = rs_writer_open(&w, opt.map, 0, 0)) == 0)
        rc = rs_writer_put_text(w, cols.item) | rs_writer_printf(w, "\tmapped_id\tpopularity\n");
    for (size_t k = 0; w && k < m && rc == 0; k++) {
        size_t len;
        const char *key = rs_strmap_key(s->items, order[k], &len);
        rc = rs_writer_put_field(w, key, len) | rs_writer_putc(w, '\t');
        rc |= s->mapped[order[k]] ? rs_writer_put_text(w, opt.placeholder) : rs_writer_put_field(w, key, len);
        rc |= rs_writer_printf(w, "\t%llu\n", (unsigned long long)pop[order[k]]);
    }
    free(pop);
    free(order);
    return w ? rs_writer_finish(w, rc) : rc;
}

/* 2nd pass: the live rows, in input order, with top-n items mapped. */
static int write_output(struct state *s, struct rs_twopass *tp, struct rs_writer *w)
{
    struct rs_tsv *t;
    int ic, rc = rs_twopass_rewind(tp, &t);
    if (rc == 0 && rs_tsv_ncols(t) == 0)
        return 0;
    for (size_t c = 0; rc == 0 && c < rs_tsv_ncols(t); c++)
        rc = (c ? rs_writer_putc(w, '\t') : 0) |
             rs_writer_put_field(w, rs_tsv_colname(t, c), strlen(rs_tsv_colname(t, c)));
    if (rc == 0 && (rc = rs_writer_putc(w, '\n')) == 0)
        rc = rs_tsv_require(t, cols.item, &ic);
    size_t k = 0;
    for (; rc == 0 && k < s->t.n && (rc = rs_tsv_next(t)) == 0; k++) {
        if (!s->t.live[k])
            continue;
        for (size_t c = 0; c < rs_tsv_ncols(t); c++) {
            int mapped = (int)c == ic && s->mapped && s->mapped[s->t.item[k]];
            const char *f = mapped ? opt.placeholder : rs_tsv_get(t, (int)c);
            size_t n = mapped ? strlen(f) : rs_tsv_len(t, (int)c);
            rc |= (c ? rs_writer_putc(w, '\t') : 0) | rs_writer_put_field(w, f, n);
        }
        rc |= rs_writer_putc(w, '\n');
    }
    if (rc == 0 && k == s->t.n)
        rc = rs_tsv_next(t) == RS_ERR_EOF ? 0 : RS_ERR_EOF;
    if (rc == RS_ERR_EOF)
        rc = rs_err_set(RS_ERR_IO, "'%s' changed between the two passes", rs_tsv_name(t));
    return rc;
}

static int run(struct state *s, const char *path, struct rs_writer *w)
{
    struct rs_twopass *tp;
    struct rs_tsv *t;
    int flags = tsv_flags(path), rc = rs_twopass_open(&tp, path, flags, &t);
    if (rc < 0)
        return rc;
    if (rs_tsv_ncols(t) > 0)
        rc = read_events(s, t);
    if (rc == 0 && opt.items)
        rc = read_items(s);
    s->t.nitems = rs_strmap_size(s->items);
    s->mapped = xcalloc(s->t.nitems + 1, 1);
    struct rs_prefilter_items it = { s->price, s->cat, s->last };
    opt.r.now = opt.have_now ? opt.r.now : s->tmax;
    if (rc == 0 && rs_tsv_ncols(t) > 0)
        rc = rs_prefilter_apply(&s->t, &opt.r, &it, s->mapped, report, s);
    if (rc == 0)
        rc = write_output(s, tp, w);
    /* the output is committed only after this returns 0: a failing map aborts it */
    if (rc == 0 && opt.r.top_n && s->t.n)
        rc = top_n_map(s);
    rs_twopass_close(tp);
    return rc;
}

static struct rs_prefilter_cut parse_cut(const char *flag, const char *arg)
{
    size_t n = strlen(arg);
    struct rs_prefilter_cut c = { 0, n > 0 && arg[n - 1] == '%' };
    char *num = xstrndup(arg, n - (size_t)c.pct);
    c.v = c.pct ? rs_opt_double(flag, num, 0, 100) : (double)rs_opt_int(flag, num, 0, INT64_MAX);
    free(num);
    return c;
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        { "items", required_argument, 0, 'T' },
        { "price-col", required_argument, 0, 'P' },
        { "category-col", required_argument, 0, 'K' },
        { "min-price", required_argument, 0, 'a' },
        { "max-price", required_argument, 0, 'b' },
        { "min-category-items", required_argument, 0, 'M' },
        { "recency", required_argument, 0, 'R' },
        { "now", required_argument, 0, 'N' },
        { "recency-events", required_argument, 0, 'E' },
        { "drop-top", required_argument, 0, 't' },
        { "drop-bottom", required_argument, 0, 'w' },
        { "popularity", required_argument, 0, 'p' },
        { "min-user-interactions", required_argument, 0, 'U' },
        { "min-item-interactions", required_argument, 0, 'I' },
        { "top-n", required_argument, 0, 'n' },
        { "placeholder", required_argument, 0, 'H' },
        { "map", required_argument, 0, 'G' },
        { "report", required_argument, 0, 'r' },
        RS_COLS_LONGOPTS,
        { "csv", no_argument, 0, 'C' },
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS, longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out) || rs_cli_cols(c, optarg, &cols))
            continue;
        switch (c) {
        case 'T': opt.items = optarg; break;
        case 'P': opt.price_col = optarg; break;
        case 'K': opt.category_col = optarg; break;
        case 'a': opt.r.min_price = rs_opt_double("--min-price", optarg, -INFINITY, INFINITY); break;
        case 'b': opt.r.max_price = rs_opt_double("--max-price", optarg, -INFINITY, INFINITY); break;
        case 'M': opt.r.min_category_items = (uint64_t)rs_opt_int("--min-category-items", optarg, 0, INT64_MAX); break;
        case 'R':
            if (rs_duration_parse(optarg, &opt.r.recency) < 0 || opt.r.recency <= 0)
                rs_usage_error(SYNOPSIS, "invalid --recency '%s': expected a duration such as 365d", optarg);
            break;
        case 'N':
            if (rs_time_parse(optarg, strlen(optarg), &opt.r.now) < 0)
                rs_usage_error(SYNOPSIS, "invalid --now '%s': expected Unix seconds or ISO 8601", optarg);
            opt.have_now = 1;
            break;
        case 'E': opt.recency_events = optarg; break;
        case 't': opt.r.top = parse_cut("--drop-top", optarg); break;
        case 'w': opt.r.bottom = parse_cut("--drop-bottom", optarg); break;
        case 'p':
            if (strcmp(optarg, "rows") != 0 && strcmp(optarg, "users") != 0)
                rs_usage_error(SYNOPSIS, "invalid --popularity '%s': expected rows or users", optarg);
            opt.r.popularity_users = strcmp(optarg, "users") == 0;
            break;
        case 'U': opt.r.min_user = (uint64_t)rs_opt_int("--min-user-interactions", optarg, 0, INT64_MAX); break;
        case 'I': opt.r.min_item = (uint64_t)rs_opt_int("--min-item-interactions", optarg, 0, INT64_MAX); break;
        case 'n': opt.r.top_n = (uint64_t)rs_opt_int("--top-n", optarg, 1, UINT32_MAX); break;
        case 'H': opt.placeholder = optarg; break;
        case 'G': opt.map = optarg; break;
        case 'r': opt.report = optarg; break;
        case 'C': opt.csv = 1; break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    if ((price_rule() || opt.r.min_category_items) && !opt.items)
        rs_usage_error(SYNOPSIS, "--min-price, --max-price and --min-category-items need --items FILE");
    if ((opt.have_now || opt.recency_events) && !opt.r.recency)
        rs_usage_error(SYNOPSIS, "--now and --recency-events go with --recency");
    if (opt.map && !opt.r.top_n)
        rs_usage_error(SYNOPSIS, "--map goes with --top-n");
    if (!*opt.placeholder || strpbrk(opt.placeholder, "\t\n\r\\,"))
        rs_usage_error(SYNOPSIS, "invalid --placeholder '%s'", opt.placeholder);
    if (argc - optind > 1)
        rs_usage_error(SYNOPSIS, "one EVENTS input at most, got %d", argc - optind);

    struct state st = { 0 }, *s = &st;
    s->users = rs_strmap_new(1024);
    s->items = rs_strmap_new(1024);
    s->cats = rs_strmap_new(64);
    rs_inter_init(&s->t);
    if (opt.recency_events) {
        s->events = rs_strmap_new(8);
        char *list = xstrdup(opt.recency_events), *save = NULL;
        for (char *e = strtok_r(list, ",", &save); e; e = strtok_r(NULL, ",", &save))
            rs_strmap_put(s->events, e, strlen(e), NULL);
        free(list);
    }
    struct rs_writer *w;
    int rc = rs_output_open(&w, &opt.out);
    if (rc == 0 && opt.report && (rc = rs_writer_open(&s->report, opt.report, 0, 0)) == 0)
        rc = rs_writer_printf(s->report, "rule\trows_removed\tusers_removed\titems_removed\trows\tusers\titems\n");
    if (rc == 0)
        rc = run(s, optind < argc ? argv[optind] : "-", w);
    if (rc == 0 && s->report) {
        rc = rs_writer_close(s->report);
        s->report = NULL;
    }
    if (rc < 0)
        rs_writer_abort(s->report);
    if ((rc = rs_writer_finish(w, rc)) < 0)
        rs_die(rc);
    rs_inter_free(&s->t);
    free(s->last);
    free(s->price);
    free(s->cat);
    free(s->mapped);
    rs_strmap_free(s->users);
    rs_strmap_free(s->items);
    rs_strmap_free(s->cats);
    rs_strmap_free(s->events);
    return 0;
}
