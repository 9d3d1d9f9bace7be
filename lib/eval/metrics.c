/* metrics.c - ranking metrics of one list (precision, recall, NDCG, MAP,
 * MRR, hit rate), entropy and Gini of recommendation counts, intra-list
 * diversity. Formulas: metrics.h and schemas/metrics.md; NDCG as in
 * Jarvelin & Kekalainen (2002) with the log2(i+1) discount, MAP@k as in
 * Spark MLlib / Microsoft recommenders' map_at_k, Gini as in Castells,
 * Vargas & Wang (2011), ILD as in Ziegler et al. (2005). */
#include "eval/metrics.h"
#include "core/err.h"

#include <math.h>
#include <stdlib.h>

static const char *const names[RS_MET_NACC] = {
    "precision", "recall", "ndcg", "ndcg_graded", "map", "mrr", "hit_rate",
};

const char *rs_metric_name(int m)
{
    RS_ASSERT(m >= 0 && m < RS_MET_NACC);
    return names[m];
}

double rs_metrics_discount(size_t i)
{
    return 1.0 / log2((double)i + 1.0);
}

void rs_metrics_accuracy(const struct rs_metrics_list *l, const size_t *ks, size_t nk, double *out)
{
    RS_ASSERT(l->n_truth > 0);
    double dcg = 0, gdcg = 0, idcg = 0, gidcg = 0, ap = 0, rr = 0;
    size_t hits = 0, pos = 0, ipos = 0;
    for (size_t j = 0; j < nk; j++) {
        size_t k = ks[j];
        RS_ASSERT(k > 0 && (j == 0 || k > ks[j - 1]));
        /* Positions (previous cutoff, k] extend the sums of the previous cutoff. */
        for (; pos < k && pos < l->n; pos++) {
            if (!l->rel[pos])
                continue;
            hits++;
            double disc = rs_metrics_discount(pos + 1);
            dcg += disc;
            if (l->gain)
                gdcg += l->gain[pos] * disc;
            ap += (double)hits / (double)(pos + 1);
            if (hits == 1)
                rr = 1.0 / (double)(pos + 1);
        }
        for (; ipos < k && ipos < l->n_truth; ipos++) {
            double disc = rs_metrics_discount(ipos + 1);
            idcg += disc;
            if (l->gain)
                gidcg += l->ideal[ipos] * disc;
        }
        size_t m = k < l->n_truth ? k : l->n_truth;
        out[RS_MET_PRECISION * nk + j] = (double)hits / (double)k;
        out[RS_MET_RECALL * nk + j] = (double)hits / (double)l->n_truth;
        out[RS_MET_NDCG * nk + j] = dcg / idcg;
        out[RS_MET_NDCG_GRADED * nk + j] = gidcg > 0 ? gdcg / gidcg : 0;
        out[RS_MET_MAP * nk + j] = ap / (double)m;
        out[RS_MET_MRR * nk + j] = rr;
        out[RS_MET_HIT_RATE * nk + j] = hits > 0;
    }
}

double rs_metrics_entropy(const uint64_t *count, size_t n)
{
    double total = 0, h = 0;
    for (size_t i = 0; i < n; i++)
        total += (double)count[i];
    if (total <= 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (count[i] == 0)
            continue;
        double p = (double)count[i] / total;
        h -= p * log2(p);
    }
    return h;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

double rs_metrics_gini(uint64_t *count, size_t n)
{
    if (n < 2)
        return 0;
    qsort(count, n, sizeof *count, cmp_u64);
    double total = 0, g = 0;
    for (size_t j = 0; j < n; j++) {
        total += (double)count[j];
        g += (2.0 * (double)(j + 1) - (double)n - 1.0) * (double)count[j];
    }
    return total > 0 ? g / total / (double)(n - 1) : 0;
}

void rs_metrics_ild_cat_add(struct rs_metrics_ild_cat *d, int32_t cat)
{
    RS_ASSERT(cat >= 0);
    d->same += d->ncat[cat]++;
    d->n++;
}

double rs_metrics_ild_cat_value(const struct rs_metrics_ild_cat *d)
{
    if (d->n < 2)
        return -1;
    double pairs = (double)d->n * (double)(d->n - 1) / 2.0;
    return 1.0 - (double)d->same / pairs;
}

void rs_metrics_ild_cat_reset(struct rs_metrics_ild_cat *d, const int32_t *cats, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cats[i] >= 0)
            d->ncat[cats[i]] = 0;
    d->n = d->same = 0;
}

void rs_metrics_ild_emb_add(double *sum, const float *vec, double inv_norm, uint32_t dims)
{
    for (uint32_t j = 0; j < dims; j++)
        sum[j] += (double)vec[j] * inv_norm;
}

double rs_metrics_ild_emb_value(const double *sum, uint32_t dims, uint64_t n)
{
    if (n < 2)
        return -1;
    double s2 = 0;
    for (uint32_t j = 0; j < dims; j++)
        s2 += sum[j] * sum[j];
    double pairs = (double)n * (double)(n - 1) / 2.0;
    return 1.0 - (s2 - (double)n) / 2.0 / pairs;
}

double rs_metrics_inv_norm(const float *v, uint32_t dims)
{
    double s = 0;
    for (uint32_t j = 0; j < dims; j++)
        s += (double)v[j] * (double)v[j];
    return s > 0 ? 1.0 / sqrt(s) : 0;
}
