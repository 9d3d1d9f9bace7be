/* fuzz-partial.c - rs-metrics partials (schemas/metrics.md, "Partials")
 * through rs_eval_merge_partial, then the merged figures of whatever was
 * accepted (a shard 0/1 partial is complete on its own). */
#include "core/err.h"
#include "eval/eval.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t ks[] = { 5, 20 };
    struct rs_eval_opts o = { .user_col = "user_id", .item_col = "item_id", .rank_col = "rank",
                              .score_col = "score", .ks = ks, .nk = 2 };
    struct rs_eval *e = rs_eval_new(&o);
    const char *p = fuzz_path(data, size);
    if (p && rs_eval_merge_partial(e, p) == 0 && rs_eval_merge_finish(e) == 0) {
        for (size_t m = 0; m < rs_eval_nmodels(e); m++)
            for (size_t s = 0; s < rs_eval_nsegments(e); s++) {
                size_t n;
                rs_eval_summary(e, m, s, &n);
            }
    }
    rs_eval_free(e);
    return 0;
}
