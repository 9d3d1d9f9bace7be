/* alias.c - Walker's alias method, Vose's construction (see alias.h).
 *
 * Column j holds probability mass 1/n split between j (prob[j]) and
 * alias[j] (1 - prob[j]). Vose's two work lists (small: scaled weight < 1,
 * large: >= 1) pair each small column with a large donor; whatever remains
 * at the end is 1 up to rounding, so it is set to exactly 1.
 */
#include "core/alias.h"

#include "core/err.h"
#include "core/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int rs_alias_init(struct rs_alias *a, const double *w, size_t n)
{
    memset(a, 0, sizeof *a);
    if (n == 0 || n >= UINT32_MAX)
        return rs_err_set(RS_ERR_USAGE, "alias table: %zu outcomes (need 1 to 2^32-2)", n);
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(w[i]) || w[i] < 0)
            return rs_err_set(RS_ERR_USAGE, "alias table: weight %zu is %g (need finite, >= 0)", i, w[i]);
        total += w[i];
    }
    if (!(total > 0) || !isfinite(total))
        return rs_err_set(RS_ERR_USAGE, "alias table: weights sum to %g (need a positive finite sum)", total);

    double *p = xmalloc(n * sizeof *p);
    uint32_t *alias = xmalloc(n * sizeof *alias);
    uint32_t *small = xmalloc(n * sizeof *small), *large = xmalloc(n * sizeof *large);
    size_t ns = 0, nl = 0;
    for (size_t i = 0; i < n; i++) {
        p[i] = w[i] / total * (double)n;
        alias[i] = (uint32_t)i;
        if (p[i] < 1.0)
            small[ns++] = (uint32_t)i;
        else
            large[nl++] = (uint32_t)i;
    }
    while (ns > 0 && nl > 0) {
        uint32_t s = small[--ns], l = large[nl - 1];
        alias[s] = l;
        p[l] -= 1.0 - p[s];
        if (p[l] < 1.0) {
            nl--;
            small[ns++] = l;
        }
    }
    /* Leftovers differ from 1 only by rounding. */
    while (nl > 0)
        p[large[--nl]] = 1.0;
    while (ns > 0)
        p[small[--ns]] = 1.0;
    free(small);
    free(large);
    a->n = n;
    a->prob = p;
    a->alias = alias;
    a->total = total;
    return 0;
}

void rs_alias_free(struct rs_alias *a)
{
    if (!a)
        return;
    free(a->prob);
    free(a->alias);
    memset(a, 0, sizeof *a);
}

uint32_t rs_alias_sample(const struct rs_alias *a, struct rs_rng *g)
{
    uint32_t j = (uint32_t)rs_rng_below(g, a->n);
    return rs_rng_uniform(g) < a->prob[j] ? j : a->alias[j];
}
