/* idcache.c - inline-key front table for rs_strmap (see idcache.h). */
#include "core/idcache.h"
#include "core/err.h"
#include "core/strmap.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

struct entry {
    uint64_t hash;
    uint32_t id1; /* id + 1; 0: empty */
    uint8_t len;
    char key[RS_IDCACHE_KEYLEN];
};

struct rs_idcache {
    struct rs_strmap *m;
    struct entry *e;
    size_t mask, n;
};

_Static_assert(sizeof(struct entry) == 32, "two entries a cache line");

static void place(struct rs_idcache *c, uint64_t h, uint32_t id, const char *key, size_t len)
{
    size_t i = h & c->mask;
    while (c->e[i].id1)
        i = (i + 1) & c->mask;
    struct entry *x = &c->e[i];
    x->hash = h;
    x->id1 = id + 1;
    x->len = (uint8_t)len;
    memcpy(x->key, key, len);
    c->n++;
}

static void grow(struct rs_idcache *c)
{
    struct entry *old = c->e;
    size_t nold = c->mask + 1;
    c->mask = 2 * nold - 1;
    c->e = xcalloc(2 * nold, sizeof *c->e);
    c->n = 0;
    for (size_t i = 0; i < nold; i++)
        if (old[i].id1)
            place(c, old[i].hash, old[i].id1 - 1, old[i].key, old[i].len);
    free(old);
}

struct rs_idcache *rs_idcache_new(struct rs_strmap *m)
{
    struct rs_idcache *c = xcalloc(1, sizeof *c);
    c->m = m;
    size_t slots = 1024;
    while (slots < 2 * rs_strmap_size(m))
        slots *= 2;
    c->e = xcalloc(slots, sizeof *c->e);
    c->mask = slots - 1;
    for (size_t id = 0; id < rs_strmap_size(m); id++) {
        size_t len;
        const char *key = rs_strmap_key(m, (int64_t)id, &len);
        if (len <= RS_IDCACHE_KEYLEN)
            place(c, rs_strmap_hash(m, (int64_t)id), (uint32_t)id, key, len);
    }
    return c;
}

void rs_idcache_free(struct rs_idcache *c)
{
    if (!c)
        return;
    free(c->e);
    free(c);
}

uint64_t rs_idcache_hash(const char *key, size_t len)
{
    return XXH3_64bits(key, len);
}

void rs_idcache_prefetch(const struct rs_idcache *c, uint64_t hash)
{
    __builtin_prefetch(&c->e[hash & c->mask]);
}

int64_t rs_idcache_put(struct rs_idcache *c, const char *key, size_t len, int *added)
{
    if (len > RS_IDCACHE_KEYLEN)
        return rs_strmap_put(c->m, key, len, added);
    return rs_idcache_put_hashed(c, key, len, XXH3_64bits(key, len), added);
}

int64_t rs_idcache_put_hashed(struct rs_idcache *c, const char *key, size_t len, uint64_t h, int *added)
{
    if (len > RS_IDCACHE_KEYLEN)
        return rs_strmap_put(c->m, key, len, added);
    for (size_t i = h & c->mask; c->e[i].id1; i = (i + 1) & c->mask) {
        const struct entry *x = &c->e[i];
        if (x->hash == h && x->len == len && memcmp(x->key, key, len) == 0) {
            if (added)
                *added = 0;
            return (int64_t)x->id1 - 1;
        }
    }
    int64_t id = rs_strmap_put(c->m, key, len, added);
    RS_ASSERT(id < UINT32_MAX);
    if (2 * (c->n + 1) > c->mask + 1)
        grow(c);
    place(c, h, (uint32_t)id, key, len);
    return id;
}
