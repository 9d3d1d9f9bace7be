/* test-export.c - .npy headers, .npz and .safetensors of a model: layout,
 * alignment, the members and offsets read back (libzip, jansson). */
#include "core/err.h"
#include "io/export.h"
#include "io/io.h"
#include "io/rsm.h"
#include "tap.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

static char path[256];

/* Exports m with fn to /tmp/test-export-PID.ext (its name into out). */
static void export_to(const struct rs_rsm *m, int (*fn)(const struct rs_rsm *, struct rs_writer *), const char *ext,
                      char *out, size_t outlen)
{
    snprintf(out, outlen, "/tmp/test-export-%d.%s", (int)getpid(), ext);
    struct rs_writer *w;
    rs_writer_open(&w, out, 0, 0);
    is_int(fn(m, w), 0, "%s written", ext);
    is_int(rs_writer_close(w), 0, "%s closed", ext);
}

/* The whole file through the library's reader; its size in *n. */
static unsigned char *read_back(const char *p, size_t *n)
{
    struct rs_reader *r;
    rs_reader_open(&r, p);
    size_t cap = 1 << 16;
    unsigned char *b = malloc(cap);
    ssize_t got;
    *n = 0;
    while ((got = rs_reader_read(r, b + *n, cap - *n)) > 0)
        if ((*n += (size_t)got) == cap)
            b = realloc(b, cap *= 2);
    rs_reader_close(r);
    return b;
}

static void test_npy_header(void)
{
    char h[RS_NPY_HEADER_MAX];
    size_t n = rs_npy_header(h, "<f4", 2, (uint64_t[]){ 3, 4 });
    is_int((int)n, 128, "10 + 60-byte dict + newline pads to 128 bytes, as numpy's own");
    ok(memcmp(h, "\x93NUMPY\x01\x00", 8) == 0, "magic and version 1.0");
    is_int(h[8] | h[9] << 8, 118, "header length field: 128 - 10");
    const char dict[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
    ok(memcmp(h + 10, dict, sizeof dict - 1) == 0, "the dict as numpy writes it");
    is_int(h[127], '\n', "ends in a newline");
    n = rs_npy_header(h, "|u1", 1, (uint64_t[]){ 7 });
    ok(memmem(h, n, "'shape': (7,), }", 15) != NULL, "a 1-d shape keeps its comma");
    n = rs_npy_header(h, "<u8", 4, (uint64_t[]){ 1ull << 40, 2, 3, 18446744073709551615ull });
    is_int((int)(n % 64), 0, "a long shape still pads to a multiple of 64");
    ok(memmem(h, n, "(1099511627776, 2, 3, 18446744073709551615)", 43) != NULL, "64-bit dimensions");
}

/* A model of two tensors: f32 [2, 3] and a u8 vocabulary blob. */
static struct rs_rsm *small_model(void)
{
    static const float w[6] = { 1, -2, 3.5f, 0, 1e-3f, -7 };
    static const char vocab[] = "a\0bc\0";
    struct rs_rsm *m = rs_rsm_new();
    json_t *s = json_pack("{s:s}", "kind", "test");
    rs_rsm_set_section(m, "model", s);
    json_decref(s);
    rs_rsm_add_tensor(m, "side.w", RS_RSM_F32, 2, (uint64_t[]){ 2, 3 }, w);
    rs_rsm_add_tensor(m, "side.vocab", RS_RSM_U8, 1, (uint64_t[]){ 5 }, vocab);
    snprintf(path, sizeof path, "/tmp/test-export-%d.rsm", (int)getpid());
    rs_rsm_save(m, path);
    rs_rsm_free(m);
    rs_rsm_load(&m, path);
    unlink(path);
    return m;
}

static void test_npz(const struct rs_rsm *m)
{
    char out[300];
    export_to(m, rs_export_rsm_npz, "npz", out, sizeof out);
    int err;
    zip_t *z = zip_open(out, ZIP_RDONLY, &err);
    ok(z != NULL, "libzip opens the npz");
    is_int((int)zip_get_num_entries(z, 0), 3, "a member per tensor and sections.json");
    zip_stat_t st;
    ok(zip_stat(z, "side.w.npy", 0, &st) == 0 && st.comp_method == ZIP_CM_STORE, "side.w.npy, stored");
    is_int((int)st.size, 128 + 24, "header and 6 floats");
    char buf[256];
    zip_file_t *f = zip_fopen(z, "side.w.npy", 0);
    is_int((int)zip_fread(f, buf, sizeof buf), 152, "member read back");
    zip_fclose(f);
    ok(memmem(buf, 128, "'shape': (2, 3)", 15) != NULL && memcmp(buf + 128, rs_rsm_tensor(m, "side.w")->data, 24) == 0,
       "shape and bytes of the tensor");
    f = zip_fopen(z, "sections.json", 0);
    zip_int64_t n = zip_fread(f, buf, sizeof buf - 1);
    zip_fclose(f);
    buf[n > 0 ? n : 0] = '\0';
    is_str(buf, "{\"model\":{\"kind\":\"test\"}}", "sections.json holds the sections");
    zip_close(z);
    unlink(out);
}

static void test_safetensors(const struct rs_rsm *m)
{
    char out[300];
    export_to(m, rs_export_rsm_safetensors, "safetensors", out, sizeof out);
    size_t size;
    unsigned char *b = read_back(out, &size);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | b[i];
    is_int((int)(hl % 8), 0, "header length a multiple of 8");
    is_int((int)size, (int)(8 + hl + 24 + 5), "header, then the data of both tensors");
    json_error_t je;
    json_t *h = json_loadb((const char *)b + 8, hl, 0, &je);
    ok(h != NULL, "the header is JSON (trailing spaces allowed)");
    json_t *t = json_object_get(h, "side.w");
    is_str(json_string_value(json_object_get(t, "dtype")), "F32", "dtype F32");
    json_int_t lo = json_integer_value(json_array_get(json_object_get(t, "data_offsets"), 0));
    ok(memcmp(b + 8 + hl + lo, rs_rsm_tensor(m, "side.w")->data, 24) == 0, "data_offsets point at the tensor");
    t = json_object_get(h, "side.vocab");
    is_str(json_string_value(json_object_get(t, "dtype")), "U8", "dtype U8");
    is_str(json_string_value(json_object_get(json_object_get(h, "__metadata__"), "sections")),
           "{\"model\":{\"kind\":\"test\"}}", "__metadata__.sections");
    json_decref(h);
    free(b);
    unlink(out);
}

int main(void)
{
    test_npy_header();
    struct rs_rsm *m = small_model();
    ok(m != NULL, "model saved and loaded");
    test_npz(m);
    test_safetensors(m);
    rs_rsm_free(m);
    return done_testing();
}
