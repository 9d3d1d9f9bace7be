/* pairset.c - open-addressing set of (u32, u32) pairs (see pairset.h). */
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

struct rs_pairset *rs_pairset_new(size_t expected)
{
    struct rs_pairset *s = xcalloc(1, sizeof *s);
    size_t nslots = 16;
    while (nslots < expected * 2)
        nslots *= 2;
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
