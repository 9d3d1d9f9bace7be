/* fuzz-store.c - a run store file (schemas/runs.md) as rs-runs reads it:
 * opened read-only, every run listed and read whole, each output's
 * producers, the registry, and a lineage walk from a file whose content one
 * of the runs claims to have written. A store written by something else may
 * break any NOT NULL or type; the reader must refuse or cope, never crash.
 * The input is written to a file (SQLite wants a real path for its locks). */
#include "core/err.h"
#include "track/registry.h"
#include "track/track.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/fuzz-store-XXXXXX";
static char db[64], probe[64];

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
}

static void read_runs(struct rs_store *s)
{
    int64_t *ids;
    size_t n;
    struct rs_run_query q = RS_RUN_QUERY_ALL;
    if (rs_store_list(s, &q, &ids, &n) < 0)
        return;
    for (size_t k = 0; k < n && k < 64; k++) {
        struct rs_run r;
        if (rs_store_get(s, ids[k], NULL, &r) < 0)
            continue;
        for (size_t f = 0; f < r.nfiles; f++) {
            int64_t *p;
            size_t np;
            if (r.files[f].size >= 0 && rs_store_producers(s, r.files[f].xxh3, &p, &np) == 0)
                free(p);
        }
        rs_run_free(&r);
    }
    free(ids);
}

static void remove_dir(void)
{
    unlink(probe);
    unlink(db);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!*db) {
        if (!mkdtemp(dir))
            abort();
        atexit(remove_dir);
        snprintf(db, sizeof db, "%s/runs.db", dir);
        snprintf(probe, sizeof probe, "%s/probe", dir);
        write_file(probe, (const uint8_t *)"user_id\titem_id\n", 16);
    }
    /* a journal left by the last input would make this one's run depend on it */
    char journal[80];
    snprintf(journal, sizeof journal, "%s-wal", db);
    unlink(journal);
    snprintf(journal, sizeof journal, "%s-shm", db);
    unlink(journal);
    write_file(db, data, size);
    struct rs_store *s;
    if (rs_store_open(&s, db, RS_STORE_READ) == 0) {
        read_runs(s);
        struct rs_model_version *v;
        size_t n;
        if (rs_registry_list(s, NULL, &v, &n) == 0)
            rs_registry_list_free(v, n);
        struct rs_lineage_node *nodes;
        if (rs_store_lineage(s, probe, &nodes, &n) == 0)
            rs_lineage_free(nodes, n);
        rs_store_close(s);
    }
    unlink(db);
    char side[80];
    snprintf(side, sizeof side, "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db);
    unlink(side);
    return 0;
}
