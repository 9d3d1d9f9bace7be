/* fuzz-experiment.c - rs-serve's experiment files through rs_exp_read, and
 * the assignment of a few users when one is read. */
#include "serve/experiment.h"
#include "core/err.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = fuzz_path(data, size);
    struct rs_reco_opts base = { .items_emb = "items.rsb" };
    struct rs_exp e;
    if (p && rs_exp_read(&e, p, &base) == 0) {
        static const char *const users[] = { "", "u1", "u2", "\xff" };
        for (size_t u = 0; u < 4; u++)
            if (rs_exp_assign(&e, users[u]) >= e.narms)
                abort();
    }
    if (p)
        rs_exp_free(&e);
    return 0;
}
