/* test-shard.c - the row-to-shard hash and the I/N syntax (core/shard.h).
 * The hashes below are xxhsum's (`printf %s u0 | xxhsum -H3 -`, xxHash
 * 0.8.1), an implementation this library does not share: the shard of a
 * key must never change, whatever machine or version computes it. */
#include "core/err.h"
#include "core/shard.h"
#include "tap.h"

#include <string.h>

static const struct {
    const char *key;
    unsigned long long xxh3;
} fixed[] = {
    { "u0", 0x344d1d17a79c628fULL },        { "u1", 0x9dc02546854d5df1ULL },
    { "i42", 0xc55f260c193dd5f1ULL },       { "user_12345", 0x4d01dec760092894ULL },
    { "", 0x2d06800538d394c2ULL },
};

static void refused(const char *text, const char *msg)
{
    struct rs_shard s = { 7, 9 };
    int rc = rs_shard_parse(&s, text);
    ok(rc == RS_ERR_USAGE && s.index == 7 && s.count == 9 && strstr(rs_err_msg(), msg), "refuses '%s': %s", text,
       rs_err_msg());
}

int main(void)
{
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        for (uint32_t n = 1; n <= 1000; n = n * 7 + 2) {
            const char *k = fixed[i].key;
            uint32_t want = (uint32_t)(fixed[i].xxh3 % n);
            is_int(rs_shard_of(k, strlen(k), n), want, "'%s' is in shard %u of %u", k, want, n);
        }
    struct rs_shard s;
    ok(rs_shard_parse(&s, "2/3") == 0 && s.index == 2 && s.count == 3, "2/3");
    ok(rs_shard_parse(&s, "0/1") == 0 && s.index == 0 && s.count == 1, "0/1");
    ok(rs_shard_parse(&s, "0/2147483648") == 0 && s.count == 2147483648u, "the largest N");
    ok(rs_shard_has(&s, "u0", 2) == (rs_shard_of("u0", 2, s.count) == 0), "rs_shard_has follows rs_shard_of");
    s = (struct rs_shard){ 0, 1 };
    ok(rs_shard_has(&s, "anything", 8), "one shard holds every key");
    refused("3/3", "I must be 0 to N-1");
    refused("0/0", "N must be 1");
    refused("0/2147483649", "N must be 1");
    const char *bad[] = { "", "1", "/", "1/", "/2", "-1/2", "+1/2", "1/+2", " 1/2", "1/2 ", "1//2", "1/2/3",
                          "0x1/2", "1.0/2", "a/b", "1/2x", "99999999999/1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refused(bad[i], "expected I/N");
    return done_testing();
}
