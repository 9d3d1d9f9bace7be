/* tpe.c - the Tree-structured Parzen Estimator (tpe.h). The Parzen windows
 * follow hyperopt's adaptive_parzen_normal, the reference implementation of
 * Bergstra et al. 2011: one Gaussian per observation whose width is the
 * larger gap to its sorted neighbours, clipped to [range / min(100, n + 1),
 * range], plus a prior Gaussian at the middle of the range of width the
 * range, all truncated to the range. */
#include "tune/tpe.h"

#include "core/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct parzen {
    double *mu, *sigma;
    size_t n;
    double a, b; /* the range, in the transformed (log for a log range) space */
};

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* The range of p in the space TPE models it in: log for a log range, an int
 * widened by half a step so that each integer gets its share. */
static void model_range(const struct rs_param *p, double *a, double *b)
{
    double half = p->kind == RS_PARAM_INT ? p->step / 2 : 0;
    double lo = p->low - half, hi = p->high + half;
    if (p->log) {
        lo = lo > 0 ? log(lo) : log(p->low);
        hi = log(hi);
    }
    *a = lo;
    *b = hi;
}

static double to_model(const struct rs_param *p, double v)
{
    return p->log ? log(v) : v;
}

/* obs (n values, in the model space) and the prior into pz. */
static void parzen_fit(struct parzen *pz, double *obs, size_t n, double a, double b)
{
    double prior = (a + b) / 2, width = b - a;
    pz->a = a;
    pz->b = b;
    pz->n = n + 1;
    pz->mu = xmalloc(pz->n * sizeof *pz->mu);
    pz->sigma = xmalloc(pz->n * sizeof *pz->sigma);
    qsort(obs, n, sizeof *obs, cmp_double);
    size_t at = 0;
    while (at < n && obs[at] < prior)
        at++;
    memcpy(pz->mu, obs, at * sizeof *obs);
    pz->mu[at] = prior;
    memcpy(pz->mu + at + 1, obs + at, (n - at) * sizeof *obs);
    double min_sigma = width / fmin(100, (double)pz->n + 1);
    for (size_t i = 0; i < pz->n; i++) {
        double left = i > 0 ? pz->mu[i] - pz->mu[i - 1] : 0;
        double right = i + 1 < pz->n ? pz->mu[i + 1] - pz->mu[i] : 0;
        double s = i == at ? width : fmax(left, right);
        pz->sigma[i] = fmin(fmax(s, min_sigma), width);
    }
}

static void parzen_free(struct parzen *pz)
{
    free(pz->mu);
    free(pz->sigma);
}

static double normal_cdf(double z)
{
    return 0.5 * erfc(-z / sqrt(2));
}

/* log of the mixture's density at x: equal weights, each Gaussian truncated
 * to [a, b]. */
static double parzen_logpdf(const struct parzen *pz, double x)
{
    double sum = 0;
    for (size_t i = 0; i < pz->n; i++) {
        double m = pz->mu[i], s = pz->sigma[i], z = (x - m) / s;
        double mass = normal_cdf((pz->b - m) / s) - normal_cdf((pz->a - m) / s);
        sum += exp(-0.5 * z * z) / (s * sqrt(2 * M_PI) * fmax(mass, 1e-300));
    }
    return log(fmax(sum / (double)pz->n, 1e-300));
}

static double parzen_draw(const struct parzen *pz, struct rs_rng *g)
{
    size_t i = rs_rng_below(g, pz->n);
    for (int tries = 0; tries < 100; tries++) {
        double x = pz->mu[i] + pz->sigma[i] * rs_rng_normal(g);
        if (x >= pz->a && x <= pz->b)
            return x;
    }
    return pz->a + rs_rng_uniform(g) * (pz->b - pz->a);
}

/* The candidate of a range parameter with the largest l(x) / g(x). */
static double tpe_range(const struct rs_param *p, double *good, size_t ng, double *bad, size_t nb,
                        int candidates, struct rs_rng *g)
{
    struct parzen l, gz;
    double a, b;
    model_range(p, &a, &b);
    for (size_t i = 0; i < ng; i++)
        good[i] = to_model(p, good[i]);
    for (size_t i = 0; i < nb; i++)
        bad[i] = to_model(p, bad[i]);
    parzen_fit(&l, good, ng, a, b);
    parzen_fit(&gz, bad, nb, a, b);
    double best = NAN, best_score = -INFINITY;
    for (int c = 0; c < candidates; c++) {
        double x = parzen_draw(&l, g);
        double score = parzen_logpdf(&l, x) - parzen_logpdf(&gz, x);
        if (score > best_score)
            best_score = score, best = x;
    }
    parzen_free(&l);
    parzen_free(&gz);
    return rs_tune_snap(p, p->log ? exp(best) : best);
}

/* A choice: l and g are the value frequencies plus one (the prior), the
 * candidate with the largest ratio wins. */
static double tpe_choice(const struct rs_param *p, const double *good, size_t ng, const double *bad, size_t nb,
                         int candidates, struct rs_rng *g)
{
    double *lw = xcalloc(p->n_values, sizeof *lw), *gw = xcalloc(p->n_values, sizeof *gw);
    for (size_t k = 0; k < p->n_values; k++)
        lw[k] = gw[k] = 1;
    for (size_t i = 0; i < ng; i++)
        lw[(size_t)good[i]] += 1;
    for (size_t i = 0; i < nb; i++)
        gw[(size_t)bad[i]] += 1;
    double lsum = (double)(ng + p->n_values), gsum = (double)(nb + p->n_values);
    size_t best = 0;
    double best_score = -INFINITY;
    for (int c = 0; c < candidates; c++) {
        double u = rs_rng_uniform(g) * lsum;
        size_t k = 0;
        while (k + 1 < p->n_values && u >= lw[k])
            u -= lw[k++];
        double score = log(lw[k] / lsum) - log(gw[k] / gsum);
        if (score > best_score)
            best_score = score, best = k;
    }
    free(lw);
    free(gw);
    return (double)best;
}

/* The finished trials among the first known, best first. */
static size_t ranked_trials(const struct rs_study *s, size_t known, size_t *order)
{
    size_t n = 0;
    for (size_t i = 0; i < known; i++) {
        if (s->t[i].state != RS_TRIAL_DONE)
            continue;
        size_t j = n++;
        for (; j > 0 && rs_study_better(s, s->t[i].value, s->t[order[j - 1]].value); j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    return n;
}

/* Parameter k's value in startup trial i: its Latin hypercube stratum, a
 * permutation of the strata per parameter drawn from the seed alone. */
static double hypercube(const struct rs_study *s, size_t k, size_t i, struct rs_rng *g)
{
    struct rs_rng pg;
    uint32_t *perm = xmalloc((size_t)s->tpe.startup * sizeof *perm);
    for (uint32_t j = 0; j < (uint32_t)s->tpe.startup; j++)
        perm[j] = j;
    rs_rng_init(&pg, s->seed, ((uint64_t)1 << 32) + k);
    rs_rng_shuffle_u32(&pg, perm, (uint64_t)s->tpe.startup);
    double u = ((double)perm[i] + rs_rng_uniform(g)) / (double)s->tpe.startup;
    free(perm);
    return rs_tune_draw_at(&s->space->p[k], u);
}

void rs_tpe_sample(const struct rs_study *s, size_t known, double *x, struct rs_rng *g)
{
    size_t trial = s->n - 1;
    const struct rs_space *sp = s->space;
    size_t *order = xmalloc((known ? known : 1) * sizeof *order);
    size_t n = ranked_trials(s, known, order);
    size_t n_good = (size_t)ceil(s->tpe.gamma * (double)n);
    double *good = xmalloc((n ? n : 1) * sizeof *good), *bad = xmalloc((n ? n : 1) * sizeof *bad);
    for (size_t i = 0; i < sp->n; i++) {
        const struct rs_param *p = &sp->p[i];
        if (!rs_space_active(sp, x, i)) {
            x[i] = NAN;
            continue;
        }
        if (trial < (size_t)s->tpe.startup) {
            x[i] = hypercube(s, i, trial, g);
            continue;
        }
        if (n < (size_t)s->tpe.startup) {
            x[i] = rs_tune_draw_uniform(p, g);
            continue;
        }
        size_t ng = 0, nb = 0;
        for (size_t r = 0; r < n; r++) {
            double v = s->t[order[r]].x[i];
            if (isnan(v))
                continue;
            if (r < n_good)
                good[ng++] = v;
            else
                bad[nb++] = v;
        }
        x[i] = p->kind == RS_PARAM_CHOICE ? tpe_choice(p, good, ng, bad, nb, s->tpe.candidates, g)
                                          : tpe_range(p, good, ng, bad, nb, s->tpe.candidates, g);
    }
    free(good);
    free(bad);
    free(order);
}
