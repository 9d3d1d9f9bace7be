/* test-num.c - the checked number parser (core/num.h): what it takes, what it
 * refuses and the message it leaves. */
#include "core/err.h"
#include "core/num.h"
#include "tap.h"

#include <float.h>
#include <string.h>

static int f64(const char *s, double *v) { return rs_num_f64(s, strlen(s), v); }

static void refused_f64(const char *s, const char *msg)
{
    double v = 123;
    int rc = f64(s, &v);
    ok(rc == RS_ERR_FORMAT && v == 123 && strstr(rs_err_msg(), msg), "f64 refuses '%s': %s", s, rs_err_msg());
}

static void refused_i64(const char *s, const char *msg)
{
    int64_t v = 123;
    int rc = rs_num_i64(s, strlen(s), &v);
    ok(rc == RS_ERR_FORMAT && v == 123 && strstr(rs_err_msg(), msg), "i64 refuses '%s': %s", s, rs_err_msg());
}

int main(void)
{
    double d;
    int64_t i;
    float f;
    ok(f64("-1.5", &d) == 0 && d == -1.5, "-1.5");
    ok(f64("2e-3", &d) == 0 && d == 2e-3, "2e-3");
    ok(f64(".5", &d) == 0 && d == 0.5, ".5");
    ok(f64("1e-400", &d) == 0 && d == 0, "an underflow to zero is taken");
    ok(f64("3.4e38", &d) == 0 && d == 3.4e38, "3.4e38 is within float's range");
    refused_f64("1.7e308", "expected a number within float's range (+-3.4e38), got '1.7e308'");
    ok(rs_num_f64("2.5xyz", 3, &d) == 0 && d == 2.5, "only the n bytes are read");
    refused_f64("nan", "expected a finite number, got 'nan'");
    refused_f64("-NaN", "expected a finite number");
    refused_f64("inf", "expected a finite number, got 'inf'");
    refused_f64("-Infinity", "expected a finite number");
    refused_f64("1e999", "expected a finite number, got '1e999'");
    refused_f64("-1e309", "expected a finite number");
    refused_f64("0x1p3", "expected a decimal number, got '0x1p3'");
    refused_f64("0x10", "expected a decimal number");
    refused_f64(" 5", "expected a decimal number");
    refused_f64("5 ", "expected a number");
    refused_f64("", "expected a number, got ''");
    refused_f64("abc", "expected a number, got 'abc'");
    refused_f64("1e", "expected a number");
    refused_f64("1,5", "expected a number");
    char nul[] = { '1', '\0', '2' };
    ok(rs_num_f64(nul, 3, &d) == RS_ERR_FORMAT, "a NUL inside is refused");
    char longnum[80];
    memset(longnum, '1', 79);
    longnum[79] = '\0';
    refused_f64(longnum, "...'");

    ok(rs_num_i64("-42", 3, &i) == 0 && i == -42, "-42");
    ok(rs_num_i64("9223372036854775807", 19, &i) == 0 && i == INT64_MAX, "INT64_MAX");
    refused_i64("9223372036854775808", "expected an integer in -2^63..2^63-1");
    refused_i64("99999999999999999999", "expected an integer in");
    refused_i64("1.5", "expected an integer, got '1.5'");
    refused_i64("0x10", "expected an integer");
    refused_i64(" 7", "expected an integer");
    refused_i64("7 ", "expected an integer");
    refused_i64("", "expected an integer");
    refused_i64("-", "expected an integer");

    ok(rs_num_f32("3e38", 4, &f) == 0 && f == 3e38f, "3e38 fits a float");
    ok(rs_num_f32("-4e38", 5, &f) == RS_ERR_FORMAT && strstr(rs_err_msg(), "float's range"), "-4e38 does not: %s",
       rs_err_msg());

    ok(rs_num_vec_value("1e16", 4, &d) == 0 && d == 1e16, "1e16 is a vector value");
    ok(rs_num_vec_value("-2e16", 5, &d) == RS_ERR_FORMAT &&
           strstr(rs_err_msg(), "expected a finite number within +-1e16, got '-2e16'"),
       "-2e16 is not: %s", rs_err_msg());
    ok(rs_num_vec_ok(-1e16) && !rs_num_vec_ok(1.01e16) && !rs_num_vec_ok(NAN) && !rs_num_vec_ok(INFINITY),
       "rs_num_vec_ok: the bound, NaN and Inf");
    float v[4] = { 0, 1e16f, 3, 1e20f };
    is_int(rs_num_vec_find_bad(v, 4), 3, "find_bad: the first bad index");
    is_int(rs_num_vec_find_bad(v, 3), 3, "find_bad: n when all are fine");
    v[0] = NAN;
    is_int(rs_num_vec_find_bad(v, 4), 0, "find_bad: NaN");
    /* the bound's promise: the squared norm of a full-size vector stays finite in float */
    ok((float)RS_NUM_VEC_MAX * (float)RS_NUM_VEC_MAX * 65536.0f < FLT_MAX, "65536 squares of 1e16 fit a float");
    return done_testing();
}
