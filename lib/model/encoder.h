/* encoder.h - a sentence-transformers model directory (all-MiniLM-L6-v2 and
 * other BERT models with mean pooling) read and run in C: text in, one
 * L2-normalised vector per text out, as SentenceTransformer.encode gives.
 *
 * The directory holds config.json (the BERT shape), tokenizer.json
 * (io/wordpiece.h), model.safetensors (io/safetensors.h), and optionally
 * sentence_bert_config.json (max_seq_length, default the model's positions)
 * and 1_Pooling/config.json (which must say mean pooling). */
#ifndef RS_ENCODER_H
#define RS_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "nn/bert.h"

struct rs_wordpiece;

struct rs_encoder {
    struct rs_wordpiece *wp;
    struct rs_bert bert;
    size_t max_len; /* ids per text, [CLS] and [SEP] included */
};

/* Loads dir. A config other than a BERT with GELU and absolute positions,
 * a tensor missing, of another shape than the config gives or of a dtype
 * other than F32/F16/BF16, a tokenizer vocabulary larger than the model's,
 * or a pooling other than the mean: RS_ERR_FORMAT naming the file and the
 * key or tensor. */
int rs_encoder_load(struct rs_encoder *e, const char *dir);
void rs_encoder_free(struct rs_encoder *e);

/* Called from the calling thread as texts complete (done of n so far). */
typedef void (*rs_encoder_progress_fn)(void *ctx, size_t done);

/* Embeds texts[i] (lens[i] bytes of UTF-8), i < n, into out (n × hidden):
 * tokenised, sorted by token count, cut into batches of `batch` texts run
 * on `threads` workers. The batches do not depend on threads: any count
 * gives the same bits. progress may be NULL. */
void rs_encoder_embed(const struct rs_encoder *e, const char *const *texts, const size_t *lens, size_t n,
                      size_t batch, int threads, float *out, rs_encoder_progress_fn progress, void *ctx);
/* The ids of text[0..len) (room for e->max_len); returns their count. */
size_t rs_encoder_tokens(const struct rs_encoder *e, const char *text, size_t len, int32_t *ids);

#endif
