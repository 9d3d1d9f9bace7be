/* recoserve.c - around the engine of reco.h: the bundle slot, the files'
 * signature, requests and answers as JSON (see recoserve.h). */
#include "serve/recoserve.h"
#include "core/err.h"
#include "rerank/divspec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct rs_reco_ref *rs_reco_acquire(struct rs_reco_slot *s)
{
    pthread_mutex_lock(&s->lock);
    struct rs_reco_ref *b = s->cur;
    if (b)
        b->refs++;
    pthread_mutex_unlock(&s->lock);
    return b;
}

void rs_reco_release(struct rs_reco_slot *s, struct rs_reco_ref *b)
{
    pthread_mutex_lock(&s->lock);
    int last = --b->refs == 0;
    pthread_mutex_unlock(&s->lock);
    if (last) {
        rs_exp_free(b->exp);
        free(b->exp);
        free(b);
    }
}

void rs_reco_install(struct rs_reco_slot *s, struct rs_exp *e, uint64_t version)
{
    struct rs_reco_ref *b = NULL, *old;
    if (e) {
        b = xcalloc(1, sizeof *b);
        b->exp = e;
        b->reco = e->arm[0].reco;
        b->version = version;
        b->refs = 1; /* the slot's own reference */
    }
    pthread_mutex_lock(&s->lock);
    old = s->cur;
    s->cur = b;
    pthread_mutex_unlock(&s->lock);
    if (old)
        rs_reco_release(s, old);
}

uint64_t rs_reco_file_signature(uint64_t sig, const char *path)
{
    struct stat st;
    if (!path || stat(path, &st) != 0)
        return sig;
    uint64_t v[4] = { (uint64_t)st.st_ino, (uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec,
                      (uint64_t)st.st_mtim.tv_nsec };
    for (int k = 0; k < 4; k++)
        sig = (sig ^ v[k]) * 1099511628211ULL;
    return sig;
}

uint64_t rs_reco_files_signature(const struct rs_reco_opts *o)
{
    const char *paths[] = { o->items_emb, o->users_emb, o->seen,   o->items,      o->index,
                            o->model,     o->users,     o->ranker, o->rank_users, o->rank_items };
    uint64_t sig = 1469598103934665603ULL; /* FNV-1a over the fields */
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        sig = rs_reco_file_signature(sig, paths[i]);
    for (size_t s = 0; s < o->nsources; s++)
        sig = rs_reco_file_signature(sig, o->source_paths[s]);
    for (size_t i = 0; o->post && i < o->post->nitems; i++)
        sig = rs_reco_file_signature(sig, o->post->items[i]);
    if (o->post)
        sig = rs_reco_file_signature(rs_reco_file_signature(sig, o->post->deny), o->post->seen);
    return sig;
}

/* One scalar of a feature value as text (buf: 32 bytes); NULL: not a
 * string or number. */
static const char *scalar_text(const json_t *v, char *buf)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        snprintf(buf, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, 32, "%.17g", json_real_value(v)); /* round-trips the double */
    else
        return NULL;
    return buf;
}

/* Adds feature name = v (see rs_reco_req_json) to q. */
static int add_feature(struct rs_reco_req *q, const char *name, const json_t *v)
{
    char buf[32];
    const char *s;
    if (strcmp(name, "user_id") == 0 || strcmp(name, "k") == 0)
        return rs_err_set(RS_ERR_USAGE, "parameter '%s' belongs outside 'features'", name);
    if (json_is_null(v))
        return 0;
    if (!json_is_array(v)) {
        if (!(s = scalar_text(v, buf)))
            return rs_err_set(RS_ERR_USAGE, "parameter '%s': expected a string, a number or a list of them", name);
        rs_reco_req_add(q, name, s);
        return 0;
    }
    size_t len = 0, i;
    char *list = xstrdup("");
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!(s = scalar_text(e, buf)) || strchr(s, ',')) {
            free(list);
            return rs_err_set(RS_ERR_USAGE, "parameter '%s': element %zu: %s", name, i + 1,
                              s ? "a list element may not contain a comma" : "expected a string or a number");
        }
        list = xrealloc(list, len + strlen(s) + 2);
        len += (size_t)sprintf(list + len, "%s%s", i ? "," : "", s);
    }
    rs_reco_req_add(q, name, list);
    free(list);
    return 0;
}

static int req_member(struct rs_reco_req *q, const char *key, const json_t *v, long max_k)
{
    if (strcmp(key, "user_id") == 0) {
        if (!json_is_string(v) || !*json_string_value(v))
            return rs_err_set(RS_ERR_USAGE, "parameter 'user_id' must be a non-empty string");
        free(q->user);
        q->user = xstrdup(json_string_value(v));
    } else if (strcmp(key, "k") == 0) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max_k)
            return rs_err_set(RS_ERR_USAGE, "parameter 'k' must be an integer in 1..%ld", max_k);
        q->k = (size_t)json_integer_value(v);
    } else if (strcmp(key, "features") == 0) {
        const char *name;
        json_t *f;
        if (!json_is_object(v))
            return rs_err_set(RS_ERR_USAGE, "parameter 'features' must be an object");
        json_object_foreach((json_t *)v, name, f) {
            int rc = add_feature(q, name, f);
            if (rc < 0)
                return rc;
        }
    } else {
        return rs_err_set(RS_ERR_USAGE, "unknown member '%.64s' (expected user_id, k, features)", key);
    }
    return 0;
}

int rs_reco_req_json(struct rs_reco_req *q, const char *body, size_t len, long dflt_k, long max_k)
{
    json_error_t e;
    memset(q, 0, sizeof *q);
    q->k = (size_t)dflt_k;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e), *v;
    if (!j)
        return rs_err_set(RS_ERR_USAGE, "body: invalid JSON at line %d, column %d: %s", e.line, e.column, e.text);
    int rc = json_is_object(j) ? 0 : rs_err_set(RS_ERR_USAGE, "body: expected a JSON object");
    const char *key;
    json_object_foreach(j, key, v) {
        if (rc == 0)
            rc = req_member(q, key, v, max_k);
    }
    if (rc == 0 && !q->user)
        rc = rs_err_set(RS_ERR_USAGE, "missing parameter 'user_id'");
    json_decref(j);
    return rc;
}

static json_t *list_json(const struct rs_reco_list *l)
{
    json_t *items = json_array();
    for (size_t i = 0; i < l->n; i++) {
        json_t *it = json_pack("{s:s, s:i, s:f}", "item_id", l->ids[i], "rank", (int)i + 1, "score", l->scores[i]);
        if (it && l->ranked) {
            json_object_set_new(it, "p_click", json_real(l->p[2 * i]));
            json_object_set_new(it, "p_booking", json_real(l->p[2 * i + 1]));
        }
        if (!it || json_array_append_new(items, it) < 0) {
            json_decref(items);
            return NULL;
        }
    }
    return items;
}

/* The list post-ranking re-ranked: [{"item_id", "score"}...] in its order. */
static json_t *cands_json(const struct rs_reco_list *l)
{
    json_t *cands = json_array();
    for (size_t i = 0; i < l->ncands; i++)
        if (json_array_append_new(cands, json_pack("{s:s, s:f}", "item_id", l->cand_ids[i], "score",
                                                   l->cand_scores[i])) < 0) {
            json_decref(cands);
            return NULL;
        }
    return cands;
}

json_t *rs_reco_answer_json(const char *id, const struct rs_reco_list *l, uint64_t version)
{
    json_t *items = list_json(l), *j;
    if (!items)
        return NULL;
    if (l->source == RS_RECO_SRC_ITEM)
        return json_pack("{s:s, s:o, s:I}", "item_id", id, "items", items, "version", (json_int_t)version);
    int popular = l->source == RS_RECO_SRC_POPULAR;
    j = json_pack("{s:s, s:o, s:I, s:s, s:b, s:o}", "user_id", id, "items", items, "version", (json_int_t)version,
                  "source", rs_reco_source_name(l->source), "ranked", l->ranked, "fallback",
                  popular ? json_string("popular") : json_null());
    if (j && l->cand_ids && json_object_set_new(j, "candidates", cands_json(l)) < 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}
