/* ann.h - an IVF index for approximate maximum inner product search, in the
 * spirit of FAISS's IndexIVF and ScaNN: items are partitioned by k-means
 * (kmeans.h), each item's residual from its centroid is stored quantised
 * (int8 codes with one scale per row, or 4-bit PQ codes scored by fast scan,
 * pq4.h), and a search probes the nprobe partitions whose centroids score
 * highest, ranks their items by the quantised score q·c + q·residual, and
 * re-ranks the best `rerank` of them with exact f32 dot products.
 *
 * The index is one file (layout: schemas/ann-index.md) with a checksummed
 * header and payload, 64-byte aligned sections, read whole into memory of
 * its own (not mapped: a file rewritten or truncated under a mapping kills
 * the reader with SIGBUS): a server swaps indexes by opening the new file
 * (written atomically through rs_writer) and closing the old one, and the
 * old one is unaffected by whatever happens to its file meanwhile.
 */
#ifndef RS_ANN_H
#define RS_ANN_H

#include <stddef.h>
#include <stdint.h>

struct rs_writer;
struct rs_strmap;
struct rs_knn_filter;

enum rs_ann_quant {
    RS_ANN_INT8 = 1, /* residual from the centroid, symmetric int8, one f32 scale per row */
    RS_ANN_PQ4 = 2,  /* residual as 4-bit PQ codes (pq4.h), anisotropic loss */
};

struct rs_ann_build_opts {
    size_t nlist;        /* partitions (0: about sqrt(n)) */
    int quant;           /* enum rs_ann_quant */
    size_t train_sample; /* k-means trains on this many random items (0: 128 per partition) */
    int max_iter;        /* Lloyd iterations (0: 20) */
    uint64_t seed;
    int threads;
    void (*log)(void *ctx, int run, int iter, double inertia); /* k-means progress, may be NULL */
    void *log_ctx;
    size_t subdims;   /* pq4: dims per sub-space (0: 2, or more when d > 512) */
    double threshold; /* pq4: T of the anisotropic loss (0: plain PQ) */
};

/* Builds the index of the n items x (n × d) whose ids are keys 0..n-1 of ids,
 * and writes it to out (the caller opens it, closes it to commit, or aborts
 * it). Row order is the item index used in results and filters. Returns 0 or
 * a negative rs_err (RS_ERR_USAGE for bad options, RS_ERR_IO from out). */
int rs_ann_build(const float *x, size_t n, size_t d, const struct rs_strmap *ids,
                 const struct rs_ann_build_opts *o, struct rs_writer *out);

struct rs_ann;

/* Reads the index at path into memory and verifies its signature, version and checksums:
 * 0, RS_ERR_IO, RS_ERR_FORMAT (not an index, bad layout), RS_ERR_VERSION or
 * RS_ERR_CORRUPT (checksum mismatch, truncated). */
int rs_ann_open(struct rs_ann **a, const char *path);
/* Frees; NULL is a no-op. */
void rs_ann_close(struct rs_ann *a);
size_t rs_ann_size(const struct rs_ann *a);
uint32_t rs_ann_dims(const struct rs_ann *a);
size_t rs_ann_nlist(const struct rs_ann *a);
/* enum rs_ann_quant of the index. */
int rs_ann_quant(const struct rs_ann *a);
/* Id of item i (i < size), not NUL-terminated; its length in *len. */
const char *rs_ann_id(const struct rs_ann *a, size_t i, size_t *len);

struct rs_ann_search_opts {
    size_t nprobe; /* partitions searched per query (clamped to nlist) */
    size_t rerank; /* candidates re-scored exactly (raised to k when smaller) */
    int threads;
};

/* Approximate top-k like rs_knn_search (same outputs, item indices of the
 * index, filter f by item index, may be NULL): counts[q] < k when the probed
 * partitions hold fewer than k eligible items. Queries run in blocks of a
 * fixed size, so any thread count gives the same bits. */
void rs_ann_search(const struct rs_ann *a, const float *queries, size_t nq, size_t k,
                   const struct rs_ann_search_opts *o, const struct rs_knn_filter *f, int64_t *ids,
                   float *scores, size_t *counts);

/* Exact top-k of the queries over the vectors the index keeps (rs_knn_search
 * on them; item indices as rs_ann_search's): the ground truth that tuning
 * nprobe and rerank measures recall against. */
void rs_ann_exact(const struct rs_ann *a, const float *queries, size_t nq, size_t k, int threads, int64_t *ids,
                  float *scores, size_t *counts);

#endif
