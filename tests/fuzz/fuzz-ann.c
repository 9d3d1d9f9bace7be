/* fuzz-ann.c - the IVF index file (schemas/ann-index.md, int8 and pq4)
 * through rs_ann_open, then a search probing every partition. As in
 * fuzz-rsm, an input whose header holds its own length gets both checksums
 * recomputed first, so mutations reach the layout checks and the scan; an
 * input starting with "!" skips the fix-up (corrupt files stay corrupt). */
#include "core/err.h"
#include "fuzz.h"
#include "index/ann.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

enum { HEADER = 128, FILE_SIZE = 104, PAYLOAD_XXH3 = 112, HEADER_XXH3 = 120 };

static void fix_checksums(uint8_t *b, size_t n)
{
    if (n < HEADER || memcmp(b, "\x89RSX\r\n\x1a\n", 8) != 0 || get_u64(b + FILE_SIZE) != n)
        return;
    put_u64(b + PAYLOAD_XXH3, XXH3_64bits(b + HEADER, n - HEADER));
    put_u64(b + HEADER_XXH3, XXH3_64bits(b, HEADER_XXH3));
}

/* Three queries (ones, alternating signs, a ramp), top 5 over every
 * partition: every code, offset and id of a probed list is read. */
static void search_all(const struct rs_ann *a)
{
    enum { NQ = 3, K = 5 };
    size_t d = rs_ann_dims(a);
    float *q = malloc(NQ * d * sizeof *q), scores[NQ * K];
    int64_t ids[NQ * K];
    size_t counts[NQ];
    for (size_t j = 0; j < d; j++) {
        q[j] = 1;
        q[d + j] = j % 2 ? -1 : 1;
        q[2 * d + j] = (float)j / (float)d;
    }
    struct rs_ann_search_opts o = { .nprobe = rs_ann_nlist(a), .rerank = 20, .threads = 1 };
    rs_ann_search(a, q, NQ, K, &o, NULL, ids, scores, counts);
    for (size_t i = 0; i < NQ; i++)
        for (size_t r = 0; r < counts[i]; r++) {
            size_t len;
            RS_ASSERT(ids[i * K + r] >= 0 && (size_t)ids[i * K + r] < rs_ann_size(a));
            rs_ann_id(a, (size_t)ids[i * K + r], &len);
        }
    free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = fuzz_path_fixed(data, size, fix_checksums);
    struct rs_ann *a;
    if (!p || rs_ann_open(&a, p) < 0)
        return 0;
    if (rs_ann_dims(a) <= 4096)
        search_all(a);
    rs_ann_close(a);
    return 0;
}
