/* tsv.h - header-addressed tables: TSV, and CSV through libcsv.
 *
 * The first line names the columns; tools look columns up by name and never
 * by position. A file whose name ends in ".csv" or ".csv.zst" (or any file
 * opened with RS_TSV_CSV) is parsed as CSV with quoting honoured. Fields are
 * returned as the byte strings they stand for: a TSV field's escapes are
 * undone (rs_tsv_unescape), a CSV field's quoting is; a writer escapes them
 * again with rs_writer_put_field, so read(write(x)) == x for any string
 * without a NUL byte (schemas/tsv.md, "Escaping").
 * Every error names the file, the line and the column:
 *   'train.tsv' line 1234: column 'click': expected 0 or 1, got 'x'
 */
#ifndef RS_TSV_H
#define RS_TSV_H

#include "core/timeparse.h"

#include <stddef.h>
#include <stdint.h>

struct rs_reader;
struct rs_writer;

enum rs_tsv_flags {
    RS_TSV_CSV = 1 << 0, /* parse as CSV whatever the name */
};

struct rs_tsv;

/* Opens path ("-": stdin) and reads the header. An empty input opens
 * with no columns and no rows. */
int rs_tsv_open(struct rs_tsv **t, const char *path, int flags);
/* Same on a reader already open (bytes peeked from it are not lost); takes
 * ownership of in. CSV with RS_TSV_CSV or by the reader's name, as
 * rs_tsv_open: every table input, whatever option names it, is read alike. */
int rs_tsv_open_reader(struct rs_tsv **t, struct rs_reader *in, int flags);
/* flags, plus RS_TSV_CSV when path's name says CSV (".csv", ".csv.zst"): the
 * flags rs_tsv_open(path, flags) parses with. */
int rs_tsv_flags(const char *path, int flags);
void rs_tsv_close(struct rs_tsv *t);

const char *rs_tsv_name(const struct rs_tsv *t);
size_t rs_tsv_ncols(const struct rs_tsv *t);
const char *rs_tsv_colname(const struct rs_tsv *t, size_t i);
/* Index of the column named name, or -1. */
int rs_tsv_col(const struct rs_tsv *t, const char *name);
/* Like rs_tsv_col, but a missing column is an error naming it. */
int rs_tsv_require(const struct rs_tsv *t, const char *name, int *idx);

/* An events table without its event column is a stream of positive
 * interactions: each row reads as the event RS_DEFAULT_EVENT, the word every
 * tool's defaults take as a positive (docs/design.md, "Column names"). */
#define RS_DEFAULT_EVENT "click"
/* *col: the index of the event column name, or -1 when the table has none;
 * with required (the column was named on the command line) a missing column
 * is rs_tsv_require's error. */
int rs_tsv_event_col(const struct rs_tsv *t, const char *name, int required, int *col);
/* The current row's event: field col, or RS_DEFAULT_EVENT when col < 0. */
const char *rs_tsv_event(const struct rs_tsv *t, int col, size_t *len);

/* Reads the next row: 0, RS_ERR_EOF after the last row, or < 0 (a row with
 * the wrong number of fields, a CSV syntax error, an I/O error). */
int rs_tsv_next(struct rs_tsv *t);
/* Field i of the current row, NUL-terminated, valid until the next row. */
const char *rs_tsv_get(const struct rs_tsv *t, int i);
size_t rs_tsv_len(const struct rs_tsv *t, int i);

/* Typed access through core/num.h; an empty or malformed field is an error
 * naming the line and column. Numbers are finite and within float's range:
 * NaN, Inf, "1e999", "1e300" and hexadecimal floats are refused (a missing
 * value is an empty field). */
int rs_tsv_get_i64(const struct rs_tsv *t, int i, int64_t *v);
int rs_tsv_get_f64(const struct rs_tsv *t, int i, double *v);
int rs_tsv_get_f32(const struct rs_tsv *t, int i, float *v);
/* A vector value: finite and within +-RS_NUM_VEC_MAX (core/num.h). */
int rs_tsv_get_vec(const struct rs_tsv *t, int i, float *v);
/* A timestamp as UTC seconds: Unix seconds, milliseconds, microseconds or
 * ISO 8601 in the unit rs_tsv_time_unit declared (default RS_TIME_AUTO, by
 * magnitude: timeparse.h). Numbers in two units in one table, and times
 * outside [1970, 2100), are errors naming the line. */
int rs_tsv_get_time(struct rs_tsv *t, int i, int64_t *v);
/* Declares the unit of every table's timestamps from now on (a tool's
 * --time-unit); one setting for the process. */
void rs_tsv_time_unit(enum rs_time_unit u);
/* Formats an error about field i of the current row ("'f' line N: column
 * 'x': ..."); returns RS_ERR_FORMAT. */
int rs_tsv_errf(const struct rs_tsv *t, int i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A table keyed by id takes each id once: records that the key in column
 * col of the current row, with the dense id `id` (a strmap's), is on this
 * line, in (*first)[id] (grown and zero-filled as needed; free it after the
 * table). An id seen on an earlier line is RS_ERR_FORMAT naming both lines:
 *   'users.tsv' line 5: column 'user_id': duplicate id 'u1' (first on line 2) */
int rs_tsv_key_once(const struct rs_tsv *t, int col, size_t id, uint64_t **first, size_t *cap);

/* Writes id as item k (0, 1, ...) of a comma-separated list field such as
 * history or neg_items: a comma before all but the first, then the id
 * escaped. An id holding a comma would read back as two: RS_ERR_FORMAT
 * naming the id and the list's column col. */
int rs_tsv_put_list_item(struct rs_writer *w, const char *col, size_t k, const char *id, size_t n);

/* Writes the current row as one TSV line: a TSV line without escapes
 * verbatim, any other row field by field through rs_writer_put_field. */
int rs_tsv_write_row(struct rs_tsv *t, struct rs_writer *w);

/* Undoes the TSV escapes \t \n \r \\ in place (a backslash before any
 * other byte, or last, stands for itself); returns the new length. */
size_t rs_tsv_unescape(char *s, size_t n);

#endif
