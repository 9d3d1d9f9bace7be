/* metrics.h - offline recommendation metrics as pure functions over one
 * ranked list and one user's truth set, plus the list-level aggregates
 * (entropy, Gini, intra-list diversity). No I/O; rs-metrics (lib/eval/eval.c),
 * rs-rank's evaluation and the benchmarks share these.
 *
 * Definitions and formulas: schemas/metrics.md. In short, for a list of n
 * items cut at k, hits h_k among the top k, truth set T with |T| > 0:
 *   precision@k = h_k / k                 (k fixed even if n < k)
 *   recall@k    = h_k / |T|
 *   ndcg@k      = sum_{i<=k, rel_i} 1/log2(i+1) / sum_{i<=min(k,|T|)} 1/log2(i+1)
 *   map@k       = sum_{i<=k, rel_i} (h_i / i) / min(k, |T|)
 *   mrr@k       = 1 / (position of the first hit), 0 if none in the top k
 *   hit_rate@k  = 1 if h_k > 0 else 0
 * as in Microsoft recommenders' python_evaluation (precision_at_k,
 * recall_at_k, ndcg_at_k, map_at_k).
 */
#ifndef RS_METRICS_H
#define RS_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Accuracy metrics of one list, in the order rs_metrics_accuracy writes them. */
enum rs_metric {
    RS_MET_PRECISION = 0,
    RS_MET_RECALL = 1,
    RS_MET_NDCG = 2,
    RS_MET_NDCG_GRADED = 3, /* only when the list carries gains */
    RS_MET_MAP = 4,
    RS_MET_MRR = 5,
    RS_MET_HIT_RATE = 6,
};
#define RS_MET_NACC 7

/* Name of an accuracy metric ("precision", "ndcg_graded", ...). */
const char *rs_metric_name(int m);

/* One user's ranked list, best first, duplicates already removed. */
struct rs_metrics_list {
    size_t n;                 /* list length (may be 0) */
    const unsigned char *rel; /* rel[i] != 0: item i is in the truth set */
    const double *gain;       /* gain[i] of a relevant item i, or NULL (no graded ndcg) */
    size_t n_truth;           /* |T| > 0 */
    const double *ideal;      /* the |T| truth gains sorted descending (with gain) */
};

/* Writes out[m * nk + j] = metric m (enum rs_metric) at cutoff ks[j] for
 * every m < RS_MET_NACC; ks must be positive and strictly ascending (an
 * RS_ASSERT). RS_MET_NDCG_GRADED is 0 when l->gain is NULL. O(n + nk). */
void rs_metrics_accuracy(const struct rs_metrics_list *l, const size_t *ks, size_t nk, double *out);

/* 1 / log2(i + 1), the DCG discount of position i >= 1. */
double rs_metrics_discount(size_t i);

/* Shannon entropy in bits of the distribution count[i] / sum(count) (zero
 * counts contribute nothing); 0 for an all-zero or empty array. */
double rs_metrics_entropy(const uint64_t *count, size_t n);

/* Gini index of the counts as a distribution over n items (Castells et al.):
 *   G = 1/(n-1) * sum_{j=1..n} (2j - n - 1) * c_(j) / sum(c)
 * with c_(j) sorted ascending: 0 when every item is recommended equally, 1
 * when one item takes every recommendation. Sorts count in place. 0 when
 * n < 2 or the counts sum to 0. */
double rs_metrics_gini(uint64_t *count, size_t n);

/* Incremental intra-list diversity by category: the share of item pairs in
 * the list whose categories differ. Feed items in list order with
 * rs_metrics_ild_cat_add; ncat[] (one counter per category, zeroed) is the
 * caller's scratch, cleared again by rs_metrics_ild_cat_reset. */
struct rs_metrics_ild_cat {
    uint32_t *ncat;   /* items of each category so far */
    uint64_t n;       /* items with a category so far */
    uint64_t same;    /* pairs with the same category so far */
};
/* Adds an item of category cat (>= 0; items without one are not added). */
void rs_metrics_ild_cat_add(struct rs_metrics_ild_cat *d, int32_t cat);
/* Diversity of the items added so far: 1 - same / (n(n-1)/2); -1 (undefined)
 * when fewer than two items were added. */
double rs_metrics_ild_cat_value(const struct rs_metrics_ild_cat *d);
/* Forgets the items; cats[0..n) are the categories that were added. */
void rs_metrics_ild_cat_reset(struct rs_metrics_ild_cat *d, const int32_t *cats, size_t n);

/* Intra-list diversity by embedding: the mean of 1 - cos(a, b) over item
 * pairs, computed from the sum s of the L2-normalised vectors, since
 * sum_{a<b} cos(a, b) = (|s|^2 - n) / 2: O(n dims) instead of O(n^2 dims).
 * Adds vec * inv_norm (inv_norm from rs_metrics_inv_norm) to sum, the
 * caller's running sum of dims doubles. */
void rs_metrics_ild_emb_add(double *sum, const float *vec, double inv_norm, uint32_t dims);
/* Diversity of the n unit vectors that sum to sum; -1 when n < 2. */
double rs_metrics_ild_emb_value(const double *sum, uint32_t dims, uint64_t n);
/* 1 / |v| in double precision, or 0 for a zero vector (no direction). */
double rs_metrics_inv_norm(const float *v, uint32_t dims);

#endif
