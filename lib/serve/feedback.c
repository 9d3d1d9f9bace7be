/* feedback.c - the served lists' table and the feedback body (see feedback.h). */
#include "serve/feedback.h"
#include "core/err.h"
#include "io/config.h"
#include "io/io.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIND_WORDS "impression click booking purchase"

const char *rs_fb_kind_name(int kind)
{
    static const char *const names[RS_FB_NKINDS] = { "impression", "click", "booking", "purchase" };
    return names[kind];
}

struct entry {
    uint64_t key[2];     /* the id's 128 bits; gen 0: a free slot */
    uint64_t gen;        /* changes when the slot is reused, so a stale mark is ignored */
    int64_t next;        /* the next slot of the bucket's chain, -1 at its end */
    char *user;
    char arm[65];
    size_t n;
    char **items;
    uint8_t *shown;      /* per position: its impression was recorded */
};

struct rs_served {
    pthread_mutex_t lock;
    size_t cap, mask, head; /* head: the slot the next list takes (the oldest) */
    uint64_t gen;
    struct entry *e;
    int64_t *bucket;
};

struct rs_served *rs_served_new(size_t capacity)
{
    struct rs_served *t = xcalloc(1, sizeof *t);
    pthread_mutex_init(&t->lock, NULL);
    t->cap = capacity ? capacity : 1;
    size_t nb = 1;
    while (nb < 2 * t->cap)
        nb *= 2;
    t->mask = nb - 1;
    t->e = xcalloc(t->cap, sizeof *t->e);
    t->bucket = xmalloc(nb * sizeof *t->bucket);
    for (size_t b = 0; b < nb; b++)
        t->bucket[b] = -1;
    return t;
}

static void entry_clear(struct entry *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->items[i]);
    free(e->items);
    free(e->shown);
    free(e->user);
    e->items = NULL, e->shown = NULL, e->user = NULL, e->n = 0, e->gen = 0;
}

void rs_served_free(struct rs_served *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++)
        entry_clear(&t->e[i]);
    free(t->e);
    free(t->bucket);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* The 128 bits of a 32-hex-digit id: 0, or -1 when it is not one. */
static int parse_id(const char *id, uint64_t key[2])
{
    if (strlen(id) != 32)
        return -1;
    key[0] = key[1] = 0;
    for (int i = 0; i < 32; i++) {
        int c = id[i], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        key[i / 16] = key[i / 16] << 4 | (uint64_t)d;
    }
    return 0;
}

/* Takes slot s out of its bucket's chain. */
static void unlink_slot(struct rs_served *t, size_t s)
{
    int64_t *p = &t->bucket[t->e[s].key[1] & t->mask];
    while (*p != (int64_t)s)
        p = &t->e[*p].next;
    *p = t->e[s].next;
}

void rs_served_add(struct rs_served *t, const char *id, const char *user, const char *arm,
                   const char *const *items, size_t n)
{
    uint64_t key[2];
    RS_ASSERT(parse_id(id, key) == 0 && strlen(arm) < sizeof t->e->arm);
    char **copy = xmalloc((n ? n : 1) * sizeof *copy);
    for (size_t i = 0; i < n; i++)
        copy[i] = xstrdup(items[i]);
    char *u = xstrdup(user);
    uint8_t *shown = xcalloc(n ? n : 1, 1);
    pthread_mutex_lock(&t->lock);
    size_t s = t->head;
    t->head = (s + 1) % t->cap;
    struct entry *e = &t->e[s];
    if (e->gen)
        unlink_slot(t, s);
    struct entry old = *e;
    *e = (struct entry){ .key = { key[0], key[1] }, .gen = ++t->gen, .user = u, .n = n, .items = copy,
                         .shown = shown };
    strcpy(e->arm, arm);
    size_t b = key[1] & t->mask;
    e->next = t->bucket[b];
    t->bucket[b] = (int64_t)s;
    pthread_mutex_unlock(&t->lock);
    entry_clear(&old); /* outside the lock */
}

static struct entry *find(struct rs_served *t, const uint64_t key[2], size_t *slot)
{
    for (int64_t s = t->bucket[key[1] & t->mask]; s >= 0; s = t->e[s].next)
        if (t->e[s].key[0] == key[0] && t->e[s].key[1] == key[1])
            return *slot = (size_t)s, &t->e[s];
    return NULL;
}

/* Appends text escaped; rows stay NUL-terminated (room: a separator too). */
static void put_row(struct rs_fb_batch *b, const char *text, size_t n)
{
    if (b->len + 2 * n + 2 > b->cap) {
        b->cap = 2 * (b->len + 2 * n + 64);
        b->rows = xrealloc(b->rows, b->cap);
    }
    b->len += rs_field_escape(b->rows + b->len, text, n);
    b->rows[b->len] = '\0';
}

static void put_sep(struct rs_fb_batch *b, char c)
{
    put_row(b, "", 0);
    b->rows[b->len++] = c;
    b->rows[b->len] = '\0';
}

/* The row of one event. */
static void add_row(struct rs_fb_batch *b, const struct entry *e, const char *id, const char *item, int kind,
                    size_t pos, int has_value, double value, int64_t ts)
{
    char num[64];
    const char *fields[8] = { e->user, item, rs_fb_kind_name(kind), num, id, num + 24, e->arm, num + 48 };
    snprintf(num, 24, "%lld", (long long)ts);
    snprintf(num + 24, 24, "%zu", pos);
    snprintf(num + 48, 16, has_value ? "%.9g" : "", value);
    for (int f = 0; f < 8; f++) {
        if (f)
            put_sep(b, '\t');
        put_row(b, fields[f], strlen(fields[f]));
    }
    put_sep(b, '\n');
}

/* The position (1-based) of item in e, 0 when absent. */
static size_t position_of(const struct entry *e, const char *item)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->items[i], item) == 0)
            return i + 1;
    return 0;
}

/* 1 when impression (slot, pos) is among b's marks already. */
static int marked(const struct rs_fb_batch *b, size_t slot, size_t pos)
{
    for (size_t m = 0; m < b->nmark; m++)
        if (b->mark[m].slot == slot && b->mark[m].pos == pos)
            return 1;
    return 0;
}

/* Checks event c (under t's lock) and adds it to b. */
static int check_event(struct rs_served *t, const struct rs_cfg *c, int64_t ts, struct rs_fb_batch *b)
{
    const char *id, *user, *item, *arm;
    int kind, rc = rs_cfg_keys(c, "request_id user_id item_id event position value arm");
    long long pos;
    double value;
    uint64_t key[2];
    if (rc == 0)
        rc = rs_cfg_str(c, "request_id", NULL, &id);
    if (rc == 0 && (!id || parse_id(id, key) < 0))
        return rs_cfg_expected(c, "request_id", "the request_id of a list served (32 hex digits)");
    if (rc == 0)
        rc = rs_cfg_str(c, "user_id", NULL, &user);
    if (rc == 0)
        rc = rs_cfg_str(c, "item_id", NULL, &item);
    if (rc == 0 && (!user || !item))
        return rs_cfg_fail(c, NULL, "missing \"%s\"", user ? "item_id" : "user_id");
    if (rc == 0)
        rc = rs_cfg_word(c, "event", KIND_WORDS, -1, &kind);
    if (rc == 0)
        rc = rs_cfg_int(c, "position", 0, 1, 1000000, &pos);
    if (rc == 0)
        rc = rs_cfg_num(c, "value", -1, 0, RS_FB_MAX_VALUE, &value);
    if (rc == 0)
        rc = rs_cfg_str(c, "arm", NULL, &arm);
    if (rc < 0)
        return rc;
    size_t slot, at;
    struct entry *e = find(t, key, &slot);
    if (!e)
        return rs_cfg_fail(c, "request_id", "no list served under '%s' (unknown, or too old)", id);
    if (strcmp(e->user, user) != 0)
        return rs_cfg_fail(c, "user_id", "the list was served to another user");
    if (arm && strcmp(e->arm, arm) != 0)
        return rs_cfg_fail(c, "arm", "the list was served by arm '%s'", e->arm);
    if (!(at = position_of(e, item)))
        return rs_cfg_fail(c, "item_id", "'%.64s' is not in the list served", item);
    if (kind == RS_FB_IMPRESSION && pos == 0)
        return rs_cfg_fail(c, NULL, "missing \"position\" (an impression's)");
    if (pos && (size_t)pos != at)
        return rs_cfg_fail(c, "position", "the item was served at position %zu", at);
    if ((value >= 0) != (kind == RS_FB_PURCHASE || (kind == RS_FB_BOOKING && value >= 0)))
        return rs_cfg_fail(c, "value", kind == RS_FB_PURCHASE ? "a purchase needs its value"
                                                              : "only a booking or a purchase has a value");
    int shown = e->shown[at - 1] || marked(b, slot, at);
    if (kind == RS_FB_IMPRESSION && shown)
        return rs_cfg_fail(c, NULL, "the impression at position %zu was recorded already", at);
    if (kind != RS_FB_IMPRESSION && !shown)
        return rs_cfg_fail(c, NULL, "a %s on an item without its impression", rs_fb_kind_name(kind));
    if (kind == RS_FB_IMPRESSION) {
        b->mark = xrealloc(b->mark, (b->nmark + 1) * sizeof *b->mark);
        b->mark[b->nmark++] = (struct rs_fb_mark){ (uint32_t)slot, e->gen, (uint32_t)at };
    }
    b->ev = xrealloc(b->ev, (b->n + 1) * sizeof *b->ev);
    b->ev[b->n] = (struct rs_fb_event){ .kind = kind, .value = value > 0 ? value : 0 };
    strcpy(b->ev[b->n++].arm, e->arm);
    add_row(b, e, id, item, kind, at, value >= 0, value, ts);
    return 0;
}

static void set_marks(struct rs_served *t, const struct rs_fb_batch *b, uint8_t v)
{
    for (size_t m = 0; m < b->nmark; m++) {
        struct entry *e = &t->e[b->mark[m].slot];
        if (e->gen == b->mark[m].gen)
            e->shown[b->mark[m].pos - 1] = v;
    }
}

int rs_fb_check(struct rs_served *t, const char *body, size_t len, size_t max_events, int64_t ts,
                struct rs_fb_batch *b)
{
    memset(b, 0, sizeof *b);
    json_t *doc;
    int rc = rs_config_parse(&doc, body, len, "body");
    if (rc < 0)
        return rc == RS_ERR_USAGE ? rc : rs_err_set(RS_ERR_USAGE, "%s", rs_err_msg());
    struct rs_cfg root, top, events, elem, ev;
    rs_cfg_root(&root, doc, "body");
    if ((rc = rs_cfg_object(&root, NULL, 1, &top)) == 0 && (rc = rs_cfg_keys(&top, "events")) == 0)
        rc = rs_cfg_array(&top, "events", 1, &events);
    size_t n = rc == 0 ? json_array_size(events.v) : 0;
    if (rc == 0 && (n == 0 || n > max_events)) {
        char want[64];
        snprintf(want, sizeof want, "1 to %zu events", max_events);
        rc = rs_cfg_expected(&top, "events", want);
    }
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rs_cfg_elem(&elem, &events, i);
        if ((rc = rs_cfg_object(&elem, NULL, 1, &ev)) == 0)
            rc = check_event(t, &ev, ts, b);
    }
    if (rc == 0)
        set_marks(t, b, 1);
    pthread_mutex_unlock(&t->lock);
    json_decref(doc);
    return rc < 0 ? rs_err_set(RS_ERR_USAGE, "%s", rs_err_msg()) : 0;
}

void rs_fb_undo(struct rs_served *t, const struct rs_fb_batch *b)
{
    pthread_mutex_lock(&t->lock);
    set_marks(t, b, 0);
    pthread_mutex_unlock(&t->lock);
}

void rs_fb_batch_free(struct rs_fb_batch *b)
{
    free(b->rows);
    free(b->ev);
    free(b->mark);
    memset(b, 0, sizeof *b);
}
