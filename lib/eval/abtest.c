/* abtest.c - online metrics and mSPRT per arm (see abtest.h). */
#include "eval/abtest.h"
#include "core/err.h"
#include "core/strmap.h"
#include "io/tsv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define Z95 1.959963984540054

void rs_ab_init(struct rs_ab *a, const double tau[RS_AB_NMETRICS], const char *control)
{
    memset(a, 0, sizeof *a);
    memcpy(a->tau, tau, sizeof a->tau);
    a->control = control;
    a->imp = rs_strmap_new(1024);
}

void rs_ab_free(struct rs_ab *a)
{
    for (size_t i = 0; i < a->narms; i++)
        free(a->arm[i].name);
    rs_strmap_free(a->imp);
    free(a->flags);
    free(a->revenue);
    free(a->imp_arm);
    memset(a, 0, sizeof *a);
}

static double variance(const struct rs_ab_arm *a, int m)
{
    if (a->n < 2)
        return 0;
    double mean = a->sum[m] / (double)a->n, v = (a->sumsq[m] - (double)a->n * mean * mean) / (double)(a->n - 1);
    return v > 0 ? v : 0;
}

void rs_ab_summary(const struct rs_ab_arm *a, int m, double *mean, double *lo, double *hi)
{
    *mean = a->n ? a->sum[m] / (double)a->n : NAN;
    double half = a->n ? Z95 * sqrt(variance(a, m) / (double)a->n) : NAN;
    *lo = *mean - half;
    *hi = *mean + half;
}

double rs_ab_msprt_log(const struct rs_ab_arm *a, const struct rs_ab_arm *control, int m, double tau)
{
    if (a->n < RS_AB_BURN_IN || control->n < RS_AB_BURN_IN)
        return NAN;
    double v = variance(a, m) / (double)a->n + variance(control, m) / (double)control->n;
    if (!(v > 0))
        return NAN;
    double d = a->sum[m] / (double)a->n - control->sum[m] / (double)control->n, t2 = tau * tau;
    return 0.5 * log(v / (v + t2)) + d * d * t2 / (2 * v * (v + t2));
}

static size_t arm_index(struct rs_ab *a, const char *name, struct rs_tsv *t, int col, int *rc)
{
    for (size_t i = 0; i < a->narms; i++)
        if (strcmp(a->arm[i].name, name) == 0)
            return i;
    if (a->narms == RS_AB_MAX_ARMS) {
        *rc = rs_tsv_errf(t, col, "more than %d arms", RS_AB_MAX_ARMS);
        return 0;
    }
    struct rs_ab_arm *r = &a->arm[a->narms];
    memset(r, 0, sizeof *r);
    r->name = xstrdup(name);
    for (int m = 0; m < RS_AB_NMETRICS; m++)
        r->p[m] = 1;
    if (a->control && strcmp(a->control, name) == 0)
        a->ctl = a->narms;
    return a->narms++;
}

/* The p-values after a row: each arm against the control, running minima. */
static void update_p(struct rs_ab *a)
{
    if (a->control && (a->ctl >= a->narms || strcmp(a->arm[a->ctl].name, a->control) != 0))
        return; /* the control has not appeared yet */
    for (size_t i = 0; i < a->narms; i++)
        for (int m = 0; m < RS_AB_NMETRICS && i != a->ctl; m++) {
            double l = rs_ab_msprt_log(&a->arm[i], &a->arm[a->ctl], m, a->tau[m]);
            if (l == l && exp(-l) < a->arm[i].p[m])
                a->arm[i].p[m] = exp(-l);
        }
}

/* An outcome of impression k changes from x to y: its arm's sums follow. */
static void change(struct rs_ab *a, size_t k, int m, double x, double y)
{
    struct rs_ab_arm *r = &a->arm[a->imp_arm[k]];
    r->sum[m] += y - x;
    r->sumsq[m] += y * y - x * x;
}

struct cols {
    int item, event, session, arm, value;
};

static int row(struct rs_ab *a, struct rs_tsv *t, const struct cols *c, char **key, size_t *keycap)
{
    const char *ev = rs_tsv_get(t, c->event);
    size_t ls = rs_tsv_len(t, c->session), li = rs_tsv_len(t, c->item);
    if (ls + li + 2 > *keycap)
        *key = xrealloc(*key, *keycap = 2 * (ls + li + 2));
    memcpy(*key, rs_tsv_get(t, c->session), ls);
    (*key)[ls] = '\t';
    memcpy(*key + ls + 1, rs_tsv_get(t, c->item), li);
    size_t klen = ls + 1 + li;
    int rc = 0;
    if (strcmp(ev, "impression") == 0) {
        size_t arm = arm_index(a, rs_tsv_get(t, c->arm), t, c->arm, &rc);
        int64_t k = rs_strmap_get(a->imp, *key, klen);
        if (rc < 0 || k >= 0)
            return rc; /* an impression logged twice counts once */
        k = rs_strmap_put(a->imp, *key, klen, NULL);
        if ((size_t)k >= a->cap) {
            a->cap = 2 * (size_t)k + 1024;
            a->flags = xrealloc(a->flags, a->cap);
            a->revenue = xrealloc(a->revenue, a->cap * sizeof *a->revenue);
            a->imp_arm = xrealloc(a->imp_arm, a->cap * sizeof *a->imp_arm);
        }
        a->flags[k] = 0, a->revenue[k] = 0, a->imp_arm[k] = (uint32_t)arm;
        a->arm[arm].n++;
    } else if (!strcmp(ev, "click") || !strcmp(ev, "booking") || !strcmp(ev, "purchase")) {
        int64_t k = rs_strmap_get(a->imp, *key, klen);
        double v = 0;
        if (rs_tsv_len(t, c->value) && (rc = rs_tsv_get_f64(t, c->value, &v)) < 0)
            return rc;
        if (k < 0)
            return a->orphans++, 0;
        int bit = ev[0] == 'c' ? 1 : 2;
        if (!(a->flags[k] & bit))
            change(a, (size_t)k, bit == 1 ? RS_AB_CTR : RS_AB_CONVERSION, 0, 1);
        a->flags[k] |= (uint8_t)bit;
        change(a, (size_t)k, RS_AB_REVENUE, a->revenue[k], a->revenue[k] + v);
        a->revenue[k] += v;
    } else {
        return 0; /* other words pass */
    }
    update_p(a);
    return 0;
}

int rs_ab_read(struct rs_ab *a, const char *path)
{
    struct rs_tsv *t;
    struct cols c;
    int rc = rs_tsv_open(&t, path, 0);
    if (rc < 0)
        return rc;
    if (rs_tsv_ncols(t) == 0) {
        rs_tsv_close(t);
        return 0;
    }
    if ((rc = rs_tsv_require(t, "item_id", &c.item)) == 0 && (rc = rs_tsv_require(t, "event", &c.event)) == 0 &&
        (rc = rs_tsv_require(t, "session_id", &c.session)) == 0 && (rc = rs_tsv_require(t, "arm", &c.arm)) == 0)
        rc = rs_tsv_require(t, "value", &c.value);
    char *key = NULL;
    size_t keycap = 0;
    while (rc == 0 && (rc = rs_tsv_next(t)) == 0)
        rc = row(a, t, &c, &key, &keycap);
    free(key);
    rs_tsv_close(t);
    return rc == RS_ERR_EOF ? 0 : rc;
}

int rs_ab_check_control(const struct rs_ab *a)
{
    if (a->control && (a->ctl >= a->narms || strcmp(a->arm[a->ctl].name, a->control) != 0))
        return rs_err_set(RS_ERR_USAGE, "control arm '%s' has no impression in the log", a->control);
    return 0;
}
