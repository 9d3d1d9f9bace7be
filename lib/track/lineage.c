/* lineage.c - which runs and inputs produced a file (track.h): the store's
 * files table joined with itself by XXH3, run by run. */
#include "track/track.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

/* Deeper than this, the store is not a pipeline's (and the recursion would
 * outgrow the stack). */
#define MAX_DEPTH 2000

struct walk {
    struct rs_store *s;
    struct rs_lineage_node *nodes;
    size_t n, cap;
    int64_t *visited;
    size_t nvisited;
};

/* The newest run that wrote content xxh3 before run `before` (0: any). */
static int producer(struct rs_store *s, uint64_t xxh3, int64_t before, int64_t *run)
{
    int64_t *ids;
    size_t n;
    int rc = rs_store_producers(s, xxh3, &ids, &n);
    *run = 0;
    for (size_t k = 0; rc == 0 && k < n && !*run; k++)
        if (!before || ids[k] < before)
            *run = ids[k];
    free(ids);
    return rc;
}

static int visited(struct walk *w, int64_t run)
{
    for (size_t k = 0; k < w->nvisited; k++)
        if (w->visited[k] == run)
            return 1;
    w->visited = xrealloc(w->visited, (w->nvisited + 1) * sizeof *w->visited);
    w->visited[w->nvisited++] = run;
    return 0;
}

static struct rs_lineage_node *push(struct walk *w, int depth, const char *path, int64_t size, uint64_t xxh3)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 16;
        w->nodes = xrealloc(w->nodes, w->cap * sizeof *w->nodes);
    }
    struct rs_lineage_node *node = &w->nodes[w->n++];
    *node = (struct rs_lineage_node){ depth, xstrdup(path), size, xxh3, 0, NULL, 0 };
    return node;
}

/* Adds the node of one file and, unless its producer was walked already,
 * the producer's inputs below it. */
static int walk_file(struct walk *w, int depth, const char *path, int64_t size, uint64_t xxh3, int64_t before)
{
    if (depth > MAX_DEPTH)
        return rs_err_set(RS_ERR_FORMAT, "lineage deeper than %d runs", MAX_DEPTH);
    size_t at = w->n;
    push(w, depth, path, size, xxh3);
    if (size < 0)
        return 0;
    int64_t run;
    int rc = producer(w->s, xxh3, before, &run);
    if (rc < 0 || !run)
        return rc;
    struct rs_run r;
    if ((rc = rs_store_get(w->s, run, NULL, &r)) < 0)
        return rc;
    w->nodes[at].run = run;
    w->nodes[at].tool = xstrdup(r.tool);
    w->nodes[at].seen = visited(w, run);
    for (size_t k = 0; rc == 0 && !w->nodes[at].seen && k < r.nfiles; k++) {
        const struct rs_run_file *f = &r.files[k];
        if (f->role == RS_FILE_IN)
            rc = walk_file(w, depth + 1, f->path, f->size, f->xxh3, run);
    }
    rs_run_free(&r);
    return rc;
}

int rs_store_lineage(struct rs_store *s, const char *path, struct rs_lineage_node **nodes, size_t *n)
{
    struct walk w = { s, NULL, 0, 0, NULL, 0 };
    uint64_t h;
    int64_t size;
    int rc = rs_file_xxh3(path, &h, &size);
    if (rc == 0)
        rc = walk_file(&w, 0, path, size, h, 0);
    free(w.visited);
    if (rc < 0) {
        rs_lineage_free(w.nodes, w.n);
        w.nodes = NULL, w.n = 0;
    }
    *nodes = w.nodes;
    *n = w.n;
    return rc;
}

void rs_lineage_free(struct rs_lineage_node *nodes, size_t n)
{
    for (size_t k = 0; k < n; k++)
        free(nodes[k].path), free(nodes[k].tool);
    free(nodes);
}
