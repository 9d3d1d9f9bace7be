/* rs-label - a ranker's training rows: a first stage's candidates labelled by
 * a later window's events (lib/prep/label.h; schemas/label.md). */
#include "cli.h"
#include "core/err.h"
#include "io/io.h"
#include "io/tsv.h"
#include "prep/label.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "rs-label --events WINDOW [OPTIONS] [CANDIDATES]"

static struct {
    struct rs_output out;
    const char *events, *history;
    struct rs_label_opts l;
} opt = { .l = { .after = INT64_MIN } };
static struct rs_cols cols = RS_COLS_INIT(RS_COLS_USER | RS_COLS_ITEM | RS_COLS_EVENT | RS_COLS_TIME);

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Label each candidate (user, item) of a first stage (rs-retrieve, rs-als, rs-merge...)\n"
           "by what the user did with the item in a later window of events: one 0/1 column per\n"
           "label, every candidate column kept (source ranks and scores become the ranker's\n"
           "features). The output is rs-rank train's labelled rows, drawn from the population\n"
           "the ranker will rank. No CANDIDATES or '-': stdin; rows of a user contiguous.\n"
           "\n"
           "Options:\n"
           "      --events FILE     the label window's events (user, item, event columns),\n"
           "                        required\n"
           "      --label NAME=EVENTS  column NAME is 1 when the user had one of the comma\n"
           "                        EVENTS with the item in the window (repeatable, at most %d;\n"
           "                        default: click=click,booking and booking=booking)\n"
           "      --users WHO       whose candidates are written: active (a labelled event in\n"
           "                        the window; default), positive (a candidate labelled 1),\n"
           "                        or all\n"
           "      --history FILE    the events the candidates were made from: every window\n"
           "                        event must be later than its last one, else an error\n"
           "                        (the label window would leak into the first stage)\n"
           "      --impressions EVENT  add the window's EVENT rows (e.g. impression) that are\n"
           "                        not candidates, as rows with empty candidate columns, and\n"
           "                        a column impressed (0/1) on every row\n"
           "%s"
           "  -o, --output FILE     write to FILE, atomically (default: stdout)\n"
           "  -z, --zstd            compress the output (default when FILE ends in .zst)\n"
           "      --level N         zstd level 1..19 (default 3)\n" RS_COMMON_HELP
           "\n"
           "Examples:\n"
           "  rs-label --events valid.tsv.zst --history train.tsv.zst -o rank_train.tsv.zst \\\n"
           "      merged.tsv.zst\n"
           "  rs-label --events w.tsv --label purchase=booking --users positive cands.tsv\n",
           RS_LABEL_MAX, rs_cli_cols_help(&cols, 24));
}

static void add_label(const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1] || strpbrk(arg, "\t\n"))
        rs_usage_error(SYNOPSIS, "invalid --label '%s': expected NAME=EVENT[,EVENT...]", arg);
    if (opt.l.nlabels == RS_LABEL_MAX)
        rs_usage_error(SYNOPSIS, "more than %d --label", RS_LABEL_MAX);
    char *name = xstrndup(arg, (size_t)(eq - arg));
    for (size_t k = 0; k < opt.l.nlabels; k++)
        if (strcmp(opt.l.name[k], name) == 0)
            rs_usage_error(SYNOPSIS, "--label '%s' given twice", name);
    opt.l.name[opt.l.nlabels] = name;
    opt.l.events[opt.l.nlabels++] = eq + 1;
}

/* The last timestamp of the history: window events must come after it. */
static int history_end(const char *path, int64_t *end)
{
    struct rs_tsv *t;
    int col, rc = rs_tsv_open(&t, path, 0);
    if (rc < 0)
        return rc;
    *end = INT64_MIN;
    if ((rc = rs_tsv_require(t, opt.l.time_col, &col)) == 0)
        while ((rc = rs_tsv_next(t)) == 0) {
            int64_t time;
            if ((rc = rs_tsv_get_time(t, col, &time)) < 0)
                break;
            *end = time > *end ? time : *end;
        }
    rs_tsv_close(t);
    return rc == RS_ERR_EOF ? 0 : rc;
}

static int run(const char *cands, struct rs_writer *w)
{
    struct rs_tsv *ev, *t;
    struct rs_label *l = NULL;
    char what[1024];
    int rc = 0;
    if (opt.history && (rc = history_end(opt.history, &opt.l.after)) == 0) {
        snprintf(what, sizeof what, "the last event of '%s'", opt.history);
        opt.l.after_what = what;
    }
    if (rc < 0 || (rc = rs_tsv_open(&ev, opt.events, 0)) < 0)
        return rc;
    rc = rs_label_load(&l, ev, &opt.l);
    rs_tsv_close(ev);
    uint64_t rows = 0, pos[RS_LABEL_MAX];
    if (rc == 0 && (rc = rs_tsv_open(&t, cands, 0)) == 0) {
        rc = rs_label_write(l, t, w, &rows, pos);
        rs_tsv_close(t);
    }
    rs_label_free(l);
    if (rc == 0) {
        rs_log("%llu rows", (unsigned long long)rows);
        for (size_t k = 0; k < opt.l.nlabels; k++)
            rs_log("label %s: %llu positive (%.4f)", opt.l.name[k], (unsigned long long)pos[k],
                   rows ? (double)pos[k] / (double)rows : 0.0);
    }
    return rc;
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        { "events", required_argument, 0, 'e' },
        { "label", required_argument, 0, 'L' },
        { "users", required_argument, 0, 'U' },
        { "history", required_argument, 0, 'H' },
        { "impressions", required_argument, 0, 'I' },
        RS_COLS_LONGOPTS,
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS, longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out) || rs_cli_cols(c, optarg, &cols))
            continue;
        switch (c) {
        case 'e': opt.events = optarg; break;
        case 'L': add_label(optarg); break;
        case 'U':
            if (strcmp(optarg, "active") == 0)
                opt.l.users = RS_LABEL_USERS_ACTIVE;
            else if (strcmp(optarg, "positive") == 0)
                opt.l.users = RS_LABEL_USERS_POSITIVE;
            else if (strcmp(optarg, "all") == 0)
                opt.l.users = RS_LABEL_USERS_ALL;
            else
                rs_usage_error(SYNOPSIS, "invalid --users '%s': expected active, positive or all", optarg);
            break;
        case 'H': opt.history = optarg; break;
        case 'I': opt.l.impression = optarg; break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    if (!opt.events)
        rs_usage_error(SYNOPSIS, "--events FILE is required");
    if (argc - optind > 1)
        rs_usage_error(SYNOPSIS, "one CANDIDATES input at most, got %d", argc - optind);
    opt.l.user_col = cols.user, opt.l.item_col = cols.item;
    opt.l.event_col = cols.event, opt.l.time_col = cols.time;
    opt.l.event_required = cols.given & RS_COLS_EVENT;
    const char *cands = optind < argc ? argv[optind] : "-";
    if (strcmp(cands, "-") == 0 && strcmp(opt.events, "-") == 0)
        rs_usage_error(SYNOPSIS, "--events and CANDIDATES cannot both be stdin");
    if (opt.l.nlabels == 0) {
        add_label("click=click,booking");
        add_label("booking=booking");
    }
    struct rs_writer *w;
    int rc = rs_output_open(&w, &opt.out);
    if (rc == 0)
        rc = rs_writer_finish(w, run(cands, w));
    if (rc < 0)
        rs_die(rc);
    for (size_t k = 0; k < opt.l.nlabels; k++)
        free((char *)opt.l.name[k]);
    return 0;
}
