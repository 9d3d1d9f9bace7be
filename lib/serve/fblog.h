/* fblog.h - the feedback log: an append-only directory of zstd TSV files
 * in the events format the pipeline reads (schemas/feedback.md).
 *
 * Durability: every append is one complete zstd frame (a batch of rows,
 * compressed alone), written with write(2) and made durable by fdatasync(2)
 * before the call returns, so a batch acknowledged after rs_fblog_append
 * returned 0 survives a crash of the process or of the machine. A file is
 * a sequence of frames, which zstd decodes as one stream. A crash in the
 * middle of a write leaves a partial last frame; rs_fblog_open cuts every
 * file of the directory back to its last complete frame (no acknowledged
 * row is in a partial frame), so each file decodes whole. A write that
 * fails (ENOSPC, EFBIG, EIO) is undone by truncating the file to its
 * length before the batch; the next batch goes to a new file.
 *
 * Rotation: a new file when the current one reaches max_bytes or is
 * max_secs old; a file is named feedback-YYYYmmddTHHMMSSZ-NNNNNN.tsv.zst
 * (UTC, then a sequence number), so names sort in time order, and starts
 * with the header line in a frame of its own. Files are never reopened
 * for appending: the server's start begins a new one.
 */
#ifndef RS_FBLOG_H
#define RS_FBLOG_H

#include <stddef.h>
#include <stdint.h>

struct rs_fblog;

/* Opens dir (created if absent) for appending rows under the header line
 * header (without its newline), after repairing the files already there.
 * Errors: RS_ERR_IO naming the path. */
int rs_fblog_open(struct rs_fblog **l, const char *dir, const char *header, uint64_t max_bytes, double max_secs);
/* Appends rows (whole lines, each ending in '\n') as one frame, durably;
 * thread-safe (one batch at a time). RS_ERR_IO when it could not: nothing
 * of the batch is then in the log. */
int rs_fblog_append(struct rs_fblog *l, const char *rows, size_t len);
/* Cuts the file at path back to its last complete zstd frame; *cut: the
 * bytes removed (0 when it was whole). RS_ERR_IO naming it. */
int rs_fblog_repair(const char *path, uint64_t *cut);
void rs_fblog_close(struct rs_fblog *l);

#endif
