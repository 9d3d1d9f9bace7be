/* cli-track.c - --track DB on every tool: the run is gathered in memory as
 * the tool goes (options from rs_cli_common, files from the io observer,
 * metrics from rs_cli_metric) and written to the store by an exit handler,
 * in one transaction. Whatever goes wrong with the store is one warning on
 * stderr; the tool's exit status and outputs stay as they were. */
#include "cli.h"
#include "core/err.h"
#include "io/io.h"
#include "track/track.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct rs_run run;
static const char *store_path; /* NULL: not tracking */
static int saved_argc;
static char **saved_argv;
static char *cmdline;

/* The command line before getopt permutes it: glibc calls constructors with
 * main's argc and argv (the same array getopt_long later works on). */
__attribute__((constructor)) static void save_args(int argc, char **argv)
{
    size_t n = 1;
    saved_argc = argc;
    saved_argv = argv;
    for (int i = 0; i < argc; i++)
        n += 4 * strlen(argv[i]) + 3; /* each ' may become '\'' */
    cmdline = xmalloc(n);
    char *p = cmdline;
    for (int i = 0; i < argc; i++) {
        /* Shell-quoted where a word needs it, so the line can be run again. */
        int plain = *argv[i] && strspn(argv[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                "0123456789-_./=,:@+%") == strlen(argv[i]);
        if (i)
            *p++ = ' ';
        if (!plain)
            *p++ = '\'';
        for (const char *c = argv[i]; *c; c++) {
            if (*c == '\'' && !plain)
                p += sprintf(p, "'\\''");
            else
                *p++ = *c;
        }
        if (!plain)
            *p++ = '\'';
    }
    *p = '\0';
}

static void on_io(enum rs_io_event ev, const char *path)
{
    rs_run_file(&run, ev == RS_IO_READ ? RS_FILE_IN : RS_FILE_OUT, path);
}

static void write_run(int status, void *unused)
{
    (void)unused;
    if (!store_path)
        return;
    char buf[32];
    snprintf(buf, sizeof buf, "%d", rs_opts.threads);
    rs_run_param(&run, "threads", buf);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)rs_opts.seed);
    rs_run_param(&run, "seed", buf);
    rs_run_finish(&run, status);
    struct rs_store *s;
    int rc = rs_store_open(&s, store_path, RS_STORE_WRITE);
    if (rc == 0) {
        rc = rs_store_put(s, &run);
        rs_store_close(s);
    }
    if (rc < 0)
        fprintf(stderr, "%s: warning: run store '%s': %s; run not recorded\n", rs_prog, store_path, rs_err_msg());
    rs_run_free(&run);
    store_path = NULL;
}

void rs_track_begin(void)
{
    const char *env = getenv("RS_TRACK");
    store_path = env && *env ? env : NULL;
    rs_run_init(&run, rs_prog, RS_VERSION, cmdline, getenv("RS_RUN_GROUP"));
    rs_io_set_observer(on_io);
    on_exit(write_run, NULL);
}

/* The long name of a common short option, so that -s 7 and --seed 7 are the
 * same parameter. */
static const char *long_name(int opt)
{
    switch (opt) {
    case 'j': return "threads";
    case 's': return "seed";
    case 'q': return "quiet";
    case 'v': return "verbose";
    case 'o': return "output";
    case 'z': return "zstd";
    }
    return NULL;
}

void rs_track_option(int opt, const char *arg)
{
    if (opt == 'h' || opt == 'V') { /* help and version are not runs */
        store_path = NULL;
        return;
    }
    if (opt == RS_OPT_TRACK) {
        store_path = *arg ? arg : NULL;
        return;
    }
    if (!saved_argv)
        return;
    /* A tool with a command word (rs-rank train) drops it before getopt:
     * argv[1] = argv[0], argv++. */
    int shift = saved_argc > 1 && saved_argv[1] == saved_argv[0];
    char **argv = saved_argv + shift;
    if (optind < 1 || optind > saved_argc - shift)
        return;
    /* getopt_long has just stepped past the option: it is argv[optind-1],
     * or argv[optind-2] when its value was the next word. */
    const char *text = argv[optind - 1];
    if (arg && text == arg && optind >= 2)
        text = argv[optind - 2];
    char name[64];
    if (strncmp(text, "--", 2) == 0)
        snprintf(name, sizeof name, "%.*s", (int)strcspn(text + 2, "="), text + 2);
    else if (long_name(opt))
        snprintf(name, sizeof name, "%s", long_name(opt));
    else if (opt > ' ' && opt < 127)
        snprintf(name, sizeof name, "%c", opt);
    else
        return;
    const char *value = arg ? arg : "true", *before = rs_run_get_param(&run, name);
    if (!before) {
        rs_run_param(&run, name, value);
        return;
    }
    /* A repeated option (--pred A --pred B): its values in order, spaced. */
    size_t n = strlen(before) + strlen(value) + 2;
    char *joined = xmalloc(n);
    snprintf(joined, n, "%s %s", before, value);
    rs_run_param(&run, name, joined);
    free(joined);
}

int rs_cli_tracking(void)
{
    return store_path != NULL;
}

void rs_cli_track_off(void)
{
    store_path = NULL;
}

void rs_cli_param(const char *name, const char *fmt, ...)
{
    char value[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    rs_run_param(&run, name, value);
}

void rs_cli_metric(const char *name, long long step, double value)
{
    rs_run_metric(&run, name, step, value);
}
