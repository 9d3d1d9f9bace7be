/* fblog.c - the feedback log: one durable zstd frame per batch (see fblog.h). */
#include "serve/fblog.h"
#include "core/clock.h"
#include "core/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define LEVEL 3

struct rs_fblog {
    pthread_mutex_t lock;
    char *dir, *header, *path;
    int fd;                /* -1: none open (the next append opens one) */
    uint64_t size, max_bytes, seq;
    double opened, max_secs;
};

/* Writes all of buf at the end of fd: 0, or -1 with errno. */
static int write_all(int fd, const char *buf, size_t n)
{
    while (n) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        if (w == 0)
            return errno = EIO, -1;
        buf += w, n -= (size_t)w;
    }
    return 0;
}

/* One frame of text at the end of the current file, durable on return;
 * undone on failure. */
static int put_frame(struct rs_fblog *l, const char *text, size_t len)
{
    size_t cap = ZSTD_compressBound(len);
    char *z = xmalloc(cap);
    size_t zn = ZSTD_compress(z, cap, text, len, LEVEL);
    RS_ASSERT(!ZSTD_isError(zn)); /* the bound makes room for any input */
    int rc = 0;
    if (write_all(l->fd, z, zn) < 0 || fdatasync(l->fd) < 0) {
        rc = rs_err_set(RS_ERR_IO, "cannot write '%s': %s", l->path, strerror(errno));
        if (ftruncate(l->fd, (off_t)l->size) == 0)
            fdatasync(l->fd);
        close(l->fd); /* the next batch starts a new file */
        l->fd = -1;
    } else {
        l->size += zn;
    }
    free(z);
    return rc;
}

static int new_file(struct rs_fblog *l)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    free(l->path);
    size_t n = strlen(l->dir) + 64;
    l->path = xmalloc(n);
    do { /* a name of a run started within the same second: the next number */
        snprintf(l->path, n, "%s/feedback-%s-%06llu.tsv.zst", l->dir, stamp, (unsigned long long)++l->seq);
        l->fd = open(l->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    } while (l->fd < 0 && errno == EEXIST && l->seq < 1000000);
    if (l->fd < 0)
        return rs_err_set(RS_ERR_IO, "cannot create '%s': %s", l->path, strerror(errno));
    l->size = 0;
    l->opened = rs_now();
    size_t hn = strlen(l->header);
    char *h = xmalloc(hn + 1);
    memcpy(h, l->header, hn);
    h[hn] = '\n';
    int rc = put_frame(l, h, hn + 1);
    free(h);
    if (rc < 0) /* not even its header: no empty file left behind */
        unlink(l->path);
    if (rc == 0) { /* the new name itself durable */
        int d = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d >= 0)
            fsync(d), close(d);
    }
    return rc;
}

int rs_fblog_repair(const char *path, uint64_t *cut)
{
    *cut = 0;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int rc = rs_err_set(RS_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    size_t n = (size_t)st.st_size, good = 0;
    char *buf = xmalloc(n ? n : 1);
    int rc = 0;
    if (n && pread(fd, buf, n, 0) != (ssize_t)n)
        rc = rs_err_set(RS_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    for (;;) { /* complete frames from the start */
        size_t f = ZSTD_findFrameCompressedSize(buf + good, n - good);
        if (rc < 0 || good == n || ZSTD_isError(f))
            break;
        good += f;
    }
    if (rc == 0 && good < n) {
        if (ftruncate(fd, (off_t)good) != 0 || fsync(fd) != 0)
            rc = rs_err_set(RS_ERR_IO, "cannot cut '%s': %s", path, strerror(errno));
        *cut = n - good;
    }
    free(buf);
    close(fd);
    return rc;
}

static int is_log_name(const char *name)
{
    return strncmp(name, "feedback-", 9) == 0 && strlen(name) > 17 && !strcmp(name + strlen(name) - 8, ".tsv.zst");
}

/* Repairs every log file of l->dir. */
static int repair_all(struct rs_fblog *l)
{
    DIR *d = opendir(l->dir);
    if (!d)
        return rs_err_set(RS_ERR_IO, "cannot open '%s': %s", l->dir, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (!is_log_name(e->d_name))
            continue;
        size_t n = strlen(l->dir) + strlen(e->d_name) + 2;
        char *p = xmalloc(n);
        snprintf(p, n, "%s/%s", l->dir, e->d_name);
        uint64_t cut;
        rc = rs_fblog_repair(p, &cut);
        free(p);
    }
    closedir(d);
    return rc;
}

int rs_fblog_open(struct rs_fblog **lp, const char *dir, const char *header, uint64_t max_bytes, double max_secs)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return rs_err_set(RS_ERR_IO, "cannot create '%s': %s", dir, strerror(errno));
    struct rs_fblog *l = xcalloc(1, sizeof *l);
    pthread_mutex_init(&l->lock, NULL);
    l->dir = xstrdup(dir);
    l->header = xstrdup(header);
    l->max_bytes = max_bytes;
    l->max_secs = max_secs;
    l->fd = -1;
    int rc = repair_all(l);
    if (rc == 0)
        rc = new_file(l);
    if (rc < 0) {
        rs_fblog_close(l);
        return rc;
    }
    *lp = l;
    return 0;
}

int rs_fblog_append(struct rs_fblog *l, const char *rows, size_t len)
{
    pthread_mutex_lock(&l->lock);
    int rc = 0;
    if (l->fd >= 0 && (l->size >= l->max_bytes || rs_now() - l->opened >= l->max_secs)) {
        close(l->fd);
        l->fd = -1;
    }
    if (l->fd < 0)
        rc = new_file(l);
    if (rc == 0)
        rc = put_frame(l, rows, len);
    pthread_mutex_unlock(&l->lock);
    return rc;
}

void rs_fblog_close(struct rs_fblog *l)
{
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    pthread_mutex_destroy(&l->lock);
    free(l->dir);
    free(l->header);
    free(l->path);
    free(l);
}
