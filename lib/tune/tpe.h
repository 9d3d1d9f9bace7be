/* tpe.h - the Tree-structured Parzen Estimator (Bergstra, Bardenet, Bengio
 * and Kégl 2011, "Algorithms for Hyper-Parameter Optimization", NeurIPS,
 * section 4), and the draws of one parameter it shares with the random
 * sampler.
 *
 * The first `startup` trials are a Latin hypercube (McKay, Beckman and
 * Conover 1979): parameter k of trial i falls in stratum perm_k(i) of
 * `startup` equal-probability strata, so a few trials cover each range
 * evenly where independent draws would leave gaps for the model to miss.
 *
 * The finished trials are split at the gamma quantile of the objective into
 * good and bad; for each active parameter, l(x) is a Parzen estimator
 * (truncated Gaussians, a choice's smoothed frequencies) fitted on the good
 * trials' values and g(x) on the bad ones', each with a prior component over
 * the whole range. TPE draws `candidates` values from l and keeps the one
 * with the largest l(x)/g(x), which maximises expected improvement (the
 * paper's equation 6). Parameters are drawn one after another, a condition
 * reading the values already drawn; a parameter sees only the trials where
 * it was active (the "tree" of the name).
 */
#ifndef RS_TUNE_TPE_H
#define RS_TUNE_TPE_H

#include "core/rng.h"
#include "tune/study.h"

/* Fills x (one value per parameter of s's space) for trial s->n - 1 from
 * the trials 0..known-1: the Latin hypercube while it is one of the first
 * s->tpe.startup, random while fewer than that are DONE (failures, -j). */
void rs_tpe_sample(const struct rs_study *s, size_t known, double *x, struct rs_rng *g);

/* A uniform draw of p: log-uniform for a log range, the int grid's nearest
 * step, a choice's index. */
double rs_tune_draw_uniform(const struct rs_param *p, struct rs_rng *g);
/* The same at quantile u in [0, 1). */
double rs_tune_draw_at(const struct rs_param *p, double u);
/* v moved onto p's range: an int to the nearest step, clamped to [low, high]. */
double rs_tune_snap(const struct rs_param *p, double v);

#endif
