/* config.h - JSON documents (feature configs, model headers) via jansson,
 * read through rs_reader so a .zst config works too. */
#ifndef RS_CONFIG_H
#define RS_CONFIG_H

#include <jansson.h>

/* Parses path into *out (caller json_decref's it). Syntax errors name the
 * file, line and column. */
int rs_config_load(json_t **out, const char *path);
/* Parses a JSON text held in memory; name is used in messages. */
int rs_config_parse(json_t **out, const char *text, size_t len, const char *name);
/* 1 if key is one of the space-separated words of list (a config's allowed
 * keys: a typo such as "log1 p" is then an error, not silently ignored). */
int rs_config_word_in(const char *list, const char *key);

#endif
