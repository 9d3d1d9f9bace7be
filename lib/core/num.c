/* num.c - checked number parsing (see num.h). The only file that calls the
 * C library's strtod / strtoll. */
#include "core/num.h"
#include "core/err.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Longer text is refused rather than copied: no number the tools read needs
 * 64 characters. */
#define MAX_TEXT 64

static int bad(const char *want, const char *s, size_t n)
{
    return rs_err_set(RS_ERR_FORMAT, "expected %s, got '%.*s%s'", want, (int)(n > 64 ? 64 : n), s,
                      n > 64 ? "..." : "");
}

/* Copies s[0..n) to buf as a C string; 0 if it is too long or holds a NUL. */
static int copy_text(char *buf, const char *s, size_t n)
{
    if (n == 0 || n >= MAX_TEXT || memchr(s, '\0', n))
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return 1;
}

int rs_num_i64(const char *s, size_t n, int64_t *v)
{
    char buf[MAX_TEXT], *end;
    if (!copy_text(buf, s, n) || strspn(buf, "+-0123456789") != n) /* no space strtoll would skip */
        return bad("an integer", s, n);
    errno = 0;
    long long x = strtoll(buf, &end, 10);
    if (*end || end == buf)
        return bad("an integer", s, n);
    if (errno == ERANGE)
        return bad("an integer in -2^63..2^63-1", s, n);
    *v = x;
    return 0;
}

int rs_num_hex64(const char *s, size_t n, uint64_t *v)
{
    uint64_t x = 0;
    if (n == 0 || n > 16)
        return bad("1 to 16 hexadecimal digits", s, n);
    for (size_t i = 0; i < n; i++) {
        int d = isdigit((unsigned char)s[i]) ? s[i] - '0' : isxdigit((unsigned char)s[i]) ? (s[i] | 0x20) - 'a' + 10 : -1;
        if (d < 0)
            return bad("1 to 16 hexadecimal digits", s, n);
        x = x << 4 | (uint64_t)d;
    }
    *v = x;
    return 0;
}

/* A whole finite decimal number, range unchecked. */
static int parse_decimal(const char *s, size_t n, double *v)
{
    char buf[MAX_TEXT], *end;
    if (!copy_text(buf, s, n))
        return bad("a number", s, n);
    errno = 0;
    double x = strtod(buf, &end);
    if (*end || end == buf)
        return bad("a number", s, n);
    if (!isfinite(x) || (errno == ERANGE && fabs(x) > 1)) /* "nan", "inf", "1e999" */
        return bad("a finite number", s, n);
    if (strspn(buf, "+-.0123456789eE") != n) /* hexadecimal ("0x1p3") or a leading space */
        return bad("a decimal number", s, n);
    *v = x;
    return 0;
}

int rs_num_f64(const char *s, size_t n, double *v)
{
    double x;
    int rc = parse_decimal(s, n, &x);
    if (rc < 0)
        return rc;
    if (fabs(x) > FLT_MAX)
        return bad("a number within float's range (+-3.4e38)", s, n);
    *v = x;
    return 0;
}

int rs_num_f32(const char *s, size_t n, float *v)
{
    double x = 0;
    int rc = rs_num_f64(s, n, &x);
    if (rc == 0)
        *v = (float)x;
    return rc;
}

int rs_num_vec_value(const char *s, size_t n, double *v)
{
    double x;
    int rc = parse_decimal(s, n, &x);
    if (rc < 0)
        return rc;
    if (!rs_num_vec_ok(x))
        return bad("a finite number within +-1e16", s, n);
    *v = x;
    return 0;
}

int rs_num_vec_ok(double x)
{
    /* Against the bound as a float (1.0000000272e16), so that a value read as
     * text and stored as float is still a vector value. False for NaN. */
    return fabs(x) <= (double)(float)RS_NUM_VEC_MAX;
}

size_t rs_num_vec_find_bad(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!rs_num_vec_ok(x[i]))
            return i;
    return n;
}
