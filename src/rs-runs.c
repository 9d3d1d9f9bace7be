/* rs-runs - reads the run store that --track fills (lib/track/track.h,
 * schemas/runs.md): lists, shows, compares runs, picks the best by a
 * metric, traces a file's lineage; the model registry (register, promote
 * through a gate, models) and the export to an MLflow server. */
#include "cli.h"
#include "core/err.h"
#include "core/num.h"
#include "core/timeparse.h"
#include "io/io.h"
#include "io/table.h"
#include "track/mlflow.h"
#include "track/registry.h"
#include "track/track.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "rs-runs list|show|compare|best|lineage|register|promote|models|export-mlflow [OPTIONS] [ARGS]"

static struct {
    const char *cmd, *store, *registry, *metric, *gate, *candidate, *production, *uri, *experiment;
    struct rs_run_query q;
    int tsv, minimise;
    int64_t run, eval;
} opt = { .q = RS_RUN_QUERY_ALL, .candidate = "candidate", .production = "production", .experiment = "recsys-pipes" };

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Read the run store that every tool fills with --track DB (schemas/runs.md).\n"
           "\n"
           "Commands:\n"
           "  list                 runs, oldest first: id, start, group, tool, exit status,\n"
           "                       seconds, inputs and outputs (path@XXH3)\n"
           "  show RUN             one run: command line, parameters, files, metrics (every step)\n"
           "  compare RUN RUN...   parameters that differ; each metric's last value and its\n"
           "                       delta from the first run\n"
           "  best --metric M      the run with the highest (--max, default) or lowest (--min)\n"
           "                       last value of M among the runs the filters select\n"
           "  lineage FILE         the runs and inputs that produced FILE, walked back by\n"
           "                       content hash to files no recorded run wrote\n"
           "  register NAME FILE...  copies FILEs (each written by a recorded run) into the\n"
           "                       registry as the next version of model NAME, stage candidate\n"
           "  promote NAME VERSION [--gate 'M>=D' --eval RUN]  makes VERSION production\n"
           "                       (REGISTRY/NAME/production, a symbolic link swapped\n"
           "                       atomically) if it passes the gate; else exit 1, nothing moves\n"
           "  models [NAME]        versions, stages, runs\n"
           "  export-mlflow --uri URL  the selected runs to an MLflow tracking server (REST\n"
           "                       API 2.0): an experiment, a run each with params, metrics\n"
           "                       (with steps) and tags\n"
           "RUN is a run id or the start of its uuid.\n"
           "\n"
           "Options:\n"
           "      --track DB         the run store (default: $RS_TRACK)\n"
           "      --tsv              tab-separated output with a header (default: aligned text)\n"
           "Filters (list, best, export-mlflow):\n"
           "      --tool T           runs of tool T (rs-train-tower)\n"
           "      --group G          runs of group G ($RS_RUN_GROUP of a pipeline)\n"
           "      --status N         runs that exited with N\n"
           "      --since DATE       runs started at or after DATE (2026-12-01, ISO 8601, Unix s)\n"
           "      --until DATE       runs started before DATE\n"
           "      --param NAME=VALUE runs given that option value\n"
           "      --metric M         runs that measured M (best: the metric to compare)\n"
           "      --min, --max       best: lowest or highest value wins (default --max)\n"
           "Registry (register, promote, models):\n"
           "      --registry DIR     where versions live (default: DB's folder/registry)\n"
           "      --run RUN          register: the version's run (default: the newest run\n"
           "                         that wrote the first FILE)\n"
           "      --gate 'M>=D'      promote: candidate M - production M >= D (a higher M is\n"
           "                         better; 'M<=D': a lower one is, candidate - production <= D)\n"
           "      --eval RUN         promote: the rs-metrics run that evaluated both models on\n"
           "                         the same truth, as --pred candidate=... --pred production=...\n"
           "      --candidate NAME, --production NAME  their --pred names there (default\n"
           "                         candidate, production)\n"
           "MLflow (export-mlflow):\n"
           "      --uri URL          tracking server (http://127.0.0.1:5000)\n"
           "      --experiment NAME  experiment (default recsys-pipes; created when missing)\n"
           RS_COMMON_HELP
           "\n"
           "Examples:\n"
           "  make demo && rs-runs list --track out/demo/runs.db\n"
           "  rs-runs lineage --track out/demo/runs.db out/demo/recommendations.json\n"
           "  rs-runs best --track runs.db --tool rs-metrics --metric recall@10\n"
           "  rs-runs promote tower 3 --gate 'recall@10>=-0.002' --eval 41 --track runs.db\n");
}

/* ---- formatting ---- */

static void add_time(struct rs_table *t, double unix_s)
{
    char buf[32];
    rs_time_format((int64_t)unix_s, buf);
    rs_table_add(t, buf);
}

static void add_num(struct rs_table *t, double v)
{
    rs_table_addf(t, "%.9g", v);
}

/* "path@xxh3" of each file of role, comma-separated ("path@-" for a stream). */
static void add_files(struct rs_table *t, const struct rs_run *r, enum rs_file_role role)
{
    size_t n = 1;
    for (size_t k = 0; k < r->nfiles; k++)
        n += strlen(r->files[k].path) + 20;
    char *s = xmalloc(n), *p = s;
    *p = '\0';
    for (size_t k = 0; k < r->nfiles; k++) {
        const struct rs_run_file *f = &r->files[k];
        if (f->role != role)
            continue;
        p += sprintf(p, "%s%s@", p == s ? "" : ",", f->path);
        p += f->size >= 0 ? sprintf(p, "%016" PRIx64, f->xxh3) : sprintf(p, "-");
    }
    rs_table_add(t, s);
    free(s);
}

static int print_table(struct rs_table *t)
{
    struct rs_writer *w;
    int rc = rs_writer_open(&w, NULL, 0, 0);
    if (rc == 0)
        rc = rs_writer_finish(w, rs_table_write(t, w, opt.tsv));
    rs_table_free(t);
    return rc;
}

static int get_run(struct rs_store *s, const char *ref, struct rs_run *r)
{
    int64_t id;
    if (rs_num_i64(ref, strlen(ref), &id) == 0 && id > 0)
        return rs_store_get(s, id, NULL, r);
    return rs_store_get(s, 0, ref, r);
}

/* ---- commands ---- */

static int cmd_list(struct rs_store *s)
{
    static const char *const head[] = { "id", "start", "group", "tool", "status", "seconds", "inputs", "outputs" };
    int64_t *ids;
    size_t n;
    int rc = rs_store_list(s, &opt.q, &ids, &n);
    struct rs_table *t = rs_table_new(8, head);
    for (size_t k = 0; rc == 0 && k < n; k++) {
        struct rs_run r;
        if ((rc = rs_store_get(s, ids[k], NULL, &r)) < 0)
            break;
        rs_table_addf(t, "%" PRId64, r.id);
        add_time(t, r.start);
        rs_table_add(t, r.group);
        rs_table_add(t, r.tool);
        rs_table_addf(t, "%d", r.status);
        rs_table_addf(t, "%.2f", r.end - r.start);
        add_files(t, &r, RS_FILE_IN);
        add_files(t, &r, RS_FILE_OUT);
        rs_run_free(&r);
    }
    free(ids);
    if (rc < 0) {
        rs_table_free(t);
        return rc;
    }
    return print_table(t);
}

static void add_row(struct rs_table *t, const char *kind, const char *name, const char *step, const char *value)
{
    rs_table_add(t, kind);
    rs_table_add(t, name);
    rs_table_add(t, step);
    rs_table_add(t, value);
}

static int cmd_show(struct rs_store *s, const char *ref)
{
    static const char *const head[] = { "kind", "name", "step", "value" };
    struct rs_run r;
    int rc = get_run(s, ref, &r);
    if (rc < 0)
        return rc;
    struct rs_table *t = rs_table_new(4, head);
    char buf[64], start[32], end[32];
    rs_time_format((int64_t)r.start, start);
    rs_time_format((int64_t)r.end, end);
    snprintf(buf, sizeof buf, "%" PRId64, r.id);
    const char *fields[][2] = { { "id", buf }, { "uuid", r.uuid }, { "group", r.group }, { "tool", r.tool },
                                { "version", r.version }, { "host", r.host }, { "cwd", r.cwd },
                                { "cmdline", r.cmdline }, { "start", start }, { "end", end } };
    for (size_t k = 0; k < sizeof fields / sizeof *fields; k++)
        add_row(t, "run", fields[k][0], "", fields[k][1]);
    snprintf(buf, sizeof buf, "%.3f", r.end - r.start);
    add_row(t, "run", "seconds", "", buf);
    snprintf(buf, sizeof buf, "%d", r.status);
    add_row(t, "run", "status", "", buf);
    for (size_t k = 0; k < r.nparams; k++)
        add_row(t, "param", r.params[k].name, "", r.params[k].value);
    for (size_t k = 0; k < r.nfiles; k++) {
        const struct rs_run_file *f = &r.files[k];
        char size[24] = "", hash[24] = "-";
        if (f->size >= 0) {
            snprintf(size, sizeof size, "%" PRId64, f->size);
            snprintf(hash, sizeof hash, "%016" PRIx64, f->xxh3);
        }
        add_row(t, f->role == RS_FILE_IN ? "in" : "out", f->path, size, hash);
    }
    for (size_t k = 0; k < r.nmetrics; k++) {
        char step[24], value[32];
        snprintf(step, sizeof step, "%" PRId64, r.metrics[k].step);
        snprintf(value, sizeof value, "%.9g", r.metrics[k].value);
        add_row(t, "metric", r.metrics[k].name, step, value);
    }
    rs_run_free(&r);
    return print_table(t);
}

/* Names of params (metrics: 1) over the n runs, each once, first seen first. */
static size_t union_names(const struct rs_run *runs, size_t n, int metrics, const char ***names)
{
    size_t count = 0, cap = 0;
    *names = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t m = metrics ? runs[i].nmetrics : runs[i].nparams;
        for (size_t k = 0; k < m; k++) {
            const char *name = metrics ? runs[i].metrics[k].name : runs[i].params[k].name;
            size_t j = 0;
            while (j < count && strcmp((*names)[j], name) != 0)
                j++;
            if (j < count)
                continue;
            if (count == cap) {
                cap = cap ? 2 * cap : 32;
                *names = xrealloc(*names, cap * sizeof **names);
            }
            (*names)[count++] = name;
        }
    }
    return count;
}

static void compare_params(struct rs_table *t, const struct rs_run *runs, size_t n)
{
    const char **names;
    size_t count = union_names(runs, n, 0, &names);
    for (size_t j = 0; j < count; j++) {
        const char *first = rs_run_get_param(&runs[0], names[j]);
        int same = 1;
        for (size_t i = 1; i < n; i++) {
            const char *v = rs_run_get_param(&runs[i], names[j]);
            same &= (!v && !first) || (v && first && strcmp(v, first) == 0);
        }
        if (same)
            continue;
        rs_table_add(t, "param");
        rs_table_add(t, names[j]);
        for (size_t i = 0; i < n; i++) {
            const char *v = rs_run_get_param(&runs[i], names[j]);
            rs_table_add(t, v ? v : "-");
            if (i > 0)
                rs_table_add(t, "");
        }
    }
    free(names);
}

static void compare_metrics(struct rs_table *t, const struct rs_run *runs, size_t n)
{
    const char **names;
    size_t count = union_names(runs, n, 1, &names);
    for (size_t j = 0; j < count; j++) {
        double first = NAN;
        int has_first = rs_run_get_metric(&runs[0], names[j], &first, NULL) == 0;
        rs_table_add(t, "metric");
        rs_table_add(t, names[j]);
        for (size_t i = 0; i < n; i++) {
            double v;
            int has = rs_run_get_metric(&runs[i], names[j], &v, NULL) == 0;
            if (has)
                add_num(t, v);
            else
                rs_table_add(t, "-");
            if (i == 0)
                continue;
            if (has && has_first)
                rs_table_addf(t, "%+.6g", v - first);
            else
                rs_table_add(t, "");
        }
    }
    free(names);
}

static int cmd_compare(struct rs_store *s, char **refs, size_t n)
{
    struct rs_run *runs = xcalloc(n, sizeof *runs);
    int rc = 0;
    size_t got = 0;
    while (got < n && (rc = get_run(s, refs[got], &runs[got])) == 0)
        got++;
    if (rc == 0) {
        /* kind, name, then per run its value and (from the second) the delta */
        size_t ncols = 2 + n + (n - 1);
        const char **head = xcalloc(ncols, sizeof *head);
        char **labels = xcalloc(ncols, sizeof *labels);
        head[0] = "kind", head[1] = "name";
        for (size_t i = 0, c = 2; i < n; i++) {
            labels[c] = xmalloc(32);
            snprintf(labels[c], 32, "run %" PRId64, runs[i].id);
            head[c] = labels[c], c++;
            if (i > 0) {
                labels[c] = xmalloc(32);
                snprintf(labels[c], 32, "delta %" PRId64, runs[i].id);
                head[c] = labels[c], c++;
            }
        }
        struct rs_table *t = rs_table_new(ncols, head);
        for (size_t c = 0; c < ncols; c++)
            free(labels[c]);
        free(labels);
        free(head);
        compare_params(t, runs, n);
        compare_metrics(t, runs, n);
        rc = print_table(t);
    }
    for (size_t i = 0; i < got; i++)
        rs_run_free(&runs[i]);
    free(runs);
    return rc;
}

static int cmd_best(struct rs_store *s)
{
    static const char *const head[] = { "id", "uuid", "group", "tool", "metric", "value" };
    int64_t *ids;
    size_t n;
    opt.q.metric = opt.metric;
    int rc = rs_store_list(s, &opt.q, &ids, &n);
    struct rs_run best = { 0 };
    double best_v = NAN;
    for (size_t k = 0; rc == 0 && k < n; k++) {
        struct rs_run r;
        double v;
        if ((rc = rs_store_get(s, ids[k], NULL, &r)) < 0)
            break;
        if (rs_run_get_metric(&r, opt.metric, &v, NULL) == 0 && !isnan(v) &&
            (isnan(best_v) || (opt.minimise ? v < best_v : v > best_v))) {
            rs_run_free(&best);
            best = r, best_v = v;
        } else {
            rs_run_free(&r);
        }
    }
    free(ids);
    if (rc == 0 && isnan(best_v))
        rc = rs_err_set(RS_ERR_FORMAT, "no run selected has metric '%s'", opt.metric);
    if (rc < 0) {
        rs_run_free(&best);
        return rc;
    }
    struct rs_table *t = rs_table_new(6, head);
    rs_table_addf(t, "%" PRId64, best.id);
    rs_table_add(t, best.uuid);
    rs_table_add(t, best.group);
    rs_table_add(t, best.tool);
    rs_table_add(t, opt.metric);
    add_num(t, best_v);
    rs_run_free(&best);
    return print_table(t);
}

static int cmd_lineage(struct rs_store *s, const char *path)
{
    static const char *const head[] = { "depth", "file", "xxh3", "run", "tool" };
    struct rs_lineage_node *nodes;
    size_t n;
    int rc = rs_store_lineage(s, path, &nodes, &n);
    if (rc < 0)
        return rc;
    struct rs_table *t = rs_table_new(5, head);
    for (size_t k = 0; k < n; k++) {
        const struct rs_lineage_node *d = &nodes[k];
        rs_table_addf(t, "%d", d->depth);
        rs_table_addf(t, "%*s%s", opt.tsv ? 0 : 2 * d->depth, "", d->path);
        if (d->size >= 0)
            rs_table_addf(t, "%016" PRIx64, d->xxh3);
        else
            rs_table_add(t, "-");
        if (d->run)
            rs_table_addf(t, "%" PRId64, d->run);
        else
            rs_table_add(t, "-");
        if (d->run)
            rs_table_addf(t, "%s%s", d->tool, d->seen ? " (above)" : "");
        else
            rs_table_add(t, d->size >= 0 ? "(source)" : "(stream)");
    }
    rs_lineage_free(nodes, n);
    return print_table(t);
}

/* The registry folder: --registry, else "registry" beside the store. */
static char *registry_root(void)
{
    if (opt.registry)
        return xstrdup(opt.registry);
    const char *slash = strrchr(opt.store, '/');
    size_t n = slash ? (size_t)(slash - opt.store) : 1;
    char *root = xmalloc(n + 16);
    snprintf(root, n + 16, "%.*s/registry", (int)n, slash ? opt.store : ".");
    return root;
}

static int cmd_register(struct rs_store *s, const char *name, char **files, size_t n)
{
    char *root = registry_root();
    int version;
    int rc = rs_registry_register(s, root, name, opt.run, (const char *const *)files, n, &version);
    if (rc == 0)
        rs_log("model '%s' version %d (candidate) in '%s/%s/v%d'", name, version, root, name, version);
    free(root);
    return rc;
}

static int cmd_promote(struct rs_store *s, const char *name, const char *version_text)
{
    struct rs_gate gate;
    struct rs_run eval = { 0 };
    struct rs_gate_result res;
    int version = (int)rs_opt_int("VERSION", version_text, 1, INT32_MAX);
    if (opt.gate && rs_gate_parse(opt.gate, &gate) < 0)
        rs_usage_error(SYNOPSIS, "%s", rs_err_msg());
    if (!opt.gate != !opt.eval)
        rs_usage_error(SYNOPSIS, "promote: --gate and --eval go together");
    int rc = opt.eval ? rs_store_get(s, opt.eval, NULL, &eval) : 0;
    char *root = registry_root();
    if (rc == 0)
        rc = rs_registry_promote(s, root, name, version, opt.gate ? &gate : NULL, opt.eval ? &eval : NULL,
                                 opt.candidate, opt.production, &res);
    if (rc == 0 && res.passed && res.production)
        rs_log("model '%s' version %d is production (was %d): %s candidate %.6g, production %.6g", name, version,
               res.production, gate.metric, res.candidate_value, res.production_value);
    else if (rc == 0 && res.passed)
        rs_log("model '%s' version %d is production (the first)", name, version);
    else if (rc == 0)
        rc = rs_err_set(RS_ERR_FORMAT, "gate '%s' refused model '%s' version %d: candidate %.6g, production %.6g "
                        "(delta %+.6g); production stays version %d", opt.gate, name, version, res.candidate_value,
                        res.production_value, res.candidate_value - res.production_value, res.production);
    free(root);
    rs_run_free(&eval);
    return rc;
}

static int cmd_models(struct rs_store *s, const char *name)
{
    static const char *const head[] = { "name", "version", "stage", "run", "created", "dir" };
    struct rs_model_version *v;
    size_t n;
    int rc = rs_registry_list(s, name, &v, &n);
    if (rc < 0)
        return rc;
    struct rs_table *t = rs_table_new(6, head);
    for (size_t k = 0; k < n; k++) {
        rs_table_add(t, v[k].name);
        rs_table_addf(t, "%d", v[k].version);
        rs_table_add(t, v[k].stage);
        rs_table_addf(t, "%" PRId64, v[k].run);
        add_time(t, v[k].created);
        rs_table_add(t, v[k].dir);
    }
    rs_registry_list_free(v, n);
    return print_table(t);
}

static int cmd_export(struct rs_store *s)
{
    if (!opt.uri)
        rs_usage_error(SYNOPSIS, "export-mlflow: --uri URL is required");
    int64_t *ids;
    size_t n, exported, skipped;
    int rc = rs_store_list(s, &opt.q, &ids, &n);
    if (rc == 0)
        rc = rs_mlflow_export(s, ids, n, opt.uri, opt.experiment, &exported, &skipped);
    if (rc == 0)
        rs_log("%zu runs exported to experiment '%s' at %s (%zu there already)", exported, opt.experiment, opt.uri,
               skipped);
    free(ids);
    return rc;
}

/* ---- options ---- */

static double parse_date(const char *flag, const char *arg)
{
    int64_t t;
    if (rs_time_parse(arg, strlen(arg), &t) < 0)
        rs_usage_error(SYNOPSIS, "invalid %s '%s': expected a date (2026-12-01, ISO 8601 or Unix seconds)", flag,
                       arg);
    return (double)t;
}

static int64_t parse_run(const char *flag, const char *arg)
{
    return rs_opt_int(flag, arg, 1, INT64_MAX);
}

static void parse(int argc, char **argv)
{
    enum { O_TSV = 256, O_TOOL, O_GROUP, O_STATUS, O_SINCE, O_UNTIL, O_PARAM, O_METRIC, O_MIN, O_MAX, O_REGISTRY,
           O_RUN, O_GATE, O_EVAL, O_CAND, O_PROD, O_URI, O_EXPERIMENT };
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        { "tsv", no_argument, 0, O_TSV }, { "tool", required_argument, 0, O_TOOL },
        { "group", required_argument, 0, O_GROUP }, { "status", required_argument, 0, O_STATUS },
        { "since", required_argument, 0, O_SINCE }, { "until", required_argument, 0, O_UNTIL },
        { "param", required_argument, 0, O_PARAM }, { "metric", required_argument, 0, O_METRIC },
        { "min", no_argument, 0, O_MIN }, { "max", no_argument, 0, O_MAX },
        { "registry", required_argument, 0, O_REGISTRY }, { "run", required_argument, 0, O_RUN },
        { "gate", required_argument, 0, O_GATE }, { "eval", required_argument, 0, O_EVAL },
        { "candidate", required_argument, 0, O_CAND }, { "production", required_argument, 0, O_PROD },
        { "uri", required_argument, 0, O_URI }, { "experiment", required_argument, 0, O_EXPERIMENT },
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
        if (c == RS_OPT_TRACK) /* the store this reads, not one to record into */
            opt.store = optarg;
        else if (rs_cli_common(c, optarg, help))
            continue;
        switch (c) {
        case RS_OPT_TRACK: break;
        case O_TSV: opt.tsv = 1; break;
        case O_TOOL: opt.q.tool = optarg; break;
        case O_GROUP: opt.q.group = optarg; break;
        case O_STATUS: opt.q.status = (int)rs_opt_int("--status", optarg, 0, 255); break;
        case O_SINCE: opt.q.since = parse_date("--since", optarg); break;
        case O_UNTIL: opt.q.until = parse_date("--until", optarg); break;
        case O_PARAM:
            if (!strchr(optarg, '=') || *optarg == '=')
                rs_usage_error(SYNOPSIS, "invalid --param '%s': expected NAME=VALUE", optarg);
            opt.q.param = optarg;
            break;
        case O_METRIC: opt.metric = optarg; break;
        case O_MIN: opt.minimise = 1; break;
        case O_MAX: opt.minimise = 0; break;
        case O_REGISTRY: opt.registry = optarg; break;
        case O_RUN: opt.run = parse_run("--run", optarg); break;
        case O_GATE: opt.gate = optarg; break;
        case O_EVAL: opt.eval = parse_run("--eval", optarg); break;
        case O_CAND: opt.candidate = optarg; break;
        case O_PROD: opt.production = optarg; break;
        case O_URI: opt.uri = optarg; break;
        case O_EXPERIMENT: opt.experiment = optarg; break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
}

/* Operands each command takes: at least min, at most max (-1: any). */
static void want_args(int n, int min, int max, const char *what)
{
    if (n < min || (max >= 0 && n > max))
        rs_usage_error(SYNOPSIS, "%s: expected %s", opt.cmd, what);
}

static int run_command(struct rs_store *s, char **args, int n)
{
    const char *cmd = opt.cmd;
    if (!strcmp(cmd, "list"))
        return want_args(n, 0, 0, "no operand"), opt.q.metric = opt.metric, cmd_list(s);
    if (!strcmp(cmd, "show"))
        return want_args(n, 1, 1, "RUN"), cmd_show(s, args[0]);
    if (!strcmp(cmd, "compare"))
        return want_args(n, 2, -1, "two runs or more"), cmd_compare(s, args, (size_t)n);
    if (!strcmp(cmd, "best")) {
        if (!opt.metric)
            rs_usage_error(SYNOPSIS, "best: --metric M is required");
        return want_args(n, 0, 0, "no operand"), cmd_best(s);
    }
    if (!strcmp(cmd, "lineage"))
        return want_args(n, 1, 1, "FILE"), cmd_lineage(s, args[0]);
    if (!strcmp(cmd, "register"))
        return want_args(n, 2, -1, "NAME and FILEs"), cmd_register(s, args[0], args + 1, (size_t)n - 1);
    if (!strcmp(cmd, "promote"))
        return want_args(n, 2, 2, "NAME VERSION"), cmd_promote(s, args[0], args[1]);
    if (!strcmp(cmd, "models"))
        return want_args(n, 0, 1, "at most a NAME"), cmd_models(s, n ? args[0] : NULL);
    return want_args(n, 0, 0, "no operand"), cmd_export(s);
}

int main(int argc, char **argv)
{
    static const char *const cmds[] = { "list", "show", "compare", "best", "lineage", "register", "promote",
                                        "models", "export-mlflow" };
    rs_cli_init(argv[0]);
    if (argc > 1 && argv[1][0] != '-') {
        for (size_t k = 0; k < sizeof cmds / sizeof *cmds; k++)
            if (!strcmp(argv[1], cmds[k]))
                opt.cmd = cmds[k];
        if (!opt.cmd)
            rs_usage_error(SYNOPSIS, "unknown command '%s'", argv[1]);
        argv[1] = argv[0];
        argc--, argv++;
    }
    parse(argc, argv);
    if (!opt.cmd)
        rs_usage_error(SYNOPSIS, "missing command");
    /* rs-runs reads and curates the store: its own runs are not recorded. */
    const char *env = getenv("RS_TRACK");
    if (!opt.store)
        opt.store = env && *env ? env : NULL;
    rs_cli_track_off();
    if (!opt.store)
        rs_usage_error(SYNOPSIS, "no run store: give --track DB or set RS_TRACK");
    int writes = !strcmp(opt.cmd, "register") || !strcmp(opt.cmd, "promote");
    struct rs_store *s;
    int rc = rs_store_open(&s, opt.store, writes ? RS_STORE_WRITE : RS_STORE_READ);
    if (rc < 0) {
        rs_err_set(rc, "run store '%s': %s", opt.store, rs_err_msg());
        rs_die(rc);
    }
    rc = run_command(s, argv + optind, argc - optind);
    rs_store_close(s);
    if (rc < 0)
        rs_die(rc);
    return 0;
}
