/* idcache.h - a front table for rs_strmap that answers lookups of short keys
 * (ids such as "u123456", "i4711") from one cache line.
 *
 * An rs_strmap lookup touches its slot array, then the hash, length and key
 * pointer arrays, then the key bytes: four or five cache misses when the map
 * is larger than the cache, which dominates a pass over 10^8 prediction
 * rows. This table keeps hash, id and the key bytes (up to
 * RS_IDCACHE_KEYLEN) inline in a 32-byte entry, with linear probing at a
 * load factor of at most 1/2. The strmap stays the owner of the ids: a key
 * the table does not hold (or a longer key) goes to rs_strmap_put, so ids
 * are exactly those rs_strmap_put would give.
 */
#ifndef RS_IDCACHE_H
#define RS_IDCACHE_H

#include <stddef.h>
#include <stdint.h>

#define RS_IDCACHE_KEYLEN 19

struct rs_strmap;
struct rs_idcache;

/* A front table for m (borrowed; it must outlive the table), filled with
 * m's current short keys. Keys added to m other than through the table are
 * found on the slow path. */
struct rs_idcache *rs_idcache_new(struct rs_strmap *m);
/* NULL is a no-op. */
void rs_idcache_free(struct rs_idcache *c);
/* Same as rs_strmap_put(m, key, len, added), faster for short keys. */
int64_t rs_idcache_put(struct rs_idcache *c, const char *key, size_t len, int *added);

/* Batched lookups: hash a batch of keys, prefetch each one's slot, then put
 * them, so the cache misses of the batch overlap instead of queueing. */
uint64_t rs_idcache_hash(const char *key, size_t len);
void rs_idcache_prefetch(const struct rs_idcache *c, uint64_t hash);
/* rs_idcache_put with hash = rs_idcache_hash(key, len) already known. */
int64_t rs_idcache_put_hashed(struct rs_idcache *c, const char *key, size_t len, uint64_t hash,
                              int *added);

#endif
