/* test-rsb.c - RSB round trips per dtype, and every corruption the reader
 * must catch: bad signature, newer version, bad dims, flipped bits,
 * truncation, missing end block, data after it. */
#include "core/err.h"
#include "io/io.h"
#include "core/rng.h"
#include "io/rsb.h"
#include "core/strmap.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[] = "/tmp/rs-test-rsb-XXXXXX";
#define DIMS 7
#define ROWS 100000 /* several blocks */

static char *path(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static float value(size_t row, int j)
{
    return (float)sin((double)row * 0.37 + j) * (j + 1);
}

static int write_rsb(const char *p, int dtype, size_t rows)
{
    struct rs_writer *w;
    struct rs_rsb_writer *rw;
    int rc = rs_writer_open(&w, p, 0, 0);
    if (rc == 0)
        rc = rs_rsb_writer_init(&rw, w, DIMS, dtype, "tool\ttest\nmodel\tm1\n");
    char id[32];
    float v[DIMS];
    for (size_t i = 0; rc == 0 && i < rows; i++) {
        for (int j = 0; j < DIMS; j++)
            v[j] = value(i, j);
        rc = rs_rsb_write(rw, id, (size_t)snprintf(id, sizeof id, "item%zu", i), v);
    }
    if (rc == 0)
        rc = rs_rsb_writer_finish(rw);
    return rc == 0 ? rs_writer_close(w) : rc;
}

/* Reads the whole file; returns rows read or the error. */
static long read_all(const char *p, double *maxerr)
{
    struct rs_rsb_reader *r;
    int rc = rs_rsb_open(&r, p);
    if (rc < 0)
        return rc;
    const char *id;
    size_t idlen;
    float v[DIMS];
    long n = 0;
    *maxerr = 0;
    while ((rc = rs_rsb_next(r, &id, &idlen, v)) == 0) {
        for (int j = 0; j < DIMS; j++)
            *maxerr = fmax(*maxerr, fabs(v[j] - value((size_t)n, j)));
        n++;
    }
    rs_rsb_close(r);
    return rc == RS_ERR_EOF ? n : rc;
}

static unsigned char *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*n);
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

static void expect_error(const unsigned char *b, size_t n, int code, const char *text, const char *what)
{
    spit(path("bad.rsb"), b, n);
    double e;
    long rc = read_all(path("bad.rsb"), &e);
    ok(rc == code && strstr(rs_err_msg(), text), "%s: %s", what, rs_err_msg());
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    double err;
    const double tol[] = { 0, 0, 3e-3, 0.04 };
    for (int d = RS_F32; d <= RS_I8; d++) {
        is_int(write_rsb(path("a.rsb"), d, ROWS), 0, "write %s", rs_dtype_name(d));
        is_int(read_all(path("a.rsb"), &err), ROWS, "read back every %s row", rs_dtype_name(d));
        ok(err <= tol[d] * DIMS, "%s max error %g", rs_dtype_name(d), err);
    }
    is_int(write_rsb(path("a.rsb.zst"), RS_F32, ROWS), 0, "write compressed");
    is_int(read_all(path("a.rsb.zst"), &err), ROWS, "compressed read back");
    is_int(write_rsb(path("empty.rsb"), RS_F32, 0), 0, "write zero rows");
    is_int(read_all(path("empty.rsb"), &err), 0, "zero rows read back");

    struct rs_rsb_reader *r;
    rs_rsb_open(&r, path("a.rsb"));
    is_str(rs_rsb_meta(r, "model"), "m1", "metadata lookup");
    ok(rs_rsb_meta(r, "nope") == NULL, "absent metadata key");
    rs_rsb_close(r);

    struct rs_embset e;
    is_int(rs_embset_load(&e, path("a.rsb.zst")), 0, "load whole file");
    ok(e.n == ROWS && e.dims == DIMS && rs_strmap_get(e.ids, "item42", 6) == 42 && e.x[42 * DIMS + 1] == value(42, 1),
       "embset rows, ids, values");
    rs_embset_free(&e);

    write_rsb(path("a.rsb"), RS_F32, 2000);
    size_t n;
    unsigned char *good = slurp(path("a.rsb"), &n), *b = malloc(n + 8);

    memcpy(b, good, n);
    b[1] = 'X';
    expect_error(b, n, RS_ERR_FORMAT, "bad signature", "bad signature");
    expect_error(b, 3, RS_ERR_FORMAT, "not an RSB", "3-byte file");
    memcpy(b, good, n);
    b[8] = 2;
    expect_error(b, n, RS_ERR_VERSION, "version 2.0 is not supported", "newer major version");
    memcpy(b, good, n);
    b[16] = 0;
    b[17] = 0;
    expect_error(b, n, RS_ERR_FORMAT, "dims 0", "zero dims");
    memcpy(b, good, n);
    b[30] ^= 1;
    expect_error(b, n, RS_ERR_CORRUPT, "header checksum", "flipped bit in metadata");
    memcpy(b, good, n);
    b[n / 2] ^= 0x10;
    expect_error(b, n, RS_ERR_CORRUPT, "block checksum mismatch", "flipped bit in a row");
    expect_error(good, n - 24, RS_ERR_CORRUPT, "no end block", "missing end block");
    expect_error(good, n - 10, RS_ERR_CORRUPT, "truncated", "truncated end block");
    expect_error(good, n / 2, RS_ERR_CORRUPT, "truncated", "truncated mid-block");
    memcpy(b, good, n);
    b[n - 16] ^= 1;
    expect_error(b, n, RS_ERR_CORRUPT, "end block", "row count in end block altered");
    memcpy(b, good, n);
    memcpy(b + n, "garbage!", 8);
    expect_error(b, n + 8, RS_ERR_FORMAT, "data after", "trailing data");
    free(b);
    free(good);

    struct rs_writer *w;
    struct rs_rsb_writer *rw;
    rs_writer_open(&w, path("nan.rsb"), 0, 0);
    rs_rsb_writer_init(&rw, w, 2, RS_F32, NULL);
    float bad[2] = { 1, NAN };
    ok(rs_rsb_write(rw, "x", 1, bad) == RS_ERR_FORMAT && strstr(rs_err_msg(), "dimension 2 is nan, not a finite value"),
       "writer rejects NaN: %s", rs_err_msg());
    ok(rs_rsb_write(rw, "", 0, bad) == RS_ERR_FORMAT, "writer rejects an empty id");
    float huge[2] = { -2e16f, 1 };
    ok(rs_rsb_write(rw, "h", 1, huge) == RS_ERR_FORMAT &&
           strstr(rs_err_msg(), "id 'h': dimension 1 is -2e+16, not a finite value within +-1e+16"),
       "writer rejects a value whose square could overflow a norm: %s", rs_err_msg());
    rs_rsb_writer_free(rw);
    rs_writer_abort(w);
    rs_writer_open(&w, path("f16.rsb"), 0, 0);
    rs_rsb_writer_init(&rw, w, 2, RS_F16, NULL);
    float top[2] = { 65504, -65504 }, beyond[2] = { 1, -65505 };
    ok(rs_rsb_write(rw, "t", 1, top) == 0, "f16 takes +-65504");
    ok(rs_rsb_write(rw, "b", 1, beyond) == RS_ERR_FORMAT &&
           strstr(rs_err_msg(), "id 'b': value 65505 beyond f16's range (+-65504)"),
       "f16 refuses 65505 rather than writing Inf: %s", rs_err_msg());
    rs_rsb_writer_free(rw);
    rs_writer_abort(w);

    float vals[] = { 0.0f, 1.0f, -2.5f, 65504.0f, 1e-5f, 3.14159f, 1e-8f };
    int f16_ok = 1;
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        float back = rs_f16_to_f32(rs_f32_to_f16(vals[i]));
        f16_ok &= fabsf(back - vals[i]) <= fabsf(vals[i]) * 1e-3f + 6e-8f;
    }
    ok(f16_ok, "f16 conversion of normal, subnormal and extreme values");
    ok(isinf(rs_f16_to_f32(rs_f32_to_f16(1e6f))), "f16 overflow is infinity");

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return done_testing();
}
