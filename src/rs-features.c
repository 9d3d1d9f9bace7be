/* rs-features - per-user or per-item feature tables from events (counts per
 * event class, recency, mean prices, popularity, last-N histories), joined
 * onto the users or items table; --as-of keeps later events out.
 * Columns and formulas: schemas/features.md; aggregates: lib/prep/featagg.h. */
#include "cli.h"
#include "core/err.h"
#include "prep/featagg.h"
#include "io/io.h"
#include "io/jointable.h"
#include "core/strmap.h"
#include "core/timeparse.h"
#include "io/tsv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "rs-features --side user|item [OPTIONS] [EVENTS]"

static struct {
    const char *users, *items, *history_events;
    struct rs_output out;
    const char *price_col;
    const char *classes[RS_FEAT_NCLASS];
    int item_side, side_set, have_as_of, csv;
    int64_t as_of;
    long long history;
} opt = { .price_col = "price", .classes = { "booking,purchase", "click", "favourite", "view,consult" } };

/* The events' columns; the joined --users / --items table has the same id column. */
static struct rs_cols cols = RS_COLS_INIT(RS_COLS_USER | RS_COLS_ITEM | RS_COLS_EVENT | RS_COLS_TIME);

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Feature table of the users (--side user) or the items (--side item) of an events\n"
           "stream, joined onto --users / --items: the table's rows in order with the feature\n"
           "columns appended, then the ids seen only in the events (first seen first).\n"
           "No EVENTS or '-': stdin. Columns and formulas: schemas/features.md.\n"
           "\n"
           "  user side: event_cnt booking_cnt click_cnt favourite_cnt consult_cnt\n"
           "             days_since_last mean_booking_price [history] [history_EVENT...]\n"
           "  item side: item_event_cnt item_booking_cnt item_click_cnt item_favourite_cnt\n"
           "             item_consult_cnt item_popularity item_mean_stock_price item_days_since_last\n"
           "\n"
           "Options:\n"
           "      --side user|item        which table to write (required)\n"
           "      --users FILE            users table to join onto (user side; by --user-col)\n"
           "      --items FILE            items table: joined onto (item side; by --item-col);\n"
           "                              its price column prices events that have none\n"
           "      --as-of TIME            use only events strictly before TIME; recency is\n"
           "                              measured from TIME (default: all events, recency from\n"
           "                              the latest one)\n"
           "      --history N             user side: the last N items, most recent first\n"
           "                              (default 0: no history column)\n"
           "      --history-events LIST   also a history_EVENT column per listed event value\n"
           "      --booking-events LIST   events counted as bookings (default %s)\n"
           "      --click-events LIST     events counted as clicks (default %s)\n"
           "      --favourite-events LIST events counted as favourites (default %s)\n"
           "      --consult-events LIST   events counted as consultations (default %s)\n"
           "      --price-col NAME        price column of events and items (default price)\n"
           "%s"
           "      --csv                   parse inputs as CSV (default: by .csv/.csv.zst name)\n"
           "  -o, --output FILE           write to FILE, atomically (default: stdout)\n"
           "  -z, --zstd                  compress the output (default when FILE ends in .zst)\n"
           "      --level N               zstd level 1..19 (default 3)\n"
           "Sharding (the users; the items with --side item; every event is read):\n"
           RS_SHARD_HELP RS_COMMON_HELP
           "\n"
           "Memory: one accumulator per user or item (64 bytes), 16 bytes per history entry,\n"
           "the joined table; the events are streamed.\n"
           "\n"
           "Examples:\n"
           "  rs-features --side user --users users.tsv --history 20 --as-of 2019-10-25 ev.tsv.zst\n"
           "  rs-features --side item --items items.tsv -o item_features.tsv.zst train.tsv.zst\n",
           opt.classes[0], opt.classes[1], opt.classes[2], opt.classes[3], rs_cli_cols_help(&cols, 30));
}

struct state {
    struct rs_strmap *ents, *items, *events; /* ents == items on the item side */
    unsigned *evmask;                        /* per event value: classes bit mask */
    int *evhist;                             /* per event value: history column or -1 */
    struct rs_feat_table f;
    struct rs_lastn *hist;                   /* [0]: all events, [1 + k]: k-th listed event */
    size_t nhist;
    double *price;                           /* per item: items-table price, NaN if none */
    size_t price_cap, ntable;                /* ntable: ids interned from the tables */
    struct rs_jointable jt;                  /* the joined table, if any */
    int64_t tmax;
    uint64_t total;
};

/* rs_tsv flags of the inputs: CSV with --csv (rs_tsv_open tells by name too). */
static int tsv_flags(void)
{
    return opt.csv ? RS_TSV_CSV : 0;
}

static void set_price(struct state *s, size_t i, double p)
{
    if (i >= s->price_cap) {
        size_t old = s->price_cap;
        s->price_cap = i + 1 > 2 * old ? i + 1 : 2 * old;
        s->price = xrealloc(s->price, s->price_cap * sizeof *s->price);
        for (size_t k = old; k < s->price_cap; k++)
            s->price[k] = NAN;
    }
    s->price[i] = p;
}

/* Items table rows: the item's price, when the table has one. */
static int item_price(void *ctx, struct rs_tsv *t, int64_t id)
{
    struct state *s = ctx;
    double p;
    int pc = rs_tsv_col(t, opt.price_col), rc = 0;
    if (pc >= 0 && rs_tsv_len(t, pc) && (rc = rs_tsv_get_f64(t, pc, &p)) == 0)
        set_price(s, (size_t)id, p);
    return rc;
}

/* Reads the items table (prices; the joined table on the item side), then
 * the users table (joined on the user side): their ids come first. */
static int read_tables(struct state *s)
{
    int rc = 0;
    if (opt.items)
        rc = rs_jointable_load(opt.item_side ? &s->jt : NULL, opt.items, tsv_flags(),
                               cols.item, s->items, item_price, s);
    if (rc == 0 && opt.users)
        rc = rs_jointable_load(&s->jt, opt.users, tsv_flags(), cols.user, s->ents, NULL,
                               NULL);
    s->ntable = rs_strmap_size(s->ents);
    return rc;
}

/* The event value's index, registering a new value with its classes. */
static size_t event_index(struct state *s, const char *ev, size_t len)
{
    int added;
    size_t e = (size_t)rs_strmap_put(s->events, ev, len, &added);
    if (!added)
        return e;
    s->evmask = xrealloc(s->evmask, (e + 1) * sizeof *s->evmask);
    s->evhist = xrealloc(s->evhist, (e + 1) * sizeof *s->evhist);
    s->evmask[e] = 0;
    s->evhist[e] = -1;
    return e;
}

/* Registers the event values of list: in class cls (if >= 0), or each with
 * its own history column (hist). */
static void add_event_list(struct state *s, const char *list, int cls, int hist)
{
    char *copy = xstrdup(list), *save = NULL;
    for (char *ev = strtok_r(copy, ",", &save); ev; ev = strtok_r(NULL, ",", &save)) {
        size_t e = event_index(s, ev, strlen(ev));
        if (cls >= 0)
            s->evmask[e] |= 1u << cls;
        if (hist && s->evhist[e] < 0)
            s->evhist[e] = (int)s->nhist++;
    }
    free(copy);
}

static int read_events(struct state *s, const char *path)
{
    struct rs_tsv *t = NULL;
    int uc, ic, tc, ec, pc, rc = rs_tsv_open(&t, path, tsv_flags());
    if (rc < 0 || rs_tsv_ncols(t) == 0)
        goto out;
    if ((rc = rs_tsv_require(t, cols.user, &uc)) < 0 || (rc = rs_tsv_require(t, cols.item, &ic)) < 0 ||
        (rc = rs_tsv_require(t, cols.time, &tc)) < 0 ||
        (rc = rs_tsv_event_col(t, cols.event, cols.given & RS_COLS_EVENT, &ec)) < 0)
        goto out;
    pc = rs_tsv_col(t, opt.price_col);
    for (uint32_t row = 0; (rc = rs_tsv_next(t)) == 0; row++) {
        int64_t time;
        double price = NAN;
        if ((rc = rs_tsv_get_time(t, tc, &time)) < 0)
            break;
        if (opt.have_as_of && time >= opt.as_of)
            continue;
        int key = opt.item_side ? ic : uc;
        if (rs_tsv_len(t, uc) == 0 || rs_tsv_len(t, ic) == 0) {
            rc = rs_tsv_errf(t, rs_tsv_len(t, uc) ? ic : uc, "empty id");
            break;
        }
        if (s->nhist && memchr(rs_tsv_get(t, ic), ',', rs_tsv_len(t, ic))) {
            rc = rs_tsv_errf(t, ic, "an id in a history list may not contain a comma");
            break;
        }
        size_t e = (size_t)rs_strmap_put(s->ents, rs_tsv_get(t, key), rs_tsv_len(t, key), NULL);
        size_t item = (size_t)rs_strmap_put(s->items, rs_tsv_get(t, ic), rs_tsv_len(t, ic), NULL);
        size_t evn;
        const char *evs = rs_tsv_event(t, ec, &evn);
        size_t ev = event_index(s, evs, evn);
        if (pc >= 0 && rs_tsv_len(t, pc) && (rc = rs_tsv_get_f64(t, pc, &price)) < 0)
            break;
        if (isnan(price) && item < s->price_cap)
            price = s->price[item];
        /* users: mean price of their bookings; items: of all their events */
        if (!opt.item_side && !(s->evmask[ev] & 1u << RS_FEAT_BOOKING))
            price = NAN;
        rs_feat_add(&s->f, e, s->evmask[ev], time, price);
        if (s->nhist) {
            rs_lastn_push(&s->hist[0], e, time, row, (uint32_t)item);
            if (s->evhist[ev] > 0)
                rs_lastn_push(&s->hist[s->evhist[ev]], e, time, row, (uint32_t)item);
        }
        s->tmax = time > s->tmax ? time : s->tmax;
        s->total++;
    }
out:
    if (t)
        rs_tsv_close(t);
    return rc == RS_ERR_EOF ? 0 : rc;
}

static int put_str(struct rs_writer *w, const char *str)
{
    return rs_writer_putc(w, '\t') | rs_writer_put_field(w, str, strlen(str));
}

/* The feature columns' names (after the table's own). */
static int write_header(struct state *s, struct rs_writer *w)
{
    static const char *const user[] = { "event_cnt", "booking_cnt", "click_cnt", "favourite_cnt", "consult_cnt",
                                        "days_since_last", "mean_booking_price" };
    static const char *const item[] = { "item_event_cnt", "item_booking_cnt", "item_click_cnt",
                                        "item_favourite_cnt", "item_consult_cnt", "item_popularity",
                                        "item_mean_stock_price", "item_days_since_last" };
    const char *const *names = opt.item_side ? item : user;
    size_t n = opt.item_side ? 8 : 7;
    const struct rs_jointable *jt = &s->jt;
    for (size_t c = 0; c < jt->ncols; c++) {
        int clash = s->nhist && strncmp(jt->names[c], "history", 7) == 0;
        for (size_t k = 0; k < n; k++)
            clash |= strcmp(jt->names[c], names[k]) == 0;
        if (clash)
            return rs_err_set(RS_ERR_FORMAT, "'%s' already has a column '%s'", opt.item_side ? opt.items : opt.users,
                              jt->names[c]);
    }
    int rc = 0;
    if (jt->ncols == 0)
        rc = rs_writer_put_field(w, opt.item_side ? cols.item : cols.user,
                                 strlen(opt.item_side ? cols.item : cols.user));
    for (size_t c = 0; c < jt->ncols; c++)
        rc |= (c ? rs_writer_putc(w, '\t') : 0) | rs_writer_put_field(w, jt->names[c], strlen(jt->names[c]));
    for (size_t k = 0; k < n; k++)
        rc |= put_str(w, names[k]);
    for (size_t h = 0; h < s->nhist; h++) {
        rc |= put_str(w, "history");
        for (size_t e = 0; h && e < rs_strmap_size(s->events); e++)
            if (s->evhist[e] == (int)h)
                rc |= rs_writer_putc(w, '_') | rs_writer_put_field(w, rs_strmap_key(s->events, (int64_t)e, NULL),
                                                                  strlen(rs_strmap_key(s->events, (int64_t)e, NULL)));
    }
    return rc | rs_writer_putc(w, '\n');
}

static int put_float_or_empty(struct rs_writer *w, int have, double x)
{
    return rs_writer_putc(w, '\t') | (have ? rs_writer_put_float(w, x) : 0);
}

/* The feature fields of entity e (a tab before each). */
static int write_features(struct state *s, size_t e, struct rs_writer *w, uint32_t *buf)
{
    const struct rs_feat_acc *a = rs_feat_at(&s->f, e);
    int rc = rs_writer_printf(w, "\t%llu", (unsigned long long)a->events);
    for (int c = 0; c < RS_FEAT_NCLASS; c++)
        rc |= rs_writer_printf(w, "\t%llu", (unsigned long long)a->cnt[c]);
    int64_t ref = opt.have_as_of ? opt.as_of : s->tmax;
    double days = a->events ? (double)(ref - a->last) / 86400.0 : 0.0;
    double mean = a->price_n ? a->price_sum / (double)a->price_n : 0.0;
    if (opt.item_side)
        rc |= put_float_or_empty(w, 1, s->total ? (double)a->events / (double)s->total : 0.0) |
              put_float_or_empty(w, a->price_n > 0, mean) | put_float_or_empty(w, a->events > 0, days);
    else
        rc |= put_float_or_empty(w, a->events > 0, days) | put_float_or_empty(w, a->price_n > 0, mean);
    for (size_t h = 0; h < s->nhist; h++) {
        size_t n = rs_lastn_get(&s->hist[h], e, buf);
        rc |= rs_writer_putc(w, '\t');
        for (size_t k = 0; k < n && rc == 0; k++) {
            size_t len;
            const char *key = rs_strmap_key(s->items, buf[k], &len);
            rc = rs_tsv_put_list_item(w, "history", k, key, len);
        }
    }
    return rc | rs_writer_putc(w, '\n');
}

static int write_table(struct state *s, struct rs_writer *w)
{
    uint32_t *buf = xmalloc((size_t)(opt.history + 1) * sizeof *buf);
    int rc = write_header(s, w);
    const struct rs_jointable *jt = &s->jt;
    for (size_t r = 0; r < jt->nrows && rc == 0; r++) {
        size_t len;
        const char *key = rs_strmap_key(s->ents, (int64_t)jt->id[r], &len);
        if (!rs_shard_has(&rs_shard_sel, key, len))
            continue;
        rc = rs_jointable_write_row(jt, r, w);
        rc = rc ? rc : write_features(s, (size_t)jt->id[r], w, buf);
    }
    /* then the ids seen only in the events, in first-seen order */
    for (size_t e = s->ntable; e < rs_strmap_size(s->ents) && rc == 0; e++) {
        size_t len;
        const char *key = rs_strmap_key(s->ents, (int64_t)e, &len);
        if (!rs_shard_has(&rs_shard_sel, key, len))
            continue;
        for (size_t c = 0; c < (jt->ncols ? jt->ncols : 1); c++)
            rc |= (c ? rs_writer_putc(w, '\t') : 0) | ((int)c == jt->key_col ? rs_writer_put_field(w, key, len) : 0);
        rc = rc ? rc : write_features(s, e, w, buf);
    }
    free(buf);
    return rc;
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        RS_SHARD_LONGOPTS,
        { "side", required_argument, 0, 'S' },
        { "users", required_argument, 0, 'U' },
        { "items", required_argument, 0, 'T' },
        { "as-of", required_argument, 0, 'A' },
        { "history", required_argument, 0, 'H' },
        { "history-events", required_argument, 0, 'E' },
        { "booking-events", required_argument, 0, 10 + RS_FEAT_BOOKING },
        { "click-events", required_argument, 0, 10 + RS_FEAT_CLICK },
        { "favourite-events", required_argument, 0, 10 + RS_FEAT_FAVOURITE },
        { "consult-events", required_argument, 0, 10 + RS_FEAT_CONSULT },
        { "price-col", required_argument, 0, 'P' },
        RS_COLS_LONGOPTS,
        { "csv", no_argument, 0, 'C' },
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS, longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out) || rs_cli_cols(c, optarg, &cols) ||
            rs_cli_shard(c, optarg))
            continue;
        switch (c) {
        case 'S':
            if (strcmp(optarg, "user") != 0 && strcmp(optarg, "item") != 0)
                rs_usage_error(SYNOPSIS, "invalid --side '%s': expected user or item", optarg);
            opt.item_side = strcmp(optarg, "item") == 0;
            opt.side_set = 1;
            break;
        case 'U': opt.users = optarg; break;
        case 'T': opt.items = optarg; break;
        case 'A':
            if (rs_time_parse(optarg, strlen(optarg), &opt.as_of) < 0)
                rs_usage_error(SYNOPSIS, "invalid --as-of '%s': expected Unix seconds or ISO 8601", optarg);
            opt.have_as_of = 1;
            break;
        case 'H': opt.history = rs_opt_int("--history", optarg, 0, 100000); break;
        case 'E': opt.history_events = optarg; break;
        case 10 + RS_FEAT_BOOKING:
        case 10 + RS_FEAT_CLICK:
        case 10 + RS_FEAT_FAVOURITE:
        case 10 + RS_FEAT_CONSULT: opt.classes[c - 10] = optarg; break;
        case 'P': opt.price_col = optarg; break;
        case 'C': opt.csv = 1; break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    if (!opt.side_set)
        rs_usage_error(SYNOPSIS, "missing --side user|item");
    if (opt.item_side && (opt.users || opt.history || opt.history_events))
        rs_usage_error(SYNOPSIS, "--users, --history and --history-events are for --side user");
    if (opt.history_events && !opt.history)
        rs_usage_error(SYNOPSIS, "--history-events needs --history N");
    if (argc - optind > 1)
        rs_usage_error(SYNOPSIS, "one EVENTS input at most, got %d", argc - optind);

    struct state st = { .tmax = INT64_MIN }, *s = &st;
    s->items = rs_strmap_new(1024);
    s->ents = opt.item_side ? s->items : rs_strmap_new(1024);
    s->events = rs_strmap_new(16);
    rs_feat_init(&s->f);
    for (int k = 0; k < RS_FEAT_NCLASS; k++)
        add_event_list(s, opt.classes[k], k, 0);
    if (opt.history) {
        s->nhist = 1;
        if (opt.history_events)
            add_event_list(s, opt.history_events, -1, 1);
        s->hist = xmalloc(s->nhist * sizeof *s->hist);
        for (size_t h = 0; h < s->nhist; h++)
            rs_lastn_init(&s->hist[h], (size_t)opt.history);
    }
    struct rs_writer *w;
    int rc = rs_output_open(&w, &opt.out);
    if (rc == 0)
        rc = read_tables(s);
    if (rc == 0)
        rc = read_events(s, optind < argc ? argv[optind] : "-");
    if (rc == 0)
        rc = write_table(s, w);
    if ((rc = rs_writer_finish(w, rc)) < 0)
        rs_die(rc);
    for (size_t h = 0; h < s->nhist; h++)
        rs_lastn_free(&s->hist[h]);
    rs_jointable_free(&s->jt);
    free(s->hist);
    free(s->price);
    free(s->evmask);
    free(s->evhist);
    rs_feat_free(&s->f);
    if (s->ents != s->items)
        rs_strmap_free(s->ents);
    rs_strmap_free(s->items);
    rs_strmap_free(s->events);
    return 0;
}
