/* rsm.h - RSM, the model file: a JSON header (named sections: config,
 * vocabularies, normalisation statistics... and a tensor directory) followed
 * by the tensors' bytes, each part under an XXH3-64 checksum. Generic: the
 * two-tower model, rs-rank and rs-serve store their models in it. Byte
 * layout: schemas/rsm.md.
 *
 * Writing: rs_rsm_new, rs_rsm_set_section / rs_rsm_add_tensor, rs_rsm_save
 * (through rs_writer: temporary name, rename on success). Reading:
 * rs_rsm_load verifies everything and holds the whole file in memory.
 */
#ifndef RS_RSM_H
#define RS_RSM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct rs_reader;

#define RS_RSM_SIGNATURE "\x89RSM\r\n\x1a\n"
#define RS_RSM_MAX_DIMS 4

enum rs_rsm_dtype {
    RS_RSM_F32 = 1,
    RS_RSM_I32 = 2,
    RS_RSM_U8 = 3, /* raw bytes: blobs such as NUL-separated vocabularies */
    RS_RSM_F64 = 4,
    RS_RSM_U64 = 5,
};

struct rs_rsm_tensor {
    char *name;
    int dtype;
    int ndim;
    uint64_t shape[RS_RSM_MAX_DIMS];
    uint64_t offset; /* in the data section */
    uint64_t nbytes;
    const void *data; /* borrowed (writer) or into the loaded file (reader) */
};

struct rs_rsm;

/* 1 if the first bytes of a stream are the RSM signature. */
int rs_rsm_sniff(const unsigned char *p, size_t n);
const char *rs_rsm_dtype_name(int dtype);

/* An empty model to fill and save. */
struct rs_rsm *rs_rsm_new(void);
/* Sets the named JSON section to v (m takes its own reference: the caller
 * still decrefs v); replaces an older one. */
void rs_rsm_set_section(struct rs_rsm *m, const char *name, json_t *v);
/* Adds a tensor whose bytes the caller keeps alive until rs_rsm_save. shape
 * has ndim (1..4) entries. Names are unique: a duplicate is RS_ERR_USAGE. */
int rs_rsm_add_tensor(struct rs_rsm *m, const char *name, int dtype, int ndim, const uint64_t *shape,
                      const void *data);
/* Writes the model to path atomically (".zst" compresses). 0 or < 0; an f32
 * or f64 tensor holding a value that is not finite or beyond
 * +-RS_NUM_VEC_MAX (core/num.h) is RS_ERR_FORMAT and writes nothing, as the
 * loader refuses it. */
int rs_rsm_save(const struct rs_rsm *m, const char *path);

/* Reads and verifies a model (signature, version, both checksums, the
 * directory against the data size, float values as rs_rsm_save does). Takes ownership of in. */
int rs_rsm_load_reader(struct rs_rsm **m, struct rs_reader *in);
int rs_rsm_load(struct rs_rsm **m, const char *path);
void rs_rsm_free(struct rs_rsm *m);

int rs_rsm_version_minor(const struct rs_rsm *m);
/* The named section (borrowed) or NULL. */
json_t *rs_rsm_section(const struct rs_rsm *m, const char *name);
/* The whole header object {"sections": {...}, "tensors": [...]} (borrowed). */
json_t *rs_rsm_header(const struct rs_rsm *m);
size_t rs_rsm_ntensors(const struct rs_rsm *m);
const struct rs_rsm_tensor *rs_rsm_tensor_at(const struct rs_rsm *m, size_t i);
/* The named tensor or NULL. */
const struct rs_rsm_tensor *rs_rsm_tensor(const struct rs_rsm *m, const char *name);
/* The named tensor checked for dtype and element count; RS_ERR_FORMAT names
 * the tensor and what was expected. */
int rs_rsm_get(const struct rs_rsm *m, const char *name, int dtype, uint64_t count, const void **data);

#endif
