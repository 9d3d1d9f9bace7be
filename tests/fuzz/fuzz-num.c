/* fuzz-num.c - the checked number parser (core/num.h): whatever the bytes,
 * an accepted number is finite and within its range, and a refusal leaves
 * the output untouched. */
#include "core/err.h"
#include "core/num.h"

#include <float.h>
#include <math.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    int64_t i = 7;
    double d = 7;
    float f = 7;
    if (rs_num_i64(s, size, &i) < 0 && i != 7)
        __builtin_trap();
    if (rs_num_f64(s, size, &d) == 0 ? !(fabs(d) <= FLT_MAX) : d != 7)
        __builtin_trap();
    if (rs_num_f32(s, size, &f) == 0 ? !isfinite(f) : f != 7)
        __builtin_trap();
    d = 7;
    if (rs_num_vec_value(s, size, &d) == 0 ? !rs_num_vec_ok(d) : d != 7)
        __builtin_trap();
    return 0;
}
