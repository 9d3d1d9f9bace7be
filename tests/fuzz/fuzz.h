/* fuzz.h - shared glue for the libFuzzer targets: the readers take paths, so
 * each input is written to a memfd and opened as /proc/self/fd/N. */
#ifndef RS_FUZZ_H
#define RS_FUZZ_H

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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

/* fuzz_path of data with its checksums recomputed by fix (so mutations reach
 * the checks behind them); an input starting with "!" is taken as it is,
 * without its "!" (corrupt files stay corrupt). */
static inline const char *fuzz_path_fixed(const uint8_t *data, size_t size, void (*fix)(uint8_t *, size_t))
{
    uint8_t *b = malloc(size + 1);
    memcpy(b, data, size);
    if (size && b[0] == '!')
        memmove(b, b + 1, --size);
    else
        fix(b, size);
    const char *p = fuzz_path(b, size);
    free(b);
    return p;
}

/* Little-endian u64 fields, for the targets that fix up checksums. */
static inline uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static inline void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

#endif
