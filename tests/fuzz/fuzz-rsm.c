/* fuzz-rsm.c - RSM model files (schemas/rsm.md) through rs_rsm_load, then as
 * a two-tower model (rs_tower_from_rsm) and an rs-rank model
 * (rs_rank_model_load). The checksums would stop almost every mutation at
 * the door, so an input whose lengths are consistent gets both checksums
 * recomputed first: the fuzzer then explores the header and the sections.
 * An input starting with "!" skips the fix-up (corrupt files stay corrupt). */
#include "core/err.h"
#include "fuzz.h"
#include "model/rank.h"
#include "io/rsm.h"
#include "model/tower.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* Recomputes the header and data checksums in place when the layout fits. */
static void fix_checksums(uint8_t *b, size_t n)
{
    if (n < 32 || memcmp(b, RS_RSM_SIGNATURE, 8) != 0)
        return;
    uint64_t hlen = get_u64(b + 16), dlen = get_u64(b + 24);
    if (hlen > n || dlen > n)
        return;
    size_t hend = 32 + (size_t)hlen, d = (hend + 8 + 63) / 64 * 64;
    if (hend + 8 > n)
        return;
    put_u64(b + hend, XXH3_64bits(b, hend));
    if (d + dlen + 8 <= n)
        put_u64(b + d + dlen, XXH3_64bits(b + d, (size_t)dlen));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = fuzz_path_fixed(data, size, fix_checksums);
    struct rs_rsm *m;
    if (!p || rs_rsm_load(&m, p) < 0)
        return 0;
    rs_rsm_header(m);
    for (size_t i = 0; i < rs_rsm_ntensors(m); i++)
        rs_rsm_tensor_at(m, i);
    struct rs_tower t;
    memset(&t, 0, sizeof t);
    rs_tower_from_rsm(&t, m);
    rs_tower_free(&t);
    rs_rsm_free(m);
    struct rs_rank_model r;
    if (rs_rank_model_load(&r, p) == 0)
        rs_rank_model_free(&r);
    return 0;
}
