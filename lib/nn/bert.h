/* bert.h - the BERT encoder (Devlin et al. 2019, "BERT: Pre-training of Deep
 * Bidirectional Transformers") in inference, as sentence-transformers runs
 * it: embeddings (word + position + token type 0) and LayerNorm, then per
 * layer post-LN multi-head self-attention and a GELU feed-forward block;
 * the token states mean-pooled and L2-normalised (Reimers & Gurevych 2019,
 * "Sentence-BERT").
 *
 * Sequences are packed, never padded: the dense layers run on the tokens of
 * every sequence of a batch at once, attention within each sequence. The
 * result equals a padded batch with its attention mask, to rounding. */
#ifndef RS_BERT_H
#define RS_BERT_H

#include <stddef.h>
#include <stdint.h>

struct rs_bert_config {
    size_t hidden, layers, heads, inter, vocab, max_pos, type_vocab;
    float ln_eps;
};

/* Weights as PyTorch's nn.Linear keeps them: out × in, y = x Wᵀ + b. */
struct rs_bert_layer {
    float *wqkv, *bqkv; /* query, key and value stacked: 3H × H, 3H */
    float *wo, *bo;     /* attention output: H × H, H */
    float *ln1_g, *ln1_b;
    float *wi, *bi;     /* intermediate: I × H, I */
    float *wf, *bf;     /* output: H × I, H */
    float *ln2_g, *ln2_b;
};

struct rs_bert {
    struct rs_bert_config c;
    float *word, *pos, *type; /* vocab × H, max_pos × H, type_vocab × H */
    float *ln_g, *ln_b;
    struct rs_bert_layer *layer;
};

/* Allocates every weight of c (uninitialised): the loader fills them. */
void rs_bert_alloc(struct rs_bert *m, const struct rs_bert_config *c);
void rs_bert_free(struct rs_bert *m);

struct rs_bert_work;
/* Scratch for batches of up to max_tokens tokens in sequences of up to
 * max_len (one per thread). */
struct rs_bert_work *rs_bert_work_new(const struct rs_bert_config *c, size_t max_tokens, size_t max_len);
void rs_bert_work_free(struct rs_bert_work *w);

/* Sentence embeddings of nseq sequences: sequence s is ids[off[s] ..
 * off[s+1]) (1 .. max_len ids, each below vocab; off[nseq] <= max_tokens),
 * out row s (H floats) its L2-normalised mean token state. */
void rs_bert_embed(const struct rs_bert *m, const int32_t *ids, const size_t *off, size_t nseq, float *out,
                   struct rs_bert_work *w);

#endif
