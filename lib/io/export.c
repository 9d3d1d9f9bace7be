/* export.c - .npy, .npz and .safetensors out of RSM models and RSB streams
 * (see export.h). */
#include "io/export.h"
#include "core/err.h"
#include "io/io.h"
#include "io/rsb.h"
#include "io/rsm.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

/* NumPy's and safetensors' names of the RSM dtypes (index: enum rs_rsm_dtype). */
static const char *npy_descr[] = { NULL, "<f4", "<i4", "|u1", "<f8", "<u8" };
static const char *st_dtype[] = { NULL, "F32", "I32", "U8", "F64", "U64" };

size_t rs_npy_header(char *buf, const char *descr, int ndim, const uint64_t *shape)
{
    char dict[RS_NPY_HEADER_MAX], dims[128];
    size_t n = 0;
    for (int i = 0; i < ndim; i++)
        n += (size_t)snprintf(dims + n, sizeof dims - n, "%llu,%s", (unsigned long long)shape[i],
                              i + 1 < ndim ? " " : "");
    if (ndim > 1)
        dims[n - 1] = '\0'; /* a tuple of one keeps its comma: (5,) */
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, dims);
    /* magic (6) + version (2) + u16 length (2) + dict + spaces + '\n': a
     * multiple of 64, as numpy writes it (format 1.0: the header fits a u16). */
    size_t total = (10 + (size_t)len + 1 + 63) / 64 * 64, hlen = total - 10;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)len);
    memset(buf + 10 + len, ' ', hlen - (size_t)len - 1);
    buf[total - 1] = '\n';
    return total;
}

/* The model's sections as compact JSON text (caller frees). */
static char *sections_text(const struct rs_rsm *m)
{
    return json_dumps(json_object_get(rs_rsm_header(m), "sections"), JSON_COMPACT | JSON_SORT_KEYS);
}

/* ---- .npz (libzip, in memory) ---- */

/* DOS date of 1980-01-01 00:00 for every member: same model, same bytes. */
#define ZIP_EPOCH_DATE ((1 << 5) | 1)

static int npz_fail(zip_t *za, const char *what)
{
    return rs_err_set(RS_ERR_FORMAT, "npz: %s: %s", what, za ? zip_strerror(za) : "libzip error");
}

/* Adds buf (taken: libzip frees it) as member name, stored uncompressed. */
static int npz_member(zip_t *za, const char *name, void *buf, size_t n)
{
    zip_source_t *s = zip_source_buffer(za, buf, n, 1);
    if (!s) {
        free(buf);
        return npz_fail(za, name);
    }
    zip_int64_t idx = zip_file_add(za, name, s, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        zip_source_free(s);
        return npz_fail(za, name);
    }
    if (zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0) < 0 ||
        zip_file_set_dostime(za, (zip_uint64_t)idx, 0, ZIP_EPOCH_DATE, 0) < 0)
        return npz_fail(za, name);
    return 0;
}

static int npz_add_tensor(zip_t *za, const struct rs_rsm_tensor *t)
{
    char hdr[RS_NPY_HEADER_MAX], *name = xmalloc(strlen(t->name) + 5);
    size_t hl = rs_npy_header(hdr, npy_descr[t->dtype], t->ndim, t->shape);
    char *buf = xmalloc(hl + (size_t)t->nbytes + 1);
    memcpy(buf, hdr, hl);
    memcpy(buf + hl, t->data, (size_t)t->nbytes);
    sprintf(name, "%s.npy", t->name);
    int rc = npz_member(za, name, buf, hl + (size_t)t->nbytes);
    free(name);
    return rc;
}

/* Copies the finished archive in src to w. */
static int copy_source(zip_source_t *src, struct rs_writer *w)
{
    zip_stat_t st;
    if (zip_source_stat(src, &st) < 0 || zip_source_open(src) < 0)
        return rs_err_set(RS_ERR_FORMAT, "npz: cannot read the archive back");
    char buf[1 << 16];
    zip_int64_t n;
    int rc = 0;
    while (rc == 0 && (n = zip_source_read(src, buf, sizeof buf)) > 0)
        rc = rs_writer_write(w, buf, (size_t)n);
    zip_source_close(src);
    return rc;
}

int rs_export_rsm_npz(const struct rs_rsm *m, struct rs_writer *w)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_TRUNCATE, &ze) : NULL;
    zip_error_fini(&ze);
    if (!za) {
        zip_source_free(src);
        return npz_fail(NULL, "cannot create an archive");
    }
    zip_source_keep(src); /* zip_close would free it: the archive is read from it after */
    int rc = 0;
    for (size_t i = 0; i < rs_rsm_ntensors(m) && rc == 0; i++)
        rc = npz_add_tensor(za, rs_rsm_tensor_at(m, i));
    char *text = sections_text(m);
    if (rc == 0)
        rc = npz_member(za, "sections.json", text, strlen(text));
    else
        free(text);
    if (rc == 0 && zip_close(za) < 0)
        rc = npz_fail(za, "writing the archive");
    if (rc < 0)
        zip_discard(za);
    else
        rc = copy_source(src, w);
    zip_source_free(src);
    return rc;
}

/* ---- .safetensors ---- */

static json_t *st_header(const struct rs_rsm *m)
{
    json_t *h = json_object();
    uint64_t at = 0;
    for (size_t i = 0; i < rs_rsm_ntensors(m); i++) {
        const struct rs_rsm_tensor *t = rs_rsm_tensor_at(m, i);
        json_t *shape = json_array();
        for (int d = 0; d < t->ndim; d++)
            json_array_append_new(shape, json_integer((json_int_t)t->shape[d]));
        json_object_set_new(h, t->name, json_pack("{s:s, s:o, s:[I, I]}", "dtype", st_dtype[t->dtype], "shape",
                                                  shape, "data_offsets", (json_int_t)at,
                                                  (json_int_t)(at + t->nbytes)));
        at += t->nbytes;
    }
    char *text = sections_text(m);
    json_object_set_new(h, "__metadata__", json_pack("{s:s}", "sections", text));
    free(text);
    return h;
}

int rs_export_rsm_safetensors(const struct rs_rsm *m, struct rs_writer *w)
{
    json_t *h = st_header(m);
    char *text = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(h);
    size_t n = strlen(text), padded = (n + 7) / 8 * 8; /* the data starts 8-aligned (spaces pad, as the spec allows) */
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int rc = rs_writer_write(w, len, 8) | rs_writer_write(w, text, n);
    for (size_t i = n; i < padded; i++)
        rc |= rs_writer_putc(w, ' ');
    free(text);
    for (size_t i = 0; i < rs_rsm_ntensors(m) && rc == 0; i++) {
        const struct rs_rsm_tensor *t = rs_rsm_tensor_at(m, i);
        rc = rs_writer_write(w, t->data, (size_t)t->nbytes);
    }
    return rc;
}

/* ---- RSB to .npy ---- */

int rs_export_rsb_npy(struct rs_rsb_reader *r, struct rs_writer *w)
{
    uint32_t dims = rs_rsb_dims(r);
    size_t rows = 0, cap = 1024;
    float *x = xmalloc(cap * dims * sizeof *x);
    const char *id;
    size_t idlen;
    int rc;
    for (;;) {
        if (rows == cap)
            x = xrealloc(x, (cap *= 2) * dims * sizeof *x);
        if ((rc = rs_rsb_next(r, &id, &idlen, x + rows * dims)) < 0)
            break;
        rows++;
    }
    if (rc == RS_ERR_EOF) {
        char hdr[RS_NPY_HEADER_MAX];
        size_t hl = rs_npy_header(hdr, "<f4", 2, (uint64_t[]){ rows, dims });
        rc = rs_writer_write(w, hdr, hl) | rs_writer_write(w, x, rows * dims * sizeof *x);
    }
    free(x);
    return rc;
}
