/* rng.c - xoshiro256** 1.0 and splitmix64, after the reference code at
 * prng.di.unimi.it (public domain). */
#include "core/rng.h"

#include <math.h>

uint64_t rs_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rs_rng_init(struct rs_rng *g, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ rs_splitmix64(&(uint64_t){ stream });
    for (int i = 0; i < 4; i++)
        g->s[i] = rs_splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t rs_rng_u64(struct rs_rng *g)
{
    uint64_t *s = g->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rs_rng_uniform(struct rs_rng *g)
{
    return (double)(rs_rng_u64(g) >> 11) * 0x1.0p-53;
}

uint64_t rs_rng_below(struct rs_rng *g, uint64_t n)
{
    unsigned __int128 m = (unsigned __int128)rs_rng_u64(g) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            m = (unsigned __int128)rs_rng_u64(g) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double rs_rng_normal(struct rs_rng *g)
{
    double u, v, s;
    do {
        u = 2 * rs_rng_uniform(g) - 1;
        v = 2 * rs_rng_uniform(g) - 1;
        s = u * u + v * v;
    } while (s >= 1 || s == 0);
    return u * sqrt(-2 * log(s) / s);
}

void rs_rng_shuffle_u32(struct rs_rng *g, uint32_t *a, uint64_t n)
{
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = rs_rng_below(g, i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
