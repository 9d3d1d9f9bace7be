/* twopass.h - two passes over a table that may come from a pipe.
 *
 * A tool that reads its input twice (counts first, then output) opens it
 * here. A regular file is simply read again. Any other input (stdin, a pipe,
 * a FIFO, a process substitution) has every byte the first pass decodes
 * copied, as read, to a zstd spool (level 1) in a fresh directory under
 * $TMPDIR (or /tmp); the second pass reads the spool: the same header, rows,
 * fields and line numbers, and messages that name the input, not the spool.
 * The spool is removed as soon as the second pass has opened it, and by
 * rs_twopass_close on every other path (a process killed by a signal between
 * the passes can leave it behind).
 */
#ifndef RS_TWOPASS_H
#define RS_TWOPASS_H

struct rs_tsv;
struct rs_twopass;

/* Opens path ("-" or NULL: stdin) for the first pass with rs_tsv_open's
 * flags; *t is the first pass's table (read it with rs_tsv_next), owned by
 * *tp. Returns 0 or RS_ERR_*. */
int rs_twopass_open(struct rs_twopass **tp, const char *path, int tsv_flags, struct rs_tsv **t);
/* Ends the first pass (what it left unread is still copied) and starts the
 * second: *t reads the same table again from its header (owned by tp).
 * Returns 0 or RS_ERR_*. */
int rs_twopass_rewind(struct rs_twopass *tp, struct rs_tsv **t);
/* Closes the open table and removes the spool; NULL is a no-op. */
void rs_twopass_close(struct rs_twopass *tp);

#endif
