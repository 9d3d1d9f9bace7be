/* test-rng.c - known-answer vectors (computed with an independent Python
 * implementation of splitmix64 / xoshiro256**) and distribution checks. */
#include "core/rng.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>

int main(void)
{
    uint64_t x = 0;
    is_int(rs_splitmix64(&x) == 0xe220a8397b1dcdafULL, 1, "splitmix64(0) known answer");

    struct rs_rng g;
    rs_rng_init(&g, 42, 0);
    const uint64_t want[] = { 0x1ff785474f113b15ULL, 0x4b7867ceff5d8325ULL, 0x90ca7a95a9909966ULL,
                              0x9c9ea6a358c5008fULL };
    for (int i = 0; i < 4; i++)
        ok(rs_rng_u64(&g) == want[i], "xoshiro256** seed 42 stream 0 output %d", i);
    rs_rng_init(&g, 42, 7);
    ok(rs_rng_u64(&g) == 0x24bfb39aeb008c15ULL, "stream 7 differs, known answer");

    rs_rng_init(&g, 1, 0);
    double sum = 0, sum2 = 0;
    int n = 200000, counts[10] = { 0 };
    for (int i = 0; i < n; i++) {
        double u = rs_rng_uniform(&g);
        if (u < 0 || u >= 1) {
            ok(0, "uniform out of [0,1): %g", u);
            return done_testing();
        }
        sum += u;
        counts[rs_rng_below(&g, 10)]++;
    }
    is_near(sum / n, 0.5, 0.005, "uniform mean");
    double chi2 = 0;
    for (int b = 0; b < 10; b++)
        chi2 += (counts[b] - n / 10.0) * (counts[b] - n / 10.0) / (n / 10.0);
    ok(chi2 < 27.88, "rs_rng_below(10) chi-square %.2f < 27.88 (p = 0.001, 9 dof)", chi2);

    sum = 0;
    for (int i = 0; i < n; i++) {
        double z = rs_rng_normal(&g);
        sum += z;
        sum2 += z * z;
    }
    is_near(sum / n, 0.0, 0.01, "normal mean");
    is_near(sum2 / n, 1.0, 0.02, "normal variance");

    uint32_t a[100];
    for (uint32_t i = 0; i < 100; i++)
        a[i] = i;
    rs_rng_shuffle_u32(&g, a, 100);
    int seen[100] = { 0 }, moved = 0;
    for (int i = 0; i < 100; i++) {
        seen[a[i]]++;
        moved += a[i] != (uint32_t)i;
    }
    int perm = 1;
    for (int i = 0; i < 100; i++)
        perm &= seen[i] == 1;
    ok(perm && moved > 50, "shuffle is a permutation that moves most elements (%d moved)", moved);
    is_int(rs_rng_below(&g, 1), 0, "below(1) is 0");
    return done_testing();
}
