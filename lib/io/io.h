/* io.h - byte streams: files or pipes, transparent zstd, atomic outputs.
 *
 * A reader detects a zstd frame by its magic number (never by name) and
 * decompresses in streaming mode, concatenated frames included; a stream that
 * ends inside a frame is an error. A writer compresses when asked (name ends
 * in ".zst" or RS_W_ZSTD) and, for a regular file, writes "NAME.tmp.XXXXXX"
 * and renames it into place on rs_writer_close(): a failed or killed run
 * never leaves a half-written output. Non-regular targets (/dev/null, a
 * FIFO, "-" for stdout) are written directly. A symlink is written through:
 * the file it points to is replaced and the link kept; a link to nowhere
 * is refused.
 */
#ifndef RS_IO_H
#define RS_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct rs_reader;

/* Opens path ("-" or NULL: stdin). Returns 0 or RS_ERR_IO with a message. */
int rs_reader_open(struct rs_reader **r, const char *path);
/* Reads up to n bytes; returns the count (0 at end of input) or < 0. */
ssize_t rs_reader_read(struct rs_reader *r, void *buf, size_t n);
/* Reads exactly n bytes: 0, RS_ERR_EOF if the input ended before the first
 * byte, RS_ERR_CORRUPT ("truncated") if it ended in between, or < 0. */
int rs_reader_read_exact(struct rs_reader *r, void *buf, size_t n);
/* Makes up to n bytes available without consuming them; *avail is set to
 * what is there (less than n only at end of input). */
int rs_reader_peek(struct rs_reader *r, size_t n, const unsigned char **p, size_t *avail);
/* Next line without its '\n' (and '\r' before it), NUL-terminated, valid
 * until the next call. Returns 0, RS_ERR_EOF at end, or < 0. A line with a
 * NUL byte is cut just after it ((*line)[*len - 1] == '\0'): a text reader
 * refuses it without buffering a stream of NULs whole. */
int rs_reader_getline(struct rs_reader *r, char **line, size_t *len);
/* The name used in messages: the path, or "<stdin>". */
const char *rs_reader_name(const struct rs_reader *r);
/* Gives r another name for its messages (a spool read for the input it
 * holds a copy of). */
void rs_reader_set_name(struct rs_reader *r, const char *name);
struct rs_writer;
/* From now on every byte r decodes is also written to w (a copy of a pipe
 * for a second pass), starting with those it holds already: call it before
 * anything is read. Returns 0 or the write's error. */
int rs_reader_tee(struct rs_reader *r, struct rs_writer *w);
/* 1 if the input is zstd-compressed. */
int rs_reader_is_zstd(const struct rs_reader *r);
void rs_reader_close(struct rs_reader *r);

enum rs_writer_flags {
    RS_W_ZSTD = 1 << 0, /* compress even if the name does not end in .zst */
};

struct rs_writer;

/* Opens path ("-" or NULL: stdout) for writing; level is the zstd level
 * (0: default 3). Returns 0 or RS_ERR_IO. */
int rs_writer_open(struct rs_writer **w, const char *path, int flags, int level);
int rs_writer_write(struct rs_writer *w, const void *buf, size_t n);
int rs_writer_printf(struct rs_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int rs_writer_putc(struct rs_writer *w, char c);
/* The one TSV escaping rule (schemas/tsv.md, "Escaping"): tab, newline, CR
 * and backslash become \t \n \r \\; every other byte is itself. Writes
 * the escaped s to dst (room for 2 * n bytes) and returns its length. */
size_t rs_field_escape(char *dst, const char *s, size_t n);
/* Writes s as one TSV field (rs_field_escape). Every text field a tool
 * writes (ids, names, column names) goes through here; tests/check-writers
 * refuses a raw one. */
int rs_writer_put_field(struct rs_writer *w, const char *s, size_t n);
/* rs_writer_put_field of a NUL-terminated string. */
int rs_writer_put_text(struct rs_writer *w, const char *s);
/* Writes s as a JSON string literal (quotes, escapes; well-formed UTF-8
 * passes through, each byte of an ill-formed sequence becomes \ufffd, so the
 * output is always valid JSON). */
int rs_writer_put_json_string(struct rs_writer *w, const char *s, size_t n);
/* Writes a float with %.9g (round-trips f32) in the C locale. */
int rs_writer_put_float(struct rs_writer *w, double x);
/* Flushes, finishes the zstd frame, checks for write errors (ENOSPC),
 * renames the temporary file into place. Frees w in all cases. On error
 * the temporary file is removed and the previous output is left as it was. */
int rs_writer_close(struct rs_writer *w);
/* Discards the output: removes the temporary file. NULL is a no-op. */
void rs_writer_abort(struct rs_writer *w);
/* The end of a run that wrote to w: rs_writer_close() when rc is 0 (its
 * result), rs_writer_abort() and rc itself when rc < 0. */
int rs_writer_finish(struct rs_writer *w, int rc);

/* 1 if s ends with suffix (output and input names: ".zst", ".csv"). */
int rs_ends_with(const char *s, const char *suffix);

/* 1 once a write failed because the pipe's reader went away (EPIPE): the
 * tools then end quietly, as by SIGPIPE, which they ignore. */
int rs_io_pipe_closed(void);
/* Removes every temporary path still registered; installed by rs_cli_init()
 * for exit() and fatal signals, so an interrupted run leaves nothing. */
void rs_io_cleanup(void);
/* Registers a temporary file or folder for rs_io_cleanup (folders are
 * removed after the files, so a staging folder goes with what it holds).
 * path is kept, not copied: drop it (the same pointer) before freeing it. */
void rs_io_temp_add(char *path);
void rs_io_temp_drop(const char *path);

/* What a run reads and writes, for the run store (track/): once set, fn is
 * called with RS_IO_READ and each input opened ("-" for stdin) and with
 * RS_IO_WRITTEN and each output committed (its final path; "-" for stdout).
 * rs_io_note() reports a file opened some other way (a mapped index). */
enum rs_io_event { RS_IO_READ, RS_IO_WRITTEN };
void rs_io_set_observer(void (*fn)(enum rs_io_event ev, const char *path));
void rs_io_note(enum rs_io_event ev, const char *path);

#endif
