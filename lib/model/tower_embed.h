/* tower_embed.h - a feature table through a trained tower, chunk by chunk:
 * the loop rs-embed writes out and rs-serve keeps in memory; and one entity
 * given by named values (rs-serve's request features). */
#ifndef RS_TOWER_EMBED_H
#define RS_TOWER_EMBED_H

#include <stddef.h>

struct rs_tower;
struct rs_tsv;
struct rs_strmap;

#define RS_TOWER_EMBED_CHUNK 1024

/* Called per chunk: ids[0..n) (lens[i] bytes each, valid during the call)
 * and their L2-normalised embeddings z (n × d). A negative return stops. */
typedef int (*rs_tower_embed_fn)(void *ctx, char **ids, const size_t *lens, const float *z, size_t n);

/* Binds side's features to table tb and embeds every row, id from column
 * idcol, in chunks of RS_TOWER_EMBED_CHUNK: memory is one chunk. A chunk's
 * forward passes run on threads workers, in blocks of a fixed size: any
 * count gives the same bits. Rows with an empty id or a bad field are
 * errors naming file, line and column. With unique non-NULL, each id is
 * interned there in row order, and an id given twice is such an error. */
int rs_tower_embed_table(struct rs_tower *t, int side, struct rs_tsv *tb, const char *idcol, int threads,
                         struct rs_strmap *unique, rs_tower_embed_fn fn, void *ctx);

/* Embeds one entity of side given by named values (rs_enc_add_fields) into
 * z (t->d floats, L2-normalised): the forward pass rs_tower_embed_table runs
 * on a table row with these columns and values. Errors: rs_enc_add_fields'. */
int rs_tower_embed_fields(const struct rs_tower *t, int side, const char *const *names, const char *const *vals,
                          size_t nvals, const char *id, float *z);

#endif
