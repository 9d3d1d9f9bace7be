/* strmap.h - string interning: each distinct key gets a dense id 0, 1, 2...
 *
 * Open addressing with linear probing on XXH3-64 hashes; keys are copied into
 * an arena and stay valid (and unmoved) until rs_strmap_free. The basis of
 * vocabularies, user/item indexes and joins.
 */
#ifndef RS_STRMAP_H
#define RS_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct rs_strmap;

struct rs_strmap *rs_strmap_new(size_t expected);
void rs_strmap_free(struct rs_strmap *m);
/* Id of key, or -1 if absent. */
int64_t rs_strmap_get(const struct rs_strmap *m, const char *key, size_t len);
/* Id of key, adding it (with the next id) if absent; *added tells which
 * (added may be NULL). */
int64_t rs_strmap_put(struct rs_strmap *m, const char *key, size_t len, int *added);
size_t rs_strmap_size(const struct rs_strmap *m);
/* Key of id (NUL-terminated); its length in *len if len is not NULL. */
const char *rs_strmap_key(const struct rs_strmap *m, int64_t id, size_t *len);
/* The key's hash (XXH3-64, seed 0), stored with it. */
uint64_t rs_strmap_hash(const struct rs_strmap *m, int64_t id);

#endif
