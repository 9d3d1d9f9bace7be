/* eval.h - offline evaluation of recommendation streams against held-out
 * truth: the engine of rs-metrics, reusable by any tool that scores ranked
 * lists.
 *
 * The truth (user, item[, relevance]) is loaded into memory; prediction
 * streams (user, item, rank or score; rows of one user contiguous) are read
 * once, one user at a time, so memory is O(users + items + one list). Every
 * list is scored with lib/eval/metrics.h at each cutoff k and averaged per model
 * and per user segment. Definitions, tie and duplicate rules: schemas/metrics.md.
 */
#ifndef RS_EVAL_H
#define RS_EVAL_H

#include <stddef.h>
#include <stdint.h>

struct rs_shard;
struct rs_writer;
struct rs_itemattr;
struct rs_embset;

struct rs_eval_opts {
    const char *user_col, *item_col;  /* every input (default user_id, item_id) */
    const char *rank_col, *score_col; /* prediction order: rank ascending if the
                                         column exists, else score descending */
    const char *rel_col;   /* truth relevance column (graded NDCG), or NULL */
    double min_rel;        /* with rel_col: truth rows below it are not relevant */
    int gain_exp;          /* graded gain 2^rel - 1 instead of rel */
    int common_users;      /* average over users with predictions only
                              (Microsoft recommenders); default: truth users
                              without predictions score 0 */
    const size_t *ks;      /* cutoffs, positive, strictly ascending */
    size_t nk;
    /* if not NULL, called with the number of prediction rows read since the
     * last call, every 65536 rows (a progress meter) */
    void (*progress)(void *ctx, uint64_t rows);
    void *progress_ctx;
    /* if not NULL, only the users of this shard are evaluated (truth and
     * predictions); every user's segment is still registered, so the
     * shards list the same segments in the same order */
    const struct rs_shard *shard;
    /* keep each run's sums for rs_eval_write_partial instead of
     * summarising them */
    int partial;
};

struct rs_eval;

/* A new evaluator (the options and the ks array are copied). */
struct rs_eval *rs_eval_new(const struct rs_eval_opts *o);
/* NULL is a no-op. */
void rs_eval_free(struct rs_eval *e);

/* Loads the truth stream. seg_col, if not NULL, names a column of it whose
 * value on a user's first row is that user's segment. Duplicate (user,
 * item) rows count once (the largest relevance). Users left with no
 * relevant item are not evaluated. Call once, before everything else. */
int rs_eval_load_truth(struct rs_eval *e, const char *path, const char *seg_col);
/* Segments from a users table keyed by the user column (a user twice is an
 * error naming both lines); col names the segment column. Truth users
 * missing from it get the empty segment. */
int rs_eval_load_segments(struct rs_eval *e, const char *path, const char *col);
/* Loads training interactions: the catalog (catalog coverage, Gini) and
 * each item's share of training users (novelty). Duplicate pairs count once. */
int rs_eval_load_train(struct rs_eval *e, const char *path);
/* Item categories for intra-list diversity: column col of a (borrowed,
 * kept until rs_eval_free) attribute table. */
void rs_eval_set_categories(struct rs_eval *e, const struct rs_itemattr *a, int col);
/* Item embeddings for intra-list diversity (borrowed, kept until
 * rs_eval_free). */
void rs_eval_set_embeddings(struct rs_eval *e, const struct rs_embset *emb);

/* Evaluates one prediction stream as model `model`. per_user, if not NULL,
 * receives one row per evaluated user (header before the first model's
 * rows). Errors name the file, line and column; a user whose rows are not
 * contiguous is an error. */
int rs_eval_run(struct rs_eval *e, const char *path, const char *model, struct rs_writer *per_user);

/* One summary figure: metric at cutoff k (0: not per cutoff). value is NAN
 * where undefined (e.g. novelty of lists with no training item). */
struct rs_eval_value {
    const char *metric;
    size_t k;
    double value;
};

size_t rs_eval_nmodels(const struct rs_eval *e);
const char *rs_eval_model(const struct rs_eval *e, size_t m);
/* Segment 0 is "all"; then the segments in order of first appearance. */
size_t rs_eval_nsegments(const struct rs_eval *e);
const char *rs_eval_segment(const struct rs_eval *e, size_t s);
/* Users evaluated (truth users with at least one relevant item). */
uint64_t rs_eval_truth_users(const struct rs_eval *e);
/* Users of model m's predictions that have no truth item (excluded). */
uint64_t rs_eval_excluded(const struct rs_eval *e, size_t m);
/* The figures of model m on segment s, *n of them, in a fixed order that
 * depends only on the options and the inputs loaded (so it is the same for
 * every model). Owned by e. */
const struct rs_eval_value *rs_eval_summary(const struct rs_eval *e, size_t m, size_t s, size_t *n);

/* ---- partials: sharded evaluation (schemas/metrics.md, "Partials") ----
 *
 * A run with o->partial keeps its sums and counts; rs_eval_write_partial
 * writes them with the evaluator's global figures (training users and
 * items, cutoffs, the shard), each double to 17 digits so it reads back
 * exactly. rs_eval_merge_partial adds a partial into a fresh evaluator made
 * with the same cutoffs (models and segments by name, items by id);
 * rs_eval_merge_finish checks that shards 0..N-1 each came once and
 * summarises, after which rs_eval_summary answers as for one run over all
 * users. Sums add in shard order, not user order: figures agree with the
 * unsharded run to the rounding of a double sum (schemas/metrics.md). */
int rs_eval_write_partial(struct rs_eval *e, struct rs_writer *w);
int rs_eval_merge_partial(struct rs_eval *e, const char *path);
int rs_eval_merge_finish(struct rs_eval *e);

#endif
