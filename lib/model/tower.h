/* tower.h - the two-tower retrieval model (Covington et al. 2016; Yi et al.
 * 2019): a JSON feature config, feature encoders, the user and item towers
 * on lib/nn/nn, and their RSM model file.
 *
 * Each tower: features → concat → Dense(h, ReLU)… → Dense(d) → L2 normalise,
 * with hidden sizes h = [2d] unless the config's "hidden_layers" says
 * otherwise. Feature types (schemas/tower-config.md):
 *   string      vocabulary id → embedding; "list": true averages a comma list
 *   int         integer category (canonical decimal) → embedding
 *   text        lower-cased alnum words and bigrams, hashed into "buckets"
 *               rows, averaged
 *   numeric     (x - mean)/std over the training entities, "log1p" first if
 *               asked; a missing value is 0 (the mean)
 *   pretrained  a vector from the RSB at "path", keyed by the column value,
 *               → Dense(embedding_size, ReLU); missing id: zero vector
 *   sequence    comma list of item ids (last "max_length"), looked up in the
 *               item feature "shares" names (default: the item id feature),
 *               averaged
 * Id 0 of every vocabulary is the missing/unknown value, a zero-initialised
 * row; "oov_buckets" > 0 hashes unknown tokens to extra rows (vocab.h).
 * "behavioural": true marks features zeroed by feature dropout (default:
 * sequence features and the user id feature).
 *
 * Entities (users, items) are encoded once into a struct rs_enc (CSR ids per
 * feature, or a value for numeric); a batch is a list of entity rows.
 */
#ifndef RS_TOWER_H
#define RS_TOWER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/nn.h"
#include "io/rsb.h"

struct rs_tsv;
struct rs_rsm;
struct rs_vocab;
struct rs_vocab_counter;

enum rs_feat_type {
    RS_FEAT_STRING = 1,
    RS_FEAT_INT = 2,
    RS_FEAT_TEXT = 3,
    RS_FEAT_NUMERIC = 4,
    RS_FEAT_PRETRAINED = 5,
    RS_FEAT_SEQUENCE = 6,
};

enum rs_side {
    RS_SIDE_USER = 0,
    RS_SIDE_ITEM = 1,
};

#define RS_TOWER_MAX_LAYERS 8

struct rs_feat {
    char *name, *column;
    int type;
    size_t emb;            /* embedding_size */
    size_t width;          /* columns in the concat: emb, or 1 for numeric */
    int list, bigrams, log1p, behavioural;
    uint64_t buckets;      /* string/int: OOV buckets; text: hash buckets */
    uint64_t min_count;
    size_t max_len;        /* sequence: keep the last max_len ids */
    int attention;         /* sequence: attention pooling, else mean */
    double mean, std;      /* numeric */
    double sum, sumsq;     /* numeric statistics while counting */
    uint64_t nstat;
    char *path;            /* pretrained RSB */
    struct rs_embset pre;
    size_t pre_dims;
    char *shares;          /* sequence: item feature name */
    struct rs_feat *src;   /* sequence: resolved item feature */
    struct rs_vocab *vocab;
    struct rs_vocab_counter *counter;
    char *vblob;           /* model file: NUL-separated tokens, id order */
    size_t vblob_len;
    uint64_t *vcounts;     /* model file: counts of ids 1..V */
    size_t rows;           /* embedding table rows */
    int table, proj_w, proj_b; /* parameter indices or -1 */
    int query;             /* attention pooling: the learned query (1, emb), or -1 */
    int col;               /* bound column of the current table, -1 none */
};

struct rs_tower_side {
    struct rs_feat *f;
    size_t nf;
    size_t din;                           /* concat width */
    size_t nlayers;                       /* dense layers, the last one to d */
    size_t dims[RS_TOWER_MAX_LAYERS + 1]; /* dims[0] = din ... dims[nlayers] = d */
    int w[RS_TOWER_MAX_LAYERS], b[RS_TOWER_MAX_LAYERS];
    const char *id_col;                   /* "user_id" / "item_id" */
};

struct rs_tower {
    size_t d;
    struct rs_tower_side side[2];
    struct rs_params p;
    json_t *config; /* the normalised config */
};

/* Parses a feature config (JSON object with user_embedding_layers and
 * item_embedding_layers) for final embedding size d (0: the config's
 * "embedding_size", else 64). Unknown types or keys, bad sizes, an unknown
 * "shares" target: RS_ERR_FORMAT naming the feature. name is for messages. */
int rs_tower_parse(struct rs_tower *t, const json_t *config, size_t d, const char *name);
/* Frees everything; a zeroed struct is a no-op. */
void rs_tower_free(struct rs_tower *t);
/* Column names: the id column of a side (default "user_id"/"item_id"). */
void rs_tower_set_id_col(struct rs_tower *t, int side, const char *col);
/* The table column (and request parameter) feature k of side reads. */
const char *rs_tower_column(const struct rs_tower *t, int side, size_t k);
/* Whether feature k of a side describes behaviour (history, the user id):
 * the features that feature dropout may blank. */
int rs_tower_behavioural(const struct rs_tower *t, int side, size_t k);
/* "user" / "item", and a feature type's config name ("string", "text"...). */
const char *rs_tower_side_name(int side);
const char *rs_feat_type_name(int type);

/* Binds every feature of side to its column of table tb (-1 when the table
 * lacks it). With require, a feature column the table lacks is an error
 * naming the feature, the column and the file. */
int rs_tower_bind(struct rs_tower *t, int side, const struct rs_tsv *tb, int require);
/* Loads the RSB files of pretrained features. */
int rs_tower_load_pretrained(struct rs_tower *t);

/* Vocabulary building (training): counts the current row of tb (or, when tb
 * is NULL, an entity known only by its id) into the side's counters and
 * numeric statistics. */
int rs_tower_count(struct rs_tower *t, int side, const struct rs_tsv *tb, const char *id, size_t idlen);
/* Turns counters into vocabularies and statistics; sizes the tables. Item
 * side first (sequence features need the item vocabularies). */
void rs_tower_finish_vocab(struct rs_tower *t, int side);
/* Declares and allocates the parameters and initialises them from seed. */
void rs_tower_init_params(struct rs_tower *t, uint64_t seed);

/* Encoded entities of one side. */
struct rs_enc_feat {
    uint32_t *off;  /* (n+1) CSR offsets; NULL for numeric */
    uint32_t *ids;  /* (off[n]) */
    float *val;     /* numeric: (n) */
    size_t cap_ids;
};
struct rs_enc {
    size_t n, cap, nf;
    struct rs_enc_feat *f;
};
void rs_enc_init(struct rs_enc *e, const struct rs_tower *t, int side);
void rs_enc_reset(struct rs_enc *e);
void rs_enc_free(struct rs_enc *e);
/* Appends the current row of tb (bound with rs_tower_bind), or with tb NULL
 * an entity known only by id. Bad fields are errors naming file, line and
 * column. */
int rs_enc_add(struct rs_enc *e, const struct rs_tower *t, int side, const struct rs_tsv *tb,
               const char *id, size_t idlen);
/* Appends an entity given by named values instead of a table row (rs-serve's
 * request parameters): feature k reads the value named like its column
 * (names[j] equal to the column: vals[j], NUL-terminated), else, for the id
 * column, id, else missing; so a table row with these columns and values
 * encodes the same. A bad value: RS_ERR_USAGE "parameter 'COLUMN': ...". */
int rs_enc_add_fields(struct rs_enc *e, const struct rs_tower *t, int side, const char *const *names,
                      const char *const *vals, size_t nvals, const char *id);

/* Activations of one tower for one batch, carved from an arena. */
struct rs_tower_act {
    size_t B;
    uint32_t **ids, **off; /* per feature: the batch's CSR */
    float **out;           /* per feature: (B, width) */
    float **pre;           /* pretrained: gathered inputs (B, pre dims) */
    float **alpha;         /* attention pooling: the bag's weights (off[B]) */
    float *x;              /* (B, din) */
    float *h[RS_TOWER_MAX_LAYERS + 1]; /* h[l]: output of layer l-1, h[0] = x */
    float *z, *norm;       /* (B, d), (B) */
    float **dout;          /* backward: per feature, the gradient of out */
};

/* Forward pass of side over entity rows rows[0..B) of e. drop (B) or NULL:
 * rows whose behavioural features are zeroed. Writes act (arena memory). */
void rs_tower_forward(const struct rs_tower *t, int side, const struct rs_enc *e,
                      const uint32_t *rows, size_t B, const uint8_t *drop, struct rs_arena *a,
                      struct rs_tower_act *act);
/* Backward from dz (B, d): accumulates into the parameter gradients. With
 * RS_TOWER_DEFER_SHARED, sequence features (which write the gradient of an
 * item-side table) are left to rs_tower_backward_shared, so that the user and
 * item towers can run their backward passes on two threads; calling it after
 * the item tower's backward gives the same bits as the serial order, on any
 * number of threads (they split the table by rows). */
enum { RS_TOWER_DEFER_SHARED = 1 };
void rs_tower_backward(struct rs_tower *t, int side, struct rs_tower_act *act, const float *dz,
                       struct rs_arena *a, int flags);
void rs_tower_backward_shared(struct rs_tower *t, int side, const struct rs_tower_act *act, int threads);

/* Embeds all e->n rows of e (side) into out (e->n, d), in chunks, without
 * dropout; a is reset between chunks. */
void rs_tower_embed(const struct rs_tower *t, int side, const struct rs_enc *e, struct rs_arena *a, float *out);

/* Adds the model (sections "model", "config", "features"; vocabularies and
 * weights as tensors) to m. The tower must outlive m's save. */
void rs_tower_to_rsm(struct rs_tower *t, struct rs_rsm *m);
/* Rebuilds a trained tower from a model file: config, vocabularies,
 * statistics, weights (pretrained RSBs are not loaded). */
int rs_tower_from_rsm(struct rs_tower *t, const struct rs_rsm *m);

#endif
