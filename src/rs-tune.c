/* rs-tune - hyper-parameter search for any command or make target: a space
 * in JSON (lib/tune/space.h), random, grid, TPE or ASHA (lib/tune/study.h),
 * every trial a tracked run whose objective comes back from the run store. */
#include "cli.h"
#include "core/err.h"
#include "io/io.h"
#include "tune/objective.h"
#include "tune/study.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define SYNOPSIS "rs-tune [OPTIONS] --space SPACE.json --metric NAME --track DB -- COMMAND [ARG...]"
#define DEF_TRIALS 20
#define DEF_TOP 10

static struct {
    const char *space, *metric, *track, *study, *best, *group;
    struct rs_output out;
    long long trials, jobs, top;
    int sampler, maximize;
    struct rs_tpe tpe;
} opt = { .trials = DEF_TRIALS, .jobs = 1, .top = DEF_TOP, .sampler = RS_SAMPLER_TPE, .maximize = 1,
          .tpe = { .startup = 10, .gamma = 0.15, .candidates = 24 } };

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Runs COMMAND once per trial with the trial's parameters, reads the trial's\n"
           "objective from the run store, and prints a leaderboard (TSV: rank, trial, the\n"
           "metric, the budget if the space has one, then one column per parameter).\n"
           "In COMMAND's arguments {NAME} is replaced by parameter NAME's value (\"\" when\n"
           "its condition leaves it inactive), {trial} by the trial number and {group} by\n"
           "its run group; the parameters are also in the environment under their names\n"
           "(a make target reads them as variables), with RS_TRACK=DB, RS_RUN_GROUP=GROUP,\n"
           "RS_TUNE_TRIAL and TRACK=DB (the pipelines' variable), so that every tool the\n"
           "trial runs records into DB under the trial's group. The objective is the\n"
           "metric NAME recorded last in that group. The space's format and the study\n"
           "file: schemas/tune.md.\n"
           "\n"
           "Options:\n"
           "      --space FILE      the search space (JSON)\n"
           "      --metric NAME     the objective: a metric the trial's runs record\n"
           "      --direction D     max or min (default max)\n"
           "      --track DB        the run store (default: $RS_TRACK)\n"
           "      --sampler S       random, grid, tpe or asha (default tpe)\n"
           "  -n, --trials N        trials (runs of COMMAND; default %d); grid stops at the\n"
           "                        grid's end\n"
           "  -j, --threads N       trials at once (default 1; here not the cores): trial i\n"
           "                        is decided from trials 0..i-N's results, so the same\n"
           "                        --seed and -j give the same sequence\n"
           "      --study FILE      the study file, rewritten atomically after each trial; an\n"
           "                        existing one is resumed: finished trials are kept, a trial\n"
           "                        a kill interrupted runs again (default: SPACE's name with\n"
           "                        .study.json)\n"
           "      --group PREFIX    run groups PREFIX-tN (default: the study file's name)\n"
           "      --best FILE       the best trial's parameters: JSON when FILE ends in .json,\n"
           "                        else make variables (NAME = VALUE), atomically\n"
           "      --top N           leaderboard rows (default %d)\n"
           "      --startup N       TPE: random trials first (default %d)\n"
           "      --gamma X         TPE: the good fraction of the trials (default %g)\n"
           "      --candidates N    TPE: draws scored by l(x)/g(x) (default %d)\n"
           "  -o, --output FILE     the leaderboard to FILE, atomically (default: stdout)\n" RS_COMMON_HELP
           "\n"
           "ASHA (successive halving over the space's \"budget\", e.g. epochs) starts random\n"
           "configurations at the smallest budget and promotes the best 1/eta of each rung\n"
           "to the next; the leaderboard ranks the highest rung first.\n"
           "\n"
           "Examples:\n"
           "  rs-tune --space space.json --metric recall@20 --track runs.db -n 40 -j 2 \\\n"
           "      --best best.mk -- make -f my.mk OUT=out/tune/{trial} LR={lr}\n"
           "  rs-tune --space space.json --metric loss --direction min --sampler asha \\\n"
           "      --track runs.db -- sh -c 'train --epochs {epochs} --lr {lr}'\n",
           DEF_TRIALS, DEF_TOP, opt.tpe.startup, opt.tpe.gamma, opt.tpe.candidates);
}

enum { OPT_SPACE = 0x100, OPT_METRIC, OPT_DIRECTION, OPT_SAMPLER, OPT_STUDY, OPT_GROUP, OPT_BEST,
       OPT_TOP, OPT_STARTUP, OPT_GAMMA, OPT_CANDIDATES };

static char **parse_args(int argc, char **argv, int *n_cmd)
{
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS, RS_OUTPUT_LONGOPTS,
        { "space", required_argument, 0, OPT_SPACE },     { "metric", required_argument, 0, OPT_METRIC },
        { "direction", required_argument, 0, OPT_DIRECTION },
        { "sampler", required_argument, 0, OPT_SAMPLER }, { "trials", required_argument, 0, 'n' },
        { "study", required_argument, 0, OPT_STUDY },     { "group", required_argument, 0, OPT_GROUP },
        { "best", required_argument, 0, OPT_BEST },       { "top", required_argument, 0, OPT_TOP },
        { "startup", required_argument, 0, OPT_STARTUP }, { "gamma", required_argument, 0, OPT_GAMMA },
        { "candidates", required_argument, 0, OPT_CANDIDATES }, { 0, 0, 0, 0 }
    };
    int c;
    /* '+': options stop at COMMAND, whose own flags are its own */
    while ((c = getopt_long(argc, argv, "+" RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS "n:", longopts, NULL)) != -1) {
        if (c == 'j') {
            opt.jobs = rs_opt_int("-j", optarg, 1, 256);
            continue;
        }
        if (c == RS_OPT_TRACK) /* the store rs_cli_common records this run in, and the trials' */
            opt.track = optarg;
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out))
            continue;
        switch (c) {
        case OPT_SPACE: opt.space = optarg; break;
        case OPT_METRIC: opt.metric = optarg; break;
        case OPT_DIRECTION:
            if (strcmp(optarg, "max") != 0 && strcmp(optarg, "min") != 0)
                rs_usage_error(SYNOPSIS, "--direction is max or min, not '%s'", optarg);
            opt.maximize = strcmp(optarg, "max") == 0;
            break;
        case OPT_SAMPLER: {
            static const char *const names[] = { "random", "grid", "tpe", "asha" };
            int k = 0;
            while (k < 4 && strcmp(names[k], optarg) != 0)
                k++;
            if (k == 4)
                rs_usage_error(SYNOPSIS, "--sampler is random, grid, tpe or asha, not '%s'", optarg);
            opt.sampler = k;
            break;
        }
        case 'n': opt.trials = rs_opt_int("--trials", optarg, 1, 1000000); break;
        case OPT_STUDY: opt.study = optarg; break;
        case OPT_GROUP: opt.group = optarg; break;
        case OPT_BEST: opt.best = optarg; break;
        case OPT_TOP: opt.top = rs_opt_int("--top", optarg, 1, 1000000); break;
        case OPT_STARTUP: opt.tpe.startup = (int)rs_opt_int("--startup", optarg, 0, 1000000); break;
        case OPT_GAMMA: opt.tpe.gamma = rs_opt_double("--gamma", optarg, 0.01, 0.99); break;
        case OPT_CANDIDATES: opt.tpe.candidates = (int)rs_opt_int("--candidates", optarg, 1, 100000); break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    if (!opt.space)
        rs_usage_error(SYNOPSIS, "--space is required");
    if (!opt.metric)
        rs_usage_error(SYNOPSIS, "--metric is required");
    if (!opt.track)
        opt.track = getenv("RS_TRACK");
    if (!opt.track || !*opt.track)
        rs_usage_error(SYNOPSIS, "--track (or RS_TRACK) is required: the objective comes from the run store");
    if (optind >= argc)
        rs_usage_error(SYNOPSIS, "no COMMAND to tune");
    *n_cmd = argc - optind;
    return argv + optind;
}

/* The names a placeholder may hold besides the parameters. */
static int special_name(const char *s, size_t n)
{
    return (n == 5 && memcmp(s, "trial", 5) == 0) || (n == 5 && memcmp(s, "group", 5) == 0);
}

static int param_index(const struct rs_space *sp, const char *s, size_t n)
{
    for (size_t i = 0; i < sp->n; i++)
        if (strlen(sp->p[i].name) == n && memcmp(sp->p[i].name, s, n) == 0)
            return (int)i;
    if (sp->budget.name && strlen(sp->budget.name) == n && memcmp(sp->budget.name, s, n) == 0)
        return (int)sp->n;
    return -1;
}

/* The text of placeholder s[0..n) for trial i, or NULL when it is none
 * (the braces stay as they are: an awk program's "{print}" passes). */
static const char *placeholder(const struct rs_study *st, size_t i, const char *group, const char *s, size_t n)
{
    static char buf[32];
    int k = param_index(st->space, s, n);
    if (k >= 0 && (size_t)k < st->space->n)
        return rs_space_text(st->space, st->t[i].x, (size_t)k);
    if (k >= 0)
        return snprintf(buf, sizeof buf, "%lld", rs_study_budget(st, i)), buf;
    if (special_name(s, n) && s[0] == 't')
        return snprintf(buf, sizeof buf, "%zu", i), buf;
    if (special_name(s, n))
        return group;
    return NULL;
}

static char *substitute(const struct rs_study *st, size_t i, const char *group, const char *arg)
{
    size_t cap = strlen(arg) + 64, len = 0;
    char *out = xmalloc(cap);
    for (const char *p = arg; *p;) {
        const char *end = *p == '{' ? strchr(p, '}') : NULL;
        const char *text = end ? placeholder(st, i, group, p + 1, (size_t)(end - p - 1)) : NULL;
        size_t n = text ? strlen(text) : 1;
        if (len + n + 1 > cap)
            out = xrealloc(out, cap = 2 * (len + n + 1));
        memcpy(out + len, text ? text : p, n);
        len += n;
        p = text ? end + 1 : p + 1;
    }
    out[len] = '\0';
    return out;
}

static void trial_group(char *buf, size_t size, size_t i)
{
    snprintf(buf, size, "%s-t%zu", opt.group, i);
}

/* In the child: the trial's environment and arguments, then exec. */
static void exec_trial(const struct rs_study *st, size_t i, char **cmd, int n_cmd)
{
    char group[512], num[32];
    trial_group(group, sizeof group, i);
    /* rs_cli_init ignores these; a trial's pipes need them back */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    for (size_t k = 0; k < st->space->n; k++)
        setenv(st->space->p[k].name, rs_space_text(st->space, st->t[i].x, k), 1);
    if (st->space->budget.name)
        snprintf(num, sizeof num, "%lld", rs_study_budget(st, i)), setenv(st->space->budget.name, num, 1);
    snprintf(num, sizeof num, "%zu", i);
    setenv("RS_TUNE_TRIAL", num, 1);
    setenv("RS_TRACK", opt.track, 1);
    /* the pipelines' make variable (pipelines/common.mk: TRACK ?= ...) */
    setenv("TRACK", opt.track, 1);
    setenv("RS_RUN_GROUP", group, 1);
    char **args = xcalloc((size_t)n_cmd + 1, sizeof *args);
    for (int a = 0; a < n_cmd; a++)
        args[a] = substitute(st, i, group, cmd[a]);
    /* the trial's stdout is not the leaderboard */
    dup2(STDERR_FILENO, STDOUT_FILENO);
    execvp(args[0], args);
    fprintf(stderr, "%s: cannot run '%s': %s\n", rs_prog, args[0], strerror(errno));
    _exit(127);
}

struct runner {
    pid_t *pid; /* per trial; 0: not running */
    size_t running;
};

static void launch(struct runner *r, struct rs_study *st, size_t i, char **cmd, int n_cmd)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        rs_fatal("cannot start trial %zu: %s", i, strerror(errno));
    if (pid == 0)
        exec_trial(st, i, cmd, n_cmd);
    r->pid[i] = pid;
    r->running++;
}

/* A failed trial is told even with --quiet. */
static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: warning: ", rs_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Waits for one trial and records its outcome. */
static void reap(struct runner *r, struct rs_study *st)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, 0)) < 0 && errno == EINTR)
        ;
    if (pid < 0)
        rs_fatal("waiting for the trials: %s", strerror(errno));
    size_t i = 0;
    while (i < st->n && r->pid[i] != pid)
        i++;
    if (i == st->n)
        return;
    r->pid[i] = 0;
    r->running--;
    struct rs_trial *t = &st->t[i];
    char group[512];
    trial_group(group, sizeof group, i);
    t->state = RS_TRIAL_FAILED;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        warn("trial %zu failed (%s %d)", i, WIFEXITED(status) ? "exit status" : "signal",
               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    } else if (rs_tune_objective(opt.track, group, opt.metric, &t->value) != 0) {
        warn("trial %zu: %s", i, rs_err_msg());
    } else {
        t->state = RS_TRIAL_DONE;
        rs_log("trial %zu: %s %.6g", i, opt.metric, t->value);
    }
    int rc = rs_study_save(st, opt.study);
    if (rc)
        rs_die(rc);
}

/* The first trial that still has to run and is not running. */
static long pending_trial(const struct rs_study *st, const struct runner *r)
{
    for (size_t i = 0; i < st->n; i++)
        if (st->t[i].state == RS_TRIAL_PENDING && !r->pid[i])
            return (long)i;
    return -1;
}

static int finished_before(const struct rs_study *st, size_t known)
{
    for (size_t i = 0; i < known; i++)
        if (st->t[i].state == RS_TRIAL_PENDING)
            return 0;
    return 1;
}

static void run_study(struct rs_study *st, char **cmd, int n_cmd)
{
    struct runner r = { xcalloc((size_t)opt.trials + 1, sizeof *r.pid), 0 };
    int exhausted = 0;
    for (;;) {
        while (r.running < (size_t)opt.jobs) {
            long i = pending_trial(st, &r);
            if (i < 0 && !exhausted && st->n < (size_t)opt.trials) {
                size_t known = st->n >= (size_t)opt.jobs - 1 ? st->n - ((size_t)opt.jobs - 1) : 0;
                if (!finished_before(st, known))
                    break;
                if (rs_study_next(st, known)) {
                    exhausted = 1;
                    continue;
                }
                int rc = rs_study_save(st, opt.study);
                if (rc)
                    rs_die(rc);
                i = (long)st->n - 1;
            }
            if (i < 0)
                break;
            launch(&r, st, (size_t)i, cmd, n_cmd);
        }
        if (r.running == 0)
            break;
        reap(&r, st);
    }
    free(r.pid);
}

static int leaderboard(struct rs_writer *w, const struct rs_study *st)
{
    size_t *order = xmalloc((st->n ? st->n : 1) * sizeof *order), n = 0;
    for (size_t i = 0; i < st->n; i++) {
        if (st->t[i].state != RS_TRIAL_DONE)
            continue;
        size_t j = n++;
        for (; j > 0; j--) {
            const struct rs_trial *a = &st->t[i], *b = &st->t[order[j - 1]];
            if (!(a->rung > b->rung || (a->rung == b->rung && rs_study_better(st, a->value, b->value))))
                break;
            order[j] = order[j - 1];
        }
        order[j] = i;
    }
    const char *budget = st->space->budget.name;
    int rc = rs_writer_printf(w, "rank\ttrial\t") | rs_writer_put_text(w, opt.metric);
    if (budget)
        rc |= rs_writer_putc(w, '\t') | rs_writer_put_text(w, budget);
    for (size_t k = 0; k < st->space->n; k++)
        rc |= rs_writer_putc(w, '\t') | rs_writer_put_text(w, st->space->p[k].name);
    rc |= rs_writer_putc(w, '\n');
    for (size_t r = 0; r < n && r < (size_t)opt.top && rc == 0; r++) {
        const struct rs_trial *t = &st->t[order[r]];
        rc |= rs_writer_printf(w, "%zu\t%zu\t", r + 1, order[r]) | rs_writer_put_float(w, t->value);
        if (budget)
            rc |= rs_writer_printf(w, "\t%lld", rs_study_budget(st, order[r]));
        for (size_t k = 0; k < st->space->n; k++)
            rc |= rs_writer_putc(w, '\t') | rs_writer_put_text(w, rs_space_text(st->space, t->x, k));
        rc |= rs_writer_putc(w, '\n');
    }
    free(order);
    return rc;
}

static int put_best_param(struct rs_writer *w, int json, int first, const char *name, const char *text)
{
    if (json)
        return rs_writer_printf(w, first ? "\n  " : ",\n  ") | rs_writer_put_json_string(w, name, strlen(name)) |
               rs_writer_printf(w, ": ") | rs_writer_put_json_string(w, text, strlen(text));
    return rs_writer_put_text(w, name) | rs_writer_printf(w, " = ") | rs_writer_put_text(w, text) |
           rs_writer_putc(w, '\n');
}

/* The best trial's parameters (inactive ones left out), and its budget. */
static int write_best(const struct rs_study *st, size_t b)
{
    struct rs_writer *w;
    int json = rs_ends_with(opt.best, ".json"), first = 1;
    int rc = rs_writer_open(&w, opt.best, 0, 0);
    if (rc)
        return rc;
    rc = json ? rs_writer_printf(w, "{") : 0;
    for (size_t k = 0; k < st->space->n && rc == 0; k++) {
        const char *text = rs_space_text(st->space, st->t[b].x, k);
        if (*text)
            rc = put_best_param(w, json, first, st->space->p[k].name, text), first = 0;
    }
    if (st->space->budget.name && rc == 0) {
        char num[32];
        snprintf(num, sizeof num, "%lld", rs_study_budget(st, b));
        rc = put_best_param(w, json, first, st->space->budget.name, num);
    }
    rc = rc ?: (json ? rs_writer_printf(w, "\n}\n") : 0);
    return rs_writer_finish(w, rc);
}

/* The study into rs-tune's own run, for rs-report's tuning plots
 * (schemas/tune.md, "In the run store"): each parameter's kind as a run
 * parameter, each finished trial's objective and values as metrics whose
 * step is the trial number + 1 (a choice: the index of its value). */
static void record_study(const struct rs_study *st)
{
    char name[128], desc[4096];
    rs_cli_param("tune/metric", opt.metric);
    rs_cli_param("tune/direction", opt.maximize ? "max" : "min");
    for (size_t k = 0; k < st->space->n; k++) {
        const struct rs_param *p = &st->space->p[k];
        size_t len = (size_t)snprintf(desc, sizeof desc, "%s%s", p->kind == RS_PARAM_INT ? "int" :
                                      p->kind == RS_PARAM_FLOAT ? "float" : "choice", p->log ? " log" : "");
        for (size_t v = 0; v < p->n_values && len < sizeof desc; v++)
            len += (size_t)snprintf(desc + len, sizeof desc - len, "\t%s", p->values[v]);
        snprintf(name, sizeof name, "tune/param/%s", p->name);
        rs_cli_param(name, desc);
    }
    for (size_t i = 0; i < st->n; i++) {
        const struct rs_trial *t = &st->t[i];
        if (t->state != RS_TRIAL_DONE)
            continue;
        rs_cli_metric("tune/objective", (long long)i + 1, t->value);
        if (st->space->budget.name)
            rs_cli_metric("tune/budget", (long long)i + 1, (double)rs_study_budget(st, i));
        for (size_t k = 0; k < st->space->n; k++) {
            snprintf(name, sizeof name, "tune/param/%s", st->space->p[k].name);
            if (!isnan(t->x[k]))
                rs_cli_metric(name, (long long)i + 1, t->x[k]);
        }
    }
}

/* The study file's default: SPACE's name, its .json replaced. */
static char *default_study(const char *space)
{
    size_t n = strlen(space) - (rs_ends_with(space, ".json") ? 5 : 0);
    char *s = xmalloc(n + sizeof ".study.json");
    memcpy(s, space, n);
    strcpy(s + n, ".study.json");
    return s;
}

static char *default_group(const char *study)
{
    const char *base = strrchr(study, '/') ? strrchr(study, '/') + 1 : study;
    char *g = xstrdup(base);
    if (rs_ends_with(g, ".study.json"))
        g[strlen(g) - strlen(".study.json")] = '\0';
    return g;
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    int n_cmd;
    char **cmd = parse_args(argc, argv, &n_cmd);
    rs_opts.threads = (int)opt.jobs; /* what the run store records as threads */
    struct rs_space space;
    int rc = rs_space_load(&space, opt.space), found;
    if (rc)
        rs_die(rc);
    if (opt.sampler == RS_SAMPLER_ASHA && !space.budget.name)
        rs_usage_error(SYNOPSIS, "--sampler asha needs a \"budget\" in '%s' (schemas/tune.md)", opt.space);
    char *study_path = opt.study ? NULL : default_study(opt.space), *group = NULL;
    if (!opt.study)
        opt.study = study_path;
    if (!opt.group)
        opt.group = group = default_group(opt.study);
    struct rs_study st;
    rs_study_init(&st, &space, (enum rs_sampler)opt.sampler, rs_opts.seed, opt.maximize);
    st.tpe = opt.tpe;
    if ((rc = rs_study_load(&st, opt.study, &found)))
        rs_die(rc);
    if (found)
        rs_log("resuming '%s': %zu trials recorded", opt.study, st.n);
    if (st.n > (size_t)opt.trials)
        opt.trials = (long long)st.n;
    run_study(&st, cmd, n_cmd);
    record_study(&st);
    long best = rs_study_best(&st);
    if (best < 0)
        rs_fatal("no trial of '%s' finished with metric '%s'", opt.study, opt.metric);
    struct rs_writer *w;
    if ((rc = rs_output_open(&w, &opt.out)) == 0)
        rc = rs_writer_finish(w, leaderboard(w, &st));
    if (rc == 0 && opt.best)
        rc = write_best(&st, (size_t)best);
    if (rc)
        rs_die(rc);
    rs_log("best: trial %ld, %s %.6g", best, opt.metric, st.t[best].value);
    rs_study_free(&st);
    rs_space_free(&space);
    free(study_path);
    free(group);
    return 0;
}
