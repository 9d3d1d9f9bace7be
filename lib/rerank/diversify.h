/* diversify.h - post-ranking: business filters, fairness boosts, quotas,
 * per-group caps, round-robin over groups and MMR on a user's candidate list.
 *
 * Order of operations (rs_div_rerank):
 *   1. filters   candidates the caller marked drop (out of stock, deny-listed,
 *                already seen) are removed;
 *   2. boosts    each rule r whose bit is set in cand.boost multiplies the
 *                score by factor, or adds factor to it, in rule order;
 *   3. selection the list is sorted by (boosted score desc, pos asc) and N
 *                slots are filled one at a time, each with the best eligible
 *                candidate under the mode:
 *                  SCORE        the next one in sorted order;
 *                  ROUND_ROBIN  groups visited in turn, in the order of their
 *                               best candidate; each gives its best left;
 *                  MMR          argmax  lambda*score - (1-lambda)*max_sim,
 *                               max_sim = the largest cosine to an item
 *                               already chosen (0 for the first pick, and for
 *                               an item without a vector) (Carbonell &
 *                               Goldstein, SIGIR 1998);
 *                eligible = not chosen, its group below max_per_group, and,
 *                once the quota deficits fill every slot left, in a quota set
 *                still short of its minimum;
 *   4. top N     at most top_n candidates come out (fewer when caps or
 *                filters leave fewer).
 * Ties always go to the lower pos, so the result is a pure function of the
 * list. A quota q needs ceil(share[q]*N) members of set q among the N outputs
 * (N = min(top_n, candidates left after filters)), or all of them if fewer.
 */
#ifndef RS_DIVERSIFY_H
#define RS_DIVERSIFY_H

#include <stddef.h>
#include <stdint.h>

#define RS_DIV_MAX_RULES 32 /* boost rules and quota sets: one bit each */

enum rs_div_mode {
    RS_DIV_SCORE = 0,
    RS_DIV_ROUND_ROBIN = 1,
    RS_DIV_MMR = 2,
};

/* One candidate. The caller fills every field; rs_div_rerank only rewrites
 * score (with the boosted score). */
struct rs_div_cand {
    uint32_t pos;      /* tie-break, lower first: the position in the input ranking */
    int drop;          /* nonzero: removed by a filter */
    int32_t group;     /* group id (category, cluster...); < 0: a group of its own */
    uint32_t boost;    /* bit r set: boost rule r applies */
    uint32_t quota;    /* bit q set: member of quota set q */
    double score;      /* in: the ranker's score; out: after boosts */
    const float *vec;  /* L2-normalised item embedding (dims floats), or NULL */
};

struct rs_div_boost {
    int add;       /* 0: score *= factor; 1: score += factor */
    double factor;
};

struct rs_div_params {
    size_t top_n;          /* 0: keep every candidate */
    int mode;              /* enum rs_div_mode */
    size_t max_per_group;  /* 0: no cap */
    double lambda;         /* MMR trade-off in [0, 1]; 1 = pure score order */
    uint32_t dims;         /* length of cand.vec */
    size_t nboost;
    const struct rs_div_boost *boost;
    size_t nquota;
    const double *share;   /* share[q] in [0, 1] */
};

/* Checks p (mode, lambda and shares in range, at most RS_DIV_MAX_RULES rules
 * and quotas). Returns 0 or RS_ERR_USAGE with a message. */
int rs_div_check(const struct rs_div_params *p);
/* Re-ranks c[0..n) as described above: writes the indices (into c) of the
 * chosen candidates, best first, to out[] (room for n) and returns their
 * count. c[i].score of the kept candidates becomes the boosted score. */
size_t rs_div_rerank(struct rs_div_cand *c, size_t n, const struct rs_div_params *p, size_t *out);

#endif
