/* fuse.h - the union of several candidate sources (two-tower, ALS, EASE,
 * popular, history...) per user, each source's rank and score kept as
 * columns so that a ranker can learn how far to trust each, and one fused
 * order for the list as it stands before ranking: reciprocal rank fusion
 * (Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion outperforms Condorcet
 * and individual rank learning methods", SIGIR 2009):
 *
 *     fused(u, i) = sum over sources s that propose i to u of 1 / (K + rank_s(u, i))
 *
 * One user's lists are fused by rs_fuse_user, in memory: rs-merge calls it
 * for every user of its streams (rs_fuse_write), rs-serve per request with
 * the online two-tower candidates and the precomputed sources' lists, so
 * both produce the same rows and the same column text.
 *
 * Formats: schemas/candidates.md ("merged candidates").
 */
#ifndef RS_FUSE_H
#define RS_FUSE_H

#include <stddef.h>
#include <stdint.h>

struct rs_fuse;
struct rs_strmap;
struct rs_tsv;
struct rs_shard;
struct rs_writer;

/* The fusion constant K unless told otherwise (Cormack et al. 2009). */
#define RS_FUSE_RRF_K 60

/* ---- one user ---- */

/* One source's list for one user, in the order it was read; item ids are the
 * caller's (one id space for every source). A pair listed twice keeps its
 * best rank and the score listed with it. */
struct rs_fuse_in {
    size_t n;
    const uint32_t *item;
    const uint32_t *rank; /* >= 1 */
    const float *score;
};

/* One user's merged list, best first: row j is item[j], its fused score
 * fused[j], and source s's rank[j * nsrc + s] (0: s did not propose it) and
 * score[j * nsrc + s]. Zero-initialise; buffers are reused across calls. */
struct rs_fuse_list {
    size_t n, nsrc;
    uint32_t *item, *rank;
    float *score;
    double *fused;
    struct rs_fuse_scratch *scratch; /* private */
};

/* Fuses in[0..nsrc) into l: every item any list proposes, by fused score
 * (K = rrf_k) descending, ties in order of first appearance (in[0]'s order
 * first, then the items new in in[1]...). */
void rs_fuse_user(struct rs_fuse_list *l, const struct rs_fuse_in *in, size_t nsrc, double rrf_k);
void rs_fuse_list_free(struct rs_fuse_list *l);

/* The merged columns after the user and the item: rank (fused, 1..), score
 * (fused), sources (how many proposed the item), then <name>_rank and
 * <name>_score of each source, names[0..nsrc) in order. */
#define RS_FUSE_NCOLS(nsrc) (3 + 2 * (nsrc))
/* The name of column c (xmalloc'd). */
char *rs_fuse_col_name(const char *const *names, size_t c);
/* The text of column c of row j, as rs-merge writes it ("" where the source
 * did not propose the item), into buf of RS_FUSE_FIELD_MAX bytes; returns
 * its length. */
#define RS_FUSE_FIELD_MAX 32
size_t rs_fuse_field(const struct rs_fuse_list *l, size_t j, size_t c, char *buf);

/* ---- a source's stream ---- */

/* One source's candidates grouped by user: the rows of user u are
 * [first[u], first[u + 1]) in the order read; users interned after the
 * source was read (u >= nusers) have none. */
struct rs_fuse_lists {
    size_t nusers;
    size_t *first;
    uint32_t *item, *rank;
    float *score;
};

/* Reads a candidates stream, columns user_col, item_col, rank (integer >= 1)
 * and score (finite), interning users and items in the caller's maps (shared
 * by the sources) and keeping the rows of rank <= per_source (0: all).
 * Returns 0 or a negative rs_err naming file, line and column; a stream
 * without a row is an error naming source `name`. */
int rs_fuse_lists_read(struct rs_fuse_lists *l, struct rs_tsv *t, const char *name, const char *user_col,
                       const char *item_col, size_t per_source, struct rs_strmap *users, struct rs_strmap *items);
/* User u's list (empty when it has none). */
struct rs_fuse_in rs_fuse_lists_user(const struct rs_fuse_lists *l, size_t u);
void rs_fuse_lists_free(struct rs_fuse_lists *l);

/* ---- rs-merge: every user of the streams ---- */

/* A fusion of nsrc sources, named names[0..nsrc) (borrowed; they name the
 * output columns <name>_rank and <name>_score). */
struct rs_fuse *rs_fuse_new(size_t nsrc, const char *const *names);
/* NULL is a no-op. */
void rs_fuse_free(struct rs_fuse *f);

/* Reads source s (rs_fuse_lists_read). */
int rs_fuse_read(struct rs_fuse *f, size_t s, struct rs_tsv *t, const char *user_col, const char *item_col,
                 size_t per_source);
/* Restricts and orders the output to the users listed in user_col of t
 * (first occurrence order); users with no candidate get no row. Without it
 * users come in order of first appearance across the sources. */
int rs_fuse_users(struct rs_fuse *f, struct rs_tsv *t, const char *user_col);

/* Writes the merged stream: user_col, item_col, then the merged columns
 * (RS_FUSE_NCOLS), each user's rows as rs_fuse_user orders them (K =
 * rrf_k); keep > 0 keeps the first keep. Only the users in shard are
 * written (NULL: all). */
int rs_fuse_write(const struct rs_fuse *f, struct rs_writer *w, const char *user_col, const char *item_col,
                  double rrf_k, size_t keep, const struct rs_shard *shard);

#endif
