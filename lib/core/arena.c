/* arena.c - per-batch scratch: a bump allocator over chained blocks that
 * folds into one block of the high-water size on reset (see arena.h). */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define ARENA_ALIGN 64
#define ARENA_MIN_BLOCK ((size_t)1 << 16)

struct rs_arena_block {
    struct rs_arena_block *prev;
    size_t size, used;
    void *raw;           /* as allocated */
    unsigned char *data; /* raw rounded up to ARENA_ALIGN */
};

static struct rs_arena_block *block_new(size_t size, struct rs_arena_block *prev)
{
    struct rs_arena_block *b = xmalloc(sizeof *b);
    if (size < ARENA_MIN_BLOCK)
        size = ARENA_MIN_BLOCK;
    size = (size + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    b->raw = xmalloc(size + ARENA_ALIGN);
    b->data = (unsigned char *)(((uintptr_t)b->raw + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1));
    b->prev = prev;
    b->size = size;
    b->used = 0;
    return b;
}

static void blocks_free(struct rs_arena_block *b)
{
    while (b) {
        struct rs_arena_block *prev = b->prev;
        free(b->raw);
        free(b);
        b = prev;
    }
}

void rs_arena_init(struct rs_arena *a, size_t bytes)
{
    a->head = block_new(bytes, NULL);
    a->used = 0;
    a->peak = 0;
}

void rs_arena_free(struct rs_arena *a)
{
    if (!a)
        return;
    blocks_free(a->head);
    a->head = NULL;
    a->used = a->peak = 0;
}

void rs_arena_reset(struct rs_arena *a)
{
    if (a->head && a->head->prev) {
        size_t total = 0;
        for (struct rs_arena_block *b = a->head; b; b = b->prev)
            total += b->size;
        if (total < a->peak)
            total = a->peak;
        blocks_free(a->head);
        a->head = block_new(total, NULL);
    } else if (a->head) {
        a->head->used = 0;
    }
    a->used = 0;
}

void *rs_arena_alloc(struct rs_arena *a, size_t n)
{
    size_t need = (n + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    if (need == 0)
        need = ARENA_ALIGN;
    if (!a->head || a->head->size - a->head->used < need) {
        size_t grow = a->head ? a->head->size * 2 : 0;
        a->head = block_new(grow > need ? grow : need, a->head);
    }
    void *p = a->head->data + a->head->used;
    a->head->used += need;
    a->used += need;
    if (a->used > a->peak)
        a->peak = a->used;
    return p;
}

float *rs_arena_floats(struct rs_arena *a, size_t n)
{
    return rs_arena_alloc(a, n * sizeof(float));
}

float *rs_arena_zeros(struct rs_arena *a, size_t n)
{
    float *p = rs_arena_floats(a, n);
    memset(p, 0, n * sizeof(float));
    return p;
}

size_t rs_arena_blocks(const struct rs_arena *a)
{
    size_t n = 0;
    for (struct rs_arena_block *b = a->head; b; b = b->prev)
        n++;
    return n;
}
