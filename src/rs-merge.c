/* rs-merge - the union of several candidate sources per user, with each
 * source's rank and score as columns and a fused order (lib/index/fuse.h;
 * schemas/candidates.md, "merged candidates"). */
#include "cli.h"
#include "core/err.h"
#include "index/fuse.h"
#include "io/io.h"
#include "io/tsv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "rs-merge [OPTIONS] NAME=CANDIDATES..."
#define MAX_SOURCES 64

static struct {
    struct rs_output out;
    const char *users_from;
    size_t per_source, keep;
    double rrf_k;
} opt = { .rrf_k = RS_FUSE_RRF_K };
static struct rs_cols cols = RS_COLS_INIT(RS_COLS_USER | RS_COLS_ITEM);

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Merge candidate streams from several first stages (rs-retrieve, rs-als, rs-ease...)\n"
           "into one per-user list: every item any source proposes, with each source's rank and\n"
           "score as columns <NAME>_rank and <NAME>_score (empty when that source did not\n"
           "propose the item), so that rs-rank can learn how far to trust each source. Each\n"
           "user's list is ordered by reciprocal rank fusion, sum over sources of 1/(K + rank).\n"
           "A source is NAME=FILE (NAME: letters, digits, '_'); FILE has the candidates\n"
           "columns (user, item, rank, score); '-' is stdin (once).\n"
           "\n"
           "Options:\n"
           "  -k, --per-source N   keep each source's first N per user (default: all)\n"
           "      --keep N         keep the first N merged candidates per user (default: all)\n"
           "      --users-from FILE  only the users of FILE's user column, in its order\n"
           "                       (default: every user, in order of first appearance)\n"
           "      --rrf-k K        the fusion constant K (default %d; Cormack et al. 2009)\n"
           "%s"
           "  -o, --output FILE    write to FILE, atomically (default: stdout)\n"
           "  -z, --zstd           compress the output (default when FILE ends in .zst)\n"
           "      --level N        zstd level 1..19 (default 3)\n"
           RS_SHARD_HELP RS_COMMON_HELP
           "\n"
           "Output: user, item, rank (fused, 1..), score (fused), sources (how many proposed\n"
           "the item), then <NAME>_rank, <NAME>_score per source, in argument order.\n"
           "A source without rows, or without a rank or score column, is an error.\n"
           "\n"
           "Examples:\n"
           "  rs-merge -k 100 tower=cand_tower.tsv.zst als=cand_als.tsv.zst pop=popular.tsv.zst \\\n"
           "      -o merged.tsv.zst\n"
           "  rs-merge --keep 300 --users-from test_users.tsv tower=a.tsv ease=b.tsv\n",
           RS_FUSE_RRF_K, rs_cli_cols_help(&cols, 23));
}

static int read_source(struct rs_fuse *f, size_t s, const char *path)
{
    struct rs_tsv *t;
    int rc = rs_tsv_open(&t, path, 0);
    if (rc < 0)
        return rc;
    rc = rs_fuse_read(f, s, t, cols.user, cols.item, opt.per_source);
    rs_tsv_close(t);
    return rc;
}

static int read_users(struct rs_fuse *f)
{
    struct rs_tsv *t;
    int rc = rs_tsv_open(&t, opt.users_from, 0);
    if (rc < 0)
        return rc;
    rc = rs_fuse_users(f, t, cols.user);
    rs_tsv_close(t);
    return rc;
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        RS_SHARD_LONGOPTS,
        { "per-source", required_argument, 0, 'k' },
        { "keep", required_argument, 0, 'K' },
        { "users-from", required_argument, 0, 'U' },
        { "rrf-k", required_argument, 0, 'r' },
        RS_COLS_LONGOPTS,
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS "k:", longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out) || rs_cli_cols(c, optarg, &cols) ||
            rs_cli_shard(c, optarg))
            continue;
        switch (c) {
        case 'k': opt.per_source = (size_t)rs_opt_int("--per-source", optarg, 1, UINT32_MAX); break;
        case 'K': opt.keep = (size_t)rs_opt_int("--keep", optarg, 1, UINT32_MAX); break;
        case 'U': opt.users_from = optarg; break;
        case 'r': opt.rrf_k = rs_opt_double("--rrf-k", optarg, 0, 1e9); break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    size_t nsrc = (size_t)(argc - optind);
    if (nsrc == 0)
        rs_usage_error(SYNOPSIS, "no source: give at least one NAME=CANDIDATES");
    if (nsrc > MAX_SOURCES)
        rs_usage_error(SYNOPSIS, "%zu sources: at most %d", nsrc, MAX_SOURCES);
    char *names[MAX_SOURCES];
    const char *paths[MAX_SOURCES];
    int stdin_used = 0;
    for (size_t s = 0; s < nsrc; s++) {
        rs_opt_source(SYNOPSIS, argv[optind + (int)s], &names[s], &paths[s]);
        for (size_t k = 0; k < s; k++)
            if (strcmp(names[k], names[s]) == 0)
                rs_usage_error(SYNOPSIS, "source name '%s' given twice", names[s]);
        if (strcmp(paths[s], "-") == 0 && stdin_used++)
            rs_usage_error(SYNOPSIS, "stdin ('-') given for two sources");
    }

    struct rs_fuse *f = rs_fuse_new(nsrc, (const char *const *)names);
    int rc = 0;
    for (size_t s = 0; rc == 0 && s < nsrc; s++)
        rc = read_source(f, s, paths[s]);
    if (rc == 0 && opt.users_from)
        rc = read_users(f);
    struct rs_writer *w = NULL;
    if (rc == 0 && (rc = rs_output_open(&w, &opt.out)) == 0)
        rc = rs_writer_finish(w, rs_fuse_write(f, w, cols.user, cols.item, opt.rrf_k, opt.keep, &rs_shard_sel));
    if (rc < 0)
        rs_die(rc);
    rs_fuse_free(f);
    for (size_t s = 0; s < nsrc; s++)
        free(names[s]);
    return 0;
}
