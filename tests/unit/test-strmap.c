/* test-strmap.c - interning: ids are dense and stable, millions of keys. */
#include "core/strmap.h"
#include "tap.h"

#include <stdio.h>
#include <string.h>
#include <xxhash.h>

int main(void)
{
    ok(XXH3_64bits("", 0) == 0x2D06800538D394C2ULL, "XXH3-64 of the empty string (known answer)");

    struct rs_strmap *m = rs_strmap_new(0);
    int added;
    is_int(rs_strmap_put(m, "apple", 5, &added), 0, "first key gets id 0");
    ok(added, "first key reported added");
    is_int(rs_strmap_put(m, "pear", 4, &added), 1, "second key gets id 1");
    is_int(rs_strmap_put(m, "apple", 5, &added), 0, "existing key keeps its id");
    ok(!added, "existing key not reported added");
    is_int(rs_strmap_get(m, "plum", 4), -1, "absent key is -1");
    is_int(rs_strmap_get(m, "app", 3), -1, "prefix of a key is absent");
    is_int(rs_strmap_put(m, "", 0, NULL), 2, "the empty string is a key");
    is_str(rs_strmap_key(m, 1, NULL), "pear", "key of id 1");
    rs_strmap_free(m);

    size_t n = 2000000;
    m = rs_strmap_new(16);
    char key[32];
    const char *first = NULL;
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(key, sizeof key, "user_%zu", i * 7919);
        int64_t id = rs_strmap_put(m, key, (size_t)len, NULL);
        if (id != (int64_t)i) {
            ok(0, "dense id for key %zu", i);
            return done_testing();
        }
        if (i == 0)
            first = rs_strmap_key(m, 0, NULL);
    }
    is_int(rs_strmap_size(m), n, "2M distinct keys");
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(key, sizeof key, "user_%zu", i * 7919);
        bad += rs_strmap_get(m, key, (size_t)len) != (int64_t)i;
    }
    is_int(bad, 0, "every key found with its id after rehashing");
    ok(first == rs_strmap_key(m, 0, NULL), "key storage never moves");
    rs_strmap_free(m);
    rs_strmap_free(NULL);
    return done_testing();
}
