/* bert.c - BERT inference on packed sequences (bert.h). */
#include "nn/bert.h"
#include "core/err.h"
#include "nn/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct rs_bert_work {
    float *x, *qkv, *ctx, *tmp, *inter, *scores;
};

void rs_bert_alloc(struct rs_bert *m, const struct rs_bert_config *c)
{
    size_t h = c->hidden, in = c->inter;
    m->c = *c;
    m->word = xmalloc(c->vocab * h * sizeof(float));
    m->pos = xmalloc(c->max_pos * h * sizeof(float));
    m->type = xmalloc(c->type_vocab * h * sizeof(float));
    m->ln_g = xmalloc(h * sizeof(float));
    m->ln_b = xmalloc(h * sizeof(float));
    m->layer = xcalloc(c->layers, sizeof *m->layer);
    for (size_t l = 0; l < c->layers; l++) {
        struct rs_bert_layer *y = &m->layer[l];
        y->wqkv = xmalloc(3 * h * h * sizeof(float));
        y->bqkv = xmalloc(3 * h * sizeof(float));
        y->wo = xmalloc(h * h * sizeof(float));
        y->bo = xmalloc(h * sizeof(float));
        y->wi = xmalloc(in * h * sizeof(float));
        y->bi = xmalloc(in * sizeof(float));
        y->wf = xmalloc(h * in * sizeof(float));
        y->bf = xmalloc(h * sizeof(float));
        y->ln1_g = xmalloc(h * sizeof(float));
        y->ln1_b = xmalloc(h * sizeof(float));
        y->ln2_g = xmalloc(h * sizeof(float));
        y->ln2_b = xmalloc(h * sizeof(float));
    }
}

void rs_bert_free(struct rs_bert *m)
{
    for (size_t l = 0; m->layer && l < m->c.layers; l++) {
        struct rs_bert_layer *y = &m->layer[l];
        float *p[] = { y->wqkv, y->bqkv, y->wo, y->bo, y->wi, y->bi, y->wf, y->bf, y->ln1_g, y->ln1_b, y->ln2_g, y->ln2_b };
        for (size_t i = 0; i < sizeof p / sizeof *p; i++)
            free(p[i]);
    }
    free(m->layer);
    free(m->word);
    free(m->pos);
    free(m->type);
    free(m->ln_g);
    free(m->ln_b);
    memset(m, 0, sizeof *m);
}

struct rs_bert_work *rs_bert_work_new(const struct rs_bert_config *c, size_t max_tokens, size_t max_len)
{
    struct rs_bert_work *w = xmalloc(sizeof *w);
    size_t t = max_tokens, h = c->hidden;
    w->x = xmalloc(t * h * sizeof(float));
    w->qkv = xmalloc(t * 3 * h * sizeof(float));
    w->ctx = xmalloc(t * h * sizeof(float));
    w->tmp = xmalloc(t * h * sizeof(float));
    w->inter = xmalloc(t * c->inter * sizeof(float));
    w->scores = xmalloc(max_len * max_len * sizeof(float));
    return w;
}

void rs_bert_work_free(struct rs_bert_work *w)
{
    if (!w)
        return;
    free(w->x);
    free(w->qkv);
    free(w->ctx);
    free(w->tmp);
    free(w->inter);
    free(w->scores);
    free(w);
}

/* y[t × out] = x[t × in] Wᵀ + b. */
static void linear(const float *x, size_t t, size_t in, const float *wt, const float *b, size_t out, float *y)
{
    for (size_t i = 0; i < t; i++)
        memcpy(y + i * out, b, out * sizeof *y);
    rs_sgemm(0, 1, t, out, in, 1.0f, x, in, wt, in, 1.0f, y, out);
}

/* x[i] = LayerNorm(x[i] + r[i]) (Ba et al. 2016) over h features, each row;
 * r NULL adds nothing. Mean and variance in double. */
static void add_layer_norm(float *x, const float *r, size_t t, size_t h, const float *g, const float *b, float eps)
{
    for (size_t i = 0; i < t; i++) {
        float *v = x + i * h;
        if (r)
            for (size_t j = 0; j < h; j++)
                v[j] += r[i * h + j];
        double mean = 0, var = 0;
        for (size_t j = 0; j < h; j++)
            mean += v[j];
        mean /= (double)h;
        for (size_t j = 0; j < h; j++)
            var += (v[j] - mean) * (v[j] - mean);
        float inv = (float)(1.0 / sqrt(var / (double)h + eps));
        for (size_t j = 0; j < h; j++)
            v[j] = (float)(v[j] - mean) * inv * g[j] + b[j];
    }
}

/* GELU in BERT's exact form, x Φ(x) = x (1 + erf(x / √2)) / 2 (Hendrycks &
 * Gimpel 2016), not the tanh approximation. erf by Abramowitz & Stegun
 * 7.1.28, erf(z) = 1 - (1 + a1 z + ... + a6 z^6)^-16 for z >= 0, absolute
 * error under 3e-7; in double, where the 16th power keeps that accuracy,
 * and without a branch or a libm call, so the loop vectorises (libm's erff
 * took a sixth of the encoder's time). */
static void gelu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double z = fabs((double)x[i] * M_SQRT1_2);
        double p = 1 + z * (0.0705230784 + z * (0.0422820123 + z * (0.0092705272 +
                   z * (0.0001520143 + z * (0.0002765672 + z * 0.0000430638)))));
        p *= p;
        p *= p;
        p *= p;
        p *= p;
        double erf = copysign(1 - 1 / p, (double)x[i]);
        x[i] = (float)(0.5 * x[i] * (1 + erf));
    }
}

static void softmax_rows(float *s, size_t rows, size_t cols)
{
    for (size_t i = 0; i < rows; i++) {
        float *r = s + i * cols, mx = r[0], sum = 0;
        for (size_t j = 1; j < cols; j++)
            mx = r[j] > mx ? r[j] : mx;
        for (size_t j = 0; j < cols; j++)
            sum += r[j] = expf(r[j] - mx);
        for (size_t j = 0; j < cols; j++)
            r[j] /= sum;
    }
}

/* Scaled dot-product attention (Vaswani et al. 2017) of one sequence of
 * len tokens, every head: ctx = softmax(Q Kᵀ / √d) V. */
static void attend(const struct rs_bert_config *c, const float *qkv, size_t len, float *scores, float *ctx)
{
    size_t h = c->hidden, d = h / c->heads;
    float scale = 1.0f / sqrtf((float)d);
    for (size_t k = 0; k < c->heads; k++) {
        const float *q = qkv + k * d, *key = qkv + h + k * d, *v = qkv + 2 * h + k * d;
        rs_sgemm(0, 1, len, len, d, scale, q, 3 * h, key, 3 * h, 0.0f, scores, len);
        softmax_rows(scores, len, len);
        rs_sgemm(0, 0, len, d, len, 1.0f, scores, len, v, 3 * h, 0.0f, ctx + k * d, h);
    }
}

static void embed_tokens(const struct rs_bert *m, const int32_t *ids, const size_t *off, size_t nseq, float *x)
{
    size_t h = m->c.hidden;
    for (size_t s = 0; s < nseq; s++)
        for (size_t i = off[s]; i < off[s + 1]; i++) {
            const float *wv = m->word + (size_t)ids[i] * h, *pv = m->pos + (i - off[s]) * h;
            for (size_t j = 0; j < h; j++)
                x[i * h + j] = wv[j] + pv[j] + m->type[j];
        }
    add_layer_norm(x, NULL, off[nseq], h, m->ln_g, m->ln_b, m->c.ln_eps);
}

static void layer(const struct rs_bert *m, const struct rs_bert_layer *y, const size_t *off, size_t nseq,
                  struct rs_bert_work *w)
{
    const struct rs_bert_config *c = &m->c;
    size_t t = off[nseq], h = c->hidden;
    linear(w->x, t, h, y->wqkv, y->bqkv, 3 * h, w->qkv);
    for (size_t s = 0; s < nseq; s++)
        attend(c, w->qkv + off[s] * 3 * h, off[s + 1] - off[s], w->scores, w->ctx + off[s] * h);
    linear(w->ctx, t, h, y->wo, y->bo, h, w->tmp);
    add_layer_norm(w->x, w->tmp, t, h, y->ln1_g, y->ln1_b, c->ln_eps);
    linear(w->x, t, h, y->wi, y->bi, c->inter, w->inter);
    gelu(w->inter, t * c->inter);
    linear(w->inter, t, c->inter, y->wf, y->bf, h, w->tmp);
    add_layer_norm(w->x, w->tmp, t, h, y->ln2_g, y->ln2_b, c->ln_eps);
}

void rs_bert_embed(const struct rs_bert *m, const int32_t *ids, const size_t *off, size_t nseq, float *out,
                   struct rs_bert_work *w)
{
    size_t h = m->c.hidden;
    embed_tokens(m, ids, off, nseq, w->x);
    for (size_t l = 0; l < m->c.layers; l++)
        layer(m, &m->layer[l], off, nseq, w);
    for (size_t s = 0; s < nseq; s++) {
        float *o = out + s * h;
        size_t len = off[s + 1] - off[s];
        memset(o, 0, h * sizeof *o);
        for (size_t i = off[s]; i < off[s + 1]; i++)
            rs_saxpy(h, 1.0f, w->x + i * h, o);
        rs_sscal(h, 1.0f / (float)len, o);
        float norm = rs_snrm2(h, o);
        /* Normalize divides by max(norm, 1e-12), as torch's F.normalize */
        rs_sscal(h, 1.0f / (norm > 1e-12f ? norm : 1e-12f), o);
    }
}
