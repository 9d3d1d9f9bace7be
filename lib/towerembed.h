/* towerembed.h - a feature table through a trained tower, chunk by chunk:
 * the loop rs-embed writes out and rs-serve keeps in memory. */
#ifndef RS_TOWEREMBED_H
#define RS_TOWEREMBED_H

#include <stddef.h>

struct rs_tower;
struct rs_tsv;

#define RS_TOWER_EMBED_CHUNK 1024

/* Called per chunk: ids[0..n) (lens[i] bytes each, valid during the call)
 * and their L2-normalised embeddings z (n × d). A negative return stops. */
typedef int (*rs_tower_embed_fn)(void *ctx, char **ids, const size_t *lens, const float *z, size_t n);

/* Binds side's features to table tb and embeds every row, id from column
 * idcol, in chunks of RS_TOWER_EMBED_CHUNK: memory is one chunk. Rows with
 * an empty id or a bad field are errors naming file, line and column. */
int rs_tower_embed_table(struct rs_tower *t, int side, struct rs_tsv *tb, const char *idcol,
                         rs_tower_embed_fn fn, void *ctx);

#endif
