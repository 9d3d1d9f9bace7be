/* rng.h - the project's PRNG: xoshiro256** (Blackman & Vigna, 2018), seeded
 * through splitmix64, so one 64-bit --seed expands to a full state.
 *
 * rs_rng_init(&g, seed, stream) gives independent streams for threads or
 * stages: the state is splitmix64 of (seed, stream). Output is identical on
 * every platform; known-answer vectors are in tests/unit/test-rng.c.
 */
#ifndef RS_RNG_H
#define RS_RNG_H

#include <stdint.h>

struct rs_rng {
    uint64_t s[4];
};

/* splitmix64 step: advances *x and returns the next output. */
uint64_t rs_splitmix64(uint64_t *x);
void rs_rng_init(struct rs_rng *g, uint64_t seed, uint64_t stream);
uint64_t rs_rng_u64(struct rs_rng *g);
/* Uniform in [0, 1) with 53 random bits. */
double rs_rng_uniform(struct rs_rng *g);
/* Uniform integer in [0, n), unbiased (Lemire 2019, multiply-and-reject). */
uint64_t rs_rng_below(struct rs_rng *g, uint64_t n);
/* Standard normal (Marsaglia polar method). */
double rs_rng_normal(struct rs_rng *g);
/* Fisher–Yates shuffle of n 32-bit values. */
void rs_rng_shuffle_u32(struct rs_rng *g, uint32_t *a, uint64_t n);

#endif
