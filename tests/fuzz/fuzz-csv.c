/* fuzz-csv.c - the CSV path of the table reader (libcsv, strict mode). */
#include "core/err.h"
#include "fuzz.h"
#include "io/tsv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = fuzz_path(data, size);
    struct rs_tsv *t;
    if (!p || rs_tsv_open(&t, p, RS_TSV_CSV) < 0)
        return 0;
    while (rs_tsv_next(t) == 0) {
        float f;
        for (size_t i = 0; i < rs_tsv_ncols(t); i++)
            rs_tsv_get_f32(t, (int)i, &f);
    }
    rs_tsv_close(t);
    return 0;
}
