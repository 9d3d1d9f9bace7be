/* test-rsm.c - RSM model files: round trip, and every corruption detected. */
#include "core/err.h"
#include "io/io.h"
#include "io/rsm.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

static char path[256];

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static unsigned char *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n + 1);
    if (fread(b, 1, *n, f) != *n)
        *n = 0;
    fclose(f);
    return b;
}

static void spit(const char *p, const unsigned char *b, size_t n)
{
    FILE *f = fopen(p, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

/* Loads a damaged copy and returns the error code. */
static int load_damaged(const unsigned char *b, size_t n)
{
    char p[300];
    snprintf(p, sizeof p, "%s.bad", path);
    spit(p, b, n);
    struct rs_rsm *m;
    int rc = rs_rsm_load(&m, p);
    if (rc == 0)
        rs_rsm_free(m);
    unlink(p);
    return rc;
}

int main(void)
{
    snprintf(path, sizeof path, "/tmp/test-rsm-%d.rsm", (int)getpid());
    float w[6] = { 1, 2, 3, 4.5f, -5, 6e-9f };
    int32_t ids[3] = { 7, -1, 42 };
    const char vocab[] = "a\0bb\0ccc";
    struct rs_rsm *m = rs_rsm_new();
    json_t *cfg = json_pack("{s:i, s:s}", "d", 64, "kind", "two-tower");
    rs_rsm_set_section(m, "config", cfg);
    json_decref(cfg);
    ok(rs_rsm_add_tensor(m, "w", RS_RSM_F32, 2, (uint64_t[]){ 2, 3 }, w) == 0, "add f32 tensor");
    ok(rs_rsm_add_tensor(m, "ids", RS_RSM_I32, 1, (uint64_t[]){ 3 }, ids) == 0, "add i32 tensor");
    ok(rs_rsm_add_tensor(m, "vocab", RS_RSM_U8, 1, (uint64_t[]){ sizeof vocab }, vocab) == 0, "add blob");
    is_int(rs_rsm_add_tensor(m, "w", RS_RSM_F32, 1, (uint64_t[]){ 1 }, w), RS_ERR_USAGE, "duplicate name");
    is_int(rs_rsm_add_tensor(m, "z", 99, 1, (uint64_t[]){ 1 }, w), RS_ERR_USAGE, "bad dtype");
    ok(rs_rsm_save(m, path) == 0, "save");
    rs_rsm_free(m);

    struct rs_rsm *r;
    ok(rs_rsm_load(&r, path) == 0, "load: %s", rs_err_msg());
    is_int(rs_rsm_ntensors(r), 3, "three tensors");
    is_int(json_integer_value(json_object_get(rs_rsm_section(r, "config"), "d")), 64, "section round trip");
    const void *p;
    ok(rs_rsm_get(r, "w", RS_RSM_F32, 6, &p) == 0 && memcmp(p, w, sizeof w) == 0, "f32 data round trip");
    ok(rs_rsm_get(r, "ids", RS_RSM_I32, 3, &p) == 0 && memcmp(p, ids, sizeof ids) == 0, "i32 data");
    ok(rs_rsm_get(r, "vocab", RS_RSM_U8, sizeof vocab, &p) == 0 && memcmp(p, vocab, sizeof vocab) == 0, "blob");
    is_int(rs_rsm_tensor(r, "ids")->offset % 64, 0, "tensors aligned to 64 bytes");
    is_int(rs_rsm_get(r, "w", RS_RSM_F32, 5, &p), RS_ERR_FORMAT, "wrong element count rejected");
    ok(strstr(rs_err_msg(), "'w'") != NULL, "message names the tensor");
    is_int(rs_rsm_get(r, "nope", RS_RSM_F32, 1, &p), RS_ERR_FORMAT, "missing tensor");
    rs_rsm_free(r);

    /* Same content, same bytes. */
    size_t n, n2;
    unsigned char *b = slurp(path, &n);
    m = rs_rsm_new();
    cfg = json_pack("{s:s, s:i}", "kind", "two-tower", "d", 64);
    rs_rsm_set_section(m, "config", cfg);
    json_decref(cfg);
    rs_rsm_add_tensor(m, "w", RS_RSM_F32, 2, (uint64_t[]){ 2, 3 }, w);
    rs_rsm_add_tensor(m, "ids", RS_RSM_I32, 1, (uint64_t[]){ 3 }, ids);
    rs_rsm_add_tensor(m, "vocab", RS_RSM_U8, 1, (uint64_t[]){ sizeof vocab }, vocab);
    rs_rsm_save(m, path);
    rs_rsm_free(m);
    unsigned char *b2 = slurp(path, &n2);
    ok(n == n2 && memcmp(b, b2, n) == 0, "deterministic bytes (sorted keys)");
    free(b2);

    /* Corruptions. */
    unsigned char *c = malloc(n);
    memcpy(c, b, n);
    c[0] ^= 1;
    is_int(load_damaged(c, n), RS_ERR_FORMAT, "bad signature");
    ok(strstr(rs_err_msg(), "not an RSM file") != NULL, "message: not an RSM file");
    memcpy(c, b, n);
    c[8] = 2;
    is_int(load_damaged(c, n), RS_ERR_VERSION, "newer major version");
    memcpy(c, b, n);
    c[40] ^= 0x20;
    is_int(load_damaged(c, n), RS_ERR_CORRUPT, "flipped bit in the header");
    ok(strstr(rs_err_msg(), "header checksum") != NULL, "message: header checksum");
    memcpy(c, b, n);
    c[n - 20] ^= 1;
    is_int(load_damaged(c, n), RS_ERR_CORRUPT, "flipped bit in the data");
    ok(strstr(rs_err_msg(), "data checksum") != NULL, "message: data checksum");
    is_int(load_damaged(b, n - 1), RS_ERR_CORRUPT, "truncated by one byte");
    ok(strstr(rs_err_msg(), "truncated") != NULL, "message: truncated");
    is_int(load_damaged(b, 20), RS_ERR_FORMAT, "truncated inside the fixed header");
    unsigned char *longer = calloc(1, n + 3);
    memcpy(longer, b, n);
    is_int(load_damaged(longer, n + 3), RS_ERR_CORRUPT, "trailing bytes");
    ok(strstr(rs_err_msg(), "trailing") != NULL, "message: trailing bytes");
    free(longer);
    /* A NaN weight under valid checksums (w[3] = 4.5f): refused at load. */
    memcpy(c, b, n);
    float four_half = 4.5f, nan = NAN;
    unsigned char *at = memmem(c, n, &four_half, 4);
    memcpy(at, &nan, 4);
    uint64_t hl = get_u64(c + 16), dl = get_u64(c + 24), dstart = (32 + hl + 8 + 63) / 64 * 64;
    put_u64(c + dstart + dl, XXH3_64bits(c + dstart, dl));
    is_int(load_damaged(c, n), RS_ERR_FORMAT, "a NaN weight");
    ok(strstr(rs_err_msg(), "tensor 'w' element 4 is nan, not a finite value within +-1e+16") != NULL,
       "message names the tensor and element: %s", rs_err_msg());
    free(c);
    free(b);

    /* Nor does the writer write one, or a huge number in a section. */
    unlink(path);
    w[1] = 1e20f;
    m = rs_rsm_new();
    rs_rsm_add_tensor(m, "w", RS_RSM_F32, 2, (uint64_t[]){ 2, 3 }, w);
    is_int(rs_rsm_save(m, path), RS_ERR_FORMAT, "save refuses a weight of 1e20");
    ok(strstr(rs_err_msg(), "tensor 'w' element 2 is 1e+20") != NULL && access(path, F_OK) != 0,
       "names it and writes nothing: %s", rs_err_msg());
    rs_rsm_free(m);
    w[1] = 2;
    m = rs_rsm_new();
    cfg = json_pack("{s:{s:f}}", "stats", "mean", 1e300);
    rs_rsm_set_section(m, "norm", cfg);
    json_decref(cfg);
    is_int(rs_rsm_save(m, path), RS_ERR_FORMAT, "save refuses a section number of 1e300");
    ok(strstr(rs_err_msg(), "number 1e+300 is not within +-1e+16") != NULL, "names it: %s", rs_err_msg());
    rs_rsm_free(m);
    /* The loader too, under a valid header checksum: 2e15 edited into 2e99. */
    m = rs_rsm_new();
    cfg = json_pack("{s:f}", "mean", 2e15);
    rs_rsm_set_section(m, "norm", cfg);
    json_decref(cfg);
    ok(rs_rsm_save(m, path) == 0, "2e15 is a fine section number");
    rs_rsm_free(m);
    b = slurp(path, &n);
    at = memmem(b, n, "2000000000000000.0", 18);
    ok(at != NULL, "the number's text in the header");
    if (at) {
        memcpy(at, "2.0000000000000e99", 18);
        uint64_t hlen = get_u64(b + 16);
        put_u64(b + 32 + hlen, XXH3_64bits(b, 32 + hlen));
        is_int(load_damaged(b, n), RS_ERR_FORMAT, "load refuses a section number of 2e99");
        ok(strstr(rs_err_msg(), "number 2e+99 is not within +-1e+16") != NULL, "names it: %s", rs_err_msg());
    }
    free(b);

    is_int(rs_rsm_load(&r, "/nonexistent/x.rsm"), RS_ERR_IO, "missing file");
    m = rs_rsm_new();
    ok(rs_rsm_save(m, "/nonexistent/dir/x.rsm") < 0, "unwritable path fails");
    rs_rsm_free(m);
    unlink(path);
    return done_testing();
}
