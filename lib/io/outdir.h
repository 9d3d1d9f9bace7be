/* outdir.h - a directory of outputs that appears all at once or not at all.
 *
 * Tools that write several files (rs-synth, rs-split) stage them in a
 * sibling directory "DIR.tmp.XXXXXX" and move them into DIR only when every
 * file was written: a failed run leaves DIR as it was (or absent). Files of
 * DIR that the run does not write are left alone.
 */
#ifndef RS_OUTDIR_H
#define RS_OUTDIR_H

#include <stddef.h>

struct rs_outdir;

/* Creates the staging directory next to dir. RS_ERR_IO if dir exists and is
 * not a directory, or the staging directory cannot be made. */
int rs_outdir_open(struct rs_outdir **d, const char *dir);
/* The staging path for file name (no '/'), to pass to rs_writer_open; the
 * name is remembered for rs_outdir_commit. Valid until the next call. */
const char *rs_outdir_path(struct rs_outdir *d, const char *name);
/* Moves every staged file into dir (created if absent) and removes the
 * staging directory; frees d in all cases. 0 or RS_ERR_IO. Under mpirun
 * only rank 0 moves them (the other ranks' writers discard: io.h). */
int rs_outdir_commit(struct rs_outdir *d);
/* Removes the staged files and the staging directory; frees d. NULL: no-op. */
void rs_outdir_abort(struct rs_outdir *d);

#endif
