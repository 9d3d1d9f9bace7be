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
#include <limits.h>
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
static const char type_list[] = "string int text numeric pretrained sequence"; /* the config's "type" */
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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys every feature accepts, then those of each type (the order of
 * enum rs_feat_type). */
#define COMMON_KEYS "type embedding_size column behavioural"
static const char *type_keys[] = {
    "", "list oov_buckets min_count", "oov_buckets min_count", "buckets bigrams", "log1p",
    "path", "shares max_length pooling",
};

/* RS_PARAM_NAME_MAX less "user." and ".proj.w" and the NUL. */
#define MAX_FEAT_NAME (RS_PARAM_NAME_MAX - 13)
#define MAX_EMB 65536

/* A string member copied into *out (left NULL when absent). */
static int get_str(const struct rs_cfg *c, const char *key, char **out)
{
    const char *s;
    int rc = rs_cfg_str(c, key, NULL, &s);
    if (rc == 0 && s)
        *out = xstrdup(s);
    return rc;
}

/* The sizes and switches of feature f from its object c. */
static int feature_options(struct rs_feat *f, const struct rs_cfg *c)
{
    int text = f->type == RS_FEAT_TEXT, pooling;
    long long emb, buckets, minc, maxlen;
    int rc = rs_cfg_int(c, "embedding_size", f->type == RS_FEAT_NUMERIC ? 1 : DEFAULT_EMB, 1, MAX_EMB, &emb);
    rc = rc ? rc : rs_cfg_int(c, text ? "buckets" : "oov_buckets", text ? DEFAULT_TEXT_BUCKETS : 0, text,
                              LLONG_MAX, &buckets);
    rc = rc ? rc : rs_cfg_int(c, "min_count", 1, 1, LLONG_MAX, &minc);
    rc = rc ? rc : rs_cfg_int(c, "max_length", DEFAULT_MAX_LEN, 1, LLONG_MAX, &maxlen);
    rc = rc ? rc : rs_cfg_bool(c, "list", 0, &f->list);
    rc = rc ? rc : rs_cfg_bool(c, "bigrams", 1, &f->bigrams);
    rc = rc ? rc : rs_cfg_bool(c, "log1p", 0, &f->log1p);
    rc = rc ? rc : rs_cfg_bool(c, "behavioural", -1, &f->behavioural);
    rc = rc ? rc : rs_cfg_word(c, "pooling", "mean attention", 0, &pooling);
    rc = rc ? rc : get_str(c, "column", &f->column);
    rc = rc ? rc : get_str(c, "path", &f->path);
    rc = rc ? rc : get_str(c, "shares", &f->shares);
    if (rc < 0)
        return rc;
    f->emb = (size_t)emb;
    f->buckets = (uint64_t)buckets;
    f->min_count = (uint64_t)minc;
    f->max_len = (size_t)maxlen;
    f->attention = pooling == 1;
    return 0;
}

static int parse_feature(struct rs_feat *f, const char *feat, const struct rs_cfg *layers)
{
    memset(f, 0, sizeof *f);
    f->name = xstrdup(feat);
    f->table = f->proj_w = f->proj_b = f->query = f->col = -1;
    f->behavioural = -1;
    struct rs_cfg c;
    if (strlen(feat) > MAX_FEAT_NAME) /* parameter names "user.<feat>.proj.w" must stay distinct */
        return rs_cfg_fail(layers, NULL, "feature name '%.20s...' is longer than %d bytes", feat, MAX_FEAT_NAME);
    int rc = rs_cfg_object(layers, feat, 1, &c);
    rc = rc ? rc : rs_cfg_word(&c, "type", type_list, -1, &f->type);
    if (rc < 0)
        return rc;
    f->type++; /* type_list starts at RS_FEAT_STRING */
    char allowed[128];
    snprintf(allowed, sizeof allowed, COMMON_KEYS " %s", type_keys[f->type]);
    if ((rc = rs_cfg_keys(&c, allowed)) < 0 || (rc = feature_options(f, &c)) < 0)
        return rc;
    if (f->type == RS_FEAT_PRETRAINED && !f->path)
        return rs_cfg_fail(&c, "path", "missing: a pretrained feature needs an RSB file");
    f->width = f->type == RS_FEAT_NUMERIC ? 1 : f->emb;
    f->std = 1;
    if (!f->column && f->type != RS_FEAT_PRETRAINED)
        f->column = xstrdup(feat);
    return 0;
}

static int parse_layers(struct rs_tower *t, const struct rs_cfg *root, size_t d)
{
    struct rs_cfg hl, e;
    int rc = rs_cfg_array(root, "hidden_layers", 0, &hl);
    size_t nh = hl.v ? json_array_size(hl.v) : 1;
    if (rc == 0 && nh + 1 > RS_TOWER_MAX_LAYERS)
        rc = rs_cfg_fail(root, "hidden_layers", "at most %d sizes, got %zu", RS_TOWER_MAX_LAYERS - 1, nh);
    for (int s = 0; s < 2 && rc == 0; s++) {
        struct rs_tower_side *sd = &t->side[s];
        sd->nlayers = nh + 1;
        for (size_t l = 0; l < nh && rc == 0; l++) {
            long long size;
            rs_cfg_elem(&e, &hl, l);
            if ((rc = rs_cfg_int(&e, NULL, (long long)(2 * d), 1, LLONG_MAX, &size)) == 0) /* too large: OOM */
                sd->dims[l + 1] = (size_t)size;
        }
        sd->dims[nh + 1] = d;
    }
    return rc;
}

/* The item feature a sequence feature shares its table with. */
static int resolve_shares(struct rs_tower *t, const struct rs_cfg *root)
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
            struct rs_cfg layers;
            rs_cfg_member(&layers, root, layer_keys[s]);
            if (!f->src || (f->src->type != RS_FEAT_STRING && f->src->type != RS_FEAT_INT) || f->src->list)
                return rs_cfg_fail(&layers, f->name, "a sequence feature needs an item feature of type string or "
                                   "int to share (\"shares\": NAME, default: the item id feature)");
            f->emb = f->width = f->src->emb;
        }
    return 0;
}

/* The features of one side, in name order (a fixed concat order, whatever
 * the JSON order). */
static int parse_side(struct rs_tower_side *sd, const struct rs_cfg *root, const char *key)
{
    struct rs_cfg layers;
    int rc = rs_cfg_object(root, key, 1, &layers);
    if (rc < 0)
        return rc;
    size_t n = json_object_size(layers.v), i = 0;
    if (n == 0)
        return rs_cfg_fail(root, key, "expected at least one feature, got {}");
    const char **names = xmalloc(n * sizeof *names), *name;
    json_t *v;
    json_object_foreach((json_t *)layers.v, name, v)
        names[i++] = name;
    qsort(names, n, sizeof *names, cmp_str);
    sd->f = xcalloc(n, sizeof *sd->f);
    for (i = 0; i < n && rc == 0; i++, sd->nf++)
        rc = parse_feature(&sd->f[i], names[i], &layers);
    free(names);
    return rc;
}

int rs_tower_parse(struct rs_tower *t, const json_t *config, size_t d, const char *name)
{
    memset(t, 0, sizeof *t);
    rs_params_init(&t->p);
    t->side[0].id_col = "user_id";
    t->side[1].id_col = "item_id";
    struct rs_cfg root;
    long long cd;
    rs_cfg_root(&root, config, name);
    int rc = rs_cfg_object(&root, NULL, 1, &root);
    rc = rc ? rc : rs_cfg_keys(&root, "user_embedding_layers item_embedding_layers embedding_size hidden_layers "
                                      "description");
    rc = rc ? rc : rs_cfg_int(&root, "embedding_size", DEFAULT_D, 1, MAX_EMB, &cd);
    if (rc < 0)
        return rc;
    t->d = d ? d : (size_t)cd;
    t->config = json_deep_copy(config);
    for (int s = 0; s < 2 && rc == 0; s++)
        rc = parse_side(&t->side[s], &root, layer_keys[s]);
    if (rc < 0 || (rc = parse_layers(t, &root, t->d)) < 0)
        return rc;
    return resolve_shares(t, &root);
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
