/* fuzz-vocab.c - vocabulary files (schemas/vocab.md) through rs_vocab_load,
 * then a few lookups on whatever loaded. */
#include "core/err.h"
#include "fuzz.h"
#include "io/vocab.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = fuzz_path(data, size);
    struct rs_vocab *v;
    if (!p || rs_vocab_load(&v, p) < 0)
        return 0;
    size_t n = rs_vocab_size(v), len;
    for (uint64_t id = 0; id <= n + 1; id++) {
        const char *tok = rs_vocab_token(v, id, &len);
        if (tok && rs_vocab_id(v, tok, len, 0) != id)
            __builtin_trap(); /* a loaded vocabulary must map its tokens back to their ids */
        rs_vocab_count(v, id);
    }
    rs_vocab_id(v, "x", 1, 7);
    rs_vocab_free(v);
    return 0;
}
