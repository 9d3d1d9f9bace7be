/* test-config.c - JSON configs and their positioned errors. */
#include "io/config.h"
#include "core/err.h"
#include "tap.h"

#include <string.h>

int main(void)
{
    json_t *j;
    const char *good = "{\"user_embedding_layers\": {\"user_id\": {\"type\": \"string\", \"embedding_size\": 32}}}";
    is_int(rs_config_parse(&j, good, strlen(good), "cfg.json"), 0, "valid config");
    json_t *size = json_object_get(json_object_get(json_object_get(j, "user_embedding_layers"), "user_id"),
                                   "embedding_size");
    is_int(json_integer_value(size), 32, "nested value");
    json_decref(j);
    const char *bad = "{\n  \"a\": 1,\n  \"b\": }\n";
    is_int(rs_config_parse(&j, bad, strlen(bad), "cfg.json"), RS_ERR_FORMAT, "syntax error");
    ok(strstr(rs_err_msg(), "'cfg.json' line 3 column"), "message has line and column: %s", rs_err_msg());
    const char *dup = "{\"a\": 1, \"a\": 2}";
    ok(rs_config_parse(&j, dup, strlen(dup), "d.json") < 0, "duplicate keys rejected: %s", rs_err_msg());
    ok(rs_config_load(&j, "/nonexistent.json") == RS_ERR_IO, "missing file");
    return done_testing();
}
