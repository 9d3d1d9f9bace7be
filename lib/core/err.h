/* err.h - error codes, the per-thread error message, allocation that aborts.
 *
 * The library never prints or exits. A fallible function returns 0 or a
 * negative enum rs_err and leaves a message (with file, line and column where
 * it has them) that rs_err_msg() returns until the next error on that thread.
 * Tools turn it into one stderr line and an exit code (see cli.h).
 */
#ifndef RS_ERR_H
#define RS_ERR_H

#include <stddef.h>

enum rs_err {
    RS_OK = 0,
    RS_ERR_IO = -1,      /* open/read/write/rename failed (errno-based) */
    RS_ERR_FORMAT = -2,  /* malformed input: bad field, header, frame */
    RS_ERR_CORRUPT = -3, /* checksum mismatch, truncated stream */
    RS_ERR_VERSION = -4, /* file written by a newer format version */
    RS_ERR_USAGE = -5,   /* invalid argument passed by the caller */
    RS_ERR_NOMEM = -6,   /* a limit such as --max-memory was reached */
    RS_ERR_EOF = -7,     /* clean end of input (not an error for readers) */
};

/* Sets the thread's error message (printf-style) and returns code. An
 * argument may be rs_err_msg(), to add context to the last message. */
int rs_err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The last message set on this thread ("" if none). */
const char *rs_err_msg(void);
/* Exit code for a tool: 0 for RS_OK, 2 for RS_ERR_USAGE, 1 otherwise. */
int rs_err_exit_code(int code);

/* Allocation: never return NULL. On failure: "PROG: out of memory allocating
 * N bytes" (or "PROG: --max-memory SIZE exceeded ...", see rs_oom_note) on
 * stderr and exit(1), so atexit handlers still remove temporary outputs. */
extern const char *rs_oom_note; /* set by --max-memory (cli.c): its value, e.g. "1G" */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Programmer errors: always checked, abort with file:line (ggml). */
#define RS_ASSERT(x) \
    do { if (!(x)) rs_assert_fail(#x, __FILE__, __LINE__); } while (0)
void rs_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

#endif
