/* tpe.h - the Tree-structured Parzen Estimator (Bergstra, Bardenet, Bengio
 * and Kégl 2011, "Algorithms for Hyper-Parameter Optimization", NeurIPS,
 * section 4), and the draws of one parameter it shares with the random
 * sampler.
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

/* Fills x (one value per parameter of s's space) for a new trial from the
 * trials 0..known-1: random while fewer than s->tpe.startup are DONE. */
void rs_tpe_sample(const struct rs_study *s, size_t known, double *x, struct rs_rng *g);

/* A uniform draw of p: log-uniform for a log range, the int grid's nearest
 * step, a choice's index. */
double rs_tune_draw_uniform(const struct rs_param *p, struct rs_rng *g);
/* v moved onto p's range: an int to the nearest step, clamped to [low, high]. */
double rs_tune_snap(const struct rs_param *p, double v);

#endif
