/* rank_encode.h - rs-rank's streams: side tables of user and item features,
 * encoding rows into model inputs, labelled streams for training and
 * evaluation, the scoring of candidate lists and the evaluation report.
 * Stream layouts: schemas/rank.md.
 *
 * A feature or cross column is looked up by name in the input row first,
 * then in the items table (joined on the item column), then in the users
 * table (joined on the user column). Labels come either from `click` (and
 * optionally `booking`) columns holding 0/1, one example per row, or, when
 * the stream has no `click` column, from an event log: every `impression`
 * row is an example, and a later `click` or `booking` row with the same
 * session (when a session_id column exists), user and item labels it.
 */
#ifndef RS_RANK_ENCODE_H
#define RS_RANK_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "model/rank.h"

struct rs_shard;

struct rs_writer;
struct rs_rank_table;

struct rs_embset;

struct rs_rank_io {
    const char *user_col, *item_col;   /* default user_id, item_id */
    const char *event_col;             /* default event */
    const char *session_col;           /* default session_id (used when present) */
    const char *group_col;             /* evaluation lists (default: the user column) */
    const struct rs_rank_table *users; /* may be NULL */
    const struct rs_rank_table *items; /* may be NULL */
    /* With both, the column RS_RANK_TOWER_SCORE of a numeric feature is the
     * dot product of the row's user and item embeddings (missing when either
     * id has none): the retrieval model's score, for training rows
     * (impressions) and candidates alike. */
    const struct rs_embset *user_emb, *item_emb;
};

#define RS_RANK_TOWER_SCORE "tower_score"

void rs_rank_io_defaults(struct rs_rank_io *io);

/* Loads a users or items table keyed by key_col, keeping the columns model
 * m names (numeric values are checked here, with file, line and column). A
 * key seen twice is an error naming both lines (rs_tsv_key_once). */
int rs_rank_table_load(struct rs_rank_table **t, const char *path, const char *key_col,
                       const struct rs_rank_model *m);
void rs_rank_table_free(struct rs_rank_table *t);
size_t rs_rank_table_rows(const struct rs_rank_table *t);

/* Fitting state while reading training data: provisional vocabularies. */
struct rs_rank_fit;
struct rs_rank_fit *rs_rank_fit_new(const struct rs_rank_model *m);
void rs_rank_fit_free(struct rs_rank_fit *f);

struct rs_rank_read_stats {
    uint64_t rows;      /* data rows read */
    uint64_t examples;  /* examples appended */
    uint64_t unmatched; /* click/booking events without an earlier impression */
    char missing[256];  /* columns found nowhere (scoring), comma-separated */
};

/* Reads a labelled stream (see the file comment) and appends its examples to
 * d. With fit (training), categorical ids are provisional and numerics raw
 * until rs_rank_fit_finish; without, m's vocabularies and statistics encode
 * the rows (unknown values -> 0). A feature column found nowhere is an error
 * when fitting, and reads as missing otherwise (named in st->missing). */
int rs_rank_read(const struct rs_rank_model *m, const char *path, const struct rs_rank_io *io,
                 struct rs_rank_fit *f, struct rs_rank_data *d, struct rs_rank_read_stats *st);

/* Ends fitting: builds each vocabulary from rows [0, n_train) of d (values
 * seen at least min_count times there, first-appearance order) and the
 * numeric statistics from the same rows, then re-encodes every row of d. */
void rs_rank_fit_finish(struct rs_rank_model *m, struct rs_rank_fit *f, struct rs_rank_data *d,
                        size_t n_train);

/* A view of rows [start, start + n) of d (shares memory; never freed). */
struct rs_rank_data rs_rank_data_view(const struct rs_rank_data *d, size_t start, size_t n);

/* Scores a candidates stream (rows of one user contiguous): writes every
 * row with rank, score = p_click + p_booking, p_click and p_booking
 * (replacing those columns when present, else appended), each user's rows
 * sorted by score descending (ties: input order), at most keep rows per user
 * (0 = all). Only the users in shard (NULL: all) are scored and written; a
 * user is scored alone, so its rows come out the same in any shard. */
int rs_rank_score(struct rs_rank_model *m, const char *path, const struct rs_rank_io *io,
                  const struct rs_shard *shard, size_t keep, struct rs_writer *w,
                  struct rs_rank_read_stats *st);

/* One user's candidates given as fields instead of a stream (rs-serve): the
 * value of column c in row r is vals[r * ncols + c] (NUL-terminated). */
struct rs_rank_rows {
    size_t n, ncols;
    const char *const *names; /* (ncols) column names */
    const char *const *vals;  /* (n, ncols) */
    const float *user_vec;    /* the user's embedding for RS_RANK_TOWER_SCORE (io->item_emb's
                               * dims; io->user_emb is not consulted), or NULL: missing */
};

/* Scores rows exactly as rs_rank_score scores the same rows read from a
 * stream (the same lookups, encoding and one forward pass over the list):
 * p (n, 2) gets p_click and p_booking, order (n) the rows by score
 * descending, ties by row order. st (may be NULL) gets the columns found
 * nowhere in st->missing. A value of a numeric column that is not a number:
 * RS_ERR_USAGE "parameter 'NAME': ...". */
int rs_rank_score_rows(struct rs_rank_model *m, const struct rs_rank_io *io, const struct rs_rank_rows *rows,
                       float *p, uint32_t *order, struct rs_rank_read_stats *st);
/* 1 when a feature or cross of m reads column. */
int rs_rank_uses(const struct rs_rank_model *m, const char *column);

/* Evaluates m on a labelled stream: writes a metrics stream (model, metric,
 * k, value): AUC and log loss per head for model "rs-rank"; then, over the
 * lists (rows sharing io->group_col, relevant = click or booking), ndcg@k
 * and precision@k of the model's order ("rs-rank") and of the input order
 * ("input"), averaged over lists with at least one relevant row. */
int rs_rank_eval(struct rs_rank_model *m, const char *path, const struct rs_rank_io *io,
                 const size_t *ks, size_t nk, struct rs_writer *w, struct rs_rank_read_stats *st);

#endif
