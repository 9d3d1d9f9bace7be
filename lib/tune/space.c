/* space.c - the search space's JSON (space.h, schemas/tune.md). */
#include "tune/space.h"

#include "core/err.h"
#include "core/num.h"
#include "io/config.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARAMS 64
#define MAX_VALUES 1024
#define MAX_GRID_POINTS 1000
/* Ranges are kept within what %.9g prints back to the same double. */
#define RANGE_MAX 1e15

static int name_ok(const char *s)
{
    if (!isalpha((unsigned char)*s) && *s != '_')
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

static int find_param(const struct rs_space *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->p[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* A choice's value as the text substituted into commands. */
static int choice_text(const struct rs_cfg *v, char **out)
{
    char buf[64];
    if (json_is_string(v->v))
        *out = xstrdup(json_string_value(v->v));
    else if (json_is_integer(v->v))
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v->v)), *out = xstrdup(buf);
    else if (json_is_real(v->v))
        snprintf(buf, sizeof buf, "%.9g", json_real_value(v->v)), *out = xstrdup(buf);
    else if (json_is_boolean(v->v))
        *out = xstrdup(json_is_true(v->v) ? "true" : "false");
    else
        return rs_cfg_expected(v, NULL, "a string, number or boolean");
    return 0;
}

static int parse_choices(struct rs_param *p, const struct rs_cfg *c)
{
    struct rs_cfg arr, e;
    int rc = rs_cfg_array(c, "values", 1, &arr);
    if (rc)
        return rc;
    size_t n = json_array_size(arr.v);
    if (n == 0 || n > MAX_VALUES)
        return rs_cfg_expected(c, "values", "an array of 1 to 1024 values");
    p->values = xcalloc(n, sizeof *p->values);
    for (size_t i = 0; i < n; i++) {
        rs_cfg_elem(&e, &arr, i);
        if ((rc = choice_text(&e, &p->values[i])))
            return rc;
        p->n_values++;
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->values[j], p->values[i]) == 0)
                return rs_cfg_fail(&e, NULL, "value '%s' given twice", p->values[i]);
    }
    return 0;
}

static int parse_range(struct rs_param *p, const struct rs_cfg *c)
{
    int rc, log = 0;
    long long points;
    if ((rc = rs_cfg_num(c, "low", NAN, -RANGE_MAX, RANGE_MAX, &p->low)) ||
        (rc = rs_cfg_num(c, "high", NAN, -RANGE_MAX, RANGE_MAX, &p->high)) ||
        (rc = rs_cfg_bool(c, "log", 0, &log)))
        return rc;
    if (isnan(p->low))
        return rs_cfg_expected(c, "low", "a number");
    if (isnan(p->high))
        return rs_cfg_expected(c, "high", "a number");
    if (!(p->high > p->low) && !(p->kind == RS_PARAM_INT && p->high == p->low))
        return rs_cfg_fail(c, "high", "%g is not above low %g", p->high, p->low);
    if (log && p->low <= 0)
        return rs_cfg_fail(c, "low", "a log-scaled range needs low > 0, got %g", p->low);
    if (p->kind == RS_PARAM_INT && (p->low != floor(p->low) || p->high != floor(p->high)))
        return rs_cfg_expected(c, p->low != floor(p->low) ? "low" : "high", "an integer");
    p->log = log;
    if (p->kind == RS_PARAM_INT)
        return rs_cfg_num(c, "step", 1, 1, RANGE_MAX, &p->step);
    rc = rs_cfg_int(c, "grid_points", 5, 2, MAX_GRID_POINTS, &points);
    p->grid_points = (int)points;
    return rc;
}

/* "when": { "parent": [values...] } for a choice parent, or
 * { "parent": { "low": a, "high": b } } for a range parent. */
static int parse_when(struct rs_space *s, struct rs_param *p, const struct rs_cfg *c)
{
    struct rs_cfg when, cond, e;
    int rc = rs_cfg_object(c, "when", 0, &when);
    if (rc || !when.v)
        return rc;
    if (json_object_size(when.v) != 1)
        return rs_cfg_expected(c, "when", "an object with one parameter");
    const char *parent = json_object_iter_key(json_object_iter((json_t *)when.v));
    rs_cfg_member(&cond, &when, parent);
    if ((p->parent = find_param(s, parent)) < 0)
        return rs_cfg_fail(&cond, NULL, "'%s' is not a parameter listed before '%s'", parent, p->name);
    const struct rs_param *pp = &s->p[p->parent];
    if (pp->kind != RS_PARAM_CHOICE) {
        if ((rc = rs_cfg_keys(&cond, "low high")) ||
            (rc = rs_cfg_num(&cond, "low", -INFINITY, -RANGE_MAX, RANGE_MAX, &p->when_low)) ||
            (rc = rs_cfg_num(&cond, "high", INFINITY, -RANGE_MAX, RANGE_MAX, &p->when_high)))
            return json_is_object(cond.v) ? rc : rs_cfg_expected(&cond, NULL, "an object with low and/or high");
        return 0;
    }
    if (!json_is_array(cond.v) || json_array_size(cond.v) == 0)
        return rs_cfg_expected(&cond, NULL, "a non-empty array of the parent's values");
    p->when = xcalloc(pp->n_values, 1);
    for (size_t i = 0; i < json_array_size(cond.v); i++) {
        char *text;
        rs_cfg_elem(&e, &cond, i);
        if ((rc = choice_text(&e, &text)))
            return rc;
        size_t k = 0;
        while (k < pp->n_values && strcmp(pp->values[k], text) != 0)
            k++;
        free(text);
        if (k == pp->n_values)
            return rs_cfg_fail(&e, NULL, "not one of the values of '%s'", pp->name);
        p->when[k] = 1;
    }
    return 0;
}

static int parse_param(struct rs_space *s, const char *name, const struct rs_cfg *c)
{
    struct rs_param *p = &s->p[s->n];
    int kind, rc;
    if (!name_ok(name))
        return rs_cfg_fail(c, NULL, "a parameter name is letters, digits and '_', not starting with a digit");
    if (!json_is_object(c->v))
        return rs_cfg_expected(c, NULL, "an object");
    if (find_param(s, name) >= 0 || (s->budget.name && strcmp(s->budget.name, name) == 0))
        return rs_cfg_fail(c, NULL, "parameter '%s' given twice", name);
    memset(p, 0, sizeof *p);
    p->parent = -1;
    p->name = xstrdup(name);
    s->n++;
    if ((rc = rs_cfg_word(c, "type", "int float choice", -1, &kind)))
        return rc;
    p->kind = kind == 0 ? RS_PARAM_INT : kind == 1 ? RS_PARAM_FLOAT : RS_PARAM_CHOICE;
    if (p->kind == RS_PARAM_CHOICE)
        rc = rs_cfg_keys(c, "type values when") ?: parse_choices(p, c);
    else if (p->kind == RS_PARAM_INT)
        rc = rs_cfg_keys(c, "type low high log step when") ?: parse_range(p, c);
    else
        rc = rs_cfg_keys(c, "type low high log grid_points when") ?: parse_range(p, c);
    return rc ?: parse_when(s, p, c);
}

static int parse_budget(struct rs_space *s, const struct rs_cfg *root)
{
    struct rs_cfg b;
    const char *name;
    long long eta;
    int rc = rs_cfg_object(root, "budget", 0, &b);
    if (rc || !b.v)
        return rc;
    if ((rc = rs_cfg_keys(&b, "name min max eta")) || (rc = rs_cfg_str(&b, "name", NULL, &name)))
        return rc;
    if (!name)
        return rs_cfg_expected(&b, "name", "the budget parameter's name");
    if (!name_ok(name))
        return rs_cfg_fail(&b, "name", "a parameter name is letters, digits and '_', not starting with a digit");
    if ((rc = rs_cfg_int(&b, "min", 1, 1, 1000000000, &s->budget.min)) ||
        (rc = rs_cfg_int(&b, "max", -1, 1, 1000000000, &s->budget.max)) ||
        (rc = rs_cfg_int(&b, "eta", 3, 2, 100, &eta)))
        return rc;
    if (s->budget.max < 0)
        return rs_cfg_expected(&b, "max", "an integer in 1..1000000000");
    if (s->budget.max < s->budget.min)
        return rs_cfg_fail(&b, "max", "%lld is below min %lld", s->budget.max, s->budget.min);
    s->budget.eta = (int)eta;
    s->budget.name = xstrdup(name);
    return 0;
}

static int parse_space(struct rs_space *s, const json_t *doc, const char *name)
{
    struct rs_cfg root, params, c;
    const char *key;
    const json_t *v;
    int rc;
    rs_cfg_root(&root, doc, name);
    if (!json_is_object(doc))
        return rs_cfg_expected(&root, NULL, "an object");
    if ((rc = rs_cfg_keys(&root, "params budget")) || (rc = parse_budget(s, &root)) ||
        (rc = rs_cfg_object(&root, "params", 1, &params)))
        return rc;
    if (json_object_size(params.v) == 0 || json_object_size(params.v) > MAX_PARAMS)
        return rs_cfg_expected(&root, "params", "an object of 1 to 64 parameters");
    s->p = xcalloc(json_object_size(params.v), sizeof *s->p);
    /* jansson keeps an object's keys in document order: a condition reads a
     * parameter listed before it. */
    json_object_foreach((json_t *)params.v, key, v) {
        rs_cfg_member(&c, &params, key);
        if ((rc = parse_param(s, key, &c)))
            return rc;
    }
    return 0;
}

int rs_space_parse(struct rs_space *s, const char *text, size_t len, const char *name)
{
    json_t *doc;
    memset(s, 0, sizeof *s);
    int rc = rs_config_parse(&doc, text, len, name);
    if (rc)
        return rc;
    rc = parse_space(s, doc, name);
    json_decref(doc);
    if (rc)
        rs_space_free(s);
    return rc;
}

int rs_space_load(struct rs_space *s, const char *path)
{
    json_t *doc;
    memset(s, 0, sizeof *s);
    int rc = rs_config_load(&doc, path);
    if (rc)
        return rc;
    rc = parse_space(s, doc, path);
    json_decref(doc);
    if (rc)
        rs_space_free(s);
    return rc;
}

void rs_space_free(struct rs_space *s)
{
    for (size_t i = 0; i < s->n; i++) {
        for (size_t k = 0; k < s->p[i].n_values; k++)
            free(s->p[i].values[k]);
        free(s->p[i].values);
        free(s->p[i].when);
        free(s->p[i].name);
    }
    free(s->p);
    free(s->budget.name);
    memset(s, 0, sizeof *s);
}

int rs_space_active(const struct rs_space *s, const double *x, size_t i)
{
    const struct rs_param *p = &s->p[i];
    if (p->parent < 0)
        return 1;
    double v = x[p->parent];
    if (isnan(v))
        return 0;
    if (p->when)
        return p->when[(size_t)v];
    return v >= p->when_low && v <= p->when_high;
}

const char *rs_space_text(const struct rs_space *s, const double *x, size_t i)
{
    static char buf[64];
    const struct rs_param *p = &s->p[i];
    if (isnan(x[i]))
        return "";
    if (p->kind == RS_PARAM_CHOICE)
        return p->values[(size_t)x[i]];
    snprintf(buf, sizeof buf, p->kind == RS_PARAM_INT ? "%.0f" : "%.9g", x[i]);
    return buf;
}

int rs_space_value(const struct rs_space *s, size_t i, const char *text, double *v)
{
    const struct rs_param *p = &s->p[i];
    if (!*text) {
        *v = NAN;
        return 0;
    }
    if (p->kind == RS_PARAM_CHOICE) {
        for (size_t k = 0; k < p->n_values; k++)
            if (strcmp(p->values[k], text) == 0)
                return *v = (double)k, 0;
    } else if (rs_num_f64(text, strlen(text), v) == 0 && *v >= p->low && *v <= p->high &&
               (p->kind == RS_PARAM_FLOAT || *v == floor(*v))) {
        return 0;
    }
    return rs_err_set(RS_ERR_FORMAT, "'%s' is not a value of parameter '%s'", text, p->name);
}

int rs_space_rungs(const struct rs_space *s)
{
    int n = 1;
    for (long long b = s->budget.min; s->budget.name && b < s->budget.max; b *= s->budget.eta)
        n++;
    return n;
}

long long rs_space_rung_budget(const struct rs_space *s, int r)
{
    long long b = s->budget.min;
    while (r-- > 0 && b < s->budget.max)
        b *= s->budget.eta;
    return b < s->budget.max ? b : s->budget.max;
}
