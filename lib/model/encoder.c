/* encoder.c - sentence-transformers model directories (encoder.h). */
#include "model/encoder.h"
#include "core/err.h"
#include "core/threads.h"
#include "io/config.h"
#include "io/safetensors.h"
#include "io/wordpiece.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int size_key(const struct rs_cfg *c, const char *key, long long max, size_t *out)
{
    long long v;
    int rc = rs_cfg_int(c, key, -1, 1, max, &v);
    if (rc == 0 && v < 0)
        rc = rs_cfg_expected(c, key, "an integer (it is missing)");
    *out = (size_t)v;
    return rc;
}

/* config.json: a BERT with GELU and absolute position embeddings. */
static int read_config(const char *path, struct rs_bert_config *c)
{
    json_t *j;
    int rc = rs_config_load(&j, path), k;
    if (rc < 0)
        return rc;
    struct rs_cfg r;
    double eps;
    rs_cfg_root(&r, j, path);
    if ((rc = rs_cfg_word(&r, "model_type", "bert", -1, &k)) == 0 &&
        (rc = rs_cfg_word(&r, "hidden_act", "gelu", 0, &k)) == 0 &&
        (rc = rs_cfg_word(&r, "position_embedding_type", "absolute", 0, &k)) == 0 &&
        (rc = size_key(&r, "hidden_size", 1 << 16, &c->hidden)) == 0 &&
        (rc = size_key(&r, "num_hidden_layers", 1024, &c->layers)) == 0 &&
        (rc = size_key(&r, "num_attention_heads", 1024, &c->heads)) == 0 &&
        (rc = size_key(&r, "intermediate_size", 1 << 18, &c->inter)) == 0 &&
        (rc = size_key(&r, "vocab_size", 1 << 24, &c->vocab)) == 0 &&
        (rc = size_key(&r, "max_position_embeddings", 1 << 16, &c->max_pos)) == 0 &&
        (rc = rs_cfg_num(&r, "layer_norm_eps", 1e-12, 0, 1, &eps)) == 0) {
        long long tv;
        rc = rs_cfg_int(&r, "type_vocab_size", 2, 1, 1 << 16, &tv);
        c->type_vocab = (size_t)tv;
        c->ln_eps = (float)eps;
        if (rc == 0 && c->hidden % c->heads)
            rc = rs_cfg_fail(&r, "num_attention_heads", "%zu heads do not divide hidden_size %zu", c->heads, c->hidden);
    }
    json_decref(j);
    return rc;
}

/* The optional files: sentence_bert_config.json, 1_Pooling/config.json. */
static int read_st_config(struct rs_encoder *e, const char *dir)
{
    char *sb = join(dir, "sentence_bert_config.json"), *pool = join(dir, "1_Pooling/config.json");
    json_t *j = NULL;
    int rc = 0;
    long long max = (long long)e->bert.c.max_pos;
    struct rs_cfg r;
    if (access(sb, F_OK) == 0 && (rc = rs_config_load(&j, sb)) == 0) {
        rs_cfg_root(&r, j, sb);
        rc = rs_cfg_int(&r, "max_seq_length", max, 2, max, &max);
        json_decref(j);
    }
    e->max_len = (size_t)max;
    if (rc == 0 && access(pool, F_OK) == 0 && (rc = rs_config_load(&j, pool)) == 0) {
        static const char *const other[] = { "pooling_mode_cls_token", "pooling_mode_max_tokens",
                                             "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
                                             "pooling_mode_lasttoken" };
        int on;
        rs_cfg_root(&r, j, pool);
        if ((rc = rs_cfg_bool(&r, "pooling_mode_mean_tokens", 1, &on)) == 0 && !on)
            rc = rs_cfg_fail(&r, "pooling_mode_mean_tokens", "only mean pooling is supported");
        for (size_t i = 0; rc == 0 && i < sizeof other / sizeof *other; i++)
            if ((rc = rs_cfg_bool(&r, other[i], 0, &on)) == 0 && on)
                rc = rs_cfg_fail(&r, other[i], "only mean pooling is supported");
        json_decref(j);
    }
    free(sb);
    free(pool);
    return rc;
}

/* Tensor PREFIX + name (PREFIX "" or "bert.", as the checkpoint has it). */
static int get(const struct rs_safetensors *st, const char *prefix, const char *name, size_t d0, size_t d1, float *out)
{
    char full[256];
    size_t shape[2] = { d0, d1 };
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return rs_safetensors_f32(st, full, d1 ? 2 : 1, shape, out);
}

static int read_layer(const struct rs_safetensors *st, const char *pre, size_t l, const struct rs_bert_config *c,
                      struct rs_bert_layer *y)
{
    size_t h = c->hidden, in = c->inter;
    char name[256];
    const char *qkv[] = { "query", "key", "value" };
    int rc = 0;
    for (size_t i = 0; i < 3 && rc == 0; i++) {
        snprintf(name, sizeof name, "encoder.layer.%zu.attention.self.%s.weight", l, qkv[i]);
        rc = get(st, pre, name, h, h, y->wqkv + i * h * h);
        snprintf(name, sizeof name, "encoder.layer.%zu.attention.self.%s.bias", l, qkv[i]);
        if (rc == 0)
            rc = get(st, pre, name, h, 0, y->bqkv + i * h);
    }
    const struct {
        const char *name;
        size_t d0, d1;
        float *dst;
    } t[] = {
        { "attention.output.dense.weight", h, h, y->wo },   { "attention.output.dense.bias", h, 0, y->bo },
        { "attention.output.LayerNorm.weight", h, 0, y->ln1_g }, { "attention.output.LayerNorm.bias", h, 0, y->ln1_b },
        { "intermediate.dense.weight", in, h, y->wi },      { "intermediate.dense.bias", in, 0, y->bi },
        { "output.dense.weight", h, in, y->wf },            { "output.dense.bias", h, 0, y->bf },
        { "output.LayerNorm.weight", h, 0, y->ln2_g },      { "output.LayerNorm.bias", h, 0, y->ln2_b },
    };
    for (size_t i = 0; i < sizeof t / sizeof *t && rc == 0; i++) {
        snprintf(name, sizeof name, "encoder.layer.%zu.%s", l, t[i].name);
        rc = get(st, pre, name, t[i].d0, t[i].d1, t[i].dst);
    }
    return rc;
}

static int read_weights(struct rs_bert *m, const char *path)
{
    struct rs_safetensors *st;
    int rc = rs_safetensors_load(&st, path);
    if (rc < 0)
        return rc;
    const struct rs_bert_config *c = &m->c;
    const char *pre = rs_safetensors_find(st, "bert.embeddings.word_embeddings.weight") ? "bert." : "";
    size_t h = c->hidden;
    if ((rc = get(st, pre, "embeddings.word_embeddings.weight", c->vocab, h, m->word)) == 0 &&
        (rc = get(st, pre, "embeddings.position_embeddings.weight", c->max_pos, h, m->pos)) == 0 &&
        (rc = get(st, pre, "embeddings.token_type_embeddings.weight", c->type_vocab, h, m->type)) == 0 &&
        (rc = get(st, pre, "embeddings.LayerNorm.weight", h, 0, m->ln_g)) == 0)
        rc = get(st, pre, "embeddings.LayerNorm.bias", h, 0, m->ln_b);
    for (size_t l = 0; l < c->layers && rc == 0; l++)
        rc = read_layer(st, pre, l, c, &m->layer[l]);
    rs_safetensors_free(st);
    return rc;
}

int rs_encoder_load(struct rs_encoder *e, const char *dir)
{
    char *cfg = join(dir, "config.json"), *tok = join(dir, "tokenizer.json"), *w = join(dir, "model.safetensors");
    struct rs_bert_config c;
    memset(e, 0, sizeof *e);
    int rc = read_config(cfg, &c);
    if (rc == 0)
        rc = rs_wordpiece_load(&e->wp, tok);
    if (rc == 0 && rs_wordpiece_vocab_size(e->wp) > c.vocab)
        rc = rs_err_set(RS_ERR_FORMAT, "'%s': %zu tokens, but '%s' gives vocab_size %zu", tok,
                        rs_wordpiece_vocab_size(e->wp), cfg, c.vocab);
    if (rc == 0) {
        rs_bert_alloc(&e->bert, &c);
        if ((rc = read_st_config(e, dir)) == 0)
            rc = read_weights(&e->bert, w);
    }
    free(cfg);
    free(tok);
    free(w);
    if (rc < 0)
        rs_encoder_free(e);
    return rc;
}

void rs_encoder_free(struct rs_encoder *e)
{
    rs_wordpiece_free(e->wp);
    if (e->bert.layer)
        rs_bert_free(&e->bert);
    memset(e, 0, sizeof *e);
}

size_t rs_encoder_tokens(const struct rs_encoder *e, const char *text, size_t len, int32_t *ids)
{
    return rs_wordpiece_encode(e->wp, text, len, e->max_len, ids);
}

/* The work of one rs_encoder_embed call. */
struct job {
    const struct rs_encoder *e;
    const char *const *texts;
    const size_t *lens;
    size_t n, batch;
    int32_t *ids;     /* text i's ids at i * max_len */
    size_t *ntok;     /* their count */
    size_t *order;    /* texts by token count */
    size_t first;     /* the batch this round starts at */
    struct rs_bert_work **work;
    float *out;
};

static void tokenize_range(void *ctx, size_t begin, size_t end, int tid)
{
    struct job *j = ctx;
    (void)tid;
    for (size_t i = begin; i < end; i++)
        j->ntok[i] = rs_encoder_tokens(j->e, j->texts[i], j->lens[i], j->ids + i * j->e->max_len);
}

static int by_ntok(const void *a, const void *b, void *ctx)
{
    const size_t *ntok = ctx, x = *(const size_t *)a, y = *(const size_t *)b;
    if (ntok[x] != ntok[y])
        return ntok[x] < ntok[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Batches [first + begin, first + end) of this round. */
static void run_batches(void *ctx, size_t begin, size_t end, int tid)
{
    struct job *j = ctx;
    size_t h = j->e->bert.c.hidden, ml = j->e->max_len;
    int32_t *ids = xmalloc(j->batch * ml * sizeof *ids);
    size_t *off = xmalloc((j->batch + 1) * sizeof *off);
    float *emb = xmalloc(j->batch * h * sizeof *emb);
    for (size_t b = j->first + begin; b < j->first + end; b++) {
        size_t lo = b * j->batch, hi = lo + j->batch < j->n ? lo + j->batch : j->n;
        off[0] = 0;
        for (size_t s = lo; s < hi; s++) {
            size_t i = j->order[s];
            memcpy(ids + off[s - lo], j->ids + i * ml, j->ntok[i] * sizeof *ids);
            off[s - lo + 1] = off[s - lo] + j->ntok[i];
        }
        rs_bert_embed(&j->e->bert, ids, off, hi - lo, emb, j->work[tid]);
        for (size_t s = lo; s < hi; s++)
            memcpy(j->out + j->order[s] * h, emb + (s - lo) * h, h * sizeof *emb);
    }
    free(ids);
    free(off);
    free(emb);
}

void rs_encoder_embed(const struct rs_encoder *e, const char *const *texts, const size_t *lens, size_t n,
                      size_t batch, int threads, float *out, rs_encoder_progress_fn progress, void *ctx)
{
    RS_ASSERT(batch >= 1 && threads >= 1);
    size_t ml = e->max_len;
    struct job j = { e, texts, lens, n, batch, xmalloc((n ? n : 1) * ml * sizeof(int32_t)),
                     xmalloc((n ? n : 1) * sizeof(size_t)), xmalloc((n ? n : 1) * sizeof(size_t)), 0,
                     xcalloc((size_t)threads, sizeof(struct rs_bert_work *)), out };
    rs_parallel_for(threads, n, tokenize_range, &j);
    for (size_t i = 0; i < n; i++)
        j.order[i] = i;
    qsort_r(j.order, n, sizeof *j.order, by_ntok, j.ntok);
    /* scratch for the batch of most tokens */
    size_t nb = (n + batch - 1) / batch, per = 4 * (size_t)threads, most = 1;
    for (size_t b = 0; b < nb; b++) {
        size_t t = 0;
        for (size_t s = b * batch; s < n && s < (b + 1) * batch; s++)
            t += j.ntok[j.order[s]];
        most = t > most ? t : most;
    }
    for (int t = 0; t < threads; t++)
        j.work[t] = rs_bert_work_new(&e->bert.c, most, ml);
    /* rounds of a few batches per thread, so progress comes from this thread */
    for (j.first = 0; j.first < nb; j.first += per) {
        size_t k = nb - j.first < per ? nb - j.first : per;
        rs_parallel_for(threads, k, run_batches, &j);
        if (progress)
            progress(ctx, (j.first + k) * batch < n ? (j.first + k) * batch : n);
    }
    for (int t = 0; t < threads; t++)
        rs_bert_work_free(j.work[t]);
    free(j.work);
    free(j.ids);
    free(j.ntok);
    free(j.order);
}
