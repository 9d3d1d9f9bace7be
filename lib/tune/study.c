/* study.c - the trials of a study and the random, grid, TPE and ASHA
 * samplers (study.h). */
#include "tune/study.h"

#include "core/err.h"
#include "core/num.h"
#include "core/rng.h"
#include "tune/tpe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void rs_study_init(struct rs_study *s, const struct rs_space *space, enum rs_sampler sampler, uint64_t seed,
                   int maximize)
{
    memset(s, 0, sizeof *s);
    s->space = space;
    s->sampler = sampler;
    s->seed = seed;
    s->maximize = maximize;
    s->tpe = (struct rs_tpe){ .startup = 10, .gamma = 0.15, .candidates = 24 };
}

void rs_study_free(struct rs_study *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->t[i].x);
    free(s->t);
    s->t = NULL;
    s->n = s->cap = 0;
}

int rs_study_better(const struct rs_study *s, double a, double b)
{
    if (isnan(a))
        return 0;
    if (isnan(b))
        return 1;
    return s->maximize ? a > b : a < b;
}

static struct rs_trial *append(struct rs_study *s)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->t = xrealloc(s->t, s->cap * sizeof *s->t);
    }
    struct rs_trial *t = &s->t[s->n++];
    memset(t, 0, sizeof *t);
    t->x = xcalloc(s->space->n ? s->space->n : 1, sizeof *t->x);
    t->parent = -1;
    t->value = NAN;
    return t;
}

double rs_tune_draw_at(const struct rs_param *p, double u)
{
    if (p->kind == RS_PARAM_CHOICE) {
        size_t k = (size_t)(u * (double)p->n_values);
        return (double)(k < p->n_values ? k : p->n_values - 1);
    }
    double v = p->log ? exp(log(p->low) + u * (log(p->high) - log(p->low))) : p->low + u * (p->high - p->low);
    return rs_tune_snap(p, v);
}

double rs_tune_draw_uniform(const struct rs_param *p, struct rs_rng *g)
{
    return rs_tune_draw_at(p, rs_rng_uniform(g));
}

double rs_tune_snap(const struct rs_param *p, double v)
{
    if (p->kind == RS_PARAM_INT)
        v = p->low + p->step * round((v - p->low) / p->step);
    if (v > p->high)
        v = p->kind == RS_PARAM_INT ? p->high - fmod(p->high - p->low, p->step) : p->high;
    return v < p->low ? p->low : v;
}

static void sample_random(const struct rs_space *sp, double *x, struct rs_rng *g)
{
    for (size_t i = 0; i < sp->n; i++)
        x[i] = rs_space_active(sp, x, i) ? rs_tune_draw_uniform(&sp->p[i], g) : NAN;
}

/* Number of grid values of parameter p. */
static size_t grid_size(const struct rs_param *p)
{
    if (p->kind == RS_PARAM_CHOICE)
        return p->n_values;
    if (p->kind == RS_PARAM_INT)
        return (size_t)floor((p->high - p->low) / p->step) + 1;
    return (size_t)p->grid_points;
}

static double grid_value(const struct rs_param *p, size_t k)
{
    if (p->kind == RS_PARAM_CHOICE)
        return (double)k;
    if (p->kind == RS_PARAM_INT)
        return p->low + p->step * (double)k;
    double f = (double)k / (double)(p->grid_points - 1);
    return p->log ? exp(log(p->low) + f * (log(p->high) - log(p->low))) : p->low + f * (p->high - p->low);
}

static int same_point(const struct rs_space *sp, const double *a, const double *b)
{
    for (size_t i = 0; i < sp->n; i++)
        if (!(a[i] == b[i] || (isnan(a[i]) && isnan(b[i]))))
            return 0;
    return 1;
}

/* A float as the study file keeps it (%.9g): a resumed study decides from
 * the same values as one never stopped. */
static void round_to_text(const struct rs_space *sp, double *x)
{
    for (size_t i = 0; i < sp->n; i++) {
        const char *text = rs_space_text(sp, x, i);
        if (sp->p[i].kind == RS_PARAM_FLOAT && *text)
            RS_ASSERT(rs_num_f64(text, strlen(text), &x[i]) == 0);
    }
}

/* The grid in order (the last parameter fastest), a point that differs from
 * an earlier one only in inactive parameters counted once: the first one
 * not among the trials. */
static int sample_grid(struct rs_study *s, double *x)
{
    const struct rs_space *sp = s->space;
    double total = 1;
    for (size_t i = 0; i < sp->n; i++)
        total *= (double)grid_size(&sp->p[i]);
    for (double idx = 0; idx < total; idx++) {
        double rest = idx;
        for (size_t i = sp->n; i-- > 0;) {
            double size = (double)grid_size(&sp->p[i]);
            x[i] = grid_value(&sp->p[i], (size_t)fmod(rest, size));
            rest = floor(rest / size);
        }
        for (size_t i = 0; i < sp->n; i++)
            if (!rs_space_active(sp, x, i))
                x[i] = NAN;
        round_to_text(sp, x);
        size_t k = 0;
        while (k < s->n - 1 && !same_point(sp, s->t[k].x, x))
            k++;
        if (k == s->n - 1)
            return 0;
    }
    return 1;
}

/* Asynchronous successive halving (Li et al. 2020, "A System for Massively
 * Parallel Hyperparameter Tuning", Algorithm 2): from the top rung down,
 * promote the best trial of rung r that is in the top 1/eta of rung r's
 * finished trials and not promoted yet; otherwise a new random configuration
 * at rung 0. */
static void sample_asha(struct rs_study *s, size_t known, struct rs_trial *t, struct rs_rng *g)
{
    int rungs = rs_space_rungs(s->space);
    size_t *order = xmalloc((known ? known : 1) * sizeof *order);
    for (int r = rungs - 2; r >= 0; r--) {
        size_t n = 0;
        for (size_t i = 0; i < known; i++)
            if (s->t[i].rung == r && s->t[i].state == RS_TRIAL_DONE) {
                size_t j = n++;
                for (; j > 0 && rs_study_better(s, s->t[i].value, s->t[order[j - 1]].value); j--)
                    order[j] = order[j - 1];
                order[j] = i;
            }
        size_t top = n / (size_t)s->space->budget.eta;
        for (size_t k = 0; k < top; k++) {
            /* promoted is set on the parent when the child is appended, so
             * a trial decided later than known still sees it */
            if (!s->t[order[k]].promoted) {
                s->t[order[k]].promoted = 1;
                memcpy(t->x, s->t[order[k]].x, s->space->n * sizeof *t->x);
                t->rung = r + 1;
                t->parent = (long long)order[k];
                free(order);
                return;
            }
        }
    }
    free(order);
    sample_random(s->space, t->x, g);
}

int rs_study_next(struct rs_study *s, size_t known)
{
    struct rs_rng g;
    RS_ASSERT(known <= s->n);
    rs_rng_init(&g, s->seed, s->n);
    struct rs_trial *t = append(s);
    switch (s->sampler) {
    case RS_SAMPLER_RANDOM:
        sample_random(s->space, t->x, &g);
        break;
    case RS_SAMPLER_GRID:
        if (sample_grid(s, t->x)) {
            free(t->x);
            s->n--;
            return 1;
        }
        break;
    case RS_SAMPLER_TPE:
        rs_tpe_sample(s, known, t->x, &g);
        break;
    case RS_SAMPLER_ASHA:
        sample_asha(s, known, t, &g);
        break;
    }
    round_to_text(s->space, t->x);
    return 0;
}

long long rs_study_budget(const struct rs_study *s, size_t i)
{
    if (!s->space->budget.name)
        return 0;
    if (s->sampler != RS_SAMPLER_ASHA)
        return s->space->budget.max;
    return rs_space_rung_budget(s->space, s->t[i].rung);
}

long rs_study_best(const struct rs_study *s)
{
    long best = -1;
    for (size_t i = 0; i < s->n; i++) {
        const struct rs_trial *t = &s->t[i];
        if (t->state != RS_TRIAL_DONE)
            continue;
        if (best < 0 || t->rung > s->t[best].rung ||
            (t->rung == s->t[best].rung && rs_study_better(s, t->value, s->t[best].value)))
            best = (long)i;
    }
    return best;
}
