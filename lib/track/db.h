/* db.h - inside track/: the store's SQLite handle and the checked calls
 * store.c, registry.c and mlflow.c share. Not for other layers. */
#ifndef RS_TRACK_DB_H
#define RS_TRACK_DB_H

#include "track/track.h"

#include <sqlite3.h>

struct rs_store {
    sqlite3 *db;
    char *path;
};

/* The rs_err code of a failed SQLite call, with its message after what. */
int rs_db_error(struct rs_store *s, int sqlite_rc, const char *what);
/* Runs sql (several statements); RS_ERR_*. */
int rs_db_exec(struct rs_store *s, const char *sql);
int rs_db_prepare(struct rs_store *s, const char *sql, sqlite3_stmt **st);
/* Steps st once to its end, then resets it and its bindings for reuse. */
int rs_db_step_done(struct rs_store *s, sqlite3_stmt *st);
/* Column k of the current row as text: "" for NULL (a store written by
 * something else may break the schema's NOT NULLs; never crash on it). */
const char *rs_db_text(sqlite3_stmt *st, int k);
/* One integer from a query such as "PRAGMA user_version". */
int rs_db_query_int(struct rs_store *s, const char *sql, int64_t *out);

#endif
