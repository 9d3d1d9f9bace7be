/* plots.c - the report's charts (parts.h): metric against k, training
 * curves with the kept epoch, the item embedding map, tuning. */
#include "core/err.h"
#include "core/strmap.h"
#include "index/pca.h"
#include "io/io.h"
#include "io/itemattr.h"
#include "io/rsb.h"
#include "report/parts.h"
#include "report/report.h"
#include "report/svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINES 16

/* --- metric against k ------------------------------------------------------ */

static int one_metric_k(struct rs_writer *w, const struct rs_mtable *t, const char *metric)
{
    struct rs_series s[MAX_LINES];
    double xs[MAX_LINES][32], ys[MAX_LINES][32];
    const char *models[MAX_LINES];
    size_t nm = 0, nk_max = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct rs_mvalue *v = &t->v[i];
        if (strcmp(v->segment, "all") != 0 || strcmp(v->metric, metric) != 0 || v->k <= 0)
            continue;
        size_t m = 0;
        while (m < nm && strcmp(models[m], v->model) != 0)
            m++;
        if (m == nm && nm == MAX_LINES)
            continue;
        if (m == nm)
            models[nm] = v->model, s[nm] = (struct rs_series){ .name = *v->model ? v->model : NULL,
                                                              .x = xs[nm], .y = ys[nm], .color = (int)nm },
            nm++;
        if (s[m].n < 32)
            xs[m][s[m].n] = v->k, ys[m][s[m].n++] = v->value;
        nk_max = s[m].n > nk_max ? s[m].n : nk_max;
    }
    if (nk_max < 2)
        return 0;
    char ylabel[96];
    snprintf(ylabel, sizeof ylabel, "%s (%s)", metric,
             rs_metric_direction(metric) == RS_DIR_HIGHER ? "higher is better" : "descriptive");
    struct rs_plot p = { .title = metric, .xlabel = "k", .ylabel = ylabel, .int_x = 1, .s = s, .ns = nm,
                         .width = 340, .height = 240 };
    return rs_svg_plot(w, &p);
}

int rs_report_metric_k(struct rs_writer *w, const struct rs_mtable *t)
{
    const char *done[64];
    size_t nd = 0;
    int rc = rs_writer_printf(w, "<h3>metrics against k</h3>\n<div class=\"plots\">\n");
    for (size_t i = 0; i < t->n && nd < 64 && rc == 0; i++) {
        size_t j = 0;
        while (j < nd && strcmp(done[j], t->v[i].metric) != 0)
            j++;
        if (j < nd)
            continue;
        done[nd++] = t->v[i].metric;
        rc = one_metric_k(w, t, t->v[i].metric);
    }
    return rc | rs_writer_printf(w, "</div>\n");
}

/* --- training curves ------------------------------------------------------- */

/* The last step at which metric flag (1 on the best epoch so far) was 1:
 * the epoch the tool kept. NAN when the run has no such metric. */
static double kept_epoch(const struct rs_run *r, const char *flag)
{
    double kept = NAN;
    for (size_t i = 0; i < r->nmetrics; i++)
        if (strcmp(r->metrics[i].name, flag) == 0 && r->metrics[i].value == 1 &&
            (isnan(kept) || (double)r->metrics[i].step > kept))
            kept = (double)r->metrics[i].step;
    return kept;
}

/* One chart of the named metrics of r against their steps, with marks. */
static int curve(struct rs_writer *w, const struct rs_run *r, const char *title, const char *xlabel,
                 const char *const *names, size_t nn, const double *marks, const char *const *mark_names,
                 size_t n_marks)
{
    struct rs_series s[4];
    double *steps[4], *values[4];
    size_t ns = 0;
    for (size_t i = 0; i < nn && i < 4; i++) {
        size_t n = rs_report_series(r, names[i], &steps[ns], &values[ns]);
        if (n == 0) {
            free(steps[ns]), free(values[ns]);
            continue;
        }
        s[ns] = (struct rs_series){ .name = names[i], .x = steps[ns], .y = values[ns], .n = n, .color = (int)i };
        ns++;
    }
    /* a kept epoch of a run that has no such metric is not drawn */
    size_t nm = 0;
    double m[2];
    const char *mn[2];
    for (size_t i = 0; i < n_marks && i < 2; i++)
        if (!isnan(marks[i]))
            m[nm] = marks[i], mn[nm++] = mark_names[i];
    struct rs_plot p = { .title = title, .xlabel = xlabel, .ylabel = "value", .int_x = 1, .s = s, .ns = ns,
                         .marks = m, .mark_names = mn, .n_marks = nm, .width = 420, .height = 260 };
    int rc = ns ? rs_svg_plot(w, &p) : 0;
    for (size_t i = 0; i < ns; i++)
        free(steps[i]), free(values[i]);
    return rc;
}

/* The names of r's metrics that start with prefix (val_recall@20, ...). */
static size_t names_with(const struct rs_run *r, const char *prefix, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nmetrics && n < max; i++) {
        size_t j = 0;
        if (strncmp(r->metrics[i].name, prefix, strlen(prefix)) != 0)
            continue;
        while (j < n && strcmp(out[j], r->metrics[i].name) != 0)
            j++;
        if (j == n)
            out[n++] = r->metrics[i].name;
    }
    return n;
}

/* The last step of metric name of r; NAN without one. */
static double last_step(const struct rs_run *r, const char *name)
{
    double *steps, *values;
    size_t n = rs_report_series(r, name, &steps, &values);
    double last = n ? steps[n - 1] : NAN;
    free(steps), free(values);
    return last;
}

static int tower_curves(struct rs_writer *w, const struct rs_run *r)
{
    static const char *const loss[] = { "loss" };
    const char *val[4];
    double kept = kept_epoch(r, "best");
    /* without --valid no epoch is "best": the tool keeps the last one */
    const char *kept_name[] = { isnan(kept) ? "kept: last epoch" : "kept epoch" };
    if (isnan(kept))
        kept = last_step(r, "loss");
    size_t nv = names_with(r, "val_", val, 4);
    return curve(w, r, "two-tower: training loss", "epoch", loss, 1, &kept, kept_name, 1) |
           (nv ? curve(w, r, "two-tower: validation", "epoch", val, nv, &kept, kept_name, 1) : 0);
}

static int rank_curves(struct rs_writer *w, const struct rs_run *r)
{
    static const char *const loss[] = { "train_loss", "valid_loss" }, *const auc[] = { "val_auc_click",
                                                                                        "val_auc_booking" };
    static const char *const kept_names[] = { "kept (click)", "kept (booking)" };
    double kept[2] = { kept_epoch(r, "best_click"), kept_epoch(r, "best_booking") };
    return curve(w, r, "ranker: loss", "epoch", loss, 2, kept, kept_names, 2) |
           curve(w, r, "ranker: validation AUC", "epoch", auc, 2, kept, kept_names, 2);
}

static int als_curves(struct rs_writer *w, const struct rs_run *r)
{
    static const char *const loss[] = { "loss" }, *const kept_name[] = { "kept: last iteration" };
    double last = last_step(r, "loss");
    return curve(w, r, "ALS: loss", "iteration", loss, 1, &last, kept_name, 1);
}

int rs_report_curves(struct rs_writer *w, const struct rs_group *g)
{
    int rc = 0, any = 0;
    for (size_t i = 0; i < g->n && rc == 0; i++) {
        const struct rs_run *r = &g->runs[i];
        int tower = strcmp(r->tool, "rs-train-tower") == 0, als = strcmp(r->tool, "rs-als") == 0;
        double v;
        int rank = strcmp(r->tool, "rs-rank") == 0 && rs_run_get_metric(r, "train_loss", &v, NULL) == 0;
        if (!(tower || als || rank) || r->nmetrics == 0)
            continue;
        if (!any)
            rc |= rs_report_h2(w, "training", "Training") |
                  rs_writer_printf(w, "<p>Per-epoch metrics the trainers recorded; the dashed line is the "
                                      "epoch whose weights the tool kept.</p>\n<div class=\"plots\">\n");
        any = 1;
        rc |= tower ? tower_curves(w, r) : als ? als_curves(w, r) : rank_curves(w, r);
    }
    return rc | (any ? rs_writer_printf(w, "</div>\n") : 0);
}

/* --- the embedding map ----------------------------------------------------- */

static const char *file_of(const struct rs_run *r, enum rs_file_role role, const char *path)
{
    for (size_t i = 0; i < r->nfiles; i++)
        if (r->files[i].role == role && (!path || strcmp(r->files[i].path, path) == 0) && r->files[i].abspath &&
            *r->files[i].abspath)
            return r->files[i].abspath;
    return NULL;
}

#define MAP_CATEGORIES 9
#define MAP_POINTS 4000

/* The category of value v of the items column: the value, or its first
 * element when it is a list ("Action,Comedy" counts as "Action"). */
static size_t prefix_len(const char *v)
{
    return strcspn(v, ",");
}

/* Each item's category index (0..MAP_CATEGORIES-1 the most frequent, then
 * one "other"; all 0 without categories) and the category names. */
static size_t categories(const struct rs_embset *e, const struct rs_itemattr *a, int *cat, char names[][64])
{
    size_t nv = a ? rs_strmap_size(a->values[0]) : 0;
    /* group[v]: the first value id with v's category */
    size_t *group = xmalloc((nv + 1) * sizeof *group), *count = xcalloc(nv + 1, sizeof *count);
    for (size_t v = 0; v < nv; v++) {
        const char *s = rs_strmap_key(a->values[0], (int64_t)v, NULL);
        group[v] = v;
        for (size_t u = 0; u < v && group[v] == v; u++) {
            const char *t = rs_strmap_key(a->values[0], (int64_t)u, NULL);
            if (prefix_len(t) == prefix_len(s) && memcmp(t, s, prefix_len(s)) == 0)
                group[v] = group[u];
        }
    }
    int32_t *val = xmalloc((e->n ? e->n : 1) * sizeof *val);
    for (size_t i = 0; i < e->n; i++) {
        size_t len;
        const char *id = rs_strmap_key(e->ids, (int64_t)i, &len);
        int32_t v = a ? rs_itemattr_get(a, 0, id, len) : -1;
        val[i] = v < 0 ? -1 : (int32_t)group[v];
        count[val[i] < 0 ? nv : (size_t)val[i]]++;
    }
    size_t ncat = 0;
    int32_t top[MAP_CATEGORIES];
    for (; ncat < MAP_CATEGORIES && ncat < nv; ncat++) {
        size_t best = nv;
        for (size_t v = 0; v < nv; v++)
            if (count[v] && (best == nv || count[v] > count[best]))
                best = v;
        if (best == nv)
            break;
        top[ncat] = (int32_t)best;
        const char *name = rs_strmap_key(a->values[0], (int64_t)best, NULL);
        snprintf(names[ncat], 64, "%.*s", (int)prefix_len(name), name);
        count[best] = 0;
    }
    for (size_t i = 0; i < e->n; i++) {
        cat[i] = (int)ncat;
        for (size_t c = 0; c < ncat; c++)
            if (val[i] == top[c])
                cat[i] = (int)c;
    }
    snprintf(names[ncat], 64, a ? "other" : "items");
    free(group);
    free(count);
    free(val);
    return ncat + 1;
}

static int map_plot(struct rs_writer *w, const struct rs_embset *e, const struct rs_itemattr *a, const char *title)
{
    float comp[2 * 4096], mean[4096];
    double var[2];
    if (e->dims < 2 || e->dims > 4096 || e->n < 3)
        return rs_writer_printf(w, "<p>Too few items or dimensions for a map.</p>\n");
    if (rs_pca_fit(e->x, e->n, e->dims, 2, comp, var, mean) != 0)
        return rs_writer_printf(w, "<p>The PCA of the embeddings failed: no map.</p>\n");
    size_t stride = e->n > MAP_POINTS ? (e->n + MAP_POINTS - 1) / MAP_POINTS : 1, m = 0;
    double *xy = xmalloc(2 * e->n * sizeof *xy);
    int *cat = xmalloc(e->n * sizeof *cat);
    char names[MAP_CATEGORIES + 1][64];
    size_t ncat = categories(e, a, cat, names);
    struct rs_series s[MAP_CATEGORIES + 1];
    double *buf = xmalloc(2 * e->n * sizeof *buf);
    for (size_t c = 0; c < ncat; c++) {
        s[c] = (struct rs_series){ .name = names[c], .x = buf + m, .style = RS_SERIES_POINTS, .color = (int)c };
        size_t start = m;
        for (size_t i = 0; i < e->n; i += stride)
            if (cat[i] == (int)c) {
                double px = 0, py = 0;
                for (size_t k = 0; k < e->dims; k++) {
                    double d = (double)(e->x[i * e->dims + k] - mean[k]);
                    px += d * comp[k], py += d * comp[e->dims + k];
                }
                buf[m] = px, xy[m++] = py;
            }
        s[c].n = m - start;
        s[c].y = xy + start;
        if (s[c].n == 0) /* no "other" in the legend when every item is in the top */
            s[c].name = NULL;
    }
    char xlabel[64], ylabel[64];
    snprintf(xlabel, sizeof xlabel, "PC1 (variance %.3g)", var[0]);
    snprintf(ylabel, sizeof ylabel, "PC2 (variance %.3g)", var[1]);
    struct rs_plot p = { .title = title, .xlabel = xlabel, .ylabel = ylabel, .s = s, .ns = ncat, .width = 640,
                         .height = 480 };
    int rc = rs_svg_plot(w, &p);
    free(xy), free(cat), free(buf);
    return rc;
}

int rs_report_map(struct rs_writer *w, const struct rs_group *g, const char *category_col)
{
    const struct rs_run *r = NULL;
    for (size_t i = g->n; i-- > 0 && !r;)
        if (strcmp(g->runs[i].tool, "rs-embed") == 0 && rs_run_get_param(&g->runs[i], "items"))
            r = &g->runs[i];
    if (!r)
        return 0;
    const char *emb = file_of(r, RS_FILE_OUT, NULL), *items = file_of(r, RS_FILE_IN, rs_run_get_param(r, "items"));
    const char *col = rs_run_get_param(r, "item-col");
    int rc = rs_report_h2(w, "embeddings", "Item embeddings");
    struct rs_embset e = { 0 };
    if (!emb || rs_embset_load(&e, emb) != 0)
        return rc | rs_writer_printf(w, "<p>The item embeddings of run %lld cannot be read (", (long long)r->id) |
               rs_html_text(w, emb ? rs_err_msg() : "no output file recorded") | rs_writer_printf(w, "): no map.</p>\n");
    struct rs_itemattr a = { 0 };
    int have_cat = items && rs_itemattr_load(&a, &items, 1, col ? col : "item_id", &category_col, 1) == 0;
    char title[160];
    snprintf(title, sizeof title, "%zu items, first two principal components%s%s", e.n,
             have_cat ? ", coloured by " : " (no category column)", have_cat ? category_col : "");
    rc |= rs_writer_printf(w, "<p>") | rs_html_text(w, emb) | rs_writer_printf(w, "</p>\n") |
          map_plot(w, &e, have_cat ? &a : NULL, title);
    rs_itemattr_free(&a);
    rs_embset_free(&e);
    return rc;
}

/* --- tuning ------------------------------------------------------------------ */

/* Trial values of parameter name aligned with the objective's steps. */
static void param_points(const struct rs_run *r, const char *name, const double *steps, size_t n, double *x)
{
    double *ps, *pv;
    size_t np = rs_report_series(r, name, &ps, &pv);
    for (size_t i = 0; i < n; i++) {
        x[i] = NAN;
        for (size_t j = 0; j < np; j++)
            if (ps[j] == steps[i])
                x[i] = pv[j];
    }
    free(ps), free(pv);
}

static int param_plot(struct rs_writer *w, const struct rs_run *r, const char *name, const char *kind,
                      const double *steps, const double *obj, size_t n, const char *metric)
{
    char metric_name[96];
    const char *values[64];
    size_t nv = 0;
    char *desc = xstrdup(kind);
    for (char *tok = strchr(desc, '\t'); tok && nv < 64; tok = strchr(tok, '\t'))
        *tok++ = '\0', values[nv++] = tok;
    double *x = xmalloc((n ? n : 1) * sizeof *x);
    snprintf(metric_name, sizeof metric_name, "tune/param/%s", name);
    param_points(r, metric_name, steps, n, x);
    struct rs_series s = { .x = x, .y = obj, .n = n, .style = RS_SERIES_POINTS };
    struct rs_plot p = { .title = name, .xlabel = name, .ylabel = metric, .log_x = strstr(kind, " log") != NULL,
                         .xnames = nv ? values : NULL, .n_xnames = nv, .s = &s, .ns = 1, .width = 340,
                         .height = 240 };
    int rc = rs_svg_plot(w, &p);
    free(x);
    free(desc);
    return rc;
}

int rs_report_tuning(struct rs_writer *w, const struct rs_group *g)
{
    const struct rs_run *r = NULL;
    for (size_t i = g->n; i-- > 0 && !r;)
        if (strcmp(g->runs[i].tool, "rs-tune") == 0 && rs_run_get_param(&g->runs[i], "tune/metric"))
            r = &g->runs[i];
    if (!r)
        return 0;
    const char *metric = rs_run_get_param(r, "tune/metric"), *dir = rs_run_get_param(r, "tune/direction");
    int max = !dir || strcmp(dir, "max") == 0;
    double *steps, *obj;
    size_t n = rs_report_series(r, "tune/objective", &steps, &obj);
    double *trial = xmalloc((n ? n : 1) * sizeof *trial), *best = xmalloc((n ? n : 1) * sizeof *best);
    for (size_t i = 0; i < n; i++) {
        trial[i] = steps[i] - 1;
        best[i] = i == 0 || (max ? obj[i] > best[i - 1] : obj[i] < best[i - 1]) ? obj[i] : best[i - 1];
    }
    struct rs_series s[2] = { { .name = "trial", .x = trial, .y = obj, .n = n, .style = RS_SERIES_POINTS },
                              { .name = "best so far", .x = trial, .y = best, .n = n, .color = 1 } };
    struct rs_plot p = { .title = "objective by trial", .xlabel = "trial", .ylabel = metric, .int_x = 1, .s = s,
                         .ns = 2, .width = 520, .height = 280 };
    int rc = rs_report_h2(w, "tuning", "Tuning") | rs_writer_printf(w, "<p>rs-tune run %lld: %zu finished trials, "
                                                                     "objective ", (long long)r->id, n) |
             rs_html_text(w, metric) | rs_html_text(w, max ? " (maximised)" : " (minimised)") |
             rs_writer_printf(w, ".</p>\n<div class=\"plots\">\n") | rs_svg_plot(w, &p);
    for (size_t k = 0; k < r->nparams && rc == 0; k++)
        if (strncmp(r->params[k].name, "tune/param/", 11) == 0)
            rc = param_plot(w, r, r->params[k].name + 11, r->params[k].value, steps, obj, n, metric);
    free(steps), free(obj), free(trial), free(best);
    return rc | rs_writer_printf(w, "</div>\n");
}
