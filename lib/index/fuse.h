/* fuse.h - the union of several candidate sources (two-tower, ALS, EASE,
 * popular, history...) per user, each source's rank and score kept as
 * columns so that a ranker can learn how far to trust each, and one fused
 * order for the list as it stands before ranking: reciprocal rank fusion
 * (Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion outperforms Condorcet
 * and individual rank learning methods", SIGIR 2009):
 *
 *     fused(u, i) = sum over sources s that propose i to u of 1 / (K + rank_s(u, i))
 *
 * Formats: schemas/candidates.md ("merged candidates").
 */
#ifndef RS_FUSE_H
#define RS_FUSE_H

#include <stddef.h>

struct rs_fuse;
struct rs_tsv;
struct rs_writer;

/* A fusion of nsrc sources, named names[0..nsrc) (borrowed; they name the
 * output columns <name>_rank and <name>_score). */
struct rs_fuse *rs_fuse_new(size_t nsrc, const char *const *names);
/* NULL is a no-op. */
void rs_fuse_free(struct rs_fuse *f);

/* Reads source s, a candidates stream with columns user_col, item_col, rank
 * (integer >= 1) and score (finite), keeping the first per_source rows of
 * each user by rank (0: all). A pair listed twice keeps its best rank.
 * Returns 0 or a negative rs_err naming file, line and column; a source
 * without a row is an error. */
int rs_fuse_read(struct rs_fuse *f, size_t s, struct rs_tsv *t, const char *user_col, const char *item_col,
                 size_t per_source);
/* Restricts and orders the output to the users listed in user_col of t
 * (first occurrence order); users with no candidate get no row. Without it
 * users come in order of first appearance across the sources. */
int rs_fuse_users(struct rs_fuse *f, struct rs_tsv *t, const char *user_col);

/* Writes the merged stream: user_col, item_col, rank, score (fused, K =
 * rrf_k), sources (how many proposed the pair), then <name>_rank and
 * <name>_score of each source (empty where it did not propose the pair).
 * Each user's rows by fused score, ties in order of first appearance; keep
 * > 0 keeps the first keep. */
int rs_fuse_write(const struct rs_fuse *f, struct rs_writer *w, const char *user_col, const char *item_col,
                  double rrf_k, size_t keep);

#endif
