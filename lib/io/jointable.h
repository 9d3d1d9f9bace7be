/* jointable.h - a users or items table read by its key column, optionally
 * held in memory so that a tool can write each row followed by columns of its
 * own (a left join in table order, as rs-features does).
 *
 * Every row's key is interned into a caller's strmap (table order gives the
 * first ids), so events read afterwards find the same ids; a key twice is an
 * error naming both lines. Kept rows are stored as TSV text (fields escaped
 * with rs_field_escape), NUL-terminated.
 */
#ifndef RS_JOINTABLE_H
#define RS_JOINTABLE_H

#include <stddef.h>
#include <stdint.h>

struct rs_strmap;
struct rs_tsv;
struct rs_writer;

struct rs_jointable {
    size_t nrows, ncols;
    char **names;   /* the table's column names */
    int key_col;
    char *text;     /* the rows' TSV text, one after the other */
    size_t len, *off; /* row r starts at text + off[r] */
    int64_t *id;    /* row r's key id in the strmap */
};

/* Called for each row with its key id; returns 0 or an error (which stops
 * the scan). The row is t's current row, so errors can name line and column. */
typedef int (*rs_jointable_row_fn)(void *ctx, struct rs_tsv *t, int64_t id);

/* Reads path (rs_tsv_open flags) keyed by key_col: interns each non-empty key
 * into m and calls fn (if not NULL) per row; with jt not NULL also keeps the
 * header and rows in *jt (zeroed by the caller). An empty file, a missing key
 * column, an empty key or a key seen on an earlier line (rs_tsv_key_once) is
 * RS_ERR_FORMAT naming file, line and column. */
int rs_jointable_load(struct rs_jointable *jt, const char *path, int flags, const char *key_col,
                      struct rs_strmap *m, rs_jointable_row_fn fn, void *ctx);
/* Writes row r's TSV text (no newline) to w. */
int rs_jointable_write_row(const struct rs_jointable *jt, size_t r, struct rs_writer *w);
/* Frees jt's contents; a zeroed struct is a no-op. */
void rs_jointable_free(struct rs_jointable *jt);

#endif
