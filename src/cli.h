/* cli.h - what every tool's main() shares: program name, messages, exit
 * codes, the common flags, progress on stderr, logging.
 *
 * Conventions (docs/design.md, "Conventions of every tool"): messages are "rs-x: error first, 'subject'
 * quoted"; exit 0 success, 1 data or runtime failure, 2 usage. rs_cli_init()
 * also arranges that temporary outputs are removed on exit and on SIGINT,
 * SIGTERM and SIGHUP, and ignores SIGPIPE and SIGXFSZ so that a file-size
 * limit is a write error (exit 1) and a closed pipe (stdout or stderr) a
 * quiet end by SIGPIPE (status 141) after the temporaries are removed,
 * rather than deaths that leave them behind.
 */
#ifndef RS_CLI_H
#define RS_CLI_H

#include "core/shard.h"

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#define RS_VERSION "0.1.0"

/* Flags every tool understands; put RS_COMMON_LONGOPTS in the getopt_long
 * table and RS_COMMON_SHORTOPTS in the short-option string. */
#define RS_COMMON_SHORTOPTS "hVqvj:s:"
#define RS_COMMON_LONGOPTS                                                 \
    { "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' },   \
    { "quiet", no_argument, 0, 'q' }, { "verbose", no_argument, 0, 'v' },  \
    { "threads", required_argument, 0, 'j' }, { "seed", required_argument, 0, 's' }, \
    { "max-memory", required_argument, 0, RS_OPT_MAX_MEMORY },                     \
    { "track", required_argument, 0, RS_OPT_TRACK }

/* getopt value of --max-memory (long only; far above the tools' own enums). */
#define RS_OPT_MAX_MEMORY 0x7f01
/* getopt value of --track (long only). */
#define RS_OPT_TRACK 0x7f03

#define RS_COMMON_HELP                                                              \
    "  -j, --threads N   worker threads (default: all cores)\n"                     \
    "  -s, --seed N      random seed (default 42); the same seed gives the same\n"  \
    "                    bytes whatever --threads (README: Reproducibility)\n"      \
    "  -q, --quiet       no progress or log lines on stderr\n"                      \
    "  -v, --verbose     progress even when stderr is not a terminal\n"             \
    "  -h, --help        this help\n"                                               \
    "  -V, --version     version and build features\n"                             \
    "      --max-memory SIZE  fail cleanly (exit 1, no -o output) when the heap would\n" \
    "                    pass SIZE bytes (K, M, G suffixes; default: no limit)\n" \
    "      --track DB    record this run in the run store DB (default: $RS_TRACK;\n" \
    "                    runs of one pipeline share $RS_RUN_GROUP; rs-runs reads it)\n"

/* Output flags of the tools that write one stream: -o FILE, -z, --level N.
 * Put RS_OUTPUT_LONGOPTS / RS_OUTPUT_SHORTOPTS in the getopt tables, pass
 * each option to rs_cli_output(), open with rs_output_open(). */
#define RS_OUTPUT_SHORTOPTS "o:z"
#define RS_OUTPUT_LONGOPTS                                                 \
    { "output", required_argument, 0, 'o' }, { "zstd", no_argument, 0, 'z' }, \
    { "level", required_argument, 0, RS_OPT_LEVEL }
#define RS_OPT_LEVEL 0x7f02

struct rs_output {
    const char *path; /* NULL: stdout */
    int zstd;         /* compress even when path does not end in .zst */
    int level;        /* zstd level; 0: the default */
};

/* Column flags of the tools that read events or tables keyed by user and
 * item: --user-col, --item-col, --event-col, --time-col, --session-col. A
 * tool states the columns it reads in `used` (RS_COLS_INIT), puts
 * RS_COLS_LONGOPTS in its getopt table, passes each option to rs_cli_cols()
 * and shows rs_cli_cols_help() in its help; a flag it does not read is a
 * usage error. */
enum {
    RS_COLS_USER = 1 << 0,
    RS_COLS_ITEM = 1 << 1,
    RS_COLS_EVENT = 1 << 2,
    RS_COLS_TIME = 1 << 3,
    RS_COLS_SESSION = 1 << 4,
};

struct rs_cols {
    const char *user, *item, *event, *time, *session;
    unsigned used;  /* RS_COLS_* of the flags the tool reads */
    unsigned given; /* RS_COLS_* of the flags on the command line */
};

/* Every tool with column flags takes both id flags, even one whose ids only
 * pass through: one --user-col/--item-col pair then serves every stage of a
 * pipeline (docs/design.md, "Column names"). */
#define RS_COLS_INIT(used) \
    { "user_id", "item_id", "event", "timestamp", "session_id", (used) | RS_COLS_USER | RS_COLS_ITEM, 0 }

/* getopt values of the column flags (long only). */
#define RS_OPT_COL 0x7f10 /* + log2 of the RS_COLS_* bit */
#define RS_OPT_TIME_UNIT 0x7f18 /* --time-unit, with the tools that read --time-col */
#define RS_COLS_LONGOPTS                                                                      \
    { "user-col", required_argument, 0, RS_OPT_COL },                                        \
    { "item-col", required_argument, 0, RS_OPT_COL + 1 },                                    \
    { "event-col", required_argument, 0, RS_OPT_COL + 2 },                                   \
    { "time-col", required_argument, 0, RS_OPT_COL + 3 },                                    \
    { "session-col", required_argument, 0, RS_OPT_COL + 4 },                                 \
    { "time-unit", required_argument, 0, RS_OPT_TIME_UNIT }

/* --shard I/N of the row-wise tools (docs/design.md, "Sharded runs"): put
 * RS_SHARD_LONGOPTS in the getopt table, RS_SHARD_HELP in the help, pass
 * each option to rs_cli_shard(); the selection is rs_shard_sel, whose
 * default (0/1, every row) is set in one place in cli.c, where a launcher's
 * rank and size can replace it. */
#define RS_OPT_SHARD 0x7f30
#define RS_SHARD_LONGOPTS { "shard", required_argument, 0, RS_OPT_SHARD }
#define RS_SHARD_HELP                                                                  \
    "      --shard I/N   only the rows whose user id (item id, for items) hashes to I:\n" \
    "                    XXH3-64 of the id mod N, 0 <= I < N; the N shards' outputs\n"  \
    "                    merge into the unsharded one (default 0/1: every row)\n"

#define RS_DEFAULT_SEED 42

struct rs_common {
    int threads;   /* resolved: never 0 */
    uint64_t seed;
    int quiet, verbose;
};

extern const char *rs_prog;
extern struct rs_common rs_opts;
extern struct rs_shard rs_shard_sel;

/* Sets the program name, defaults, C numeric locale and cleanup handlers. */
void rs_cli_init(const char *prog);
/* Handles a common flag; returns 1 if opt was one, 0 otherwise. --help calls
 * help() and exits 0; --version prints and exits 0. */
int rs_cli_common(int opt, const char *arg, void (*help)(void));
/* Handles --shard into rs_shard_sel; returns 1 if opt was it, 0 otherwise;
 * a malformed I/N is a usage error (exit 2). */
int rs_cli_shard(int opt, const char *arg);
/* Handles an output flag into out; returns 1 if opt was one, 0 otherwise. */
int rs_cli_output(int opt, const char *arg, struct rs_output *out);
/* Handles a column flag into c; returns 1 if opt was one, 0 otherwise. A
 * flag outside c->used, or an empty name, is a usage error (exit 2). */
int rs_cli_cols(int opt, const char *arg, struct rs_cols *c);
/* The help lines of c's flags, with their defaults, the descriptions from
 * column at (as the tool's other options); static storage. */
const char *rs_cli_cols_help(const struct rs_cols *c, int at);
struct rs_writer;
/* rs_writer_open() on out's path, compression and level. */
int rs_output_open(struct rs_writer **w, const struct rs_output *out);
/* Prints "rs-x: msg", a synopsis and "Try 'rs-x --help'"; exits 2. */
void rs_usage_error(const char *synopsis, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
/* For getopt_long's '?': names the offending argument; exits 2. */
void rs_usage_bad_option(const char *synopsis, char **argv) __attribute__((noreturn));
/* "--name" of the option getopt_long just returned as c, li its longindex
 * (-1 for a short option: looked up by c); "" when longopts has none. For
 * options a library parses by name (rerank/divspec.h). */
const char *rs_opt_flag(const struct option *longopts, int c, int li);
/* Prints "rs-x: " + rs_err_msg() and exits with rs_err_exit_code(code);
 * after a write into a closed pipe, ends quietly by SIGPIPE instead. */
void rs_die(int code) __attribute__((noreturn));
/* Prints "rs-x: msg" and exits 1. */
void rs_fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* A log line "rs-x: msg" on stderr unless --quiet. */
void rs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Peak resident memory of this process so far, MiB (getrusage). */
double rs_peak_rss_mib(void);

/* Option values: integer in [min, max], or a usage error naming the flag. */
long long rs_opt_int(const char *flag, const char *arg, long long min, long long max);
double rs_opt_double(const char *flag, const char *arg, double min, double max);
/* A count option that sizes work by the data, as head -n does: v, or max
 * when v exceeds it, with the log line "--candidates 1000000 capped to the
 * 29 items" (what: "items"). */
size_t rs_opt_cap(const char *flag, long long v, size_t max, const char *what);

/* A candidate source NAME=FILE (rs-merge, rs-serve --source): *name gets
 * NAME (xmalloc'd), *path points into arg; else a usage error. NAME names
 * columns (<NAME>_rank): letters, digits and '_' (rs_opt_source_name checks
 * the first len bytes of arg). */
void rs_opt_source(const char *synopsis, const char *arg, char **name, const char **path);
void rs_opt_source_name(const char *synopsis, const char *arg, size_t len);

/* Progress meter: one '\r' line on stderr (rows/s, ETA when total > 0),
 * throttled to ~6 updates/s, only when stderr is a terminal or --verbose,
 * never with --quiet. */
struct rs_progress {
    const char *what;
    uint64_t total, done;
    double start, last;
    int on;
};
void rs_progress_start(struct rs_progress *p, const char *what, uint64_t total);
void rs_progress_add(struct rs_progress *p, uint64_t n);
/* Clears the line and logs "what: N in S s (R/s)" unless --quiet. */
void rs_progress_end(struct rs_progress *p);

/* The run store (src/cli-track.c, lib/track): with --track DB or RS_TRACK
 * set, the run (command line, options as given, files read and written with
 * their XXH3, metrics, exit status) is written to DB when the tool exits. A
 * store that cannot take it (locked, corrupt, foreign) is a warning, never a
 * failure of the tool. */
/* Called by rs_cli_init and rs_cli_common; tools need not. */
void rs_track_begin(void);
void rs_track_option(int opt, const char *arg);
/* 1 when this run will be recorded (a tool may then measure what it would
 * otherwise skip, such as the ALS loss). */
int rs_cli_tracking(void);
/* This run is not recorded (rs-runs, which reads the store). */
void rs_cli_track_off(void);
/* A resolved option value (one the tool defaulted or derived), printf-style;
 * it replaces the value as given. */
void rs_cli_param(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A metric the tool measured: step is the epoch or iteration (1-based), 0
 * for a final value. No-ops without --track. */
void rs_cli_metric(const char *name, long long step, double value);

#endif
