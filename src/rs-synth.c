/* rs-synth - synthetic users, items and an event log (impressions, clicks,
 * bookings, favourites) drawn from a planted model (lib/prep/synth.h,
 * schemas/synth.md), with the model's truth alongside. */
#include "cli.h"
#include "core/err.h"
#include "io/io.h"
#include "io/outdir.h"
#include "prep/synth.h"
#include "core/timeparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "rs-synth -o DIR [OPTIONS]"

static struct rs_synth_params par;
static struct {
    const char *events_out;
    int descriptions;
    struct rs_output out;
} opt;

static void help(void)
{
    struct rs_synth_params d;
    rs_synth_defaults(&d);
    char start[32];
    rs_time_format(d.start, start);
    printf("Usage: " SYNOPSIS "\n"
           "Generate a catalogue, users and a time-ordered event log from a planted model\n"
           "(latent user x item affinity, Zipf popularity, time drift, distance, position\n"
           "bias), and the model's truth, into directory DIR. The click, booking and\n"
           "favourite probabilities are in schemas/synth.md; in short, for user u shown\n"
           "item i at slate position pos at time t:\n"
           "  s = click_bias + a <p_u,q_i> + b lpop_i + trend_i tau(t) - g dist(u,i)/100\n"
           "  P(click) = sigmoid(s + noise N(0,1)) * pos^-eta\n"
           "\n"
           "Options:\n"
           "  -o, --output DIR      output directory (required); written atomically: on\n"
           "                        failure nothing in DIR changes\n"
           "      --users N         users (default %u)\n"
           "      --items N         items (default %u)\n"
           "      --events N        rows of events.tsv, all kinds together (default %llu)\n"
           "      --events-out FILE write the events to FILE instead ('-': stdout)\n"
           "      --dims N          latent dimensions (default %u)\n"
           "      --clusters N      latent item clusters (default %u)\n"
           "      --categories N    item categories (default %u)\n"
           "      --subcategories N subcategories per category (default %u)\n"
           "      --regions N       regions (default %u)\n"
           "      --slate N         items per home-page session (default %u)\n"
           "      --zipf S          popularity skew: rank r weighs r^-S (default %g)\n"
           "      --noise X         std dev of the click logit noise (default %g)\n"
           "      --affinity A      weight a of the latent affinity (default %g)\n"
           "      --personal F      share of slate slots filled from the user's stated\n"
           "                        favourite categories (default %g)\n"
           "      --recommended F   share of slate slots drawn from the user's top 50 items\n"
           "                        by true affinity, as a production recommender would\n"
           "                        show them (default %g); the rest: by popularity\n"
           "      --drift X         std dev of the per-cluster trend (default %g)\n"
           "      --cold-users F    share of users signing up inside the window (default %g)\n"
           "      --new-items F     share of items created inside the window (default %g)\n"
           "      --start TIME      window start (default %s UTC)\n"
           "      --days N          window length in days (default %u)\n"
           "      --descriptions    also write item_text.tsv: item_id, a short English description\n"
           "                        from the item's category, subcategory, price and stock\n"
           "                        (rs-encode's input; the other files do not change)\n"
           "  -z, --zstd            compress the TSV files in DIR (.tsv.zst); --events-out\n"
           "                        FILE compresses when FILE ends in .zst\n"
           "      --level N         zstd level 1..19 (default 3)\n"
           RS_COMMON_HELP
           "\n"
           "DIR receives items.tsv, users.tsv, events.tsv (user_id item_id event timestamp\n"
           "hour distance session_id position, ordered by timestamp), and the truth:\n"
           "params.tsv, item_truth.tsv, user_truth.tsv, item_factors.rsb, user_factors.rsb.\n"
           "The same seed gives the same bytes; changing --events keeps users and items.\n"
           "Generation is single-threaded and streams: memory is O(users + items).\n"
           "\n"
           "Examples:\n"
           "  rs-synth -o demo\n"
           "  rs-synth --users 100000 --items 20000 --events 10000000 -z -o big\n"
           "  rs-synth -o cat --events 1000 --events-out - | rs-split --cutoff 2019-12-01 -o win\n",
           d.users, d.items, (unsigned long long)d.events, d.dims, d.clusters, d.categories,
           d.subcategories, d.regions, d.slate, d.zipf, d.noise, d.affinity, d.personal, d.recommended, d.drift, d.cold_users,
           d.new_items, start, d.days);
}

static uint32_t opt_u32(const char *flag, const char *arg, long long min, long long max)
{
    return (uint32_t)rs_opt_int(flag, arg, min, max);
}

static void parse(int argc, char **argv)
{
    enum { O_USERS = 256, O_ITEMS, O_EVENTS, O_EVOUT, O_DIMS, O_CLUSTERS, O_CATS, O_SUBS, O_REGIONS,
           O_SLATE, O_ZIPF, O_NOISE, O_AFF, O_PERSONAL, O_RECOMMENDED, O_DRIFT, O_COLD, O_NEW, O_START, O_DAYS,
           O_DESC };
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        { "users", required_argument, 0, O_USERS },
        { "items", required_argument, 0, O_ITEMS }, { "events", required_argument, 0, O_EVENTS },
        { "events-out", required_argument, 0, O_EVOUT }, { "dims", required_argument, 0, O_DIMS },
        { "clusters", required_argument, 0, O_CLUSTERS }, { "categories", required_argument, 0, O_CATS },
        { "subcategories", required_argument, 0, O_SUBS }, { "regions", required_argument, 0, O_REGIONS },
        { "slate", required_argument, 0, O_SLATE }, { "zipf", required_argument, 0, O_ZIPF },
        { "noise", required_argument, 0, O_NOISE }, { "affinity", required_argument, 0, O_AFF },
        { "personal", required_argument, 0, O_PERSONAL }, { "recommended", required_argument, 0, O_RECOMMENDED }, { "drift", required_argument, 0, O_DRIFT }, { "cold-users", required_argument, 0, O_COLD },
        { "new-items", required_argument, 0, O_NEW }, { "start", required_argument, 0, O_START },
        { "days", required_argument, 0, O_DAYS },
        { "descriptions", no_argument, 0, O_DESC },
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS, longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out))
            continue;
        switch (c) {
        case O_USERS: par.users = opt_u32("--users", optarg, 1, 100000000); break;
        case O_ITEMS: par.items = opt_u32("--items", optarg, 1, 100000000); break;
        case O_EVENTS: par.events = (uint64_t)rs_opt_int("--events", optarg, 0, INT64_MAX); break;
        case O_EVOUT: opt.events_out = optarg; break;
        case O_DESC: opt.descriptions = 1; break;
        case O_DIMS: par.dims = opt_u32("--dims", optarg, 1, 1024); break;
        case O_CLUSTERS: par.clusters = opt_u32("--clusters", optarg, 1, 1000000); break;
        case O_CATS: par.categories = opt_u32("--categories", optarg, 1, 10000); break;
        case O_SUBS: par.subcategories = opt_u32("--subcategories", optarg, 1, 10000); break;
        case O_REGIONS: par.regions = opt_u32("--regions", optarg, 1, 10000); break;
        case O_SLATE: par.slate = opt_u32("--slate", optarg, 1, 1000); break;
        case O_ZIPF: par.zipf = rs_opt_double("--zipf", optarg, 0, 5); break;
        case O_NOISE: par.noise = rs_opt_double("--noise", optarg, 0, 10); break;
        case O_AFF: par.affinity = rs_opt_double("--affinity", optarg, -100, 100); break;
        case O_PERSONAL: par.personal = rs_opt_double("--personal", optarg, 0, 1); break;
        case O_RECOMMENDED: par.recommended = rs_opt_double("--recommended", optarg, 0, 1); break;
        case O_DRIFT: par.drift = rs_opt_double("--drift", optarg, 0, 100); break;
        case O_COLD: par.cold_users = rs_opt_double("--cold-users", optarg, 0, 0.9); break;
        case O_NEW: par.new_items = rs_opt_double("--new-items", optarg, 0, 0.9); break;
        case O_START:
            if (rs_time_parse(optarg, strlen(optarg), &par.start) < 0 || par.start < 0)
                rs_usage_error(SYNOPSIS, "invalid --start '%s': expected a date or Unix seconds", optarg);
            break;
        case O_DAYS: par.days = opt_u32("--days", optarg, 1, 36500); break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    if (optind < argc)
        rs_usage_error(SYNOPSIS, "unexpected argument '%s'", argv[optind]);
    if (!opt.out.path)
        rs_usage_error(SYNOPSIS, "no output directory; use -o DIR");
    par.seed = rs_opts.seed;
}

/* Writes one file of the directory through fn; TSV files are compressed
 * with -z, RSB never (it has its own checksums and is mostly floats). */
static int write_table(struct rs_outdir *d, const char *name, int tsv, const struct rs_synth *m,
                       int (*fn)(const struct rs_synth *, struct rs_writer *))
{
    char file[64];
    int z = opt.out.zstd && tsv;
    snprintf(file, sizeof file, "%s%s", name, z ? ".zst" : "");
    struct rs_writer *w;
    int rc = rs_writer_open(&w, rs_outdir_path(d, file), z ? RS_W_ZSTD : 0, opt.out.level);
    if (rc < 0)
        return rc;
    return rs_writer_finish(w, fn(m, w));
}

static int user_factors(const struct rs_synth *m, struct rs_writer *w)
{
    return rs_synth_write_factors(m, w, 1);
}

static int item_factors(const struct rs_synth *m, struct rs_writer *w)
{
    return rs_synth_write_factors(m, w, 0);
}

static int write_events(struct rs_outdir *d, const struct rs_synth *m)
{
    struct rs_writer *w;
    const char *path = opt.events_out ? opt.events_out
                                      : rs_outdir_path(d, opt.out.zstd ? "events.tsv.zst" : "events.tsv");
    int flags = opt.out.zstd && !opt.events_out ? RS_W_ZSTD : 0;
    int rc = rs_writer_open(&w, path, flags, opt.out.level);
    if (rc < 0)
        return rc;
    struct rs_synth_gen g;
    struct rs_synth_event ev;
    struct rs_progress pr;
    rs_synth_gen_init(&g, m);
    rs_progress_start(&pr, "events", m->p.events);
    rc = rs_synth_write_event_header(w);
    while (rc == 0 && (rc = rs_synth_gen_next(&g, &ev)) == 0) {
        rc = rs_synth_write_event(m, w, &ev);
        if ((ev.seq & 0xffff) == 0)
            rs_progress_add(&pr, 0x10000);
    }
    uint64_t sessions = g.sessions;
    rs_synth_gen_free(&g);
    if (rc != RS_ERR_EOF) {
        rs_writer_abort(w);
        return rc;
    }
    pr.done = m->p.events;
    if ((rc = rs_writer_close(w)) == 0) {
        rs_progress_end(&pr);
        rs_log("%llu sessions, %u users, %u items", (unsigned long long)sessions, m->p.users, m->p.items);
    }
    return rc;
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    rs_synth_defaults(&par);
    parse(argc, argv);

    struct rs_synth m;
    int rc = rs_synth_init(&m, &par);
    if (rc < 0)
        rs_usage_error(SYNOPSIS, "%s", rs_err_msg());
    struct rs_outdir *d;
    if ((rc = rs_outdir_open(&d, opt.out.path)) < 0) {
        rs_synth_free(&m);
        rs_die(rc);
    }
    static const struct {
        const char *name;
        int (*fn)(const struct rs_synth *, struct rs_writer *);
        int tsv;
    } tables[] = {
        { "items.tsv", rs_synth_write_items, 1 },
        { "users.tsv", rs_synth_write_users, 1 },
        { "item_truth.tsv", rs_synth_write_item_truth, 1 },
        { "user_truth.tsv", rs_synth_write_user_truth, 1 },
        { "params.tsv", rs_synth_write_params, 1 },
        { "item_factors.rsb", item_factors, 0 },
        { "user_factors.rsb", user_factors, 0 },
    };
    for (size_t k = 0; rc == 0 && k < sizeof tables / sizeof tables[0]; k++)
        rc = write_table(d, tables[k].name, tables[k].tsv, &m, tables[k].fn);
    if (rc == 0 && opt.descriptions)
        rc = write_table(d, "item_text.tsv", 1, &m, rs_synth_write_item_text);
    if (rc == 0)
        rc = write_events(d, &m);
    rs_synth_free(&m);
    if (rc < 0) {
        rs_outdir_abort(d);
        rs_die(rc);
    }
    if ((rc = rs_outdir_commit(d)) < 0)
        rs_die(rc);
    return 0;
}
