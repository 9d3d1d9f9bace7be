/* safetensors.h - the safetensors tensor file (Hugging Face): an 8-byte
 * little-endian header length, a JSON header mapping each tensor name to
 * {"dtype", "shape", "data_offsets": [begin, end]} (plus an optional
 * "__metadata__" object of strings), then the raw little-endian data that
 * the offsets index. https://github.com/huggingface/safetensors */
#ifndef RS_SAFETENSORS_H
#define RS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define RS_ST_MAX_DIMS 8

struct rs_st_tensor {
    char *name;
    char dtype[8]; /* "F32", "F16", "BF16", "I64", ... */
    size_t ndim;
    uint64_t shape[RS_ST_MAX_DIMS];
    uint64_t begin, end; /* byte range in the data section */
};

struct rs_safetensors {
    char *path;
    size_t n;
    struct rs_st_tensor *t;
    unsigned char *data; /* the data section */
    size_t data_len;
};

/* Reads path whole and checks its header: the length fits the file, the
 * JSON parses, every dtype is a safetensors dtype, each tensor's byte range
 * lies in the data section, matches its shape and dtype and overlaps no
 * other. Errors are RS_ERR_FORMAT (RS_ERR_CORRUPT when truncated) naming
 * the file and the tensor. */
int rs_safetensors_load(struct rs_safetensors **st, const char *path);
void rs_safetensors_free(struct rs_safetensors *st);
/* The tensor named name, or NULL. */
const struct rs_st_tensor *rs_safetensors_find(const struct rs_safetensors *st, const char *name);
/* Copies tensor name into out as f32, widening F16 and BF16. Missing, of
 * another dtype, or of a shape other than shape[0..ndim): RS_ERR_FORMAT
 * naming the file and the tensor. */
int rs_safetensors_f32(const struct rs_safetensors *st, const char *name, size_t ndim, const size_t *shape,
                       float *out);

#endif
