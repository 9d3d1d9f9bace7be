/* itemattr.h - item attribute tables joined by item id.
 *
 * Loads the requested columns (category, cluster, in_stock, venue...) of one
 * or more TSV/CSV tables keyed by an item id column, such as items.tsv from
 * rs-synth and the item_id/cluster table of rs-cluster. Each requested column
 * is taken from the first table that has it; an item twice in one table is an
 * error naming both lines (rs_tsv_key_once). Values are interned per column, so
 * a column costs 4 bytes per item. Used by rs-diversify (and rs-serve).
 */
#ifndef RS_ITEMATTR_H
#define RS_ITEMATTR_H

#include <stddef.h>
#include <stdint.h>

struct rs_strmap;

struct rs_itemattr {
    struct rs_strmap *items;    /* item id -> row of val[c] */
    size_t ncols;
    char **names;               /* the requested column names */
    struct rs_strmap **values;  /* per column: value -> value id */
    int32_t **val;              /* val[c][item]: value id, -1 if the item has none */
    size_t cap;
};

/* Loads columns cols[0..ncols) from the tables paths[0..npaths), keyed by
 * item_col. A requested column found in no
 * table, or a table without item_col, is an RS_ERR_FORMAT naming it; read
 * errors name file and line. On error a is left empty (safe to free). */
int rs_itemattr_load(struct rs_itemattr *a, const char *const *paths, size_t npaths,
                     const char *item_col, const char *const *cols, size_t ncols);
struct rs_reader;
/* Same from readers already open (CSV by their names); takes ownership of
 * every in[i]. */
int rs_itemattr_read(struct rs_itemattr *a, struct rs_reader *const *in, size_t nin, const char *item_col,
                     const char *const *cols, size_t ncols);
/* Frees a's contents; a zeroed struct is a no-op. */
void rs_itemattr_free(struct rs_itemattr *a);
/* Index of the loaded column named name, or -1. */
int rs_itemattr_col(const struct rs_itemattr *a, const char *name);
/* Value id of column c for the item with id key, or -1 when the item is not
 * in any table or has no value in that column's table. */
int32_t rs_itemattr_get(const struct rs_itemattr *a, int c, const char *key, size_t len);
/* Value id of string value in column c, or -1 if no item has it. */
int32_t rs_itemattr_value(const struct rs_itemattr *a, int c, const char *value, size_t len);

#endif
