/* wordpiece.h - BERT's WordPiece tokeniser as a HF tokenizer.json defines it
 * (the tokenizers library's BertNormalizer, BertPreTokenizer, WordPiece model
 * and [CLS] ... [SEP] template), so the ids are those sentence-transformers
 * feeds its model:
 *
 *   added tokens    the special tokens ("[CLS]", ...) found verbatim in the
 *                   raw text become their ids, longest first
 *   normaliser      drop NUL, U+FFFD and category C* characters, other white
 *                   space becomes ' ' (clean_text); spaces around CJK
 *                   ideographs; canonical decomposition minus nonspacing
 *                   marks (strip_accents, on when null and lowercase); lower case
 *   pre-tokeniser   split at white space, each punctuation character a word
 *   WordPiece       greedy longest match from the left, continuation pieces
 *                   prefixed ("##"); a word with no match, or longer than
 *                   max_input_chars_per_word characters, is one unk token
 *   template        [CLS] pieces [SEP], the pieces cut to max_len - 2
 *
 * Invalid UTF-8 decodes to U+FFFD, which the normaliser drops. */
#ifndef RS_WORDPIECE_H
#define RS_WORDPIECE_H

#include <stddef.h>
#include <stdint.h>

struct rs_wordpiece;

/* Loads path (tokenizer.json). Anything but the BERT pieces above (another
 * model, normaliser, pre-tokeniser or template), a vocabulary whose ids are
 * not 0..n-1 once each, or a missing unk/[CLS]/[SEP] token is RS_ERR_FORMAT
 * naming the file and the JSON path. */
int rs_wordpiece_load(struct rs_wordpiece **wp, const char *path);
void rs_wordpiece_free(struct rs_wordpiece *wp);
/* The vocabulary size: every id is below it. */
size_t rs_wordpiece_vocab_size(const struct rs_wordpiece *wp);
/* Tokenises text[0..n) into ids (room for max_len >= 2): [CLS], at most
 * max_len - 2 pieces, [SEP]. Returns the number of ids. Thread-safe. */
size_t rs_wordpiece_encode(const struct rs_wordpiece *wp, const char *text, size_t n, size_t max_len,
                           int32_t *ids);

#endif
