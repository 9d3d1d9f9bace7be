/* err.c - per-thread error messages and aborting allocation. */
#include "core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char err_msg[1024];

int rs_err_set(int code, const char *fmt, ...)
{
    char msg[sizeof err_msg]; /* an argument may be rs_err_msg() itself, to prefix it */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(err_msg, msg, sizeof msg);
    return code;
}

const char *rs_err_msg(void)
{
    return err_msg;
}

int rs_err_exit_code(int code)
{
    if (code == RS_OK)
        return 0;
    return code == RS_ERR_USAGE ? 2 : 1;
}

const char *rs_oom_note;

/* Exits rather than aborts: an input too large for the memory is a data
 * condition, not a bug; exit() runs the cleanup of temporary outputs. */
static void oom(size_t n)
{
    if (rs_oom_note)
        fprintf(stderr, "%s: --max-memory %s exceeded (allocating %zu bytes)\n", program_invocation_short_name,
                rs_oom_note, n);
    else
        fprintf(stderr, "%s: out of memory allocating %zu bytes\n", program_invocation_short_name, n);
    exit(1);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void rs_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
    abort();
}
