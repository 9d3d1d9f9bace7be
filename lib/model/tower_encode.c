/* tower_encode.c - rows of a feature table into the two-tower model's
 * inputs: binding config features to table columns, counting vocabularies,
 * parsing fields, and the per-batch encoding (struct rs_enc) that
 * rs_tower_forward consumes. */
#include "model/tower.h"
#include "io/config.h"
#include "core/err.h"
#include "core/num.h"
#include "io/rsm.h"
#include "core/strmap.h"
#include "io/tsv.h"
#include "io/vocab.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define MAX_TEXT_WORDS 256 /* words of a text field that are encoded */

/* ---- columns, pretrained vectors ---- */

static const char *feat_column(const struct rs_tower *t, int side, const struct rs_feat *f)
{
    return f->column ? f->column : t->side[side].id_col;
}

const char *rs_tower_column(const struct rs_tower *t, int side, size_t k)
{
    return feat_column(t, side, &t->side[side].f[k]);
}

int rs_tower_behavioural(const struct rs_tower *t, int side, size_t k)
{
    const struct rs_feat *f = &t->side[side].f[k];
    if (f->behavioural >= 0)
        return f->behavioural;
    return f->type == RS_FEAT_SEQUENCE ||
           (side == RS_SIDE_USER && strcmp(feat_column(t, side, f), t->side[side].id_col) == 0);
}

int rs_tower_bind(struct rs_tower *t, int side, const struct rs_tsv *tb, int require)
{
    for (size_t i = 0; i < t->side[side].nf; i++) {
        struct rs_feat *f = &t->side[side].f[i];
        const char *col = feat_column(t, side, f);
        f->col = tb ? rs_tsv_col(tb, col) : -1;
        if (f->col < 0 && require && strcmp(col, t->side[side].id_col) != 0)
            return rs_err_set(RS_ERR_FORMAT, "%s feature '%s' (%s) needs column '%s', which %s%s%s lacks",
                              rs_tower_side_name(side), f->name, rs_feat_type_name(f->type), col, tb ? "'" : "",
                              tb ? rs_tsv_name(tb) : "the input (no feature table given)", tb ? "'" : "");
    }
    return 0;
}

int rs_tower_load_pretrained(struct rs_tower *t)
{
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < t->side[s].nf; i++) {
            struct rs_feat *f = &t->side[s].f[i];
            if (f->type != RS_FEAT_PRETRAINED || f->pre.ids)
                continue;
            int rc = rs_embset_load(&f->pre, f->path);
            if (rc < 0)
                return rc;
            if (f->pre_dims && f->pre_dims != f->pre.dims)
                return rs_err_set(RS_ERR_FORMAT, "'%s': %u dims, but the model's feature '%s' was trained on %zu",
                                  f->path, f->pre.dims, f->name, f->pre_dims);
            f->pre_dims = f->pre.dims;
        }
    return 0;
}

/* ---- field access and tokenising ---- */

/* The field of feature f in the current row: from the table, or the id. */
static const char *field(const struct rs_tower *t, int side, const struct rs_feat *f, const struct rs_tsv *tb,
                         const char *id, size_t idlen, size_t *len)
{
    if (tb && f->col >= 0) {
        *len = rs_tsv_len(tb, f->col);
        return rs_tsv_get(tb, f->col);
    }
    if (strcmp(feat_column(t, side, f), t->side[side].id_col) == 0) {
        *len = idlen;
        return id;
    }
    *len = 0;
    return "";
}

/* An error for a bad field of f: in table tb, or (param non-NULL) the value
 * of a named parameter, or the entity's id. */
static int field_err(const struct rs_tsv *tb, const char *param, const struct rs_feat *f, const char *what,
                     const char *s, size_t n)
{
    if (param)
        return rs_err_set(RS_ERR_USAGE, "parameter '%s': %s, got '%.*s'", param, what, (int)(n > 60 ? 60 : n), s);
    if (tb && f->col >= 0)
        return rs_tsv_errf(tb, f->col, "%s, got '%.*s'", what, (int)(n > 60 ? 60 : n), s);
    return rs_err_set(RS_ERR_FORMAT, "feature '%s': %s, got '%.*s'", f->name, what, (int)(n > 60 ? 60 : n), s);
}

/* Canonical decimal of an int feature's field into buf. */
static int int_token(const struct rs_tsv *tb, const char *param, const struct rs_feat *f, const char *s, size_t n,
                     char *buf, size_t *len)
{
    int64_t x;
    if (n == 0)
        return *len = 0, 0;
    if (rs_num_i64(s, n, &x) < 0)
        return field_err(tb, param, f, "expected an integer", s, n);
    *len = (size_t)snprintf(buf, 32, "%lld", (long long)x);
    return 0;
}

static int numeric_value(const struct rs_tsv *tb, const char *param, const struct rs_feat *f, const char *s, size_t n,
                         double *x)
{
    if (rs_num_vec_value(s, n, x) < 0) /* its square is summed for the standard deviation */
        return field_err(tb, param, f, rs_num_f64(s, n, x) < 0 ? "expected a finite number"
                                                               : "expected a number within +-1e16", s, n);
    if (f->log1p) {
        if (*x <= -1)
            return field_err(tb, param, f, "expected a number > -1 (log1p)", s, n);
        *x = log1p(*x);
    }
    return 0;
}

/* Calls fn on each comma-separated non-empty token of s[0..n). */
#define FOR_LIST(s, n, tok, tl, body)                                          \
    for (size_t _i = 0, _j; _i <= (n); _i = _j + 1) {                          \
        for (_j = _i; _j < (n) && (s)[_j] != ','; _j++)                        \
            ;                                                                  \
        const char *tok = (s) + _i;                                            \
        size_t tl = _j - _i;                                                   \
        if (tl)                                                                \
            body                                                               \
    }

/* ---- vocabulary building ---- */

int rs_tower_count(struct rs_tower *t, int side, const struct rs_tsv *tb, const char *id, size_t idlen)
{
    for (size_t i = 0; i < t->side[side].nf; i++) {
        struct rs_feat *f = &t->side[side].f[i];
        size_t n;
        const char *s = field(t, side, f, tb, id, idlen, &n);
        if (f->type == RS_FEAT_STRING || f->type == RS_FEAT_INT) {
            if (!f->counter)
                f->counter = rs_vocab_counter_new(1024);
            if (f->list) {
                FOR_LIST(s, n, tok, tl, { rs_vocab_counter_add(f->counter, tok, tl, 1); })
            } else if (f->type == RS_FEAT_INT) {
                char buf[32];
                size_t len;
                int rc = int_token(tb, NULL, f, s, n, buf, &len);
                if (rc < 0)
                    return rc;
                rs_vocab_counter_add(f->counter, buf, len, 1);
            } else {
                rs_vocab_counter_add(f->counter, s, n, 1);
            }
        } else if (f->type == RS_FEAT_NUMERIC && n > 0) {
            double x;
            int rc = numeric_value(tb, NULL, f, s, n, &x);
            if (rc < 0)
                return rc;
            f->sum += x;
            f->sumsq += x * x;
            f->nstat++;
        }
    }
    return 0;
}

void rs_tower_finish_vocab(struct rs_tower *t, int side)
{
    for (size_t i = 0; i < t->side[side].nf; i++) {
        struct rs_feat *f = &t->side[side].f[i];
        switch (f->type) {
        case RS_FEAT_STRING:
        case RS_FEAT_INT:
            if (!f->counter)
                f->counter = rs_vocab_counter_new(16);
            rs_vocab_free(f->vocab);
            f->vocab = rs_vocab_counter_finish(f->counter, f->min_count, 0);
            rs_vocab_counter_free(f->counter);
            f->counter = NULL;
            f->rows = (size_t)rs_vocab_nids(f->vocab, f->buckets);
            break;
        case RS_FEAT_TEXT: f->rows = (size_t)f->buckets; break;
        case RS_FEAT_NUMERIC:
            f->mean = f->nstat ? f->sum / (double)f->nstat : 0;
            f->std = f->nstat > 1 ? sqrt(fmax(f->sumsq / (double)f->nstat - f->mean * f->mean, 0)) : 1;
            if (!(f->std > 1e-12))
                f->std = 1;
            break;
        default: break;
        }
    }
}

/* ---- encoding ---- */

void rs_enc_init(struct rs_enc *e, const struct rs_tower *t, int side)
{
    memset(e, 0, sizeof *e);
    e->nf = t->side[side].nf;
    e->f = xcalloc(e->nf, sizeof *e->f);
    e->cap = 256;
    for (size_t i = 0; i < e->nf; i++) {
        if (t->side[side].f[i].type == RS_FEAT_NUMERIC) {
            e->f[i].val = xmalloc(e->cap * sizeof(float));
        } else {
            e->f[i].off = xcalloc(e->cap + 1, sizeof(uint32_t));
            e->f[i].cap_ids = 256;
            e->f[i].ids = xmalloc(e->f[i].cap_ids * sizeof(uint32_t));
        }
    }
}

void rs_enc_reset(struct rs_enc *e)
{
    e->n = 0;
}

void rs_enc_free(struct rs_enc *e)
{
    for (size_t i = 0; i < e->nf; i++) {
        free(e->f[i].off);
        free(e->f[i].ids);
        free(e->f[i].val);
    }
    free(e->f);
    memset(e, 0, sizeof *e);
}

static void push_id(struct rs_enc_feat *ef, size_t *nids, uint64_t id)
{
    if (*nids == ef->cap_ids) {
        ef->cap_ids *= 2;
        ef->ids = xrealloc(ef->ids, ef->cap_ids * sizeof *ef->ids);
    }
    ef->ids[(*nids)++] = (uint32_t)id;
}

static int is_word(unsigned char c)
{
    return isalnum(c) || c >= 0x80; /* UTF-8 bytes of non-ASCII letters stay in words */
}

/* Text: lower-cased words and bigrams "a b", hashed into the buckets. */
static void encode_text(struct rs_enc_feat *ef, size_t *nids, const struct rs_feat *f, const char *s, size_t n)
{
    char cur[256], prev[256], big[514];
    size_t pl = 0, words = 0;
    for (size_t i = 0; i < n && words < MAX_TEXT_WORDS;) {
        while (i < n && !is_word((unsigned char)s[i]))
            i++;
        size_t cl = 0;
        while (i < n && is_word((unsigned char)s[i])) {
            if (cl < sizeof cur)
                cur[cl++] = (char)tolower((unsigned char)s[i]);
            i++;
        }
        if (!cl)
            break;
        words++;
        push_id(ef, nids, XXH3_64bits(cur, cl) % f->buckets);
        if (f->bigrams && pl) {
            memcpy(big, prev, pl);
            big[pl] = ' ';
            memcpy(big + pl + 1, cur, cl);
            push_id(ef, nids, XXH3_64bits(big, pl + 1 + cl) % f->buckets);
        }
        memcpy(prev, cur, cl);
        pl = cl;
    }
}

/* Encodes field s[0..n) of feature k as entity e->n; tb and param say
 * where the field came from (for errors). */
static int encode_feature(struct rs_enc *e, size_t k, const struct rs_tower *t, int side, const struct rs_tsv *tb,
                          const char *param, const char *s, size_t n)
{
    const struct rs_feat *f = &t->side[side].f[k];
    struct rs_enc_feat *ef = &e->f[k];
    if (f->type == RS_FEAT_NUMERIC) {
        double x = f->mean;
        int rc = n ? numeric_value(tb, param, f, s, n, &x) : 0;
        ef->val[e->n] = (float)((x - f->mean) / f->std);
        return rc;
    }
    size_t nids = ef->off[e->n];
    switch (f->type) {
    case RS_FEAT_STRING:
        if (f->list) {
            FOR_LIST(s, n, tok, tl, { push_id(ef, &nids, rs_vocab_id(f->vocab, tok, tl, f->buckets)); })
        } else {
            push_id(ef, &nids, rs_vocab_id(f->vocab, s, n, f->buckets));
        }
        break;
    case RS_FEAT_INT: {
        char buf[32];
        size_t len;
        int rc = int_token(tb, param, f, s, n, buf, &len);
        if (rc < 0)
            return rc;
        push_id(ef, &nids, rs_vocab_id(f->vocab, buf, len, f->buckets));
        break;
    }
    case RS_FEAT_TEXT: encode_text(ef, &nids, f, s, n); break;
    case RS_FEAT_PRETRAINED: {
        int64_t r = n ? rs_strmap_get(f->pre.ids, s, n) : -1;
        if (r >= 0)
            push_id(ef, &nids, (uint64_t)r);
        break;
    }
    case RS_FEAT_SEQUENCE: {
        size_t count = 0, skip;
        FOR_LIST(s, n, tok, tl, { (void)tok; (void)tl; count++; })
        skip = count > f->max_len ? count - f->max_len : 0;
        FOR_LIST(s, n, tok, tl, {
            if (skip)
                skip--;
            else
                push_id(ef, &nids, rs_vocab_id(f->src->vocab, tok, tl, f->src->buckets));
        })
        break;
    }
    }
    ef->off[e->n + 1] = (uint32_t)nids;
    return 0;
}

static void enc_grow(struct rs_enc *e)
{
    if (e->n == e->cap) {
        e->cap *= 2;
        for (size_t k = 0; k < e->nf; k++) {
            if (e->f[k].val)
                e->f[k].val = xrealloc(e->f[k].val, e->cap * sizeof(float));
            else
                e->f[k].off = xrealloc(e->f[k].off, (e->cap + 1) * sizeof(uint32_t));
        }
    }
}

int rs_enc_add(struct rs_enc *e, const struct rs_tower *t, int side, const struct rs_tsv *tb, const char *id,
               size_t idlen)
{
    enc_grow(e);
    for (size_t k = 0; k < e->nf; k++) {
        size_t n;
        const char *s = field(t, side, &t->side[side].f[k], tb, id, idlen, &n);
        int rc = encode_feature(e, k, t, side, tb, NULL, s, n);
        if (rc < 0)
            return rc;
    }
    e->n++;
    return 0;
}

int rs_enc_add_fields(struct rs_enc *e, const struct rs_tower *t, int side, const char *const *names,
                      const char *const *vals, size_t nvals, const char *id)
{
    enc_grow(e);
    for (size_t k = 0; k < e->nf; k++) {
        const struct rs_feat *f = &t->side[side].f[k];
        const char *col = feat_column(t, side, f), *s = "", *param = NULL;
        for (size_t j = 0; j < nvals && !param; j++)
            if (strcmp(names[j], col) == 0)
                s = vals[j], param = names[j];
        if (!param && strcmp(col, t->side[side].id_col) == 0)
            s = id; /* as field() reads an id column the table lacks */
        int rc = encode_feature(e, k, t, side, NULL, param, s, strlen(s));
        if (rc < 0)
            return rc;
    }
    e->n++;
    return 0;
}
