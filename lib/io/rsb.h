/* rsb.h - RSB, the binary stream of id-keyed dense vectors.
 *
 * Header (signature, version, dtype, dims, metadata), then blocks of rows
 * each with its own XXH3 checksum, then an end block with the row count. A
 * writer streams without seeking; a reader detects truncation and corruption
 * behind a pipe. Byte layout: schemas/rsb.md.
 */
#ifndef RS_RSB_H
#define RS_RSB_H

#include <stddef.h>
#include <stdint.h>

struct rs_reader;
struct rs_writer;
struct rs_strmap;

enum rs_dtype {
    RS_F32 = 1,
    RS_F16 = 2,
    RS_I8 = 3, /* symmetric int8 with one f32 scale per row */
};

#define RS_RSB_MAX_DIMS 65536u
#define RS_RSB_MAX_ID 65535u /* bytes of an id (a u16 length) */
#define RS_F16_MAX 65504.0f /* the largest finite half */
#define RS_RSB_SIGNATURE "\x89RSB\r\n\x1a\n"

/* 1 if the first bytes of a stream are the RSB signature. */
int rs_rsb_sniff(const unsigned char *p, size_t n);
const char *rs_dtype_name(int dtype);
/* Parses "f32", "f16", "i8"; returns the dtype or RS_ERR_USAGE. */
int rs_dtype_parse(const char *s);

struct rs_rsb_reader;

/* Reads and checks the header. Takes ownership of in. */
int rs_rsb_open_reader(struct rs_rsb_reader **r, struct rs_reader *in);
int rs_rsb_open(struct rs_rsb_reader **r, const char *path);
uint32_t rs_rsb_dims(const struct rs_rsb_reader *r);
int rs_rsb_dtype(const struct rs_rsb_reader *r);
int rs_rsb_version_minor(const struct rs_rsb_reader *r);
/* Metadata value for key, or NULL. */
const char *rs_rsb_meta(const struct rs_rsb_reader *r, const char *key);
/* The whole metadata text: "key\tvalue\n" lines. */
const char *rs_rsb_meta_text(const struct rs_rsb_reader *r);
/* Next row: id (not NUL-terminated, valid until the next call) and the
 * vector decoded to f32 into vec[dims]. Returns 0, RS_ERR_EOF after a valid
 * end block, or RS_ERR_CORRUPT / RS_ERR_FORMAT naming the row (and its id
 * for a value that is not finite or beyond +-RS_NUM_VEC_MAX, core/num.h). */
int rs_rsb_next(struct rs_rsb_reader *r, const char **id, size_t *idlen, float *vec);
void rs_rsb_close(struct rs_rsb_reader *r);

struct rs_rsb_writer;

/* Writes the header to out (which the caller still owns and closes).
 * meta: "key\tvalue\n" lines or NULL. */
int rs_rsb_writer_init(struct rs_rsb_writer **w, struct rs_writer *out, uint32_t dims,
                       int dtype, const char *meta);
/* Appends one row; ids are 1..65535 bytes, values finite and within
 * +-RS_NUM_VEC_MAX (core/num.h), and within +-RS_F16_MAX for f16: anything
 * else is RS_ERR_FORMAT naming the id, never an Inf in the file. */
int rs_rsb_write(struct rs_rsb_writer *w, const char *id, size_t idlen, const float *vec);
/* Flushes the last block and writes the end block; frees w. */
int rs_rsb_writer_finish(struct rs_rsb_writer *w);
/* Frees w without finishing (the caller aborts the output). NULL: no-op. */
void rs_rsb_writer_free(struct rs_rsb_writer *w);

/* A whole RSB file in memory: row i has id rs_strmap key i and vector
 * x[i*dims .. (i+1)*dims). Duplicate ids are an error. */
struct rs_embset {
    size_t n;
    uint32_t dims;
    float *x;
    struct rs_strmap *ids;
    char *meta;
};
int rs_embset_load(struct rs_embset *e, const char *path);
/* Same from a reader already open (bytes peeked from it are not lost); takes
 * ownership of in. */
int rs_embset_read(struct rs_embset *e, struct rs_reader *in);
void rs_embset_free(struct rs_embset *e);

/* IEEE 754 half <-> single, round to nearest even. */
uint16_t rs_f32_to_f16(float f);
float rs_f16_to_f32(uint16_t h);

#endif
