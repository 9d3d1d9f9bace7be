/* tsv.c - TSV split in place; CSV through libcsv's callback parser. */
#include "io/tsv.h"
#include "core/err.h"
#include "io/io.h"
#include "core/num.h"
#include "core/strmap.h"
#include "core/timeparse.h"

#include <csv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CSV rows decoded by libcsv, queued until rs_tsv_next() takes them. */
struct csv_queue {
    struct csv_parser parser;
    char *bytes; /* fields, each NUL-terminated */
    size_t nbytes, cap_bytes;
    size_t *field_off, nfields, cap_fields;
    size_t *row_first, nrows, cap_rows; /* index of each row's first field */
    size_t next_row;
    int done;
};

struct rs_tsv {
    struct rs_reader *r;
    struct csv_queue *csv;
    char **names;
    size_t ncols;
    char **field;
    size_t *flen;
    size_t nfield, cap_field;
    uint64_t line;
    int unescaped; /* the current TSV row held an escape: fields differ from its line */
    enum rs_time_unit time_unit; /* the unit of the numeric timestamps read so far (RS_TIME_AUTO: none yet) */
    uint64_t time_line;          /* the line of the first of them */
};

/* The declared unit of every table's timestamps (rs_tsv_time_unit). */
static enum rs_time_unit declared_unit = RS_TIME_AUTO;

void rs_tsv_time_unit(enum rs_time_unit u) { declared_unit = u; }

static void grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    *p = xrealloc(*p, c * elem);
    *cap = c;
}

static void csv_on_field(void *s, size_t len, void *data)
{
    struct csv_queue *q = data;
    grow((void **)&q->bytes, &q->cap_bytes, q->nbytes + len + 1, 1);
    grow((void **)&q->field_off, &q->cap_fields, q->nfields + 1, sizeof(size_t));
    q->field_off[q->nfields++] = q->nbytes;
    if (len)
        memcpy(q->bytes + q->nbytes, s, len);
    q->nbytes += len;
    q->bytes[q->nbytes++] = '\0';
}

static void csv_on_row(int c, void *data)
{
    (void)c;
    struct csv_queue *q = data;
    /* row_first has one more entry than rows: the end of the last row */
    grow((void **)&q->row_first, &q->cap_rows, q->nrows + 2, sizeof(size_t));
    q->row_first[++q->nrows] = q->nfields;
}

/* Text input holds no NUL byte: C strings would cut a field at it (a column
 * name, an id) and a binary file read as text would pass unnoticed. at is
 * the byte column (TSV) or the field number (CSV) of the NUL, from 1. */
static int nul_error(const struct rs_tsv *t, uint64_t line, const char *unit, size_t at)
{
    return rs_err_set(RS_ERR_FORMAT, "'%s' line %llu %s %zu: NUL byte in text input", rs_reader_name(t->r),
                      (unsigned long long)line, unit, at);
}

static int csv_fill(struct rs_tsv *t)
{
    struct csv_queue *q = t->csv;
    char chunk[1 << 16];
    /* Drop the rows already taken, but keep the fields of a row that the
     * last chunk ended inside: libcsv has handed them over already. */
    size_t f0 = q->nrows ? q->row_first[q->nrows] : 0;
    size_t b0 = f0 < q->nfields ? q->field_off[f0] : q->nbytes;
    if (q->nbytes > b0)
        memmove(q->bytes, q->bytes + b0, q->nbytes - b0);
    q->nbytes -= b0;
    for (size_t i = f0; i < q->nfields; i++)
        q->field_off[i - f0] = q->field_off[i] - b0;
    q->nfields -= f0;
    q->nrows = q->next_row = 0;
    grow((void **)&q->row_first, &q->cap_rows, 2, sizeof(size_t));
    q->row_first[0] = 0;
    while (q->nrows == 0 && !q->done) {
        ssize_t got = rs_reader_read(t->r, chunk, sizeof chunk);
        if (got < 0)
            return (int)got;
        /* libcsv grows its field buffer by a fixed step (blk_size): keep
         * the step at the buffer's size, so a long quoted field costs O(n)
         * copies, not O(n^2) (found by fuzz-csv: a 6 MB open quote). */
        if (q->parser.entry_size > q->parser.blk_size)
            csv_set_blk_size(&q->parser, q->parser.entry_size);
        const char *nul = got ? memchr(chunk, '\0', (size_t)got) : NULL;
        if (nul) /* parse up to the NUL: the row and field it falls in are then the current ones */
            got = nul - chunk;
        size_t used = got ? csv_parse(&q->parser, chunk, (size_t)got, csv_on_field, csv_on_row, q) : 0;
        if (nul && used == (size_t)got)
            return nul_error(t, t->line + q->nrows + 1, "field",
                             q->nfields - (q->nrows ? q->row_first[q->nrows] : 0) + 1);
        if (got == 0) {
            q->done = 1;
            if (csv_fini(&q->parser, csv_on_field, csv_on_row, q) != 0)
                used = (size_t)-1;
        }
        if (used != (size_t)got)
            return rs_err_set(RS_ERR_FORMAT, "'%s' line %llu: %s", rs_reader_name(t->r),
                              (unsigned long long)t->line + q->nrows + 1,
                              csv_strerror(csv_error(&q->parser)));
    }
    return 0;
}

static void set_fields(struct rs_tsv *t, size_t n)
{
    if (n > t->cap_field) {
        size_t cap = t->cap_field;
        grow((void **)&t->field, &cap, n, sizeof *t->field);
        t->flen = xrealloc(t->flen, cap * sizeof *t->flen);
        t->cap_field = cap;
    }
    t->nfield = n;
}

/* Loads the next raw row into t->field; RS_ERR_EOF at the end. */
static int read_row(struct rs_tsv *t)
{
    if (t->csv) {
        struct csv_queue *q = t->csv;
        if (q->next_row == q->nrows) {
            int rc = csv_fill(t);
            if (rc < 0)
                return rc;
            if (q->nrows == 0)
                return RS_ERR_EOF;
        }
        size_t a = q->row_first[q->next_row], b = q->row_first[q->next_row + 1];
        q->next_row++;
        set_fields(t, b - a);
        for (size_t i = a; i < b; i++) {
            t->field[i - a] = q->bytes + q->field_off[i];
            t->flen[i - a] = strlen(t->field[i - a]);
        }
        t->line++;
        return 0;
    }
    char *line;
    size_t len;
    int rc = rs_reader_getline(t->r, &line, &len);
    if (rc < 0)
        return rc;
    t->line++;
    if (len && line[len - 1] == '\0') /* only at the end: rs_reader_getline cuts there */
        return nul_error(t, t->line, "column", len);
    /* Split in place: each tab becomes the NUL that ends its field. Fields
     * are short, so a byte loop beats one memchr call per field. */
    size_t n = 0;
    int backslash = 0;
    char *start = line, *end = line + len;
    set_fields(t, t->ncols ? t->ncols : 1);
    for (char *p = line;; p++) {
        if (p < end && *p != '\t') {
            backslash |= *p == '\\';
            continue;
        }
        if (n == t->cap_field)
            set_fields(t, n + 1);
        t->field[n] = start;
        t->flen[n++] = (size_t)(p - start);
        if (p == end)
            break;
        *p = '\0';
        start = p + 1;
    }
    t->nfield = n;
    t->unescaped = backslash;
    for (size_t i = 0; backslash && i < n; i++)
        t->flen[i] = rs_tsv_unescape(t->field[i], t->flen[i]);
    return 0;
}

int rs_tsv_open(struct rs_tsv **tp, const char *path, int flags)
{
    struct rs_reader *in;
    int rc = rs_reader_open(&in, path);
    if (rc < 0)
        return rc;
    return rs_tsv_open_reader(tp, in, flags);
}

int rs_tsv_flags(const char *path, int flags)
{
    if (path && (rs_ends_with(path, ".csv") || rs_ends_with(path, ".csv.zst")))
        flags |= RS_TSV_CSV;
    return flags;
}

static const char *cut(const char *name, char *buf);

/* Columns are found by name: a header naming one twice is ambiguous. */
static int unique_names(const struct rs_tsv *t)
{
    struct rs_strmap *seen = rs_strmap_new(t->ncols);
    int rc = 0;
    for (size_t i = 0; i < t->ncols && rc == 0; i++) {
        int added;
        int64_t first = rs_strmap_put(seen, t->names[i], strlen(t->names[i]), &added);
        char buf[68];
        if (!added)
            rc = rs_err_set(RS_ERR_FORMAT, "'%s' line 1: column '%s' named twice (columns %lld and %zu)",
                            rs_tsv_name(t), cut(t->names[i], buf), (long long)first + 1, i + 1);
    }
    rs_strmap_free(seen);
    return rc;
}

int rs_tsv_open_reader(struct rs_tsv **tp, struct rs_reader *in, int flags)
{
    struct rs_tsv *t = xcalloc(1, sizeof *t);
    t->r = in;
    if (rs_tsv_flags(rs_reader_name(in), flags) & RS_TSV_CSV) {
        t->csv = xcalloc(1, sizeof *t->csv);
        csv_init(&t->csv->parser, CSV_STRICT | CSV_STRICT_FINI);
    }
    int rc = read_row(t);
    if (rc == RS_ERR_EOF) {
        *tp = t;
        return 0;
    }
    if (rc < 0) {
        rs_tsv_close(t);
        return rc;
    }
    t->ncols = t->nfield;
    t->names = xmalloc(t->ncols * sizeof *t->names);
    for (size_t i = 0; i < t->ncols; i++) {
        const char *name = t->field[i];
        if (i == 0 && strncmp(name, "\xEF\xBB\xBF", 3) == 0) /* UTF-8 byte-order mark */
            name += 3;
        t->names[i] = xstrdup(name);
    }
    t->nfield = 0;
    if ((rc = unique_names(t)) < 0) {
        rs_tsv_close(t);
        return rc;
    }
    *tp = t;
    return 0;
}

void rs_tsv_close(struct rs_tsv *t)
{
    if (!t)
        return;
    if (t->csv) {
        csv_free(&t->csv->parser);
        free(t->csv->bytes);
        free(t->csv->field_off);
        free(t->csv->row_first);
        free(t->csv);
    }
    for (size_t i = 0; i < t->ncols; i++)
        free(t->names[i]);
    free(t->names);
    free(t->field);
    free(t->flen);
    rs_reader_close(t->r);
    free(t);
}

const char *rs_tsv_name(const struct rs_tsv *t) { return rs_reader_name(t->r); }
size_t rs_tsv_ncols(const struct rs_tsv *t) { return t->ncols; }
const char *rs_tsv_colname(const struct rs_tsv *t, size_t i) { return t->names[i]; }
const char *rs_tsv_get(const struct rs_tsv *t, int i) { return t->field[i]; }
size_t rs_tsv_len(const struct rs_tsv *t, int i) { return t->flen[i]; }

int rs_tsv_col(const struct rs_tsv *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->names[i], name) == 0)
            return (int)i;
    return -1;
}

int rs_tsv_event_col(const struct rs_tsv *t, const char *name, int required, int *col)
{
    *col = rs_tsv_col(t, name);
    return required ? rs_tsv_require(t, name, col) : 0;
}

const char *rs_tsv_event(const struct rs_tsv *t, int col, size_t *len)
{
    *len = col < 0 ? strlen(RS_DEFAULT_EVENT) : t->flen[col];
    return col < 0 ? RS_DEFAULT_EVENT : t->field[col];
}

/* The first 64 bytes of a column name or field for a message, "..." when
 * cut. A message per row must not cost a scan of a huge header field (fuzz-tsv: a
 * 200 kB column name over 60,000 rows took 5 minutes); no printf precision
 * here, since a sanitizer's printf interceptor reads the whole string. */
static const char *cut(const char *name, char *buf)
{
    size_t n = strnlen(name, 64);
    memcpy(buf, name, n);
    strcpy(buf + n, name[n] ? "..." : "");
    return buf;
}

int rs_tsv_require(const struct rs_tsv *t, const char *name, int *idx)
{
    *idx = rs_tsv_col(t, name);
    if (*idx >= 0)
        return 0;
    if (t->ncols == 0)
        return rs_err_set(RS_ERR_FORMAT, "'%s': empty input, no header line (need column '%s')",
                          rs_tsv_name(t), name);
    char have[256] = "", name64[68];
    size_t used = 0;
    for (size_t i = 0; i < t->ncols && used < sizeof have - 8; i++)
        used += (size_t)snprintf(have + used, sizeof have - used, "%s%s", i ? ", " : "", cut(t->names[i], name64));
    return rs_err_set(RS_ERR_FORMAT, "'%s' line 1: no column '%s' (columns: %s)", rs_tsv_name(t),
                      name, have);
}

int rs_tsv_next(struct rs_tsv *t)
{
    if (t->ncols == 0)
        return RS_ERR_EOF;
    int rc = read_row(t);
    if (rc < 0)
        return rc;
    if (t->nfield != t->ncols)
        return rs_err_set(RS_ERR_FORMAT, "'%s' line %llu: expected %zu fields, got %zu",
                          rs_tsv_name(t), (unsigned long long)t->line, t->ncols, t->nfield);
    return 0;
}

int rs_tsv_errf(const struct rs_tsv *t, int i, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char name64[68];
    return rs_err_set(RS_ERR_FORMAT, "'%s' line %llu: column '%s': %s", rs_tsv_name(t),
                      (unsigned long long)t->line, cut(t->names[i], name64), msg);
}


/* Prefixes the checked parser's message with the file, line and column. */
static int located(const struct rs_tsv *t, int i, int rc)
{
    return rc < 0 ? rs_tsv_errf(t, i, "%s", rs_err_msg()) : 0;
}

int rs_tsv_get_i64(const struct rs_tsv *t, int i, int64_t *v)
{
    return located(t, i, rs_num_i64(t->field[i], t->flen[i], v));
}

int rs_tsv_get_f64(const struct rs_tsv *t, int i, double *v)
{
    return located(t, i, rs_num_f64(t->field[i], t->flen[i], v));
}

int rs_tsv_get_f32(const struct rs_tsv *t, int i, float *v)
{
    return located(t, i, rs_num_f32(t->field[i], t->flen[i], v));
}

int rs_tsv_get_vec(const struct rs_tsv *t, int i, float *v)
{
    double x;
    int rc = located(t, i, rs_num_vec_value(t->field[i], t->flen[i], &x));
    *v = (float)x;
    return rc;
}

int rs_tsv_get_time(struct rs_tsv *t, int i, int64_t *v)
{
    char buf[68], when[32];
    enum rs_time_unit read;
    int rc = rs_time_parse_unit(t->field[i], t->flen[i], declared_unit, &read, v);
    if (rc < 0 && read == RS_TIME_AUTO)
        return rs_tsv_errf(t, i, "expected a time in %s, got '%s'",
                           declared_unit == RS_TIME_AUTO ? "Unix seconds, milliseconds, microseconds or ISO 8601"
                                                         : rs_time_unit_name(declared_unit),
                           cut(t->field[i], buf));
    if (rc < 0) {
        rs_time_format(*v, when);
        return rs_tsv_errf(t, i, "time '%s' read in %s is %s UTC, outside 1970 to 2099 (--time-unit?)",
                           cut(t->field[i], buf), rs_time_unit_name(read), when);
    }
    if (read == RS_TIME_ISO)
        return 0;
    if (t->time_unit == RS_TIME_AUTO) {
        t->time_unit = read;
        t->time_line = t->line;
    } else if (read != t->time_unit) {
        return rs_tsv_errf(t, i, "time '%s' is in %s, line %llu's in %s: one file, one unit (--time-unit)",
                           cut(t->field[i], buf), rs_time_unit_name(read), (unsigned long long)t->time_line,
                           rs_time_unit_name(t->time_unit));
    }
    return 0;
}

int rs_tsv_key_once(const struct rs_tsv *t, int col, size_t id, uint64_t **first, size_t *cap)
{
    if (id >= *cap) {
        size_t old = *cap;
        grow((void **)first, cap, id + 1, sizeof **first);
        memset(*first + old, 0, (*cap - old) * sizeof **first);
    }
    char buf[68];
    if ((*first)[id])
        return rs_tsv_errf(t, col, "duplicate id '%s' (first on line %llu)", cut(t->field[col], buf),
                           (unsigned long long)(*first)[id]);
    (*first)[id] = t->line;
    return 0;
}

int rs_tsv_put_list_item(struct rs_writer *w, const char *col, size_t k, const char *id, size_t n)
{
    if (memchr(id, ',', n))
        return rs_err_set(RS_ERR_FORMAT, "id '%.*s' holds a comma and cannot go in the list column '%s'",
                          (int)(n > 64 ? 64 : n), id, col);
    return (k ? rs_writer_putc(w, ',') : 0) | rs_writer_put_field(w, id, n);
}

int rs_tsv_write_row(struct rs_tsv *t, struct rs_writer *w)
{
    size_t n = t->nfield;
    if (n == 0)
        return rs_writer_putc(w, '\n');
    if (t->csv || t->unescaped) {
        int rc = 0;
        for (size_t i = 0; i < n; i++)
            rc |= (i ? rs_writer_putc(w, '\t') : 0) | rs_writer_put_field(w, t->field[i], t->flen[i]);
        return rc | rs_writer_putc(w, '\n');
    }
    /* Fields read from a TSV line without escapes lie back to back in the
     * line buffer: put the tabs back and write the line in one call. */
    for (size_t i = 0; i + 1 < n; i++)
        t->field[i][t->flen[i]] = '\t';
    char *last = t->field[n - 1];
    last[t->flen[n - 1]] = '\n';
    int rc = rs_writer_write(w, t->field[0], (size_t)(last + t->flen[n - 1] + 1 - t->field[0]));
    for (size_t i = 0; i < n; i++)
        t->field[i][t->flen[i]] = '\0';
    return rc;
}

size_t rs_tsv_unescape(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = i + 1 < n && s[i] == '\\' ? s[i + 1] : 0;
        char byte = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == '\\' ? '\\' : 0;
        if (byte) /* one of the four escapes; a backslash before anything else is itself */
            i++;
        s[o++] = byte ? byte : s[i];
    }
    s[o] = '\0';
    return o;
}
