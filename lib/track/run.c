/* run.c - a run built in memory before it is written to the store
 * (track.h). */
#include "track/track.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* 32 hex digits from the kernel's random source (a version-4 UUID's bits,
 * without its dashes). */
static char *new_uuid(void)
{
    unsigned char b[16] = { 0 };
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        uint64_t t = (uint64_t)(wall_now() * 1e9) ^ ((uint64_t)getpid() << 32);
        memcpy(b, &t, sizeof t);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    char *s = xmalloc(33);
    for (int i = 0; i < 16; i++)
        snprintf(s + 2 * i, 3, "%02x", b[i]);
    return s;
}

void rs_run_init(struct rs_run *r, const char *tool, const char *version, const char *cmdline,
                 const char *group)
{
    memset(r, 0, sizeof *r);
    r->uuid = new_uuid();
    r->group = xstrdup(group && *group ? group : r->uuid);
    r->tool = xstrdup(tool);
    r->version = xstrdup(version);
    r->cmdline = xstrdup(cmdline ? cmdline : "");
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    r->host = xstrdup(host);
    char *cwd = getcwd(NULL, 0);
    r->cwd = cwd ? cwd : xstrdup("");
    r->start = wall_now();
    r->status = -1;
}

/* Room for one more element in *v (count n, capacity *cap). */
static void *grow(void *v, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return v;
    *cap = *cap ? 2 * *cap : 8;
    return xrealloc(v, *cap * size);
}

void rs_run_param(struct rs_run *r, const char *name, const char *value)
{
    for (size_t k = 0; k < r->nparams; k++)
        if (strcmp(r->params[k].name, name) == 0) {
            free(r->params[k].value);
            r->params[k].value = xstrdup(value);
            return;
        }
    r->params = grow(r->params, r->nparams, &r->cap_params, sizeof *r->params);
    r->params[r->nparams++] = (struct rs_run_param){ xstrdup(name), xstrdup(value) };
}

void rs_run_file(struct rs_run *r, enum rs_file_role role, const char *path)
{
    int stream = strcmp(path, "-") == 0;
    char *abs = stream ? NULL : realpath(path, NULL);
    if (!stream && !abs) /* gone already: rs_run_finish drops it */
        abs = xstrdup(path);
    for (size_t k = 0; k < r->nfiles; k++) {
        struct rs_run_file *f = &r->files[k];
        if (f->role == role && strcmp(f->path, path) == 0 &&
            (!abs || !f->abspath || strcmp(f->abspath, abs) == 0)) {
            free(abs);
            return;
        }
    }
    r->files = grow(r->files, r->nfiles, &r->cap_files, sizeof *r->files);
    r->files[r->nfiles++] = (struct rs_run_file){ xstrdup(path), abs, role, -1, 0 };
}

void rs_run_metric(struct rs_run *r, const char *name, int64_t step, double value)
{
    r->metrics = grow(r->metrics, r->nmetrics, &r->cap_metrics, sizeof *r->metrics);
    r->metrics[r->nmetrics++] = (struct rs_run_metric){ xstrdup(name), step, value };
}

int rs_file_xxh3(const char *path, uint64_t *hash, int64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rs_err_set(RS_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    XXH3_state_t *st = XXH3_createState();
    RS_ASSERT(st);
    XXH3_64bits_reset(st);
    static __thread char buf[1 << 16];
    int64_t total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        XXH3_64bits_update(st, buf, (size_t)n);
        total += n;
    }
    int rc = n < 0 ? rs_err_set(RS_ERR_IO, "cannot read '%s': %s", path, strerror(errno)) : 0;
    close(fd);
    *hash = XXH3_64bits_digest(st);
    *size = total;
    XXH3_freeState(st);
    return rc;
}

static void file_free(struct rs_run_file *f)
{
    free(f->path);
    free(f->abspath);
}

/* Size and hash of a regular file; 0 for a stream (left unhashed), -1 for
 * a file that is gone or unreadable. */
static int measure(struct rs_run_file *f)
{
    struct stat st;
    if (!f->abspath)
        return 0;
    if (stat(f->abspath, &st) < 0)
        return -1;
    if (!S_ISREG(st.st_mode))
        return 0;
    return rs_file_xxh3(f->abspath, &f->xxh3, &f->size) < 0 ? -1 : 0;
}

void rs_run_finish(struct rs_run *r, int status)
{
    r->end = wall_now();
    r->status = status;
    size_t kept = 0;
    for (size_t k = 0; k < r->nfiles; k++) {
        if (measure(&r->files[k]) < 0)
            file_free(&r->files[k]);
        else
            r->files[kept++] = r->files[k];
    }
    r->nfiles = kept;
}

void rs_run_free(struct rs_run *r)
{
    if (!r)
        return;
    for (size_t k = 0; k < r->nparams; k++)
        free(r->params[k].name), free(r->params[k].value);
    for (size_t k = 0; k < r->nfiles; k++)
        file_free(&r->files[k]);
    for (size_t k = 0; k < r->nmetrics; k++)
        free(r->metrics[k].name);
    free(r->params), free(r->files), free(r->metrics);
    free(r->uuid), free(r->group), free(r->tool), free(r->version);
    free(r->cmdline), free(r->cwd), free(r->host);
    memset(r, 0, sizeof *r);
}

const char *rs_run_get_param(const struct rs_run *r, const char *name)
{
    for (size_t k = 0; k < r->nparams; k++)
        if (strcmp(r->params[k].name, name) == 0)
            return r->params[k].value;
    return NULL;
}

int rs_run_get_metric(const struct rs_run *r, const char *name, double *value, int64_t *step)
{
    int found = 0;
    int64_t last = 0;
    for (size_t k = 0; k < r->nmetrics; k++) {
        const struct rs_run_metric *m = &r->metrics[k];
        if (strcmp(m->name, name) == 0 && (!found || m->step >= last)) {
            *value = m->value;
            last = m->step;
            found = 1;
        }
    }
    if (found && step)
        *step = last;
    return found ? 0 : RS_ERR_USAGE;
}
