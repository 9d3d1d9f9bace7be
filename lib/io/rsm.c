/* rsm.c - RSM model files (layout: schemas/rsm.md). */
#include "io/rsm.h"
#include "io/config.h"
#include "core/err.h"
#include "core/num.h"
#include "io/io.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define VERSION_MAJOR 1
#define VERSION_MINOR 0
#define FIXED 32
#define ALIGN 64
#define MAX_HEADER (1ull << 30)

struct rs_rsm {
    json_t *sections;              /* object: name -> JSON */
    json_t *header;                /* reader: the parsed header */
    struct rs_rsm_tensor *t;
    size_t n, cap;
    unsigned char *file;           /* reader: the whole file */
    int minor;
};

static void put_u16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void put_u64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static uint16_t get_u16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}
static uint64_t align_up(uint64_t x) { return (x + ALIGN - 1) / ALIGN * ALIGN; }

static const char *dtype_names[] = { "?", "f32", "i32", "u8", "f64", "u64" };
static const size_t dtype_sizes[] = { 0, 4, 4, 1, 8, 8 };

int rs_rsm_sniff(const unsigned char *p, size_t n)
{
    return n >= 8 && memcmp(p, RS_RSM_SIGNATURE, 8) == 0;
}

const char *rs_rsm_dtype_name(int dtype)
{
    return dtype >= RS_RSM_F32 && dtype <= RS_RSM_U64 ? dtype_names[dtype] : "?";
}

static size_t dtype_size(int dtype)
{
    return dtype >= RS_RSM_F32 && dtype <= RS_RSM_U64 ? dtype_sizes[dtype] : 0;
}

static int dtype_parse(const char *s)
{
    for (int d = RS_RSM_F32; d <= RS_RSM_U64; d++)
        if (strcmp(s, dtype_names[d]) == 0)
            return d;
    return -1;
}

struct rs_rsm *rs_rsm_new(void)
{
    struct rs_rsm *m = xcalloc(1, sizeof *m);
    m->sections = json_object();
    m->minor = VERSION_MINOR;
    return m;
}

void rs_rsm_set_section(struct rs_rsm *m, const char *name, json_t *v)
{
    json_object_set(m->sections, name, v);
}

const struct rs_rsm_tensor *rs_rsm_tensor(const struct rs_rsm *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->t[i].name, name) == 0)
            return &m->t[i];
    return NULL;
}

/* Appends a directory entry; its offset follows the previous tensor's. */
static struct rs_rsm_tensor *push(struct rs_rsm *m, const char *name, int dtype, int ndim,
                                  const uint64_t *shape)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 16;
        m->t = xrealloc(m->t, m->cap * sizeof *m->t);
    }
    struct rs_rsm_tensor *t = &m->t[m->n++];
    memset(t, 0, sizeof *t);
    t->name = xstrdup(name);
    t->dtype = dtype;
    t->ndim = ndim;
    uint64_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= (t->shape[i] = shape[i]);
    t->nbytes = count * dtype_size(dtype);
    t->offset = m->n > 1 ? align_up(m->t[m->n - 2].offset + m->t[m->n - 2].nbytes) : 0;
    return t;
}

int rs_rsm_add_tensor(struct rs_rsm *m, const char *name, int dtype, int ndim, const uint64_t *shape,
                      const void *data)
{
    if (ndim < 1 || ndim > RS_RSM_MAX_DIMS || !dtype_size(dtype) || !*name)
        return rs_err_set(RS_ERR_USAGE, "tensor '%s': bad dtype or rank", name);
    if (rs_rsm_tensor(m, name))
        return rs_err_set(RS_ERR_USAGE, "tensor '%s' added twice", name);
    push(m, name, dtype, ndim, shape)->data = data;
    return 0;
}

static uint64_t data_len(const struct rs_rsm *m)
{
    return m->n ? m->t[m->n - 1].offset + m->t[m->n - 1].nbytes : 0;
}

static char *header_text(const struct rs_rsm *m)
{
    json_t *dir = json_array();
    for (size_t i = 0; i < m->n; i++) {
        const struct rs_rsm_tensor *t = &m->t[i];
        json_t *shape = json_array();
        for (int d = 0; d < t->ndim; d++)
            json_array_append_new(shape, json_integer((json_int_t)t->shape[d]));
        json_array_append_new(dir, json_pack("{s:s, s:s, s:o, s:I, s:I}", "name", t->name, "dtype",
                                             rs_rsm_dtype_name(t->dtype), "shape", shape, "offset",
                                             (json_int_t)t->offset, "nbytes", (json_int_t)t->nbytes));
    }
    json_t *h = json_pack("{s:O, s:o}", "sections", m->sections, "tensors", dir);
    char *s = json_dumps(h, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(h);
    return s;
}

/* A real number of the header beyond +-RS_NUM_VEC_MAX (JSON has no NaN or
 * Inf), or NULL: the sections' numbers (normalisation statistics...) become
 * floats as the tensors do. */
static const json_t *huge_real(json_t *v)
{
    const json_t *bad;
    const char *key;
    json_t *e;
    size_t i;
    if (json_is_real(v) && !rs_num_vec_ok(json_real_value(v)))
        return v;
    json_object_foreach(v, key, e)
        if ((bad = huge_real(e)))
            return bad;
    json_array_foreach(v, i, e)
        if ((bad = huge_real(e)))
            return bad;
    return NULL;
}

static int check_numbers(const char *name, json_t *sections)
{
    const json_t *huge = huge_real(sections);
    return huge ? rs_err_set(RS_ERR_FORMAT, "'%s': RSM sections: number %g is not within +-%g", name,
                             json_real_value(huge), RS_NUM_VEC_MAX)
                : 0;
}

/* Float tensors hold values within +-RS_NUM_VEC_MAX (core/num.h): a model
 * with a NaN or huge weight is refused at load, not found later as NaN
 * scores. */
static int check_values(const char *name, const struct rs_rsm_tensor *t)
{
    if (t->dtype != RS_RSM_F32 && t->dtype != RS_RSM_F64)
        return 0;
    size_t n = (size_t)(t->nbytes / dtype_size(t->dtype));
    for (size_t i = 0; i < n; i++) {
        double x = t->dtype == RS_RSM_F32 ? ((const float *)t->data)[i] : ((const double *)t->data)[i];
        if (!rs_num_vec_ok(x))
            return rs_err_set(RS_ERR_FORMAT, "'%s': tensor '%s' element %zu is %g, not a finite value within +-%g",
                              name, t->name, i + 1, x, RS_NUM_VEC_MAX);
    }
    return 0;
}

int rs_rsm_save(const struct rs_rsm *m, const char *path)
{
    int rc = check_numbers(path, m->sections); /* a diverged training run saves nothing */
    for (size_t i = 0; i < m->n && rc == 0; i++)
        rc = check_values(path, &m->t[i]);
    if (rc < 0)
        return rc;
    char *json = header_text(m);
    uint64_t hl = strlen(json), dl = data_len(m);
    unsigned char *head = xcalloc(1, FIXED + hl + 8);
    memcpy(head, RS_RSM_SIGNATURE, 8);
    put_u16(head + 8, VERSION_MAJOR);
    put_u16(head + 10, VERSION_MINOR);
    put_u64(head + 16, hl);
    put_u64(head + 24, dl);
    memcpy(head + FIXED, json, hl);
    free(json);
    put_u64(head + FIXED + hl, XXH3_64bits(head, FIXED + hl));

    static const unsigned char zeros[ALIGN];
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    struct rs_writer *w;
    rc = rs_writer_open(&w, path, 0, 0);
    if (rc == 0) {
        uint64_t pos = FIXED + hl + 8, pad = align_up(pos) - pos, at = 0;
        rc = rs_writer_write(w, head, pos);
        rc |= rs_writer_write(w, zeros, pad);
        for (size_t i = 0; i < m->n && rc == 0; i++) {
            const struct rs_rsm_tensor *t = &m->t[i];
            rc |= rs_writer_write(w, zeros, t->offset - at);
            XXH3_64bits_update(st, zeros, t->offset - at);
            rc |= rs_writer_write(w, t->data, t->nbytes);
            XXH3_64bits_update(st, t->data, t->nbytes);
            at = t->offset + t->nbytes;
        }
        unsigned char sum[8];
        put_u64(sum, XXH3_64bits_digest(st));
        if (rc == 0)
            rc = rs_writer_write(w, sum, 8);
        rc = rs_writer_finish(w, rc);
    }
    XXH3_freeState(st);
    free(head);
    return rc;
}

/* ---- reading ---- */

static int bad(const char *name, const char *what)
{
    return rs_err_set(RS_ERR_FORMAT, "'%s': not a valid RSM file: %s", name, what);
}

/* Fills the tensor table from the header's directory, checking each entry. */
static int read_directory(struct rs_rsm *m, const char *name, uint64_t dl, const unsigned char *data)
{
    json_t *dir = json_object_get(m->header, "tensors"), *e;
    size_t i;
    if (!json_is_array(dir))
        return bad(name, "no tensor directory");
    json_array_foreach(dir, i, e) {
        const char *tn = json_string_value(json_object_get(e, "name"));
        const char *dt = json_string_value(json_object_get(e, "dtype"));
        json_t *shape = json_object_get(e, "shape");
        json_int_t off = json_integer_value(json_object_get(e, "offset"));
        json_int_t nb = json_integer_value(json_object_get(e, "nbytes"));
        int dtype = dt ? dtype_parse(dt) : -1;
        size_t nd = json_array_size(shape);
        if (!tn || dtype < 0 || nd < 1 || nd > RS_RSM_MAX_DIMS || off < 0 || nb < 0 || rs_rsm_tensor(m, tn))
            return bad(name, "malformed tensor directory entry");
        uint64_t sh[RS_RSM_MAX_DIMS];
        for (size_t d = 0; d < nd; d++) {
            json_int_t v = json_integer_value(json_array_get(shape, d));
            if (v < 0)
                return bad(name, "negative tensor shape");
            sh[d] = (uint64_t)v;
        }
        struct rs_rsm_tensor *t = push(m, tn, dtype, (int)nd, sh);
        if (t->nbytes != (uint64_t)nb || (uint64_t)off % ALIGN || (uint64_t)off + (uint64_t)nb > dl)
            return rs_err_set(RS_ERR_FORMAT, "'%s': tensor '%s' does not fit its shape or the data section",
                              name, tn);
        t->offset = (uint64_t)off;
        t->data = data + off;
        int rc = check_values(name, t);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int parse(struct rs_rsm *m, const char *name, uint64_t len)
{
    const unsigned char *p = m->file;
    if (len < FIXED || !rs_rsm_sniff(p, len))
        return rs_err_set(RS_ERR_FORMAT, "'%s': not an RSM file", name);
    if (get_u16(p + 8) != VERSION_MAJOR)
        return rs_err_set(RS_ERR_VERSION, "'%s': RSM version %u.%u is not supported", name, get_u16(p + 8),
                          get_u16(p + 10));
    m->minor = get_u16(p + 10);
    uint64_t hl = get_u64(p + 16), dl = get_u64(p + 24);
    if (hl > MAX_HEADER || len < FIXED + hl + 8)
        return rs_err_set(RS_ERR_CORRUPT, "'%s': truncated RSM file (header)", name);
    if (XXH3_64bits(p, FIXED + hl) != get_u64(p + FIXED + hl))
        return rs_err_set(RS_ERR_CORRUPT, "'%s': RSM header checksum mismatch", name);
    uint64_t dstart = align_up(FIXED + hl + 8);
    if (dl > len || len - dl < dstart + 8 || dstart + dl + 8 != len)
        return rs_err_set(RS_ERR_CORRUPT, "'%s': %s RSM file (data)", name,
                          dl <= len && len - dl >= dstart + 8 && dstart + dl + 8 < len ? "trailing bytes after"
                                                                                   : "truncated");
    if (XXH3_64bits(p + dstart, dl) != get_u64(p + dstart + dl))
        return rs_err_set(RS_ERR_CORRUPT, "'%s': RSM data checksum mismatch", name);
    char *err_name = xstrdup(name);
    int rc = rs_config_parse(&m->header, (const char *)p + FIXED, hl, err_name);
    free(err_name);
    if (rc < 0)
        return rc;
    json_decref(m->sections);
    m->sections = json_incref(json_object_get(m->header, "sections"));
    if (!json_is_object(m->sections))
        return bad(name, "no sections object");
    if ((rc = check_numbers(name, m->sections)) < 0)
        return rc;
    return read_directory(m, name, dl, p + dstart);
}

int rs_rsm_load_reader(struct rs_rsm **out, struct rs_reader *in)
{
    *out = NULL;
    struct rs_rsm *m = rs_rsm_new();
    size_t cap = 1 << 16, len = 0;
    m->file = xmalloc(cap);
    ssize_t got;
    while ((got = rs_reader_read(in, m->file + len, cap - len)) > 0) {
        len += (size_t)got;
        if (len == cap)
            m->file = xrealloc(m->file, cap *= 2);
    }
    int rc = got < 0 ? (int)got : parse(m, rs_reader_name(in), len);
    rs_reader_close(in);
    if (rc < 0) {
        rs_rsm_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int rs_rsm_load(struct rs_rsm **m, const char *path)
{
    struct rs_reader *in;
    int rc = rs_reader_open(&in, path);
    return rc < 0 ? rc : rs_rsm_load_reader(m, in);
}

void rs_rsm_free(struct rs_rsm *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        free(m->t[i].name);
    free(m->t);
    json_decref(m->sections);
    json_decref(m->header);
    free(m->file);
    free(m);
}

int rs_rsm_version_minor(const struct rs_rsm *m) { return m->minor; }
json_t *rs_rsm_section(const struct rs_rsm *m, const char *name) { return json_object_get(m->sections, name); }
json_t *rs_rsm_header(const struct rs_rsm *m) { return m->header; }
size_t rs_rsm_ntensors(const struct rs_rsm *m) { return m->n; }
const struct rs_rsm_tensor *rs_rsm_tensor_at(const struct rs_rsm *m, size_t i) { return &m->t[i]; }

int rs_rsm_get(const struct rs_rsm *m, const char *name, int dtype, uint64_t count, const void **data)
{
    const struct rs_rsm_tensor *t = rs_rsm_tensor(m, name);
    if (!t)
        return rs_err_set(RS_ERR_FORMAT, "model has no tensor '%s'", name);
    if (t->dtype != dtype || t->nbytes != count * dtype_size(dtype))
        return rs_err_set(RS_ERR_FORMAT, "model tensor '%s': expected %s[%llu], got %s of %llu bytes", name,
                          rs_rsm_dtype_name(dtype), (unsigned long long)count, rs_rsm_dtype_name(t->dtype),
                          (unsigned long long)t->nbytes);
    *data = t->data;
    return 0;
}
