/* cli.c - shared command-line behaviour of the rs-* tools. */
#include "cli.h"
#include "core/clock.h"
#include "core/dist.h"
#include "core/err.h"
#include "core/num.h"
#include "core/shard.h"
#include "io/io.h"
#include "io/tsv.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#ifndef RS_HAVE_CUDA
#define RS_HAVE_CUDA 0
#endif

const char *rs_prog = "rs";
struct rs_common rs_opts = { 1, RS_DEFAULT_SEED, 0, 0 };

/* Number of online cores: the default of --threads. */
static int ncores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void on_signal(int sig)
{
    rs_io_cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* One line per rank at the end of an MPI job, what bench/mpi reads: CPU time
 * and the bytes the rank's collectives carried (core/dist.h). */
static void log_dist_stats(void)
{
    struct rs_dist_stats st;
    struct rusage ru;
    rs_dist_stats(&st);
    double cpu = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
              ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
    fprintf(stderr, "%s: mpi rank %d/%d: cpu %.3f s, %" PRIu64 " bytes out, %" PRIu64 " in, %" PRIu64
            " collectives\n", rs_prog, rs_dist_rank(), rs_dist_size(), cpu, st.bytes_out, st.bytes_in, st.calls);
}

static int asked_quiet; /* -q: the ranks other than 0 are quiet anyway */

/* Under mpirun, a rank that exits with a failure ends the whole job
 * (MPI_Abort): the others may be waiting for it in a collective, and
 * MPI_Finalize would wait for them. Runs after rs_io_cleanup (registered
 * later), so the rank's temporaries are gone first; the others remove theirs
 * on the SIGTERM that mpirun sends them. */
static void leave_job(int status, void *arg)
{
    (void)arg;
    if (status != 0)
        rs_dist_abort(status);
    if (rs_dist_size() > 1 && !asked_quiet)
        log_dist_stats();
    rs_dist_finalize();
}

/* Several ranks print to one stderr: rank r names itself "rs-x[r]", and
 * only rank 0 logs (errors come from any rank). */
static void join_job(void)
{
    static char name[96];
    rs_dist_init();
    on_exit(leave_job, NULL);
    if (rs_dist_size() == 1)
        return;
    snprintf(name, sizeof name, "%s[%d]", rs_prog, rs_dist_rank());
    rs_prog = name;
    if (rs_dist_rank() != 0)
        rs_opts.quiet = 1;
}

/* Every row unless --shard says otherwise; the one place a launcher's rank
 * and size would become the default. */
struct rs_shard rs_shard_sel = { 0, 1 };

void rs_cli_init(const char *prog)
{
    const char *slash = strrchr(prog, '/');
    rs_prog = slash ? slash + 1 : prog;
    rs_opts.threads = ncores();
    opterr = 0; /* rs_usage_bad_option reports instead, in the house format */
    join_job();
    atexit(rs_io_cleanup);
    /* Killed by these two, a tool could not remove its temporary outputs.
     * Ignored, they make write() fail with EPIPE or EFBIG instead: the
     * writers report it, and rs_die() ends the run (EFBIG: exit 1 with the
     * message; EPIPE: end_by_sigpipe()). stderr_gone() does the same for a
     * run whose stderr is the closed pipe. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    rs_track_begin();
}

/* A closed pipe ends the run as SIGPIPE would have, quietly (a reader that
 * went away, as `| head` does, is no error to report), but only once the
 * temporary outputs are removed: SIGPIPE is ignored until then. */
static void __attribute__((noreturn)) end_by_sigpipe(void)
{
    rs_io_cleanup();
    signal(SIGPIPE, SIG_DFL);
    raise(SIGPIPE);
    _exit(1); /* not reached: SIGPIPE's default is to terminate */
}

/* Called after a log or progress line: when stderr is a closed pipe, nobody
 * reads us any more. */
static void stderr_gone(void)
{
    if (ferror(stderr) && errno == EPIPE)
        end_by_sigpipe();
}

static void print_version(void)
{
    printf("%s (recsys-pipes) %s\n", rs_prog, RS_VERSION);
    printf("features: openblas=yes zstd=%s cuda=%s mpi=%s\n", ZSTD_versionString(),
           RS_HAVE_CUDA ? "yes" : "no", rs_dist_built() ? "yes" : "no");
}

/* The help's last line: where the formats its text names (schemas/NAME.md)
 * are, in a checkout and installed (the Makefile's DOCDIR). */
static void help_footer(void)
{
    printf("\nFormats (schemas/NAME.md): schemas/ in the source tree; installed, in\n"
           "PREFIX/share/doc/recsys-pipes/schemas/ (PREFIX /usr/local, or /usr from the .deb).\n");
}

double rs_peak_rss_mib(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss / 1024 : 0; /* ru_maxrss: KiB */
}

static void bad_value(const char *flag, const char *arg, const char *want);

/* --max-memory: RLIMIT_DATA bounds the heap (malloc's brk and anonymous
 * mmaps, thread stacks) but not code or mapped files; a refused allocation
 * reaches xmalloc's message. Not usable under AddressSanitizer, whose shadow
 * memory counts against it. */
static void set_max_memory(const char *arg)
{
    size_t n = strspn(arg, "0123456789");
    const char *end = arg + n;
    int64_t v;
    int shift = 0;
    switch (*end) {
    case 'K': case 'k': shift = 10, end++; break;
    case 'M': case 'm': shift = 20, end++; break;
    case 'G': case 'g': shift = 30, end++; break;
    case 'T': case 't': shift = 40, end++; break;
    }
    if (*end || rs_num_i64(arg, n, &v) < 0 || v == 0 || v > (INT64_MAX >> shift))
        bad_value("--max-memory", arg, "a size such as 512M or 4G");
    struct rlimit rl = { .rlim_cur = (rlim_t)(v << shift), .rlim_max = RLIM_INFINITY };
    struct rlimit old;
    if (getrlimit(RLIMIT_DATA, &old) == 0)
        rl.rlim_max = old.rlim_max;
    if (rl.rlim_cur > rl.rlim_max)
        rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_DATA, &rl) != 0)
        rs_fatal("--max-memory %s: %s", arg, strerror(errno));
    rs_oom_note = arg;
}

int rs_cli_common(int opt, const char *arg, void (*help)(void))
{
    rs_track_option(opt, arg);
    switch (opt) {
    case 'h':
        help();
        help_footer();
        exit(0);
    case 'V':
        print_version();
        exit(0);
    case 'q':
        rs_opts.quiet = asked_quiet = 1;
        return 1;
    case 'v':
        rs_opts.verbose = 1;
        return 1;
    case 'j':
        rs_opts.threads = (int)rs_opt_int("--threads", arg, 1, 1024);
        return 1;
    case 's':
        rs_opts.seed = (uint64_t)rs_opt_int("--seed", arg, 0, INT64_MAX);
        return 1;
    case RS_OPT_MAX_MEMORY:
        set_max_memory(arg);
        return 1;
    case RS_OPT_TRACK:
        return 1;
    }
    return 0;
}

int rs_cli_shard(int opt, const char *arg)
{
    if (opt != RS_OPT_SHARD)
        return 0;
    if (rs_shard_parse(&rs_shard_sel, arg) < 0) {
        fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", rs_prog, rs_err_msg(), rs_prog);
        exit(2);
    }
    return 1;
}

int rs_cli_output(int opt, const char *arg, struct rs_output *out)
{
    switch (opt) {
    case 'o': out->path = arg; return 1;
    case 'z': out->zstd = 1; return 1;
    case RS_OPT_LEVEL: out->level = (int)rs_opt_int("--level", arg, 1, 19); return 1;
    }
    return 0;
}

static const char *const col_flags[] = { "--user-col", "--item-col", "--event-col", "--time-col", "--session-col" };

/* The name of column k (the order of RS_COLS_*) in c. */
static const char **col_name(struct rs_cols *c, int k)
{
    const char **names[] = { &c->user, &c->item, &c->event, &c->time, &c->session };
    return names[k];
}

static void col_flag_refused(const char *flag)
{
    fprintf(stderr, "%s: %s does not apply: this tool reads no such column\nTry '%s --help' for more "
            "information.\n", rs_prog, flag, rs_prog);
    exit(2);
}

/* --time-unit: the unit of every table's timestamps (core/timeparse.h). */
static void time_unit(const char *arg, const struct rs_cols *c)
{
    enum rs_time_unit u;
    if (!(c->used & RS_COLS_TIME))
        col_flag_refused("--time-unit");
    if (rs_time_unit_parse(arg, &u) < 0)
        bad_value("--time-unit", arg, "s, ms, us, iso or auto");
    rs_tsv_time_unit(u);
}

int rs_cli_cols(int opt, const char *arg, struct rs_cols *c)
{
    int k = opt - RS_OPT_COL;
    if (opt == RS_OPT_TIME_UNIT) {
        time_unit(arg, c);
        return 1;
    }
    if (k < 0 || k > 4)
        return 0;
    if (!(c->used & 1u << k))
        col_flag_refused(col_flags[k]);
    if (!*arg)
        bad_value(col_flags[k], arg, "a column name");
    *col_name(c, k) = arg;
    c->given |= 1u << k;
    return 1;
}

const char *rs_cli_cols_help(const struct rs_cols *c, int at)
{
    static const char *const what[] = { "user id", "item id", "event", "timestamp", "session" };
    static char text[1024];
    struct rs_cols d = RS_COLS_INIT(0);
    size_t n = 0;
    text[0] = '\0';
    for (int k = 0; k < 5; k++) {
        char flag[32];
        if (!(c->used & 1u << k))
            continue;
        snprintf(flag, sizeof flag, "%s NAME", col_flags[k]);
        n += (size_t)snprintf(text + n, sizeof text - n, "      %-*s %s column (default %s)\n", at - 7, flag, what[k],
                              *col_name(&d, k));
        if (k == 3)
            n += (size_t)snprintf(text + n, sizeof text - n, "      %-*s s, ms, us, iso or auto (default: by magnitude,\n"
                                  "      %-*s seconds below 1e11, ms below 1e14, us below 1e17)\n", at - 7, "--time-unit U",
                                  at - 7, "");
    }
    return text;
}

int rs_output_open(struct rs_writer **w, const struct rs_output *out)
{
    return rs_writer_open(w, out->path, out->zstd ? RS_W_ZSTD : 0, out->level);
}

void rs_usage_error(const char *synopsis, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", rs_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nUsage: %s\nTry '%s --help' for more information.\n", synopsis, rs_prog);
    exit(2);
}

const char *rs_opt_flag(const struct option *longopts, int c, int li)
{
    static _Thread_local char flag[64];
    for (int i = 0; li < 0 && longopts[i].name; i++)
        if (longopts[i].val == c && !longopts[i].flag)
            li = i;
    snprintf(flag, sizeof flag, "--%s", li >= 0 ? longopts[li].name : "");
    return li >= 0 ? flag : "";
}

void rs_usage_bad_option(const char *synopsis, char **argv)
{
    const char *arg = argv[optind - 1];
    if (optopt && strncmp(arg, "--", 2) != 0)
        rs_usage_error(synopsis, "invalid option '-%c' or missing value", optopt);
    rs_usage_error(synopsis, "invalid option '%s' or missing value", arg);
}

void rs_die(int code)
{
    if (rs_io_pipe_closed())
        end_by_sigpipe();
    fprintf(stderr, "%s: %s\n", rs_prog, rs_err_msg());
    exit(rs_err_exit_code(code));
}

void rs_fatal(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", rs_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void rs_log(const char *fmt, ...)
{
    if (rs_opts.quiet)
        return;
    va_list ap;
    fprintf(stderr, "%s: ", rs_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    stderr_gone();
}

static void bad_value(const char *flag, const char *arg, const char *want)
{
    fprintf(stderr, "%s: invalid value '%s' for %s: expected %s\nTry '%s --help' for more information.\n",
            rs_prog, arg, flag, want, rs_prog);
    exit(2);
}

long long rs_opt_int(const char *flag, const char *arg, long long min, long long max)
{
    char want[96];
    int64_t v;
    if (rs_num_i64(arg, strlen(arg), &v) < 0 || v < min || v > max) {
        snprintf(want, sizeof want, "an integer in %lld..%lld", min, max);
        bad_value(flag, arg, want);
    }
    return v;
}

double rs_opt_double(const char *flag, const char *arg, double min, double max)
{
    char want[96];
    double v;
    if (rs_num_f64(arg, strlen(arg), &v) < 0 || !(v >= min && v <= max)) {
        snprintf(want, sizeof want, "a number in %g..%g", min, max);
        bad_value(flag, arg, want);
    }
    return v;
}

size_t rs_opt_cap(const char *flag, long long v, size_t max, const char *what)
{
    if ((unsigned long long)v <= max)
        return (size_t)v;
    rs_log("%s %lld capped to the %zu %s", flag, v, max, what);
    return max;
}

void rs_opt_source_name(const char *synopsis, const char *arg, size_t len)
{
    size_t i = 0;
    while (i < len && (isalnum((unsigned char)arg[i]) || arg[i] == '_'))
        i++;
    if (len == 0 || i < len)
        rs_usage_error(synopsis, "invalid source name in '%s': letters, digits and '_' only", arg);
}

void rs_opt_source(const char *synopsis, const char *arg, char **name, const char **path)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        rs_usage_error(synopsis, "invalid source '%s': expected NAME=FILE", arg);
    rs_opt_source_name(synopsis, arg, (size_t)(eq - arg));
    *name = xstrndup(arg, (size_t)(eq - arg));
    *path = eq + 1;
}

void rs_progress_start(struct rs_progress *p, const char *what, uint64_t total)
{
    p->what = what;
    p->total = total;
    p->done = 0;
    p->start = p->last = rs_now();
    p->on = !rs_opts.quiet && (rs_opts.verbose || isatty(STDERR_FILENO));
}

void rs_progress_add(struct rs_progress *p, uint64_t n)
{
    p->done += n;
    if (!p->on)
        return;
    double now = rs_now();
    if (now - p->last < 0.16)
        return;
    p->last = now;
    double rate = p->done / (now - p->start + 1e-9);
    if (p->total)
        fprintf(stderr, "\r%s: %s: %llu/%llu (%.0f/s, ETA %.0fs)   ", rs_prog, p->what,
                (unsigned long long)p->done, (unsigned long long)p->total, rate,
                (p->total - (p->done < p->total ? p->done : p->total)) / (rate + 1e-9));
    else
        fprintf(stderr, "\r%s: %s: %llu (%.0f/s)   ", rs_prog, p->what, (unsigned long long)p->done, rate);
    stderr_gone();
}

void rs_progress_end(struct rs_progress *p)
{
    if (p->on)
        fprintf(stderr, "\r\033[K");
    double secs = rs_now() - p->start;
    rs_log("%s: %llu in %.2fs (%.0f/s)", p->what, (unsigned long long)p->done, secs,
           p->done / (secs + 1e-9));
}
