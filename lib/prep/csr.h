/* csr.h - sparse matrices in compressed sparse row form, built from
 * (row, col, value) triplets or straight from an events stream.
 *
 * Row r holds columns indices[indptr[r] .. indptr[r+1]), sorted ascending
 * with no duplicates (duplicate triplets are summed, in input order, so the
 * result never depends on anything but the input). The interaction matrix of
 * rs-als (users × items) is one; its transpose gives items × users.
 */
#ifndef RS_CSR_H
#define RS_CSR_H

#include <stddef.h>
#include <stdint.h>

struct rs_strmap;

/* Triplets in input order; the builder of a CSR. */
struct rs_coo {
    size_t n, cap;
    uint32_t *row, *col;
    float *val;
};

void rs_coo_init(struct rs_coo *c);
void rs_coo_free(struct rs_coo *c);
void rs_coo_add(struct rs_coo *c, uint32_t row, uint32_t col, float val);

struct rs_csr {
    size_t nrows, ncols, nnz;
    uint64_t *indptr; /* nrows + 1 */
    uint32_t *indices; /* nnz, ascending within a row */
    float *data;       /* nnz */
};

/* Builds m (nrows × ncols) from c, summing duplicates; every triplet must lie
 * inside the shape (RS_ASSERT). The caller frees m with rs_csr_free. */
void rs_csr_from_coo(struct rs_csr *m, const struct rs_coo *c, size_t nrows, size_t ncols);
/* t = mᵀ (ncols × nrows), rows of t sorted; caller frees t. */
void rs_csr_transpose(struct rs_csr *t, const struct rs_csr *m);
/* dst = a deep copy of src; caller frees dst. */
void rs_csr_copy(struct rs_csr *dst, const struct rs_csr *src);
/* Drops the entries whose value is 0 (keeps the shape). */
void rs_csr_prune_zeros(struct rs_csr *m);
/* Frees the arrays; a zeroed struct is a no-op. */
void rs_csr_free(struct rs_csr *m);

/* Which columns of an events stream (docs/design.md, "Stream contracts")
 * make the matrix. */
struct rs_events_spec {
    const char *user_col, *item_col; /* required columns */
    const char *event_col;           /* used only when positive is set */
    const char *weight_col;          /* NULL: each row counts 1 */
    const char *positive;            /* comma list of event values to keep; NULL: all */
    int csv;                         /* parse as CSV whatever the name */
    size_t max_id;                   /* longest id accepted, in bytes (0: any; RSB outputs: RS_RSB_MAX_ID) */
    int event_required;              /* event_col was named: its absence is an error (rs_tsv_event_col) */
};

/* Reads the events at path ("-": stdin) and appends one triplet per kept row:
 * (user id, item id, weight), the ids interned in users and items (so several
 * files share one index). A weight must be finite and >= 0. Returns 0, or
 * RS_ERR_* with "'file' line N: column 'x': ..." for bad rows. An empty or
 * header-only input adds nothing. */
int rs_coo_read_events(struct rs_coo *c, struct rs_strmap *users, struct rs_strmap *items,
                       const char *path, const struct rs_events_spec *spec);
/* The triplets of every path in turn, in input order (npaths 0: stdin; "-"
 * is stdin, at most once: RS_ERR_USAGE), as rs_coo_read_events appends them. */
int rs_coo_read_paths(struct rs_coo *c, struct rs_strmap *users, struct rs_strmap *items, char *const *paths,
                      size_t npaths, const struct rs_events_spec *spec);
/* m (users × items, values summed per pair) from the events of every path in
 * turn (npaths 0: stdin; "-" is stdin, at most once: RS_ERR_USAGE), the ids
 * interned in users and items. The caller frees m, also after an error. */
int rs_csr_read_events(struct rs_csr *m, struct rs_strmap *users, struct rs_strmap *items, char *const *paths,
                       size_t npaths, const struct rs_events_spec *spec);

#endif
