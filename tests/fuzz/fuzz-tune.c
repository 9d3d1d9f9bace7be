/* fuzz-tune.c - rs-tune's search space (rs_space_parse), then a few trials
 * of every sampler over a space it accepted. */
#include "tune/space.h"
#include "tune/study.h"

#include <math.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rs_space sp;
    if (rs_space_parse(&sp, (const char *)data, size, "fuzz") != 0)
        return 0;
    for (int sampler = RS_SAMPLER_RANDOM; sampler <= RS_SAMPLER_ASHA; sampler++) {
        struct rs_study st;
        if (sampler == RS_SAMPLER_ASHA && !sp.budget.name)
            continue;
        rs_study_init(&st, &sp, (enum rs_sampler)sampler, 1, 1);
        st.tpe.startup = 1;
        for (int i = 0; i < 4 && rs_study_next(&st, st.n) == 0; i++) {
            st.t[i].state = RS_TRIAL_DONE;
            st.t[i].value = isnan(st.t[i].x[0]) ? 0 : st.t[i].x[0];
            rs_study_budget(&st, (size_t)i);
        }
        rs_study_free(&st);
    }
    rs_space_free(&sp);
    return 0;
}
