/* fuzz-feedback.c - POST /feedback bodies through rs_fb_check, against two
 * lists served (the request ids of the seed corpus). */
#include "serve/feedback.h"
#include "core/err.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct rs_served *t;
    if (!t) { /* one table across inputs, as a server keeps it: marks accumulate */
        static const char *const a[] = { "i1", "i2", "i3" }, *const b[] = { "i9" };
        t = rs_served_new(4);
        rs_served_add(t, "0123456789abcdef0123456789abcdef", "u1", "control", a, 3);
        rs_served_add(t, "fedcba9876543210fedcba9876543210", "u2", "new", b, 1);
    }
    struct rs_fb_batch batch;
    if (rs_fb_check(t, (const char *)data, size, 16, 1700000000, &batch) == 0) {
        if (batch.n == 0 || batch.rows[batch.len - 1] != '\n')
            abort();
        rs_fb_undo(t, &batch);
    }
    rs_fb_batch_free(&batch);
    return 0;
}
