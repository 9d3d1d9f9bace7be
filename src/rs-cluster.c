/* rs-cluster - k-means on item embeddings: item_id → cluster TSV, plus the
 * centroids as RSB (lib/index/kmeans.c: greedy k-means++, Lloyd on sgemm). */
#include "cli.h"
#include "core/clock.h"
#include "core/err.h"
#include "io/io.h"
#include "index/kmeans.h"
#include "index/pca.h"
#include "io/rsb.h"
#include "core/strmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "rs-cluster [OPTIONS] -k N [ITEMS.rsb]"
#define DEF_K 100

static struct {
    const char *centroids;
    struct rs_output out;
    long long k, n_init, max_iter, init_sample, pca;
    double tol;
} opt = { .k = DEF_K, .n_init = 1, .max_iter = RS_KMEANS_MAX_ITER,
          .tol = RS_KMEANS_TOL };

/* --item-col names the id column of the output. */
static struct rs_cols cols = RS_COLS_INIT(RS_COLS_ITEM);

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "k-means on the vectors of an RSB file (no FILE or '-': stdin): writes a TSV of\n"
           "item_id (or --item-col), cluster (0..k-1, in input order) and optionally the\n"
           "centroids as RSB.\n"
           "Seeding is greedy k-means++ (as scikit-learn), then Lloyd iterations; the\n"
           "inertia of each iteration is logged on stderr.\n"
           "\n"
           "Options:\n"
           "  -k, --clusters N      clusters (default %d)\n"
           "      --n-init N        seedings; the lowest final inertia wins (default 1)\n"
           "      --max-iter N      Lloyd iterations per seeding (default %d)\n"
           "      --tol X           stop when the squared centroid shift is below X times the\n"
           "                        mean per-dimension variance (default %g)\n"
           "      --init-sample N   seed k-means++ on N random rows (default 0: all rows)\n"
           "      --centroids FILE  write the k centroids as RSB (ids 0..k-1), atomically\n"
           "%s"
           "      --pca N           instead of clustering: project the vectors on their first\n"
           "                        N principal components (item_id, pc1..pcN; the variance\n"
           "                        along each is logged), e.g. for a 2-D map\n"
           "  -o, --output FILE     write to FILE, atomically (default: stdout)\n"
           "  -z, --zstd            compress the output (default when FILE ends in .zst)\n"
           "      --level N         zstd level 1..19 (default 3)\n" RS_COMMON_HELP
           "\n"
           "The same --seed gives the same bytes whatever --threads (rows in blocks of 256,\n"
           "sums in a fixed order).\n"
           "\n"
           "Examples:\n"
           "  rs-cluster -k 500 --centroids centroids.rsb -o clusters.tsv item_emb.rsb\n"
           "  rs-cluster -k 20 --n-init 4 item_emb.rsb | rs-cat | head\n"
           "  rs-cluster --pca 2 -o map.tsv item_emb.rsb\n",
           DEF_K, RS_KMEANS_MAX_ITER, RS_KMEANS_TOL, rs_cli_cols_help(&cols, 24));
}

static void log_iter(void *ctx, int run, int iter, double inertia)
{
    (void)ctx;
    rs_log("init %d iteration %d: inertia %.9g", run + 1, iter, inertia);
}

static int write_assign(struct rs_writer *w, const struct rs_embset *e, const int32_t *assign)
{
    int rc = rs_writer_put_field(w, cols.item, strlen(cols.item)) |
             rs_writer_printf(w, "\tcluster\n");
    for (size_t i = 0; i < e->n && rc == 0; i++) {
        size_t len;
        const char *id = rs_strmap_key(e->ids, (int64_t)i, &len);
        rc = rs_writer_put_field(w, id, len) | rs_writer_printf(w, "\t%d\n", assign[i]);
    }
    return rc;
}

static int write_centroids(const float *c, size_t k, uint32_t d)
{
    struct rs_writer *w;
    struct rs_rsb_writer *rw = NULL;
    int rc = rs_writer_open(&w, opt.centroids, 0, 0);
    if (rc < 0)
        return rc;
    char meta[64];
    snprintf(meta, sizeof meta, "tool\trs-cluster\nclusters\t%zu\n", k);
    rc = rs_rsb_writer_init(&rw, w, d, RS_F32, meta);
    for (size_t j = 0; j < k && rc == 0; j++) {
        char id[24];
        int n = snprintf(id, sizeof id, "%zu", j);
        rc = rs_rsb_write(rw, id, (size_t)n, c + j * d);
    }
    if (rc == 0)
        rc = rs_rsb_writer_finish(rw);
    else
        rs_rsb_writer_free(rw);
    return rs_writer_finish(w, rc);
}

/* Writes item_col, pc1..pcN: the centred rows projected on the m components. */
static int write_projection(struct rs_writer *w, const struct rs_embset *e, size_t m, const float *comp,
                            const float *mean)
{
    int rc = rs_writer_put_field(w, cols.item, strlen(cols.item));
    for (size_t c = 0; c < m; c++)
        rc |= rs_writer_printf(w, "\tpc%zu", c + 1);
    rc |= rs_writer_putc(w, '\n');
    for (size_t i = 0; i < e->n && rc == 0; i++) {
        size_t len;
        const char *id = rs_strmap_key(e->ids, (int64_t)i, &len);
        rc |= rs_writer_put_field(w, id, len);
        for (size_t c = 0; c < m; c++) {
            double y = 0;
            for (size_t k = 0; k < e->dims; k++)
                y += (double)(e->x[i * e->dims + k] - mean[k]) * comp[c * e->dims + k];
            rc |= rs_writer_putc(w, '\t') | rs_writer_put_float(w, (float)y);
        }
        rc |= rs_writer_putc(w, '\n');
    }
    return rc;
}

static int write_pca(struct rs_writer *w, const struct rs_embset *e, size_t m)
{
    float *comp = xmalloc(m * e->dims * sizeof *comp), *mean = xmalloc(e->dims * sizeof *mean);
    double *var = xmalloc(m * sizeof *var);
    int rc = rs_pca_fit(e->x, e->n, e->dims, m, comp, var, mean);
    for (size_t c = 0; c < m && rc == 0; c++)
        rs_log("pc%zu: variance %.6g", c + 1, var[c]);
    if (rc == 0)
        rc = write_projection(w, e, m, comp, mean);
    free(comp);
    free(mean);
    free(var);
    return rc;
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        { "clusters", required_argument, 0, 'k' }, { "n-init", required_argument, 0, 'n' },
        { "max-iter", required_argument, 0, 'm' }, { "tol", required_argument, 0, 't' },
        { "init-sample", required_argument, 0, 'S' }, { "centroids", required_argument, 0, 'C' },
        RS_COLS_LONGOPTS, { "pca", required_argument, 0, 'P' },
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS "k:", longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out) || rs_cli_cols(c, optarg, &cols))
            continue;
        switch (c) {
        case 'k': opt.k = rs_opt_int("-k", optarg, 1, INT32_MAX); break;
        case 'n': opt.n_init = rs_opt_int("--n-init", optarg, 1, 1000); break;
        case 'm': opt.max_iter = rs_opt_int("--max-iter", optarg, 1, 1000000); break;
        case 't': opt.tol = rs_opt_double("--tol", optarg, 0, 1e9); break;
        case 'S': opt.init_sample = rs_opt_int("--init-sample", optarg, 0, INT64_MAX); break;
        case 'C': opt.centroids = optarg; break;
        case 'P': opt.pca = rs_opt_int("--pca", optarg, 1, RS_RSB_MAX_DIMS); break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    if (argc - optind > 1)
        rs_usage_error(SYNOPSIS, "one input at most, got %d", argc - optind);
    const char *input = optind < argc ? argv[optind] : "-";

    struct rs_writer *w;
    int rc = rs_output_open(&w, &opt.out);
    if (rc < 0)
        rs_die(rc);
    struct rs_embset e;
    if ((rc = rs_embset_load(&e, input)) < 0) {
        rs_writer_abort(w);
        rs_die(rc);
    }
    if (opt.pca) {
        rc = (size_t)opt.pca > e.dims ? rs_err_set(RS_ERR_FORMAT, "'%s' has %u dims, fewer than --pca %lld",
                                                    input, e.dims, opt.pca)
             : e.n == 0 ? rs_err_set(RS_ERR_FORMAT, "'%s': no vectors to project", input)
                        : write_pca(w, &e, (size_t)opt.pca);
        rs_embset_free(&e);
        if ((rc = rs_writer_finish(w, rc)) < 0)
            rs_die(rc);
        return 0;
    }
    struct rs_kmeans_opts ko;
    rs_kmeans_defaults(&ko);
    ko.k = (size_t)opt.k;
    ko.n_init = (int)opt.n_init;
    ko.max_iter = (int)opt.max_iter;
    ko.tol = opt.tol;
    ko.init_sample = (size_t)opt.init_sample;
    ko.seed = rs_opts.seed;
    ko.threads = rs_opts.threads;
    ko.log = log_iter;
    if ((size_t)opt.k > e.n) { /* bad data, not a bad flag; checked before -k sizes anything */
        rs_err_set(RS_ERR_FORMAT, "'%s': %zu rows, fewer than -k %lld", input, e.n, opt.k);
        rs_embset_free(&e);
        rs_writer_abort(w);
        rs_die(RS_ERR_FORMAT);
    }
    float *cent = xmalloc((size_t)opt.k * e.dims * sizeof *cent);
    int32_t *assign = xmalloc(e.n * sizeof *assign);
    double inertia, t0 = rs_now();
    int iters;
    rc = rs_kmeans_fit(e.x, e.n, e.dims, &ko, cent, assign, &inertia, &iters);
    if (rc == 0) {
        rs_log("inertia %.9g after %d iterations, %.2f s", inertia, iters, rs_now() - t0);
        rc = write_assign(w, &e, assign);
    }
    if (rc == 0 && opt.centroids)
        rc = write_centroids(cent, (size_t)opt.k, e.dims);
    free(cent);
    free(assign);
    rs_embset_free(&e);
    if ((rc = rs_writer_finish(w, rc)) < 0)
        rs_die(rc);
    return 0;
}
