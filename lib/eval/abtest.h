/* abtest.h - online metrics per arm of an experiment from rs-serve's
 * feedback log (schemas/feedback.md), with confidence intervals and an
 * always-valid sequential test.
 *
 * Unit: the impression (a row with event "impression"). Each impression
 * has three outcomes: click (1 when its list's session, user and item got
 * a click: the click-through rate), conversion (1 when it got a booking
 * or a purchase) and revenue (the sum of their values). Per arm: the
 * impressions n, and for each outcome its mean with a 95% normal
 * (Wald) interval mean ± 1.96·s/√n, s the sample standard deviation.
 *
 * The sequential test is the mixture sequential probability ratio test
 * (mSPRT) of Johari, Koomen, Pekelis & Walsh, "Peeking at A/B tests: why it
 * matters, and what to do about it", KDD 2017 (and Operations Research
 * 2022), for the difference of means θ = μ_arm − μ_control with a normal
 * mixture θ ~ N(0, τ²) over the alternative:
 *     Λ_t = sqrt(V / (V + τ²)) · exp(θ̂² τ² / (2 V (V + τ²))),
 *     V = s_arm²/n_arm + s_control²/n_control   (the variance of θ̂),
 * computed after every row of the log, in log order, and the always-valid
 * p-value p_t = min(1, min over s ≤ t of 1/Λ_s). Rejecting when p_t ≤ α
 * keeps the type I error at most α whenever one looks (continuous
 * monitoring), unlike a fixed-horizon p-value read repeatedly. The
 * variances are the arms' sample variances (plugged in, as Johari et al.
 * do for large samples), so the statistic waits for RS_AB_BURN_IN
 * impressions in both arms and for V > 0: two impressions without a click
 * would make V zero and Λ meaningless.
 */
#ifndef RS_ABTEST_H
#define RS_ABTEST_H

#include <stddef.h>
#include <stdint.h>

enum rs_ab_metric { RS_AB_CTR, RS_AB_CONVERSION, RS_AB_REVENUE, RS_AB_NMETRICS };

#define RS_AB_MAX_ARMS 64
#define RS_AB_BURN_IN 100

struct rs_ab_arm {
    char *name;
    uint64_t n;                       /* impressions */
    double sum[RS_AB_NMETRICS], sumsq[RS_AB_NMETRICS];
    double p[RS_AB_NMETRICS];         /* always-valid p-value against the control (1 for it) */
};

struct rs_strmap;

struct rs_ab {
    double tau[RS_AB_NMETRICS];       /* the mixture's standard deviation per metric */
    const char *control;              /* its arm name, or NULL: the first arm of the log */
    size_t narms, ctl;
    struct rs_ab_arm arm[RS_AB_MAX_ARMS];
    struct rs_strmap *imp;            /* session \t item: an impression */
    uint8_t *flags;                   /* per impression: 1 clicked, 2 converted */
    double *revenue;
    uint32_t *imp_arm;
    size_t cap;
    uint64_t orphans;                 /* events without their impression in the log */
};

/* Mean, and the 95% interval, of metric m for arm a. */
void rs_ab_summary(const struct rs_ab_arm *a, int m, double *mean, double *lo, double *hi);
/* log Λ (above) for two arms' sums, or NAN before the burn-in or when V = 0. */
double rs_ab_msprt_log(const struct rs_ab_arm *a, const struct rs_ab_arm *control, int m, double tau);

/* Starts an analysis: taus per metric, control arm name (NULL: the first). */
void rs_ab_init(struct rs_ab *a, const double tau[RS_AB_NMETRICS], const char *control);
/* Reads one feedback log file (a path; '-' stdin), updating the sums and
 * the p-values row by row. Errors name the file, line and column. */
int rs_ab_read(struct rs_ab *a, const char *path);
/* RS_ERR_USAGE when the control arm is not in the log. */
int rs_ab_check_control(const struct rs_ab *a);
void rs_ab_free(struct rs_ab *a);

#endif
