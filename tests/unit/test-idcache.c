/* test-idcache.c - the front table gives exactly rs_strmap's ids: short and
 * long keys, keys already in the map, growth, the batched API. */
#include "core/idcache.h"
#include "core/rng.h"
#include "core/strmap.h"
#include "tap.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
    struct rs_strmap *m = rs_strmap_new(16), *ref = rs_strmap_new(16);
    /* keys already in the map before the table exists */
    for (int i = 0; i < 100; i++) {
        char k[32];
        int n = snprintf(k, sizeof k, "pre%d", i);
        rs_strmap_put(m, k, (size_t)n, NULL);
        rs_strmap_put(ref, k, (size_t)n, NULL);
    }
    struct rs_idcache *c = rs_idcache_new(m);
    struct rs_rng g;
    rs_rng_init(&g, 7, 0);
    int same = 1, added_ok = 1;
    for (int i = 0; i < 200000; i++) {
        char k[64];
        uint64_t r = rs_rng_below(&g, 30000);
        /* every 7th key longer than the inline limit */
        int n = r % 7 == 0 ? snprintf(k, sizeof k, "a-rather-long-item-identifier-%llu", (unsigned long long)r)
                           : snprintf(k, sizeof k, r % 3 ? "i%llu" : "pre%llu", (unsigned long long)(r % 5000));
        int a1, a2;
        int64_t got = i % 2 ? rs_idcache_put(c, k, (size_t)n, &a1)
                            : rs_idcache_put_hashed(c, k, (size_t)n, rs_idcache_hash(k, (size_t)n), &a1);
        int64_t want = rs_strmap_put(ref, k, (size_t)n, &a2);
        same &= got == want;
        added_ok &= a1 == a2;
    }
    ok(same, "200000 mixed lookups give rs_strmap's ids");
    ok(added_ok, "'added' agrees with rs_strmap");
    is_int(rs_strmap_size(m), rs_strmap_size(ref), "the map holds the same keys");
    ok(rs_strmap_size(m) > 4096, "the table grew past its initial size (%zu keys)", rs_strmap_size(m));

    /* a key added to the map behind the table's back is still found */
    int64_t id = rs_strmap_put(m, "behind", 6, NULL);
    int added = -1;
    is_int(rs_idcache_put(c, "behind", 6, &added), id, "key added to the map directly: same id");
    is_int(added, 0, "and not added again");
    int64_t empty = rs_idcache_put(c, "", 0, &added);
    is_int(empty, rs_strmap_size(m) - 1, "the empty key is a key");
    is_int(added, 1, "the empty key was new");
    rs_idcache_prefetch(c, rs_idcache_hash("pre1", 4));
    is_int(rs_idcache_put(c, "pre1", 4, NULL), 1, "preloaded key keeps its id; added may be NULL");
    char k19[20] = "0123456789abcdefghi", k20[21] = "0123456789abcdefghij";
    int64_t i19 = rs_idcache_put(c, k19, 19, NULL), i20 = rs_idcache_put(c, k20, 20, NULL);
    ok(i19 != i20, "19- and 20-byte keys sharing a prefix differ");
    is_int(rs_idcache_put(c, k19, 19, NULL), i19, "19-byte key found inline");
    is_int(rs_idcache_put(c, k20, 20, NULL), i20, "20-byte key found through the map");
    rs_idcache_free(c);
    rs_idcache_free(NULL);
    rs_strmap_free(m);
    rs_strmap_free(ref);
    return done_testing();
}
