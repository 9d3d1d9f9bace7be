/* rank.c - the wide & deep two-head ranking model of rs-rank (see rank.h
 * for the formulas): config, parameters, forward/backward on lib/nn/nn, RSM
 * persistence. Rows are encoded in rank_encode.c, trained in rank_train.c. */
#include "model/rank.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "io/config.h"
#include "core/err.h"
#include "io/rsm.h"
#include "core/strmap.h"
#include "nn/tensor.h"

/* ---------------------------------------------------------------------------
 * Config
 */

#define MAX_EMB 1024
#define MAX_HIDDEN_SIZE 4096
#define NUMERIC_KEYS "name log1p buckets embedding_size"
#define CATEGORICAL_KEYS "name embedding_size min_count"

static int cat_index(const struct rs_rank_model *m, const char *n)
{
    for (size_t i = 0; n && i < m->ncat; i++)
        if (strcmp(m->cat[i].name, n) == 0)
            return (int)i;
    return -1;
}

/* A required name (feature or column) without the bytes that separate the
 * fields of the model's keys and hashes. */
static int get_name(const struct rs_cfg *c, const char *key, const char **out)
{
    int rc = rs_cfg_str(c, key, NULL, out);
    if (rc < 0 || !*out || strpbrk(*out, "=\x1f\t\n&"))
        rc = rs_cfg_expected(c, key, "a name (no tab, newline, '=' or '&')");
    return rc;
}

/* A feature entry: "name", or an object with "name" and keys among allowed. */
static int entry_name(const struct rs_cfg *e, const char *allowed, const char **name)
{
    if (json_is_string(e->v))
        return get_name(e, NULL, name);
    if (!json_is_object(e->v))
        return rs_cfg_expected(e, NULL, "a name or an object with \"name\"");
    int rc = rs_cfg_keys(e, allowed);
    return rc ? rc : get_name(e, "name", name);
}

/* Bins of a bucketised numeric: 0 (none) or 2..RS_RANK_MAX_NUM_BUCKETS. */
static int get_buckets(const struct rs_cfg *c, const char *key, long long def, long long *out)
{
    char want[64];
    int rc = rs_cfg_int(c, key, def, 0, RS_RANK_MAX_NUM_BUCKETS, out);
    if (rc < 0 || *out == 1) {
        snprintf(want, sizeof want, "0 (none) or an integer in 2..%d", RS_RANK_MAX_NUM_BUCKETS);
        rc = rs_cfg_expected(c, key, want);
    }
    return rc;
}

/* A numeric entry: "name" or {"name", "log1p", "buckets", "embedding_size"};
 * appended to out with its defaults filled in. */
static int parse_numeric(struct rs_rank_model *m, struct rs_rank_numeric *f, const struct rs_cfg *e, json_t *out,
                         long long emb, long long buckets)
{
    const char *n;
    long long nb, d;
    int rc = entry_name(e, NUMERIC_KEYS, &n);
    rc = rc ? rc : rs_cfg_bool(e, "log1p", 0, &f->log1p);
    rc = rc ? rc : get_buckets(e, "buckets", buckets, &nb);
    rc = rc ? rc : rs_cfg_int(e, "embedding_size", emb, 1, MAX_EMB, &d);
    if (rc < 0)
        return rc;
    f->name = xstrdup(n);
    f->std = 1;
    f->buckets = (uint32_t)nb;
    f->dim = nb ? (size_t)d : 0;
    f->slot = nb ? (int)m->nbin++ : -1;
    f->t_emb = -1;
    json_t *o = json_pack("{s:s, s:b, s:I}", "name", n, "log1p", f->log1p, "buckets", (json_int_t)nb);
    if (nb)
        json_object_set_new(o, "embedding_size", json_integer(d));
    json_array_append_new(out, o);
    return 0;
}

/* A categorical entry: "name" or {"name", "embedding_size", "min_count"}. */
static int parse_categorical(struct rs_rank_model *m, size_t i, const struct rs_cfg *e, json_t *out, long long emb)
{
    const char *n;
    long long d, mc;
    int rc = entry_name(e, CATEGORICAL_KEYS, &n);
    rc = rc ? rc : rs_cfg_int(e, "embedding_size", emb, 1, MAX_EMB, &d);
    rc = rc ? rc : rs_cfg_int(e, "min_count", 1, 1, UINT32_MAX, &mc);
    if (rc == 0 && cat_index(m, n) >= 0)
        rc = rs_cfg_fail(e, NULL, "categorical '%s' given twice", n);
    if (rc < 0)
        return rc;
    m->cat[i].name = xstrdup(n);
    m->cat[i].dim = (size_t)d;
    m->cat[i].min_count = (uint32_t)mc;
    m->d_in += (size_t)d;
    json_array_append_new(out, json_pack("{s:s, s:I, s:I}", "name", n, "embedding_size", (json_int_t)d,
                                         "min_count", (json_int_t)mc));
    return 0;
}

/* A cross: an array of 2 or 3 column names; its name joins them with '&'. */
static int parse_cross(struct rs_rank_cross *x, const struct rs_cfg *e, json_t *out)
{
    size_t k = json_array_size(e->v), len = 0;
    if (!json_is_array(e->v) || k < 2 || k > RS_RANK_MAX_CROSS_COLS)
        return rs_cfg_expected(e, NULL, "an array of 2 or 3 column names");
    json_t *ox = json_array();
    json_array_append_new(out, ox); /* owned by m->config at once: an error below leaks nothing */
    for (size_t j = 0; j < k; j++) {
        struct rs_cfg col;
        const char *c;
        rs_cfg_elem(&col, e, j);
        int rc = get_name(&col, NULL, &c);
        if (rc < 0)
            return rc;
        x->cols[x->ncols++] = xstrdup(c);
        len += strlen(c) + 1;
        json_array_append_new(ox, json_string(c));
    }
    x->name = xmalloc(len);
    x->name[0] = 0;
    for (size_t j = 0; j < k; j++) {
        if (j)
            strcat(x->name, "&");
        strcat(x->name, x->cols[j]);
    }
    return 0;
}

/* "interactions": [["a", "b"], ...]: pairs of categoricals of one size. */
static int parse_interactions(struct rs_rank_model *m, const struct rs_cfg *root)
{
    struct rs_cfg in, e, side[2];
    int rc = rs_cfg_array(root, "interactions", 0, &in);
    if (rc < 0)
        return rc;
    json_t *out = json_array();
    json_object_set_new(m->config, "interactions", out);
    m->ninter = json_array_size(in.v);
    m->inter = xcalloc(m->ninter + 1, sizeof *m->inter);
    for (size_t i = 0; i < m->ninter; i++) {
        rs_cfg_elem(&e, &in, i);
        if (json_array_size(e.v) != 2 || !json_is_array(e.v))
            return rs_cfg_expected(&e, NULL, "a pair of categorical feature names");
        for (int j = 0; j < 2; j++) {
            const char *n;
            rs_cfg_elem(&side[j], &e, (size_t)j);
            if ((rc = get_name(&side[j], NULL, &n)) < 0)
                return rc;
            if ((m->inter[i][j] = cat_index(m, n)) < 0)
                return rs_cfg_fail(&side[j], NULL, "'%s' is not a categorical feature", n);
        }
        const struct rs_rank_categorical *a = &m->cat[m->inter[i][0]], *b = &m->cat[m->inter[i][1]];
        if (a->dim != b->dim)
            return rs_cfg_fail(&e, NULL, "an interaction is a pair of categorical features with the same "
                               "embedding_size, got %zu and %zu", a->dim, b->dim);
        json_array_append_new(out, json_pack("[s, s]", a->name, b->name));
    }
    m->d_in += m->ninter;
    return 0;
}

/* "hidden": the MLP's layer sizes (default [64, 32]). */
static int parse_hidden(struct rs_rank_model *m, const struct rs_cfg *root)
{
    struct rs_cfg hid, h;
    int rc = rs_cfg_array(root, "hidden", 0, &hid);
    if (rc < 0)
        return rc;
    if (!hid.v) {
        m->nhidden = 2, m->hidden[0] = 64, m->hidden[1] = 32;
    } else if ((m->nhidden = json_array_size(hid.v)) > RS_RANK_MAX_HIDDEN) {
        return rs_cfg_fail(&hid, NULL, "at most %d hidden layers, got %zu", RS_RANK_MAX_HIDDEN, m->nhidden);
    }
    for (size_t i = 0; hid.v && i < m->nhidden && rc == 0; i++) {
        long long size;
        rs_cfg_elem(&h, &hid, i);
        if ((rc = rs_cfg_int(&h, NULL, 0, 1, MAX_HIDDEN_SIZE, &size)) == 0)
            m->hidden[i] = (size_t)size;
    }
    json_t *ohid = json_array();
    json_object_set_new(m->config, "hidden", ohid);
    for (size_t i = 0; i < m->nhidden && rc == 0; i++)
        json_array_append_new(ohid, json_integer((json_int_t)m->hidden[i]));
    return rc;
}

/* The lists of features and crosses, appended to m->config as parsed. */
static int parse_features(struct rs_rank_model *m, const struct rs_cfg *root, long long emb, long long nbuckets)
{
    struct rs_cfg num, cat, crs, e;
    int rc = rs_cfg_array(root, "numeric", 0, &num);
    rc = rc ? rc : rs_cfg_array(root, "categorical", 0, &cat);
    rc = rc ? rc : rs_cfg_array(root, "crosses", 0, &crs);
    if (rc == 0 && json_array_size(num.v) + json_array_size(cat.v) == 0)
        rc = rs_cfg_fail(root, NULL, "no features: give \"numeric\" or \"categorical\"");
    if (rc < 0)
        return rc;
    json_t *onum = json_array(), *ocat = json_array(), *ocrs = json_array();
    json_object_set_new(m->config, "numeric", onum);
    json_object_set_new(m->config, "categorical", ocat);
    json_object_set_new(m->config, "crosses", ocrs);
    size_t nnum = json_array_size(num.v), ncat = json_array_size(cat.v), ncross = json_array_size(crs.v);
    m->num = xcalloc(nnum + 1, sizeof *m->num);
    m->cat = xcalloc(ncat + 1, sizeof *m->cat);
    m->cross = xcalloc(ncross + 1, sizeof *m->cross);
    for (; m->nnum < nnum && rc == 0; m->nnum++) {
        rs_cfg_elem(&e, &num, m->nnum);
        rc = parse_numeric(m, &m->num[m->nnum], &e, onum, emb, nbuckets);
    }
    for (; m->ncat < ncat && rc == 0; m->ncat++) {
        rs_cfg_elem(&e, &cat, m->ncat);
        rc = parse_categorical(m, m->ncat, &e, ocat, emb);
    }
    for (; m->ncross < ncross && rc == 0; m->ncross++) {
        rs_cfg_elem(&e, &crs, m->ncross);
        rc = parse_cross(&m->cross[m->ncross], &e, ocrs);
    }
    for (size_t i = 0; i < m->nnum; i++)
        m->d_in += m->num[i].slot >= 0 ? m->num[i].dim : 0;
    m->d_in += m->nnum;
    return rc;
}

int rs_rank_config(struct rs_rank_model *m, json_t *cfg, const char *name)
{
    memset(m, 0, sizeof *m);
    struct rs_cfg root;
    long long emb, buckets, nbuckets;
    rs_cfg_root(&root, cfg, name);
    int rc = rs_cfg_object(&root, NULL, 1, &root);
    rc = rc ? rc : rs_cfg_keys(&root, "numeric categorical crosses cross_buckets embedding_size hidden "
                                      "interactions numeric_buckets objective");
    rc = rc ? rc : rs_cfg_word(&root, "objective", "pointwise softmax", RS_RANK_POINTWISE, &m->objective);
    rc = rc ? rc : rs_cfg_int(&root, "embedding_size", RS_RANK_DEFAULT_EMB, 1, MAX_EMB, &emb);
    rc = rc ? rc : rs_cfg_int(&root, "cross_buckets", RS_RANK_DEFAULT_BUCKETS, 1, 1LL << 30, &buckets);
    rc = rc ? rc : get_buckets(&root, "numeric_buckets", 0, &nbuckets);
    if (rc < 0)
        return rc;
    m->buckets = (uint64_t)buckets;
    m->config = json_object();
    json_object_set_new(m->config, "cross_buckets", json_integer(buckets));
    json_object_set_new(m->config, "embedding_size", json_integer(emb));
    json_object_set_new(m->config, "numeric_buckets", json_integer(nbuckets));
    json_object_set_new(m->config, "objective", json_string(m->objective == RS_RANK_SOFTMAX ? "softmax" : "pointwise"));
    rc = parse_features(m, &root, emb, nbuckets);
    rc = rc ? rc : parse_interactions(m, &root);
    return rc ? rc : parse_hidden(m, &root);
}

/* ---------------------------------------------------------------------------
 * Model
 */

/* Table and width of embedded input f: categorical f when f < ncat, else the
 * bins of the bucketised numeric in slot f - ncat. */
int rs_rank_emb_table(const struct rs_rank_model *m, size_t f, size_t *dim)
{
    if (f < m->ncat) {
        *dim = m->cat[f].dim;
        return m->cat[f].t_emb;
    }
    for (size_t k = 0; k < m->nnum; k++)
        if (m->num[k].slot == (int)(f - m->ncat)) {
            *dim = m->num[k].dim;
            return m->num[k].t_emb;
        }
    RS_ASSERT(!"embedded input out of range");
    return -1;
}

/* Declares the parameters (shapes only; rs_params_alloc allocates). */
static void declare_params(struct rs_rank_model *m)
{
    struct rs_params *p = &m->p;
    char nm[RS_PARAM_NAME_MAX];
    rs_params_init(p);
    for (size_t i = 0; i < m->ncat; i++) {
        RS_ASSERT(m->cat[i].vocab);
        snprintf(nm, sizeof nm, "cat%zu.emb", i);
        m->cat[i].t_emb = rs_params_add(p, nm, rs_strmap_size(m->cat[i].vocab) + 1, m->cat[i].dim,
                                        RS_PARAM_SPARSE);
    }
    for (size_t i = 0; i < m->nnum; i++)
        if (m->num[i].slot >= 0) {
            snprintf(nm, sizeof nm, "num%zu.emb", i);
            m->num[i].t_emb = rs_params_add(p, nm, m->num[i].nedges + 2, m->num[i].dim, RS_PARAM_SPARSE);
        }
    m->t_wide = rs_params_add(p, "wide.w", m->buckets, 2, RS_PARAM_SPARSE);
    m->t_wide_b = rs_params_add(p, "wide.b", 1, 2, RS_PARAM_DENSE);
    size_t d = m->d_in;
    for (size_t l = 0; l <= m->nhidden; l++) {
        size_t o = l < m->nhidden ? m->hidden[l] : 2;
        snprintf(nm, sizeof nm, "mlp%zu.w", l);
        m->t_w[l] = rs_params_add(p, nm, d, o, RS_PARAM_DENSE);
        snprintf(nm, sizeof nm, "mlp%zu.b", l);
        m->t_b[l] = rs_params_add(p, nm, 1, o, RS_PARAM_DENSE);
        d = o;
    }
}

void rs_rank_model_build(struct rs_rank_model *m)
{
    declare_params(m);
    rs_params_alloc(&m->p);
}

static float logit_of(double r)
{
    r = r < 1e-6 ? 1e-6 : r > 1 - 1e-6 ? 1 - 1e-6 : r;
    return (float)log(r / (1 - r));
}

void rs_rank_model_init(struct rs_rank_model *m, uint64_t seed, double base_click,
                        double base_booking)
{
    struct rs_params *p = &m->p;
    struct rs_rng g;
    rs_rng_init(&g, seed, 0x72616e6b); /* "rank" */
    memset(p->w, 0, p->size * sizeof(float));
    for (size_t i = 0; i < m->ncat + m->nbin; i++) {
        size_t dim;
        int ti = rs_rank_emb_table(m, i, &dim);
        float *e = rs_params_w(p, ti);
        rs_nn_init_normal(e, p->t[ti].rows * dim, RS_RANK_EMB_INIT_NORM / sqrtf((float)dim), &g);
        memset(e, 0, dim * sizeof *e); /* unknown or missing values start as "no information" */
    }
    for (size_t l = 0; l <= m->nhidden; l++) {
        const struct rs_tensor *t = &p->t[m->t_w[l]];
        if (l < m->nhidden)
            rs_nn_init_he(rs_params_w(p, m->t_w[l]), t->rows, t->cols, &g);
        else
            rs_nn_init_glorot(rs_params_w(p, m->t_w[l]), t->rows, t->cols, &g);
    }
    float *bo = rs_params_w(p, m->t_b[m->nhidden]);
    bo[0] = logit_of(base_click);
    bo[1] = logit_of(base_booking);
}

void rs_rank_model_free(struct rs_rank_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nnum; i++)
        free(m->num[i].name), free(m->num[i].edges);
    for (size_t i = 0; i < m->ncat; i++) {
        free(m->cat[i].name);
        rs_strmap_free(m->cat[i].vocab);
    }
    for (size_t i = 0; i < m->ncross; i++) {
        free(m->cross[i].name);
        for (int j = 0; j < m->cross[i].ncols; j++)
            free(m->cross[i].cols[j]);
    }
    free(m->num), free(m->cat), free(m->cross), free(m->inter), free(m->w_booking);
    json_decref(m->config);
    rs_params_free(&m->p);
    memset(m, 0, sizeof *m);
}

uint32_t rs_rank_cross_hash(const struct rs_rank_cross *x, const char *const *vals,
                            const size_t *lens, uint64_t buckets)
{
    char small[256] = {0}, *key = small;
    size_t n = 0;
    for (int j = 0; j < x->ncols; j++)
        n += strlen(x->cols[j]) + lens[j] + 2;
    if (n > sizeof small)
        key = xmalloc(n);
    n = 0;
    for (int j = 0; j < x->ncols; j++) {
        size_t c = strlen(x->cols[j]);
        if (j)
            key[n++] = '\x1f';
        memcpy(key + n, x->cols[j], c);
        n += c;
        key[n++] = '=';
        memcpy(key + n, vals[j], lens[j]);
        n += lens[j];
    }
    uint64_t h = XXH3_64bits(key, n);
    if (key != small)
        free(key);
    return (uint32_t)(h % buckets);
}

float rs_rank_numeric_value(const struct rs_rank_numeric *f, double x)
{
    if (isnan(x))
        return 0;
    if (f->log1p)
        x = log1p(x > 0 ? x : 0);
    return (float)((x - f->mean) / f->std);
}

float rs_rank_numeric_raw(const struct rs_rank_numeric *f, double x)
{
    return (float)(f->log1p && !isnan(x) ? log1p(x > 0 ? x : 0) : x);
}

static int by_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void rs_rank_numeric_fit_edges(struct rs_rank_numeric *f, float *fx, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(fx[i]))
            fx[k++] = fx[i];
    qsort(fx, k, sizeof *fx, by_float);
    double target = (double)k / f->buckets, fill = 0;
    free(f->edges);
    f->edges = xmalloc((2 * (size_t)f->buckets + 1) * sizeof *f->edges);
    f->nedges = 0;
    /* The last distinct value never closes a bin: values above it join the
     * top bin, which then holds training rows. */
    for (size_t i = 0, j; i < k; i = j) {
        for (j = i + 1; j < k && fx[j] == fx[i];)
            j++;
        if ((double)(j - i) >= target && fill > 0) /* a spike: close the bin before it */
            f->edges[f->nedges++] = fx[i - 1], fill = 0;
        fill += (double)(j - i);
        if (fill >= target && j < k)
            f->edges[f->nedges++] = fx[i], fill = 0;
    }
}

uint32_t rs_rank_numeric_bin(const struct rs_rank_numeric *f, float fx)
{
    if (isnan(fx))
        return 0;
    size_t lo = 0, hi = f->nedges; /* first edge >= fx */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->edges[mid] < fx)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (uint32_t)lo + 1;
}

/* ---------------------------------------------------------------------------
 * Persistence: sections "model" and "features", tensors "cat<i>.vocab" (u8,
 * NUL-separated values in id order), "num<i>.edges" (f32) and the weights by
 * parameter name; the booking head's own weights, when it has them, again
 * under BOOKING_PREFIX + name.
 */

#define BOOKING_PREFIX "booking/"

static json_t *features_json(const struct rs_rank_model *m)
{
    json_t *num = json_array(), *cat = json_array();
    for (size_t i = 0; i < m->nnum; i++) {
        json_t *e = json_pack("{s:s, s:b, s:f, s:f}", "name", m->num[i].name, "log1p", m->num[i].log1p,
                              "mean", (double)m->num[i].mean, "std", (double)m->num[i].std);
        if (m->num[i].slot >= 0)
            json_object_set_new(e, "edges", json_integer((json_int_t)m->num[i].nedges));
        json_array_append_new(num, e);
    }
    for (size_t i = 0; i < m->ncat; i++)
        json_array_append_new(cat, json_pack("{s:s, s:I}", "name", m->cat[i].name, "vocab",
                                             (json_int_t)rs_strmap_size(m->cat[i].vocab)));
    return json_pack("{s:o, s:o}", "numeric", num, "categorical", cat);
}

int rs_rank_model_save(const struct rs_rank_model *m, const char *path, json_t *train_info)
{
    struct rs_rsm *r = rs_rsm_new();
    json_t *model = json_pack("{s:s, s:s}", "kind", "rank", "tool", "rs-rank");
    json_t *feat = features_json(m);
    rs_rsm_set_section(r, "model", model);
    rs_rsm_set_section(r, "config", m->config);
    rs_rsm_set_section(r, "features", feat);
    if (train_info)
        rs_rsm_set_section(r, "train", train_info);
    json_decref(model), json_decref(feat);
    char **blobs = xcalloc(m->ncat + 1, sizeof *blobs);
    int rc = 0;
    for (size_t i = 0; i < m->ncat && rc == 0; i++) {
        const struct rs_strmap *v = m->cat[i].vocab;
        size_t n = rs_strmap_size(v), total = 0, len;
        for (size_t k = 0; k < n; k++)
            total += (rs_strmap_key(v, (int64_t)k, &len), len + 1);
        blobs[i] = xmalloc(total + 1);
        char *q = blobs[i];
        for (size_t k = 0; k < n; k++) {
            const char *s = rs_strmap_key(v, (int64_t)k, &len);
            memcpy(q, s, len + 1);
            q += len + 1;
        }
        char nm[64];
        snprintf(nm, sizeof nm, "cat%zu.vocab", i);
        uint64_t shape = total ? total : 1;
        if (!total)
            blobs[i][0] = 0;
        rc = rs_rsm_add_tensor(r, nm, RS_RSM_U8, 1, &shape, blobs[i]);
    }
    for (size_t i = 0; i < m->nnum && rc == 0; i++) {
        char nm[64];
        uint64_t shape = m->num[i].nedges;
        snprintf(nm, sizeof nm, "num%zu.edges", i);
        if (shape)
            rc = rs_rsm_add_tensor(r, nm, RS_RSM_F32, 1, &shape, m->num[i].edges);
    }
    for (size_t i = 0; i < m->p.n && rc == 0; i++) {
        const struct rs_tensor *t = &m->p.t[i];
        uint64_t shape[2] = {t->rows, t->cols};
        char nm[RS_PARAM_NAME_MAX + 16];
        rc = rs_rsm_add_tensor(r, t->name, RS_RSM_F32, 2, shape, rs_params_w(&m->p, (int)i));
        snprintf(nm, sizeof nm, BOOKING_PREFIX "%s", t->name);
        if (rc == 0 && m->w_booking)
            rc = rs_rsm_add_tensor(r, nm, RS_RSM_F32, 2, shape, m->w_booking + t->off);
    }
    if (rc == 0)
        rc = rs_rsm_save(r, path);
    for (size_t i = 0; i < m->ncat; i++)
        free(blobs[i]);
    free(blobs);
    rs_rsm_free(r);
    return rc;
}

/* The statistics and bin edges of numeric i from its "features" entry e. */
static int load_numeric(struct rs_rank_numeric *f, json_t *e, const struct rs_rsm *r, size_t i,
                        const char *path)
{
    f->mean = (float)json_number_value(json_object_get(e, "mean"));
    f->std = (float)json_number_value(json_object_get(e, "std"));
    if (!(f->std > 0))
        return rs_err_set(RS_ERR_FORMAT, "'%s': numeric '%s' has std <= 0", path, f->name);
    if (f->slot < 0)
        return 0;
    json_t *ne = json_object_get(e, "edges");
    json_int_t n = json_integer_value(ne);
    if (!json_is_integer(ne) || n < 0 || n > 2 * (json_int_t)f->buckets)
        return rs_err_set(RS_ERR_FORMAT, "'%s': numeric '%s': bad edge count", path, f->name);
    f->nedges = (size_t)n;
    f->edges = xmalloc(((size_t)n + 1) * sizeof *f->edges);
    if (n == 0)
        return 0;
    char nm[64];
    const void *data;
    snprintf(nm, sizeof nm, "num%zu.edges", i);
    int rc = rs_rsm_get(r, nm, RS_RSM_F32, (uint64_t)n, &data);
    if (rc < 0)
        return rc;
    memcpy(f->edges, data, (size_t)n * sizeof *f->edges);
    for (size_t k = 0; k < f->nedges; k++)
        if (!isfinite(f->edges[k]) || (k && !(f->edges[k] > f->edges[k - 1])))
            return rs_err_set(RS_ERR_FORMAT, "'%s': tensor '%s' is not ascending", path, nm);
    return 0;
}

static int load_vocab(struct rs_rank_categorical *c, const struct rs_rsm *r, size_t i, size_t n,
                      const char *path)
{
    char nm[64];
    snprintf(nm, sizeof nm, "cat%zu.vocab", i);
    const struct rs_rsm_tensor *t = rs_rsm_tensor(r, nm);
    if (!t || t->dtype != RS_RSM_U8)
        return rs_err_set(RS_ERR_FORMAT, "'%s': missing tensor '%s'", path, nm);
    if (n > t->nbytes) /* each value takes at least its NUL: never size a map past the file */
        return rs_err_set(RS_ERR_FORMAT, "'%s': tensor '%s' holds fewer than %zu values", path, nm, n);
    c->vocab = rs_strmap_new(n);
    const char *s = t->data, *end = s + t->nbytes;
    for (size_t k = 0; k < n; k++) {
        const char *z = memchr(s, 0, (size_t)(end - s));
        if (!z)
            return rs_err_set(RS_ERR_FORMAT, "'%s': tensor '%s' holds fewer than %zu values", path, nm, n);
        rs_strmap_put(c->vocab, s, (size_t)(z - s), NULL);
        s = z + 1;
    }
    if (rs_strmap_size(c->vocab) != n)
        return rs_err_set(RS_ERR_FORMAT, "'%s': tensor '%s' has duplicate values", path, nm);
    return 0;
}

/* Checks that r holds every parameter tensor, named prefix + its name, with
 * its shape: before anything is allocated, as a corrupt size would otherwise
 * be a huge allocation. */
static int check_weights(const struct rs_rank_model *m, const struct rs_rsm *r, const char *prefix,
                         const char *path)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < m->p.n; i++) {
        const struct rs_tensor *t = &m->p.t[i];
        char nm[RS_PARAM_NAME_MAX + 16];
        const void *data;
        uint64_t count;
        snprintf(nm, sizeof nm, "%s%s", prefix, t->name);
        if (__builtin_mul_overflow((uint64_t)t->rows, (uint64_t)t->cols, &count))
            rc = rs_err_set(RS_ERR_FORMAT, "'%s': tensor '%s' is too large", path, nm);
        else
            rc = rs_rsm_get(r, nm, RS_RSM_F32, count, &data);
    }
    return rc;
}

/* Copies the tensors checked by check_weights into w (p's layout). */
static void copy_weights(const struct rs_rank_model *m, const struct rs_rsm *r, const char *prefix, float *w)
{
    for (size_t i = 0; i < m->p.n; i++) {
        const struct rs_tensor *t = &m->p.t[i];
        char nm[RS_PARAM_NAME_MAX + 16];
        const void *data;
        snprintf(nm, sizeof nm, "%s%s", prefix, t->name);
        rs_rsm_get(r, nm, RS_RSM_F32, t->rows * t->cols, &data);
        memcpy(w + t->off, data, t->rows * t->cols * sizeof(float));
    }
}

int rs_rank_model_load(struct rs_rank_model *m, const char *path)
{
    struct rs_rsm *r;
    int rc = rs_rsm_load(&r, path);
    if (rc < 0)
        return rc;
    json_t *model = rs_rsm_section(r, "model"), *feat = rs_rsm_section(r, "features");
    const char *kind = json_string_value(json_object_get(model, "kind"));
    if (!kind || strcmp(kind, "rank") != 0 || !feat) {
        rc = rs_err_set(RS_ERR_FORMAT, "'%s' is not an rs-rank model (model kind '%s')", path,
                        kind ? kind : "none"); /* kind lives in r: format before freeing */
        rs_rsm_free(r);
        return rc;
    }
    rc = rs_rank_config(m, rs_rsm_section(r, "config"), path);
    json_t *num = json_object_get(feat, "numeric"), *cat = json_object_get(feat, "categorical");
    if (rc == 0 && (json_array_size(num) != m->nnum || json_array_size(cat) != m->ncat))
        rc = rs_err_set(RS_ERR_FORMAT, "'%s': features section does not match the config", path);
    for (size_t i = 0; rc == 0 && i < m->nnum; i++)
        rc = load_numeric(&m->num[i], json_array_get(num, i), r, i, path);
    for (size_t i = 0; rc == 0 && i < m->ncat; i++) {
        json_int_t n = json_integer_value(json_object_get(json_array_get(cat, i), "vocab"));
        rc = load_vocab(&m->cat[i], r, i, (size_t)n, path);
    }
    int two = 0; /* the booking head has weights of its own */
    if (rc == 0) {
        declare_params(m);
        rc = check_weights(m, r, "", path);
        two = rs_rsm_tensor(r, BOOKING_PREFIX "wide.b") != NULL;
        if (rc == 0 && two)
            rc = check_weights(m, r, BOOKING_PREFIX, path);
    }
    if (rc == 0) {
        rs_params_alloc(&m->p);
        copy_weights(m, r, "", m->p.w);
        if (two)
            copy_weights(m, r, BOOKING_PREFIX, m->w_booking = xcalloc(m->p.size, sizeof(float)));
    }
    rs_rsm_free(r);
    if (rc < 0)
        rs_rank_model_free(m);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Forward / backward
 */

/* Each head's mean listwise loss over the lists with a positive, whose
 * number replaces the weight sum. */
static void list_losses(struct rs_rank_acts *a, const uint32_t *list, size_t B)
{
    size_t n[2];
    double sc = rs_list_softmax_forward(a->zc, a->yc, list, B, &n[0]);
    double sb = rs_list_softmax_forward(a->zb, a->yb, list, B, &n[1]);
    a->loss_click = n[0] ? sc / (double)n[0] : 0;
    a->loss_booking = n[1] ? sb / (double)n[1] : 0;
    a->wsum[0] = (double)n[0], a->wsum[1] = (double)n[1];
}

double rs_rank_forward(struct rs_rank_model *m, const struct rs_rank_batch *b,
                       struct rs_rank_acts *a, struct rs_arena *ar)
{
    struct rs_params *p = &m->p;
    size_t B = b->B, nc = m->ncat, nx = m->ncross, ne = nc + m->nbin;
    a->ids = rs_arena_alloc(ar, (ne + 1) * sizeof *a->ids);
    a->emb = rs_arena_alloc(ar, (ne + 1) * sizeof *a->emb);
    const float **parts = rs_arena_alloc(ar, (ne + 2) * sizeof *parts);
    size_t *dims = rs_arena_alloc(ar, (ne + 2) * sizeof *dims);
    for (size_t f = 0; f < ne; f++) {
        int ti = rs_rank_emb_table(m, f, &dims[f]);
        a->ids[f] = rs_arena_alloc(ar, B * sizeof(uint32_t));
        for (size_t i = 0; i < B; i++)
            a->ids[f][i] = f < nc ? b->cat[i * nc + f] : b->bin[i * m->nbin + f - nc];
        a->emb[f] = rs_arena_floats(ar, B * dims[f]);
        rs_embedding_forward(a->emb[f], rs_params_w(p, ti), a->ids[f], B, dims[f]);
        parts[f] = a->emb[f];
    }
    parts[ne] = b->num;
    dims[ne] = m->nnum;
    a->dots = rs_arena_floats(ar, B * m->ninter + 1);
    for (size_t i = 0; i < B; i++)
        for (size_t k = 0; k < m->ninter; k++) {
            int f = m->inter[k][0], g = m->inter[k][1];
            size_t d = m->cat[f].dim;
            a->dots[i * m->ninter + k] = rs_sdot(d, a->emb[f] + i * d, a->emb[g] + i * d);
        }
    parts[ne + 1] = a->dots;
    dims[ne + 1] = m->ninter;
    a->x = rs_arena_floats(ar, B * m->d_in);
    rs_concat_forward(a->x, parts, dims, ne + 2, B);
    const float *in = a->x;
    size_t d = m->d_in;
    for (size_t l = 0; l < m->nhidden; l++) {
        a->h[l] = rs_arena_floats(ar, B * m->hidden[l]);
        rs_dense_forward(a->h[l], in, rs_params_w(p, m->t_w[l]), rs_params_w(p, m->t_b[l]), B, d,
                         m->hidden[l]);
        rs_relu_forward(a->h[l], a->h[l], B * m->hidden[l]);
        in = a->h[l];
        d = m->hidden[l];
    }
    a->z = rs_arena_floats(ar, B * 2);
    rs_dense_forward(a->z, in, rs_params_w(p, m->t_w[m->nhidden]), rs_params_w(p, m->t_b[m->nhidden]),
                     B, d, 2);
    /* wide part: a sum-bag of the example's cross buckets, plus its bias */
    a->off = rs_arena_alloc(ar, (B + 1) * sizeof(uint32_t));
    for (size_t i = 0; i <= B; i++)
        a->off[i] = (uint32_t)(i * nx);
    float *wide = rs_arena_floats(ar, B * 2);
    rs_embedding_bag_forward(wide, rs_params_w(p, m->t_wide), b->cross, a->off, NULL, B, 2, RS_POOL_SUM);
    const float *wb = rs_params_w(p, m->t_wide_b);
    a->zc = rs_arena_floats(ar, B);
    a->zb = rs_arena_floats(ar, B);
    for (size_t i = 0; i < B; i++) {
        a->z[2 * i] += wide[2 * i] + wb[0];
        a->z[2 * i + 1] += wide[2 * i + 1] + wb[1];
        a->zc[i] = a->z[2 * i];
        a->zb[i] = a->z[2 * i + 1];
    }
    a->pc = rs_arena_floats(ar, B);
    a->pb = rs_arena_floats(ar, B);
    a->p = rs_arena_floats(ar, B * 2);
    a->loss_click = a->loss_booking = 0;
    a->wsum[0] = a->wsum[1] = 0;
    if (b->y) {
        a->yc = rs_arena_floats(ar, B), a->yb = rs_arena_floats(ar, B);
        a->wc = rs_arena_floats(ar, B), a->wb = rs_arena_floats(ar, B);
        for (size_t i = 0; i < B; i++) {
            a->yc[i] = b->y[2 * i], a->yb[i] = b->y[2 * i + 1];
            a->wc[i] = b->w ? b->w[2 * i] : 1, a->wb[i] = b->w ? b->w[2 * i + 1] : 1;
            a->wsum[0] += a->wc[i], a->wsum[1] += a->wb[i];
        }
        if (b->list) { /* listwise: the lists' mean softmax cross-entropy */
            rs_sigmoid_forward(a->pc, a->zc, B);
            rs_sigmoid_forward(a->pb, a->zb, B);
            list_losses(a, b->list, B);
        } else {
            a->loss_click = rs_bce_forward(a->pc, a->zc, a->yc, a->wc, B);
            a->loss_booking = rs_bce_forward(a->pb, a->zb, a->yb, a->wb, B);
        }
    } else {
        rs_sigmoid_forward(a->pc, a->zc, B);
        rs_sigmoid_forward(a->pb, a->zb, B);
    }
    for (size_t i = 0; i < B; i++)
        a->p[2 * i] = a->pc[i], a->p[2 * i + 1] = a->pb[i];
    return a->loss_click + a->loss_booking;
}

void rs_rank_backward_dense(struct rs_rank_model *m, const struct rs_rank_batch *b,
                            struct rs_rank_acts *a, struct rs_arena *ar)
{
    struct rs_params *p = &m->p;
    size_t B = b->B, ne = m->ncat + m->nbin;
    float *dzc = rs_arena_zeros(ar, B), *dzb = rs_arena_zeros(ar, B);
    if (b->list) { /* d(mean over the mini-batch's lists) */
        double nc = b->wsum[0] > 0 ? b->wsum[0] : a->wsum[0], nb = b->wsum[1] > 0 ? b->wsum[1] : a->wsum[1];
        if (nc > 0)
            rs_list_softmax_backward(dzc, a->zc, a->yc, b->list, B, (float)(1 / nc));
        if (nb > 0)
            rs_list_softmax_backward(dzb, a->zb, a->yb, b->list, B, (float)(1 / nb));
    } else {
        rs_bce_backward(dzc, a->pc, a->yc, a->wc, B, b->wsum[0] > 0 ? (float)(a->wsum[0] / b->wsum[0]) : 1);
        rs_bce_backward(dzb, a->pb, a->yb, a->wb, B, b->wsum[1] > 0 ? (float)(a->wsum[1] / b->wsum[1]) : 1);
    }
    float *dz = a->dz = rs_arena_floats(ar, B * 2);
    float *gwb = rs_params_g(p, m->t_wide_b);
    for (size_t i = 0; i < B; i++) {
        dz[2 * i] = dzc[i], dz[2 * i + 1] = dzb[i];
        gwb[0] += dzc[i], gwb[1] += dzb[i];
    }
    const float *dy = dz;
    size_t L = m->nhidden;
    for (size_t l = L + 1; l-- > 0;) {
        const float *in = l ? a->h[l - 1] : a->x;
        size_t din = l ? m->hidden[l - 1] : m->d_in, dout = l < L ? m->hidden[l] : 2;
        float *dx = rs_arena_zeros(ar, B * din);
        rs_dense_backward(dx, rs_params_g(p, m->t_w[l]), rs_params_g(p, m->t_b[l]), dy, in,
                          rs_params_w(p, m->t_w[l]), B, din, dout);
        if (l) { /* through the ReLU of layer l-1 (its output is h[l-1]) */
            float *dh = rs_arena_zeros(ar, B * din);
            rs_relu_backward(dh, dx, a->h[l - 1], B * din);
            dx = dh;
        }
        dy = dx;
    }
    float **dparts = a->dparts = rs_arena_alloc(ar, (ne + 2) * sizeof *dparts);
    size_t *dims = rs_arena_alloc(ar, (ne + 2) * sizeof *dims);
    for (size_t f = 0; f < ne; f++) {
        rs_rank_emb_table(m, f, &dims[f]);
        dparts[f] = rs_arena_zeros(ar, B * dims[f]);
    }
    dparts[ne] = NULL;
    dims[ne] = m->nnum;
    dparts[ne + 1] = rs_arena_zeros(ar, B * m->ninter + 1);
    dims[ne + 1] = m->ninter;
    rs_concat_backward(dparts, dy, dims, ne + 2, B);
    /* d<e_f, e_g> = e_g de_f + e_f de_g */
    for (size_t i = 0; i < B; i++)
        for (size_t k = 0; k < m->ninter; k++) {
            int f = m->inter[k][0], g = m->inter[k][1];
            size_t d = m->cat[f].dim;
            float dd = dparts[ne + 1][i * m->ninter + k];
            rs_saxpy(d, dd, a->emb[g] + i * d, dparts[f] + i * d);
            rs_saxpy(d, dd, a->emb[f] + i * d, dparts[g] + i * d);
        }
}

void rs_rank_backward_sparse(const struct rs_rank_model *m, struct rs_params *p,
                             const struct rs_rank_batch *b, const struct rs_rank_acts *a)
{
    rs_embedding_bag_backward(p, m->t_wide, b->cross, a->off, NULL, a->dz, b->B, RS_POOL_SUM);
    for (size_t f = 0; f < m->ncat + m->nbin; f++) {
        size_t dim;
        rs_embedding_backward(p, rs_rank_emb_table(m, f, &dim), a->ids[f], a->dparts[f], b->B);
    }
}

void rs_rank_backward(struct rs_rank_model *m, const struct rs_rank_batch *b,
                      struct rs_rank_acts *a, struct rs_arena *ar)
{
    rs_rank_backward_dense(m, b, a, ar);
    rs_rank_backward_sparse(m, &m->p, b, a);
}

