/* rs-split - split an event stream into windows without leakage: by time
 * (a cutoff, relative windows, the last N days), per user (last N, last
 * fraction, random fraction) or by event type. One file per window. */
#include "cli.h"
#include "core/err.h"
#include "io/io.h"
#include "prep/split.h"
#include "core/strmap.h"
#include "core/timeparse.h"
#include "io/tsv.h"
#include "io/twopass.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "rs-split -o DIR (--cutoff T | --windows SPEC | --last-days N | --per-user-last N |\n" \
                 "       --per-user-frac F | --random-per-user F | --by-event SPEC) [OPTIONS] [FILE]"
#define DEFAULT_MIN_TRAIN 0

enum mode { M_NONE, M_CUTOFF, M_WINDOWS, M_LAST_DAYS, M_BY_EVENT, M_PER_USER };

static struct {
    const char *spec, *end, *input;
    struct rs_output out;
    int mode, csv;
    int64_t cutoff, last_days;
    struct rs_split_per_user pu;
} opt = { .pu = { .min_train = DEFAULT_MIN_TRAIN } };

/* The timestamp column; the user column (per-user modes, the report) and the
 * event column (--by-event). */
static struct rs_cols cols = RS_COLS_INIT(RS_COLS_USER | RS_COLS_EVENT | RS_COLS_TIME);

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Split an event stream (TSV or CSV, zstd or not) into windows, one file per window\n"
           "DIR/NAME.tsv, with the input's header and columns; rows keep their input order.\n"
           "Counts per window (events, users, first and last timestamp) go to stderr.\n"
           "\n"
           "Modes (exactly one):\n"
           "  --cutoff TIME          train: timestamp < TIME; test: timestamp >= TIME\n"
           "  --windows SPEC         consecutive windows counted back from the end, oldest\n"
           "                         first: 'old|6w|3w' = everything before | 6 weeks | the\n"
           "                         last 3 weeks; name them with 'train=old|valid=6w|test=3w'\n"
           "                         (default names: the text). Durations: 90s 15m 6h 3d 6w.\n"
           "                         Without 'old', older events are dropped.\n"
           "  --last-days N          train: before the last N days; test: the last N days\n"
           "  --per-user-last N      test: each user's last N events by timestamp; train: rest\n"
           "  --per-user-frac F      test: each user's last max(1, floor(F x count)) events\n"
           "  --random-per-user F    test: max(1, floor(F x count)) of each user's events at\n"
           "                         random (--seed); train: the rest\n"
           "  --by-event SPEC        windows by event word: 'train=click,favourite|valid=booking';\n"
           "                         unlisted events are dropped\n"
           "\n"
           "Options:\n"
           "  -o, --output DIR       output directory (required); written atomically\n"
           "      --end TIME         end of --windows/--last-days (exclusive; default: the\n"
           "                         newest timestamp + 1 s)\n"
           "      --min-train K      per-user modes: leave each user at least K train events\n"
           "                         (default %d)\n"
           "%s"
           "      --csv              parse the input as CSV (default: by .csv/.csv.zst name)\n"
           "  -z, --zstd             compress the outputs (NAME.tsv.zst)\n"
           "      --level N          zstd level 1..19 (default 3)\n"
           RS_COMMON_HELP
           "\n"
           "Time modes stream (memory O(users)); --windows and --last-days read the input\n"
           "twice unless --end is given (first for the newest timestamp; stdin or a pipe is\n"
           "spooled zstd-compressed to $TMPDIR). Per-user modes hold the whole input in\n"
           "memory (its size plus about 64 bytes an event). Ties in timestamp keep input\n"
           "order. Window boundaries: an event at exactly the cutoff is in test.\n"
           "\n"
           "Examples:\n"
           "  rs-split --cutoff '2019-12-01' -o win events.tsv.zst\n"
           "  rs-split --windows 'old|6w|3w' -o retail transactions.tsv\n"
           "  rs-split --per-user-frac 0.2 -o ml ratings.tsv     # MovieLens protocol\n"
           "  rs-split --by-event 'train=click|valid=booking' -o pc events.tsv\n"
           "  rs-split --cutoff 2019-12-01 -o t events.tsv &&\n"
           "    rs-split --by-event 'valid=booking' -o v t/test.tsv  # later bookings only\n",
           DEFAULT_MIN_TRAIN, rs_cli_cols_help(&cols, 25));
}

static void set_mode(int mode, const char *flag)
{
    if (opt.mode != M_NONE)
        rs_usage_error(SYNOPSIS, "%s: only one split mode at a time", flag);
    opt.mode = mode;
}

static int64_t opt_time(const char *flag, const char *arg)
{
    int64_t t;
    if (rs_time_parse(arg, strlen(arg), &t) < 0)
        rs_usage_error(SYNOPSIS, "invalid %s '%s': expected Unix seconds or ISO 8601", flag, arg);
    return t;
}

static void parse(int argc, char **argv)
{
    enum { O_CUTOFF = 256, O_WINDOWS, O_LASTDAYS, O_PUL, O_PUF, O_RPU, O_BYEV, O_END, O_MINTRAIN,
           O_CSV };
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        { "cutoff", required_argument, 0, O_CUTOFF },
        { "windows", required_argument, 0, O_WINDOWS }, { "last-days", required_argument, 0, O_LASTDAYS },
        { "per-user-last", required_argument, 0, O_PUL }, { "per-user-frac", required_argument, 0, O_PUF },
        { "random-per-user", required_argument, 0, O_RPU }, { "by-event", required_argument, 0, O_BYEV },
        { "end", required_argument, 0, O_END }, { "min-train", required_argument, 0, O_MINTRAIN },
        RS_COLS_LONGOPTS, { "csv", no_argument, 0, O_CSV },
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS, longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out) || rs_cli_cols(c, optarg, &cols))
            continue;
        switch (c) {
        case O_CUTOFF: set_mode(M_CUTOFF, "--cutoff"); opt.cutoff = opt_time("--cutoff", optarg); break;
        case O_WINDOWS: set_mode(M_WINDOWS, "--windows"); opt.spec = optarg; break;
        case O_LASTDAYS:
            set_mode(M_LAST_DAYS, "--last-days");
            opt.last_days = rs_opt_int("--last-days", optarg, 1, 1000000);
            break;
        case O_PUL:
            set_mode(M_PER_USER, "--per-user-last");
            opt.pu.mode = RS_SPLIT_LAST_N;
            opt.pu.n = (uint64_t)rs_opt_int("--per-user-last", optarg, 1, INT64_MAX);
            break;
        case O_PUF:
            set_mode(M_PER_USER, "--per-user-frac");
            opt.pu.mode = RS_SPLIT_LAST_FRAC;
            opt.pu.frac = rs_opt_double("--per-user-frac", optarg, 0, 1);
            break;
        case O_RPU:
            set_mode(M_PER_USER, "--random-per-user");
            opt.pu.mode = RS_SPLIT_RANDOM;
            opt.pu.frac = rs_opt_double("--random-per-user", optarg, 0, 1);
            break;
        case O_BYEV: set_mode(M_BY_EVENT, "--by-event"); opt.spec = optarg; break;
        case O_END: opt.end = optarg; break;
        case O_MINTRAIN: opt.pu.min_train = (uint64_t)rs_opt_int("--min-train", optarg, 0, INT64_MAX); break;
        case O_CSV: opt.csv = 1; break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    if (argc - optind > 1)
        rs_usage_error(SYNOPSIS, "one input at most (got %d)", argc - optind);
    opt.input = optind < argc ? argv[optind] : "-";
    if (opt.mode == M_NONE)
        rs_usage_error(SYNOPSIS, "no split mode given");
    if (!opt.out.path)
        rs_usage_error(SYNOPSIS, "no output directory; use -o DIR");
    if (opt.end && opt.mode != M_WINDOWS && opt.mode != M_LAST_DAYS)
        rs_usage_error(SYNOPSIS, "--end only applies to --windows and --last-days");
    if (opt.mode == M_PER_USER && opt.pu.mode != RS_SPLIT_LAST_N && !(opt.pu.frac > 0))
        rs_usage_error(SYNOPSIS, "the per-user fraction must be in (0, 1]");
    opt.pu.seed = rs_opts.seed;
}

static int input_flags(void)
{
    return rs_tsv_flags(opt.input, opt.csv ? RS_TSV_CSV : 0);
}

/* First pass of --windows / --last-days: the newest timestamp. */
static int newest(struct rs_tsv *t, int64_t *end)
{
    int col, rc;
    int64_t ts, max = INT64_MIN;
    if ((rc = rs_tsv_require(t, cols.time, &col)) == 0)
        while ((rc = rs_tsv_next(t)) == 0 && (rc = rs_tsv_get_time(t, col, &ts)) == 0)
            max = ts > max ? ts : max;
    *end = max == INT64_MIN ? 0 : max + 1;
    return rc == RS_ERR_EOF ? 0 : rc;
}

/* Opens the input; given end, reads it once for the newest timestamp and
 * returns its second pass in *t (a pipe is spooled by *tp for it). */
static int open_input(struct rs_twopass **tp, struct rs_tsv **t, int64_t *end)
{
    if (!end)
        return rs_tsv_open(t, opt.input, input_flags());
    int rc = rs_twopass_open(tp, opt.input, input_flags(), t);
    rc = rc ? rc : newest(*t, end);
    return rc ? rc : rs_twopass_rewind(*tp, t);
}

static void close_input(struct rs_twopass *tp, struct rs_tsv *t)
{
    if (tp)
        rs_twopass_close(tp); /* it owns t */
    else
        rs_tsv_close(t);
}

/* ---- rows and the report ---- */

struct line {
    char *s;
    size_t len, cap;
};

/* Appends the current row (or the header) as one TSV line. */
static void add_row(struct line *l, const struct rs_tsv *t, int header)
{
    for (size_t i = 0; i < rs_tsv_ncols(t); i++) {
        const char *f = header ? rs_tsv_colname(t, i) : rs_tsv_get(t, (int)i);
        size_t n = header ? strlen(f) : rs_tsv_len(t, (int)i);
        if (l->len + 2 * n + 2 > l->cap) { /* an escaped field, a tab or the newline */
            l->cap = 2 * (l->len + 2 * n + 2);
            l->s = xrealloc(l->s, l->cap);
        }
        l->len += rs_field_escape(l->s + l->len, f, n);
        l->s[l->len++] = i + 1 < rs_tsv_ncols(t) ? '\t' : '\n';
    }
}

static void report(const struct rs_split_out *o, const struct rs_split_windows *w)
{
    char a[32], b[32];
    for (size_t k = 0; k < o->n; k++) {
        if (o->count[k] == 0) {
            rs_log("%s: 0 events", w->name[k]);
            continue;
        }
        rs_time_format(o->tmin[k], a);
        rs_time_format(o->tmax[k], b);
        rs_log("%s: %llu events, %zu users, %s .. %s", w->name[k], (unsigned long long)o->count[k],
               rs_strmap_size(o->users[k]), a, b);
    }
    if (o->dropped)
        rs_log("dropped: %llu events outside every window", (unsigned long long)o->dropped);
}

/* ---- the modes ---- */

struct cols {
    int user, time, event;
};

static int find_cols(const struct rs_tsv *t, struct cols *c)
{
    c->event = -1;
    int rc = rs_tsv_require(t, cols.user, &c->user);
    if (rc == 0)
        rc = rs_tsv_require(t, cols.time, &c->time);
    if (rc == 0 && opt.mode == M_BY_EVENT)
        rc = rs_tsv_event_col(t, cols.event, cols.given & RS_COLS_EVENT, &c->event);
    return rc;
}

/* Time and event modes: one pass, row by row. */
static int split_stream(struct rs_tsv *t, const struct rs_split_windows *w, struct rs_split_out *o,
                        const struct cols *c)
{
    struct line l = { 0 };
    int rc;
    int64_t ts;
    while ((rc = rs_tsv_next(t)) == 0) {
        if ((rc = rs_tsv_get_time(t, c->time, &ts)) < 0)
            break;
        size_t evn;
        const char *ev = rs_tsv_event(t, c->event, &evn);
        int k = opt.mode == M_BY_EVENT ? rs_split_event_window(w, ev, evn) : rs_split_window_of(w, ts);
        l.len = 0;
        add_row(&l, t, 0);
        if ((rc = rs_split_out_put(o, k, l.s, l.len, rs_tsv_get(t, c->user), rs_tsv_len(t, c->user), ts)) < 0)
            break;
    }
    free(l.s);
    return rc == RS_ERR_EOF ? 0 : rc;
}

/* Per-user modes: every row's text, user and time in memory, then one
 * assignment, then the rows in input order. */
static int split_per_user(struct rs_tsv *t, struct rs_split_out *o, const struct cols *c)
{
    struct rs_strmap *users = rs_strmap_new(1 << 16);
    struct line text = { 0 };
    size_t n = 0, cap = 0, *off = NULL;
    int64_t *ts = NULL;
    uint32_t *user = NULL;
    int rc;
    while ((rc = rs_tsv_next(t)) == 0) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            off = xrealloc(off, (cap + 1) * sizeof *off);
            ts = xrealloc(ts, cap * sizeof *ts);
            user = xrealloc(user, cap * sizeof *user);
        }
        if ((rc = rs_tsv_get_time(t, c->time, &ts[n])) < 0)
            break;
        user[n] = (uint32_t)rs_strmap_put(users, rs_tsv_get(t, c->user), rs_tsv_len(t, c->user), NULL);
        off[n++] = text.len;
        add_row(&text, t, 0);
    }
    if (rc == RS_ERR_EOF) {
        uint8_t *test = xmalloc(n ? n : 1);
        rs_split_assign(&opt.pu, user, ts, n, test);
        if (off)
            off[n] = text.len;
        rc = 0;
        for (size_t k = 0; rc == 0 && k < n; k++) {
            size_t ulen;
            const char *u = rs_strmap_key(users, user[k], &ulen);
            rc = rs_split_out_put(o, test[k], text.s + off[k], off[k + 1] - off[k], u, ulen, ts[k]);
        }
        free(test);
    }
    rs_strmap_free(users);
    free(text.s);
    free(off);
    free(ts);
    free(user);
    return rc;
}

static void make_windows(struct rs_split_windows *w, int64_t end)
{
    int rc = 0;
    char spec[64];
    switch (opt.mode) {
    case M_CUTOFF: rs_split_cutoff(w, "train", "test", opt.cutoff); break;
    case M_PER_USER: rs_split_cutoff(w, "train", "test", 0); break;
    case M_BY_EVENT: rc = rs_split_parse_events(w, opt.spec); break;
    case M_LAST_DAYS:
        snprintf(spec, sizeof spec, "train=old|test=%lldd", (long long)opt.last_days);
        opt.spec = spec;
        /* fall through */
    case M_WINDOWS:
        if ((rc = rs_split_parse_windows(w, opt.spec)) == 0)
            rs_split_anchor(w, end);
        break;
    }
    if (rc < 0)
        rs_usage_error(SYNOPSIS, "%s", rs_err_msg());
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    parse(argc, argv);
    int64_t end = 0;
    struct rs_split_windows w;
    int relative = opt.mode == M_WINDOWS || opt.mode == M_LAST_DAYS, rc = 0;
    make_windows(&w, 0); /* usage errors before reading anything */
    rs_split_windows_free(&w);
    if (opt.end)
        end = opt_time("--end", opt.end);
    struct rs_twopass *tp = NULL;
    struct rs_tsv *t = NULL;
    struct cols c;
    if ((rc = open_input(&tp, &t, relative && !opt.end ? &end : NULL)) == 0)
        rc = find_cols(t, &c);
    if (rc < 0) {
        close_input(tp, t);
        rs_die(rc);
    }
    make_windows(&w, end);
    struct line header = { 0 };
    if (rs_tsv_ncols(t) > 0)
        add_row(&header, t, 1);
    struct rs_split_out o;
    rc = rs_split_out_open(&o, opt.out.path, &w, header.s, header.len, opt.out.zstd, opt.out.level);
    free(header.s);
    if (rc == 0)
        rc = opt.mode == M_PER_USER ? split_per_user(t, &o, &c) : split_stream(t, &w, &o, &c);
    close_input(tp, t);
    if ((rc = rs_split_out_finish(&o, rc)) == 0)
        report(&o, &w);
    rs_split_out_free(&o);
    rs_split_windows_free(&w);
    if (rc < 0)
        rs_die(rc);
    return 0;
}
