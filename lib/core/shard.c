/* shard.c - the row-to-shard hash and the "I/N" syntax (shard.h). */
#include "core/shard.h"

#include "core/err.h"
#include "core/num.h"

#include <string.h>
#include <xxhash.h>

uint32_t rs_shard_of(const char *key, size_t len, uint32_t count)
{
    return (uint32_t)(XXH3_64bits(key, len) % count);
}

int rs_shard_has(const struct rs_shard *s, const char *key, size_t len)
{
    return s->count <= 1 || rs_shard_of(key, len, s->count) == s->index;
}

/* A decimal number of 1 to 10 digits, nothing else (no sign, space, 0x). */
static int parse_part(const char *p, size_t n, int64_t *v)
{
    if (n == 0 || n > 10 || strspn(p, "0123456789") < n)
        return RS_ERR_USAGE;
    return rs_num_i64(p, n, v) < 0 ? RS_ERR_USAGE : 0;
}

int rs_shard_parse(struct rs_shard *s, const char *text)
{
    const char *slash = strchr(text, '/');
    int64_t i, n;
    if (!slash || parse_part(text, (size_t)(slash - text), &i) < 0 ||
        parse_part(slash + 1, strlen(slash + 1), &n) < 0)
        return rs_err_set(RS_ERR_USAGE, "invalid --shard '%s': expected I/N, two decimal numbers", text);
    if (n < 1 || n > INT32_MAX + 1LL)
        return rs_err_set(RS_ERR_USAGE, "invalid --shard '%s': N must be 1 to 2147483648", text);
    if (i >= n)
        return rs_err_set(RS_ERR_USAGE, "invalid --shard '%s': I must be 0 to N-1 (%lld)", text, (long long)n - 1);
    s->index = (uint32_t)i;
    s->count = (uint32_t)n;
    return 0;
}
