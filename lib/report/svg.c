/* svg.c - HTML text and inline SVG charts (svg.h). */
#include "report/svg.h"

#include "io/io.h"

#include <math.h>
#include <string.h>

/* Tableau 10: distinct hues that stay apart for colour-blind readers. */
static const char *const palette[] = { "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                       "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac" };

int rs_html_text(struct rs_writer *w, const char *s)
{
    int rc = 0;
    for (const char *p = s; *p && rc == 0; p++) {
        const char *e = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '"' ? "&quot;"
                      : *p == '\'' ? "&#39;" : NULL;
        rc = e ? rs_writer_write(w, e, strlen(e)) : rs_writer_putc(w, *p);
    }
    return rc;
}

/* The fill colour attribute value of palette entry i. */
static int put_color(struct rs_writer *w, int i)
{
    const char *c = palette[(i < 0 ? -i : i) % 10];
    return rs_html_text(w, c);
}

struct frame {
    double x0, x1, y0, y1; /* data range */
    int left, right, top, bottom, width, height;
    int log_x;
};

static double fx(const struct frame *f, double x)
{
    double v = f->log_x ? log10(x) : x, a = f->log_x ? log10(f->x0) : f->x0, b = f->log_x ? log10(f->x1) : f->x1;
    return f->left + (b > a ? (v - a) / (b - a) : 0.5) * (f->width - f->left - f->right);
}

static double fy(const struct frame *f, double y)
{
    double h = f->height - f->top - f->bottom;
    return f->top + h - (f->y1 > f->y0 ? (y - f->y0) / (f->y1 - f->y0) : 0.5) * h;
}

static int usable(const struct rs_plot *p, double x, double y)
{
    return isfinite(x) && isfinite(y) && (!p->log_x || x > 0);
}

/* The data range; 0 when there is no finite point. */
static int data_range(const struct rs_plot *p, struct frame *f)
{
    int any = 0;
    for (size_t s = 0; s < p->ns; s++)
        for (size_t i = 0; i < p->s[s].n; i++) {
            double x = p->s[s].x[i], y = p->s[s].y[i];
            if (!usable(p, x, y))
                continue;
            if (!any)
                f->x0 = f->x1 = x, f->y0 = f->y1 = y, any = 1;
            f->x0 = fmin(f->x0, x), f->x1 = fmax(f->x1, x);
            f->y0 = fmin(f->y0, y), f->y1 = fmax(f->y1, y);
        }
    if (p->n_xnames)
        f->x0 = -0.5, f->x1 = (double)p->n_xnames - 0.5;
    if (any && f->y1 == f->y0)
        f->y0 -= fabs(f->y0) * 0.1 + 0.5, f->y1 += fabs(f->y1) * 0.1 + 0.5;
    else if (any) {
        double pad = (f->y1 - f->y0) * 0.06;
        f->y0 -= pad, f->y1 += pad;
    }
    int points = 0;
    for (size_t s = 0; s < p->ns; s++)
        points |= p->s[s].style == RS_SERIES_POINTS;
    /* room for the dots at the ends of a scatter */
    if (any && points && !p->n_xnames && f->x1 > f->x0) {
        double pad = p->log_x ? pow(f->x1 / f->x0, 0.03) : (f->x1 - f->x0) * 0.03;
        if (p->log_x)
            f->x0 /= pad, f->x1 *= pad;
        else
            f->x0 -= pad, f->x1 += pad;
    }
    if (any && f->x1 == f->x0)
        f->x0 -= f->log_x ? f->x0 / 2 : 1, f->x1 += f->log_x ? f->x1 : 1;
    return any;
}

/* Round tick steps: 1, 2 or 5 times a power of ten, about five ticks. */
static double tick_step(double span, int integer)
{
    double raw = span / 5, p = pow(10, floor(log10(raw))), m = raw / p;
    double step = (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
    return integer && step < 1 ? 1 : step;
}

static int tick_label(struct rs_writer *w, double x, double y, const char *anchor, double v)
{
    int rc = rs_writer_printf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#444\" text-anchor=\"", x, y);
    rc |= rs_html_text(w, anchor) | rs_writer_printf(w, "\">%.6g</text>\n", fabs(v) < 1e-12 ? 0 : v);
    return rc;
}

static int y_axis(struct rs_writer *w, const struct frame *f)
{
    double step = tick_step(f->y1 - f->y0, 0);
    int rc = 0;
    for (double v = ceil(f->y0 / step) * step; v <= f->y1 && rc == 0; v += step) {
        double y = fy(f, v);
        rc = rs_writer_printf(w, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", f->left,
                              f->width - f->right, y, y) |
             tick_label(w, f->left - 4, y + 4, "end", v);
    }
    return rc;
}

static int x_axis(struct rs_writer *w, const struct rs_plot *p, const struct frame *f)
{
    int rc = 0, base = f->height - f->bottom + 14;
    if (p->n_xnames) {
        for (size_t i = 0; i < p->n_xnames && rc == 0; i++) {
            rc = rs_writer_printf(w, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" fill=\"#444\" text-anchor=\"middle\">",
                                  fx(f, (double)i), base);
            rc |= rs_html_text(w, p->xnames[i]) | rs_writer_printf(w, "</text>\n");
        }
        return rc;
    }
    if (f->log_x) {
        /* 1, 2, 5 per decade; only the powers of ten over more than two */
        int wide = log10(f->x1) - log10(f->x0) > 2;
        for (double d = floor(log10(f->x0)); d <= ceil(log10(f->x1)) && rc == 0; d++)
            for (int m = 1; m < 10 && rc == 0; m = m == 1 ? 2 : m == 2 ? 5 : 10) {
                double v = m * pow(10, d);
                if (v >= f->x0 && v <= f->x1 && (m == 1 || !wide))
                    rc = tick_label(w, fx(f, v), base, "middle", v);
            }
        return rc;
    }
    double step = tick_step(f->x1 - f->x0, p->int_x);
    for (double v = ceil(f->x0 / step) * step; v <= f->x1 && rc == 0; v += step)
        rc = tick_label(w, fx(f, v), base, "middle", v);
    return rc;
}

static int series(struct rs_writer *w, const struct rs_plot *p, const struct frame *f, const struct rs_series *s)
{
    int rc = 0, open = 0;
    /* a line of one point is drawn as that point */
    enum rs_series_style style = s->n == 1 ? RS_SERIES_POINTS : s->style;
    for (size_t i = 0; i < s->n && rc == 0; i++) {
        if (!usable(p, s->x[i], s->y[i])) {
            rc = open ? rs_writer_printf(w, "\"/>\n") : 0;
            open = 0;
            continue;
        }
        if (style == RS_SERIES_POINTS) {
            rc = rs_writer_printf(w, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill-opacity=\"0.75\" fill=\"",
                                  fx(f, s->x[i]), fy(f, s->y[i])) |
                 put_color(w, s->color) | rs_writer_printf(w, "\"/>\n");
            continue;
        }
        if (!open) {
            rc = rs_writer_printf(w, "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"") | put_color(w, s->color) |
                 rs_writer_printf(w, "\" points=\"");
            open = 1;
        }
        rc |= rs_writer_printf(w, "%.1f,%.1f ", fx(f, s->x[i]), fy(f, s->y[i]));
    }
    return rc | (open ? rs_writer_printf(w, "\"/>\n") : 0);
}

static int legend(struct rs_writer *w, const struct rs_plot *p, const struct frame *f)
{
    int rc = 0, row = 0;
    for (size_t s = 0; s < p->ns && rc == 0; s++) {
        if (!p->s[s].name)
            continue;
        double y = f->top + 4 + 15 * row++;
        rc = rs_writer_printf(w, "<rect x=\"%d\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"", f->width - f->right + 8,
                              y) |
             put_color(w, p->s[s].color) |
             rs_writer_printf(w, "\"/><text x=\"%d\" y=\"%.1f\" font-size=\"11\">", f->width - f->right + 22, y + 9) |
             rs_html_text(w, p->s[s].name) | rs_writer_printf(w, "</text>\n");
    }
    return rc;
}

static int marks(struct rs_writer *w, const struct rs_plot *p, const struct frame *f)
{
    int rc = 0;
    for (size_t i = 0; i < p->n_marks && rc == 0; i++) {
        double x = fx(f, p->marks[i]);
        /* the label on the side with room, off the legend */
        int right_half = x > (f->left + f->width - f->right) / 2.0;
        rc = rs_writer_printf(w, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#333\" "
                              "stroke-dasharray=\"4 3\"/><text x=\"%.1f\" y=\"%d\" font-size=\"11\" fill=\"#333\" "
                              "text-anchor=\"", x, x, f->top, f->height - f->bottom, right_half ? x - 3 : x + 3,
                              f->top + 12 + 13 * (int)i) |
             rs_html_text(w, right_half ? "end" : "start") | rs_writer_printf(w, "\">") |
             rs_html_text(w, p->mark_names[i]) | rs_writer_printf(w, "</text>\n");
    }
    return rc;
}

static int labels(struct rs_writer *w, const struct rs_plot *p, const struct frame *f)
{
    int rc = rs_writer_printf(w, "<text x=\"%d\" y=\"16\" font-size=\"13\" font-weight=\"bold\">", f->left) |
             rs_html_text(w, p->title ? p->title : "") | rs_writer_printf(w, "</text>\n");
    rc |= rs_writer_printf(w, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">",
                           (f->left + f->width - f->right) / 2, f->height - 4) |
          rs_html_text(w, p->xlabel ? p->xlabel : "") | rs_writer_printf(w, "</text>\n");
    rc |= rs_writer_printf(w, "<text x=\"12\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" "
                           "transform=\"rotate(-90 12 %d)\">", (f->top + f->height - f->bottom) / 2,
                           (f->top + f->height - f->bottom) / 2) |
          rs_html_text(w, p->ylabel ? p->ylabel : "") | rs_writer_printf(w, "</text>\n");
    return rc;
}

int rs_svg_plot(struct rs_writer *w, const struct rs_plot *p)
{
    int named = 0;
    size_t longest = 0;
    for (size_t s = 0; s < p->ns; s++)
        if (p->s[s].name)
            named = 1, longest = strlen(p->s[s].name) > longest ? strlen(p->s[s].name) : longest;
    struct frame f = { .left = 62, .top = 26, .bottom = 40, .log_x = p->log_x,
                       .width = p->width ? p->width : 520, .height = p->height ? p->height : 300 };
    f.right = named ? 30 + 7 * (int)(longest < 24 ? longest : 24) : 16;
    f.width += named ? f.right - 16 : 0;
    int any = data_range(p, &f);
    int rc = rs_writer_printf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                              "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n"
                              "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" stroke=\"#999\"/>\n",
                              f.width, f.height, f.width, f.height, f.left, f.top, f.width - f.left - f.right,
                              f.height - f.top - f.bottom);
    rc |= labels(w, p, &f);
    if (!any)
        rc |= rs_writer_printf(w, "<text x=\"%d\" y=\"%d\" font-size=\"12\">no data</text>\n", f.left + 10,
                               f.top + 20);
    else {
        rc |= y_axis(w, &f) | x_axis(w, p, &f);
        for (size_t s = 0; s < p->ns && rc == 0; s++)
            rc = series(w, p, &f, &p->s[s]);
        rc |= marks(w, p, &f) | legend(w, p, &f);
    }
    return rc | rs_writer_printf(w, "</svg>\n");
}
