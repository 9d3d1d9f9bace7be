/* space.h - a hyper-parameter search space read from JSON (schemas/tune.md):
 * integer and float ranges (optionally log-scaled), choices, and conditions
 * that make a parameter active only for some values of an earlier one.
 *
 *   { "params": {
 *       "lr":     { "type": "float", "low": 1e-4, "high": 0.1, "log": true },
 *       "dim":    { "type": "int", "low": 16, "high": 128, "log": true },
 *       "opt":    { "type": "choice", "values": ["adam", "sgd"] },
 *       "moment": { "type": "float", "low": 0, "high": 0.99, "when": { "opt": ["sgd"] } } },
 *     "budget": { "name": "epochs", "min": 1, "max": 27, "eta": 3 } }
 *
 * A point of the space is one double per parameter: the value of a range,
 * the index of a choice, NAN for a parameter its condition leaves inactive.
 */
#ifndef RS_TUNE_SPACE_H
#define RS_TUNE_SPACE_H

#include <stddef.h>

enum rs_param_kind { RS_PARAM_INT, RS_PARAM_FLOAT, RS_PARAM_CHOICE };

struct rs_param {
    char *name;
    enum rs_param_kind kind;
    double low, high;     /* ranges: inclusive bounds */
    int log;              /* ranges: sampled uniformly in log(value) */
    double step;          /* int: the grid's step (default 1) */
    int grid_points;      /* float: points of the grid (default 5) */
    char **values;        /* choice: each value as text, as substituted */
    size_t n_values;
    int parent;           /* index of the parameter the condition reads; -1: always active */
    unsigned char *when;  /* parent a choice: when[i] != 0 activates; parent a range: NULL */
    double when_low, when_high; /* parent a range: active for values in [when_low, when_high] */
};

/* Successive halving over a budget parameter (ASHA): rungs min, min*eta,
 * min*eta^2, ... up to max. name is passed to the command like a parameter. */
struct rs_budget {
    char *name; /* NULL: no budget in the space */
    long long min, max;
    int eta;
};

struct rs_space {
    struct rs_param *p;
    size_t n;
    struct rs_budget budget;
};

/* Reads the space of path. Errors name the file and, for a syntax error, the
 * line and column, otherwise the JSON path ("params.lr.low: expected ..."). */
int rs_space_load(struct rs_space *s, const char *path);
/* The same from a JSON text in memory; name is used in messages. */
int rs_space_parse(struct rs_space *s, const char *text, size_t len, const char *name);
void rs_space_free(struct rs_space *s);

/* Whether parameter i is active at point x (its parent's value, already set,
 * satisfies the condition). */
int rs_space_active(const struct rs_space *s, const double *x, size_t i);
/* Parameter i's value at x as text: an integer, a float as %.9g, a choice's
 * value; "" when inactive. Static storage, overwritten by the next call. */
const char *rs_space_text(const struct rs_space *s, const double *x, size_t i);
/* Parameter i's value from its text (as rs_space_text writes it) into *v:
 * a study file read back. RS_ERR_FORMAT if it is not a value of the range
 * or choice. */
int rs_space_value(const struct rs_space *s, size_t i, const char *text, double *v);
/* Number of budget rungs (1 with no budget) and rung r's budget: min * eta^r,
 * the last rung max. */
int rs_space_rungs(const struct rs_space *s);
long long rs_space_rung_budget(const struct rs_space *s, int r);

#endif
