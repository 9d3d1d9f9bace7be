/* study.h - a hyper-parameter study: its trials and the samplers that choose
 * the next one (random, grid, TPE, ASHA), and the study file that makes it
 * resumable (schemas/tune.md).
 *
 * Determinism: trial i is decided from the seed, i and the results of trials
 * 0..known-1 only (the caller passes known = i - (jobs - 1), waiting for
 * those to finish), so the same seed and jobs give the same sequence however
 * the trials' run times interleave.
 */
#ifndef RS_TUNE_STUDY_H
#define RS_TUNE_STUDY_H

#include "tune/space.h"

#include <stdint.h>

enum rs_sampler { RS_SAMPLER_RANDOM, RS_SAMPLER_GRID, RS_SAMPLER_TPE, RS_SAMPLER_ASHA };
#define RS_SAMPLER_NAMES "random grid tpe asha"

enum rs_trial_state { RS_TRIAL_PENDING, RS_TRIAL_DONE, RS_TRIAL_FAILED };

struct rs_trial {
    double *x;       /* the point: one value per parameter, NAN when inactive */
    int rung;        /* ASHA rung (budget rs_space_rung_budget(rung)); 0 otherwise */
    long long parent; /* ASHA: the trial this one promotes to the next rung; -1 */
    enum rs_trial_state state;
    double value;    /* the objective when DONE */
    int promoted;    /* ASHA: a trial of the next rung continues this one */
};

/* TPE (Bergstra et al. 2011, "Algorithms for Hyper-Parameter Optimization",
 * section 4): settings. */
struct rs_tpe {
    int startup;    /* random trials before TPE (default 10) */
    double gamma;   /* fraction of the finished trials that are "good" (default 0.15, the paper's) */
    int candidates; /* draws from l(x) scored by l(x)/g(x) (default 24) */
};

struct rs_study {
    const struct rs_space *space;
    enum rs_sampler sampler;
    uint64_t seed;
    int maximize;
    struct rs_tpe tpe;
    struct rs_trial *t;
    size_t n, cap;
};

void rs_study_init(struct rs_study *s, const struct rs_space *space, enum rs_sampler sampler, uint64_t seed,
                   int maximize);
void rs_study_free(struct rs_study *s);

/* Appends trial s->n, decided from trials 0..known-1 (known <= s->n, every
 * one of them DONE or FAILED). Returns 0, or 1 when the grid is exhausted
 * (nothing appended). */
int rs_study_next(struct rs_study *s, size_t known);
/* The budget of trial i (rs_space_rung_budget of its rung, or the budget's
 * max when the sampler is not ASHA); 0 when the space has no budget. */
long long rs_study_budget(const struct rs_study *s, size_t i);
/* Whether a is a better objective than b (NAN is worse than anything). */
int rs_study_better(const struct rs_study *s, double a, double b);
/* Index of the best DONE trial of the highest rung that has one; -1 if none. */
long rs_study_best(const struct rs_study *s);

/* The study file: seed, sampler, direction and every trial (point as text,
 * rung, state, value), written atomically (temporary + rename). */
int rs_study_save(const struct rs_study *s, const char *path);
/* Reads path's trials into s (initialised with the same space, sampler,
 * seed and direction; a file made with others is refused). Trials that were
 * not finished come back PENDING. A missing file is no error: *found = 0. */
int rs_study_load(struct rs_study *s, const char *path, int *found);

#endif
