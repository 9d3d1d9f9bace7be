/* tower.c - the two-tower model: feature config, parameters, towers on
 * lib/nn/nn (forward/backward), RSM save/load. See tower.h for the model and
 * the feature types; rows are encoded in tower_encode.c, trained in
 * tower_train.c. */
#include "model/tower.h"
#include "io/config.h"
#include "core/err.h"
#include "io/rsm.h"
#include "core/strmap.h"
#include "io/tsv.h"
#include "io/vocab.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define DEFAULT_D 64
#define DEFAULT_EMB 16
#define DEFAULT_TEXT_BUCKETS 4096
#define DEFAULT_MAX_LEN 50

static const char *type_names[] = { "?", "string", "int", "text", "numeric", "pretrained", "sequence" };
static const char *side_names[] = { "user", "item" };

const char *rs_tower_side_name(int side)
{
    return side_names[side];
}

const char *rs_feat_type_name(int type)
{
    return type_names[type];
}
static const char *layer_keys[] = { "user_embedding_layers", "item_embedding_layers" };

/* ---- config ---- */

static int type_parse(const char *s)
{
    for (int i = RS_FEAT_STRING; i <= RS_FEAT_SEQUENCE; i++)
        if (strcmp(s, type_names[i]) == 0)
            return i;
    return -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A non-negative integer member, or def when absent. */
static int get_uint(const json_t *o, const char *key, long long def, long long min, long long *out,
                    const char *name, const char *feat)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min)
        return rs_err_set(RS_ERR_FORMAT, "'%s': feature '%s': \"%s\" must be an integer >= %lld", name, feat,
                          key, min);
    *out = json_integer_value(v);
    return 0;
}

static int get_bool(const json_t *o, const char *key, int def, int *out, const char *name, const char *feat)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_boolean(v))
        return rs_err_set(RS_ERR_FORMAT, "'%s': feature '%s': \"%s\" must be true or false", name, feat, key);
    *out = json_is_true(v);
    return 0;
}

/* "pooling": "mean" (default) or "attention". */
static int get_pooling(const json_t *o, int *attention, const char *name, const char *feat)
{
    json_t *v = json_object_get(o, "pooling");
    const char *p = v ? json_string_value(v) : "mean";
    if (!p || (strcmp(p, "mean") && strcmp(p, "attention")))
        return rs_err_set(RS_ERR_FORMAT, "'%s': feature '%s': \"pooling\" must be \"mean\" or \"attention\"",
                          name, feat);
    *attention = strcmp(p, "attention") == 0;
    return 0;
}

static int get_str(const json_t *o, const char *key, char **out, const char *name, const char *feat)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_string(v) || !*json_string_value(v))
        return rs_err_set(RS_ERR_FORMAT, "'%s': feature '%s': \"%s\" must be a non-empty string", name, feat,
                          key);
    *out = xstrdup(json_string_value(v));
    return 0;
}

/* Keys each type accepts beyond "type", "embedding_size", "column", "behavioural". */
static const char *type_keys[] = {
    "", "list oov_buckets min_count", "oov_buckets min_count", "buckets bigrams", "log1p",
    "path", "shares max_length pooling",
};

static int key_allowed(int type, const char *key)
{
    if (!strcmp(key, "type") || !strcmp(key, "embedding_size") || !strcmp(key, "column") ||
        !strcmp(key, "behavioural"))
        return 1;
    return rs_config_word_in(type_keys[type], key);
}

/* RS_PARAM_NAME_MAX less "user." and ".proj.w" and the NUL. */
#define MAX_FEAT_NAME (RS_PARAM_NAME_MAX - 13)

static int parse_feature(struct rs_feat *f, const char *feat, const json_t *o, const char *name)
{
    memset(f, 0, sizeof *f);
    f->name = xstrdup(feat);
    f->table = f->proj_w = f->proj_b = f->query = f->col = -1;
    f->behavioural = -1;
    if (strlen(feat) > MAX_FEAT_NAME) /* parameter names "user.<feat>.proj.w" must stay distinct */
        return rs_err_set(RS_ERR_FORMAT, "'%s': feature name '%.20s...' is longer than %d bytes", name, feat,
                          MAX_FEAT_NAME);
    if (!json_is_object(o))
        return rs_err_set(RS_ERR_FORMAT, "'%s': feature '%s' must be an object", name, feat);
    const char *ts = json_string_value(json_object_get(o, "type"));
    if (!ts)
        return rs_err_set(RS_ERR_FORMAT, "'%s': feature '%s' has no \"type\"", name, feat);
    if ((f->type = type_parse(ts)) < 0)
        return rs_err_set(RS_ERR_FORMAT,
                          "'%s': feature '%s': unknown type '%s' (use string, int, text, numeric, "
                          "pretrained or sequence)", name, feat, ts);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        if (!key_allowed(f->type, key))
            return rs_err_set(RS_ERR_FORMAT, "'%s': feature '%s': unknown key \"%s\" for type %s", name,
                              feat, key, ts);
    }
    long long emb, buckets, minc, maxlen;
    int rc = get_uint(o, "embedding_size", f->type == RS_FEAT_NUMERIC ? 1 : DEFAULT_EMB, 1, &emb, name, feat);
    rc = rc ? rc : get_uint(o, f->type == RS_FEAT_TEXT ? "buckets" : "oov_buckets",
                            f->type == RS_FEAT_TEXT ? DEFAULT_TEXT_BUCKETS : 0, f->type == RS_FEAT_TEXT,
                            &buckets, name, feat);
    rc = rc ? rc : get_uint(o, "min_count", 1, 1, &minc, name, feat);
    rc = rc ? rc : get_uint(o, "max_length", DEFAULT_MAX_LEN, 1, &maxlen, name, feat);
    rc = rc ? rc : get_bool(o, "list", 0, &f->list, name, feat);
    rc = rc ? rc : get_bool(o, "bigrams", 1, &f->bigrams, name, feat);
    rc = rc ? rc : get_bool(o, "log1p", 0, &f->log1p, name, feat);
    rc = rc ? rc : get_str(o, "column", &f->column, name, feat);
    rc = rc ? rc : get_str(o, "path", &f->path, name, feat);
    rc = rc ? rc : get_str(o, "shares", &f->shares, name, feat);
    rc = rc ? rc : get_pooling(o, &f->attention, name, feat);
    if (rc == 0 && json_object_get(o, "behavioural"))
        rc = get_bool(o, "behavioural", 0, &f->behavioural, name, feat);
    if (rc < 0)
        return rc;
    if (emb > 65536)
        return rs_err_set(RS_ERR_FORMAT, "'%s': feature '%s': embedding_size %lld is too large", name, feat, emb);
    if (f->type == RS_FEAT_PRETRAINED && !f->path)
        return rs_err_set(RS_ERR_FORMAT, "'%s': feature '%s': pretrained needs \"path\" (an RSB file)", name,
                          feat);
    f->emb = (size_t)emb;
    f->width = f->type == RS_FEAT_NUMERIC ? 1 : f->emb;
    f->buckets = (uint64_t)buckets;
    f->min_count = (uint64_t)minc;
    f->max_len = (size_t)maxlen;
    f->std = 1;
    if (!f->column && f->type != RS_FEAT_PRETRAINED)
        f->column = xstrdup(feat);
    return 0;
}

static int parse_layers(struct rs_tower *t, const json_t *config, size_t d, const char *name)
{
    json_t *hl = json_object_get(config, "hidden_layers");
    size_t nh = hl ? json_array_size(hl) : 1;
    if (hl && (!json_is_array(hl) || nh + 1 > RS_TOWER_MAX_LAYERS))
        return rs_err_set(RS_ERR_FORMAT, "'%s': \"hidden_layers\" must be an array of at most %d sizes", name,
                          RS_TOWER_MAX_LAYERS - 1);
    for (int s = 0; s < 2; s++) {
        struct rs_tower_side *sd = &t->side[s];
        sd->nlayers = nh + 1;
        for (size_t l = 0; l < nh; l++) {
            json_t *v = hl ? json_array_get(hl, l) : NULL;
            if (hl && (!json_is_integer(v) || json_integer_value(v) < 1))
                return rs_err_set(RS_ERR_FORMAT, "'%s': \"hidden_layers\" must hold positive integers", name);
            sd->dims[l + 1] = hl ? (size_t)json_integer_value(v) : 2 * d;
        }
        sd->dims[nh + 1] = d;
    }
    return 0;
}

/* The item feature a sequence feature shares its table with. */
static int resolve_shares(struct rs_tower *t, const char *name)
{
    struct rs_tower_side *items = &t->side[RS_SIDE_ITEM];
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < t->side[s].nf; i++) {
            struct rs_feat *f = &t->side[s].f[i];
            if (f->type != RS_FEAT_SEQUENCE)
                continue;
            for (size_t j = 0; j < items->nf && !f->src; j++) {
                struct rs_feat *g = &items->f[j];
                int named = f->shares ? strcmp(g->name, f->shares) == 0
                                      : g->column && strcmp(g->column, items->id_col) == 0;
                if (named)
                    f->src = g;
            }
            if (!f->src || (f->src->type != RS_FEAT_STRING && f->src->type != RS_FEAT_INT) || f->src->list)
                return rs_err_set(RS_ERR_FORMAT,
                                  "'%s': sequence feature '%s' needs an item feature of type string or int "
                                  "to share (\"shares\": NAME, default: the item id feature)",
                                  name, f->name);
            f->emb = f->width = f->src->emb;
        }
    return 0;
}

int rs_tower_parse(struct rs_tower *t, const json_t *config, size_t d, const char *name)
{
    memset(t, 0, sizeof *t);
    rs_params_init(&t->p);
    t->side[0].id_col = "user_id";
    t->side[1].id_col = "item_id";
    if (!json_is_object(config))
        return rs_err_set(RS_ERR_FORMAT, "'%s': a feature config must be a JSON object", name);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)config, key, v) {
        if (strcmp(key, "user_embedding_layers") && strcmp(key, "item_embedding_layers") &&
            strcmp(key, "embedding_size") && strcmp(key, "hidden_layers") && strcmp(key, "description"))
            return rs_err_set(RS_ERR_FORMAT, "'%s': unknown key \"%s\" in the feature config", name, key);
    }
    long long cd;
    int rc = get_uint(config, "embedding_size", DEFAULT_D, 1, &cd, name, "(top level)");
    if (rc < 0)
        return rc;
    t->d = d ? d : (size_t)cd;
    t->config = json_deep_copy(config);
    for (int s = 0; s < 2; s++) {
        json_t *layers = json_object_get(config, layer_keys[s]);
        if (!json_is_object(layers) || json_object_size(layers) == 0)
            return rs_err_set(RS_ERR_FORMAT, "'%s': \"%s\" must be a non-empty object of features", name,
                              layer_keys[s]);
        size_t n = json_object_size(layers), i = 0;
        const char **names = xmalloc(n * sizeof *names);
        json_object_foreach(layers, key, v)
            names[i++] = key;
        qsort(names, n, sizeof *names, cmp_str); /* a fixed concat order, whatever the JSON order */
        struct rs_tower_side *sd = &t->side[s];
        sd->f = xcalloc(n, sizeof *sd->f);
        for (i = 0; i < n && rc == 0; i++, sd->nf++)
            rc = parse_feature(&sd->f[i], names[i], json_object_get(layers, names[i]), name);
        free(names);
        if (rc < 0)
            return rc;
    }
    if ((rc = parse_layers(t, config, t->d, name)) < 0)
        return rc;
    return resolve_shares(t, name);
}

void rs_tower_set_id_col(struct rs_tower *t, int side, const char *col)
{
    t->side[side].id_col = col;
}

void rs_tower_free(struct rs_tower *t)
{
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < t->side[s].nf; i++) {
            struct rs_feat *f = &t->side[s].f[i];
            free(f->name);
            free(f->column);
            free(f->path);
            free(f->shares);
            free(f->vblob);
            free(f->vcounts);
            if (f->pre.ids)
                rs_embset_free(&f->pre);
            rs_vocab_free(f->vocab);
            rs_vocab_counter_free(f->counter);
        }
        free(t->side[s].f);
    }
    rs_params_free(&t->p);
    json_decref(t->config);
    memset(t, 0, sizeof *t);
}

/* ---- parameters ---- */

static void declare(struct rs_tower *t)
{
    char nm[RS_PARAM_NAME_MAX];
    for (int s = 0; s < 2; s++) {
        struct rs_tower_side *sd = &t->side[s];
        sd->din = 0;
        for (size_t i = 0; i < sd->nf; i++) {
            struct rs_feat *f = &sd->f[i];
            sd->din += f->width;
            if (f->type == RS_FEAT_STRING || f->type == RS_FEAT_INT || f->type == RS_FEAT_TEXT) {
                snprintf(nm, sizeof nm, "%s.%s.emb", side_names[s], f->name);
                f->table = rs_params_add(&t->p, nm, f->rows, f->emb, RS_PARAM_SPARSE);
            } else if (f->type == RS_FEAT_PRETRAINED) {
                snprintf(nm, sizeof nm, "%s.%s.proj.w", side_names[s], f->name);
                f->proj_w = rs_params_add(&t->p, nm, f->pre_dims, f->emb, RS_PARAM_DENSE);
                snprintf(nm, sizeof nm, "%s.%s.proj.b", side_names[s], f->name);
                f->proj_b = rs_params_add(&t->p, nm, 1, f->emb, RS_PARAM_DENSE);
            }
        }
        sd->dims[0] = sd->din;
        for (size_t l = 0; l < sd->nlayers; l++) {
            snprintf(nm, sizeof nm, "%s.dense%zu.w", side_names[s], l);
            sd->w[l] = rs_params_add(&t->p, nm, sd->dims[l], sd->dims[l + 1], RS_PARAM_DENSE);
            snprintf(nm, sizeof nm, "%s.dense%zu.b", side_names[s], l);
            sd->b[l] = rs_params_add(&t->p, nm, 1, sd->dims[l + 1], RS_PARAM_DENSE);
        }
    }
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < t->side[s].nf; i++) {
            struct rs_feat *f = &t->side[s].f[i];
            if (f->type == RS_FEAT_SEQUENCE) {
                f->table = f->src->table;
                f->rows = f->src->rows;
            }
            if (f->attention) {
                snprintf(nm, sizeof nm, "%s.%s.query", side_names[s], f->name);
                f->query = rs_params_add(&t->p, nm, 1, f->emb, RS_PARAM_DENSE);
            }
        }
}

void rs_tower_init_params(struct rs_tower *t, uint64_t seed)
{
    declare(t);
    rs_params_alloc(&t->p);
    struct rs_rng g;
    rs_rng_init(&g, seed, 0x746f776572ull); /* "tower" */
    for (int s = 0; s < 2; s++) {
        struct rs_tower_side *sd = &t->side[s];
        for (size_t i = 0; i < sd->nf; i++) {
            struct rs_feat *f = &sd->f[i];
            if (f->type == RS_FEAT_SEQUENCE)
                continue;
            if (f->table >= 0) {
                float *w = rs_params_w(&t->p, f->table);
                rs_nn_init_embedding(w, f->rows, f->emb, &g);
                if (f->type != RS_FEAT_TEXT) /* id 0: missing or unknown, a zero vector */
                    memset(w, 0, f->emb * sizeof *w);
            }
            if (f->proj_w >= 0)
                rs_nn_init_he(rs_params_w(&t->p, f->proj_w), f->pre_dims, f->emb, &g);
        }
        for (size_t l = 0; l < sd->nlayers; l++) {
            float *w = rs_params_w(&t->p, sd->w[l]);
            if (l + 1 < sd->nlayers)
                rs_nn_init_he(w, sd->dims[l], sd->dims[l + 1], &g);
            else
                rs_nn_init_glorot(w, sd->dims[l], sd->dims[l + 1], &g);
        }
    }
}

/* ---- forward / backward ---- */

void rs_tower_forward(const struct rs_tower *t, int side, const struct rs_enc *e, const uint32_t *rows, size_t B,
                      const uint8_t *drop, struct rs_arena *a, struct rs_tower_act *act)
{
    const struct rs_tower_side *sd = &t->side[side];
    act->B = B;
    act->ids = rs_arena_alloc(a, sd->nf * sizeof *act->ids);
    act->off = rs_arena_alloc(a, sd->nf * sizeof *act->off);
    act->out = rs_arena_alloc(a, sd->nf * sizeof *act->out);
    act->pre = rs_arena_alloc(a, sd->nf * sizeof *act->pre);
    act->alpha = rs_arena_alloc(a, sd->nf * sizeof *act->alpha);
    const float **parts = rs_arena_alloc(a, sd->nf * sizeof *parts);
    size_t *widths = rs_arena_alloc(a, sd->nf * sizeof *widths);
    for (size_t k = 0; k < sd->nf; k++) {
        const struct rs_feat *f = &sd->f[k];
        const struct rs_enc_feat *ef = &e->f[k];
        int beh = drop && rs_tower_behavioural(t, side, k);
        float *out = act->out[k] = rs_arena_floats(a, B * f->width);
        parts[k] = out;
        widths[k] = f->width;
        act->ids[k] = act->off[k] = NULL;
        act->pre[k] = act->alpha[k] = NULL;
        if (f->type == RS_FEAT_NUMERIC) {
            for (size_t b = 0; b < B; b++)
                out[b] = beh && drop[b] ? 0.0f : ef->val[rows[b]];
            continue;
        }
        size_t total = 0;
        for (size_t b = 0; b < B; b++)
            if (!(beh && drop[b]))
                total += ef->off[rows[b] + 1] - ef->off[rows[b]];
        uint32_t *off = act->off[k] = rs_arena_alloc(a, (B + 1) * sizeof *off);
        uint32_t *ids = act->ids[k] = rs_arena_alloc(a, (total ? total : 1) * sizeof *ids);
        off[0] = 0;
        for (size_t b = 0; b < B; b++) {
            uint32_t lo = ef->off[rows[b]], hi = ef->off[rows[b] + 1];
            if (beh && drop[b])
                hi = lo;
            memcpy(ids + off[b], ef->ids + lo, (hi - lo) * sizeof *ids);
            off[b + 1] = off[b] + (hi - lo);
        }
        if (f->type == RS_FEAT_PRETRAINED) {
            float *x = act->pre[k] = rs_arena_zeros(a, B * f->pre_dims);
            for (size_t b = 0; b < B; b++)
                if (off[b + 1] > off[b])
                    memcpy(x + b * f->pre_dims, f->pre.x + (size_t)ids[off[b]] * f->pre_dims,
                           f->pre_dims * sizeof *x);
            rs_dense_forward(out, x, rs_params_w(&t->p, f->proj_w), rs_params_w(&t->p, f->proj_b), B,
                             f->pre_dims, f->emb);
            rs_relu_forward(out, out, B * f->emb);
        } else if (f->attention) {
            act->alpha[k] = rs_arena_floats(a, total ? total : 1);
            rs_attn_pool_forward(out, act->alpha[k], rs_params_w(&t->p, f->table), ids, off,
                                 rs_params_w(&t->p, f->query), 0, B, f->emb);
        } else {
            rs_embedding_bag_forward(out, rs_params_w(&t->p, f->table), ids, off, NULL, B, f->emb, RS_POOL_MEAN);
        }
    }
    act->x = act->h[0] = rs_arena_floats(a, B * sd->din);
    rs_concat_forward(act->x, parts, widths, sd->nf, B);
    for (size_t l = 0; l < sd->nlayers; l++) {
        float *y = act->h[l + 1] = rs_arena_floats(a, B * sd->dims[l + 1]);
        rs_dense_forward(y, act->h[l], rs_params_w(&t->p, sd->w[l]), rs_params_w(&t->p, sd->b[l]), B,
                         sd->dims[l], sd->dims[l + 1]);
        if (l + 1 < sd->nlayers)
            rs_relu_forward(y, y, B * sd->dims[l + 1]);
    }
    act->z = rs_arena_floats(a, B * t->d);
    act->norm = rs_arena_floats(a, B);
    rs_l2norm_forward(act->z, act->norm, act->h[sd->nlayers], B, t->d);
}

/* The embedding bag backward of feature k (its output gradient in act->dout).
 * Attention pooling's backward is serial: every bag adds into the one query gradient. */
static void bag_backward(struct rs_tower *t, const struct rs_feat *f, const struct rs_tower_act *act, size_t k,
                         int threads)
{
    if (f->attention) {
        rs_attn_pool_backward(&t->p, f->table, rs_params_g(&t->p, f->query), act->dout[k], act->alpha[k],
                              rs_params_w(&t->p, f->table), act->ids[k], act->off[k],
                              rs_params_w(&t->p, f->query), 0, act->B, f->emb);
        return;
    }
    rs_embedding_bag_backward_mt(&t->p, f->table, act->ids[k], act->off[k], NULL, act->dout[k], act->B,
                                 RS_POOL_MEAN, threads);
}

void rs_tower_backward_shared(struct rs_tower *t, int side, const struct rs_tower_act *act, int threads)
{
    for (size_t k = 0; k < t->side[side].nf; k++)
        if (t->side[side].f[k].type == RS_FEAT_SEQUENCE)
            bag_backward(t, &t->side[side].f[k], act, k, threads);
}

void rs_tower_backward(struct rs_tower *t, int side, struct rs_tower_act *act, const float *dz,
                       struct rs_arena *a, int flags)
{
    const struct rs_tower_side *sd = &t->side[side];
    size_t B = act->B, L = sd->nlayers;
    float *dy = rs_arena_zeros(a, B * t->d);
    rs_l2norm_backward(dy, dz, act->z, act->norm, B, t->d);
    for (size_t l = L; l-- > 0;) {
        if (l + 1 < L) { /* through the ReLU after layer l */
            float *dpre = rs_arena_zeros(a, B * sd->dims[l + 1]);
            rs_relu_backward(dpre, dy, act->h[l + 1], B * sd->dims[l + 1]);
            dy = dpre;
        }
        float *dx = rs_arena_zeros(a, B * sd->dims[l]);
        rs_dense_backward(dx, rs_params_g(&t->p, sd->w[l]), rs_params_g(&t->p, sd->b[l]), dy, act->h[l],
                          rs_params_w(&t->p, sd->w[l]), B, sd->dims[l], sd->dims[l + 1]);
        dy = dx;
    }
    float **dparts = act->dout = rs_arena_alloc(a, sd->nf * sizeof *dparts);
    size_t *widths = rs_arena_alloc(a, sd->nf * sizeof *widths);
    for (size_t k = 0; k < sd->nf; k++) {
        widths[k] = sd->f[k].width;
        dparts[k] = sd->f[k].type == RS_FEAT_NUMERIC ? NULL : rs_arena_zeros(a, B * sd->f[k].width);
    }
    rs_concat_backward(dparts, dy, widths, sd->nf, B);
    for (size_t k = 0; k < sd->nf; k++) {
        const struct rs_feat *f = &sd->f[k];
        if (f->type == RS_FEAT_NUMERIC)
            continue;
        if (f->type == RS_FEAT_PRETRAINED) {
            float *dpre = rs_arena_zeros(a, B * f->emb);
            rs_relu_backward(dpre, dparts[k], act->out[k], B * f->emb);
            rs_dense_backward(NULL, rs_params_g(&t->p, f->proj_w), rs_params_g(&t->p, f->proj_b), dpre,
                              act->pre[k], rs_params_w(&t->p, f->proj_w), B, f->pre_dims, f->emb);
        } else if (f->type != RS_FEAT_SEQUENCE || !(flags & RS_TOWER_DEFER_SHARED)) {
            bag_backward(t, f, act, k, 1);
        }
    }
}

void rs_tower_embed(const struct rs_tower *t, int side, const struct rs_enc *e, struct rs_arena *a, float *out)
{
    enum { CHUNK = 1024 };
    uint32_t rows[CHUNK];
    for (size_t lo = 0; lo < e->n; lo += CHUNK) {
        size_t B = e->n - lo < CHUNK ? e->n - lo : CHUNK;
        for (size_t b = 0; b < B; b++)
            rows[b] = (uint32_t)(lo + b);
        struct rs_tower_act act;
        rs_arena_reset(a);
        rs_tower_forward(t, side, e, rows, B, NULL, a, &act);
        memcpy(out + lo * t->d, act.z, B * t->d * sizeof *out);
    }
}

/* ---- model file ---- */

static json_t *features_json(const struct rs_tower *t)
{
    json_t *o = json_object();
    for (int s = 0; s < 2; s++) {
        json_t *arr = json_array();
        for (size_t i = 0; i < t->side[s].nf; i++) {
            const struct rs_feat *f = &t->side[s].f[i];
            json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:b}", "name", f->name, "type", type_names[f->type],
                                  "width", (json_int_t)f->width, "rows", (json_int_t)f->rows, "behavioural",
                                  rs_tower_behavioural(t, s, i));
            json_object_set_new(j, "column", json_string(rs_tower_column(t, s, i)));
            if (f->vocab)
                json_object_set_new(j, "vocab_size", json_integer((json_int_t)rs_vocab_size(f->vocab)));
            if (f->type == RS_FEAT_NUMERIC) {
                json_object_set_new(j, "mean", json_real(f->mean));
                json_object_set_new(j, "std", json_real(f->std));
            }
            if (f->type == RS_FEAT_PRETRAINED)
                json_object_set_new(j, "pre_dims", json_integer((json_int_t)f->pre_dims));
            json_array_append_new(arr, j);
        }
        json_object_set_new(o, side_names[s], arr);
        json_object_set_new(o, s ? "item_id_col" : "user_id_col", json_string(t->side[s].id_col));
    }
    return o;
}

void rs_tower_to_rsm(struct rs_tower *t, struct rs_rsm *m)
{
    json_t *model = json_pack("{s:s, s:I}", "kind", "two-tower", "embedding_size", (json_int_t)t->d);
    rs_rsm_set_section(m, "model", model);
    json_decref(model);
    rs_rsm_set_section(m, "config", t->config);
    json_t *feats = features_json(t);
    rs_rsm_set_section(m, "features", feats);
    json_decref(feats);
    char nm[RS_PARAM_NAME_MAX + 16];
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < t->side[s].nf; i++) {
            struct rs_feat *f = &t->side[s].f[i];
            if (!f->vocab)
                continue;
            size_t V = rs_vocab_size(f->vocab), len = 0;
            free(f->vblob);
            free(f->vcounts);
            f->vcounts = xmalloc((V ? V : 1) * sizeof *f->vcounts);
            for (size_t id = 1; id <= V; id++) {
                size_t tl;
                rs_vocab_token(f->vocab, id, &tl);
                len += tl + 1;
            }
            f->vblob = xmalloc(len ? len : 1);
            f->vblob_len = len;
            len = 0;
            for (size_t id = 1; id <= V; id++) {
                size_t tl;
                const char *tok = rs_vocab_token(f->vocab, id, &tl);
                memcpy(f->vblob + len, tok, tl + 1);
                len += tl + 1;
                f->vcounts[id - 1] = rs_vocab_count(f->vocab, id);
            }
            snprintf(nm, sizeof nm, "%s.%s.vocab", side_names[s], f->name);
            rs_rsm_add_tensor(m, nm, RS_RSM_U8, 1, (uint64_t[]){ f->vblob_len }, f->vblob);
            snprintf(nm, sizeof nm, "%s.%s.counts", side_names[s], f->name);
            rs_rsm_add_tensor(m, nm, RS_RSM_U64, 1, (uint64_t[]){ V }, f->vcounts);
        }
    for (size_t i = 0; i < t->p.n; i++) {
        const struct rs_tensor *pt = &t->p.t[i];
        rs_rsm_add_tensor(m, pt->name, RS_RSM_F32, 2, (uint64_t[]){ pt->rows, pt->cols }, rs_params_w(&t->p, (int)i));
    }
}

/* Rebuilds a vocabulary from its token blob and counts (same counts, same ids). */
static int load_vocab(struct rs_feat *f, const struct rs_rsm *m, const char *side)
{
    char nm[RS_PARAM_NAME_MAX + 16];
    snprintf(nm, sizeof nm, "%s.%s.counts", side, f->name);
    const struct rs_rsm_tensor *ct = rs_rsm_tensor(m, nm);
    snprintf(nm, sizeof nm, "%s.%s.vocab", side, f->name);
    const struct rs_rsm_tensor *vt = rs_rsm_tensor(m, nm);
    if (!ct || !vt || ct->dtype != RS_RSM_U64 || vt->dtype != RS_RSM_U8)
        return rs_err_set(RS_ERR_FORMAT, "model lacks the vocabulary of feature '%s'", f->name);
    struct rs_vocab_counter *c = rs_vocab_counter_new(ct->shape[0] + 1);
    const char *p = vt->data, *end = p + vt->nbytes;
    const uint64_t *cnt = ct->data;
    for (uint64_t i = 0; i < ct->shape[0]; i++) {
        const char *z = memchr(p, '\0', (size_t)(end - p));
        if (!z || cnt[i] == 0) {
            rs_vocab_counter_free(c);
            return rs_err_set(RS_ERR_FORMAT, "model vocabulary of feature '%s' is malformed", f->name);
        }
        rs_vocab_counter_add(c, p, (size_t)(z - p), cnt[i]);
        p = z + 1;
    }
    f->vocab = rs_vocab_counter_finish(c, 1, 0);
    rs_vocab_counter_free(c);
    return 0;
}

static int restore_features(struct rs_tower *t, const struct rs_rsm *m)
{
    json_t *feats = rs_rsm_section(m, "features");
    for (int s = 0; s < 2; s++) {
        json_t *arr = json_object_get(feats, side_names[s]);
        if (json_array_size(arr) != t->side[s].nf)
            return rs_err_set(RS_ERR_FORMAT, "model's features section does not match its config");
        for (size_t i = 0; i < t->side[s].nf; i++) {
            struct rs_feat *f = &t->side[s].f[i];
            json_t *j = json_array_get(arr, i);
            f->rows = (size_t)json_integer_value(json_object_get(j, "rows"));
            f->mean = json_real_value(json_object_get(j, "mean"));
            f->std = json_object_get(j, "std") ? json_real_value(json_object_get(j, "std")) : 1;
            f->pre_dims = (size_t)json_integer_value(json_object_get(j, "pre_dims"));
            if ((f->type == RS_FEAT_TEXT && f->rows == 0) || (f->type == RS_FEAT_PRETRAINED && f->pre_dims == 0))
                return rs_err_set(RS_ERR_FORMAT, "model feature '%s' has no rows or dims", f->name);
            if (f->type == RS_FEAT_STRING || f->type == RS_FEAT_INT) {
                int rc = load_vocab(f, m, side_names[s]);
                if (rc < 0)
                    return rc;
                if (f->rows != rs_vocab_nids(f->vocab, f->buckets))
                    return rs_err_set(RS_ERR_FORMAT, "model vocabulary of feature '%s' has the wrong size", f->name);
            }
        }
    }
    return 0;
}

int rs_tower_from_rsm(struct rs_tower *t, const struct rs_rsm *m)
{
    json_t *model = rs_rsm_section(m, "model"), *feats = rs_rsm_section(m, "features");
    const char *kind = json_string_value(json_object_get(model, "kind"));
    if (!kind || strcmp(kind, "two-tower") != 0 || !feats)
        return rs_err_set(RS_ERR_FORMAT, "not a two-tower model (section model.kind)");
    int rc = rs_tower_parse(t, rs_rsm_section(m, "config"),
                            (size_t)json_integer_value(json_object_get(model, "embedding_size")), "model config");
    if (rc < 0)
        return rc;
    for (int s = 0; s < 2; s++) {
        const char *col = json_string_value(json_object_get(feats, s ? "item_id_col" : "user_id_col"));
        /* The id column names live as long as the model's header. */
        if (col)
            t->side[s].id_col = col;
    }
    if ((rc = restore_features(t, m)) < 0)
        return rc;
    declare(t);
    /* Every tensor must be in the file with its shape before anything is
     * allocated: a corrupt size would otherwise be a huge allocation. */
    for (size_t i = 0; i < t->p.n; i++) {
        const void *data;
        const struct rs_tensor *pt = &t->p.t[i];
        uint64_t count;
        if (__builtin_mul_overflow((uint64_t)pt->rows, (uint64_t)pt->cols, &count))
            return rs_err_set(RS_ERR_FORMAT, "model tensor '%s' is too large", pt->name);
        if ((rc = rs_rsm_get(m, pt->name, RS_RSM_F32, count, &data)) < 0)
            return rc;
    }
    rs_params_alloc(&t->p);
    for (size_t i = 0; i < t->p.n; i++) {
        const void *data;
        const struct rs_tensor *pt = &t->p.t[i];
        rs_rsm_get(m, pt->name, RS_RSM_F32, (uint64_t)pt->rows * pt->cols, &data);
        memcpy(rs_params_w(&t->p, (int)i), data, pt->rows * pt->cols * sizeof(float));
    }
    return 0;
}
