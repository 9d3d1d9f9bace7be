/* export.h - models and vectors out to other runtimes, as files they read
 * natively:
 *   .npy          NumPy's array file (format 1.0 / 2.0, numpy/lib/format.py,
 *                 NEP 1): magic, a Python-literal header, raw little-endian
 *                 data, C order;
 *   .npz          a zip of .npy members (what numpy.savez writes), here one
 *                 per RSM tensor plus "sections.json" (the model's JSON
 *                 sections); written with libzip, members stored;
 *   .safetensors  Hugging Face's format: u64 header length, a JSON header
 *                 {name: {dtype, shape, data_offsets}, "__metadata__":
 *                 {"sections": JSON text}}, the raw data.
 * Tensors keep the RSM's names, dtypes, shapes and bytes (schemas/rsm.md):
 * a vocabulary is its u8 blob of NUL-terminated tokens in id order.
 * Everything is written to an rs_writer, so outputs stay atomic. The whole
 * output is built in memory first for .npz (libzip needs to seek). */
#ifndef RS_EXPORT_H
#define RS_EXPORT_H

#include <stddef.h>
#include <stdint.h>

struct rs_rsm;
struct rs_writer;
struct rs_rsb_reader;

/* The .npy header of an array (descr such as "<f4", ndim 1..4 dims in C
 * order) into buf, which has room for RS_NPY_HEADER_MAX bytes; returns its
 * length, a multiple of 64 so the data that follows is aligned. */
#define RS_NPY_HEADER_MAX 256
size_t rs_npy_header(char *buf, const char *descr, int ndim, const uint64_t *shape);

/* The model's tensors as .npz or .safetensors. 0 or < 0 (RS_ERR_IO from
 * the writer; RS_ERR_FORMAT if libzip fails). */
int rs_export_rsm_npz(const struct rs_rsm *m, struct rs_writer *w);
int rs_export_rsm_safetensors(const struct rs_rsm *m, struct rs_writer *w);

/* The vectors of an RSB stream as one float32 .npy of shape (rows, dims),
 * rows in stream order (decoded from f16/i8). Reads the stream to its end
 * (every block verified) before writing anything: a corrupt stream is its
 * reader's error and nothing is written. */
int rs_export_rsb_npy(struct rs_rsb_reader *r, struct rs_writer *w);

#endif
