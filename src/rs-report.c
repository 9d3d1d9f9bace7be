/* rs-report - the HTML report of a run group from the run store
 * (lib/report/report.h): one self-contained file, inline SVG, no script. */
#include "cli.h"
#include "core/err.h"
#include "io/io.h"
#include "report/report.h"
#include "track/track.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "rs-report [OPTIONS] --group G|--group-of FILE [--track DB] -o REPORT.html"

static struct {
    struct rs_output out;
    const char *track, *group_of;
    struct rs_report_opts r;
} opt = { .r = { .category_col = "category" } };

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Writes the HTML report of run group G of the run store (schemas/runs.md): the\n"
           "group's date, version, host and seed; the metrics of its last rs-metrics run\n"
           "with each metric's direction (the best model in bold only where higher or lower\n"
           "is better), plotted against k, and per segment with --by; the training curves\n"
           "of rs-train-tower, rs-rank and rs-als with the kept epoch marked; a 2-D PCA map\n"
           "of the item embeddings of its last rs-embed --items run, coloured by a category\n"
           "column of the items table it read; rs-tune's trials (objective by trial, each\n"
           "parameter against the objective); every run with its parameters, inputs and\n"
           "outputs; and with --compare, the metrics and parameters of two groups side by\n"
           "side. One file: inline SVG and CSS, no script, nothing fetched.\n"
           "\n"
           "Options:\n"
           "      --group G         the run group ($RS_RUN_GROUP of a pipeline; rs-runs list)\n"
           "      --group-of FILE   the group of the newest run that wrote FILE's content\n"
           "                        (e.g. a pipeline's metrics.tsv)\n"
           "      --compare G2      compare with run group G2\n"
           "      --category-col C  the items column that colours the map (default %s); a\n"
           "                        table without it gives one colour\n"
           "      --title TEXT      the page title (default: \"Run group G\")\n"
           "  -o, --output FILE     write to FILE, atomically (default: stdout)\n" RS_COMMON_HELP
           "\n"
           "The store is --track DB, else $RS_TRACK; this run itself is not recorded.\n"
           "\n"
           "Examples:\n"
           "  rs-report --track out/demo/runs.db --group-of out/demo/metrics.tsv -o report.html\n"
           "  rs-report --track runs.db --group week-49 --compare week-48 -o compare.html\n",
           opt.r.category_col);
}

enum { OPT_GROUP = 0x100, OPT_GROUP_OF, OPT_COMPARE, OPT_CATEGORY, OPT_TITLE };

/* The group of the newest run that wrote the content of path (its XXH3). */
static int group_of(struct rs_store *s, const char *path, struct rs_run *r)
{
    uint64_t hash;
    int64_t size, *ids = NULL;
    size_t n = 0;
    int rc = rs_file_xxh3(path, &hash, &size);
    if (rc == 0)
        rc = rs_store_producers(s, hash, &ids, &n);
    if (rc == 0 && n == 0)
        rc = rs_err_set(RS_ERR_FORMAT, "no run in '%s' wrote the content of '%s'", opt.track, path);
    if (rc == 0)
        rc = rs_store_get(s, ids[0], NULL, r);
    free(ids);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS, RS_OUTPUT_LONGOPTS,
        { "group", required_argument, 0, OPT_GROUP },     { "group-of", required_argument, 0, OPT_GROUP_OF },
        { "compare", required_argument, 0, OPT_COMPARE },
        { "category-col", required_argument, 0, OPT_CATEGORY }, { "title", required_argument, 0, OPT_TITLE },
        { 0, 0, 0, 0 }
    };
    rs_cli_init(argv[0]);
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS, longopts, NULL)) != -1) {
        if (c == RS_OPT_TRACK)
            opt.track = optarg;
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out))
            continue;
        switch (c) {
        case OPT_GROUP: opt.r.group = optarg; break;
        case OPT_GROUP_OF: opt.group_of = optarg; break;
        case OPT_COMPARE: opt.r.compare = optarg; break;
        case OPT_CATEGORY: opt.r.category_col = optarg; break;
        case OPT_TITLE: opt.r.title = optarg; break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    /* a report reads the store; recording itself there would only add noise */
    rs_cli_track_off();
    if (optind < argc)
        rs_usage_error(SYNOPSIS, "unexpected argument '%s'", argv[optind]);
    if (!opt.r.group == !opt.group_of)
        rs_usage_error(SYNOPSIS, "give one of --group and --group-of");
    if (!opt.track)
        opt.track = getenv("RS_TRACK");
    if (!opt.track || !*opt.track)
        rs_usage_error(SYNOPSIS, "--track (or RS_TRACK) is required");
    struct rs_store *s;
    struct rs_writer *w = NULL;
    struct rs_run producer = { 0 };
    int rc = rs_store_open(&s, opt.track, RS_STORE_READ);
    if (rc == 0 && opt.group_of && (rc = group_of(s, opt.group_of, &producer)) == 0)
        opt.r.group = producer.group;
    if (rc)
        rs_die(rc);
    if ((rc = rs_output_open(&w, &opt.out)) == 0)
        rc = rs_writer_finish(w, rs_report_write(w, s, &opt.r));
    rs_store_close(s);
    if (rc)
        rs_die(rc);
    rs_run_free(&producer);
    return 0;
}
