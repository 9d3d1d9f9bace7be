/* vocab.h - vocabularies: tokens (string ids, categories, words) -> dense ids.
 *
 * Id 0 is reserved: the out-of-vocabulary token and the missing value. The V
 * known tokens have ids 1..V, most frequent first, equal counts in bytewise
 * order of the tokens (shorter first when one is a prefix of the other). An
 * unknown token maps to 0, or, with B hashed buckets, to
 *     V + 1 + XXH3_64bits(token) % B,
 * so an embedding table over the vocabulary has rs_vocab_nids(v, B) = 1 + V + B
 * rows. A token is a byte string (a TSV field's escapes undone, schemas/tsv.md);
 * the empty string is a missing value, never a token. The file format (TSV:
 * id, token, count) is specified in schemas/vocab.md. Built on strmap.h.
 */
#ifndef RS_VOCAB_H
#define RS_VOCAB_H

#include <stddef.h>
#include <stdint.h>

struct rs_tsv;
struct rs_writer;

/* ---- counting tokens (rs-vocab build) ---- */

struct rs_vocab_counter;

/* A counter sized for about expected distinct tokens (it grows as needed). */
struct rs_vocab_counter *rs_vocab_counter_new(size_t expected);
/* NULL is a no-op. */
void rs_vocab_counter_free(struct rs_vocab_counter *c);
/* Counts n occurrences of token tok (len bytes); an empty token is ignored. */
void rs_vocab_counter_add(struct rs_vocab_counter *c, const char *tok, size_t len, uint64_t n);
/* Number of distinct tokens counted so far. */
size_t rs_vocab_counter_size(const struct rs_vocab_counter *c);
/* The vocabulary of the tokens counted at least min_count times, the
 * max_size (0: no limit) most frequent of them; the count of id 0 is the
 * number of occurrences of the tokens left out. c is left unchanged. */
struct rs_vocab *rs_vocab_counter_finish(const struct rs_vocab_counter *c, uint64_t min_count,
                                         size_t max_size);

/* ---- using a vocabulary ---- */

struct rs_vocab;

/* Reads a vocabulary file (schemas/vocab.md) at path ("-": stdin; zstd and
 * CSV as everywhere). Returns 0, or RS_ERR_* with "'file' line N: column
 * 'x': ..." for a malformed file (ids not 0, 1, 2..., a token at id 0, an
 * empty or repeated token, a bad count). */
int rs_vocab_load(struct rs_vocab **v, const char *path);
/* Writes v as a vocabulary file (header and rows 0..V) to w. Returns 0 or
 * the writer's error. */
int rs_vocab_write(const struct rs_vocab *v, struct rs_writer *w);
/* NULL is a no-op. */
void rs_vocab_free(struct rs_vocab *v);

/* V: the number of known tokens (ids 1..V). */
size_t rs_vocab_size(const struct rs_vocab *v);
/* Ids a lookup with nbuckets buckets can return: 1 + V + nbuckets. */
uint64_t rs_vocab_nids(const struct rs_vocab *v, uint64_t nbuckets);
/* Id of token tok: 1..V if known; else 0 when nbuckets is 0 or tok is empty,
 * else V + 1 + XXH3_64bits(tok) % nbuckets. */
uint64_t rs_vocab_id(const struct rs_vocab *v, const char *tok, size_t len, uint64_t nbuckets);
/* Token of id 1..V (NUL-terminated, its length in *len if len is not NULL),
 * or NULL for 0, a bucket or any other id. */
const char *rs_vocab_token(const struct rs_vocab *v, uint64_t id, size_t *len);
/* Count of id 0..V recorded in the vocabulary (0 for any other id). */
uint64_t rs_vocab_count(const struct rs_vocab *v, uint64_t id);

#endif
