/* test-config.c - JSON configs, their positioned syntax errors, and the
 * typed getters: each one's wrong type, out of range, default, and the JSON
 * path in its messages. */
#include "io/config.h"
#include "core/err.h"
#include "tap.h"

#include <limits.h>
#include <string.h>

static void loading(void)
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
    /* JSON has no NaN or Inf, and the parser refuses what overflows: no
     * config number reaches a getter non-finite or clamped. */
    const char *nums[][2] = { { "{\"lr\":\n 1e999}", "line 2 column 6: real number overflow" },
                              { "{\"lr\": -1e400}", "real number overflow" },
                              { "{\"n\": 99999999999999999999}", "too big integer" },
                              { "{\"lr\": NaN}", "invalid token" },
                              { "{\"lr\": Infinity}", "invalid token" } };
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++)
        ok(rs_config_parse(&j, nums[i][0], strlen(nums[i][0]), "n.json") == RS_ERR_FORMAT &&
               strstr(rs_err_msg(), "'n.json' line") && strstr(rs_err_msg(), nums[i][1]),
           "refused: %s", rs_err_msg());
}

/* The message of the last error is exactly want. */
static void says(const char *want)
{
    is_str(rs_err_msg(), want, "message");
}

static const char *DOC = "{\"n\": 64, \"s\": \"64\", \"r\": 64.5, \"b\": true, \"str\": \"abc\", \"empty\": \"\","
                         " \"big\": 2000, \"features\": [{\"embedding_size\": 8}, {\"embedding_size\": \"8\"}],"
                         " \"obj\": {\"pooling\": \"max\", \"x\": 1}}";

static void integers(const struct rs_cfg *root)
{
    long long v = 0;
    is_int(rs_cfg_int(root, "n", 1, 1, 1024, &v), 0, "int: read");
    is_int(v, 64, "int: value");
    is_int(rs_cfg_int(root, "absent", 7, 1, 1024, &v), 0, "int: absent");
    is_int(v, 7, "int: absent takes the default");
    is_int(rs_cfg_int(root, "s", 1, 1, 1024, &v), RS_ERR_FORMAT, "int: a string is refused");
    says("'c.json': s: expected an integer in 1..1024, got \"64\"");
    is_int(rs_cfg_int(root, "r", 1, 1, 1024, &v), RS_ERR_FORMAT, "int: a non-integer number is refused");
    says("'c.json': r: expected an integer in 1..1024, got 64.5");
    is_int(rs_cfg_int(root, "big", 1, 1, 1024, &v), RS_ERR_FORMAT, "int: out of range");
    says("'c.json': big: expected an integer in 1..1024, got 2000");
    is_int(rs_cfg_int(root, "b", 1, 0, LLONG_MAX, &v), RS_ERR_FORMAT, "int: a bool is refused");
    says("'c.json': b: expected an integer >= 0, got true");
    struct rs_cfg arr, e;
    is_int(rs_cfg_array(root, "features", 1, &arr), 0, "array: read");
    rs_cfg_elem(&e, &arr, 0);
    is_int(rs_cfg_int(&e, "embedding_size", 1, 1, 64, &v), 0, "element's member: read");
    is_int(v, 8, "element's member: value");
    rs_cfg_elem(&e, &arr, 1);
    is_int(rs_cfg_int(&e, "embedding_size", 1, 1, 64, &v), RS_ERR_FORMAT, "element's member: a string");
    says("'c.json': features[1].embedding_size: expected an integer in 1..64, got \"8\"");
    rs_cfg_elem(&e, &arr, 0);
    is_int(rs_cfg_int(&e, NULL, 1, 1, 64, &v), RS_ERR_FORMAT, "key NULL reads the value itself");
    says("'c.json': features[0]: expected an integer in 1..64, got {\"embedding_size\":8}");
    rs_cfg_elem(&e, &arr, 5);
    is_int(rs_cfg_int(&e, NULL, 3, 1, 64, &v), 0, "past the end of an array: absent");
    is_int(v, 3, "past the end: the default");
}

static void numbers_bools_strings(const struct rs_cfg *root)
{
    double x = 0;
    is_int(rs_cfg_num(root, "r", 0, 0, 100, &x), 0, "num: a real");
    is_near(x, 64.5, 0, "num: value");
    is_int(rs_cfg_num(root, "n", 0, 0, 100, &x), 0, "num: an integer is a number");
    is_near(x, 64, 0, "num: integer value");
    is_int(rs_cfg_num(root, "absent", 0.25, 0, 1, &x), 0, "num: absent");
    is_near(x, 0.25, 0, "num: default");
    is_int(rs_cfg_num(root, "r", 0, 0, 1, &x), RS_ERR_FORMAT, "num: out of range");
    says("'c.json': r: expected a number in 0..1, got 64.5");
    is_int(rs_cfg_num(root, "s", 0, 0, 100, &x), RS_ERR_FORMAT, "num: a string");
    says("'c.json': s: expected a number in 0..100, got \"64\"");

    int b = 5;
    is_int(rs_cfg_bool(root, "b", 0, &b), 0, "bool: read");
    is_int(b, 1, "bool: true");
    is_int(rs_cfg_bool(root, "absent", -1, &b), 0, "bool: absent");
    is_int(b, -1, "bool: any default, here -1 for 'not given'");
    is_int(rs_cfg_bool(root, "n", 0, &b), RS_ERR_FORMAT, "bool: a number is refused");
    says("'c.json': n: expected true or false, got 64");

    const char *s = NULL;
    is_int(rs_cfg_str(root, "str", NULL, &s), 0, "str: read");
    is_str(s, "abc", "str: value");
    is_int(rs_cfg_str(root, "absent", "dflt", &s), 0, "str: absent");
    is_str(s, "dflt", "str: default");
    is_int(rs_cfg_str(root, "empty", NULL, &s), RS_ERR_FORMAT, "str: empty is refused");
    says("'c.json': empty: expected a non-empty string, got \"\"");
    is_int(rs_cfg_str(root, "n", NULL, &s), RS_ERR_FORMAT, "str: a number is refused");
    says("'c.json': n: expected a non-empty string, got 64");
}

static void words_and_keys(const struct rs_cfg *root)
{
    struct rs_cfg obj;
    int w = 9;
    is_int(rs_cfg_object(root, "obj", 1, &obj), 0, "object: read");
    is_str(obj.path, "obj", "object: its path");
    is_int(rs_cfg_word(&obj, "pooling", "mean max attention", 0, &w), 0, "word: read");
    is_int(w, 1, "word: its index in the list");
    is_int(rs_cfg_word(&obj, "absent", "mean attention", 1, &w), 0, "word: absent");
    is_int(w, 1, "word: default");
    is_int(rs_cfg_word(&obj, "pooling", "mean attention", 0, &w), RS_ERR_FORMAT, "word: not in the list");
    says("'c.json': obj.pooling: expected one of mean, attention, got \"max\"");
    is_int(rs_cfg_word(&obj, "type", "string int", -1, &w), RS_ERR_FORMAT, "word: required and missing");
    says("'c.json': obj.type: missing: expected one of string, int");
    is_int(rs_cfg_word(&obj, "x", "1 2", 0, &w), RS_ERR_FORMAT, "word: a number is not a word");
    says("'c.json': obj.x: expected one of 1, 2, got 1");

    is_int(rs_cfg_keys(&obj, "pooling x"), 0, "keys: all allowed");
    is_int(rs_cfg_keys(&obj, "pooling"), RS_ERR_FORMAT, "keys: an unknown key");
    says("'c.json': obj: unknown key \"x\" (expected one of pooling)");
    is_int(rs_cfg_keys(&obj, "pool x"), RS_ERR_FORMAT, "keys: a prefix of a word does not match");
    is_int(rs_cfg_keys(root, "n s r b str empty big features obj"), 0, "keys: the top level");
    is_int(rs_cfg_keys(root, "n s"), RS_ERR_FORMAT, "keys: the top level, unknown");
    ok(strstr(rs_err_msg(), "'c.json': top level: unknown key \"r\"") != NULL, "%s", rs_err_msg());

    struct rs_cfg out;
    is_int(rs_cfg_array(root, "obj", 0, &out), RS_ERR_FORMAT, "array: an object is refused");
    says("'c.json': obj: expected an array, got {\"pooling\":\"max\",\"x\":1}");
    is_int(rs_cfg_object(root, "absent", 1, &out), RS_ERR_FORMAT, "object: required and missing");
    says("'c.json': absent: missing: expected an object");
    is_int(rs_cfg_object(root, "absent", 0, &out), 0, "object: optional and missing");
    ok(out.v == NULL, "object: optional and missing gives no value");
    is_int(rs_cfg_expected(root, "big", "an even number"), RS_ERR_FORMAT, "a constraint of the caller's");
    says("'c.json': big: expected an even number, got 2000");
    is_int(rs_cfg_fail(&obj, "x", "too %s", "odd"), RS_ERR_FORMAT, "any other message");
    says("'c.json': obj.x: too odd");
}

static void long_values(void)
{
    json_t *j;
    const char *text = "{\"v\": \"0123456789012345678901234567890123456789012345678901234567890123456789\"}";
    is_int(rs_config_parse(&j, text, strlen(text), "l.json"), 0, "long value: parsed");
    struct rs_cfg root;
    long long v;
    rs_cfg_root(&root, j, "l.json");
    is_int(rs_cfg_int(&root, "v", 0, 0, 1, &v), RS_ERR_FORMAT, "long value refused");
    says("'l.json': v: expected an integer in 0..1, got \"01234567890123456789012345678901234567890123456...");
    json_decref(j);
}

int main(void)
{
    loading();
    json_t *j;
    is_int(rs_config_parse(&j, DOC, strlen(DOC), "c.json"), 0, "getters' document parsed");
    struct rs_cfg root;
    rs_cfg_root(&root, j, "c.json");
    integers(&root);
    numbers_bools_strings(&root);
    words_and_keys(&root);
    json_decref(j);
    long_values();
    return done_testing();
}
