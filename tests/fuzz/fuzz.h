/* fuzz.h - shared glue for the libFuzzer targets: the readers take paths, so
 * each input is written to a memfd and opened as /proc/self/fd/N. */
#ifndef RS_FUZZ_H
#define RS_FUZZ_H

#include <stdio.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* Returns a path whose contents are data[0..size). */
static const char *fuzz_path(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("rs-fuzz", 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return NULL;
    return path;
}

#endif
