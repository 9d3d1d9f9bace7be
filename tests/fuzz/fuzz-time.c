/* fuzz-time.c - a table's timestamp in each unit (core/timeparse.h): whatever
 * the bytes, an accepted time lies in [RS_TIME_MIN, RS_TIME_MAX) and says
 * the unit it was read in; a refusal says whether the text was a time. */
#include "core/err.h"
#include "core/timeparse.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    for (int u = RS_TIME_AUTO; u <= RS_TIME_ISO; u++) {
        enum rs_time_unit read;
        int64_t t = 0;
        int rc = rs_time_parse_unit(s, size, (enum rs_time_unit)u, &read, &t);
        if (rc == 0 && (t < RS_TIME_MIN || t >= RS_TIME_MAX || read == RS_TIME_AUTO))
            __builtin_trap();
        if (rc == 0 && u != RS_TIME_AUTO && read != (enum rs_time_unit)u)
            __builtin_trap();
    }
    return 0;
}
