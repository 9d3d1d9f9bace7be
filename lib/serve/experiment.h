/* experiment.h - an online experiment: several bundles served side by side
 * as arms, declared in a JSON file (schemas/serve.md, "Experiments"):
 *   {"name": "ranker-v2", "salt": "2024-06", "rollout": 0.2,
 *    "arms": [{"name": "control", "share": 0.5},
 *             {"name": "new", "share": 0.5, "ranker": "new/rank.rsm"}]}
 * Each arm is the server's bundle (its command line) with the files the arm
 * names instead (items_emb, users_emb, model, users, index, seen, items,
 * ranker, rank_users, rank_items).
 *
 * Assignment: XXH3-128 of the user id, seeded by XXH3-64 of the salt, gives
 * two independent uniform numbers in [0, 1) (53 bits each): r, the user's
 * place in the rollout, and a, its place among the arms. A user with
 * r < rollout gets the arm whose cumulative share interval holds a; any
 * other user the first arm (the control). So a user's arm is a pure
 * function of (salt, user id, shares, rollout): the same across restarts
 * and reloads; raising the rollout only adds users (those with r between the
 * old and the new value), each keeping the arm that a gives it; a new salt
 * reshuffles everyone. Without a file: one arm, "default", every user.
 */
#ifndef RS_EXPERIMENT_H
#define RS_EXPERIMENT_H

#include <stddef.h>
#include <stdint.h>

#include "serve/reco.h"

#define RS_EXP_MAX_ARMS 16
#define RS_EXP_NAME_MAX 64

struct rs_exp_arm {
    char name[RS_EXP_NAME_MAX + 1];
    double share;
    struct rs_reco_opts opts;    /* the base with the arm's files */
    struct rs_reco *reco;        /* NULL until rs_exp_load */
    void *user;                  /* the server's per-arm counters */
};

struct rs_exp {
    char name[RS_EXP_NAME_MAX + 1];
    char *salt;
    double rollout;
    size_t narms;
    struct rs_exp_arm arm[RS_EXP_MAX_ARMS];
    void *doc;                   /* the parsed file: the arms' paths point into it */
};

/* Reads the experiment of path over the bundle options base (which must
 * outlive e); path NULL: the single arm "default". Errors (RS_ERR_FORMAT)
 * name the file and the JSON path: unknown keys, names outside
 * [A-Za-z0-9_.-]{1,64} or given twice, shares outside [0, 1] or not
 * summing to 1 (within 1e-9), rollout outside [0, 1]. e is then safe to
 * free. */
int rs_exp_read(struct rs_exp *e, const char *path, const struct rs_reco_opts *base);
/* Loads every arm's bundle; an error names the arm, and leaves none loaded. */
int rs_exp_load(struct rs_exp *e);
void rs_exp_free(struct rs_exp *e);
/* The arm of user (see above). */
size_t rs_exp_assign(const struct rs_exp *e, const char *user);
/* The two numbers of the assignment: *r (rollout) and *a (arm). */
void rs_exp_unit(const char *salt, const char *user, double *r, double *a);
/* The arm named name, or -1. */
int rs_exp_find(const struct rs_exp *e, const char *name);
/* A signature of the experiment file and of every arm's files: it changes
 * when one of them is replaced. An unreadable file signs itself alone. */
uint64_t rs_exp_signature(const char *path, const struct rs_reco_opts *base);

#endif
