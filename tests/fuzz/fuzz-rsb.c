/* fuzz-rsb.c - the RSB reader: header, blocks, end block, all dtypes. */
#include "core/err.h"
#include "fuzz.h"
#include "io/rsb.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = fuzz_path(data, size);
    struct rs_rsb_reader *r;
    if (!p || rs_rsb_open(&r, p) < 0)
        return 0;
    float *v = malloc(rs_rsb_dims(r) * sizeof *v);
    const char *id;
    size_t idlen;
    rs_rsb_meta(r, "model");
    while (rs_rsb_next(r, &id, &idlen, v) == 0)
        ;
    free(v);
    rs_rsb_close(r);
    return 0;
}
