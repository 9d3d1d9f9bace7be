/* rs-cat - print any stream (TSV, CSV, RSB; zstd or not) as TSV or JSON
 * lines, inspect its schema, convert TSV vectors to RSB, export models and
 * vectors to other runtimes (NumPy, safetensors, pgvector). */
#include "cli.h"
#include "core/err.h"
#include "core/num.h"
#include "io/export.h"
#include "io/io.h"
#include "io/rsb.h"
#include "core/strmap.h"
#include "io/rsm.h"
#include "core/timeparse.h"
#include "io/tsv.h"
#include "io/unshard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYNOPSIS "rs-cat [OPTIONS] [FILE...]"

/* --to: what each input kind may become. */
enum { TO_TSV, TO_RSB, TO_JSON, TO_JSONL, TO_NPY, TO_NPZ, TO_SAFETENSORS, TO_PGVECTOR };
static const char *to_names[] = { "tsv", "rsb", "json", "jsonl", "npy", "npz", "safetensors", "pgvector" };
#define TO_TABLE ((1 << TO_TSV) | (1 << TO_RSB) | (1 << TO_JSON) | (1 << TO_JSONL))
#define TO_VECTORS ((1 << TO_TSV) | (1 << TO_JSONL) | (1 << TO_NPY) | (1 << TO_PGVECTOR))
#define TO_MODEL ((1 << TO_NPZ) | (1 << TO_SAFETENSORS))
#define TO_BINARY ((1 << TO_RSB) | (1 << TO_NPY) | (1 << TO_NPZ) | (1 << TO_SAFETENSORS))

static struct {
    struct rs_output out;
    long long head; /* -1: all rows */
    int schema, to, csv, dtype;
    const char *id_col, *group_col;
    char *meta;
    struct rs_unshard_opts unshard; /* --unshard: order set */
} opt = { .to = TO_TSV, .head = -1, .dtype = RS_F32, .id_col = "id", .group_col = "user_id" };

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Print TSV, CSV or RSB streams (zstd-compressed or not, detected by magic) as TSV\n"
           "or JSON lines, show their schema, convert a TSV of vectors to RSB, or export an\n"
           "RSM model or RSB vectors for NumPy, safetensors or pgvector. No FILE or '-': stdin.\n"
           "\n"
           "Options:\n"
           "  -n, --head N        only the first N rows (default: all)\n"
           "      --schema        describe the input instead of printing it: TSV columns with\n"
           "                      inferred types, the RSB header, metadata and row count, or an\n"
           "                      RSM model's sections and tensor directory (schemas/rsm.md)\n"
           "      --to FORMAT     output format (default tsv). A table: tsv, rsb, jsonl (one\n"
           "                      object per row), or json: a ranked stream as one object\n"
           "                      {user: [{item_id, score, ...}, ...]} in input order\n"
           "                      (recommendations.json); rows of a user contiguous.\n"
           "                      RSB vectors: tsv, jsonl ({\"id\": ..., \"vector\": [...]}),\n"
           "                      npy (a float32 matrix, rows in the order of the ids that\n"
           "                      'rs-cat FILE | cut -f1' prints) or pgvector (id TAB [x,y,...],\n"
           "                      for PostgreSQL's COPY). An RSM model: npz (NumPy's\n"
           "                      numpy.load, one array per tensor, sections.json) or\n"
           "                      safetensors (sections in __metadata__)\n"
           "      --group-col C   with --to json: the key column (default user_id); the rank\n"
           "                      column is dropped (the array order is the rank); id columns\n"
           "                      (id, *_id) are strings, numbers stay numbers\n"
           "      --id-col NAME   with --to rsb: the id column (default 'id'); every other\n"
           "                      column is a vector dimension\n"
           "      --dtype T       with --to rsb: f32 (default), f16 or i8\n"
           "      --meta K=V      with --to rsb: add a metadata entry (repeatable)\n"
           "      --csv           parse TSV-like input as CSV (default: by .csv/.csv.zst name)\n"
           "      --unshard ORDER  FILE... are shards 0..N-1 of one --shard I/N run: merge them\n"
           "                      into the unsharded output, in the order of the key column\n"
           "                      of ORDER, the stream the run read (TSV, or RSB ids):\n"
           "                      at each key, the next rows of that key from its shard\n"
           "                      (docs/design.md, \"Sharded runs\")\n"
           "      --by COL        with --unshard: the shards' key column (default user_id;\n"
           "                      RSB: the ids)\n"
           "      --order-col COL with --unshard: ORDER's key column (default: --by)\n"
           "      --one-row       with --unshard: one row per ORDER row (rs-negsample over\n"
           "                      positives) instead of every row of the key\n"
           "  -o, --output FILE   write to FILE, atomically (default: stdout)\n"
           "  -z, --zstd          compress the output (default when FILE ends in .zst)\n"
           "      --level N       zstd level 1..19 (default 3)\n"
           RS_COMMON_HELP
           "\n"
           "RSB prints as TSV with columns id, v1..vN (schemas/rsb.md).\n"
           "\n"
           "Examples:\n"
           "  rs-cat events.tsv.zst | head\n"
           "  rs-cat --schema item_emb.rsb\n"
           "  rs-cat item_emb.rsb > emb.tsv && rs-cat --to rsb --dtype f16 -o emb16.rsb emb.tsv\n"
           "  rs-cat --to json -o recommendations.json final.tsv.zst\n"
           "  rs-cat --to npz -o tower.npz tower.rsm        # numpy.load('tower.npz')\n"
           "  rs-cat --to pgvector item_emb.rsb | psql -c 'COPY items (id, embedding) FROM STDIN'\n"
           "  rs-cat --unshard merged.tsv.zst -o ranked.tsv.zst ranked.0.tsv.zst ranked.1.tsv.zst\n");
}

static void add_meta(const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv || strpbrk(kv, "\t\n"))
        rs_usage_error(SYNOPSIS, "invalid --meta '%s': expected KEY=VALUE", kv);
    size_t old = opt.meta ? strlen(opt.meta) : 0, n = strlen(kv);
    opt.meta = xrealloc(opt.meta, old + n + 2);
    memcpy(opt.meta + old, kv, n);
    opt.meta[old + (size_t)(eq - kv)] = '\t';
    opt.meta[old + n] = '\n';
    opt.meta[old + n + 1] = '\0';
}

/* ---- RSB input ---- */

static int rsb_to_tsv(struct rs_rsb_reader *r, struct rs_writer *w, int header)
{
    uint32_t dims = rs_rsb_dims(r);
    float *v = xmalloc(dims * sizeof *v);
    int rc = 0;
    if (header) {
        rc |= rs_writer_printf(w, "id");
        for (uint32_t j = 0; j < dims; j++)
            rc |= rs_writer_printf(w, "\tv%u", j + 1);
        rc |= rs_writer_putc(w, '\n');
    }
    const char *id;
    size_t idlen;
    for (long long row = 0; rc == 0 && (opt.head < 0 || row < opt.head); row++) {
        if ((rc = rs_rsb_next(r, &id, &idlen, v)) < 0)
            break;
        rc |= rs_writer_put_field(w, id, idlen);
        for (uint32_t j = 0; j < dims; j++)
            rc |= rs_writer_putc(w, '\t') | rs_writer_put_float(w, v[j]);
        rc |= rs_writer_putc(w, '\n');
    }
    free(v);
    return rc == RS_ERR_EOF ? 0 : rc;
}

/* RSB as one line per vector: JSON lines {"id": ..., "vector": [...]}, or
 * pgvector's text literal after the id (COPY's text format: TAB between
 * columns, the id escaped as a TSV field, which is COPY's escaping too). */
static int rsb_to_lines(struct rs_rsb_reader *r, struct rs_writer *w)
{
    uint32_t dims = rs_rsb_dims(r);
    float *v = xmalloc(dims * sizeof *v);
    int rc = 0, json = opt.to == TO_JSONL;
    const char *id;
    size_t idlen;
    for (long long row = 0; rc == 0 && (opt.head < 0 || row < opt.head); row++) {
        if ((rc = rs_rsb_next(r, &id, &idlen, v)) < 0)
            break;
        if (json)
            rc = rs_writer_printf(w, "{\"id\": ") | rs_writer_put_json_string(w, id, idlen) |
                 rs_writer_printf(w, ", \"vector\": [");
        else
            rc = rs_writer_put_field(w, id, idlen) | rs_writer_printf(w, "\t[");
        for (uint32_t j = 0; j < dims; j++)
            rc |= (j ? rs_writer_putc(w, ',') : 0) | rs_writer_put_float(w, v[j]);
        rc |= rs_writer_printf(w, json ? "]}\n" : "]\n");
    }
    free(v);
    return rc == RS_ERR_EOF ? 0 : rc;
}

static int rsb_schema(struct rs_rsb_reader *r, struct rs_writer *w, const char *name, int zstd)
{
    uint32_t dims = rs_rsb_dims(r);
    float *v = xmalloc(dims * sizeof *v);
    const char *id;
    size_t idlen;
    unsigned long long rows = 0;
    int rc;
    while ((rc = rs_rsb_next(r, &id, &idlen, v)) == 0)
        rows++;
    free(v);
    if (rc != RS_ERR_EOF)
        return rc;
    rs_writer_printf(w, "file\t%s\nformat\tRSB 1.%d\ncompressed\t%s\ndtype\t%s\ndims\t%u\nrows\t%llu\n",
                     name, rs_rsb_version_minor(r), zstd ? "zstd" : "no", rs_dtype_name(rs_rsb_dtype(r)),
                     dims, rows);
    const char *meta = rs_rsb_meta_text(r);
    return *meta ? rs_writer_printf(w, "%s", meta) : 0;
}

/* ---- RSM input (model files: schema only) ---- */

/* Prints the header fields, the JSON sections and the tensor directory. */
static int cat_rsm(struct rs_writer *w, struct rs_reader *in)
{
    int zstd = rs_reader_is_zstd(in);
    char *name = xstrdup(rs_reader_name(in));
    struct rs_rsm *m;
    int rc = rs_rsm_load_reader(&m, in);
    if (rc < 0) {
        free(name);
        return rc;
    }
    if (opt.to == TO_NPZ) {
        rc = rs_export_rsm_npz(m, w);
    } else if (opt.to == TO_SAFETENSORS) {
        rc = rs_export_rsm_safetensors(m, w);
    } else if (!opt.schema) {
        rc = rs_err_set(RS_ERR_USAGE, "'%s' is an RSM model file: use --schema, or --to npz or safetensors", name);
    } else {
        rc = rs_writer_printf(w, "file\t%s\nformat\tRSM 1.%d\ncompressed\t%s\ntensors\t%zu\n", name,
                              rs_rsm_version_minor(m), zstd ? "zstd" : "no", rs_rsm_ntensors(m));
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(rs_rsm_header(m), "sections"), key, v) {
            char *text = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
            rc |= rs_writer_printf(w, "section.%s\t%s\n", key, text ? text : "");
            free(text);
        }
        rc |= rs_writer_printf(w, "tensor\tdtype\tshape\toffset\tnbytes\n");
        for (size_t i = 0; i < rs_rsm_ntensors(m) && rc == 0; i++) {
            const struct rs_rsm_tensor *t = rs_rsm_tensor_at(m, i);
            rc |= rs_writer_printf(w, "%s\t%s\t", t->name, rs_rsm_dtype_name(t->dtype));
            for (int d = 0; d < t->ndim; d++)
                rc |= rs_writer_printf(w, "%s%llu", d ? "x" : "", (unsigned long long)t->shape[d]);
            rc |= rs_writer_printf(w, "\t%llu\t%llu\n", (unsigned long long)t->offset,
                                   (unsigned long long)t->nbytes);
        }
    }
    rs_rsm_free(m);
    free(name);
    return rc;
}

/* ---- TSV input ---- */

enum { T_EMPTY, T_INT, T_FLOAT, T_TIME, T_STRING };
static const char *type_name[] = { "empty", "int", "float", "time", "string" };

static int infer(const char *s, size_t n)
{
    if (n == 0)
        return T_EMPTY;
    int64_t i;
    double x;
    if (rs_num_i64(s, n, &i) == 0)
        return T_INT;
    if (rs_num_f64(s, n, &x) == 0)
        return T_FLOAT;
    int64_t t;
    if (n >= 10 && s[4] == '-' && rs_time_parse(s, n, &t) == 0)
        return T_TIME;
    return T_STRING;
}

/* Widens the type seen so far with a new field's type. */
static int widen(int have, int got)
{
    if (have == T_EMPTY || got == T_EMPTY)
        return have == T_EMPTY ? got : have;
    if (have == got)
        return have;
    if ((have == T_INT && got == T_FLOAT) || (have == T_FLOAT && got == T_INT))
        return T_FLOAT;
    return T_STRING;
}

static int tsv_schema(struct rs_tsv *t, struct rs_writer *w)
{
    size_t nc = rs_tsv_ncols(t);
    int *type = xcalloc(nc, sizeof *type);
    unsigned long long *filled = xcalloc(nc, sizeof *filled), rows = 0;
    int rc;
    while ((opt.head < 0 || (long long)rows < opt.head) && (rc = rs_tsv_next(t)) == 0) {
        rows++;
        for (size_t i = 0; i < nc; i++) {
            size_t n = rs_tsv_len(t, (int)i);
            filled[i] += n > 0;
            type[i] = widen(type[i], infer(rs_tsv_get(t, (int)i), n));
        }
    }
    if (opt.head >= 0 && (long long)rows == opt.head)
        rc = RS_ERR_EOF;
    if (rc == RS_ERR_EOF) {
        rc = rs_writer_printf(w, "column\ttype\tfilled\trows\n");
        for (size_t i = 0; i < nc && rc == 0; i++) {
            rc |= rs_writer_put_field(w, rs_tsv_colname(t, i), strlen(rs_tsv_colname(t, i)));
            rc |= rs_writer_printf(w, "\t%s\t%llu\t%llu\n", type_name[type[i]], filled[i], rows);
        }
    }
    free(type);
    free(filled);
    return rc;
}

static int tsv_header(struct rs_tsv *t, struct rs_writer *w)
{
    int rc = 0;
    for (size_t i = 0; i < rs_tsv_ncols(t); i++) {
        const char *name = rs_tsv_colname(t, i);
        rc |= (i ? rs_writer_putc(w, '\t') : 0) | rs_writer_put_field(w, name, strlen(name));
    }
    return rc | rs_writer_putc(w, '\n');
}

/* Checks that a later input has the header of the first one. */
static int same_header(struct rs_tsv *t, char **first, size_t nfirst)
{
    int same = rs_tsv_ncols(t) == nfirst;
    for (size_t i = 0; same && i < nfirst; i++)
        same = strcmp(first[i], rs_tsv_colname(t, i)) == 0;
    return same ? 0 : rs_err_set(RS_ERR_FORMAT, "'%s' line 1: header differs from the first input's",
                                 rs_tsv_name(t));
}

static int tsv_to_rsb(struct rs_tsv *t, struct rs_writer *w, struct rs_rsb_writer **rw)
{
    int id_col, rc = rs_tsv_require(t, opt.id_col, &id_col);
    if (rc < 0)
        return rc;
    size_t nc = rs_tsv_ncols(t);
    if (nc < 2)
        return rs_err_set(RS_ERR_FORMAT, "'%s' line 1: no vector columns besides '%s'", rs_tsv_name(t),
                          opt.id_col);
    if (nc - 1 > RS_RSB_MAX_DIMS)
        return rs_err_set(RS_ERR_FORMAT, "'%s' line 1: %zu vector columns (RSB allows at most %u)", rs_tsv_name(t),
                          nc - 1, RS_RSB_MAX_DIMS);
    uint32_t dims = (uint32_t)(nc - 1);
    if (!*rw && (rc = rs_rsb_writer_init(rw, w, dims, opt.dtype, opt.meta)) < 0)
        return rc;
    float *v = xmalloc(dims * sizeof *v);
    for (long long row = 0; opt.head < 0 || row < opt.head; row++) {
        if ((rc = rs_tsv_next(t)) < 0)
            break;
        uint32_t j = 0;
        for (size_t i = 0; i < nc && rc == 0; i++)
            if ((int)i != id_col)
                rc = rs_tsv_get_vec(t, (int)i, &v[j++]);
        if (rc == 0 && rs_tsv_len(t, id_col) > RS_RSB_MAX_ID)
            rc = rs_tsv_errf(t, id_col, "id of %zu bytes (RSB allows at most %u)", rs_tsv_len(t, id_col),
                             RS_RSB_MAX_ID);
        if (rc == 0 && (rc = rs_rsb_write(*rw, rs_tsv_get(t, id_col), rs_tsv_len(t, id_col), v)) == RS_ERR_FORMAT)
            rc = rs_tsv_errf(t, id_col, "%s", rs_err_msg()); /* the writer's refusal (f16's range), located */
        if (rc < 0) {
            if (rs_tsv_len(t, id_col) == 0)
                rc = rs_tsv_errf(t, id_col, "empty id");
            break;
        }
    }
    free(v);
    return rc == RS_ERR_EOF ? 0 : rc;
}

/* 1 if f[0..n) is a number in JSON's grammar: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? */
static int is_json_number(const char *f, size_t n)
{
    size_t i = 0, d;
    if (i < n && f[i] == '-')
        i++;
    for (d = i; i < n && f[i] >= '0' && f[i] <= '9'; i++)
        ;
    if (i == d || (f[d] == '0' && i - d > 1))
        return 0;
    if (i < n && f[i] == '.') {
        for (d = ++i; i < n && f[i] >= '0' && f[i] <= '9'; i++)
            ;
        if (i == d)
            return 0;
    }
    if (i < n && (f[i] == 'e' || f[i] == 'E')) {
        if (++i < n && (f[i] == '+' || f[i] == '-'))
            i++;
        for (d = i; i < n && f[i] >= '0' && f[i] <= '9'; i++)
            ;
        if (i == d)
            return 0;
    }
    return i == n;
}

/* A field as a JSON value: ids (columns "id" and "*_id") and non-numbers are
 * strings, numbers stay numbers. */
static int put_json_value(struct rs_writer *w, const char *col, const char *f, size_t n)
{
    size_t c = strlen(col);
    int id = strcmp(col, "id") == 0 || (c > 3 && strcmp(col + c - 3, "_id") == 0);
    return !id && is_json_number(f, n) ? rs_writer_write(w, f, n) : rs_writer_put_json_string(w, f, n);
}

static int tsv_to_json(struct rs_tsv *t, struct rs_writer *w)
{
    int g, rc = rs_tsv_require(t, opt.group_col, &g), rank = rs_tsv_col(t, "rank");
    if (rc < 0)
        return rc;
    struct rs_strmap *done = rs_strmap_new(1024);
    char *cur = NULL;
    size_t nrows = 0;
    rc = rs_writer_putc(w, '{');
    while (rc == 0 && (opt.head < 0 || (long long)nrows < opt.head) && (rc = rs_tsv_next(t)) == 0) {
        const char *key = rs_tsv_get(t, g);
        size_t klen = rs_tsv_len(t, g);
        if (!cur || strcmp(cur, key) != 0) {
            int added;
            rs_strmap_put(done, key, klen, &added);
            if (!added) {
                rc = rs_tsv_errf(t, g, "rows of '%.64s' are not contiguous", key);
                break;
            }
            rc = rs_writer_printf(w, "%s\n", cur ? "]," : "") | rs_writer_put_json_string(w, key, klen) |
                 rs_writer_printf(w, ": [");
            free(cur);
            cur = xstrdup(key);
        } else {
            rc = rs_writer_printf(w, ", ");
        }
        rc |= rs_writer_putc(w, '{');
        int first = 1;
        for (size_t i = 0; i < rs_tsv_ncols(t); i++) {
            if ((int)i == g || (int)i == rank)
                continue;
            const char *name = rs_tsv_colname(t, i);
            rc |= (first ? 0 : rs_writer_printf(w, ", ")) | rs_writer_put_json_string(w, name, strlen(name)) |
                  rs_writer_printf(w, ": ") | put_json_value(w, name, rs_tsv_get(t, (int)i), rs_tsv_len(t, (int)i));
            first = 0;
        }
        rc |= rs_writer_putc(w, '}');
        nrows++;
    }
    if (rc == RS_ERR_EOF || (rc == 0 && opt.head >= 0))
        rc = rs_writer_printf(w, "%s}\n", cur ? "]\n" : "");
    free(cur);
    rs_strmap_free(done);
    return rc;
}

/* A table as JSON lines: one object per row, keys the column names, values
 * typed as put_json_value does. */
static int tsv_to_jsonl(struct rs_tsv *t, struct rs_writer *w)
{
    int rc = 0;
    for (long long row = 0; rc == 0 && (opt.head < 0 || row < opt.head); row++) {
        if ((rc = rs_tsv_next(t)) < 0)
            break;
        rc = rs_writer_putc(w, '{');
        for (size_t i = 0; i < rs_tsv_ncols(t); i++) {
            const char *name = rs_tsv_colname(t, i);
            rc |= (i ? rs_writer_printf(w, ", ") : 0) | rs_writer_put_json_string(w, name, strlen(name)) |
                  rs_writer_printf(w, ": ") | put_json_value(w, name, rs_tsv_get(t, (int)i), rs_tsv_len(t, (int)i));
        }
        rc |= rs_writer_printf(w, "}\n");
    }
    return rc == RS_ERR_EOF ? 0 : rc;
}

/* ---- driver ---- */

static int parse_to(const char *s)
{
    for (int i = 0; i < (int)(sizeof to_names / sizeof *to_names); i++)
        if (strcmp(s, to_names[i]) == 0)
            return i;
    rs_usage_error(SYNOPSIS, "invalid --to '%s': expected tsv, rsb, json, jsonl, npy, npz, safetensors or pgvector",
                   s);
}

/* Refuses an input whose kind (what) --to cannot convert (allowed: TO_* bits). */
static int check_to(const char *name, int allowed, const char *what)
{
    if (allowed >> opt.to & 1 || opt.schema)
        return 0;
    char list[96] = "";
    for (int i = 0; i < (int)(sizeof to_names / sizeof *to_names); i++)
        if (allowed >> i & 1)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", *list ? ", " : "", to_names[i]);
    return rs_err_set(RS_ERR_USAGE, "'%s' is %s: --to %s takes %s; %s can become %s", name, what, to_names[opt.to],
                      opt.to == TO_NPY || opt.to == TO_PGVECTOR ? "RSB vectors"
                      : TO_MODEL >> opt.to & 1                   ? "an RSM model"
                                                                 : "a table",
                      what, list);
}

struct state {
    struct rs_writer *w;
    struct rs_rsb_writer *rsb_out;
    char **first_header;
    size_t first_ncols;
    int inputs;
};

static int cat_rsb(struct state *s, struct rs_reader *in)
{
    int zstd = rs_reader_is_zstd(in);
    struct rs_rsb_reader *r;
    int rc = rs_rsb_open_reader(&r, in);
    if (rc < 0)
        return rc;
    if (opt.schema)
        rc = rsb_schema(r, s->w, rs_reader_name(in), zstd);
    else if (opt.to == TO_NPY)
        rc = rs_export_rsb_npy(r, s->w);
    else if (opt.to == TO_JSONL || opt.to == TO_PGVECTOR)
        rc = rsb_to_lines(r, s->w);
    else
        rc = rsb_to_tsv(r, s->w, s->inputs == 0);
    rs_rsb_close(r);
    return rc;
}

static int cat_table(struct state *s, struct rs_reader *in, int csv)
{
    struct rs_tsv *t;
    int rc = rs_tsv_open_reader(&t, in, csv ? RS_TSV_CSV : 0);
    if (rc < 0)
        return rc;
    if (opt.schema) {
        rc = tsv_schema(t, s->w);
    } else if (opt.to == TO_RSB) {
        rc = tsv_to_rsb(t, s->w, &s->rsb_out);
    } else if (opt.to == TO_JSONL) {
        rc = tsv_to_jsonl(t, s->w);
    } else if (opt.to == TO_JSON) {
        rc = s->inputs ? rs_err_set(RS_ERR_USAGE, "--to json takes one input") : tsv_to_json(t, s->w);
    } else {
        if (s->inputs == 0) {
            s->first_ncols = rs_tsv_ncols(t);
            s->first_header = xmalloc((s->first_ncols + 1) * sizeof(char *));
            for (size_t i = 0; i < s->first_ncols; i++)
                s->first_header[i] = xstrdup(rs_tsv_colname(t, i));
            rc = s->first_ncols ? tsv_header(t, s->w) : 0;
        } else {
            rc = same_header(t, s->first_header, s->first_ncols);
        }
        for (long long row = 0; rc == 0 && (opt.head < 0 || row < opt.head); row++) {
            if ((rc = rs_tsv_next(t)) < 0)
                break;
            rc = rs_tsv_write_row(t, s->w);
        }
        if (rc == RS_ERR_EOF)
            rc = 0;
    }
    rs_tsv_close(t);
    return rc;
}

/* Prints one input, RSB or table, detected by its first bytes. */
static int cat_one(struct state *s, const char *path)
{
    struct rs_reader *in;
    int rc = rs_reader_open(&in, path);
    if (rc < 0)
        return rc;
    const unsigned char *p;
    size_t avail;
    if ((rc = rs_reader_peek(in, 8, &p, &avail)) < 0) {
        rs_reader_close(in);
        return rc;
    }
    int rsb = rs_rsb_sniff(p, avail), rsm = !rsb && rs_rsm_sniff(p, avail);
    /* tsv, the default, is every kind's (a model's answer: what to use instead) */
    if (opt.to != TO_TSV && (rc = check_to(rs_reader_name(in), rsb ? TO_VECTORS : rsm ? TO_MODEL : TO_TABLE,
                                           rsb ? "RSB vectors" : rsm ? "an RSM model" : "a table")) < 0)
        rs_reader_close(in);
    else
        rc = rsb ? cat_rsb(s, in) : rsm ? cat_rsm(s->w, in) : cat_table(s, in, opt.csv);
    s->inputs++;
    return rc;
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        { "head", required_argument, 0, 'n' },
        { "schema", no_argument, 0, 'S' },
        { "to", required_argument, 0, 'T' },
        { "id-col", required_argument, 0, 'I' },
        { "group-col", required_argument, 0, 'G' },
        { "dtype", required_argument, 0, 'D' },
        { "meta", required_argument, 0, 'M' },
        { "csv", no_argument, 0, 'C' },
        { "unshard", required_argument, 0, 'U' },
        { "by", required_argument, 0, 'B' },
        { "order-col", required_argument, 0, 'O' },
        { "one-row", no_argument, 0, 'R' },
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS "n:", longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out))
            continue;
        switch (c) {
        case 'n': opt.head = rs_opt_int("--head", optarg, 0, INT64_MAX); break;
        case 'S': opt.schema = 1; break;
        case 'T': opt.to = parse_to(optarg); break;
        case 'I': opt.id_col = optarg; break;
        case 'G': opt.group_col = optarg; break;
        case 'D':
            if ((opt.dtype = rs_dtype_parse(optarg)) < 0)
                rs_usage_error(SYNOPSIS, "%s", rs_err_msg());
            break;
        case 'M': add_meta(optarg); break;
        case 'C': opt.csv = 1; break;
        case 'U': opt.unshard.order = optarg; break;
        case 'B': opt.unshard.key_col = optarg; break;
        case 'O': opt.unshard.order_col = optarg; break;
        case 'R': opt.unshard.one_row = 1; break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    if (!opt.unshard.order && (opt.unshard.key_col || opt.unshard.order_col || opt.unshard.one_row))
        rs_usage_error(SYNOPSIS, "--by, --order-col and --one-row go with --unshard");
    if (opt.unshard.order && (opt.schema || opt.to != TO_TSV || opt.head >= 0 || opt.csv))
        rs_usage_error(SYNOPSIS, "--unshard merges shards as they are: no --schema, --to, --head or --csv");
    if (opt.unshard.order && optind == argc)
        rs_usage_error(SYNOPSIS, "--unshard needs the shards' files, shard 0 first");
    if (opt.schema && opt.to != TO_TSV)
        rs_usage_error(SYNOPSIS, "--schema and --to exclude each other");
    if ((TO_BINARY >> opt.to & 1) && !opt.out.path && isatty(1))
        rs_usage_error(SYNOPSIS, "refusing to write binary %s to a terminal; use -o FILE", to_names[opt.to]);
    if ((TO_BINARY & ~(1 << TO_RSB)) >> opt.to & 1 && argc - optind > 1)
        rs_usage_error(SYNOPSIS, "--to %s takes one input", to_names[opt.to]);
    if ((TO_BINARY & ~(1 << TO_RSB)) >> opt.to & 1 && opt.head >= 0)
        rs_usage_error(SYNOPSIS, "--head does not apply to --to %s: it exports the whole input", to_names[opt.to]);

    struct state s = { 0 };
    int rc = rs_output_open(&s.w, &opt.out);
    if (rc < 0)
        rs_die(rc);
    int nin = argc - optind;
    if (opt.unshard.order) {
        if (!opt.unshard.key_col)
            opt.unshard.key_col = "user_id";
        if (!opt.unshard.order_col)
            opt.unshard.order_col = opt.unshard.key_col;
        rc = rs_unshard(s.w, &opt.unshard, (const char *const *)argv + optind, (size_t)nin);
        if ((rc = rs_writer_finish(s.w, rc)) < 0)
            rs_die(rc);
        return 0;
    }
    int stdin_used = 0;
    for (int i = 0; rc == 0 && i < (nin ? nin : 1); i++) {
        const char *path = nin ? argv[optind + i] : "-";
        if (strcmp(path, "-") == 0 && stdin_used++)
            rc = rs_err_set(RS_ERR_USAGE, "stdin named twice");
        else
            rc = cat_one(&s, path);
    }
    if (rc == 0 && s.rsb_out)
        rc = rs_rsb_writer_finish(s.rsb_out);
    else
        rs_rsb_writer_free(s.rsb_out);
    if (s.first_header) {
        for (size_t i = 0; i < s.first_ncols; i++)
            free(s.first_header[i]);
        free(s.first_header);
    }
    free(opt.meta);
    if ((rc = rs_writer_finish(s.w, rc)) < 0)
        rs_die(rc);
    return 0;
}
