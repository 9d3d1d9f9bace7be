/* track.h - the run store: what a tool run read, wrote, was given and
 * measured, kept in SQLite (schemas/runs.md has the schema, version 1).
 *
 * A run is built in memory (struct rs_run: rs_run_init, _param, _file,
 * _metric, _finish) and written in one transaction (rs_store_put), so
 * concurrent writers (make -j, shards) each add whole runs or nothing; the
 * store runs in WAL mode with a busy timeout. rs_store_open refuses, without
 * touching it, a file that is not a run store (another application's SQLite
 * database, a corrupt file) or one of a newer schema version.
 */
#ifndef RS_TRACK_H
#define RS_TRACK_H

#include <stddef.h>
#include <stdint.h>

#define RS_TRACK_SCHEMA 1          /* PRAGMA user_version of the store */
#define RS_TRACK_APP_ID 0x52535255 /* PRAGMA application_id: "RSRU" */
#define RS_TRACK_BUSY_MS 5000      /* default busy timeout (env RS_TRACK_BUSY_MS) */

enum rs_file_role { RS_FILE_IN, RS_FILE_OUT };

struct rs_run_file {
    char *path;    /* as the tool named it; "-" for stdin or stdout */
    char *abspath; /* realpath when it was recorded; NULL for a stream */
    enum rs_file_role role;
    int64_t size;  /* bytes; -1 for a stream (pipe, FIFO, device), not hashed */
    uint64_t xxh3; /* XXH3-64 of the content (size >= 0) */
};

struct rs_run_param {
    char *name, *value;
};

struct rs_run_metric {
    char *name;
    int64_t step; /* epoch or iteration, 1-based; 0 for a final value */
    double value;
};

struct rs_run {
    int64_t id; /* the store's id once put or got; 0 before */
    char *uuid, *group, *tool, *version, *cmdline, *cwd, *host;
    double start, end; /* Unix seconds (UTC), fractional */
    int status;        /* exit status; -1 while running */
    struct rs_run_param *params;
    struct rs_run_file *files;
    struct rs_run_metric *metrics;
    size_t nparams, nfiles, nmetrics;
    size_t cap_params, cap_files, cap_metrics;
};

/* Starts a run now: a fresh uuid, the host, the working directory. group
 * NULL or "": the run's own uuid (a group of one). */
void rs_run_init(struct rs_run *r, const char *tool, const char *version, const char *cmdline,
                 const char *group);
/* Sets parameter name to value (a later value replaces an earlier one). */
void rs_run_param(struct rs_run *r, const char *name, const char *value);
/* Notes a file read or written; a path noted twice in one role is kept once.
 * Size and hash are taken by rs_run_finish, when the outputs are complete. */
void rs_run_file(struct rs_run *r, enum rs_file_role role, const char *path);
/* Adds a metric value at step (0: a final value). */
void rs_run_metric(struct rs_run *r, const char *name, int64_t step, double value);
/* Ends the run with exit status: the end time, each file's size and XXH3;
 * a noted file gone by now (a spool, a staged name) is dropped. */
void rs_run_finish(struct rs_run *r, int status);
/* Frees what r holds; rs_run_free(NULL)-safe on a zeroed struct. */
void rs_run_free(struct rs_run *r);
/* The value of parameter name, or NULL. */
const char *rs_run_get_param(const struct rs_run *r, const char *name);
/* The value of metric name at its last step (*step gets it, may be NULL);
 * 0, or RS_ERR_USAGE with no message when r has no such metric. */
int rs_run_get_metric(const struct rs_run *r, const char *name, double *value, int64_t *step);

/* XXH3-64 and size of a regular file's content; RS_ERR_IO. */
int rs_file_xxh3(const char *path, uint64_t *hash, int64_t *size);

struct rs_store;
enum rs_store_mode { RS_STORE_READ, RS_STORE_WRITE };

/* Opens the store at path. RS_STORE_WRITE creates it (and its schema) when
 * the file is missing or empty; RS_STORE_READ needs an existing store.
 * Errors: RS_ERR_IO (cannot open, locked past the busy timeout),
 * RS_ERR_FORMAT (not a run store: another database, not SQLite, corrupt),
 * RS_ERR_VERSION (a newer schema); the file is then left as it was. */
int rs_store_open(struct rs_store **s, const char *path, enum rs_store_mode mode);
void rs_store_close(struct rs_store *s);
/* Writes r (finished) in one transaction; r->id gets its id. */
int rs_store_put(struct rs_store *s, struct rs_run *r);
/* Reads run id (or, id 0, the run whose uuid starts with key) into r,
 * which the caller frees with rs_run_free. RS_ERR_FORMAT: no such run, or
 * key the start of several uuids. */
int rs_store_get(struct rs_store *s, int64_t id, const char *key, struct rs_run *r);

/* Which runs rs_store_list returns; NULL or 0 fields match any run. */
struct rs_run_query {
    const char *tool, *group;
    int status;          /* exit status to match; -1: any */
    double since, until; /* start time bounds (Unix seconds); 0: none */
    const char *param;   /* "NAME=VALUE": runs with that parameter value */
    const char *metric;  /* runs that have this metric */
};
#define RS_RUN_QUERY_ALL { NULL, NULL, -1, 0, 0, NULL, NULL }

/* The ids of the matching runs, oldest first, into *ids (malloc'd; free it). */
int rs_store_list(struct rs_store *s, const struct rs_run_query *q, int64_t **ids, size_t *n);
/* The ids of the runs that wrote a file whose content hash is xxh3, newest
 * first. */
int rs_store_producers(struct rs_store *s, uint64_t xxh3, int64_t **ids, size_t *n);

/* Lineage: the runs and files that led to a file, walked back by content
 * hash. Each node is a file; its producer is the newest run that wrote that
 * content before the run that read it (for the first file: the newest run
 * that wrote it), whose inputs are the next nodes, depth + 1. */
struct rs_lineage_node {
    int depth;
    char *path;       /* as recorded (the first node: as given) */
    int64_t size;     /* -1: a stream (stdin), not hashed */
    uint64_t xxh3;
    int64_t run;      /* the producer; 0: no recorded run wrote it (a source) */
    char *tool;       /* the producer's tool, or NULL */
    int seen;         /* the producer appears above: its inputs are not repeated */
};
/* The lineage of the file at path, depth-first, into *nodes (free with
 * rs_lineage_free). RS_ERR_IO: path unreadable. */
int rs_store_lineage(struct rs_store *s, const char *path, struct rs_lineage_node **nodes, size_t *n);
void rs_lineage_free(struct rs_lineage_node *nodes, size_t n);

#endif
