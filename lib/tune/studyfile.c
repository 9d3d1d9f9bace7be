/* studyfile.c - the study file (study.h, schemas/tune.md): JSON, rewritten
 * whole and atomically after every change of a trial, so a kill leaves the
 * previous complete state. */
#include "tune/study.h"

#include "core/err.h"
#include "io/config.h"
#include "io/io.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define STUDY_VERSION 1
static const char *const state_names[] = { "pending", "done", "failed" };
#define STATE_WORDS "pending done failed"

static int put_trial(struct rs_writer *w, const struct rs_study *s, size_t i)
{
    const struct rs_trial *t = &s->t[i];
    int rc = i ? rs_writer_printf(w, ",\n  ") : rs_writer_printf(w, "\n  ");
    rc = rc ?: rs_writer_printf(w, "{\"id\": %zu, \"rung\": %d, \"parent\": %lld, \"state\": ", i, t->rung,
                                t->parent);
    rc = rc ?: rs_writer_put_json_string(w, state_names[t->state], strlen(state_names[t->state]));
    if (t->state == RS_TRIAL_DONE)
        rc = rc ?: rs_writer_printf(w, ", \"value\": %.17g", t->value);
    rc = rc ?: rs_writer_printf(w, ", \"params\": {");
    for (size_t k = 0; k < s->space->n && !rc; k++) {
        const char *text = rs_space_text(s->space, t->x, k);
        rc = (k ? rs_writer_printf(w, ", ") : 0) ?: rs_writer_put_json_string(w, s->space->p[k].name,
                                                                              strlen(s->space->p[k].name));
        rc = rc ?: rs_writer_printf(w, ": ") ?: rs_writer_put_json_string(w, text, strlen(text));
    }
    return rc ?: rs_writer_printf(w, "}}");
}

int rs_study_save(const struct rs_study *s, const char *path)
{
    static const char *const samplers[] = { "random", "grid", "tpe", "asha" };
    struct rs_writer *w;
    int rc = rs_writer_open(&w, path, 0, 0);
    if (rc)
        return rc;
    rc = rs_writer_printf(w, "{\"version\": %d, \"sampler\": ", STUDY_VERSION);
    rc = rc ?: rs_writer_put_json_string(w, samplers[s->sampler], strlen(samplers[s->sampler]));
    rc = rc ?: rs_writer_printf(w, ", \"seed\": %llu, \"direction\": ", (unsigned long long)s->seed);
    rc = rc ?: rs_writer_put_json_string(w, s->maximize ? "max" : "min", 3);
    rc = rc ?: rs_writer_printf(w, ", \"trials\": [");
    for (size_t i = 0; i < s->n && !rc; i++)
        rc = put_trial(w, s, i);
    rc = rc ?: rs_writer_printf(w, "\n]}\n");
    return rs_writer_finish(w, rc);
}

static int load_trial(struct rs_study *s, const struct rs_cfg *c, size_t i)
{
    struct rs_cfg params, v;
    long long id, rung, parent;
    int state, rc;
    if ((rc = rs_cfg_keys(c, "id rung parent state value params")) ||
        (rc = rs_cfg_int(c, "id", -1, (long long)i, (long long)i, &id)) ||
        (rc = rs_cfg_int(c, "rung", 0, 0, rs_space_rungs(s->space) - 1, &rung)) ||
        (rc = rs_cfg_int(c, "parent", -1, -1, (long long)i - 1, &parent)) ||
        (rc = rs_cfg_word(c, "state", STATE_WORDS, -1, &state)) || (rc = rs_cfg_object(c, "params", 1, &params)))
        return rc;
    struct rs_trial *t = &s->t[i];
    memset(t, 0, sizeof *t);
    t->x = xcalloc(s->space->n ? s->space->n : 1, sizeof *t->x);
    s->n++;
    t->rung = (int)rung;
    t->parent = parent;
    if (parent >= 0)
        s->t[parent].promoted = 1;
    /* an unfinished trial (killed with its runner) is run again */
    t->state = state == RS_TRIAL_FAILED ? RS_TRIAL_FAILED : state == RS_TRIAL_DONE ? RS_TRIAL_DONE : RS_TRIAL_PENDING;
    t->value = NAN;
    if (t->state == RS_TRIAL_DONE && (rc = rs_cfg_num(c, "value", NAN, -INFINITY, INFINITY, &t->value)))
        return rc;
    if (t->state == RS_TRIAL_DONE && isnan(t->value))
        return rs_cfg_expected(c, "value", "the objective of a done trial");
    if (json_object_size(params.v) != s->space->n)
        return rs_cfg_fail(&params, NULL, "%zu parameters where the space has %zu", json_object_size(params.v),
                           s->space->n);
    for (size_t k = 0; k < s->space->n; k++) {
        const char *text;
        rs_cfg_member(&v, &params, s->space->p[k].name);
        if (!v.v)
            return rs_cfg_fail(&params, NULL, "no parameter '%s'", s->space->p[k].name);
        if ((rc = rs_cfg_str(&v, NULL, "", &text)))
            return json_is_string(v.v) ? 0 : rc;
        if ((rc = rs_space_value(s->space, k, json_string_value(v.v), &t->x[k])))
            return rs_cfg_fail(&v, NULL, "%s", rs_err_msg());
    }
    return 0;
}

static int check_header(const struct rs_study *s, const struct rs_cfg *root)
{
    static const char *const samplers[] = { "random", "grid", "tpe", "asha" };
    long long version, seed;
    int sampler, dir, rc;
    if ((rc = rs_cfg_keys(root, "version sampler seed direction trials")) ||
        (rc = rs_cfg_int(root, "version", -1, 1, STUDY_VERSION, &version)) ||
        (rc = rs_cfg_word(root, "sampler", RS_SAMPLER_NAMES, -1, &sampler)) ||
        (rc = rs_cfg_int(root, "seed", -1, 0, INT64_MAX, &seed)) ||
        (rc = rs_cfg_word(root, "direction", "min max", -1, &dir)))
        return rc;
    if ((enum rs_sampler)sampler != s->sampler || (uint64_t)seed != s->seed || dir != s->maximize)
        return rs_err_set(RS_ERR_USAGE,
                          "'%s' is a study of sampler %s, seed %lld, direction %s: resume it with the same "
                          "--sampler, --seed and --direction, or give another --study",
                          root->file, samplers[sampler], seed, dir ? "max" : "min");
    return 0;
}

int rs_study_load(struct rs_study *s, const char *path, int *found)
{
    json_t *doc;
    struct rs_cfg root, trials, c;
    *found = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    fclose(f);
    *found = 1;
    int rc = rs_config_load(&doc, path);
    if (rc)
        return rc;
    rs_cfg_root(&root, doc, path);
    if (!(rc = check_header(s, &root)) && !(rc = rs_cfg_array(&root, "trials", 1, &trials))) {
        size_t n = json_array_size(trials.v);
        s->t = xcalloc(n ? n : 1, sizeof *s->t);
        s->cap = n ? n : 1;
        for (size_t i = 0; i < n && !rc; i++) {
            rs_cfg_elem(&c, &trials, i);
            rc = load_trial(s, &c, i);
        }
    }
    json_decref(doc);
    return rc;
}
