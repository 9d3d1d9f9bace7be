/* registry.h - the model registry kept beside the run store: named models
 * in versions (a folder of files each, copied from the outputs of a
 * recorded run), promoted from stage "candidate" to "production" only
 * through a gate, and the production version materialised as the symbolic
 * link ROOT/NAME/production -> vN, swapped atomically (rename), which is
 * what a server watches (rs-serve --watch follows it to the files).
 *
 * Tables (created on first use; schemas/runs.md "Registry"): models (name,
 * version, run, stage, created, dir), model_files (name, version, path,
 * size, xxh3), promotions (every attempt, passed or refused).
 */
#ifndef RS_REGISTRY_H
#define RS_REGISTRY_H

#include "track/track.h"

#include <stddef.h>
#include <stdint.h>

struct rs_model_version {
    char *name;
    int version;
    int64_t run;   /* the run that wrote the files */
    char *stage;   /* "candidate", "production" or "archived" (a former production) */
    double created; /* Unix seconds */
    char *dir;     /* ROOT/NAME/vVERSION */
};

/* Registers files as the next version of model name under root: copied
 * into ROOT/NAME/vN (staged, then renamed), stage "candidate", with run
 * (0: the newest run that wrote the first file). *version gets N.
 * RS_ERR_USAGE: a bad name (letters, digits, '.', '_', '-'), a file no
 * recorded run wrote (by XXH3: its lineage would be unknown). */
int rs_registry_register(struct rs_store *s, const char *root, const char *name, int64_t run,
                         const char *const *files, size_t nfiles, int *version);

/* A gate: "M>=D" (a higher M is better: candidate - production >= D) or
 * "M<=D" (a lower M is: candidate - production <= D). */
struct rs_gate {
    char metric[128];
    int lower_better;
    double margin;
};
/* RS_ERR_USAGE with a message when text is not a gate. */
int rs_gate_parse(const char *text, struct rs_gate *g);

struct rs_gate_result {
    int passed;
    int production;        /* the production version before (0: none) */
    double candidate_value, production_value; /* NaN when not compared */
};

/* Promotes version of name to production if gate passes: eval is the
 * evaluation run (rs-metrics) holding metric "CAND/M" and "PROD/M" (cand,
 * prod: the --pred names), both models on the same truth. Without a
 * production version the first promotion needs no gate. Every attempt is
 * recorded in promotions; a refusal leaves the stages and the link as they
 * were (res->passed 0, return 0). Errors: RS_ERR_USAGE (no such version, a
 * production exists but no gate or eval given, the metric missing). */
int rs_registry_promote(struct rs_store *s, const char *root, const char *name, int version,
                        const struct rs_gate *gate, const struct rs_run *eval, const char *cand,
                        const char *prod, struct rs_gate_result *res);

/* The versions of name (NULL: all models), by name and version. */
int rs_registry_list(struct rs_store *s, const char *name, struct rs_model_version **v, size_t *n);
void rs_registry_list_free(struct rs_model_version *v, size_t n);

#endif
