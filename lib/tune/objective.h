/* objective.h - a trial's objective, read back from the run store
 * (lib/track, schemas/runs.md). */
#ifndef RS_TUNE_OBJECTIVE_H
#define RS_TUNE_OBJECTIVE_H

/* The value of metric name recorded last in run group group of the store at
 * db: the newest run of the group that has it, at its last step. Errors:
 * the store's (RS_ERR_IO, RS_ERR_FORMAT, RS_ERR_VERSION), or RS_ERR_FORMAT
 * "run group 'G' has no metric 'M'" (with the metrics it has, to spot a
 * misspelt name). */
int rs_tune_objective(const char *db, const char *group, const char *name, double *value);

#endif
