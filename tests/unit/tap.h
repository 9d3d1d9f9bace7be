/* tap.h - a tiny TAP harness for the C unit tests (one header, no library).
 *   ok(cond, "name %d", i);  is_int(got, want, "name");  return done_testing();
 */
#ifndef RS_TAP_H
#define RS_TAP_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) \
    tap_is_int((long long)(got), (long long)(want), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define is_near(got, want, tol, ...) \
    tap_is_near((double)(got), (double)(want), (double)(tol), __FILE__, __LINE__, __VA_ARGS__)

#define TAP_REPORT(pass, file, line, fmt)                      \
    do {                                                       \
        va_list ap;                                            \
        tap_n++;                                               \
        if (!(pass))                                           \
            tap_failed++;                                      \
        printf("%s %d - ", (pass) ? "ok" : "not ok", tap_n);   \
        va_start(ap, fmt);                                     \
        vprintf(fmt, ap);                                      \
        va_end(ap);                                            \
        printf("\n");                                          \
        if (!(pass))                                           \
            printf("#   at %s:%d\n", file, line);              \
    } while (0)

#include <stdarg.h>

static inline int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    TAP_REPORT(pass, file, line, fmt);
    return pass;
}

static inline int tap_is_int(long long got, long long want, const char *file, int line,
                             const char *fmt, ...)
{
    int pass = got == want;
    TAP_REPORT(pass, file, line, fmt);
    if (!pass)
        printf("#   got %lld, want %lld\n", got, want);
    return pass;
}

static inline int tap_is_str(const char *got, const char *want, const char *file, int line,
                             const char *fmt, ...)
{
    int pass = got && want && strcmp(got, want) == 0;
    TAP_REPORT(pass, file, line, fmt);
    if (!pass)
        printf("#   got '%s'\n#  want '%s'\n", got ? got : "(null)", want ? want : "(null)");
    return pass;
}

static inline int tap_is_near(double got, double want, double tol, const char *file, int line,
                              const char *fmt, ...)
{
    int pass = fabs(got - want) <= tol;
    TAP_REPORT(pass, file, line, fmt);
    if (!pass)
        printf("#   got %.9g, want %.9g (tolerance %g)\n", got, want, tol);
    return pass;
}

static inline int done_testing(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
