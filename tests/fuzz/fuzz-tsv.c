/* fuzz-tsv.c - the TSV reader (and the zstd layer under it) on arbitrary bytes. */
#include "core/err.h"
#include "fuzz.h"
#include "io/tsv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = fuzz_path(data, size);
    struct rs_tsv *t;
    if (!p || rs_tsv_open(&t, p, 0) < 0)
        return 0;
    int col, errors = 0;
    rs_tsv_require(t, "x", &col);
    /* A tool stops at its first bad field; here a hundred are enough to reach
     * every message, without a zstd input of a hundred bytes inflating to
     * millions of rows of three messages each (a timeout, not a finding). */
    while (errors < 100 && rs_tsv_next(t) == 0) {
        double d;
        int64_t v;
        for (size_t i = 0; i < rs_tsv_ncols(t); i++)
            errors += (rs_tsv_get_f64(t, (int)i, &d) < 0) + (rs_tsv_get_i64(t, (int)i, &v) < 0) +
                      (rs_tsv_get_time(t, (int)i, &v) < 0);
    }
    rs_tsv_close(t);
    return 0;
}
