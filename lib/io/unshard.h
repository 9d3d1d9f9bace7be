/* unshard.h - the outputs of N `--shard I/N` runs back into the one
 * unsharded output (rs-cat --unshard; docs/design.md, "Sharded runs").
 *
 * A sharded tool keeps its input's order within each shard, so the merge
 * needs that order: the key column of the stream the tool ran over (the
 * order file: a TSV column, or an RSB's ids). The merge walks it; at each
 * key it takes the next block of the shard the key hashes to
 * (core/shard.h), if that block has this key. A block is, by default, every
 * consecutive row of one key (a user's candidate list, one embedding, one
 * features row); with one_row, a single row (rs-negsample: one example per
 * positive of the order file). Shards are TSV (one header, the same in each)
 * or RSB (the same dims, element type and metadata); the output is the same
 * kind. A shard with rows the order never reached is an error (wrong order
 * file or shard list), so nothing wrong is written.
 */
#ifndef RS_UNSHARD_H
#define RS_UNSHARD_H

#include <stddef.h>

struct rs_writer;

struct rs_unshard_opts {
    const char *order, *order_col; /* order file and its key column (RSB: ignored) */
    const char *key_col;           /* the shards' key column (RSB: ignored) */
    int one_row;                   /* a block is one row, not a key's run of rows */
};

/* Merges shard outputs paths[0..n) (path i is shard i of n) into w. */
int rs_unshard(struct rs_writer *w, const struct rs_unshard_opts *o, const char *const *paths, size_t n);

#endif
