/* fuzz-zstd.c - the stream reader on arbitrary (often zstd) bytes: lines,
 * peeks and exact reads must never overrun or hang. */
#include "core/err.h"
#include "fuzz.h"
#include "io/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = fuzz_path(data, size);
    struct rs_reader *r;
    if (!p || rs_reader_open(&r, p) < 0)
        return 0;
    const unsigned char *peek;
    size_t avail;
    rs_reader_peek(r, 16, &peek, &avail);
    char *line, buf[7];
    size_t len;
    int rc;
    while ((rc = rs_reader_getline(r, &line, &len)) == 0)
        if (rs_reader_read_exact(r, buf, sizeof buf) < 0)
            break;
    rs_reader_close(r);
    return 0;
}
