/* store.c - the run store in SQLite (track.h; schema in schemas/runs.md).
 * Whole runs go in one IMMEDIATE transaction each; the journal is WAL, so
 * readers (rs-runs) never wait for a writer and writers wait for one another
 * up to the busy timeout. */
#include "track/track.h"
#include "track/db.h"
#include "core/err.h"
#include "core/num.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Schema version 1; schemas/runs.md documents each column. */
static const char schema_v1[] =
    "CREATE TABLE runs ("
    " id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, run_group TEXT NOT NULL,"
    " tool TEXT NOT NULL, version TEXT NOT NULL, cmdline TEXT NOT NULL, cwd TEXT NOT NULL,"
    " host TEXT NOT NULL, start REAL NOT NULL, end REAL NOT NULL, status INTEGER NOT NULL);"
    "CREATE INDEX runs_group ON runs(run_group);"
    "CREATE INDEX runs_tool ON runs(tool);"
    "CREATE TABLE params ("
    " run INTEGER NOT NULL REFERENCES runs(id), name TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (run, name));"
    "CREATE TABLE files ("
    " run INTEGER NOT NULL REFERENCES runs(id), role TEXT NOT NULL CHECK (role IN ('in', 'out')),"
    " path TEXT NOT NULL, abspath TEXT, size INTEGER, xxh3 TEXT);"
    "CREATE INDEX files_run ON files(run);"
    "CREATE INDEX files_hash ON files(xxh3, role);"
    "CREATE TABLE metrics ("
    " run INTEGER NOT NULL REFERENCES runs(id), name TEXT NOT NULL, step INTEGER NOT NULL,"
    " value REAL NOT NULL);"
    "CREATE INDEX metrics_run ON metrics(run, name, step);";

/* A locked store is an I/O condition, a file that is not a database a
 * format one. */
int rs_db_error(struct rs_store *s, int sqlite_rc, const char *what)
{
    int code = (sqlite_rc & 0xff) == SQLITE_NOTADB || (sqlite_rc & 0xff) == SQLITE_CORRUPT ? RS_ERR_FORMAT : RS_ERR_IO;
    return rs_err_set(code, "%s: %s", what, sqlite3_errmsg(s->db));
}

int rs_db_exec(struct rs_store *s, const char *sql)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : rs_db_error(s, rc, "cannot update the store");
}

int rs_db_query_int(struct rs_store *s, const char *sql, int64_t *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : rs_db_error(s, rc, "cannot read it");
}

/* What the file is: 1 a run store (of this version), 0 an empty database
 * (ours to create), or an error for anything else. Reads only. */
static int identify(struct rs_store *s)
{
    /* One statement, one snapshot: a writer creating the store between two
     * queries would show tables without their application_id. */
    sqlite3_stmt *st;
    int64_t app = 0, version = 0, tables = 0;
    int rc = sqlite3_prepare_v2(s->db, "SELECT (SELECT application_id FROM pragma_application_id),"
                                       " (SELECT user_version FROM pragma_user_version),"
                                       " (SELECT count(*) FROM sqlite_master)", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        app = sqlite3_column_int64(st, 0);
        version = sqlite3_column_int64(st, 1);
        tables = sqlite3_column_int64(st, 2);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return rs_db_error(s, rc, "cannot read it");
    if (app == 0 && version == 0 && tables == 0)
        return 0;
    if (app != RS_TRACK_APP_ID)
        return rs_err_set(RS_ERR_FORMAT, "not a run store (a SQLite database of another application: "
                          "%" PRId64 " tables, application_id %" PRId64 "); left untouched", tables, app);
    if (version > RS_TRACK_SCHEMA)
        return rs_err_set(RS_ERR_VERSION, "schema version %" PRId64 " is newer than this tool's %d",
                          version, RS_TRACK_SCHEMA);
    if (version < 1)
        return rs_err_set(RS_ERR_FORMAT, "run store without a schema version");
    return 1;
}

/* Creates the schema in an empty database, unless another writer did it
 * between identify() and our write lock. */
static int busy_ms(void);

/* Switches the new store to WAL. Changing the journal mode does not wait
 * for the busy handler: while another writer creates the same store, try
 * again until the busy timeout, and take "wal" set by it as done. */
static int set_wal(struct rs_store *s)
{
    for (int waited = 0;; waited += 10) {
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW && strcmp(rs_db_text(st, 0), "wal") == 0) {
            sqlite3_finalize(st);
            return 0;
        }
        sqlite3_finalize(st);
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED && rc != SQLITE_ROW)
            return rs_db_error(s, rc, "cannot switch the store to WAL");
        if (waited >= busy_ms())
            return rs_err_set(RS_ERR_IO, "cannot switch the store to WAL: database is locked");
        sqlite3_sleep(10);
    }
}

static int create_schema(struct rs_store *s)
{
    int rc = set_wal(s);
    if (rc == 0)
        rc = rs_db_exec(s, "BEGIN IMMEDIATE");
    if (rc < 0)
        return rc;
    int64_t tables;
    rc = rs_db_query_int(s, "SELECT count(*) FROM sqlite_master", &tables);
    if (rc == 0 && tables == 0) {
        char pragmas[96];
        snprintf(pragmas, sizeof pragmas, "PRAGMA application_id=%d; PRAGMA user_version=%d;",
                 RS_TRACK_APP_ID, RS_TRACK_SCHEMA);
        rc = rs_db_exec(s, schema_v1);
        if (rc == 0)
            rc = rs_db_exec(s, pragmas);
    }
    if (rc == 0)
        return rs_db_exec(s, "COMMIT");
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int busy_ms(void)
{
    const char *env = getenv("RS_TRACK_BUSY_MS");
    int64_t ms;
    if (env && rs_num_i64(env, strlen(env), &ms) == 0 && ms >= 0 && ms <= 3600000)
        return (int)ms;
    return RS_TRACK_BUSY_MS;
}

int rs_store_open(struct rs_store **sp, const char *path, enum rs_store_mode mode)
{
    *sp = NULL;
    struct rs_store *s = xcalloc(1, sizeof *s);
    s->path = xstrdup(path);
    int flags = mode == RS_STORE_WRITE ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = rs_err_set(RS_ERR_IO, "cannot open: %s", s->db ? sqlite3_errmsg(s->db) : "out of memory");
        rs_store_close(s);
        return rc;
    }
    sqlite3_busy_timeout(s->db, busy_ms());
    /* WAL with synchronous NORMAL: a commit is not fsynced (a power cut may
     * lose the last runs, never corrupt the store); a run's cost stays far
     * below a tool's start-up. Per connection: the file is not touched. */
    sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    /* Nor does each tool's exit checkpoint the WAL into the store (two
     * fsyncs): SQLite's auto-checkpoint folds it in every 1000 pages. */
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    rc = identify(s);
    if (rc == 0 && mode == RS_STORE_READ)
        rc = rs_err_set(RS_ERR_FORMAT, "empty: no run recorded yet");
    if (rc == 0)
        rc = create_schema(s);
    if (rc < 0) {
        rs_store_close(s);
        return rc;
    }
    *sp = s;
    return 0;
}

void rs_store_close(struct rs_store *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

int rs_db_prepare(struct rs_store *s, const char *sql, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? 0 : rs_db_error(s, rc, "cannot query the store");
}

int rs_db_step_done(struct rs_store *s, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : rs_db_error(s, rc, "cannot write the run");
}

static void hex64(uint64_t h, char out[17])
{
    snprintf(out, 17, "%016" PRIx64, h);
}

static int put_row(struct rs_store *s, struct rs_run *r)
{
    sqlite3_stmt *st;
    int rc = rs_db_prepare(s, "INSERT INTO runs (uuid, run_group, tool, version, cmdline, cwd, host, start, end,"
                        " status) VALUES (?,?,?,?,?,?,?,?,?,?)", &st);
    if (rc < 0)
        return rc;
    const char *text[] = { r->uuid, r->group, r->tool, r->version, r->cmdline, r->cwd, r->host };
    for (int k = 0; k < 7; k++)
        sqlite3_bind_text(st, k + 1, text[k], -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 8, r->start);
    sqlite3_bind_double(st, 9, r->end);
    sqlite3_bind_int(st, 10, r->status);
    rc = rs_db_step_done(s, st);
    sqlite3_finalize(st);
    r->id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static int put_params(struct rs_store *s, const struct rs_run *r)
{
    sqlite3_stmt *st;
    int rc = rs_db_prepare(s, "INSERT INTO params (run, name, value) VALUES (?,?,?)", &st);
    for (size_t k = 0; rc == 0 && k < r->nparams; k++) {
        sqlite3_bind_int64(st, 1, r->id);
        sqlite3_bind_text(st, 2, r->params[k].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, r->params[k].value, -1, SQLITE_STATIC);
        rc = rs_db_step_done(s, st);
    }
    sqlite3_finalize(st);
    return rc;
}

static int put_files(struct rs_store *s, const struct rs_run *r)
{
    sqlite3_stmt *st;
    int rc = rs_db_prepare(s, "INSERT INTO files (run, role, path, abspath, size, xxh3) VALUES (?,?,?,?,?,?)", &st);
    for (size_t k = 0; rc == 0 && k < r->nfiles; k++) {
        const struct rs_run_file *f = &r->files[k];
        char hex[17];
        sqlite3_bind_int64(st, 1, r->id);
        sqlite3_bind_text(st, 2, f->role == RS_FILE_IN ? "in" : "out", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, f->path, -1, SQLITE_STATIC);
        if (f->abspath)
            sqlite3_bind_text(st, 4, f->abspath, -1, SQLITE_STATIC);
        if (f->size >= 0) {
            hex64(f->xxh3, hex);
            sqlite3_bind_int64(st, 5, f->size);
            sqlite3_bind_text(st, 6, hex, -1, SQLITE_TRANSIENT);
        }
        rc = rs_db_step_done(s, st);
    }
    sqlite3_finalize(st);
    return rc;
}

static int put_metrics(struct rs_store *s, const struct rs_run *r)
{
    sqlite3_stmt *st;
    int rc = rs_db_prepare(s, "INSERT INTO metrics (run, name, step, value) VALUES (?,?,?,?)", &st);
    for (size_t k = 0; rc == 0 && k < r->nmetrics; k++) {
        sqlite3_bind_int64(st, 1, r->id);
        sqlite3_bind_text(st, 2, r->metrics[k].name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, r->metrics[k].step);
        sqlite3_bind_double(st, 4, r->metrics[k].value);
        rc = rs_db_step_done(s, st);
    }
    sqlite3_finalize(st);
    return rc;
}

int rs_store_put(struct rs_store *s, struct rs_run *r)
{
    int rc = rs_db_exec(s, "BEGIN IMMEDIATE");
    if (rc < 0)
        return rc;
    rc = put_row(s, r);
    if (rc == 0)
        rc = put_params(s, r);
    if (rc == 0)
        rc = put_files(s, r);
    if (rc == 0)
        rc = put_metrics(s, r);
    if (rc == 0)
        rc = rs_db_exec(s, "COMMIT");
    if (rc < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        r->id = 0;
    }
    return rc;
}

const char *rs_db_text(sqlite3_stmt *st, int k)
{
    const unsigned char *t = sqlite3_column_text(st, k);
    return t ? (const char *)t : "";
}

static char *column_text(sqlite3_stmt *st, int k)
{
    return xstrdup(rs_db_text(st, k));
}

static int get_row(struct rs_store *s, int64_t id, const char *key, struct rs_run *r)
{
    sqlite3_stmt *st;
    int rc = rs_db_prepare(s, id ? "SELECT id, uuid, run_group, tool, version, cmdline, cwd, host, start, end, status"
                             " FROM runs WHERE id = ?1"
                           : "SELECT id, uuid, run_group, tool, version, cmdline, cwd, host, start, end, status"
                             " FROM runs WHERE substr(uuid, 1, length(?2)) = ?2 ORDER BY id DESC LIMIT 2",
                     &st);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, key ? key : "", -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        r->id = sqlite3_column_int64(st, 0);
        char **text[] = { &r->uuid, &r->group, &r->tool, &r->version, &r->cmdline, &r->cwd, &r->host };
        for (int k = 0; k < 7; k++)
            *text[k] = column_text(st, k + 1);
        r->start = sqlite3_column_double(st, 8);
        r->end = sqlite3_column_double(st, 9);
        r->status = sqlite3_column_int(st, 10);
        if (!id && sqlite3_step(st) == SQLITE_ROW)
            rc = rs_err_set(RS_ERR_FORMAT, "run '%s' is ambiguous: more than one uuid starts so", key);
    } else if (step == SQLITE_DONE) {
        rc = id ? rs_err_set(RS_ERR_FORMAT, "no run %" PRId64, id) : rs_err_set(RS_ERR_FORMAT, "no run '%s'", key);
    } else {
        rc = rs_db_error(s, step, "cannot read the run");
    }
    sqlite3_finalize(st);
    return rc;
}

static int get_params(struct rs_store *s, struct rs_run *r)
{
    sqlite3_stmt *st;
    int rc = rs_db_prepare(s, "SELECT name, value FROM params WHERE run = ? ORDER BY rowid", &st);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, r->id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        rs_run_param(r, rs_db_text(st, 0), rs_db_text(st, 1));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : rs_db_error(s, rc, "cannot read the parameters");
}

static int get_files(struct rs_store *s, struct rs_run *r)
{
    sqlite3_stmt *st;
    int rc = rs_db_prepare(s, "SELECT role, path, abspath, size, xxh3 FROM files WHERE run = ? ORDER BY rowid", &st);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, r->id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct rs_run_file f = { column_text(st, 1), NULL, RS_FILE_IN, -1, 0 };
        f.role = strcmp(rs_db_text(st, 0), "out") == 0 ? RS_FILE_OUT : RS_FILE_IN;
        if (sqlite3_column_type(st, 2) != SQLITE_NULL)
            f.abspath = column_text(st, 2);
        const char *hex = rs_db_text(st, 4);
        if (*hex && rs_num_hex64(hex, strlen(hex), &f.xxh3) == 0)
            f.size = sqlite3_column_int64(st, 3);
        r->files = xrealloc(r->files, (r->nfiles + 1) * sizeof *r->files);
        r->files[r->nfiles++] = f;
        r->cap_files = r->nfiles;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : rs_db_error(s, rc, "cannot read the files");
}

static int get_metrics(struct rs_store *s, struct rs_run *r)
{
    sqlite3_stmt *st;
    int rc = rs_db_prepare(s, "SELECT name, step, value FROM metrics WHERE run = ? ORDER BY rowid", &st);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, r->id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        rs_run_metric(r, rs_db_text(st, 0), sqlite3_column_int64(st, 1),
                      sqlite3_column_double(st, 2));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : rs_db_error(s, rc, "cannot read the metrics");
}

int rs_store_get(struct rs_store *s, int64_t id, const char *key, struct rs_run *r)
{
    memset(r, 0, sizeof *r);
    int rc = get_row(s, id, key, r);
    if (rc == 0)
        rc = get_params(s, r);
    if (rc == 0)
        rc = get_files(s, r);
    if (rc == 0)
        rc = get_metrics(s, r);
    if (rc < 0)
        rs_run_free(r);
    return rc;
}

/* Runs the query's id column into *ids. */
static int collect_ids(struct rs_store *s, sqlite3_stmt *st, int64_t **ids, size_t *n)
{
    size_t cap = 0;
    int rc;
    *ids = NULL;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            *ids = xrealloc(*ids, cap * sizeof **ids);
        }
        (*ids)[(*n)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return 0;
    free(*ids);
    *ids = NULL;
    *n = 0;
    return rs_db_error(s, rc, "cannot list the runs");
}

int rs_store_list(struct rs_store *s, const struct rs_run_query *q, int64_t **ids, size_t *n)
{
    sqlite3_stmt *st;
    *ids = NULL, *n = 0; /* also when the query cannot be prepared */
    const char *eq = q->param ? strchr(q->param, '=') : NULL;
    int rc = rs_db_prepare(s,
                     "SELECT id FROM runs WHERE (?1 IS NULL OR tool = ?1) AND (?2 IS NULL OR run_group = ?2)"
                     " AND (?3 < 0 OR status = ?3) AND (?4 = 0 OR start >= ?4) AND (?5 = 0 OR start < ?5)"
                     " AND (?6 IS NULL OR EXISTS (SELECT 1 FROM params p WHERE p.run = runs.id"
                     "  AND p.name = ?6 AND p.value = ?7))"
                     " AND (?8 IS NULL OR EXISTS (SELECT 1 FROM metrics m WHERE m.run = runs.id AND m.name = ?8))"
                     " ORDER BY id",
                     &st);
    if (rc < 0)
        return rc;
    if (q->tool)
        sqlite3_bind_text(st, 1, q->tool, -1, SQLITE_STATIC);
    if (q->group)
        sqlite3_bind_text(st, 2, q->group, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, q->status);
    sqlite3_bind_double(st, 4, q->since);
    sqlite3_bind_double(st, 5, q->until);
    if (q->param) {
        size_t len = eq ? (size_t)(eq - q->param) : strlen(q->param);
        sqlite3_bind_text(st, 6, q->param, (int)len, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, eq ? eq + 1 : "true", -1, SQLITE_STATIC);
    }
    if (q->metric)
        sqlite3_bind_text(st, 8, q->metric, -1, SQLITE_STATIC);
    return collect_ids(s, st, ids, n);
}

int rs_store_producers(struct rs_store *s, uint64_t xxh3, int64_t **ids, size_t *n)
{
    sqlite3_stmt *st;
    *ids = NULL, *n = 0; /* also when the query cannot be prepared */
    char hex[17];
    int rc = rs_db_prepare(s, "SELECT DISTINCT run FROM files WHERE xxh3 = ? AND role = 'out' ORDER BY run DESC", &st);
    if (rc < 0)
        return rc;
    hex64(xxh3, hex);
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_TRANSIENT);
    return collect_ids(s, st, ids, n);
}
