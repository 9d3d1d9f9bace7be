/* tower_train.h - training the two-tower model (tower.h): examples joined with
 * user and item feature tables, shuffled batches, in-batch softmax with logQ
 * correction and optional extra negatives (nn.h rs_inbatch_*), feature
 * dropout, Adam, validation recall@k / NDCG@k, early stopping, checkpoints
 * and exact resume.
 *
 * Determinism: every random draw comes from rs_rng streams derived from
 * (seed, epoch), and a checkpoint holds the weights, both Adam moments, the
 * step count and the best weights, so a run resumed from the checkpoint of
 * epoch e continues exactly as the uninterrupted run (same bytes).
 *
 * Batches and shards: example j (the j-th row of the examples stream) is in
 * lane j mod batch. Each epoch every lane's examples are shuffled by their
 * own stream of (seed, epoch, lane), and step s's batch is, in lane order,
 * each lane's s-th example (n / batch steps; the lanes' leftovers sit the
 * epoch out). Under mpirun rank r owns the lanes of its positions of the
 * global batch (rs_dist_bounds of batch; the first batch % N ranks one more)
 * and keeps only their examples: every rank parses the whole stream (the
 * vocabularies, item frequencies, fingerprint and, with validation, each
 * user's training items need every row) but stores about n / N examples,
 * and N ranks train on the batches one process trains on.
 */
#ifndef RS_TOWER_TRAIN_H
#define RS_TOWER_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "model/tower.h"

struct rs_strmap;

enum rs_lr_schedule {
    RS_LR_CONSTANT = 1,
    RS_LR_COSINE = 2,  /* lr · ½(1 + cos(π·step/steps)) after warm-up */
    RS_LR_LINEAR = 3,  /* lr · (1 - step/steps) after warm-up */
};

struct rs_tt_opts {
    size_t batch;        /* examples per step */
    int epochs;          /* total epochs (the schedule spans them) */
    int stop_after;      /* stop after this many epochs in this run (0: no) */
    double lr;
    int schedule;        /* enum rs_lr_schedule */
    long warmup;         /* linear warm-up steps */
    double tau;          /* softmax temperature */
    double dropout;      /* fraction of each batch whose behavioural user features are zeroed */
    int logq;            /* 1: subtract log q(item) from in-batch logits */
    size_t k;            /* validation recall@k / NDCG@k */
    int patience;        /* epochs without improvement before stopping (0: never stop early) */
    size_t valid_users;  /* at most this many validation users (0: all) */
    int sparse_adagrad;  /* embedding tables with Adagrad instead of lazy Adam */
    double lr_sparse;
    uint64_t seed;
    int threads;
    const char *checkpoint; /* written after every epoch (NULL: none) */
    /* Called after every step (NULL: not): epoch (1-based), examples done in
     * it, and its total; for a progress meter. */
    void (*on_step)(void *ctx, int epoch, size_t done, size_t total);
    void *step_ctx;
};
/* Defaults: batch 512, 10 epochs, lr 1e-3 cosine, no warm-up, tau 0.05,
 * dropout 0.2, logQ on, k 20, patience 3, seed 42, 1 thread. */
void rs_tt_opts_init(struct rs_tt_opts *o);

struct rs_tt_inputs {
    const char *examples;          /* user_id, item_id [, logq, neg_items, neg_logq] */
    const char *users, *items;     /* feature tables or NULL (read twice; pipes are spooled) */
    const char *valid;             /* user_id, item_id pairs, or NULL */
    const char *user_col, *item_col;
    size_t batch;                  /* the global batch: each rank keeps its lanes' rows (below); 0: every row */
};

struct rs_tt_data {
    struct rs_strmap *uid, *iid;   /* entity id -> row of users / items */
    struct rs_enc users, items;
    size_t n, K;                   /* this rank's examples; extra negatives per example */
    size_t n_all;                  /* every rank's examples */
    size_t lanes, lane_lo, lane_hi; /* example j is this rank's when j % lanes is in [lane_lo, lane_hi) */
    uint64_t examples_hash;        /* XXH3 of every example as read (the checkpoint's fingerprint) */
    uint32_t *eu, *ei;             /* (n) entity rows */
    float *logq;                   /* (n) */
    uint32_t *neg;                 /* (n, K) item rows (padded with the positive) */
    float *neg_logq;               /* (n, K) */
    size_t nv;                     /* validation pairs */
    uint32_t *vu, *vi;
    uint32_t *seen_off, *seen;     /* training items of each user row (CSR; with validation only) */
    size_t skipped_valid;
};

/* Loads the examples and the tables, builds vocabularies and statistics
 * (unless the tower already has them: resume) and encodes every entity.
 * Missing columns and bad fields are errors naming file, line and column. */
int rs_tt_load(struct rs_tt_data *d, struct rs_tower *t, const struct rs_tt_inputs *in, int have_vocab);
void rs_tt_data_free(struct rs_tt_data *d);

struct rs_tt_epoch {
    int epoch;          /* 1-based */
    long steps;         /* total optimiser steps so far */
    double loss;        /* mean training loss of the epoch */
    double lr;          /* learning rate at the epoch's end */
    double recall, ndcg; /* validation @k (NaN without validation) */
    double examples_per_s, seconds;
    int best, stop;     /* this epoch is the best so far; early stopping fires */
};

/* Trains t on d. With ckpt (the checkpoint t was built from, read once so a
 * concurrent rewrite of the file cannot mix two epochs), continues where it
 * stopped. Calls on_epoch after each epoch. At the end t holds the best
 * weights (by validation recall) or the last ones. */
int rs_tt_train(struct rs_tower *t, struct rs_tt_data *d, const struct rs_tt_opts *o, const struct rs_rsm *ckpt,
                void (*on_epoch)(void *ctx, const struct rs_tt_epoch *e), void *ctx);


#endif
