/* pairset.c - open-addressing set of (u32, u32) pairs, and a map from them
 * to dense ids (see pairset.h). */
#include "core/pairset.h"
#include "core/err.h"

#include <stdlib.h>

#define EMPTY UINT64_MAX

struct rs_pairset {
    uint64_t *slot;
    size_t mask, n;
};

/* splitmix64's finaliser: every key bit affects every slot bit. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t *alloc_slots(size_t nslots)
{
    uint64_t *s = xmalloc(nslots * sizeof *s);
    for (size_t i = 0; i < nslots; i++)
        s[i] = EMPTY;
    return s;
}

/* A power of two >= 16 holding expected keys at load <= 1/2. */
static size_t slots_for(size_t expected)
{
    size_t nslots = 16;
    while (nslots < expected * 2)
        nslots *= 2;
    return nslots;
}

struct rs_pairset *rs_pairset_new(size_t expected)
{
    struct rs_pairset *s = xcalloc(1, sizeof *s);
    size_t nslots = slots_for(expected);
    s->slot = alloc_slots(nslots);
    s->mask = nslots - 1;
    return s;
}

void rs_pairset_free(struct rs_pairset *s)
{
    if (!s)
        return;
    free(s->slot);
    free(s);
}

/* Slot holding key, or the empty slot where it would go. */
static size_t find(const struct rs_pairset *s, uint64_t key)
{
    size_t i = (size_t)mix(key) & s->mask;
    while (s->slot[i] != EMPTY && s->slot[i] != key)
        i = (i + 1) & s->mask;
    return i;
}

static void grow(struct rs_pairset *s)
{
    uint64_t *old = s->slot;
    size_t oldn = s->mask + 1;
    s->slot = alloc_slots(oldn * 2);
    s->mask = oldn * 2 - 1;
    for (size_t i = 0; i < oldn; i++)
        if (old[i] != EMPTY)
            s->slot[find(s, old[i])] = old[i];
    free(old);
}

int rs_pairset_add(struct rs_pairset *s, uint32_t a, uint32_t b)
{
    uint64_t key = (uint64_t)a << 32 | b;
    RS_ASSERT(key != EMPTY);
    size_t i = find(s, key);
    if (s->slot[i] == key)
        return 0;
    s->slot[i] = key;
    if (++s->n * 2 > s->mask + 1)
        grow(s);
    return 1;
}

int rs_pairset_has(const struct rs_pairset *s, uint32_t a, uint32_t b)
{
    if (!s)
        return 0;
    uint64_t key = (uint64_t)a << 32 | b;
    return key != EMPTY && s->slot[find(s, key)] == key;
}

size_t rs_pairset_size(const struct rs_pairset *s)
{
    return s ? s->n : 0;
}

/* ---- pair map ---- */

struct rs_pairmap {
    uint32_t *slot; /* id + 1, 0 = empty */
    uint64_t *key;  /* by id: a << 32 | b */
    size_t mask, n, cap;
};

struct rs_pairmap *rs_pairmap_new(size_t expected)
{
    struct rs_pairmap *m = xcalloc(1, sizeof *m);
    size_t nslots = slots_for(expected);
    m->slot = xcalloc(nslots, sizeof *m->slot);
    m->mask = nslots - 1;
    m->cap = nslots / 2 + 1; /* the table grows once n passes half the slots */
    m->key = xmalloc(m->cap * sizeof *m->key);
    return m;
}

void rs_pairmap_free(struct rs_pairmap *m)
{
    if (!m)
        return;
    free(m->slot);
    free(m->key);
    free(m);
}

/* Slot holding key, or the empty slot where it would go. */
static size_t map_find(const struct rs_pairmap *m, uint64_t key)
{
    size_t i = (size_t)mix(key) & m->mask;
    while (m->slot[i] && m->key[m->slot[i] - 1] != key)
        i = (i + 1) & m->mask;
    return i;
}

uint32_t rs_pairmap_put(struct rs_pairmap *m, uint32_t a, uint32_t b, int *added)
{
    uint64_t key = (uint64_t)a << 32 | b;
    size_t i = map_find(m, key);
    if (added)
        *added = !m->slot[i];
    if (m->slot[i])
        return m->slot[i] - 1;
    RS_ASSERT(m->n < UINT32_MAX);
    m->key[m->n] = key;
    m->slot[i] = (uint32_t)++m->n;
    if (m->n * 2 > m->mask + 1) { /* grow: slots x2, re-placed by id */
        free(m->slot);
        m->mask = 2 * m->mask + 1;
        m->slot = xcalloc(m->mask + 1, sizeof *m->slot);
        for (size_t id = 0; id < m->n; id++)
            m->slot[map_find(m, m->key[id])] = (uint32_t)(id + 1);
        m->cap = (m->mask + 1) / 2 + 1;
        m->key = xrealloc(m->key, m->cap * sizeof *m->key);
    }
    return (uint32_t)(m->n - 1);
}

int64_t rs_pairmap_get(const struct rs_pairmap *m, uint32_t a, uint32_t b)
{
    size_t i = map_find(m, (uint64_t)a << 32 | b);
    return m->slot[i] ? (int64_t)m->slot[i] - 1 : -1;
}

size_t rs_pairmap_size(const struct rs_pairmap *m)
{
    return m->n;
}

void rs_pairmap_pair(const struct rs_pairmap *m, uint32_t id, uint32_t *a, uint32_t *b)
{
    RS_ASSERT(id < m->n);
    *a = (uint32_t)(m->key[id] >> 32);
    *b = (uint32_t)m->key[id];
}
