/* twopass.h - two passes over a table that may come from a pipe.
 *
 * The first pass reads the table as usual. When the input is not a regular
 * file (stdin, a pipe, a FIFO), every row it reads is also copied, in TSV
 * form, to a zstd spool (level 1) in a fresh directory under $TMPDIR (or
 * /tmp). The second pass reads the file again, or the spool: the same header
 * and rows in the same order. The spool is removed as soon as the second
 * pass has opened it, and by rs_twopass_close on every other path (a process
 * killed by a signal between the passes can leave it behind).
 */
#ifndef RS_TWOPASS_H
#define RS_TWOPASS_H

struct rs_tsv;
struct rs_twopass;

/* Opens path ("-" or NULL: stdin) for the first pass with rs_tsv_open's
 * flags; *t is the first pass's table, owned by *tp. Returns 0 or RS_ERR_*. */
int rs_twopass_open(struct rs_twopass **tp, const char *path, int tsv_flags, struct rs_tsv **t);
/* The next row of the first pass, as rs_tsv_next (0, RS_ERR_EOF or < 0),
 * copied to the spool when there is one. */
int rs_twopass_next(struct rs_twopass *tp);
/* Ends the first pass and starts the second: *t reads the same header and
 * rows again (owned by tp). Returns 0 or RS_ERR_*. */
int rs_twopass_rewind(struct rs_twopass *tp, struct rs_tsv **t);
/* 1 if the second pass reads raw CSV fields (a CSV file read again), 0 if
 * it reads TSV fields (escapes kept), as the spool holds. */
int rs_twopass_csv(const struct rs_twopass *tp);
/* Closes the open table and removes the spool; NULL is a no-op. */
void rs_twopass_close(struct rs_twopass *tp);

#endif
