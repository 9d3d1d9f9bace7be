/* fuzz-safetensors.c - safetensors files through rs_safetensors_load, then
 * every tensor read back as f32 with its own shape. The header length is
 * clamped to the input, so mutations of the JSON reach the parser; an input
 * starting with "!" is taken as it is (truncated files stay truncated). */
#include "core/err.h"
#include "fuzz.h"
#include "io/safetensors.h"

static void fix_length(uint8_t *b, size_t n)
{
    if (n >= 8 && get_u64(b) > n - 8)
        put_u64(b, n - 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = fuzz_path_fixed(data, size, fix_length);
    struct rs_safetensors *st;
    if (!p || rs_safetensors_load(&st, p) < 0)
        return 0;
    for (size_t i = 0; i < st->n; i++) {
        const struct rs_st_tensor *t = &st->t[i];
        size_t shape[RS_ST_MAX_DIMS], n = 1;
        for (size_t k = 0; k < t->ndim; k++)
            n *= shape[k] = (size_t)t->shape[k];
        float *out = malloc(n ? n * sizeof *out : 1);
        rs_safetensors_f32(st, t->name, t->ndim, shape, out);
        free(out);
    }
    rs_safetensors_free(st);
    return 0;
}
