/* registry.c - named model versions and gated promotion (registry.h). */
#include "track/registry.h"
#include "core/err.h"
#include "core/num.h"
#include "io/io.h"
#include "track/db.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char registry_schema[] =
    "CREATE TABLE IF NOT EXISTS models ("
    " name TEXT NOT NULL, version INTEGER NOT NULL, run INTEGER NOT NULL REFERENCES runs(id),"
    " stage TEXT NOT NULL, created REAL NOT NULL, dir TEXT NOT NULL, PRIMARY KEY (name, version));"
    "CREATE TABLE IF NOT EXISTS model_files ("
    " name TEXT NOT NULL, version INTEGER NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL,"
    " xxh3 TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS promotions ("
    " name TEXT NOT NULL, version INTEGER NOT NULL, time REAL NOT NULL, gate TEXT, eval_run INTEGER,"
    " candidate_value REAL, production_value REAL, previous INTEGER, passed INTEGER NOT NULL);";

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int valid_name(const char *name)
{
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("._-", *c))
            return 0;
    return 1;
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = xmalloc(n);
    snprintf(s, n, "%s/%s", a, b);
    return s;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Copies src to dst (new), synced; RS_ERR_IO. */
static int copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return rs_err_set(RS_ERR_IO, "cannot open '%s': %s", src, strerror(errno));
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int rc = out < 0 ? rs_err_set(RS_ERR_IO, "cannot create '%s': %s", dst, strerror(errno)) : 0;
    static __thread char buf[1 << 16];
    ssize_t n;
    while (rc == 0 && (n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0 || write(out, buf, (size_t)n) != n)
            rc = rs_err_set(RS_ERR_IO, "cannot copy '%s' to '%s': %s", src, dst, strerror(errno));
    }
    if (rc == 0 && fsync(out) != 0)
        rc = rs_err_set(RS_ERR_IO, "cannot write '%s': %s", dst, strerror(errno));
    close(in);
    if (out >= 0)
        close(out);
    return rc;
}

/* Checks that a recorded run wrote each file (by XXH3), so the version's
 * lineage is known; hashes[] and sizes[] get theirs, *run (when 0) the
 * newest run that wrote the first file. */
static int check_outputs(struct rs_store *s, const char *const *files, size_t n, uint64_t *hashes,
                         int64_t *sizes, int64_t *run)
{
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < n; k++) {
        int64_t *ids;
        size_t nids;
        if ((rc = rs_file_xxh3(files[k], &hashes[k], &sizes[k])) < 0 ||
            (rc = rs_store_producers(s, hashes[k], &ids, &nids)) < 0)
            break;
        if (nids == 0)
            rc = rs_err_set(RS_ERR_FORMAT, "'%s' was written by no recorded run (its content is unknown to the store)",
                            files[k]);
        else if (!*run)
            *run = ids[0];
        free(ids);
        for (size_t j = 0; rc == 0 && j < k; j++)
            if (strcmp(base_name(files[j]), base_name(files[k])) == 0)
                rc = rs_err_set(RS_ERR_USAGE, "two files named '%s'", base_name(files[k]));
    }
    return rc;
}

/* Copies the files into a fresh staging folder under dir; *stage gets it. */
static int stage_files(const char *dir, const char *const *files, size_t n, char **stage)
{
    *stage = join(dir, ".stage.XXXXXX");
    if (!mkdtemp(*stage))
        return rs_err_set(RS_ERR_IO, "cannot create '%s': %s", *stage, strerror(errno));
    chmod(*stage, 0755);
    rs_io_temp_add(*stage);
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < n; k++) {
        char *dst = join(*stage, base_name(files[k]));
        rc = copy_file(files[k], dst);
        free(dst);
    }
    return rc;
}

static void remove_stage(const char *stage, const char *const *files, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        char *p = join(stage, base_name(files[k]));
        unlink(p);
        free(p);
    }
    rmdir(stage);
    rs_io_temp_drop(stage);
}

/* sql prepared with ?1 bound to the model's name and ?2 to version. */
static int prepare_model(struct rs_store *s, const char *sql, const char *name, int version, sqlite3_stmt **st)
{
    int rc = rs_db_prepare(s, sql, st);
    if (rc == 0) {
        sqlite3_bind_text(*st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int(*st, 2, version);
    }
    return rc;
}

static int insert_version(struct rs_store *s, const char *name, int version, int64_t run, const char *dir,
                          const char *const *files, size_t n, const uint64_t *hashes, const int64_t *sizes)
{
    sqlite3_stmt *st;
    int rc = prepare_model(s, "INSERT INTO models (name, version, run, stage, created, dir) VALUES"
                              " (?, ?, ?, 'candidate', ?, ?)", name, version, &st);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 3, run);
    sqlite3_bind_double(st, 4, wall_now());
    sqlite3_bind_text(st, 5, dir, -1, SQLITE_STATIC);
    rc = rs_db_step_done(s, st);
    sqlite3_finalize(st);
    if (rc < 0 || (rc = rs_db_prepare(s, "INSERT INTO model_files (name, version, path, size, xxh3)"
                                         " VALUES (?, ?, ?, ?, ?)", &st)) < 0)
        return rc;
    for (size_t k = 0; rc == 0 && k < n; k++) {
        char hex[17];
        snprintf(hex, sizeof hex, "%016" PRIx64, hashes[k]);
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, version);
        sqlite3_bind_text(st, 3, base_name(files[k]), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, sizes[k]);
        sqlite3_bind_text(st, 5, hex, -1, SQLITE_TRANSIENT);
        rc = rs_db_step_done(s, st);
    }
    sqlite3_finalize(st);
    return rc;
}

static int mkdir_p(const char *dir)
{
    char *p = xstrdup(dir);
    int rc = 0;
    for (char *c = p + 1; rc == 0 && *c; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            rc = rs_err_set(RS_ERR_IO, "cannot create '%s': %s", p, strerror(errno));
        *c = '/';
    }
    if (rc == 0 && mkdir(p, 0755) < 0 && errno != EEXIST)
        rc = rs_err_set(RS_ERR_IO, "cannot create '%s': %s", p, strerror(errno));
    free(p);
    return rc;
}

/* The version number and folder are taken under the write lock, so two
 * registrations of one name get two versions. */
static int commit_version(struct rs_store *s, const char *mdir, const char *stage, const char *name, int64_t run,
                          const char *const *files, size_t n, const uint64_t *hashes, const int64_t *sizes,
                          int *version)
{
    int64_t last = 0;
    char sql[160];
    int rc = rs_db_exec(s, "BEGIN IMMEDIATE");
    if (rc < 0)
        return rc;
    sqlite3_stmt *st;
    if ((rc = rs_db_prepare(s, "SELECT coalesce(max(version), 0) FROM models WHERE name = ?", &st)) == 0) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            last = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    snprintf(sql, sizeof sql, "v%" PRId64, last + 1);
    char *dir = join(mdir, sql);
    if (rc == 0 && rename(stage, dir) != 0)
        rc = rs_err_set(RS_ERR_IO, "cannot create '%s': %s", dir, strerror(errno));
    if (rc == 0)
        rc = insert_version(s, name, (int)(last + 1), run, dir, files, n, hashes, sizes);
    if (rc == 0)
        rc = rs_db_exec(s, "COMMIT");
    if (rc < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        if (rename(dir, stage) != 0) /* back where the caller removes it */
            remove_stage(dir, files, n);
    }
    free(dir);
    *version = (int)(last + 1);
    return rc;
}

int rs_registry_register(struct rs_store *s, const char *root, const char *name, int64_t run,
                         const char *const *files, size_t n, int *version)
{
    if (!valid_name(name))
        return rs_err_set(RS_ERR_USAGE, "invalid model name '%s': letters, digits, '.', '_' and '-' only", name);
    if (n == 0)
        return rs_err_set(RS_ERR_USAGE, "no files to register");
    uint64_t *hashes = xcalloc(n, sizeof *hashes);
    int64_t *sizes = xcalloc(n, sizeof *sizes);
    char *mdir = join(root, name), *stage = NULL;
    int rc = rs_db_exec(s, registry_schema);
    if (rc == 0)
        rc = check_outputs(s, files, n, hashes, sizes, &run);
    if (rc == 0)
        rc = mkdir_p(mdir);
    if (rc == 0)
        rc = stage_files(mdir, files, n, &stage);
    if (rc == 0)
        rc = commit_version(s, mdir, stage, name, run, files, n, hashes, sizes, version);
    if (stage) {
        if (rc < 0)
            remove_stage(stage, files, n);
        else
            rs_io_temp_drop(stage);
    }
    free(stage), free(mdir), free(hashes), free(sizes);
    return rc;
}

int rs_gate_parse(const char *text, struct rs_gate *g)
{
    const char *op = strstr(text, ">=");
    const char *le = strstr(text, "<=");
    if (!op || (le && le < op))
        op = le;
    if (!op || op == text || (size_t)(op - text) >= sizeof g->metric)
        return rs_err_set(RS_ERR_USAGE, "invalid gate '%s': expected METRIC>=MARGIN or METRIC<=MARGIN", text);
    snprintf(g->metric, sizeof g->metric, "%.*s", (int)(op - text), text);
    g->lower_better = op[0] == '<';
    if (rs_num_f64(op + 2, strlen(op + 2), &g->margin) < 0)
        return rs_err_set(RS_ERR_USAGE, "invalid gate '%s': %s", text, rs_err_msg());
    return 0;
}

/* The stage of version (NULL: none), and the production version of name. */
static int stages(struct rs_store *s, const char *name, int version, char **stage, int *production)
{
    sqlite3_stmt *st;
    *stage = NULL;
    *production = 0;
    int rc = prepare_model(s, "SELECT version, stage FROM models WHERE name = ?1 AND (version = ?2 OR stage ="
                              " 'production')", name, version, &st);
    if (rc < 0)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *sg = rs_db_text(st, 1);
        if (sqlite3_column_int(st, 0) == version)
            *stage = xstrdup(sg);
        if (strcmp(sg, "production") == 0)
            *production = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return rs_db_error(s, rc, "cannot read the registry");
    if (!*stage)
        return rs_err_set(RS_ERR_FORMAT, "model '%s' has no version %d", name, version);
    return 0;
}

/* candidate - production of the gate's metric in eval, and whether it passes. */
static int judge(const struct rs_gate *g, const struct rs_run *eval, const char *cand, const char *prod,
                 struct rs_gate_result *res)
{
    char key[300];
    snprintf(key, sizeof key, "%s/%s", cand, g->metric);
    if (rs_run_get_metric(eval, key, &res->candidate_value, NULL) < 0)
        return rs_err_set(RS_ERR_FORMAT, "evaluation run %" PRId64 " has no metric '%s' (rs-metrics --pred %s=...)",
                          eval->id, key, cand);
    snprintf(key, sizeof key, "%s/%s", prod, g->metric);
    if (rs_run_get_metric(eval, key, &res->production_value, NULL) < 0)
        return rs_err_set(RS_ERR_FORMAT, "evaluation run %" PRId64 " has no metric '%s' (rs-metrics --pred %s=...)",
                          eval->id, key, prod);
    double d = res->candidate_value - res->production_value;
    res->passed = g->lower_better ? d <= g->margin : d >= g->margin;
    return 0;
}

/* Points ROOT/NAME/production at vVERSION: a new link renamed over the
 * old one, so a reader sees the old or the new, never none. */
static int swap_link(const char *mdir, int version)
{
    char target[32], *link = join(mdir, "production"), *tmp = join(mdir, ".production.XXXXXX");
    snprintf(target, sizeof target, "v%d", version);
    int fd = mkstemp(tmp); /* a unique name; the link replaces the file */
    int rc = 0;
    if (fd < 0 || (close(fd), unlink(tmp)) != 0 || symlink(target, tmp) != 0 || rename(tmp, link) != 0) {
        rc = rs_err_set(RS_ERR_IO, "cannot point '%s' at '%s': %s", link, target, strerror(errno));
        unlink(tmp);
    }
    free(link), free(tmp);
    return rc;
}

static int record_attempt(struct rs_store *s, const char *name, int version, const char *gate_text,
                          const struct rs_run *eval, const struct rs_gate_result *res)
{
    sqlite3_stmt *st;
    int rc = prepare_model(s, "INSERT INTO promotions (name, version, time, gate, eval_run, candidate_value,"
                              " production_value, previous, passed) VALUES (?,?,?,?,?,?,?,?,?)", name, version, &st);
    if (rc < 0)
        return rc;
    sqlite3_bind_double(st, 3, wall_now());
    if (gate_text)
        sqlite3_bind_text(st, 4, gate_text, -1, SQLITE_STATIC);
    if (eval)
        sqlite3_bind_int64(st, 5, eval->id);
    if (!isnan(res->candidate_value))
        sqlite3_bind_double(st, 6, res->candidate_value);
    if (!isnan(res->production_value))
        sqlite3_bind_double(st, 7, res->production_value);
    sqlite3_bind_int(st, 8, res->production);
    sqlite3_bind_int(st, 9, res->passed);
    rc = rs_db_step_done(s, st);
    sqlite3_finalize(st);
    return rc;
}

static int set_stages(struct rs_store *s, const char *name, int version)
{
    sqlite3_stmt *st;
    int rc = prepare_model(s, "UPDATE models SET stage = CASE WHEN version = ?2 THEN 'production' ELSE 'archived'"
                              " END WHERE name = ?1 AND (version = ?2 OR stage = 'production')", name, version, &st);
    if (rc < 0)
        return rc;
    rc = rs_db_step_done(s, st);
    sqlite3_finalize(st);
    return rc;
}

int rs_registry_promote(struct rs_store *s, const char *root, const char *name, int version,
                        const struct rs_gate *gate, const struct rs_run *eval, const char *cand,
                        const char *prod, struct rs_gate_result *res)
{
    char *stage = NULL, gate_text[160] = "";
    *res = (struct rs_gate_result){ 0, 0, NAN, NAN };
    if (gate)
        snprintf(gate_text, sizeof gate_text, "%s%s%g", gate->metric, gate->lower_better ? "<=" : ">=",
                 gate->margin);
    int rc = rs_db_exec(s, registry_schema);
    if (rc == 0)
        rc = rs_db_exec(s, "BEGIN IMMEDIATE");
    if (rc < 0)
        return rc;
    rc = stages(s, name, version, &stage, &res->production);
    if (rc == 0 && res->production == version)
        rc = rs_err_set(RS_ERR_FORMAT, "model '%s' version %d is production already", name, version);
    if (rc == 0 && res->production && (!gate || !eval))
        rc = rs_err_set(RS_ERR_USAGE, "model '%s' has production version %d: promote through --gate and --eval",
                        name, res->production);
    if (rc == 0 && res->production)
        rc = judge(gate, eval, cand, prod, res);
    else if (rc == 0)
        res->passed = 1; /* the first production version */
    if (rc == 0)
        rc = record_attempt(s, name, version, gate ? gate_text : NULL, eval, res);
    if (rc == 0 && res->passed)
        rc = set_stages(s, name, version);
    char *mdir = join(root, name);
    if (rc == 0 && res->passed)
        rc = swap_link(mdir, version);
    if (rc == 0 && (rc = rs_db_exec(s, "COMMIT")) < 0 && res->passed && res->production)
        swap_link(mdir, res->production); /* the stages did not change: neither does the link */
    if (rc < 0)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    free(mdir);
    free(stage);
    return rc;
}

int rs_registry_list(struct rs_store *s, const char *name, struct rs_model_version **v, size_t *n)
{
    sqlite3_stmt *st;
    *v = NULL;
    *n = 0;
    int64_t exists;
    int rc = rs_db_query_int(s, "SELECT count(*) FROM sqlite_master WHERE name = 'models'", &exists);
    if (rc < 0 || !exists)
        return rc;
    if ((rc = rs_db_prepare(s, "SELECT name, version, run, stage, created, dir FROM models WHERE ?1 IS NULL OR"
                               " name = ?1 ORDER BY name, version", &st)) < 0)
        return rc;
    if (name)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        *v = xrealloc(*v, (*n + 1) * sizeof **v);
        (*v)[(*n)++] = (struct rs_model_version){
            xstrdup(rs_db_text(st, 0)), sqlite3_column_int(st, 1), sqlite3_column_int64(st, 2),
            xstrdup(rs_db_text(st, 3)), sqlite3_column_double(st, 4), xstrdup(rs_db_text(st, 5)) };
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : rs_db_error(s, rc, "cannot read the registry");
}

void rs_registry_list_free(struct rs_model_version *v, size_t n)
{
    for (size_t k = 0; k < n; k++)
        free(v[k].name), free(v[k].stage), free(v[k].dir);
    free(v);
}
