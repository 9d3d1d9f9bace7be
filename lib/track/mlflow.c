/* mlflow.c - runs of the store to an MLflow server (mlflow.h). */
#include "track/mlflow.h"
#include "core/err.h"

#include <ctype.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MLflow's limits on one runs/log-batch request, and on a value. */
#define BATCH_METRICS 1000
#define BATCH_PARAMS 100
#define BATCH_TAGS 100
#define MAX_PARAM_VALUE 6000
#define MAX_TAG_VALUE 5000

struct client {
    CURL *curl;
    const char *uri;
    char *body;
    size_t len;
};

static size_t on_body(char *data, size_t size, size_t n, void *vc)
{
    struct client *c = vc;
    c->body = xrealloc(c->body, c->len + size * n + 1);
    memcpy(c->body + c->len, data, size * n);
    c->len += size * n;
    c->body[c->len] = '\0';
    return size * n;
}

/* Calls endpoint (below /api/2.0/mlflow/) with request (POST; NULL: GET
 * with query); *reply gets the parsed answer (may be NULL on success),
 * *status the HTTP status. RS_ERR_IO for a transport error; an HTTP error
 * is the caller's to judge (status). */
static int call(struct client *c, const char *endpoint, const char *query, json_t *request, json_t **reply,
                long *status)
{
    char url[2048];
    snprintf(url, sizeof url, "%s/api/2.0/mlflow/%s%s", c->uri, endpoint, query ? query : "");
    char *text = request ? json_dumps(request, JSON_COMPACT) : NULL;
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    c->len = 0;
    free(c->body);
    c->body = NULL;
    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    if (text)
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, text);
    CURLcode cc = curl_easy_perform(c->curl);
    curl_slist_free_all(headers);
    free(text);
    *reply = NULL;
    if (cc != CURLE_OK)
        return rs_err_set(RS_ERR_IO, "MLflow server '%s': %s", c->uri, curl_easy_strerror(cc));
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
    if (c->body && c->len)
        *reply = json_loadb(c->body, c->len, 0, NULL);
    return 0;
}

/* call() where anything but HTTP 200 is an error quoting the server. */
static int call_ok(struct client *c, const char *endpoint, json_t *request, json_t **reply)
{
    long status = 0;
    int rc = call(c, endpoint, NULL, request, reply, &status);
    if (rc == 0 && status != 200) {
        const char *msg = json_string_value(json_object_get(*reply, "message"));
        rc = rs_err_set(RS_ERR_IO, "MLflow %s: HTTP %ld: %.300s", endpoint, status,
                        msg ? msg : c->body ? c->body : "");
        json_decref(*reply);
        *reply = NULL;
    }
    return rc;
}

/* The experiment's id, created when the server has none of that name. */
static int experiment_id(struct client *c, const char *name, char **id)
{
    char *escaped = curl_easy_escape(c->curl, name, 0), query[1024];
    snprintf(query, sizeof query, "?experiment_name=%s", escaped);
    curl_free(escaped);
    json_t *reply;
    long status = 0;
    int rc = call(c, "experiments/get-by-name", query, NULL, &reply, &status);
    if (rc < 0)
        return rc;
    const char *got = json_string_value(json_object_get(json_object_get(reply, "experiment"), "experiment_id"));
    if (status == 200 && got) {
        *id = xstrdup(got);
        json_decref(reply);
        return 0;
    }
    json_decref(reply);
    json_t *req = json_pack("{s:s}", "name", name);
    rc = call_ok(c, "experiments/create", req, &reply);
    json_decref(req);
    got = json_string_value(json_object_get(reply, "experiment_id"));
    if (rc == 0 && !got)
        rc = rs_err_set(RS_ERR_IO, "MLflow experiments/create: no experiment_id in the answer");
    if (rc == 0)
        *id = xstrdup(got);
    json_decref(reply);
    return rc;
}

void rs_mlflow_key(const char *name, char *buf, size_t size)
{
    size_t n = 0;
    for (const char *p = name; *p && n + 5 < size; p++) {
        if (*p == '@') {
            memcpy(buf + n, "_at_", 4);
            n += 4;
        } else {
            buf[n++] = isalnum((unsigned char)*p) || strchr("_-. :/", *p) ? *p : '_';
        }
    }
    buf[n] = '\0';
}

/* 1 if a run tagged rs.uuid = uuid is in the experiment already. */
static int exported_before(struct client *c, const char *exp, const char *uuid, int *found)
{
    char filter[128];
    snprintf(filter, sizeof filter, "tags.`rs.uuid` = '%s'", uuid);
    json_t *req = json_pack("{s:[s], s:s, s:i}", "experiment_ids", exp, "filter", filter, "max_results", 1);
    json_t *reply;
    int rc = call_ok(c, "runs/search", req, &reply);
    json_decref(req);
    *found = rc == 0 && json_array_size(json_object_get(reply, "runs")) > 0;
    json_decref(reply);
    return rc;
}

static void add_kv(json_t *array, const char *key, const char *value, size_t max)
{
    char k[256];
    rs_mlflow_key(key, k, sizeof k);
    json_array_append_new(array, json_pack("{s:s, s:s%}", "key", k, "value", value, strnlen(value, max)));
}

static json_t *run_tags(const struct rs_run *r)
{
    json_t *tags = json_array();
    char buf[64], name[32];
    add_kv(tags, "mlflow.runName", r->tool, MAX_TAG_VALUE);
    const char *fields[][2] = { { "rs.tool", r->tool }, { "rs.uuid", r->uuid }, { "rs.group", r->group },
                                { "rs.cmdline", r->cmdline }, { "rs.host", r->host }, { "rs.version", r->version },
                                { "rs.cwd", r->cwd } };
    for (size_t k = 0; k < sizeof fields / sizeof *fields; k++)
        add_kv(tags, fields[k][0], fields[k][1], MAX_TAG_VALUE);
    snprintf(buf, sizeof buf, "%d", r->status);
    add_kv(tags, "rs.status", buf, MAX_TAG_VALUE);
    snprintf(buf, sizeof buf, "%" PRId64, r->id);
    add_kv(tags, "rs.id", buf, MAX_TAG_VALUE);
    int nin = 0, nout = 0;
    for (size_t k = 0; k < r->nfiles && json_array_size(tags) < BATCH_TAGS; k++) {
        const struct rs_run_file *f = &r->files[k];
        size_t n = strlen(f->path) + 24;
        char *v = xmalloc(n);
        if (f->size >= 0)
            snprintf(v, n, "%s@%016" PRIx64, f->path, f->xxh3);
        else
            snprintf(v, n, "%s@-", f->path);
        snprintf(name, sizeof name, "rs.%s.%d", f->role == RS_FILE_IN ? "in" : "out",
                 f->role == RS_FILE_IN ? nin++ : nout++);
        add_kv(tags, name, v, MAX_TAG_VALUE);
        free(v);
    }
    return tags;
}

/* The run's params and metrics in batches within MLflow's limits. */
static int log_batches(struct client *c, const char *run_id, const struct rs_run *r)
{
    int64_t ts = (int64_t)(r->end * 1000);
    size_t p = 0, m = 0;
    int rc = 0;
    while (rc == 0 && (p < r->nparams || m < r->nmetrics)) {
        json_t *params = json_array(), *metrics = json_array();
        for (size_t k = 0; k < BATCH_PARAMS && p < r->nparams; k++, p++)
            add_kv(params, r->params[p].name, r->params[p].value, MAX_PARAM_VALUE);
        for (size_t k = 0; k + json_array_size(params) < BATCH_METRICS && m < r->nmetrics; k++, m++) {
            char key[256];
            rs_mlflow_key(r->metrics[m].name, key, sizeof key);
            json_array_append_new(metrics, json_pack("{s:s, s:f, s:I, s:I}", "key", key, "value",
                                                     r->metrics[m].value, "timestamp", (json_int_t)ts, "step",
                                                     (json_int_t)r->metrics[m].step));
        }
        json_t *req = json_pack("{s:s, s:o, s:o}", "run_id", run_id, "params", params, "metrics", metrics);
        json_t *reply;
        rc = call_ok(c, "runs/log-batch", req, &reply);
        json_decref(req);
        json_decref(reply);
    }
    return rc;
}

static int export_run(struct client *c, const char *exp, const struct rs_run *r)
{
    json_t *req = json_pack("{s:s, s:s, s:I, s:o}", "experiment_id", exp, "run_name", r->tool, "start_time",
                            (json_int_t)(r->start * 1000), "tags", run_tags(r));
    json_t *reply;
    int rc = call_ok(c, "runs/create", req, &reply);
    json_decref(req);
    const char *got = json_string_value(json_object_get(json_object_get(json_object_get(reply, "run"), "info"),
                                                        "run_id"));
    if (rc == 0 && !got)
        rc = rs_err_set(RS_ERR_IO, "MLflow runs/create: no run_id in the answer");
    char *run_id = rc == 0 ? xstrdup(got) : NULL;
    json_decref(reply);
    if (rc == 0)
        rc = log_batches(c, run_id, r);
    if (rc == 0) {
        req = json_pack("{s:s, s:s, s:I}", "run_id", run_id, "status", r->status == 0 ? "FINISHED" : "FAILED",
                        "end_time", (json_int_t)(r->end * 1000));
        rc = call_ok(c, "runs/update", req, &reply);
        json_decref(req);
        json_decref(reply);
    }
    free(run_id);
    return rc;
}

int rs_mlflow_export(struct rs_store *s, const int64_t *ids, size_t n, const char *uri, const char *experiment,
                     size_t *exported, size_t *skipped)
{
    *exported = *skipped = 0;
    if (strncmp(uri, "http://", 7) != 0 && strncmp(uri, "https://", 8) != 0)
        return rs_err_set(RS_ERR_USAGE, "invalid MLflow URI '%s': expected http://HOST:PORT", uri);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct client c = { curl_easy_init(), uri, NULL, 0 };
    RS_ASSERT(c.curl);
    size_t len = strlen(uri);
    char *base = xstrndup(uri, len > 0 && uri[len - 1] == '/' ? len - 1 : len);
    c.uri = base;
    char *exp = NULL;
    int rc = experiment_id(&c, experiment, &exp);
    for (size_t k = 0; rc == 0 && k < n; k++) {
        struct rs_run r;
        int found = 0;
        if ((rc = rs_store_get(s, ids[k], NULL, &r)) < 0)
            break;
        rc = exported_before(&c, exp, r.uuid, &found);
        if (rc == 0 && found)
            ++*skipped;
        else if (rc == 0 && (rc = export_run(&c, exp, &r)) == 0)
            ++*exported;
        rs_run_free(&r);
    }
    free(exp);
    free(base);
    free(c.body);
    curl_easy_cleanup(c.curl);
    curl_global_cleanup();
    return rc;
}
