/* svg.h - HTML text and inline SVG charts for rs-report: lines and points
 * on linear or log axes with ticks, a legend, and vertical markers (the kept
 * epoch). No script, no external resource: a browser draws it offline. */
#ifndef RS_REPORT_SVG_H
#define RS_REPORT_SVG_H

#include <stddef.h>

struct rs_writer;

/* s with & < > " ' as entities (HTML text and attribute values). */
int rs_html_text(struct rs_writer *w, const char *s);

enum rs_series_style { RS_SERIES_LINE, RS_SERIES_POINTS };

struct rs_series {
    const char *name;     /* legend text; NULL: not in the legend */
    const double *x, *y;  /* n points; a NAN y is a gap */
    size_t n;
    enum rs_series_style style;
    int color;            /* index into the palette (0..9, wraps) */
};

struct rs_plot {
    const char *title, *xlabel, *ylabel;
    int log_x;                   /* x on a log10 axis (all x > 0) */
    int int_x;                   /* x ticks at integers only (epochs, k, trials) */
    const char *const *xnames;   /* categorical x: x = 0..n_xnames-1 labelled so */
    size_t n_xnames;
    const struct rs_series *s;
    size_t ns;
    const double *marks;         /* vertical dashed lines at these x */
    const char *const *mark_names; /* their labels */
    size_t n_marks;
    int width, height;           /* pixels; 0: 520 x 300 */
};

/* Writes p as one <svg> element. A plot without a finite point says so in
 * its frame. */
int rs_svg_plot(struct rs_writer *w, const struct rs_plot *p);

#endif
