/* config.c - JSON loading with positioned errors. */
#include "io/config.h"
#include "core/err.h"
#include "io/io.h"

#include <stdlib.h>
#include <string.h>

#define MAX_CONFIG (64u << 20)

int rs_config_parse(json_t **out, const char *text, size_t len, const char *name)
{
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

int rs_config_word_in(const char *list, const char *key)
{
    size_t n = strlen(key);
    if (n == 0) /* strstr would find "" everywhere and never advance */
        return 0;
    for (const char *p = list; (p = strstr(p, key)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}
