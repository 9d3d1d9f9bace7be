/* config.c - JSON loading with positioned errors; typed getters with the
 * JSON path in their messages. */
#include "io/config.h"
#include "core/err.h"
#include "io/io.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONFIG (64u << 20)
#define SHOWN 48 /* bytes of a wrong value quoted in a message */

/* jansson takes a raw NUL for the end of the text ("near end of file"):
 * name it where it is, as the text readers do. */
static int nul_error(const char *text, const char *nul, const char *name)
{
    int line = 1;
    const char *bol = text;
    for (const char *p = text; p < nul; p++)
        if (*p == '\n')
            line++, bol = p + 1;
    return rs_err_set(RS_ERR_FORMAT, "'%s' line %d column %d: NUL byte in text input", name, line,
                      (int)(nul - bol) + 1);
}

int rs_config_parse(json_t **out, const char *text, size_t len, const char *name)
{
    const char *nul = memchr(text, '\0', len);
    *out = NULL;
    if (nul)
        return nul_error(text, nul, name);
    json_error_t e;
    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    if (!*out)
        return rs_err_set(RS_ERR_FORMAT, "'%s' line %d column %d: %s", name, e.line, e.column, e.text);
    return 0;
}

int rs_config_load(json_t **out, const char *path)
{
    struct rs_reader *r;
    int rc = rs_reader_open(&r, path);
    if (rc < 0)
        return rc;
    size_t len = 0, cap = 1 << 16;
    char *text = xmalloc(cap);
    ssize_t got;
    while ((got = rs_reader_read(r, text + len, cap - len)) > 0) {
        len += (size_t)got;
        if (len == cap) {
            if (cap >= MAX_CONFIG) {
                got = rs_err_set(RS_ERR_FORMAT, "'%s': larger than %u MiB", path, MAX_CONFIG >> 20);
                break;
            }
            cap *= 2;
            text = xrealloc(text, cap);
        }
    }
    rc = got < 0 ? (int)got : rs_config_parse(out, text, len, rs_reader_name(r));
    free(text);
    rs_reader_close(r);
    return rc;
}

/* ---- where a value is ---- */

void rs_cfg_root(struct rs_cfg *c, const json_t *v, const char *file)
{
    c->v = v;
    c->file = file;
    c->path[0] = '\0';
}

/* A path cut at RS_CFG_PATH_MAX ends in "..." (the message stays readable). */
static void mark_cut(char *dst, int n)
{
    if (n >= RS_CFG_PATH_MAX)
        memcpy(dst + RS_CFG_PATH_MAX - 4, "...", 4);
}

/* path.key, or key at the top. */
static void join(char *dst, const char *path, const char *key)
{
    mark_cut(dst, snprintf(dst, RS_CFG_PATH_MAX, "%s%s%s", path, *path ? "." : "", key));
}

void rs_cfg_member(struct rs_cfg *out, const struct rs_cfg *c, const char *key)
{
    char path[RS_CFG_PATH_MAX];
    join(path, c->path, key);
    out->v = json_is_object(c->v) ? json_object_get(c->v, key) : NULL;
    out->file = c->file;
    memcpy(out->path, path, sizeof path);
}

void rs_cfg_elem(struct rs_cfg *out, const struct rs_cfg *c, size_t i)
{
    char path[RS_CFG_PATH_MAX];
    mark_cut(path, snprintf(path, sizeof path, "%s[%zu]", c->path, i));
    out->v = json_is_array(c->v) ? json_array_get(c->v, i) : NULL;
    out->file = c->file;
    memcpy(out->path, path, sizeof path);
}

int rs_cfg_fail(const struct rs_cfg *c, const char *key, const char *fmt, ...)
{
    char path[RS_CFG_PATH_MAX], msg[512];
    if (key)
        join(path, c->path, key);
    else
        snprintf(path, sizeof path, "%s", *c->path ? c->path : "top level");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rs_err_set(RS_ERR_FORMAT, "'%s': %s: %s", c->file, path, msg);
}

/* ---- typed getters ---- */

static const json_t *value(const struct rs_cfg *c, const char *key)
{
    if (!key)
        return c->v;
    return json_is_object(c->v) ? json_object_get(c->v, key) : NULL;
}

/* "expected WANT, got V" with V as compact JSON, cut to SHOWN bytes. */
static int wrong(const struct rs_cfg *c, const char *key, const json_t *v, const char *want)
{
    if (!v)
        return rs_cfg_fail(c, key, "missing: expected %s", want);
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    int long_text = text && strlen(text) > SHOWN;
    int rc = rs_cfg_fail(c, key, "expected %s, got %.*s%s", want, SHOWN, text ? text : "?", long_text ? "..." : "");
    free(text);
    return rc;
}

int rs_cfg_expected(const struct rs_cfg *c, const char *key, const char *want)
{
    return wrong(c, key, value(c, key), want);
}

int rs_cfg_int(const struct rs_cfg *c, const char *key, long long def, long long min, long long max,
               long long *out)
{
    const json_t *v = value(c, key);
    json_int_t x = json_integer_value(v); /* 0 unless an integer */
    if (!v || (json_is_integer(v) && x >= min && x <= max)) {
        *out = v ? x : def;
        return 0;
    }
    char want[96];
    if (max == LLONG_MAX)
        snprintf(want, sizeof want, "an integer >= %lld", min);
    else
        snprintf(want, sizeof want, "an integer in %lld..%lld", min, max);
    return wrong(c, key, v, want);
}

int rs_cfg_num(const struct rs_cfg *c, const char *key, double def, double min, double max, double *out)
{
    const json_t *v = value(c, key);
    double x = json_number_value(v); /* 0 unless a number */
    if (!v || (json_is_number(v) && x >= min && x <= max)) {
        *out = v ? x : def;
        return 0;
    }
    char want[96];
    snprintf(want, sizeof want, "a number in %g..%g", min, max);
    return wrong(c, key, v, want);
}

int rs_cfg_bool(const struct rs_cfg *c, const char *key, int def, int *out)
{
    const json_t *v = value(c, key);
    if (v && !json_is_boolean(v))
        return wrong(c, key, v, "true or false");
    *out = v ? json_is_true(v) : def;
    return 0;
}

int rs_cfg_str(const struct rs_cfg *c, const char *key, const char *def, const char **out)
{
    const json_t *v = value(c, key);
    if (v && (!json_is_string(v) || !*json_string_value(v)))
        return wrong(c, key, v, "a non-empty string");
    *out = v ? json_string_value(v) : def;
    return 0;
}

/* Index of key among the space-separated words of list, or -1. */
static int word_index(const char *list, const char *key)
{
    size_t n = strlen(key);
    int i = 0;
    for (const char *p = list; *p; i++) {
        size_t len = strcspn(p, " ");
        if (len == n && n > 0 && memcmp(p, key, n) == 0)
            return i;
        p += len + (p[len] == ' ');
    }
    return -1;
}

/* "one of a, b, c" from the words "a b c". */
static void one_of(char *dst, size_t cap, const char *words)
{
    size_t k = (size_t)snprintf(dst, cap, "one of ");
    for (const char *p = words; *p && k + 3 < cap; p++)
        k += (size_t)snprintf(dst + k, cap - k, *p == ' ' ? ", " : "%c", *p);
}

int rs_cfg_word(const struct rs_cfg *c, const char *key, const char *words, int def, int *out)
{
    const json_t *v = value(c, key);
    char want[256];
    one_of(want, sizeof want, words);
    if (!v && def < 0)
        return wrong(c, key, v, want);
    int i = !v ? def : json_is_string(v) ? word_index(words, json_string_value(v)) : -1;
    if (v && i < 0)
        return wrong(c, key, v, want);
    *out = i;
    return 0;
}

static int container(const struct rs_cfg *c, const char *key, int required, struct rs_cfg *out, json_type type,
                     const char *want)
{
    const json_t *v = value(c, key);
    if ((!v && required) || (v && json_typeof(v) != type))
        return wrong(c, key, v, want);
    if (key)
        rs_cfg_member(out, c, key);
    else
        *out = *c;
    return 0;
}

int rs_cfg_array(const struct rs_cfg *c, const char *key, int required, struct rs_cfg *out)
{
    return container(c, key, required, out, JSON_ARRAY, "an array");
}

int rs_cfg_object(const struct rs_cfg *c, const char *key, int required, struct rs_cfg *out)
{
    return container(c, key, required, out, JSON_OBJECT, "an object");
}

int rs_cfg_keys(const struct rs_cfg *c, const char *allowed)
{
    const char *key;
    json_t *v;
    if (!json_is_object(c->v))
        return 0;
    json_object_foreach((json_t *)c->v, key, v) {
        if (word_index(allowed, key) < 0) {
            char want[512];
            one_of(want, sizeof want, allowed);
            return rs_cfg_fail(c, NULL, "unknown key \"%.60s\" (expected %s)", key, want);
        }
    }
    return 0;
}
