/* mlflow.h - exports runs of the store to an MLflow tracking server through
 * its REST API 2.0 (mlflow.org/docs/latest/rest-api.html):
 * experiments/get-by-name (or create), runs/search (a run exported before,
 * found by its tag rs.uuid, is skipped), runs/create, runs/log-batch,
 * runs/update. HTTP by libcurl, JSON by jansson.
 *
 * Mapping: parameters -> params; metrics -> metrics with their step
 * (timestamp: the run's end); the run's fields -> tags rs.tool, rs.uuid,
 * rs.group, rs.cmdline, rs.host, rs.version, rs.status, and each file as
 * rs.in.N / rs.out.N = "path@xxh3"; status FINISHED (exit 0) or FAILED.
 * MLflow keys allow letters, digits, '_', '-', '.', ' ', ':' and '/': "@"
 * becomes "_at_" (recall@10 -> recall_at_10), other characters '_'.
 */
#ifndef RS_MLFLOW_H
#define RS_MLFLOW_H

#include "track/track.h"

#include <stddef.h>
#include <stdint.h>

/* Exports runs ids to the server at uri (http://host:port) into experiment
 * (created when missing). *exported and *skipped (already there) count
 * them. RS_ERR_IO: the server unreachable or answering an error (its
 * message quoted). */
int rs_mlflow_export(struct rs_store *s, const int64_t *ids, size_t n, const char *uri, const char *experiment,
                     size_t *exported, size_t *skipped);
/* The MLflow key for name (mlflow key rules above), into buf. */
void rs_mlflow_key(const char *name, char *buf, size_t size);

#endif
