/* pq4.h - 4-bit product quantisation of IVF residuals, scored by "fast scan".
 *
 * A vector of d dims is cut into m sub-spaces of dsub dims (the last one
 * zero-padded); each sub-space has 16 centroids, so an item's residual is m
 * 4-bit codes. Codebooks are trained with the score-aware (anisotropic) loss
 * of Guo et al., "Accelerating Large-Scale Inference with Anisotropic Vector
 * Quantization" (ICML 2020): for an item x with quantisation error e the loss
 * is ‖e‖² + (η − 1)(e·x̂)², η = (d − 1)·t²/(1 − t²), t = T/‖x‖, which weighs
 * the error along x (the one that moves large inner products) η times the
 * orthogonal error. T = 0 gives η = 1: plain k-means PQ.
 *
 * Scoring follows André, Kermarrec and Le Scouarnec, "Cache locality is not
 * enough: high-performance nearest neighbor search with product quantization
 * fast scan" (VLDB 2015) and "Accelerated nearest neighbor search with quick
 * ADC" (ICMR 2017): a query's table of q·centroid per sub-space is quantised
 * to uint8 with one step for all sub-spaces, codes are packed in blocks of 32
 * items, and a 16-entry table lookup is one byte shuffle (vpshufb), 32 or 64
 * lookups per instruction. Sums are exact uint16 integers, so the scalar,
 * AVX2 and AVX-512BW kernels give the same bits.
 */
#ifndef RS_PQ4_H
#define RS_PQ4_H

#include <stddef.h>
#include <stdint.h>

#define RS_PQ4_K 16     /* centroids per sub-space */
#define RS_PQ4_BLOCK 32 /* items per packed block */
#define RS_PQ4_MAX_M 256 /* sub-spaces: 256 × 255 still fits a uint16 sum */

/* Geometry of a quantiser; codebooks are m × 16 × dsub f32. */
struct rs_pq4 {
    size_t d, dsub, m;
    size_t mpad; /* m rounded up to 4: the sub-spaces of a packed block (the extra ones score 0) */
    const float *codebooks;
};

/* Fills pq for d dims in sub-spaces of dsub; codebooks may be NULL until
 * trained. RS_ERR_USAGE when dsub is 0 or the sub-spaces exceed
 * RS_PQ4_MAX_M. */
int rs_pq4_init(struct rs_pq4 *pq, size_t d, size_t dsub, const float *codebooks);
/* Bytes of one packed block of 32 items: 16 · mpad. */
size_t rs_pq4_block_bytes(const struct rs_pq4 *pq);
/* Smallest sub-space size that keeps d within RS_PQ4_MAX_M sub-spaces, and
 * at least want. */
size_t rs_pq4_dsub_for(size_t d, size_t want);

struct rs_pq4_train_opts {
    double threshold; /* T of the anisotropic loss (0: plain PQ) */
    size_t sample;    /* items trained on (0: 65536) */
    int iters;        /* anisotropic refinement rounds after k-means (0: 8) */
    uint64_t seed;
    int threads;
};

/* Trains pq's codebooks (written to codebooks, m × 16 × dsub) on the
 * residuals x_i − c[assign[i]] of a random sample of the n rows of x (n × d),
 * with the centroids c (· × d). Returns 0 or RS_ERR_USAGE. */
int rs_pq4_train(const struct rs_pq4 *pq, const float *x, const float *c, const int32_t *assign,
                 size_t n, const struct rs_pq4_train_opts *o, float *codebooks);

/* Codes (n × m, one per byte) of the residuals x_i − c[assign[i]] under the
 * same loss (threshold T); rows are independent, so any thread count gives
 * the same codes. */
void rs_pq4_encode(const struct rs_pq4 *pq, const float *x, const float *c, const int32_t *assign,
                   size_t n, double threshold, int threads, uint8_t *codes);

/* Packs n rows of codes (n × m) into ceil(n / 32) blocks. In a block, the
 * 16 bytes of sub-space s (s < mpad) are at 16·s, and byte j holds item j's
 * code in its low nibble and item j + 16's in its high one; missing items
 * and sub-spaces are 0. */
void rs_pq4_pack(const struct rs_pq4 *pq, const uint8_t *codes, size_t n, uint8_t *blocks);

/* The query's lookup table (mpad × 16 bytes) for q (d floats):
 * Σ_s q_s·centroid_s[code_s] ≈ bias + delta · Σ_s lut[16·s + code_s], with
 * |error| ≤ m · delta / 2 (each entry is rounded to the nearest step). */
void rs_pq4_lut(const struct rs_pq4 *pq, const float *q, uint8_t *lut, float *bias, float *delta);

enum rs_pq4_kernel { RS_PQ4_SCALAR, RS_PQ4_AVX2, RS_PQ4_AVX512BW };

/* acc[32·b + j] = Σ_s lut[16·s + code_s] of item j of block b, for nblocks
 * blocks, with the kernel picked once per process: the best this CPU runs,
 * or the one RS_PQ4_KERNEL names (scalar, avx2, avx512bw) when the CPU runs
 * it. */
void rs_pq4_scan(const uint8_t *blocks, size_t nblocks, const uint8_t *lut, size_t mpad, uint16_t *acc);
/* The same with a given kernel; 0, or RS_ERR_USAGE when this CPU lacks it. */
int rs_pq4_scan_with(enum rs_pq4_kernel k, const uint8_t *blocks, size_t nblocks, const uint8_t *lut,
                     size_t mpad, uint16_t *acc);
/* Name of the kernel rs_pq4_scan uses ("scalar", "avx2", "avx512bw"). */
const char *rs_pq4_kernel_name(void);

#endif
