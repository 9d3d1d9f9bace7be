/* safetensors.c - reading and checking safetensors files (safetensors.h). */
#include "io/safetensors.h"
#include "core/err.h"
#include "io/config.h"
#include "io/io.h"
#include "io/rsb.h"

#include <stdlib.h>
#include <string.h>

#define MAX_HEADER (100u << 20) /* the limit the reference implementation sets */

static const struct {
    const char *name;
    unsigned size;
} dtypes[] = {
    { "F64", 8 }, { "F32", 4 }, { "F16", 2 }, { "BF16", 2 }, { "I64", 8 }, { "I32", 4 },     { "I16", 2 },
    { "I8", 1 },  { "U64", 8 }, { "U32", 4 }, { "U16", 2 },  { "U8", 1 },   { "BOOL", 1 }, { "F8_E4M3", 1 },
    { "F8_E5M2", 1 },
};

/* Bytes per element of dtype, or 0 when it is not a safetensors dtype. */
static unsigned dtype_size(const char *s)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
        if (!strcmp(s, dtypes[i].name))
            return dtypes[i].size;
    return 0;
}

/* Reads the whole of path into *buf. */
static int slurp(const char *path, unsigned char **buf, size_t *len)
{
    struct rs_reader *r;
    int rc = rs_reader_open(&r, path);
    if (rc < 0)
        return rc;
    size_t n = 0, cap = 1 << 20;
    unsigned char *b = xmalloc(cap);
    ssize_t got;
    while ((got = rs_reader_read(r, b + n, cap - n)) > 0)
        if ((n += (size_t)got) == cap)
            b = xrealloc(b, cap *= 2);
    rs_reader_close(r);
    if (got < 0) {
        free(b);
        return (int)got;
    }
    *buf = b;
    *len = n;
    return 0;
}

/* One header entry: dtype, shape and offsets, checked against the data. */
static int parse_tensor(struct rs_safetensors *st, const struct rs_cfg *root, const char *name,
                        struct rs_st_tensor *t)
{
    struct rs_cfg e, shape, offs, v;
    const char *dtype;
    int rc;
    if ((rc = rs_cfg_object(root, name, 1, &e)) < 0 || (rc = rs_cfg_keys(&e, "dtype shape data_offsets")) < 0 ||
        (rc = rs_cfg_str(&e, "dtype", NULL, &dtype)) < 0 || (rc = rs_cfg_array(&e, "shape", 1, &shape)) < 0 ||
        (rc = rs_cfg_array(&e, "data_offsets", 1, &offs)) < 0)
        return rc;
    unsigned esize = dtype ? dtype_size(dtype) : 0;
    if (!esize)
        return rs_cfg_expected(&e, "dtype", "a safetensors dtype (F32, F16, BF16, I64, ...)");
    strcpy(t->dtype, dtype);
    t->ndim = json_array_size(shape.v);
    if (t->ndim > RS_ST_MAX_DIMS)
        return rs_cfg_expected(&e, "shape", "at most 8 dimensions");
    uint64_t bytes = esize;
    for (size_t i = 0; i < t->ndim; i++) {
        long long d;
        rs_cfg_elem(&v, &shape, i);
        if ((rc = rs_cfg_int(&v, NULL, 0, 0, 1LL << 40, &d)) < 0)
            return rc;
        t->shape[i] = (uint64_t)d;
        if (d && bytes > UINT64_MAX / (uint64_t)d)
            return rs_cfg_fail(&e, "shape", "more bytes than a file can hold");
        bytes *= (uint64_t)d;
    }
    long long be[2];
    if (json_array_size(offs.v) != 2)
        return rs_cfg_expected(&e, "data_offsets", "[begin, end]");
    for (size_t i = 0; i < 2; i++) {
        rs_cfg_elem(&v, &offs, i);
        if ((rc = rs_cfg_int(&v, NULL, 0, 0, (long long)st->data_len, &be[i])) < 0)
            return rs_err_set(RS_ERR_CORRUPT, "%s (the data section holds %zu bytes: truncated?)", rs_err_msg(),
                              st->data_len);
    }
    t->begin = (uint64_t)be[0];
    t->end = (uint64_t)be[1];
    if (t->end < t->begin || t->end - t->begin != bytes)
        return rs_cfg_fail(&e, "data_offsets", "[%llu, %llu] holds %llu bytes, the shape and dtype %llu",
                           (unsigned long long)t->begin, (unsigned long long)t->end,
                           (unsigned long long)(t->end - t->begin), (unsigned long long)bytes);
    return 0;
}

static int by_begin(const void *a, const void *b)
{
    const struct rs_st_tensor *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : x->end < y->end ? -1 : x->end > y->end;
}

static int parse_header(struct rs_safetensors *st, const json_t *j)
{
    struct rs_cfg root;
    rs_cfg_root(&root, j, st->path);
    if (!json_is_object(j))
        return rs_cfg_expected(&root, NULL, "a JSON object");
    st->t = xcalloc(json_object_size(j) + 1, sizeof *st->t);
    const char *key;
    json_t *val;
    int rc = 0;
    json_object_foreach((json_t *)j, key, val) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(val))
                return rs_cfg_expected(&root, key, "an object");
            continue;
        }
        struct rs_st_tensor *t = &st->t[st->n++];
        t->name = xstrdup(key);
        if ((rc = parse_tensor(st, &root, key, t)) < 0)
            return rc;
    }
    struct rs_st_tensor *s = xmalloc((st->n + 1) * sizeof *s);
    memcpy(s, st->t, st->n * sizeof *s);
    qsort(s, st->n, sizeof *s, by_begin);
    for (size_t i = 1; i < st->n && rc == 0; i++)
        if (s[i].begin < s[i - 1].end)
            rc = rs_err_set(RS_ERR_FORMAT, "'%s': tensors '%s' and '%s' overlap", st->path, s[i - 1].name, s[i].name);
    free(s);
    return rc;
}

int rs_safetensors_load(struct rs_safetensors **out, const char *path)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = slurp(path, &buf, &len);
    if (rc < 0)
        return rc;
    struct rs_safetensors *st = xcalloc(1, sizeof *st);
    st->path = xstrdup(path);
    uint64_t hlen = 0;
    for (int i = 7; len >= 8 && i >= 0; i--)
        hlen = hlen << 8 | buf[i];
    json_t *j = NULL;
    if (len < 8 || hlen > len - 8)
        rc = rs_err_set(RS_ERR_CORRUPT, "'%s': truncated: a %zu-byte file cannot hold a %llu-byte header", path, len,
                        (unsigned long long)hlen);
    else if (hlen > MAX_HEADER)
        rc = rs_err_set(RS_ERR_FORMAT, "'%s': a %llu-byte header is beyond the 100 MiB limit", path,
                        (unsigned long long)hlen);
    else if ((rc = rs_config_parse(&j, (const char *)buf + 8, (size_t)hlen, path)) == 0) {
        st->data = buf + 8 + hlen;
        st->data_len = len - 8 - (size_t)hlen;
        memmove(buf, st->data, st->data_len);
        st->data = buf;
        buf = NULL;
        rc = parse_header(st, j);
    }
    json_decref(j);
    free(buf);
    if (rc < 0) {
        rs_safetensors_free(st);
        return rc;
    }
    *out = st;
    return 0;
}

void rs_safetensors_free(struct rs_safetensors *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++)
        free(st->t[i].name);
    free(st->t);
    free(st->data);
    free(st->path);
    free(st);
}

const struct rs_st_tensor *rs_safetensors_find(const struct rs_safetensors *st, const char *name)
{
    for (size_t i = 0; i < st->n; i++)
        if (!strcmp(st->t[i].name, name))
            return &st->t[i];
    return NULL;
}

/* "[384, 1536]" for messages. */
static void shape_text(char *dst, size_t cap, size_t ndim, const uint64_t *shape)
{
    size_t k = (size_t)snprintf(dst, cap, "[");
    for (size_t i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(dst + k, cap - k, "%s%llu", i ? ", " : "", (unsigned long long)shape[i]);
    if (k < cap)
        snprintf(dst + k, cap - k, "]");
}

int rs_safetensors_f32(const struct rs_safetensors *st, const char *name, size_t ndim, const size_t *shape,
                       float *out)
{
    const struct rs_st_tensor *t = rs_safetensors_find(st, name);
    if (!t)
        return rs_err_set(RS_ERR_FORMAT, "'%s': no tensor '%s' (not a BERT model?)", st->path, name);
    uint64_t want[RS_ST_MAX_DIMS];
    for (size_t i = 0; i < ndim; i++)
        want[i] = shape[i];
    if (t->ndim != ndim || memcmp(t->shape, want, ndim * sizeof *want)) {
        char got[128], exp[128];
        shape_text(got, sizeof got, t->ndim, t->shape);
        shape_text(exp, sizeof exp, ndim, want);
        return rs_err_set(RS_ERR_FORMAT, "'%s': tensor '%s' has shape %s, the config says %s", st->path, name, got,
                          exp);
    }
    const unsigned char *p = st->data + t->begin;
    size_t n = (size_t)(t->end - t->begin) / dtype_size(t->dtype);
    if (!strcmp(t->dtype, "F32")) {
        memcpy(out, p, n * sizeof *out);
        return 0;
    }
    if (!strcmp(t->dtype, "F16") || !strcmp(t->dtype, "BF16")) {
        int bf = t->dtype[0] == 'B';
        for (size_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
            if (bf) {
                uint32_t u = (uint32_t)h << 16; /* bfloat16 is the top half of an f32 */
                memcpy(&out[i], &u, sizeof u);
            } else
                out[i] = rs_f16_to_f32(h);
        }
        return 0;
    }
    return rs_err_set(RS_ERR_FORMAT, "'%s': tensor '%s' is %s, expected F32, F16 or BF16", st->path, name, t->dtype);
}
