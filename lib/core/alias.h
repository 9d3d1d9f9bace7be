/* alias.h - sampling from a fixed discrete distribution in O(1): Walker's
 * alias method with Vose's stable construction (M. D. Vose, "A linear
 * algorithm for generating random numbers with a given distribution", IEEE
 * TSE 17(9), 1991). Build once from n non-negative weights in O(n); each
 * draw then costs one bounded integer and one uniform from struct rs_rng.
 *
 * Used for Zipf popularity and user activity in rs-synth and for
 * popularity-proportional negatives in rs-negsample.
 */
#ifndef RS_ALIAS_H
#define RS_ALIAS_H

#include <stddef.h>
#include <stdint.h>

struct rs_rng;

struct rs_alias {
    size_t n;
    double *prob;    /* prob[j]: chance of keeping column j rather than alias[j] */
    uint32_t *alias; /* the other outcome sharing column j */
    double total;    /* sum of the weights given to rs_alias_init */
};

/* Builds the table for outcomes 0..n-1 with probability w[i] / sum(w).
 * Weights must be finite and >= 0 with a positive sum, 1 <= n < 2^32;
 * otherwise RS_ERR_USAGE with a message and a is left zeroed (safe to
 * free). The table does not keep w. */
int rs_alias_init(struct rs_alias *a, const double *w, size_t n);
/* Frees the table; on a zeroed struct it is a no-op. */
void rs_alias_free(struct rs_alias *a);
/* One draw in [0, n). Deterministic given the generator's state. */
uint32_t rs_alias_sample(const struct rs_alias *a, struct rs_rng *g);

#endif
