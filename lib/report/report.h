/* report.h - the HTML report of a run group, from the run store alone
 * (schemas/runs.md): run metadata, the metrics table with each metric's
 * direction, metric-vs-k plots, per-segment metrics, training curves with
 * the kept epoch, the item embedding map (PCA), tuning plots, and a
 * comparison with a second group. One self-contained file: inline SVG and
 * CSS, no script. */
#ifndef RS_REPORT_H
#define RS_REPORT_H

struct rs_store;
struct rs_writer;

struct rs_report_opts {
    const char *group;        /* the run group reported */
    const char *compare;      /* a second group compared with it; NULL: none */
    const char *category_col; /* the items column that colours the map ("category") */
    const char *title;        /* NULL: "Run group GROUP" */
};

/* Which way a metric is better: rs-metrics' names ("recall", "novelty"),
 * the training metrics ("loss", "val_auc_click"). */
enum rs_metric_dir { RS_DIR_HIGHER, RS_DIR_LOWER, RS_DIR_DESCRIPTIVE };
enum rs_metric_dir rs_metric_direction(const char *metric);

/* Writes the report of o->group to w. RS_ERR_FORMAT when the group (or the
 * compared one) has no run; the store's errors otherwise. A part whose data
 * the group lacks (no embeddings, no tuning) is left out; an embeddings file
 * that is gone or unreadable is noted in the report, not an error. */
int rs_report_write(struct rs_writer *w, struct rs_store *s, const struct rs_report_opts *o);

#endif
