/* rs-encode - sentence embeddings of item text with a sentence-transformers
 * BERT model (all-MiniLM-L6-v2 and its kin) run in C: a table of (id, text
 * columns) in, one L2-normalised vector per row out, as RSB (the tower's
 * `pretrained` feature reads it), TSV, or the token ids. */
#include "cli.h"
#include "core/err.h"
#include "core/strmap.h"
#include "io/io.h"
#include "io/rsb.h"
#include "io/tsv.h"
#include "model/encoder.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYNOPSIS "rs-encode --model DIR [OPTIONS] [FILE]"
#define DEFAULT_BATCH 32
#define CHUNK 8192 /* rows read, sorted and encoded at a time */

enum { OUT_RSB = 1, OUT_TSV = 2, OUT_TOKENS = 3 };

static struct {
    const char *model, *input, *id_col, *text_cols;
    struct rs_output out;
    int format, dtype;
    long long batch;
} opt = { .format = OUT_RSB, .dtype = RS_F32, .batch = DEFAULT_BATCH };

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Embed each row's text with a sentence-transformers model directory (config.json,\n"
           "tokenizer.json, model.safetensors; e.g. all-MiniLM-L6-v2): WordPiece tokens as the\n"
           "model's tokenizer.json defines them, the BERT encoder, mean pooling, L2 norm; the\n"
           "vectors sentence-transformers gives, keyed by the row's id. Rows are encoded %d at\n"
           "a time, sorted by length into batches; the output keeps the input's order.\n"
           "\n"
           "Options:\n"
           "  -m, --model DIR        the model directory\n"
           "      --id-col NAME      id column (default: the first)\n"
           "      --text-cols A,B    text columns, joined by a space (default: every other column)\n"
           "  -f, --format F         rsb (default), tsv (id, v1..vd) or tokens (id, the token ids\n"
           "                         separated by spaces)\n"
           "      --dtype T          RSB element type: f32 (default), f16 or i8\n"
           "  -b, --batch N          texts per forward pass (default %d)\n"
           "  -o, --output FILE      write to FILE, atomically (default: stdout)\n"
           "  -z, --zstd             compress the output (default when FILE ends in .zst)\n"
           "      --level N          zstd level 1..19 (default 3)\n"
           RS_COMMON_HELP
           "\n"
           "FILE ('-' or none: stdin) is TSV, or CSV when its name ends in .csv.\n"
           "\n"
           "Examples:\n"
           "  rs-encode -m all-MiniLM-L6-v2 items.tsv --text-cols title,description -o text.rsb\n"
           "  rs-encode -m all-MiniLM-L6-v2 -f tsv titles.csv | head\n",
           CHUNK, DEFAULT_BATCH);
}

static void parse_args(int argc, char **argv)
{
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        { "model", required_argument, 0, 'm' },   { "format", required_argument, 0, 'f' },
        { "id-col", required_argument, 0, 'c' },  { "text-cols", required_argument, 0, 'T' },
        { "dtype", required_argument, 0, 'D' },   { "batch", required_argument, 0, 'b' },
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS "m:f:b:", longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out))
            continue;
        switch (c) {
        case 'm': opt.model = optarg; break;
        case 'f':
            opt.format = !strcmp(optarg, "rsb") ? OUT_RSB : !strcmp(optarg, "tsv") ? OUT_TSV
                       : !strcmp(optarg, "tokens") ? OUT_TOKENS : 0;
            if (!opt.format)
                rs_usage_error(SYNOPSIS, "invalid --format '%s': expected rsb, tsv or tokens", optarg);
            break;
        case 'c': opt.id_col = optarg; break;
        case 'T': opt.text_cols = optarg; break;
        case 'D':
            if ((opt.dtype = rs_dtype_parse(optarg)) < 0)
                rs_usage_error(SYNOPSIS, "%s", rs_err_msg());
            break;
        case 'b': opt.batch = rs_opt_int("--batch", optarg, 1, 4096); break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    if (!opt.model)
        rs_usage_error(SYNOPSIS, "no model: use --model DIR");
    if (optind < argc)
        opt.input = argv[optind++];
    if (optind < argc)
        rs_usage_error(SYNOPSIS, "unexpected argument '%s'", argv[optind]);
    if (opt.format == OUT_RSB && !opt.out.path && isatty(1))
        rs_usage_error(SYNOPSIS, "refusing to write binary RSB to a terminal; use -o FILE or -f tsv");
}

/* The table's columns: the id and the texts. */
struct cols {
    int id;
    int *text;
    size_t ntext;
};

static int bind_cols(struct rs_tsv *t, struct cols *c)
{
    size_t n = rs_tsv_ncols(t);
    int rc = 0;
    c->text = xmalloc((n + 1) * sizeof *c->text);
    c->ntext = 0;
    if (n == 0)
        return rs_err_set(RS_ERR_FORMAT, "'%s': empty input: expected a header line", rs_tsv_name(t));
    c->id = 0;
    if (opt.id_col && (rc = rs_tsv_require(t, opt.id_col, &c->id)) < 0)
        return rc;
    if (!opt.text_cols) {
        for (size_t i = 0; i < n; i++)
            if ((int)i != c->id)
                c->text[c->ntext++] = (int)i;
        return c->ntext ? 0 : rs_err_set(RS_ERR_FORMAT, "'%s': no text column beside the id", rs_tsv_name(t));
    }
    char *list = xstrdup(opt.text_cols), *save = NULL;
    for (char *name = strtok_r(list, ",", &save); name && rc == 0; name = strtok_r(NULL, ",", &save))
        if (c->ntext < n && (rc = rs_tsv_require(t, name, &c->text[c->ntext])) == 0)
            c->ntext++;
    free(list);
    return rc;
}

/* A chunk of rows: ids and joined texts. */
struct chunk {
    char *id[CHUNK], *text[CHUNK];
    size_t idlen[CHUNK], textlen[CHUNK], n;
};

static void chunk_clear(struct chunk *k)
{
    for (size_t i = 0; i < k->n; i++) {
        free(k->id[i]);
        free(k->text[i]);
    }
    k->n = 0;
}

static int read_row(struct rs_tsv *t, const struct cols *c, struct rs_strmap *seen, struct chunk *k)
{
    size_t n = rs_tsv_len(t, c->id), len = 0;
    int added;
    if (n == 0)
        return rs_tsv_errf(t, c->id, "empty id");
    rs_strmap_put(seen, rs_tsv_get(t, c->id), n, &added);
    if (!added)
        return rs_tsv_errf(t, c->id, "id '%.*s' seen on an earlier line", (int)(n < 64 ? n : 64), rs_tsv_get(t, c->id));
    for (size_t i = 0; i < c->ntext; i++)
        len += rs_tsv_len(t, c->text[i]) + 1;
    char *s = xmalloc(len + 1), *p = s;
    for (size_t i = 0; i < c->ntext; i++) {
        size_t l = rs_tsv_len(t, c->text[i]);
        if (i)
            *p++ = ' ';
        memcpy(p, rs_tsv_get(t, c->text[i]), l);
        p += l;
    }
    k->id[k->n] = xstrndup(rs_tsv_get(t, c->id), n);
    k->idlen[k->n] = n;
    k->text[k->n] = s;
    k->textlen[k->n++] = (size_t)(p - s);
    return 0;
}

static int write_tokens(const struct rs_encoder *e, struct rs_writer *w, const struct chunk *k)
{
    int32_t *ids = xmalloc(e->max_len * sizeof *ids);
    int rc = 0;
    for (size_t i = 0; i < k->n && rc == 0; i++) {
        size_t n = rs_encoder_tokens(e, k->text[i], k->textlen[i], ids);
        rc = rs_writer_put_field(w, k->id[i], k->idlen[i]) | rs_writer_putc(w, '\t');
        for (size_t j = 0; j < n; j++)
            rc |= rs_writer_printf(w, j ? " %d" : "%d", (int)ids[j]);
        rc |= rs_writer_putc(w, '\n');
    }
    free(ids);
    return rc;
}

/* Progress over the whole input from the count done in one chunk. */
struct prog {
    struct rs_progress *p;
    uint64_t base;
};

static void on_progress(void *ctx, size_t done)
{
    struct prog *g = ctx;
    rs_progress_add(g->p, g->base + done - g->p->done);
}

static int write_vectors(const struct rs_encoder *e, struct rs_writer *w, struct rs_rsb_writer *rw,
                         const struct chunk *k, struct rs_progress *p)
{
    size_t d = e->bert.c.hidden;
    float *z = xmalloc(k->n * d * sizeof *z);
    struct prog g = { p, p->done };
    rs_encoder_embed(e, (const char *const *)k->text, k->textlen, k->n, (size_t)opt.batch, rs_opts.threads, z,
                     on_progress, &g);
    int rc = 0;
    for (size_t i = 0; i < k->n && rc == 0; i++) {
        if (rw) {
            rc = rs_rsb_write(rw, k->id[i], k->idlen[i], z + i * d);
            continue;
        }
        rc = rs_writer_put_field(w, k->id[i], k->idlen[i]);
        for (size_t j = 0; j < d; j++)
            rc |= rs_writer_putc(w, '\t') | rs_writer_put_float(w, z[i * d + j]);
        rc |= rs_writer_putc(w, '\n');
    }
    free(z);
    return rc;
}

static int write_header(const struct rs_encoder *e, struct rs_writer *w, struct rs_rsb_writer **rw)
{
    size_t d = e->bert.c.hidden;
    if (opt.format == OUT_RSB) {
        char *copy = xstrdup(opt.model), meta[512];
        snprintf(meta, sizeof meta, "tool\trs-encode\nmodel\t%.400s\n", basename(copy));
        free(copy);
        return rs_rsb_writer_init(rw, w, (uint32_t)d, opt.dtype, meta);
    }
    if (opt.format == OUT_TOKENS)
        return rs_writer_printf(w, "id\ttokens\n");
    int rc = rs_writer_printf(w, "id");
    for (size_t j = 0; j < d; j++)
        rc |= rs_writer_printf(w, "\tv%zu", j + 1);
    return rc | rs_writer_putc(w, '\n');
}

static int encode(const struct rs_encoder *e, struct rs_tsv *t, struct rs_writer *w)
{
    struct cols c = { 0 };
    struct chunk *k = xcalloc(1, sizeof *k);
    struct rs_strmap *seen = rs_strmap_new(CHUNK);
    struct rs_rsb_writer *rw = NULL;
    struct rs_progress p;
    int rc = bind_cols(t, &c);
    if (rc == 0)
        rc = write_header(e, w, &rw);
    rs_progress_start(&p, "texts", 0);
    while (rc == 0) {
        int more = rs_tsv_next(t);
        if (more < 0 && more != RS_ERR_EOF) {
            rc = more;
            break;
        }
        if (more == 0 && (rc = read_row(t, &c, seen, k)) < 0)
            break;
        if (k->n == CHUNK || (more == RS_ERR_EOF && k->n)) {
            if (opt.format == OUT_TOKENS && (rc = write_tokens(e, w, k)) == 0)
                rs_progress_add(&p, k->n);
            else if (opt.format != OUT_TOKENS)
                rc = write_vectors(e, w, rw, k, &p);
            chunk_clear(k);
        }
        if (more == RS_ERR_EOF)
            break;
    }
    rs_progress_end(&p);
    if (rc == 0 && rw) {
        rc = rs_rsb_writer_finish(rw);
        rw = NULL;
    }
    rs_rsb_writer_free(rw);
    chunk_clear(k);
    free(k);
    free(c.text);
    rs_strmap_free(seen);
    return rc;
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    parse_args(argc, argv);
    struct rs_encoder e;
    struct rs_tsv *t = NULL;
    struct rs_writer *w = NULL;
    int rc = rs_encoder_load(&e, opt.model);
    if (rc == 0)
        rc = rs_tsv_open(&t, opt.input ? opt.input : "-", 0);
    if (rc == 0)
        rc = rs_output_open(&w, &opt.out);
    if (rc == 0)
        rc = encode(&e, t, w);
    rs_tsv_close(t);
    rs_encoder_free(&e);
    rc = rs_writer_finish(w, rc);
    if (rc < 0)
        rs_die(rc);
    rs_log("peak memory %.1f MiB", rs_peak_rss_mib());
    return 0;
}
