/* test-safetensors.c - a valid file read back (F32, F16 and BF16 widened),
 * and the exact message of each refusal: truncated, header past the file,
 * unknown dtype, offsets against the shape, overlap, missing tensor, wrong
 * shape, integer dtype. */
#include "core/err.h"
#include "io/safetensors.h"
#include "tap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/rs-test-st-XXXXXX";

/* Writes header JSON and data bytes as a safetensors file; returns its path. */
static const char *file(const char *name, const char *json, const void *data, size_t n)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    uint64_t len = strlen(json);
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(len >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(json, 1, len, f);
    if (n)
        fwrite(data, 1, n, f);
    fclose(f);
    return p;
}

/* rs_safetensors_load fails on path with code and a message containing want. */
static void refused(const char *path, int code, const char *want, const char *what)
{
    struct rs_safetensors *st = NULL;
    int rc = rs_safetensors_load(&st, path);
    ok(rc == code && strstr(rs_err_msg(), want) && !st, "%s: %s", what, rs_err_msg());
}

static void test_valid(void)
{
    float f[6] = { 1, -2, 0.5f, 3, 4, 5 };
    unsigned char data[24 + 4 + 4];
    memcpy(data, f, 24);
    uint16_t half[2] = { 0x3C00, 0xC000 }, bf[2] = { 0x3F80, 0x4040 }; /* 1, -2; 1, 3 */
    memcpy(data + 24, half, 4);
    memcpy(data + 28, bf, 4);
    const char *p = file("ok.safetensors",
                         "{\"__metadata__\": {\"format\": \"pt\"}, \"w\": {\"dtype\": \"F32\", \"shape\": [2, 3], "
                         "\"data_offsets\": [0, 24]}, \"h\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": "
                         "[24, 28]}, \"b\": {\"dtype\": \"BF16\", \"shape\": [2], \"data_offsets\": [28, 32]}}",
                         data, sizeof data);
    struct rs_safetensors *st;
    is_int(rs_safetensors_load(&st, p), 0, "valid file loads");
    is_int(st->n, 3, "three tensors, metadata skipped");
    float out[6];
    size_t s23[2] = { 2, 3 }, s2[1] = { 2 }, s32[2] = { 3, 2 };
    ok(rs_safetensors_f32(st, "w", 2, s23, out) == 0 && !memcmp(out, f, sizeof f), "F32 read back");
    ok(rs_safetensors_f32(st, "h", 1, s2, out) == 0 && out[0] == 1 && out[1] == -2, "F16 widened");
    ok(rs_safetensors_f32(st, "b", 1, s2, out) == 0 && out[0] == 1 && out[1] == 3, "BF16 widened");
    ok(rs_safetensors_f32(st, "w", 2, s32, out) == RS_ERR_FORMAT &&
           strstr(rs_err_msg(), "tensor 'w' has shape [2, 3], the config says [3, 2]"),
       "wrong shape: %s", rs_err_msg());
    ok(rs_safetensors_f32(st, "nope", 1, s2, out) == RS_ERR_FORMAT &&
           strstr(rs_err_msg(), "no tensor 'nope' (not a BERT model?)"),
       "missing tensor: %s", rs_err_msg());
    rs_safetensors_free(st);
    int64_t ids[2] = { 0, 1 };
    p = file("i64.safetensors", "{\"ids\": {\"dtype\": \"I64\", \"shape\": [2], \"data_offsets\": [0, 16]}}", ids, 16);
    is_int(rs_safetensors_load(&st, p), 0, "an I64 tensor loads");
    ok(rs_safetensors_f32(st, "ids", 1, s2, out) == RS_ERR_FORMAT &&
           strstr(rs_err_msg(), "tensor 'ids' is I64, expected F32, F16 or BF16"),
       "integer dtype refused as weights: %s", rs_err_msg());
    rs_safetensors_free(st);
}

static void test_refused(void)
{
    float f[4] = { 0 };
    refused(file("short", "", NULL, 0), RS_ERR_FORMAT, "expected near end of file", "an empty header");
    char p[256];
    snprintf(p, sizeof p, "%s/tiny", dir);
    FILE *fp = fopen(p, "wb");
    fwrite("\x10\0\0", 1, 3, fp);
    fclose(fp);
    refused(p, RS_ERR_CORRUPT, "a 3-byte file cannot hold", "3 bytes");
    refused(file("cut", "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", f, 8),
            RS_ERR_CORRUPT, "truncated?", "data shorter than the offsets");
    refused(file("dtype", "{\"w\": {\"dtype\": \"F33\", \"shape\": [4], \"data_offsets\": [0, 16]}}", f, 16),
            RS_ERR_FORMAT, "w.dtype: expected a safetensors dtype", "unknown dtype");
    refused(file("size", "{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 16]}}", f, 16),
            RS_ERR_FORMAT, "[0, 16] holds 16 bytes, the shape and dtype 12", "offsets against the shape");
    refused(file("overlap",
                 "{\"a\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 12]}, "
                 "\"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}}",
                 f, 16),
            RS_ERR_FORMAT, "tensors 'a' and 'b' overlap", "overlap");
    refused(file("json", "{\"w\": [1, 2,]}", f, 16), RS_ERR_FORMAT, "line 1", "bad JSON");
    refused(file("keys", "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16], \"x\": 1}}", f, 16),
            RS_ERR_FORMAT, "w", "unknown key");
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    test_valid();
    test_refused();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return done_testing();
}
