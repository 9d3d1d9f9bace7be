/* rs-vocab - string ids to dense ints and back: build a vocabulary from
 * columns, apply it to a stream (OOV id 0 or hashed buckets), invert ids. */
#include "cli.h"
#include "core/err.h"
#include "core/num.h"
#include "io/io.h"
#include "io/tsv.h"
#include "io/vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "rs-vocab build|apply|invert [OPTIONS] [FILE...]"

enum mode { BUILD, APPLY, INVERT };
enum kind { PASS = 0, SINGLE = 1, LIST = 2 };

static struct {
    enum mode mode;
    const char *vocab, *cols, *list_cols;
    struct rs_output out;
    unsigned long long min_count, max_size, buckets;
    int csv;
} opt = { .min_count = 1 };

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Vocabularies for string ids and categories (schemas/vocab.md): id 0 is OOV/missing,\n"
           "known tokens get ids 1..V, most frequent first, equal counts in bytewise order.\n"
           "No FILE or '-': stdin.\n"
           "\n"
           "Commands:\n"
           "  build    count the tokens of the named columns of every FILE and write the\n"
           "           vocabulary TSV (id, token, count)\n"
           "  apply    replace the tokens of the named columns by their ids (one FILE); unknown\n"
           "           tokens and empty fields become 0, or with --buckets B unknown tokens go\n"
           "           to V+1+(XXH3_64(token) mod B); other columns pass through\n"
           "  invert   replace ids by their tokens (0 and bucket ids become empty fields)\n"
           "\n"
           "Options:\n"
           "  -c, --cols A,B        columns holding one token per field\n"
           "  -l, --list-cols C,D   columns holding comma-separated token lists (e.g. history)\n"
           "      --vocab FILE      apply/invert: the vocabulary to use (required)\n"
           "  -m, --min-count M     build: keep tokens seen at least M times (default 1)\n"
           "  -n, --max-size V      build: keep at most the V most frequent (default 0: all)\n"
           "  -B, --buckets B       apply/invert: B hashed OOV buckets (default 0: all OOV -> 0)\n"
           "      --csv             parse inputs as CSV (default: by .csv/.csv.zst name)\n"
           "  -o, --output FILE     write to FILE, atomically (default: stdout)\n"
           "  -z, --zstd            compress the output (default when FILE ends in .zst)\n"
           "      --level N         zstd level 1..19 (default 3)\n" RS_COMMON_HELP
           "\n"
           "Examples:\n"
           "  rs-vocab build -c item_id -l history -m 5 -o items.vocab train.tsv features.tsv\n"
           "  rs-vocab apply --vocab items.vocab -c item_id -B 1000 test.tsv.zst | head\n"
           "  rs-vocab invert --vocab items.vocab -c item_id ids.tsv\n");
}

/* Marks the columns named in the comma list names as kind k. */
static int mark_cols(struct rs_tsv *t, const char *names, enum kind k, enum kind *kind)
{
    if (!names)
        return 0;
    char *copy = xstrdup(names), *save = NULL;
    int rc = 0, idx;
    for (char *n = strtok_r(copy, ",", &save); n && rc == 0; n = strtok_r(NULL, ",", &save)) {
        if ((rc = rs_tsv_require(t, n, &idx)) < 0)
            break;
        if (kind[idx] != PASS)
            rc = rs_err_set(RS_ERR_USAGE, "column '%s' named twice", n);
        kind[idx] = k;
    }
    free(copy);
    return rc;
}

static int open_table(const char *path, struct rs_tsv **t, enum kind **kind)
{
    int rc = rs_tsv_open(t, path, opt.csv ? RS_TSV_CSV : 0);
    if (rc < 0)
        return rc;
    *kind = xcalloc(rs_tsv_ncols(*t) + 1, sizeof **kind);
    if (rs_tsv_ncols(*t) > 0 && ((rc = mark_cols(*t, opt.cols, SINGLE, *kind)) < 0 ||
                                 (rc = mark_cols(*t, opt.list_cols, LIST, *kind)) < 0)) {
        rs_tsv_close(*t);
        free(*kind);
    }
    return rc;
}

static int build_one(const char *path, struct rs_vocab_counter *c)
{
    struct rs_tsv *t;
    enum kind *kind;
    int rc = open_table(path, &t, &kind);
    if (rc < 0)
        return rc;
    size_t nc = rs_tsv_ncols(t);
    while (nc && (rc = rs_tsv_next(t)) == 0) {
        for (size_t i = 0; i < nc; i++) {
            if (kind[i] == PASS)
                continue;
            size_t n = rs_tsv_len(t, (int)i);
            const char *f = rs_tsv_get(t, (int)i), *end = f + n;
            while (f < end) {
                const char *comma = kind[i] == LIST ? memchr(f, ',', (size_t)(end - f)) : NULL;
                const char *stop = comma ? comma : end;
                rs_vocab_counter_add(c, f, (size_t)(stop - f), 1);
                f = stop + 1;
            }
        }
    }
    free(kind);
    rs_tsv_close(t);
    return rc == RS_ERR_EOF || nc == 0 ? 0 : rc;
}

/* Maps one token (apply) or one id (invert) and writes the result. */
static int map_one(struct rs_tsv *t, int col, const struct rs_vocab *v, const char *s, size_t n, int in_list,
                   struct rs_writer *w)
{
    if (opt.mode == APPLY)
        return rs_writer_printf(w, "%llu", (unsigned long long)rs_vocab_id(v, s, n, opt.buckets));
    if (n == 0)
        return 0;
    int64_t parsed;
    if (*s < '0' || *s > '9' || rs_num_i64(s, n, &parsed) < 0) /* digits only: no sign */
        return rs_tsv_errf(t, col, "expected an id, got '%.*s'", (int)n, s);
    unsigned long long id = (unsigned long long)parsed;
    size_t len;
    const char *tok = rs_vocab_token(v, id, &len);
    if (!tok) {
        if (id == 0 || id < rs_vocab_nids(v, opt.buckets))
            return 0;
        return rs_tsv_errf(t, col, "id %llu out of range (the vocabulary has ids 0..%llu)", id,
                           (unsigned long long)rs_vocab_nids(v, opt.buckets) - 1);
    }
    if (in_list && memchr(tok, ',', len))
        return rs_tsv_errf(t, col, "token '%s' of id %llu holds a comma and cannot go in a list", tok, id);
    return rs_writer_put_field(w, tok, len);
}

static int map_row(struct rs_tsv *t, const enum kind *kind, const struct rs_vocab *v, struct rs_writer *w)
{
    int rc = 0;
    for (size_t i = 0; i < rs_tsv_ncols(t) && rc == 0; i++) {
        const char *f = rs_tsv_get(t, (int)i);
        size_t n = rs_tsv_len(t, (int)i);
        if (i)
            rc = rs_writer_putc(w, '\t');
        if (kind[i] == PASS) {
            rc = rc ? rc : rs_writer_put_field(w, f, n);
            continue;
        }
        const char *end = f + n;
        if (kind[i] == SINGLE)
            rc = rc ? rc : map_one(t, (int)i, v, f, n, 0, w);
        for (const char *p = f; kind[i] == LIST && rc == 0 && p < end;) {
            const char *comma = memchr(p, ',', (size_t)(end - p)), *stop = comma ? comma : end;
            rc = map_one(t, (int)i, v, p, (size_t)(stop - p), 1, w);
            if (comma && rc == 0)
                rc = rs_writer_putc(w, ',');
            p = stop + 1;
        }
    }
    return rc ? rc : rs_writer_putc(w, '\n');
}

static int map_stream(const char *path, const struct rs_vocab *v, struct rs_writer *w)
{
    struct rs_tsv *t;
    enum kind *kind;
    int rc = open_table(path, &t, &kind);
    if (rc < 0)
        return rc;
    size_t nc = rs_tsv_ncols(t);
    for (size_t i = 0; i < nc && rc == 0; i++) {
        const char *name = rs_tsv_colname(t, i);
        rc = (i ? rs_writer_putc(w, '\t') : 0) | rs_writer_put_field(w, name, strlen(name));
    }
    if (nc && rc == 0)
        rc = rs_writer_putc(w, '\n');
    while (nc && rc == 0 && (rc = rs_tsv_next(t)) == 0)
        rc = map_row(t, kind, v, w);
    free(kind);
    rs_tsv_close(t);
    return rc == RS_ERR_EOF || nc == 0 ? 0 : rc;
}

static int run(int nin, char **in, struct rs_writer *w)
{
    int rc = 0;
    if (opt.mode == BUILD) {
        struct rs_vocab_counter *c = rs_vocab_counter_new(1024);
        for (int i = 0; rc == 0 && i < (nin ? nin : 1); i++)
            rc = build_one(nin ? in[i] : "-", c);
        if (rc == 0) {
            struct rs_vocab *v = rs_vocab_counter_finish(c, opt.min_count, opt.max_size);
            rs_log("%zu distinct tokens, %zu kept, %llu occurrences of the others -> OOV",
                   rs_vocab_counter_size(c), rs_vocab_size(v), (unsigned long long)rs_vocab_count(v, 0));
            rc = rs_vocab_write(v, w);
            rs_vocab_free(v);
        }
        rs_vocab_counter_free(c);
        return rc;
    }
    struct rs_vocab *v;
    if ((rc = rs_vocab_load(&v, opt.vocab)) < 0)
        return rc;
    rc = map_stream(nin ? in[0] : "-", v, w);
    rs_vocab_free(v);
    return rc;
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    static const char *const modes[] = { "build", "apply", "invert" };
    int mode = -1;
    if (argc > 1 && argv[1][0] != '-') {
        for (int m = 0; m < 3; m++)
            if (strcmp(argv[1], modes[m]) == 0)
                mode = m;
        if (mode < 0)
            rs_usage_error(SYNOPSIS, "unknown command '%s': expected build, apply or invert", argv[1]);
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        { "cols", required_argument, 0, 'c' },
        { "list-cols", required_argument, 0, 'l' },
        { "vocab", required_argument, 0, 'W' },
        { "min-count", required_argument, 0, 'm' },
        { "max-size", required_argument, 0, 'n' },
        { "buckets", required_argument, 0, 'B' },
        { "csv", no_argument, 0, 'C' },
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS "c:l:m:n:B:", longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out))
            continue;
        switch (c) {
        case 'c': opt.cols = optarg; break;
        case 'l': opt.list_cols = optarg; break;
        case 'W': opt.vocab = optarg; break;
        case 'm': opt.min_count = (unsigned long long)rs_opt_int("--min-count", optarg, 1, INT64_MAX); break;
        case 'n': opt.max_size = (unsigned long long)rs_opt_int("--max-size", optarg, 0, INT64_MAX); break;
        case 'B': opt.buckets = (unsigned long long)rs_opt_int("--buckets", optarg, 0, INT64_MAX); break;
        case 'C': opt.csv = 1; break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    if (mode < 0)
        rs_usage_error(SYNOPSIS, "missing command: build, apply or invert");
    opt.mode = (enum mode)mode;
    if (!opt.cols && !opt.list_cols)
        rs_usage_error(SYNOPSIS, "no columns: give --cols and/or --list-cols");
    if (opt.mode != BUILD && !opt.vocab)
        rs_usage_error(SYNOPSIS, "%s needs --vocab FILE", modes[mode]);
    if (opt.mode == BUILD && (opt.vocab || opt.buckets))
        rs_usage_error(SYNOPSIS, "build takes no --vocab or --buckets");
    if (opt.mode != BUILD && (opt.min_count != 1 || opt.max_size))
        rs_usage_error(SYNOPSIS, "--min-count and --max-size are for build");
    int nin = argc - optind;
    if (opt.mode != BUILD && nin > 1)
        rs_usage_error(SYNOPSIS, "%s reads one input, got %d", modes[mode], nin);

    struct rs_writer *w;
    int rc = rs_output_open(&w, &opt.out);
    if (rc < 0)
        rs_die(rc);
    if ((rc = rs_writer_finish(w, run(nin, argv + optind, w))) < 0)
        rs_die(rc);
    return 0;
}
