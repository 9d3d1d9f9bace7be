/* fuzz-featcfg.c - the feature configs beyond JSON syntax: the same document
 * through the two-tower parser (rs_tower_parse) and the rs-rank parser
 * (rs_rank_config). */
#include "core/err.h"
#include <stdint.h>
#include "model/rank.h"
#include "model/tower.h"

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!j)
        return 0;
    struct rs_tower t;
    rs_tower_parse(&t, j, 0, "fuzz");
    rs_tower_free(&t);
    struct rs_rank_model m;
    rs_rank_config(&m, j, "fuzz");
    rs_rank_model_free(&m);
    json_decref(j);
    return 0;
}
