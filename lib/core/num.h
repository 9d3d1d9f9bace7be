/* num.h - the one checked path from text to numbers, and the range every
 * vector value stays in.
 *
 * Every number read from input (TSV fields, comma lists, options, RSB and
 * RSM values) goes through here, so none can be NaN, infinite, hexadecimal
 * or silently clamped on overflow. tests/check-numparse fails the build's
 * tests if lib/ or src/ calls strtod, strtol, atoi, sscanf... anywhere else.
 */
#ifndef RS_NUM_H
#define RS_NUM_H

#include <stddef.h>
#include <stdint.h>

/* The largest magnitude of a vector value (RSB rows, RSM tensors, vectors
 * read from text): its square times RS_RSB_MAX_DIMS (65536) is 6.6e36, so a
 * squared norm, a dot product or a squared distance of such vectors stays
 * finite in float (FLT_MAX 3.4e38) without a double accumulator. */
#define RS_NUM_VEC_MAX 1e16

/* The n bytes at s (no NUL needed) as a whole decimal integer: an optional
 * sign and digits only, no spaces, within int64. 0, or RS_ERR_FORMAT with the
 * message "expected an integer, got 'S'" (or "integer out of range"). */
int rs_num_i64(const char *s, size_t n, int64_t *v);
/* The n bytes at s as 1 to 16 hexadecimal digits (a content hash): 0, or
 * RS_ERR_FORMAT "expected 1 to 16 hexadecimal digits, got 'S'". */
int rs_num_hex64(const char *s, size_t n, uint64_t *v);
/* A whole decimal number ("-1.5", "2e-3", ".5") within float's range
 * (|x| <= FLT_MAX, 3.4e38: every number ends as a float in some output, and
 * sums and squares of such numbers stay finite in double). "nan", "inf" and
 * overflow ("1e999") are RS_ERR_FORMAT "expected a finite number, got 'S'",
 * hexadecimal floats "expected a decimal number", 1e300 "expected a number
 * within float's range", other text "expected a number"; an underflow to a
 * subnormal or zero is accepted. */
int rs_num_f64(const char *s, size_t n, double *v);
/* Same, as a float. */
int rs_num_f32(const char *s, size_t n, float *v);
/* Same within +-RS_NUM_VEC_MAX: a value of a vector or a model's input,
 * "expected a finite number within +-1e16" otherwise. */
int rs_num_vec_value(const char *s, size_t n, double *v);

/* 1 if x can be a vector value: finite and |x| <= RS_NUM_VEC_MAX. */
int rs_num_vec_ok(double x);
/* The index of the first x[i] that is not rs_num_vec_ok, or n if none. */
size_t rs_num_vec_find_bad(const float *x, size_t n);

#endif
