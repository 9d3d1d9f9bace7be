/* rsb.c - RSB reader and writer (layout: schemas/rsb.md). */
#include "io/rsb.h"
#include "core/err.h"
#include "core/num.h"
#include "io/io.h"
#include "core/strmap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define VERSION_MAJOR 1
#define VERSION_MINOR 0
#define ID_KIND_STRING 1
#define HEADER_FIXED 24
#define MAX_META (1u << 20)
#define MAX_BLOCK_PAYLOAD (64u << 20)
#define BLOCK_TARGET (1u << 20) /* a writer closes a block past this size */
#define TAG_ROWS "ROWS"
#define TAG_END "END\0"

static void put_u16(unsigned char *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put_u32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = v >> (8 * i); }
static void put_u64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = v >> (8 * i); }
static uint16_t get_u16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get_u32(const unsigned char *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const unsigned char *p)
{
    return get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

int rs_rsb_sniff(const unsigned char *p, size_t n)
{
    return n >= 8 && memcmp(p, RS_RSB_SIGNATURE, 8) == 0;
}

const char *rs_dtype_name(int dtype)
{
    return dtype == RS_F32 ? "f32" : dtype == RS_F16 ? "f16" : dtype == RS_I8 ? "i8" : "?";
}

int rs_dtype_parse(const char *s)
{
    for (int d = RS_F32; d <= RS_I8; d++)
        if (strcmp(s, rs_dtype_name(d)) == 0)
            return d;
    return rs_err_set(RS_ERR_USAGE, "unknown dtype '%s' (use f32, f16 or i8)", s);
}

/* Bytes of one vector in a row, scale included. */
static size_t vec_bytes(int dtype, uint32_t dims)
{
    return dtype == RS_F32 ? 4u * dims : dtype == RS_F16 ? 2u * dims : 4u + dims;
}

uint16_t rs_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, e = (x >> 23) & 0xff, m = x & 0x7fffff;
    if (e == 0xff) /* Inf or NaN */
        return (uint16_t)(sign | 0x7c00 | (m ? 0x200 : 0));
    int exp = (int)e - 127 + 15;
    if (exp >= 31)
        return (uint16_t)(sign | 0x7c00);
    if (exp <= 0) { /* subnormal half or zero */
        if (exp < -10)
            return (uint16_t)sign;
        m |= 0x800000;
        int shift = 14 - exp;
        uint32_t h = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1)))
            h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = (uint32_t)exp << 10 | m >> 13, rem = m & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
        h++; /* may carry into the exponent, which is right */
    return (uint16_t)(sign | h);
}

float rs_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, x;
    if (e == 0) {
        if (m == 0) {
            x = sign;
        } else { /* normalise the subnormal */
            e = 127 - 15 + 1;
            while (!(m & 0x400)) {
                m <<= 1;
                e--;
            }
            x = sign | e << 23 | (m & 0x3ff) << 13;
        }
    } else if (e == 31) {
        x = sign | 0x7f800000 | m << 13;
    } else {
        x = sign | (e - 15 + 127) << 23 | m << 13;
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* ---- reader ---- */

struct rs_rsb_reader {
    struct rs_reader *in;
    int dtype, minor;
    uint32_t dims;
    char *meta;
    unsigned char *block;
    size_t block_cap, block_len, block_pos;
    uint32_t block_rows, block_row;
    uint64_t rows_seen;
    int ended;
};

static const char *rname(const struct rs_rsb_reader *r)
{
    return rs_reader_name(r->in);
}

static int truncated(const struct rs_rsb_reader *r, const char *where)
{
    return rs_err_set(RS_ERR_CORRUPT, "'%s': truncated RSB stream (%s)", rname(r), where);
}

/* Reads n bytes or fails with a message saying what was being read. */
static int need(struct rs_rsb_reader *r, void *buf, size_t n, const char *what)
{
    int rc = rs_reader_read_exact(r->in, buf, n);
    if (rc == RS_ERR_EOF || rc == RS_ERR_CORRUPT)
        return truncated(r, what);
    return rc;
}

static int read_header(struct rs_rsb_reader *r)
{
    unsigned char h[HEADER_FIXED], sum[8];
    int rc = rs_reader_read_exact(r->in, h, sizeof h);
    if (rc == RS_ERR_EOF || (rc == RS_ERR_CORRUPT && !rs_rsb_sniff(h, 8)))
        return rs_err_set(RS_ERR_FORMAT, "'%s': not an RSB stream (too short)", rname(r));
    if (rc < 0)
        return rc == RS_ERR_CORRUPT ? truncated(r, "header") : rc;
    if (!rs_rsb_sniff(h, 8))
        return rs_err_set(RS_ERR_FORMAT, "'%s': not an RSB stream (bad signature)", rname(r));
    int major = get_u16(h + 8);
    r->minor = get_u16(h + 10);
    if (major != VERSION_MAJOR)
        return rs_err_set(RS_ERR_VERSION, "'%s': RSB version %d.%d is not supported (this reader: %d.x)",
                          rname(r), major, r->minor, VERSION_MAJOR);
    r->dtype = h[12];
    r->dims = get_u32(h + 16);
    uint32_t meta_len = get_u32(h + 20);
    if (r->dtype < RS_F32 || r->dtype > RS_I8)
        return rs_err_set(RS_ERR_FORMAT, "'%s': RSB header: unknown dtype %d", rname(r), r->dtype);
    if (h[13] != ID_KIND_STRING)
        return rs_err_set(RS_ERR_FORMAT, "'%s': RSB header: unknown id kind %d", rname(r), h[13]);
    if (r->dims == 0 || r->dims > RS_RSB_MAX_DIMS)
        return rs_err_set(RS_ERR_FORMAT, "'%s': RSB header: dims %u out of range 1..%u", rname(r),
                          r->dims, RS_RSB_MAX_DIMS);
    if (meta_len > MAX_META)
        return rs_err_set(RS_ERR_FORMAT, "'%s': RSB header: metadata of %u bytes exceeds %u",
                          rname(r), meta_len, MAX_META);
    r->meta = xmalloc(meta_len + 1);
    if ((rc = need(r, r->meta, meta_len, "header")) < 0 || (rc = need(r, sum, 8, "header")) < 0)
        return rc;
    r->meta[meta_len] = '\0';
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    XXH3_64bits_update(st, h, sizeof h);
    XXH3_64bits_update(st, r->meta, meta_len);
    uint64_t expect = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    if (expect != get_u64(sum))
        return rs_err_set(RS_ERR_CORRUPT, "'%s': RSB header checksum mismatch", rname(r));
    return 0;
}

int rs_rsb_open_reader(struct rs_rsb_reader **rp, struct rs_reader *in)
{
    struct rs_rsb_reader *r = xcalloc(1, sizeof *r);
    r->in = in;
    int rc = read_header(r);
    if (rc < 0) {
        rs_rsb_close(r);
        return rc;
    }
    *rp = r;
    return 0;
}

int rs_rsb_open(struct rs_rsb_reader **r, const char *path)
{
    struct rs_reader *in;
    int rc = rs_reader_open(&in, path);
    return rc < 0 ? rc : rs_rsb_open_reader(r, in);
}

uint32_t rs_rsb_dims(const struct rs_rsb_reader *r) { return r->dims; }
int rs_rsb_dtype(const struct rs_rsb_reader *r) { return r->dtype; }
int rs_rsb_version_minor(const struct rs_rsb_reader *r) { return r->minor; }
const char *rs_rsb_meta_text(const struct rs_rsb_reader *r) { return r->meta; }

const char *rs_rsb_meta(const struct rs_rsb_reader *r, const char *key)
{
    static _Thread_local char value[1024];
    size_t k = strlen(key);
    for (const char *p = r->meta; *p;) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (n > k && memcmp(p, key, k) == 0 && p[k] == '\t') {
            size_t v = n - k - 1 < sizeof value - 1 ? n - k - 1 : sizeof value - 1;
            memcpy(value, p + k + 1, v);
            value[v] = '\0';
            return value;
        }
        p += n + (eol != NULL);
    }
    return NULL;
}

static int read_end_block(struct rs_rsb_reader *r)
{
    unsigned char e[24];
    memcpy(e, TAG_END, 4);
    int rc = need(r, e + 4, 20, "end block");
    if (rc < 0)
        return rc;
    if (XXH3_64bits(e, 16) != get_u64(e + 16))
        return rs_err_set(RS_ERR_CORRUPT, "'%s': RSB end block checksum mismatch", rname(r));
    if (get_u64(e + 8) != r->rows_seen)
        return rs_err_set(RS_ERR_CORRUPT, "'%s': RSB end block counts %llu rows, stream had %llu",
                          rname(r), (unsigned long long)get_u64(e + 8),
                          (unsigned long long)r->rows_seen);
    const unsigned char *p;
    size_t avail;
    if ((rc = rs_reader_peek(r->in, 1, &p, &avail)) < 0)
        return rc;
    if (avail)
        return rs_err_set(RS_ERR_FORMAT, "'%s': data after the RSB end block", rname(r));
    r->ended = 1;
    return RS_ERR_EOF;
}

static int read_block(struct rs_rsb_reader *r)
{
    unsigned char h[12];
    int rc = rs_reader_read_exact(r->in, h, 4);
    if (rc == RS_ERR_EOF)
        return truncated(r, "no end block");
    if (rc < 0)
        return rc == RS_ERR_CORRUPT ? truncated(r, "block tag") : rc;
    if (memcmp(h, TAG_END, 4) == 0)
        return read_end_block(r);
    if (memcmp(h, TAG_ROWS, 4) != 0)
        return rs_err_set(RS_ERR_CORRUPT, "'%s': bad RSB block tag after row %llu", rname(r),
                          (unsigned long long)r->rows_seen);
    if ((rc = need(r, h + 4, 8, "block header")) < 0)
        return rc;
    uint32_t nrows = get_u32(h + 4), len = get_u32(h + 8);
    if (nrows == 0 || len > MAX_BLOCK_PAYLOAD)
        return rs_err_set(RS_ERR_CORRUPT, "'%s': bad RSB block header after row %llu", rname(r),
                          (unsigned long long)r->rows_seen);
    if (r->block_cap < 12 + (size_t)len + 8) {
        r->block_cap = 12 + (size_t)len + 8;
        r->block = xrealloc(r->block, r->block_cap);
    }
    memcpy(r->block, h, 12);
    if ((rc = need(r, r->block + 12, (size_t)len + 8, "block")) < 0)
        return rc;
    if (XXH3_64bits(r->block, 12 + (size_t)len) != get_u64(r->block + 12 + len))
        return rs_err_set(RS_ERR_CORRUPT, "'%s': RSB block checksum mismatch (rows %llu..%llu)",
                          rname(r), (unsigned long long)r->rows_seen + 1,
                          (unsigned long long)r->rows_seen + nrows);
    r->block_pos = 12;
    r->block_len = 12 + (size_t)len;
    r->block_rows = nrows;
    r->block_row = 0;
    return 0;
}

static int bad_row(const struct rs_rsb_reader *r, const char *why)
{
    return rs_err_set(RS_ERR_CORRUPT, "'%s': RSB row %llu: %s", rname(r),
                      (unsigned long long)r->rows_seen + 1, why);
}

int rs_rsb_next(struct rs_rsb_reader *r, const char **id, size_t *idlen, float *vec)
{
    if (r->ended)
        return RS_ERR_EOF;
    if (r->block_row == r->block_rows) {
        if (r->block && r->block_pos != r->block_len)
            return bad_row(r, "bytes left over at the end of its block");
        int rc = read_block(r);
        if (rc < 0)
            return rc;
    }
    const unsigned char *p = r->block + r->block_pos, *end = r->block + r->block_len;
    if (end - p < 2)
        return bad_row(r, "overruns its block");
    size_t n = get_u16(p), vb = vec_bytes(r->dtype, r->dims);
    if (n == 0)
        return bad_row(r, "empty id");
    if ((size_t)(end - p) < 2 + n + vb)
        return bad_row(r, "overruns its block");
    *id = (const char *)p + 2;
    *idlen = n;
    p += 2 + n;
    if (r->dtype == RS_F32) {
        memcpy(vec, p, vb); /* RSB is little-endian, as is every supported host */
    } else if (r->dtype == RS_F16) {
        for (uint32_t j = 0; j < r->dims; j++)
            vec[j] = rs_f16_to_f32(get_u16(p + 2 * j));
    } else {
        float scale;
        memcpy(&scale, p, 4);
        for (uint32_t j = 0; j < r->dims; j++)
            vec[j] = scale * (float)(int8_t)p[4 + j];
    }
    r->block_pos += 2 + n + vb;
    r->block_row++;
    r->rows_seen++;
    size_t j = rs_num_vec_find_bad(vec, r->dims);
    if (j < r->dims)
        return rs_err_set(RS_ERR_FORMAT, "'%s': RSB row %llu (id '%.*s'): dimension %zu is %g, not a finite "
                          "value within +-%g", rname(r), (unsigned long long)r->rows_seen,
                          (int)(n > 64 ? 64 : n), *id, j + 1, vec[j], RS_NUM_VEC_MAX);
    return 0;
}

void rs_rsb_close(struct rs_rsb_reader *r)
{
    if (!r)
        return;
    rs_reader_close(r->in);
    free(r->meta);
    free(r->block);
    free(r);
}

/* ---- writer ---- */

struct rs_rsb_writer {
    struct rs_writer *out;
    int dtype;
    uint32_t dims;
    unsigned char *block; /* 12-byte block header, then the payload */
    size_t len, cap;
    uint32_t rows;
    uint64_t total;
};

int rs_rsb_writer_init(struct rs_rsb_writer **wp, struct rs_writer *out, uint32_t dims, int dtype,
                       const char *meta)
{
    if (dims == 0 || dims > RS_RSB_MAX_DIMS)
        return rs_err_set(RS_ERR_USAGE, "RSB dims %u out of range 1..%u", dims, RS_RSB_MAX_DIMS);
    if (dtype < RS_F32 || dtype > RS_I8)
        return rs_err_set(RS_ERR_USAGE, "unknown dtype %d", dtype);
    size_t meta_len = meta ? strlen(meta) : 0;
    if (meta_len > MAX_META)
        return rs_err_set(RS_ERR_USAGE, "RSB metadata too long");
    unsigned char h[HEADER_FIXED] = { 0 }, sum[8];
    memcpy(h, RS_RSB_SIGNATURE, 8);
    put_u16(h + 8, VERSION_MAJOR);
    put_u16(h + 10, VERSION_MINOR);
    h[12] = (unsigned char)dtype;
    h[13] = ID_KIND_STRING;
    put_u32(h + 16, dims);
    put_u32(h + 20, (uint32_t)meta_len);
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    XXH3_64bits_update(st, h, sizeof h);
    XXH3_64bits_update(st, meta ? meta : "", meta_len);
    put_u64(sum, XXH3_64bits_digest(st));
    XXH3_freeState(st);
    if (rs_writer_write(out, h, sizeof h) < 0 || rs_writer_write(out, meta ? meta : "", meta_len) < 0 ||
        rs_writer_write(out, sum, 8) < 0)
        return RS_ERR_IO;
    struct rs_rsb_writer *w = xcalloc(1, sizeof *w);
    w->out = out;
    w->dtype = dtype;
    w->dims = dims;
    w->cap = BLOCK_TARGET + 12;
    w->block = xmalloc(w->cap);
    w->len = 12;
    *wp = w;
    return 0;
}

static int flush_block(struct rs_rsb_writer *w)
{
    if (w->rows == 0)
        return 0;
    unsigned char sum[8];
    memcpy(w->block, TAG_ROWS, 4);
    put_u32(w->block + 4, w->rows);
    put_u32(w->block + 8, (uint32_t)(w->len - 12));
    put_u64(sum, XXH3_64bits(w->block, w->len));
    int rc = rs_writer_write(w->out, w->block, w->len);
    if (rc == 0)
        rc = rs_writer_write(w->out, sum, 8);
    w->len = 12;
    w->rows = 0;
    return rc;
}

int rs_rsb_write(struct rs_rsb_writer *w, const char *id, size_t idlen, const float *vec)
{
    if (idlen == 0 || idlen > UINT16_MAX)
        return rs_err_set(RS_ERR_FORMAT, "RSB id of %zu bytes (must be 1..65535)", idlen);
    size_t bad = rs_num_vec_find_bad(vec, w->dims);
    if (bad < w->dims)
        return rs_err_set(RS_ERR_FORMAT, "id '%.*s': dimension %zu is %g, not a finite value within +-%g",
                          (int)(idlen > 64 ? 64 : idlen), id, bad + 1, vec[bad], RS_NUM_VEC_MAX);
    float amax = 0;
    for (uint32_t j = 0; j < w->dims; j++)
        amax = fmaxf(amax, fabsf(vec[j]));
    if (w->dtype == RS_F16 && amax > RS_F16_MAX)
        return rs_err_set(RS_ERR_FORMAT, "id '%.*s': value %g beyond f16's range (+-%g); use --dtype f32",
                          (int)(idlen > 64 ? 64 : idlen), id, amax, RS_F16_MAX);
    size_t need = 2 + idlen + vec_bytes(w->dtype, w->dims);
    if (w->len + need > w->cap) {
        w->cap = w->len + need;
        w->block = xrealloc(w->block, w->cap);
    }
    unsigned char *p = w->block + w->len;
    put_u16(p, (uint16_t)idlen);
    memcpy(p + 2, id, idlen);
    p += 2 + idlen;
    if (w->dtype == RS_F32) {
        memcpy(p, vec, 4u * w->dims);
    } else if (w->dtype == RS_F16) {
        for (uint32_t j = 0; j < w->dims; j++)
            put_u16(p + 2 * j, rs_f32_to_f16(vec[j]));
    } else {
        float scale = amax / 127.0f;
        memcpy(p, &scale, 4);
        for (uint32_t j = 0; j < w->dims; j++)
            p[4 + j] = (unsigned char)(int8_t)(scale > 0 ? lrintf(vec[j] / scale) : 0);
    }
    w->len += need;
    w->rows++;
    w->total++;
    return w->len >= BLOCK_TARGET ? flush_block(w) : 0;
}

int rs_rsb_writer_finish(struct rs_rsb_writer *w)
{
    int rc = flush_block(w);
    if (rc == 0) {
        unsigned char e[24] = { 0 };
        memcpy(e, TAG_END, 4);
        put_u64(e + 8, w->total);
        put_u64(e + 16, XXH3_64bits(e, 16));
        rc = rs_writer_write(w->out, e, sizeof e);
    }
    rs_rsb_writer_free(w);
    return rc;
}

void rs_rsb_writer_free(struct rs_rsb_writer *w)
{
    if (!w)
        return;
    free(w->block);
    free(w);
}

/* ---- whole-file loading ---- */

int rs_embset_load(struct rs_embset *e, const char *path)
{
    struct rs_reader *in;
    int rc = rs_reader_open(&in, path);
    if (rc < 0) {
        memset(e, 0, sizeof *e);
        return rc;
    }
    return rs_embset_read(e, in);
}

int rs_embset_read(struct rs_embset *e, struct rs_reader *in)
{
    memset(e, 0, sizeof *e);
    struct rs_rsb_reader *r;
    int rc = rs_rsb_open_reader(&r, in);
    if (rc < 0)
        return rc;
    e->dims = rs_rsb_dims(r);
    e->meta = xstrdup(rs_rsb_meta_text(r));
    e->ids = rs_strmap_new(1024);
    size_t cap = 1024;
    e->x = xmalloc(cap * e->dims * sizeof *e->x);
    const char *id;
    size_t idlen;
    for (;;) {
        if (e->n == cap) {
            cap *= 2;
            e->x = xrealloc(e->x, cap * e->dims * sizeof *e->x);
        }
        rc = rs_rsb_next(r, &id, &idlen, e->x + e->n * e->dims);
        if (rc < 0)
            break;
        int added;
        rs_strmap_put(e->ids, id, idlen, &added);
        if (!added) {
            rc = rs_err_set(RS_ERR_FORMAT, "'%s': duplicate id '%.*s' at row %zu", rs_reader_name(in),
                            (int)(idlen > 64 ? 64 : idlen), id, e->n + 1);
            break;
        }
        e->n++;
    }
    rs_rsb_close(r);
    if (rc != RS_ERR_EOF) {
        rs_embset_free(e);
        return rc;
    }
    return 0;
}

void rs_embset_free(struct rs_embset *e)
{
    rs_strmap_free(e->ids);
    free(e->x);
    free(e->meta);
    memset(e, 0, sizeof *e);
}
