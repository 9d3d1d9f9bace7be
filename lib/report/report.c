/* report.c - the report of a run group (report.h): the runs, the metrics
 * tables, the comparison of two groups; the charts are plots.c's. */
#include "report/report.h"

#include "core/err.h"
#include "io/io.h"
#include "report/parts.h"
#include "report/svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum rs_metric_dir rs_metric_direction(const char *metric)
{
    static const char *const higher[] = { "precision", "recall", "ndcg", "ndcg_graded", "map", "mrr", "hit_rate",
                                          "user_coverage", "auc", "val_recall", "val_ndcg", NULL };
    char base[64];
    snprintf(base, sizeof base, "%.*s", (int)strcspn(metric, "@"), metric);
    for (int i = 0; higher[i]; i++)
        if (strcmp(base, higher[i]) == 0)
            return RS_DIR_HIGHER;
    if (strncmp(base, "val_auc", 7) == 0 || strncmp(base, "auc_", 4) == 0)
        return RS_DIR_HIGHER;
    if (strstr(base, "loss"))
        return RS_DIR_LOWER;
    /* novelty, coverage, Gini, ILD, counts: they describe a list, none is "better" */
    return RS_DIR_DESCRIPTIVE;
}

static const char *dir_text(enum rs_metric_dir d)
{
    return d == RS_DIR_HIGHER ? "higher is better" : d == RS_DIR_LOWER ? "lower is better" : "descriptive";
}

int rs_report_h2(struct rs_writer *w, const char *id, const char *title)
{
    return rs_writer_printf(w, "<h2 id=\"") | rs_html_text(w, id) | rs_writer_printf(w, "\">") |
           rs_html_text(w, title) | rs_writer_printf(w, "</h2>\n");
}

size_t rs_report_series(const struct rs_run *r, const char *name, double **steps, double **values)
{
    size_t n = 0;
    *steps = xmalloc((r->nmetrics ? r->nmetrics : 1) * sizeof **steps);
    *values = xmalloc((r->nmetrics ? r->nmetrics : 1) * sizeof **values);
    for (size_t i = 0; i < r->nmetrics; i++) {
        if (strcmp(r->metrics[i].name, name) != 0)
            continue;
        size_t j = n++;
        for (; j > 0 && (*steps)[j - 1] > (double)r->metrics[i].step; j--)
            (*steps)[j] = (*steps)[j - 1], (*values)[j] = (*values)[j - 1];
        (*steps)[j] = (double)r->metrics[i].step;
        (*values)[j] = r->metrics[i].value;
    }
    return n;
}

/* --- the rs-metrics table ------------------------------------------------ */

static const struct rs_run *newest(const struct rs_group *g, const char *tool)
{
    for (size_t i = g->n; i-- > 0;)
        if (strcmp(g->runs[i].tool, tool) == 0)
            return &g->runs[i];
    return NULL;
}

static void split_name(const struct rs_run *r, const char *name, struct rs_mvalue *v)
{
    const char *parts[3] = { NULL, NULL, NULL };
    int n = 0;
    for (const char *p = name; p && n < 3; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL)
        parts[n++] = p;
    const char *last = parts[n - 1];
    /* two parts: a model with several --pred, a segment with --by */
    int by = rs_run_get_param(r, "by") != NULL;
    const char *model = n == 3 || (n == 2 && !by) ? parts[0] : NULL;
    const char *seg = n == 3 ? parts[1] : n == 2 && by ? parts[0] : NULL;
    const char *pred = rs_run_get_param(r, "pred");
    if (model)
        v->model = strndup(model, (size_t)(strchr(model, '/') - model));
    else /* one --pred: its NAME= if it has one */
        v->model = pred && strchr(pred, '=') ? strndup(pred, strcspn(pred, "=")) : xstrdup("");
    v->segment = seg ? strndup(seg, (size_t)(strchr(seg, '/') - seg)) : xstrdup("all");
    const char *at = strchr(last, '@');
    v->metric = at ? strndup(last, (size_t)(at - last)) : xstrdup(last);
    long long k = 0;
    for (const char *d = at ? at + 1 : ""; *d >= '0' && *d <= '9' && k < 1000000; d++)
        k = 10 * k + (*d - '0');
    v->k = (int)k;
}

void rs_mtable_load(struct rs_mtable *t, const struct rs_run *r)
{
    t->n = 0;
    t->v = xcalloc(r->nmetrics ? r->nmetrics : 1, sizeof *t->v);
    for (size_t i = 0; i < r->nmetrics; i++) {
        split_name(r, r->metrics[i].name, &t->v[t->n]);
        t->v[t->n++].value = r->metrics[i].value;
    }
}

void rs_mtable_free(struct rs_mtable *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].model), free(t->v[i].segment), free(t->v[i].metric);
    free(t->v);
}

/* The distinct strings of t's field (model or column "metric@k") in order. */
static size_t distinct(const struct rs_mtable *t, const char *segment, int column, char (*out)[96], size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        char key[96];
        if (strcmp(t->v[i].segment, segment) != 0)
            continue;
        if (column)
            snprintf(key, sizeof key, t->v[i].k ? "%s@%d" : "%s", t->v[i].metric, t->v[i].k);
        else
            snprintf(key, sizeof key, "%s", t->v[i].model);
        size_t j = 0;
        while (j < n && strcmp(out[j], key) != 0)
            j++;
        if (j == n && n < max)
            memcpy(out[n++], key, sizeof key);
    }
    return n;
}

static const struct rs_mvalue *cell(const struct rs_mtable *t, const char *segment, const char *model,
                                    const char *column)
{
    for (size_t i = 0; i < t->n; i++) {
        char key[96];
        snprintf(key, sizeof key, t->v[i].k ? "%s@%d" : "%s", t->v[i].metric, t->v[i].k);
        if (strcmp(t->v[i].segment, segment) == 0 && strcmp(t->v[i].model, model) == 0 && strcmp(key, column) == 0)
            return &t->v[i];
    }
    return NULL;
}

/* The best model's value of a column where one direction is better; NAN
 * when the models tie (nothing to single out). */
static double column_best(const struct rs_mtable *t, const char *segment, char (*models)[96], size_t nm,
                          const char *column, enum rs_metric_dir d)
{
    double best = NAN, worst = NAN;
    for (size_t m = 0; m < nm && d != RS_DIR_DESCRIPTIVE; m++) {
        const struct rs_mvalue *v = cell(t, segment, models[m], column);
        if (v && (isnan(best) || (d == RS_DIR_HIGHER ? v->value > best : v->value < best)))
            best = v->value;
        if (v && (isnan(worst) || (d == RS_DIR_HIGHER ? v->value < worst : v->value > worst)))
            worst = v->value;
    }
    return best == worst ? NAN : best;
}

#define MAX_COLUMNS 256

/* One table: a row per model, a column per metric@k, a row of directions;
 * the best of a column in bold where higher (or lower) is better, and only
 * when there are models to compare. */
static int metrics_table(struct rs_writer *w, const struct rs_mtable *t, const char *segment)
{
    static char models[MAX_COLUMNS][96], cols[MAX_COLUMNS][96];
    size_t nm = distinct(t, segment, 0, models, MAX_COLUMNS), nc = distinct(t, segment, 1, cols, MAX_COLUMNS);
    int rc = rs_writer_printf(w, "<div class=\"scroll\"><table class=\"metrics\" data-segment=\"") |
             rs_html_text(w, segment) | rs_writer_printf(w, "\">\n<tr><th>model</th>");
    for (size_t c = 0; c < nc; c++)
        rc |= rs_writer_printf(w, "<th>") | rs_html_text(w, cols[c]) | rs_writer_printf(w, "</th>");
    rc |= rs_writer_printf(w, "</tr>\n<tr class=\"dir\"><td></td>");
    for (size_t c = 0; c < nc; c++) {
        enum rs_metric_dir d = rs_metric_direction(cols[c]);
        rc |= rs_writer_printf(w, "<td data-direction=\"") | rs_html_text(w, dir_text(d)) |
              rs_writer_printf(w, "\">") | rs_html_text(w, d == RS_DIR_HIGHER ? "\xe2\x86\x91 higher better" :
                                                          d == RS_DIR_LOWER ? "\xe2\x86\x93 lower better" : "descriptive") |
              rs_writer_printf(w, "</td>");
    }
    rc |= rs_writer_printf(w, "</tr>\n");
    for (size_t m = 0; m < nm && rc == 0; m++) {
        rc |= rs_writer_printf(w, "<tr><th>") | rs_html_text(w, *models[m] ? models[m] : "(model)") |
              rs_writer_printf(w, "</th>");
        for (size_t c = 0; c < nc; c++) {
            const struct rs_mvalue *v = cell(t, segment, models[m], cols[c]);
            double best = nm > 1 ? column_best(t, segment, models, nm, cols[c], rs_metric_direction(cols[c])) : NAN;
            if (!v)
                rc |= rs_writer_printf(w, "<td></td>");
            else
                rc |= rs_writer_printf(w, v->value == best ? "<td class=\"best\">%.4g</td>" : "<td>%.4g</td>",
                                       v->value);
        }
        rc |= rs_writer_printf(w, "</tr>\n");
    }
    return rc | rs_writer_printf(w, "</table></div>\n");
}

/* One rs-metrics run: its table, its metrics against k, its segments. */
static int metrics_run(struct rs_writer *w, const struct rs_run *r)
{
    struct rs_mtable t;
    const char *out = rs_run_get_param(r, "output");
    rs_mtable_load(&t, r);
    /* a table printed to stdout fed a script (a tuning loop): folded away */
    int rc = out ? rs_writer_printf(w, "<h3>rs-metrics run %lld: ", (long long)r->id) | rs_html_text(w, out) |
                       rs_writer_printf(w, "</h3>\n")
                 : rs_writer_printf(w, "<details><summary>rs-metrics run %lld (to stdout)</summary>\n",
                                    (long long)r->id);
    rc |= metrics_table(w, &t, "all") | (out ? rs_report_metric_k(w, &t) : 0);
    static char segs[MAX_COLUMNS][96];
    size_t ns = 0;
    for (size_t i = 0; i < t.n && ns < MAX_COLUMNS; i++) {
        size_t j = 0;
        while (j < ns && strcmp(segs[j], t.v[i].segment) != 0)
            j++;
        if (j == ns && strcmp(t.v[i].segment, "all") != 0)
            snprintf(segs[ns++], sizeof segs[0], "%s", t.v[i].segment);
    }
    if (ns)
        rc |= rs_writer_printf(w, "<h3 class=\"segments\">per segment</h3>\n");
    for (size_t s = 0; s < ns && rc == 0; s++)
        rc |= rs_writer_printf(w, "<h4>segment ") | rs_html_text(w, segs[s]) | rs_writer_printf(w, "</h4>\n") |
              metrics_table(w, &t, segs[s]);
    rs_mtable_free(&t);
    return rc | (out ? 0 : rs_writer_printf(w, "</details>\n"));
}

static int metrics_section(struct rs_writer *w, const struct rs_group *g)
{
    if (!newest(g, "rs-metrics"))
        return 0;
    int rc = rs_report_h2(w, "metrics", "Metrics") |
             rs_writer_printf(w, "<p>Each rs-metrics run of the group. Bold: the best model on a metric "
                                 "where higher (or lower) is better; novelty, coverage, Gini and intra-list "
                                 "diversity describe a list and have no best.</p>\n");
    for (size_t i = 0; i < g->n && rc == 0; i++)
        if (strcmp(g->runs[i].tool, "rs-metrics") == 0 && g->runs[i].nmetrics)
            rc = metrics_run(w, &g->runs[i]);
    return rc;
}

/* --- run metadata --------------------------------------------------------- */

static int put_time(struct rs_writer *w, double t)
{
    char buf[32];
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return rs_html_text(w, buf);
}

static int put_size(struct rs_writer *w, int64_t size)
{
    if (size < 0)
        return rs_writer_printf(w, "stream");
    if (size < 10240)
        return rs_writer_printf(w, "%lld B", (long long)size);
    return size < 10485760 ? rs_writer_printf(w, "%.1f KiB", (double)size / 1024)
                           : rs_writer_printf(w, "%.1f MiB", (double)size / 1048576);
}

static int put_files(struct rs_writer *w, const struct rs_run *r, enum rs_file_role role)
{
    int rc = 0, any = 0;
    for (size_t i = 0; i < r->nfiles; i++) {
        if (r->files[i].role != role)
            continue;
        rc |= rs_writer_printf(w, any ? "<br>" : "") | rs_html_text(w, r->files[i].path) |
              rs_writer_printf(w, " <span class=\"dim\">(") | put_size(w, r->files[i].size) |
              rs_writer_printf(w, ")</span>");
        any = 1;
    }
    return rc;
}

static int put_params(struct rs_writer *w, const struct rs_run *r)
{
    int rc = 0;
    for (size_t i = 0; i < r->nparams; i++) {
        const char *n = r->params[i].name;
        if (strcmp(n, "quiet") == 0 || strcmp(n, "verbose") == 0 || strncmp(n, "tune/", 5) == 0)
            continue;
        rc |= rs_writer_printf(w, "<code>") | rs_html_text(w, n) | rs_writer_printf(w, "=") |
              rs_html_text(w, r->params[i].value) | rs_writer_printf(w, "</code> ");
    }
    return rc;
}

static int runs_section(struct rs_writer *w, const struct rs_group *g)
{
    int rc = rs_report_h2(w, "runs", "Runs") |
             rs_writer_printf(w, "<div class=\"scroll\"><table class=\"runs\">\n<tr><th>run</th><th>tool</th>"
                                 "<th>started</th><th>s</th><th>exit</th><th>parameters</th><th>inputs</th>"
                                 "<th>outputs</th></tr>\n");
    for (size_t i = 0; i < g->n && rc == 0; i++) {
        const struct rs_run *r = &g->runs[i];
        rc |= (r->status ? rs_writer_printf(w, "<tr class=\"failed\">") : rs_writer_printf(w, "<tr>")) |
              rs_writer_printf(w, "<td>%lld</td><td>", (long long)r->id) |
              rs_html_text(w, r->tool) | rs_writer_printf(w, "</td><td>") | put_time(w, r->start) |
              rs_writer_printf(w, "</td><td>%.1f</td><td>%d</td><td class=\"params\">", r->end - r->start,
                               r->status) |
              put_params(w, r) | rs_writer_printf(w, "</td><td>") | put_files(w, r, RS_FILE_IN) |
              rs_writer_printf(w, "</td><td>") | put_files(w, r, RS_FILE_OUT) | rs_writer_printf(w, "</td></tr>\n");
    }
    return rc | rs_writer_printf(w, "</table></div>\n");
}

/* The group in one line: when, where, which version, which seeds. */
static int summary(struct rs_writer *w, const struct rs_group *g)
{
    double start = g->runs[0].start, end = g->runs[0].end;
    for (size_t i = 1; i < g->n; i++)
        start = fmin(start, g->runs[i].start), end = fmax(end, g->runs[i].end);
    int failed = 0;
    for (size_t i = 0; i < g->n; i++)
        failed += g->runs[i].status != 0;
    int rc = rs_writer_printf(w, "<table class=\"meta\">\n<tr><th>run group</th><td>") | rs_html_text(w, g->name) |
             rs_writer_printf(w, "</td></tr>\n<tr><th>date</th><td>") | put_time(w, start) |
             rs_writer_printf(w, " &ndash; ") | put_time(w, end) |
             rs_writer_printf(w, "</td></tr>\n<tr><th>runs</th><td>%zu (%d failed)</td></tr>\n", g->n, failed) |
             rs_writer_printf(w, "<tr><th>version</th><td>") | rs_html_text(w, g->runs[0].version) |
             rs_writer_printf(w, "</td></tr>\n<tr><th>host</th><td>") | rs_html_text(w, g->runs[0].host) |
             rs_writer_printf(w, "</td></tr>\n<tr><th>seed</th><td>");
    const char *seed = rs_run_get_param(&g->runs[0], "seed");
    rc |= rs_html_text(w, seed ? seed : "");
    for (size_t i = 1; i < g->n; i++) {
        const char *s = rs_run_get_param(&g->runs[i], "seed");
        if (s && seed && strcmp(s, seed) != 0) {
            rc |= rs_writer_printf(w, " (not the same in every run)");
            break;
        }
    }
    return rc | rs_writer_printf(w, "</td></tr>\n</table>\n");
}

/* --- two groups compared -------------------------------------------------- */

static int compare_params(struct rs_writer *w, const struct rs_group *a, const struct rs_group *b)
{
    int rc = rs_writer_printf(w, "<h3>parameters that differ (the last run of each tool in both groups)</h3>\n"
                                 "<table class=\"compare-params\">\n<tr><th>tool</th><th>parameter</th><th>");
    rc |= rs_html_text(w, a->name) | rs_writer_printf(w, "</th><th>") | rs_html_text(w, b->name) |
          rs_writer_printf(w, "</th></tr>\n");
    for (size_t i = 0; i < a->n; i++) {
        const struct rs_run *ra = &a->runs[i], *rb = newest(b, ra->tool);
        if (!rb || newest(a, ra->tool) != ra)
            continue;
        for (size_t k = 0; k < ra->nparams + rb->nparams; k++) {
            const char *name = k < ra->nparams ? ra->params[k].name : rb->params[k - ra->nparams].name;
            const char *va = rs_run_get_param(ra, name), *vb = rs_run_get_param(rb, name);
            if ((k >= ra->nparams && va) || (va && vb && strcmp(va, vb) == 0) || strncmp(name, "tune/", 5) == 0)
                continue;
            rc |= rs_writer_printf(w, "<tr><td>") | rs_html_text(w, ra->tool) | rs_writer_printf(w, "</td><td>") |
                  rs_html_text(w, name) | rs_writer_printf(w, "</td><td>") | rs_html_text(w, va ? va : "") |
                  rs_writer_printf(w, "</td><td>") | rs_html_text(w, vb ? vb : "") | rs_writer_printf(w, "</td></tr>\n");
        }
    }
    return rc | rs_writer_printf(w, "</table>\n");
}

/* The rs-metrics run of g that wrote the file named out (the newest). */
static const struct rs_run *metrics_run_of(const struct rs_group *g, const char *out)
{
    for (size_t i = g->n; i-- > 0;) {
        const char *o = rs_run_get_param(&g->runs[i], "output");
        if (strcmp(g->runs[i].tool, "rs-metrics") == 0 && ((!o && !out) || (o && out && strcmp(o, out) == 0)))
            return &g->runs[i];
    }
    return NULL;
}

static int compare_metrics_run(struct rs_writer *w, const struct rs_group *a, const struct rs_group *b,
                               const struct rs_run *ra, const struct rs_run *rb)
{
    const char *out = rs_run_get_param(ra, "output");
    int rc = rs_writer_printf(w, "<h3>metrics of ") | rs_html_text(w, out ? out : "rs-metrics (stdout)") |
             rs_writer_printf(w, "</h3>\n<table class=\"compare-metrics\">\n<tr><th>metric</th><th>direction</th><th>");
    rc |= rs_html_text(w, a->name) | rs_writer_printf(w, "</th><th>") | rs_html_text(w, b->name) |
          rs_writer_printf(w, "</th><th>difference</th></tr>\n");
    for (size_t i = 0; i < ra->nmetrics && rc == 0; i++) {
        double vb;
        if (rs_run_get_metric(rb, ra->metrics[i].name, &vb, NULL) != 0)
            continue;
        struct rs_mvalue v;
        split_name(ra, ra->metrics[i].name, &v);
        enum rs_metric_dir d = rs_metric_direction(v.metric);
        double delta = vb - ra->metrics[i].value;
        int better = d == RS_DIR_HIGHER ? delta > 0 : d == RS_DIR_LOWER ? delta < 0 : -1;
        rc |= rs_writer_printf(w, "<tr><td>") | rs_html_text(w, ra->metrics[i].name) |
              rs_writer_printf(w, "</td><td>") | rs_html_text(w, dir_text(d)) |
              rs_writer_printf(w, "</td><td>%.4g</td><td>%.4g</td><td class=\"", ra->metrics[i].value, vb) |
              rs_html_text(w, delta == 0 || better < 0 ? "" : better ? "up" : "down") |
              rs_writer_printf(w, "\">%+.4g</td></tr>\n", delta);
        free(v.model), free(v.segment), free(v.metric);
    }
    return rc | rs_writer_printf(w, "</table>\n");
}

static int compare_metrics(struct rs_writer *w, const struct rs_group *a, const struct rs_group *b)
{
    int rc = 0, any = 0;
    for (size_t i = 0; i < a->n && rc == 0; i++) {
        const struct rs_run *ra = &a->runs[i], *rb;
        if (strcmp(ra->tool, "rs-metrics") != 0 ||
            !(rb = metrics_run_of(b, rs_run_get_param(ra, "output"))) ||
            metrics_run_of(a, rs_run_get_param(ra, "output")) != ra)
            continue;
        rc = compare_metrics_run(w, a, b, ra, rb);
        any = 1;
    }
    return rc | (any ? 0 : rs_writer_printf(w, "<p>No rs-metrics run writes the same file in both groups: no "
                                                  "metrics to compare.</p>\n"));
}

/* --- the page ------------------------------------------------------------- */

static int load_group(struct rs_store *s, const char *name, struct rs_group *g)
{
    struct rs_run_query q = RS_RUN_QUERY_ALL;
    int64_t *ids = NULL;
    size_t n = 0;
    q.group = name;
    g->name = name;
    g->n = 0;
    g->runs = NULL;
    int rc = rs_store_list(s, &q, &ids, &n);
    if (rc == 0 && n == 0)
        rc = rs_err_set(RS_ERR_FORMAT, "run group '%s': no run in the store", name);
    if (rc == 0)
        g->runs = xcalloc(n, sizeof *g->runs);
    for (size_t i = 0; i < n && rc == 0; i++)
        if ((rc = rs_store_get(s, ids[i], NULL, &g->runs[i])) == 0)
            g->n++;
    free(ids);
    return rc;
}

static void free_group(struct rs_group *g)
{
    for (size_t i = 0; i < g->n; i++)
        rs_run_free(&g->runs[i]);
    free(g->runs);
}

static const char STYLE[] =
    "body{font-family:sans-serif;margin:24px auto;max-width:1150px;color:#222}"
    "h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;margin-top:32px}h3{font-size:14px}"
    "table{border-collapse:collapse;font-size:12px;margin:8px 0}"
    "td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}"
    "table.metrics td{text-align:right}tr.dir td{font-size:10px;color:#666}"
    "td.best{font-weight:bold;background:#e8f4e8}tr.failed td{background:#fbe9e9}"
    "td.params{max-width:420px}code{font-size:11px;margin-right:4px}.dim{color:#888}"
    ".scroll{overflow-x:auto}.plots{display:flex;flex-wrap:wrap;gap:12px}"
    "td.up{color:#1a7f37}td.down{color:#c62828}";

static int page(struct rs_writer *w, const struct rs_report_opts *o, const struct rs_group *g,
                const struct rs_group *other)
{
    int rc = rs_writer_printf(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    rc |= (o->title ? rs_html_text(w, o->title) : rs_writer_printf(w, "Run group ") | rs_html_text(w, g->name)) |
          rs_writer_printf(w, "</title>\n<style>") | rs_html_text(w, STYLE) |
          rs_writer_printf(w, "</style>\n</head>\n<body>\n<h1>");
    rc |= (o->title ? rs_html_text(w, o->title) : rs_writer_printf(w, "Run group ") | rs_html_text(w, g->name)) |
          rs_writer_printf(w, "</h1>\n");
    rc |= summary(w, g) | metrics_section(w, g) | rs_report_curves(w, g) | rs_report_map(w, g, o->category_col) |
          rs_report_tuning(w, g) | runs_section(w, g);
    if (other)
        rc |= rs_report_h2(w, "compare", "Comparison") | compare_metrics(w, g, other) | compare_params(w, g, other);
    return rc | rs_writer_printf(w, "</body>\n</html>\n");
}

int rs_report_write(struct rs_writer *w, struct rs_store *s, const struct rs_report_opts *o)
{
    struct rs_group g, other = { 0 };
    int rc = load_group(s, o->group, &g);
    if (rc == 0 && o->compare)
        rc = load_group(s, o->compare, &other);
    if (rc == 0)
        rc = page(w, o, &g, o->compare ? &other : NULL);
    free_group(&g);
    free_group(&other);
    return rc;
}
