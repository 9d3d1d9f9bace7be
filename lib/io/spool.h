/* spool.h - make an input readable twice: a tool that needs two passes over
 * its input (counts first, then output) and reads stdin or a pipe copies it
 * to a temporary zstd file first. Regular files are used in place.
 */
#ifndef RS_SPOOL_H
#define RS_SPOOL_H

/* If path ("-": stdin) is not a regular file, copies its (decompressed)
 * bytes to a new zstd file in $TMPDIR (default /tmp) named after prog and
 * sets *tmp to its path (the caller unlinks and frees it); otherwise *tmp is
 * NULL. Returns 0 or a negative rs_err (then *tmp, if set, must still be
 * unlinked and freed). */
int rs_spool(const char *path, const char *prog, char **tmp);

#endif
