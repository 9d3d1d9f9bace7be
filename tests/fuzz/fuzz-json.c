/* fuzz-json.c - JSON configs through rs_config_load. */
#include "io/config.h"
#include "core/err.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = fuzz_path(data, size);
    json_t *j;
    if (p && rs_config_load(&j, p) == 0)
        json_decref(j);
    return 0;
}
