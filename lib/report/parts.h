/* parts.h - inside report/: the runs of a group and the report's sections,
 * shared by report.c (metadata, tables) and plots.c (charts). */
#ifndef RS_REPORT_PARTS_H
#define RS_REPORT_PARTS_H

#include "track/track.h"

#include <stddef.h>

struct rs_writer;

struct rs_group {
    const char *name;
    struct rs_run *runs; /* oldest first */
    size_t n;
};

/* An rs-metrics value, its name "[MODEL/][SEGMENT/]METRIC[@K]" taken apart
 * (model "" for one --pred, segment "all" without --by). */
struct rs_mvalue {
    char *model, *segment, *metric;
    int k;          /* 0: none */
    double value;
};

struct rs_mtable {
    struct rs_mvalue *v;
    size_t n;
};

/* The values of rs-metrics run r. */
void rs_mtable_load(struct rs_mtable *t, const struct rs_run *r);
void rs_mtable_free(struct rs_mtable *t);

/* A section heading <h2 id=id>title</h2>. */
int rs_report_h2(struct rs_writer *w, const char *id, const char *title);
/* The values of metric name of run r in step order: *steps and *values
 * (malloc'd, n of them). */
size_t rs_report_series(const struct rs_run *r, const char *name, double **steps, double **values);

int rs_report_curves(struct rs_writer *w, const struct rs_group *g);
int rs_report_metric_k(struct rs_writer *w, const struct rs_mtable *t);
int rs_report_map(struct rs_writer *w, const struct rs_group *g, const char *category_col);
int rs_report_tuning(struct rs_writer *w, const struct rs_group *g);

#endif
