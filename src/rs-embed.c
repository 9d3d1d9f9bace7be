/* rs-embed - run a trained two-tower model (RSM) over user or item feature
 * rows: one L2-normalised embedding per row, as RSB, TSV or PostgreSQL COPY
 * text. Streams in chunks: memory is the model plus one chunk. */
#include "cli.h"
#include "core/err.h"
#include "io/io.h"
#include "io/rsb.h"
#include "io/rsm.h"
#include "model/tower.h"
#include "model/tower_embed.h"
#include "io/tsv.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYNOPSIS "rs-embed --model MODEL.rsm (--users FILE | --items FILE) [OPTIONS]"

enum { OUT_RSB = 1, OUT_TSV = 2, OUT_PG = 3 };

static struct {
    const char *model, *input, *model_id, *id_col;
    struct rs_output out;
    int side, format, dtype;
    char **pre;
    int npre;
} opt = { .side = -1, .format = OUT_RSB, .dtype = RS_F32 };

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Embed users or items with a two-tower model from rs-train-tower: each row of the\n"
           "feature table (the columns the model's features name) gives one L2-normalised\n"
           "vector keyed by its id. Ids never seen in training embed from their features\n"
           "(cold start). Rows stream through in chunks of %d: memory stays constant.\n"
           "\n"
           "Options:\n"
           "  -m, --model FILE       the model (RSM)\n"
           "      --users FILE       embed users: user_id + the user features' columns ('-': stdin)\n"
           "      --items FILE       embed items: item_id + the item features' columns\n"
           "  -f, --format F         rsb (default), tsv (id, v1..vd) or pg (PostgreSQL COPY\n"
           "                         text: id, model id, vector as an array literal)\n"
           "      --model-id ID      the model id column of --format pg (default: the model\n"
           "                         file's name)\n"
           "      --dtype T          RSB element type: f32 (default), f16 or i8\n"
           "      --id-col NAME      id column (default: the model's user_id / item_id)\n"
           "      --pretrained NAME=FILE  RSB for pretrained feature NAME instead of the path\n"
           "                         stored in the model (repeatable)\n"
           "  -o, --output FILE      write to FILE, atomically (default: stdout)\n"
           "  -z, --zstd             compress the output (default when FILE ends in .zst)\n"
           "      --level N          zstd level 1..19 (default 3)\n"
           RS_SHARD_HELP
           "                         (every row is still embedded: sgemm rounds a row by\n"
           "                         its place in the block, and a shard's vectors are the\n"
           "                         unsharded run's bits)\n"
           RS_COMMON_HELP
           "\n"
           "PostgreSQL: COPY embeddings (id, model_id, embedding) FROM STDIN reads --format pg\n"
           "(embedding real[]).\n"
           "\n"
           "Examples:\n"
           "  rs-embed --model tower.rsm --items items.tsv -o item_emb.rsb\n"
           "  rs-embed --model tower.rsm --users users.tsv.zst -f tsv | head\n"
           "  rs-embed -m tower.rsm --users users.tsv -f pg --model-id tower-2025w01 | psql -c \\\n"
           "      \"COPY user_emb (id, model_id, embedding) FROM STDIN\"\n",
           RS_TOWER_EMBED_CHUNK);
}

static void set_input(int side, const char *path)
{
    if (opt.side >= 0)
        rs_usage_error(SYNOPSIS, "give one of --users and --items");
    opt.side = side;
    opt.input = path;
}

static void parse_args(int argc, char **argv)
{
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        RS_SHARD_LONGOPTS,
        { "model", required_argument, 0, 'm' },     { "users", required_argument, 0, 'U' },
        { "items", required_argument, 0, 'I' },     { "format", required_argument, 0, 'f' },
        { "model-id", required_argument, 0, 'M' },  { "dtype", required_argument, 0, 'D' },
        { "id-col", required_argument, 0, 'c' },    { "pretrained", required_argument, 0, 'P' },
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS "m:f:", longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out) || rs_cli_shard(c, optarg))
            continue;
        switch (c) {
        case 'm': opt.model = optarg; break;
        case 'U': set_input(RS_SIDE_USER, optarg); break;
        case 'I': set_input(RS_SIDE_ITEM, optarg); break;
        case 'f':
            opt.format = !strcmp(optarg, "rsb") ? OUT_RSB : !strcmp(optarg, "tsv") ? OUT_TSV
                       : !strcmp(optarg, "pg")  ? OUT_PG : 0;
            if (!opt.format)
                rs_usage_error(SYNOPSIS, "invalid --format '%s': expected rsb, tsv or pg", optarg);
            break;
        case 'M': opt.model_id = optarg; break;
        case 'D':
            if ((opt.dtype = rs_dtype_parse(optarg)) < 0)
                rs_usage_error(SYNOPSIS, "%s", rs_err_msg());
            break;
        case 'c': opt.id_col = optarg; break;
        case 'P':
            if (!strchr(optarg, '=') || optarg[0] == '=')
                rs_usage_error(SYNOPSIS, "invalid --pretrained '%s': expected NAME=FILE", optarg);
            opt.pre = xrealloc(opt.pre, (size_t)(opt.npre + 1) * sizeof *opt.pre);
            opt.pre[opt.npre++] = optarg;
            break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    if (!opt.model)
        rs_usage_error(SYNOPSIS, "no model: use --model MODEL.rsm");
    if (opt.side < 0)
        rs_usage_error(SYNOPSIS, "nothing to embed: use --users FILE or --items FILE");
    if (optind < argc)
        rs_usage_error(SYNOPSIS, "unexpected argument '%s'", argv[optind]);
    if (opt.format == OUT_RSB && !opt.out.path && isatty(1))
        rs_usage_error(SYNOPSIS, "refusing to write binary RSB to a terminal; use -o FILE or -f tsv");
}

/* --pretrained NAME=FILE overrides the paths stored in the model. */
static int override_pretrained(struct rs_tower *t)
{
    for (int i = 0; i < opt.npre; i++) {
        const char *eq = strchr(opt.pre[i], '=');
        struct rs_feat *hit = NULL;
        for (int s = 0; s < 2; s++)
            for (size_t k = 0; k < t->side[s].nf; k++)
                if (t->side[s].f[k].type == RS_FEAT_PRETRAINED &&
                    strncmp(t->side[s].f[k].name, opt.pre[i], (size_t)(eq - opt.pre[i])) == 0 &&
                    t->side[s].f[k].name[eq - opt.pre[i]] == '\0')
                    hit = &t->side[s].f[k];
        if (!hit)
            return rs_err_set(RS_ERR_USAGE, "--pretrained '%s': the model has no pretrained feature of that name",
                              opt.pre[i]);
        free(hit->path);
        hit->path = xstrdup(eq + 1);
    }
    return 0;
}

static int write_rows(struct rs_writer *w, struct rs_rsb_writer *rw, char **ids, size_t *idlens, const float *z,
                      size_t B, size_t d)
{
    int rc = 0;
    for (size_t b = 0; b < B && rc == 0; b++) {
        const float *v = z + b * d;
        if (!rs_shard_has(&rs_shard_sel, ids[b], idlens[b]))
            continue;
        if (rw) {
            rc = rs_rsb_write(rw, ids[b], idlens[b], v);
            continue;
        }
        rc |= rs_writer_put_field(w, ids[b], idlens[b]);
        if (opt.format == OUT_PG) {
            rc |= rs_writer_putc(w, '\t') | rs_writer_put_field(w, opt.model_id, strlen(opt.model_id));
            rc |= rs_writer_printf(w, "\t{");
        }
        for (size_t j = 0; j < d; j++) {
            if (j || opt.format != OUT_PG)
                rc |= rs_writer_putc(w, opt.format == OUT_PG ? ',' : '\t');
            rc |= rs_writer_put_float(w, v[j]);
        }
        rc |= (opt.format == OUT_PG ? rs_writer_putc(w, '}') : 0) | rs_writer_putc(w, '\n');
    }
    return rc;
}

struct sink {
    struct rs_writer *w;
    struct rs_rsb_writer *rw;
    size_t d;
};

static int write_chunk(void *ctx, char **ids, const size_t *lens, const float *z, size_t n)
{
    struct sink *k = ctx;
    return write_rows(k->w, k->rw, ids, (size_t *)lens, z, n, k->d);
}

static int embed(struct rs_tower *t, struct rs_tsv *tb, struct rs_writer *w, struct rs_rsb_writer **rw,
                 const char *meta)
{
    int side = opt.side, rc = 0;
    const char *idcol = opt.id_col ? opt.id_col : t->side[side].id_col;
    size_t d = t->d;
    if (opt.format == OUT_RSB && (rc = rs_rsb_writer_init(rw, w, (uint32_t)d, opt.dtype, meta)) < 0)
        return rc;
    if (opt.format == OUT_TSV) {
        rc = rs_writer_printf(w, "id");
        for (size_t j = 0; j < d; j++)
            rc |= rs_writer_printf(w, "\tv%zu", j + 1);
        rc |= rs_writer_putc(w, '\n');
    }
    struct sink k = { w, *rw, d };
    if (rc == 0)
        rc = rs_tower_embed_table(t, side, tb, idcol, rs_opts.threads, write_chunk, &k);
    if (rc == 0 && *rw) {
        rc = rs_rsb_writer_finish(*rw);
        *rw = NULL;
    }
    return rc;
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    parse_args(argc, argv);
    char *model_copy = xstrdup(opt.model);
    if (!opt.model_id)
        opt.model_id = basename(model_copy);
    struct rs_rsm *m = NULL;
    struct rs_tower t = { 0 };
    struct rs_tsv *tb = NULL;
    struct rs_writer *w = NULL;
    struct rs_rsb_writer *rw = NULL;
    int rc = rs_rsm_load(&m, opt.model);
    if (rc == 0)
        rc = rs_tower_from_rsm(&t, m);
    if (rc == 0)
        rc = override_pretrained(&t);
    if (rc == 0)
        rc = rs_tower_load_pretrained(&t);
    if (rc == 0)
        rc = rs_tsv_open(&tb, opt.input, 0);
    if (rc == 0)
        rc = rs_output_open(&w, &opt.out);
    if (rc == 0) {
        char *meta = xmalloc(strlen(opt.model_id) + 64);
        sprintf(meta, "tool\trs-embed\nkind\t%s\nmodel\t%s\n", opt.side ? "item" : "user", opt.model_id);
        rc = embed(&t, tb, w, &rw, meta);
        free(meta);
    }
    rs_rsb_writer_free(rw);
    rs_tsv_close(tb);
    rs_tower_free(&t);
    rs_rsm_free(m);
    free(opt.pre);
    rc = rs_writer_finish(w, rc);
    free(model_copy);
    if (rc < 0)
        rs_die(rc);
    return 0;
}
