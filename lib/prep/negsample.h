/* negsample.h - negative sampling for two-tower training, with the sampling
 * log-probabilities a logQ correction needs (Yi et al., "Sampling-bias-
 * corrected neural modeling for large corpus item recommendations", RecSys
 * 2019; Bengio & Senecal 2008 for importance-sampled softmax).
 *
 * Over a catalogue of n items with training counts c_i (C = sum c_i):
 *   uniform       q(i) = 1/n
 *   popularity    q(i) = c_i^alpha / sum_j c_j^alpha   (word2vec: alpha 0.75)
 *   loguniform    q(i) = ln((r_i+2)/(r_i+1)) / ln(n+1), r_i = the item's
 *                 popularity rank (0 = most counted; ties to the lower index)
 *                 (the Zipfian candidate sampler of Jean et al. 2015 / TF)
 *   impressions   q(i) = 1/|H| for i in H: items shown to the user in the
 *                 positive's session (or day) and not among the user's positives
 *   nearest       q(i) = 1/|N| for i in N: the positive's nearest items in an
 *                 embedding space, minus the user's positives
 * mixed with ratios w_s: each negative picks strategy s with probability w'_s
 * (the w_s of the strategies that can draw for this positive, renormalised:
 * a hard strategy with an empty list drops out), then draws from it. An
 * item drawn from a catalogue strategy that is a positive of the user is
 * rejected and the draw repeated (at most RS_NEG_MAX_TRIES times a slot).
 * Draws are with replacement. The log-probability reported for negative i
 * is log sum_s w'_s q_s(i), the mixture's proposal before rejection.
 */
#ifndef RS_NEGSAMPLE_H
#define RS_NEGSAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/alias.h"

struct rs_embset;
struct rs_rng;
struct rs_pairset;
struct rs_strmap;

enum rs_neg_kind {
    RS_NEG_UNIFORM = 0,
    RS_NEG_POPULARITY = 1,
    RS_NEG_LOGUNIFORM = 2,
    RS_NEG_IMPRESSIONS = 3,
    RS_NEG_NEAREST = 4,
};
#define RS_NEG_NKINDS 5
#define RS_NEG_MAX_TRIES 1000

/* "uniform", "popularity", "loguniform", "impressions", "nearest" -> kind,
 * or RS_ERR_USAGE. */
int rs_neg_kind_parse(const char *name, size_t len);
const char *rs_neg_kind_name(int kind);

struct rs_negsampler {
    size_t n;
    double ratio[RS_NEG_NKINDS]; /* as given (not normalised) */
    double alpha, total;         /* total = C */
    double *count;               /* c_i */
    double *q_pop, *q_logu;      /* per item */
    uint32_t *rank_item;         /* loguniform: rank -> item */
    struct rs_alias pop;
};

/* Builds the catalogue distributions from count[0..n) (copied) and the mix
 * ratio[RS_NEG_NKINDS] (>= 0, some positive). Popularity needs a positive
 * count. Returns 0 or RS_ERR_USAGE with a message; s is then safe to free. */
int rs_negsampler_init(struct rs_negsampler *s, const double *count, size_t n, const double *ratio,
                       double alpha);
void rs_negsampler_free(struct rs_negsampler *s);
/* log(c_i / C): the positive's log-probability under the training
 * frequency, i.e. its chance of being an in-batch negative (-inf if c_i = 0). */
double rs_negsampler_freq_logq(const struct rs_negsampler *s, uint32_t item);

/* What one positive brings to its draws. */
struct rs_neg_query {
    uint32_t user;
    const struct rs_pairset *exclude; /* (user, item) pairs never drawn; NULL: none */
    const uint32_t *hard[2];          /* candidates for impressions, nearest (no duplicates) */
    size_t nhard[2];
};

/* Draws up to k negatives for q into items[] and their log-probabilities
 * into logq[]; scratch needs room for nhard[0] + nhard[1] ids. Returns the
 * count: k, or fewer when no strategy can draw or a slot ran out of tries. */
size_t rs_negsampler_draw(const struct rs_negsampler *s, const struct rs_neg_query *q, struct rs_rng *g,
                          size_t k, uint32_t *scratch, uint32_t *items, double *logq);

/* Nearest lists over a catalogue (the items map, n items): for each item i
 * with want[i] nonzero and a vector in e (found by its id), the k catalogue
 * items with the highest cosine, itself excluded, best first (ties to the
 * lower catalogue index), by exact search (knn.h, threads workers). Written as CSR: list i is
 * (*ids)[(*off)[i] .. (*off)[i+1]) (empty for items without a vector or not
 * wanted); the caller frees *off and *ids. *with_vec: catalogue items that
 * have a vector. */
void rs_neg_nearest(const struct rs_embset *e, const struct rs_strmap *items, const uint8_t *want, size_t k,
                    int threads, size_t **off, uint32_t **ids, size_t *with_vec);

/* Per (user, key) lists of distinct items: the impressions of a user's
 * session or day. */
struct rs_neg_lists {
    struct rs_strmap *keys;  /* "user\x1fkey" -> list */
    struct rs_pairset *seen; /* (list, item) */
    uint32_t **item;
    size_t *n, *cap, nlists, lists_cap;
};

void rs_neg_lists_init(struct rs_neg_lists *l);
void rs_neg_lists_free(struct rs_neg_lists *l);
/* Adds item to the list of (user, key) unless it is there already. */
void rs_neg_lists_add(struct rs_neg_lists *l, uint32_t user, const char *key, size_t len, uint32_t item);
/* The list of (user, key) and its length in *n (NULL and 0 if none). */
const uint32_t *rs_neg_lists_get(const struct rs_neg_lists *l, uint32_t user, const char *key, size_t len,
                                 size_t *n);

#endif
