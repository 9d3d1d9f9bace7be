/* arena.h - a bump allocator for per-batch scratch, reset every step, so
 * training loops never call malloc in the inner loop.
 *
 * Allocation takes memory from the current block; when a block runs out a new
 * one is chained (only during the first steps, while the high-water mark
 * grows). rs_arena_reset() then folds all blocks into one block of the peak
 * size, so from the second step on an arena holds a single block and
 * allocation is a pointer bump. Pointers stay valid until the next reset.
 */
#ifndef RS_ARENA_H
#define RS_ARENA_H

#include <stddef.h>

struct rs_arena_block;

struct rs_arena {
    struct rs_arena_block *head; /* current block; older blocks chained behind */
    size_t used;                 /* bytes used in all blocks since the last reset */
    size_t peak;                 /* high-water mark of used, over all resets */
};

/* Starts an arena with one block of `bytes` (0: a small default). */
void rs_arena_init(struct rs_arena *a, size_t bytes);
/* Frees every block; rs_arena_free on a zeroed arena is a no-op. */
void rs_arena_free(struct rs_arena *a);
/* Forgets every allocation; pointers handed out before become invalid. */
void rs_arena_reset(struct rs_arena *a);
/* n bytes aligned to 64 (a cache line); never NULL (aborts on OOM). */
void *rs_arena_alloc(struct rs_arena *a, size_t n);
/* n floats, uninitialised / zeroed. */
float *rs_arena_floats(struct rs_arena *a, size_t n);
float *rs_arena_zeros(struct rs_arena *a, size_t n);
/* Blocks held now: 1 once the arena has settled after a reset. */
size_t rs_arena_blocks(const struct rs_arena *a);

#endif
