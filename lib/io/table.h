/* table.h - a small table of text cells written either as TSV (for
 * scripts: a header line, fields escaped as schemas/tsv.md) or as aligned
 * columns for people (space-padded, numbers right-aligned). */
#ifndef RS_TABLE_H
#define RS_TABLE_H

#include <stddef.h>

struct rs_writer;
struct rs_table;

/* A table with ncols columns named by header (copied). */
struct rs_table *rs_table_new(size_t ncols, const char *const *header);
/* Appends a cell to the current row (copied; NULL is an empty cell); after
 * ncols cells the next cell starts a new row. */
void rs_table_add(struct rs_table *t, const char *cell);
/* printf-style cell. */
void rs_table_addf(struct rs_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t rs_table_rows(const struct rs_table *t);
/* Writes t: tsv 1 as TSV, 0 aligned (two spaces between columns). */
int rs_table_write(const struct rs_table *t, struct rs_writer *w, int tsv);
void rs_table_free(struct rs_table *t);

#endif
