/* shard.h - which of N shards a row belongs to (`--shard I/N`).
 *
 * A row goes to shard XXH3-64(key bytes, seed 0) mod N, where key is its
 * user id (or item id, for item-side runs) exactly as its TSV field or RSB
 * id holds it. The hash is xxHash's XXH3_64bits, whose output is frozen by
 * its specification, so a key's shard is the same on every machine and in
 * every version (docs/design.md, "Sharded runs"). Each tool reads its whole
 * input and keeps the rows of its shard, so the shards partition the keys.
 */
#ifndef RS_SHARD_H
#define RS_SHARD_H

#include <stddef.h>
#include <stdint.h>

struct rs_shard {
    uint32_t index, count; /* 0 <= index < count; count 1: every row */
};

/* The shard of key among count (>= 1). */
uint32_t rs_shard_of(const char *key, size_t len, uint32_t count);
/* 1 when key belongs to shard s (always, when s->count is 1). */
int rs_shard_has(const struct rs_shard *s, const char *key, size_t len);
/* Parses "I/N" (decimal, 0 <= I < N, 1 <= N <= 2^31): 0, or RS_ERR_USAGE
 * with a message saying what is wrong. */
int rs_shard_parse(struct rs_shard *s, const char *text);

#endif
