/* split.h - the rules of rs-split: which window an event belongs to.
 *
 * Three families (schemas/split.md):
 *  - time windows: consecutive [lo, hi) intervals ending at an end time, given
 *    by durations from the newest ('old|6w|3w': everything before, then 6
 *    weeks, then the last 3 weeks), or by one absolute cutoff;
 *  - event types: each window takes a list of event words;
 *  - per user: the last N, the last fraction F, or a random fraction F of each
 *    user's events (ordered by timestamp, ties by input order) go to "test".
 * Time and event rules decide row by row (streaming); per-user rules need
 * every event of a user, so they work on arrays.
 */
#ifndef RS_SPLIT_H
#define RS_SPLIT_H

#include <stddef.h>
#include <stdint.h>

struct rs_strmap;
struct rs_writer;
struct rs_outdir;

#define RS_SPLIT_OLD INT64_MIN /* duration of an open-ended first window */

struct rs_split_windows {
    size_t n;
    char **name;          /* file-safe names: [A-Za-z0-9_.-], no leading '.' */
    int64_t *len;         /* time rule: seconds, or RS_SPLIT_OLD (first window only) */
    int64_t *lo;          /* time rule: window k is [lo[k], lo[k+1]) with lo[n] = end */
    struct rs_strmap *ev; /* event rule: event word -> window (owner in evwin) */
    uint32_t *evwin;
};

/* Parses 'old|6w|3w' or 'train=old|valid=6w|test=3w' (durations as in
 * rs_duration_parse; 'old' only first). A window without a name is named by
 * its text. RS_ERR_USAGE with a message on a bad spec or a duplicate name. */
int rs_split_parse_windows(struct rs_split_windows *w, const char *spec);
/* Two windows named a and b split at cutoff: [-inf, cutoff), [cutoff, +inf). */
void rs_split_cutoff(struct rs_split_windows *w, const char *a, const char *b, int64_t cutoff);
/* Fixes the windows' bounds so that the last one ends at end (exclusive). */
void rs_split_anchor(struct rs_split_windows *w, int64_t end);
/* Window of time t, or -1 when t falls before the first window or at/after
 * the end. */
int rs_split_window_of(const struct rs_split_windows *w, int64_t t);
/* Parses 'train=click,favourite|valid=booking': every window names its
 * event words; a word in two windows is an error (RS_ERR_USAGE). */
int rs_split_parse_events(struct rs_split_windows *w, const char *spec);
/* Window that takes event word ev[0..n), or -1. */
int rs_split_event_window(const struct rs_split_windows *w, const char *ev, size_t n);
void rs_split_windows_free(struct rs_split_windows *w);

enum rs_split_per_user_mode {
    RS_SPLIT_LAST_N = 1,   /* the last n events */
    RS_SPLIT_LAST_FRAC = 2, /* the last max(1, floor(frac * count)) events */
    RS_SPLIT_RANDOM = 3,   /* max(1, floor(frac * count)) events drawn at random */
};

struct rs_split_per_user {
    int mode;          /* enum rs_split_per_user_mode */
    uint64_t n;        /* RS_SPLIT_LAST_N */
    double frac;       /* RS_SPLIT_LAST_FRAC, RS_SPLIT_RANDOM */
    uint64_t min_train; /* never leave a user fewer train events than this */
    uint64_t seed;     /* RS_SPLIT_RANDOM */
};

/* Events 0..count-1 with dense user ids user[k] and timestamps ts[k]:
 * sets test[k] to 1 for the events the rule sends to test, 0 otherwise.
 * Ties in timestamp keep input order; the draws of RS_SPLIT_RANDOM depend
 * only on the seed and the input. */
void rs_split_assign(const struct rs_split_per_user *r, const uint32_t *user, const int64_t *ts, size_t count,
                     uint8_t *test);

/* One output file per window, DIR/<name>.tsv[.zst], staged (outdir.h) so
 * that DIR changes only if every window is complete; with per-window counts,
 * distinct users and time range for the report. */
struct rs_split_out {
    size_t n;
    uint64_t *count, dropped;
    int64_t *tmin, *tmax;       /* INT64_MAX / INT64_MIN while a window is empty */
    struct rs_strmap **users;   /* distinct users of each window */
    struct rs_writer **w;
    struct rs_outdir *dir;
};

/* Opens the files of w's windows in dir and writes header[0..hlen) (a whole
 * line, or nothing when hlen is 0) to each. On error, call
 * rs_split_out_finish with the error. */
int rs_split_out_open(struct rs_split_out *o, const char *dir, const struct rs_split_windows *w,
                      const char *header, size_t hlen, int zstd, int level);
/* Appends row[0..n) (a whole line) to window k and counts it, or counts it
 * as dropped when k < 0. */
int rs_split_out_put(struct rs_split_out *o, int k, const char *row, size_t n, const char *user, size_t ulen,
                     int64_t ts);
/* With rc == 0, closes every file and moves the directory into place;
 * otherwise, or if that fails, discards everything. Returns the outcome.
 * The counts stay readable until rs_split_out_free. */
int rs_split_out_finish(struct rs_split_out *o, int rc);
void rs_split_out_free(struct rs_split_out *o);

#endif
