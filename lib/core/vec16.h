/* vec16.h - 16-float vectors (GCC vector extensions) for the hot loops of
 * nn.c and als.c, and RS_VEC, which compiles a function for AVX-512 and AVX2
 * as well as the baseline (chosen at load time) and vectorises it at -O3.
 *
 * Same bits on every ISA: ISO C mode contracts no multiply-add into an FMA,
 * division and sqrt are correctly rounded, and sums run in a fixed lane order
 * with fixed shuffle trees. Clang (the fuzz build) gets plain functions: its
 * target_clones drops the symbols of exported clones. */
#ifndef RS_VEC16_H
#define RS_VEC16_H

#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define RS_VEC __attribute__((optimize("O3"), target_clones("avx512f", "avx2", "default")))
#else
#define RS_VEC
#endif

typedef float vf16 __attribute__((vector_size(64)));
typedef int vi16 __attribute__((vector_size(64)));

/* Macros, not functions: a vf16 passed by value changes the ABI per clone. */
#define LOAD16(p) ({ vf16 v_; memcpy(&v_, (p), sizeof v_); v_; })
#define STORE16(p, v) do { vf16 s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)
#define SPLAT16(x) ((vf16){ 0 } + (x))
/* Lane-wise select: mask lanes are all ones or all zeros (a comparison). */
#define SELECT16(mask, a, b) ((vf16)(((vi16)(a) & (mask)) | ((vi16)(b) & ~(mask))))
#define MAX16(a, b) ({ vf16 a_ = (a), b_ = (b); SELECT16(a_ > b_, a_, b_); })
/* Horizontal sum by a fixed shuffle tree: the same bits whatever the ISA. */
#define HSUM16(a) ({                                                                             \
    vf16 h_ = (a);                                                                               \
    h_ += __builtin_shufflevector(h_, h_, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7); \
    h_ += __builtin_shufflevector(h_, h_, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11); \
    h_ += __builtin_shufflevector(h_, h_, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13); \
    h_ += __builtin_shufflevector(h_, h_, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14); \
    h_[0];                                                                                       \
})

#endif
