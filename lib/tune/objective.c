/* objective.c - a trial's objective from the run store (objective.h). */
#include "tune/objective.h"

#include "core/err.h"
#include "track/track.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Up to a few of the metric names of the group's runs, for the message. */
static void metric_names(struct rs_store *s, const char *group, char *buf, size_t size)
{
    struct rs_run_query q = RS_RUN_QUERY_ALL;
    int64_t *ids = NULL;
    size_t n = 0, len = 0;
    q.group = group;
    buf[0] = '\0';
    if (rs_store_list(s, &q, &ids, &n) != 0)
        return;
    for (size_t i = 0; i < n && len + 1 < size; i++) {
        struct rs_run r = { 0 };
        if (rs_store_get(s, ids[i], NULL, &r) != 0)
            continue;
        for (size_t k = 0; k < r.nmetrics && len + 1 < size; k++)
            if (!strstr(buf, r.metrics[k].name))
                len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", r.metrics[k].name);
        rs_run_free(&r);
    }
    free(ids);
}

int rs_tune_objective(const char *db, const char *group, const char *name, double *value)
{
    struct rs_store *s;
    struct rs_run_query q = RS_RUN_QUERY_ALL;
    int64_t *ids = NULL;
    size_t n = 0;
    int rc = rs_store_open(&s, db, RS_STORE_READ);
    if (rc)
        return rc;
    q.group = group;
    q.metric = name;
    rc = rs_store_list(s, &q, &ids, &n);
    if (rc == 0 && n == 0) {
        char names[256];
        metric_names(s, group, names, sizeof names);
        rc = rs_err_set(RS_ERR_FORMAT, "run group '%s' of '%s' has no metric '%s'%s%s", group, db, name,
                        *names ? "; it has " : " (no tracked run in it)", names);
    } else if (rc == 0) {
        struct rs_run r = { 0 };
        if ((rc = rs_store_get(s, ids[n - 1], NULL, &r)) == 0)
            rc = rs_run_get_metric(&r, name, value, NULL);
        rs_run_free(&r);
    }
    free(ids);
    rs_store_close(s);
    return rc;
}
