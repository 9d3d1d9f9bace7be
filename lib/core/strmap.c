/* strmap.c - open-addressing string → dense id table. */
#include "core/strmap.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define ARENA_CHUNK (1u << 20)

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    char data[];
};

struct rs_strmap {
    uint32_t *slots; /* id + 1, 0 = empty */
    size_t mask;
    char **keys;
    uint32_t *lens;
    uint64_t *hashes;
    size_t n, cap;
    struct arena_chunk *arena;
};

static char *arena_copy(struct rs_strmap *m, const char *s, size_t len)
{
    struct arena_chunk *c = m->arena;
    if (!c || c->used + len + 1 > c->cap) {
        size_t cap = len + 1 > ARENA_CHUNK ? len + 1 : ARENA_CHUNK;
        c = xmalloc(sizeof *c + cap);
        c->used = 0;
        c->cap = cap;
        c->next = m->arena;
        m->arena = c;
    }
    char *d = c->data + c->used;
    memcpy(d, s, len);
    d[len] = '\0';
    c->used += len + 1;
    return d;
}

struct rs_strmap *rs_strmap_new(size_t expected)
{
    struct rs_strmap *m = xcalloc(1, sizeof *m);
    size_t nslots = 16;
    while (nslots < expected * 2)
        nslots *= 2;
    m->slots = xcalloc(nslots, sizeof *m->slots);
    m->mask = nslots - 1;
    return m;
}

void rs_strmap_free(struct rs_strmap *m)
{
    if (!m)
        return;
    for (struct arena_chunk *c = m->arena, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(m->slots);
    free(m->keys);
    free(m->lens);
    free(m->hashes);
    free(m);
}

static size_t find_slot(const struct rs_strmap *m, const char *key, size_t len, uint64_t h)
{
    for (size_t i = h & m->mask;; i = (i + 1) & m->mask) {
        uint32_t s = m->slots[i];
        if (s == 0)
            return i;
        size_t id = s - 1;
        if (m->hashes[id] == h && m->lens[id] == len && memcmp(m->keys[id], key, len) == 0)
            return i;
    }
}

int64_t rs_strmap_get(const struct rs_strmap *m, const char *key, size_t len)
{
    uint32_t s = m->slots[find_slot(m, key, len, XXH3_64bits(key, len))];
    return s ? (int64_t)s - 1 : -1;
}

static void rehash(struct rs_strmap *m)
{
    size_t nslots = (m->mask + 1) * 2;
    free(m->slots);
    m->slots = xcalloc(nslots, sizeof *m->slots);
    m->mask = nslots - 1;
    for (size_t id = 0; id < m->n; id++) {
        size_t i = m->hashes[id] & m->mask;
        while (m->slots[i])
            i = (i + 1) & m->mask;
        m->slots[i] = (uint32_t)id + 1;
    }
}

int64_t rs_strmap_put(struct rs_strmap *m, const char *key, size_t len, int *added)
{
    RS_ASSERT(len < UINT32_MAX);
    uint64_t h = XXH3_64bits(key, len);
    size_t i = find_slot(m, key, len, h);
    if (m->slots[i]) {
        if (added)
            *added = 0;
        return (int64_t)m->slots[i] - 1;
    }
    RS_ASSERT(m->n < UINT32_MAX - 1);
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->keys = xrealloc(m->keys, m->cap * sizeof *m->keys);
        m->lens = xrealloc(m->lens, m->cap * sizeof *m->lens);
        m->hashes = xrealloc(m->hashes, m->cap * sizeof *m->hashes);
    }
    size_t id = m->n++;
    m->keys[id] = arena_copy(m, key, len);
    m->lens[id] = (uint32_t)len;
    m->hashes[id] = h;
    m->slots[i] = (uint32_t)id + 1;
    if (m->n * 2 > m->mask + 1) /* keep the load factor at or under 1/2 */
        rehash(m);
    if (added)
        *added = 1;
    return (int64_t)id;
}

size_t rs_strmap_size(const struct rs_strmap *m)
{
    return m->n;
}

const char *rs_strmap_key(const struct rs_strmap *m, int64_t id, size_t *len)
{
    RS_ASSERT(id >= 0 && (size_t)id < m->n);
    if (len)
        *len = m->lens[id];
    return m->keys[id];
}

uint64_t rs_strmap_hash(const struct rs_strmap *m, int64_t id)
{
    RS_ASSERT(id >= 0 && (size_t)id < m->n);
    return m->hashes[id];
}
