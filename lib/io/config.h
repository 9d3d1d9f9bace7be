/* config.h - JSON documents (feature configs, model headers) via jansson,
 * read through rs_reader so a .zst config works too, and the one set of
 * typed getters every config reader uses.
 *
 * A getter reads a member of a JSON value and checks its type and range; a
 * value that is absent takes the caller's default. Every error names the
 * file, the JSON path and what was expected against what was found:
 *   'rank.json': categorical[2].embedding_size: expected an integer in 1..1024, got "64"
 */
#ifndef RS_CONFIG_H
#define RS_CONFIG_H

#include <jansson.h>

/* Parses path into *out (caller json_decref's it). Syntax errors name the
 * file, line and column. */
int rs_config_load(json_t **out, const char *path);
/* Parses a JSON text held in memory; name is used in messages. */
int rs_config_parse(json_t **out, const char *text, size_t len, const char *name);

#define RS_CFG_PATH_MAX 256

/* A value inside a config and where it is, for messages. */
struct rs_cfg {
    const json_t *v;            /* NULL: absent */
    const char *file;           /* the config's name in messages */
    char path[RS_CFG_PATH_MAX]; /* "" at the top, "numeric[2]", "item_embedding_layers.title" */
};

/* The whole document v of file. */
void rs_cfg_root(struct rs_cfg *c, const json_t *v, const char *file);
/* Member key of c's object (absent, or c not an object: out->v is NULL). */
void rs_cfg_member(struct rs_cfg *out, const struct rs_cfg *c, const char *key);
/* Element i of c's array (out->v NULL past the end). */
void rs_cfg_elem(struct rs_cfg *out, const struct rs_cfg *c, size_t i);

/* The getters read member key of c's object, or c itself when key is NULL.
 * Each returns 0, or RS_ERR_FORMAT with a message naming file and path. */

/* A JSON integer (not "64", not 64.5) in [min, max]; def when absent. */
int rs_cfg_int(const struct rs_cfg *c, const char *key, long long def, long long min, long long max,
               long long *out);
/* A JSON number (integer or real) in [min, max]; def when absent. */
int rs_cfg_num(const struct rs_cfg *c, const char *key, double def, double min, double max, double *out);
/* true or false; def (which may be any int, e.g. -1 for "not given") when absent. */
int rs_cfg_bool(const struct rs_cfg *c, const char *key, int def, int *out);
/* A non-empty string (pointing into the JSON); def when absent. */
int rs_cfg_str(const struct rs_cfg *c, const char *key, const char *def, const char **out);
/* One of the space-separated words: *out is its index; def when absent, and
 * a missing member is an error when def < 0. */
int rs_cfg_word(const struct rs_cfg *c, const char *key, const char *words, int def, int *out);
/* An array / an object, as out (out->v NULL when absent, an error when
 * absent and required). */
int rs_cfg_array(const struct rs_cfg *c, const char *key, int required, struct rs_cfg *out);
int rs_cfg_object(const struct rs_cfg *c, const char *key, int required, struct rs_cfg *out);
/* Every key of c's object is one of the space-separated words of allowed:
 * a typo such as "log_1p" is an error, not silently ignored. */
int rs_cfg_keys(const struct rs_cfg *c, const char *allowed);
/* "expected WANT, got VALUE" about member key of c (NULL: c itself), for a
 * constraint beyond the getters'. Returns RS_ERR_FORMAT. */
int rs_cfg_expected(const struct rs_cfg *c, const char *key, const char *want);
/* Any other error about member key of c (NULL: c itself): "'FILE': PATH: "
 * then the printf-style message. Returns RS_ERR_FORMAT. */
int rs_cfg_fail(const struct rs_cfg *c, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
