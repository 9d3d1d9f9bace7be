/* io.c - readers with transparent zstd, writers with atomic rename. */
#include "io/io.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define READ_CHUNK (1u << 18)

struct rs_reader {
    FILE *fp;
    char *name;
    ZSTD_DStream *zds; /* NULL for plain input */
    size_t frame_left; /* last ZSTD_decompressStream result: 0 = frame ended */
    unsigned char *in; /* compressed input (zstd only) */
    size_t in_pos, in_len;
    unsigned char *buf; /* decoded bytes: [pos, len) are unread */
    size_t pos, len, cap;
    int eof; /* no more decoded bytes will come */
    struct rs_writer *tee; /* gets every decoded byte (rs_reader_tee), or NULL */
};

static int is_zstd_magic(const unsigned char *p, size_t n)
{
    if (n < 4)
        return 0;
    uint32_t m = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
    return m == ZSTD_MAGICNUMBER || (m & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START;
}

static int read_error(struct rs_reader *r)
{
    return rs_err_set(RS_ERR_IO, "cannot read '%s': %s", r->name, strerror(errno));
}

/* Appends decoded bytes to buf[len..cap); sets eof when input is exhausted. */
static int decode(struct rs_reader *r)
{
    if (!r->zds) {
        size_t got = fread(r->buf + r->len, 1, r->cap - r->len, r->fp);
        if (got == 0) {
            if (ferror(r->fp))
                return read_error(r);
            r->eof = 1;
        }
        r->len += got;
        return 0;
    }
    size_t before = r->len;
    while (r->len == before) {
        if (r->in_pos == r->in_len) {
            r->in_len = fread(r->in, 1, READ_CHUNK, r->fp);
            r->in_pos = 0;
            if (r->in_len == 0) {
                if (ferror(r->fp))
                    return read_error(r);
                if (r->frame_left != 0)
                    return rs_err_set(RS_ERR_CORRUPT, "'%s': truncated zstd stream", r->name);
                r->eof = 1;
                return 0;
            }
        }
        ZSTD_inBuffer in = { r->in, r->in_len, r->in_pos };
        ZSTD_outBuffer out = { r->buf, r->cap, r->len };
        size_t ret = ZSTD_decompressStream(r->zds, &out, &in);
        if (ZSTD_isError(ret))
            return rs_err_set(RS_ERR_CORRUPT, "'%s': corrupt zstd stream: %s", r->name,
                              ZSTD_getErrorName(ret));
        r->frame_left = ret;
        r->in_pos = in.pos;
        r->len = out.pos;
    }
    return 0;
}

/* decode(), and the new bytes to the tee. */
static int fill(struct rs_reader *r)
{
    size_t before = r->len;
    int rc = decode(r);
    if (rc == 0 && r->tee && r->len > before)
        rc = rs_writer_write(r->tee, r->buf + before, r->len - before);
    return rc;
}

static void (*io_observer)(enum rs_io_event ev, const char *path);

void rs_io_set_observer(void (*fn)(enum rs_io_event ev, const char *path))
{
    io_observer = fn;
}

void rs_io_note(enum rs_io_event ev, const char *path)
{
    if (io_observer)
        io_observer(ev, path ? path : "-");
}

int rs_reader_open(struct rs_reader **rp, const char *path)
{
    struct rs_reader *r = xcalloc(1, sizeof *r);
    int use_stdin = !path || strcmp(path, "-") == 0;
    r->name = xstrdup(use_stdin ? "<stdin>" : path);
    r->fp = use_stdin ? stdin : fopen(path, "rb");
    if (!r->fp) {
        int rc = rs_err_set(RS_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
        free(r->name);
        free(r);
        return rc;
    }
    r->cap = READ_CHUNK;
    r->buf = xmalloc(r->cap + 1);
    /* Sniff the magic from the raw bytes, then hand them to the decoder. */
    int rc = fill(r);
    if (rc == 0 && is_zstd_magic(r->buf, r->len)) {
        r->zds = ZSTD_createDStream();
        RS_ASSERT(r->zds);
        r->in = xmalloc(READ_CHUNK);
        memcpy(r->in, r->buf, r->len);
        r->in_len = r->len;
        r->len = 0;
        r->frame_left = 1;
        rc = fill(r);
    }
    if (rc < 0) {
        rs_reader_close(r);
        return rc;
    }
    rs_io_note(RS_IO_READ, use_stdin ? "-" : path);
    *rp = r;
    return 0;
}

/* Ensures buf has room for at least n unread bytes plus a NUL. */
static void make_room(struct rs_reader *r, size_t n)
{
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (n > r->cap) {
        while (r->cap < n)
            r->cap *= 2;
        r->buf = xrealloc(r->buf, r->cap + 1);
    }
}

int rs_reader_peek(struct rs_reader *r, size_t n, const unsigned char **p, size_t *avail)
{
    if (r->len - r->pos < n) {
        make_room(r, n);
        while (r->len < n && !r->eof) {
            int rc = fill(r);
            if (rc < 0)
                return rc;
        }
    }
    *p = r->buf + r->pos;
    *avail = r->len - r->pos < n ? r->len - r->pos : n;
    return 0;
}

ssize_t rs_reader_read(struct rs_reader *r, void *dst, size_t n)
{
    size_t done = 0;
    while (done < n) {
        if (r->pos == r->len) {
            if (r->eof)
                break;
            r->pos = r->len = 0;
            int rc = fill(r);
            if (rc < 0)
                return rc;
            continue;
        }
        size_t k = r->len - r->pos;
        if (k > n - done)
            k = n - done;
        memcpy((char *)dst + done, r->buf + r->pos, k);
        r->pos += k;
        done += k;
    }
    return (ssize_t)done;
}

int rs_reader_read_exact(struct rs_reader *r, void *dst, size_t n)
{
    ssize_t got = rs_reader_read(r, dst, n);
    if (got < 0)
        return (int)got;
    if (got == 0 && n > 0)
        return RS_ERR_EOF;
    if ((size_t)got < n)
        return rs_err_set(RS_ERR_CORRUPT, "'%s': truncated input", r->name);
    return 0;
}

int rs_reader_getline(struct rs_reader *r, char **line, size_t *len)
{
    size_t scanned = 0;
    for (;;) {
        char *start = (char *)r->buf + r->pos;
        char *nl = memchr(start + scanned, '\n', r->len - r->pos - scanned);
        char *stop = nl ? nl : (char *)r->buf + r->len;
        char *nul = memchr(start + scanned, '\0', (size_t)(stop - start) - scanned);
        if (nul) { /* the line ends with its first NUL (io.h) */
            r->pos = (size_t)(nul + 1 - (char *)r->buf);
            *line = start;
            *len = (size_t)(nul + 1 - start);
            return 0;
        }
        if (nl || (r->eof && r->len > r->pos)) {
            char *end = nl ? nl : (char *)r->buf + r->len;
            r->pos = (size_t)(end - (char *)r->buf) + (nl != NULL);
            if (end > start && end[-1] == '\r')
                end--;
            *end = '\0';
            *line = start;
            *len = (size_t)(end - start);
            return 0;
        }
        if (r->eof)
            return RS_ERR_EOF;
        scanned = r->len - r->pos;
        make_room(r, scanned + READ_CHUNK);
        int rc = fill(r);
        if (rc < 0)
            return rc;
    }
}

const char *rs_reader_name(const struct rs_reader *r)
{
    return r->name;
}

void rs_reader_set_name(struct rs_reader *r, const char *name)
{
    free(r->name);
    r->name = xstrdup(name);
}

int rs_reader_tee(struct rs_reader *r, struct rs_writer *w)
{
    RS_ASSERT(r->pos == 0 && !r->tee); /* nothing consumed yet: buf holds every byte decoded so far */
    r->tee = w;
    return r->len ? rs_writer_write(w, r->buf, r->len) : 0;
}

int rs_reader_is_zstd(const struct rs_reader *r)
{
    return r->zds != NULL;
}

void rs_reader_close(struct rs_reader *r)
{
    if (!r)
        return;
    if (r->fp && r->fp != stdin)
        fclose(r->fp);
    ZSTD_freeDStream(r->zds);
    free(r->in);
    free(r->buf);
    free(r->name);
    free(r);
}

int rs_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* ---- writer ---- */

#define WRITE_BUF (1u << 17)
#define MAX_TEMPS 256

struct rs_writer {
    FILE *fp;
    char *name;
    char *tmp; /* temporary path to rename, NULL when writing in place */
    char *target; /* what tmp is renamed to: the name, or the file its symlink points to */
    ZSTD_CStream *zcs;
    unsigned char *zout;
    size_t zout_cap;
    char buf[WRITE_BUF];
    size_t len;
    int failed;
};

/* Temporary paths not yet renamed or removed, for cleanup on exit or signal:
 * a fixed table, so that a signal handler can walk it. */
static char *temps[MAX_TEMPS];

void rs_io_temp_add(char *path)
{
    for (int i = 0; i < MAX_TEMPS; i++)
        if (!temps[i]) {
            temps[i] = path;
            return;
        }
    RS_ASSERT(!"too many temporary files at once");
}

void rs_io_temp_drop(const char *path)
{
    for (int i = 0; i < MAX_TEMPS; i++)
        if (temps[i] == path)
            temps[i] = NULL;
}

void rs_io_cleanup(void)
{
    /* Called from signal handlers too: only unlink() and rmdir(), which are
     * async-signal-safe. Files first, so that their folders are empty when
     * rmdir comes to them (each call fails harmlessly on the other kind). */
    for (int i = 0; i < MAX_TEMPS; i++)
        if (temps[i])
            unlink(temps[i]);
    for (int i = 0; i < MAX_TEMPS; i++)
        if (temps[i])
            rmdir(temps[i]);
}

/* The file an output named path replaces: path itself, or the file its
 * symlink points to. Writing through the link (as sort -o and cp do) keeps
 * the link; the temporary goes next to the target, so the rename stays on
 * one file system. NULL with errno set for a link to nowhere. */
static char *output_target(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode))
        return xstrdup(path);
    return realpath(path, NULL);
}

int rs_writer_open(struct rs_writer **wp, const char *path, int flags, int level)
{
    struct rs_writer *w = xcalloc(1, sizeof *w);
    int use_stdout = !path || strcmp(path, "-") == 0;
    w->name = xstrdup(use_stdout ? "<stdout>" : path);
    struct stat st;
    if (use_stdout) {
        w->fp = stdout;
    } else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        w->fp = fopen(path, "wb"); /* device or FIFO: nothing to rename */
    } else if ((w->target = output_target(path)) != NULL) {
        size_t n = strlen(w->target);
        w->tmp = xmalloc(n + 16);
        snprintf(w->tmp, n + 16, "%s.tmp.XXXXXX", w->target);
        int fd = mkstemp(w->tmp);
        if (fd >= 0) {
            mode_t mask = umask(0);
            umask(mask);
            fchmod(fd, 0666 & ~mask);
            w->fp = fdopen(fd, "wb");
            rs_io_temp_add(w->tmp);
        }
    }
    if (!w->fp) {
        int rc = rs_err_set(RS_ERR_IO, "cannot open '%s' for writing: %s", path, strerror(errno));
        free(w->tmp);
        free(w->target);
        free(w->name);
        free(w);
        return rc;
    }
    if ((flags & RS_W_ZSTD) || (!use_stdout && rs_ends_with(path, ".zst"))) {
        w->zcs = ZSTD_createCStream();
        RS_ASSERT(w->zcs);
        ZSTD_CCtx_setParameter(w->zcs, ZSTD_c_compressionLevel, level ? level : 3);
        ZSTD_CCtx_setParameter(w->zcs, ZSTD_c_checksumFlag, 1);
        w->zout_cap = ZSTD_CStreamOutSize();
        w->zout = xmalloc(w->zout_cap);
    }
    *wp = w;
    return 0;
}

static int pipe_closed;

int rs_io_pipe_closed(void)
{
    return pipe_closed;
}

static int write_error(struct rs_writer *w)
{
    w->failed = 1;
    pipe_closed |= errno == EPIPE;
    return rs_err_set(RS_ERR_IO, "cannot write '%s': %s", w->name, strerror(errno ? errno : EIO));
}

static int raw_write(struct rs_writer *w, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, w->fp) != n)
        return write_error(w);
    return 0;
}

static int compress(struct rs_writer *w, const void *p, size_t n, ZSTD_EndDirective mode)
{
    ZSTD_inBuffer in = { p, n, 0 };
    size_t left;
    do {
        ZSTD_outBuffer out = { w->zout, w->zout_cap, 0 };
        left = ZSTD_compressStream2(w->zcs, &out, &in, mode);
        if (ZSTD_isError(left))
            return rs_err_set(RS_ERR_IO, "'%s': zstd: %s", w->name, ZSTD_getErrorName(left));
        if (raw_write(w, w->zout, out.pos) < 0)
            return RS_ERR_IO;
    } while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
    return 0;
}

static int flush_buf(struct rs_writer *w)
{
    if (w->failed)
        return RS_ERR_IO;
    int rc = w->zcs ? compress(w, w->buf, w->len, ZSTD_e_continue) : raw_write(w, w->buf, w->len);
    w->len = 0;
    return rc;
}

int rs_writer_write(struct rs_writer *w, const void *p, size_t n)
{
    if (w->len + n > WRITE_BUF) {
        if (flush_buf(w) < 0)
            return RS_ERR_IO;
        if (n > WRITE_BUF)
            return w->zcs ? compress(w, p, n, ZSTD_e_continue) : raw_write(w, p, n);
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    return 0;
}

int rs_writer_putc(struct rs_writer *w, char c)
{
    if (w->len == WRITE_BUF && flush_buf(w) < 0)
        return RS_ERR_IO;
    w->buf[w->len++] = c;
    return 0;
}

int rs_writer_printf(struct rs_writer *w, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return rs_err_set(RS_ERR_USAGE, "bad format");
    if ((size_t)n < sizeof small)
        return rs_writer_write(w, small, (size_t)n);
    char *big = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = rs_writer_write(w, big, (size_t)n);
    free(big);
    return rc;
}

/* The letter after the backslash that stands for byte c, or 0 if c is itself. */
static char escape_of(char c)
{
    return c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\\' ? '\\' : 0;
}

size_t rs_field_escape(char *dst, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char esc = escape_of(s[i]);
        if (esc)
            dst[o++] = '\\';
        dst[o++] = esc ? esc : s[i];
    }
    return o;
}

int rs_writer_put_field(struct rs_writer *w, const char *s, size_t n)
{
    /* runs of bytes that stand for themselves go out as they are */
    for (size_t i = 0, run = 0; i < n; i = run + 1) {
        for (run = i; run < n && !escape_of(s[run]); run++)
            ;
        int rc = run > i ? rs_writer_write(w, s + i, run - i) : 0;
        if (run < n)
            rc |= rs_writer_putc(w, '\\') | rs_writer_putc(w, escape_of(s[run]));
        if (rc < 0)
            return RS_ERR_IO;
    }
    return 0;
}

int rs_writer_put_text(struct rs_writer *w, const char *s)
{
    return rs_writer_put_field(w, s, strlen(s));
}

/* Length of the well-formed UTF-8 sequence at p (Unicode table 3-7), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (len == 0 || len > n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if (p[k] < 0x80 || p[k] > 0xBF)
            return 0;
    return len;
}

int rs_writer_put_json_string(struct rs_writer *w, const char *s, size_t n)
{
    int rc = rs_writer_putc(w, '"');
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t len;
        if (c == '"' || c == '\\')
            rc = rs_writer_putc(w, '\\') | rs_writer_putc(w, (char)c);
        else if (c < 0x20)
            rc = rs_writer_printf(w, "\\u%04x", c);
        else if (c < 0x80)
            rc = rs_writer_putc(w, (char)c);
        else if ((len = utf8_len((const unsigned char *)s + i, n - i)) > 0)
            rc = rs_writer_write(w, s + i, len), i += len - 1;
        else /* JSON text is UTF-8: a stray byte becomes U+FFFD */
            rc = rs_writer_printf(w, "\\ufffd");
    }
    return rc | rs_writer_putc(w, '"');
}

int rs_writer_put_float(struct rs_writer *w, double x)
{
    return rs_writer_printf(w, "%.9g", x);
}

static void writer_free(struct rs_writer *w)
{
    if (w->tmp)
        rs_io_temp_drop(w->tmp);
    ZSTD_freeCStream(w->zcs);
    free(w->zout);
    free(w->tmp);
    free(w->target);
    free(w->name);
    free(w);
}

int rs_writer_close(struct rs_writer *w)
{
    int rc = flush_buf(w);
    if (rc == 0 && w->zcs)
        rc = compress(w, NULL, 0, ZSTD_e_end);
    errno = 0;
    if (rc == 0 && fflush(w->fp) != 0)
        rc = write_error(w);
    if (rc == 0 && w->tmp && fsync(fileno(w->fp)) != 0)
        rc = write_error(w);
    if (w->fp == stdout) {
        /* stdout is closed at exit; report its errors now (ENOSPC, EPIPE). */
        if (rc == 0 && ferror(stdout))
            rc = write_error(w);
    } else if (fclose(w->fp) != 0 && rc == 0) {
        rc = write_error(w);
    }
    if (w->tmp) {
        if (rc == 0 && rename(w->tmp, w->target) != 0)
            rc = rs_err_set(RS_ERR_IO, "cannot rename '%s' to '%s': %s", w->tmp, w->target,
                            strerror(errno));
        if (rc != 0)
            unlink(w->tmp);
    }
    if (rc == 0)
        rs_io_note(RS_IO_WRITTEN, w->fp == stdout ? "-" : w->target ? w->target : w->name);
    writer_free(w);
    return rc;
}

void rs_writer_abort(struct rs_writer *w)
{
    if (!w)
        return;
    if (w->fp != stdout)
        fclose(w->fp);
    else
        fflush(stdout);
    if (w->tmp)
        unlink(w->tmp);
    writer_free(w);
}

int rs_writer_finish(struct rs_writer *w, int rc)
{
    if (rc < 0) {
        rs_writer_abort(w);
        return rc;
    }
    return rs_writer_close(w);
}
