/* split.c - window rules of rs-split (see split.h, schemas/split.md). */
#include "prep/split.h"

#include "core/err.h"
#include "io/io.h"
#include "io/outdir.h"
#include "core/rng.h"
#include "core/strmap.h"
#include "core/timeparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int valid_name(const char *s, size_t n)
{
    if (n == 0 || n > 100 || s[0] == '.')
        return 0;
    for (size_t k = 0; k < n; k++)
        if (!(s[k] == '_' || s[k] == '-' || s[k] == '.' || (s[k] >= '0' && s[k] <= '9') ||
              (s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z')))
            return 0;
    return 1;
}

static void add_window(struct rs_split_windows *w, const char *name, size_t n, int64_t len)
{
    w->name = xrealloc(w->name, (w->n + 1) * sizeof *w->name);
    w->len = xrealloc(w->len, (w->n + 1) * sizeof *w->len);
    w->name[w->n] = xstrndup(name, n);
    w->len[w->n] = len;
    w->n++;
}

/* Splits spec on '|' into parts "name=value" or "value"; calls fn on each.
 * The name defaults to the value. */
static int each_part(struct rs_split_windows *w, const char *spec, const char *what,
                     int (*fn)(struct rs_split_windows *w, const char *name, size_t nlen, const char *val,
                               size_t vlen, size_t index))
{
    memset(w, 0, sizeof *w);
    const char *p = spec;
    for (size_t index = 0;; index++) {
        const char *end = strchr(p, '|');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        const char *name = p, *val = eq ? eq + 1 : p;
        size_t nlen = eq ? (size_t)(eq - p) : n, vlen = eq ? n - nlen - 1 : n;
        int rc = 0;
        if (!valid_name(name, nlen))
            rc = rs_err_set(RS_ERR_USAGE,
                            "invalid %s '%s': window name '%.*s' must be letters, digits, '_', '-' or '.'",
                            what, spec, (int)nlen, name);
        for (size_t k = 0; rc == 0 && k < w->n; k++)
            if (strlen(w->name[k]) == nlen && memcmp(w->name[k], name, nlen) == 0)
                rc = rs_err_set(RS_ERR_USAGE, "invalid %s '%s': window '%.*s' named twice", what, spec,
                                (int)nlen, name);
        if (rc == 0)
            rc = fn(w, name, nlen, val, vlen, index);
        if (rc < 0) {
            rs_split_windows_free(w);
            return rc;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

static int time_part(struct rs_split_windows *w, const char *name, size_t nlen, const char *val, size_t vlen,
                     size_t index)
{
    int64_t len;
    char buf[64];
    if (vlen == 3 && memcmp(val, "old", 3) == 0) {
        if (index > 0)
            return rs_err_set(RS_ERR_USAGE, "window 'old' can only be the first");
        len = RS_SPLIT_OLD;
    } else {
        snprintf(buf, sizeof buf, "%.*s", (int)(vlen < 63 ? vlen : 63), val);
        if (vlen >= 63 || rs_duration_parse(buf, &len) < 0 || len <= 0)
            return rs_err_set(RS_ERR_USAGE, "invalid window length '%.*s': expected 'old' or a duration "
                              "such as 90s, 15m, 6h, 3d, 6w", (int)vlen, val);
    }
    add_window(w, name, nlen, len);
    return 0;
}

int rs_split_parse_windows(struct rs_split_windows *w, const char *spec)
{
    int rc = each_part(w, spec, "--windows", time_part);
    if (rc == 0)
        w->lo = xcalloc(w->n + 1, sizeof *w->lo);
    return rc;
}

void rs_split_cutoff(struct rs_split_windows *w, const char *a, const char *b, int64_t cutoff)
{
    memset(w, 0, sizeof *w);
    add_window(w, a, strlen(a), RS_SPLIT_OLD);
    add_window(w, b, strlen(b), INT64_MAX);
    w->lo = xmalloc(3 * sizeof *w->lo);
    w->lo[0] = INT64_MIN;
    w->lo[1] = cutoff;
    w->lo[2] = INT64_MAX;
}

void rs_split_anchor(struct rs_split_windows *w, int64_t end)
{
    w->lo[w->n] = end;
    for (size_t k = w->n; k-- > 0;) {
        /* 'old', or a window reaching past the earliest representable time */
        int open = w->len[k] == RS_SPLIT_OLD || w->lo[k + 1] < INT64_MIN + w->len[k];
        w->lo[k] = open ? INT64_MIN : w->lo[k + 1] - w->len[k];
    }
}

int rs_split_window_of(const struct rs_split_windows *w, int64_t t)
{
    if (t < w->lo[0] || (t >= w->lo[w->n] && w->lo[w->n] != INT64_MAX))
        return -1;
    size_t k = w->n;
    while (k > 0 && t < w->lo[k])
        k--;
    return k < w->n ? (int)k : (int)w->n - 1;
}

static int event_part(struct rs_split_windows *w, const char *name, size_t nlen, const char *val, size_t vlen,
                      size_t index)
{
    if (val == name)
        return rs_err_set(RS_ERR_USAGE, "invalid --by-event part '%.*s': expected NAME=EVENT[,EVENT...]",
                          (int)nlen, name);
    if (!w->ev)
        w->ev = rs_strmap_new(16);
    add_window(w, name, nlen, 0);
    const char *p = val, *end = val + vlen;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);
        int added;
        if (n == 0)
            return rs_err_set(RS_ERR_USAGE, "invalid --by-event: window '%.*s' has an empty event name",
                              (int)nlen, name);
        int64_t id = rs_strmap_put(w->ev, p, n, &added);
        if (!added)
            return rs_err_set(RS_ERR_USAGE, "invalid --by-event: event '%.*s' is in two windows", (int)n, p);
        w->evwin = xrealloc(w->evwin, (size_t)(id + 1) * sizeof *w->evwin);
        w->evwin[id] = (uint32_t)index;
        p += n + 1;
    }
    return 0;
}

int rs_split_parse_events(struct rs_split_windows *w, const char *spec)
{
    return each_part(w, spec, "--by-event", event_part);
}

int rs_split_event_window(const struct rs_split_windows *w, const char *ev, size_t n)
{
    int64_t id = rs_strmap_get(w->ev, ev, n);
    return id < 0 ? -1 : (int)w->evwin[id];
}

void rs_split_windows_free(struct rs_split_windows *w)
{
    if (!w)
        return;
    for (size_t k = 0; k < w->n; k++)
        free(w->name[k]);
    free(w->name);
    free(w->len);
    free(w->lo);
    rs_strmap_free(w->ev);
    free(w->evwin);
    memset(w, 0, sizeof *w);
}

/* ---- per user ---- */

struct key {
    uint32_t user;
    int64_t ts;
    size_t idx;
};

static int key_cmp(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    if (x->user != y->user)
        return x->user < y->user ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static uint64_t test_count(const struct rs_split_per_user *r, uint64_t c)
{
    uint64_t k = r->mode == RS_SPLIT_LAST_N ? r->n : (uint64_t)(r->frac * (double)c + 1e-9);
    if (r->mode != RS_SPLIT_LAST_N && k < 1)
        k = 1;
    if (k > c)
        k = c;
    uint64_t room = c > r->min_train ? c - r->min_train : 0;
    return k < room ? k : room;
}

void rs_split_assign(const struct rs_split_per_user *r, const uint32_t *user, const int64_t *ts, size_t count,
                     uint8_t *test)
{
    struct key *key = xmalloc((count ? count : 1) * sizeof *key);
    for (size_t k = 0; k < count; k++) {
        key[k] = (struct key){ user[k], ts[k], k };
        test[k] = 0;
    }
    qsort(key, count, sizeof *key, key_cmp);
    struct rs_rng g;
    rs_rng_init(&g, r->seed, 0);
    for (size_t b = 0, e; b < count; b = e) {
        for (e = b + 1; e < count && key[e].user == key[b].user; e++)
            ;
        uint64_t c = e - b, k = test_count(r, c);
        if (r->mode != RS_SPLIT_RANDOM) {
            for (size_t j = e - k; j < e; j++)
                test[key[j].idx] = 1;
            continue;
        }
        /* Partial Fisher-Yates: the first k of a shuffle of the group. */
        for (uint64_t j = 0; j < k; j++) {
            size_t pick = b + j + (size_t)rs_rng_below(&g, c - j);
            struct key tmp = key[b + j];
            key[b + j] = key[pick];
            key[pick] = tmp;
            test[key[b + j].idx] = 1;
        }
    }
    free(key);
}

/* ---- outputs ---- */

int rs_split_out_open(struct rs_split_out *o, const char *dir, const struct rs_split_windows *w,
                      const char *header, size_t hlen, int zstd, int level)
{
    memset(o, 0, sizeof *o);
    o->n = w->n;
    o->w = xcalloc(o->n, sizeof *o->w);
    o->count = xcalloc(o->n, sizeof *o->count);
    o->tmin = xmalloc(o->n * sizeof *o->tmin);
    o->tmax = xmalloc(o->n * sizeof *o->tmax);
    o->users = xcalloc(o->n, sizeof *o->users);
    for (size_t k = 0; k < o->n; k++) {
        o->tmin[k] = INT64_MAX;
        o->tmax[k] = INT64_MIN;
        o->users[k] = rs_strmap_new(1024);
    }
    int rc = rs_outdir_open(&o->dir, dir);
    char name[128];
    for (size_t k = 0; rc == 0 && k < o->n; k++) {
        snprintf(name, sizeof name, "%s.tsv%s", w->name[k], zstd ? ".zst" : "");
        rc = rs_writer_open(&o->w[k], rs_outdir_path(o->dir, name), zstd ? RS_W_ZSTD : 0, level);
        if (rc == 0 && hlen > 0)
            rc = rs_writer_write(o->w[k], header, hlen);
    }
    return rc;
}

int rs_split_out_put(struct rs_split_out *o, int k, const char *row, size_t n, const char *user, size_t ulen,
                     int64_t ts)
{
    if (k < 0) {
        o->dropped++;
        return 0;
    }
    o->count[k]++;
    o->tmin[k] = ts < o->tmin[k] ? ts : o->tmin[k];
    o->tmax[k] = ts > o->tmax[k] ? ts : o->tmax[k];
    rs_strmap_put(o->users[k], user, ulen, NULL);
    return rs_writer_write(o->w[k], row, n);
}

int rs_split_out_finish(struct rs_split_out *o, int rc)
{
    for (size_t k = 0; k < o->n; k++) {
        if (rc == 0 && o->w[k])
            rc = rs_writer_close(o->w[k]);
        else
            rs_writer_abort(o->w[k]);
        o->w[k] = NULL;
    }
    if (o->dir)
        rc = rc == 0 ? rs_outdir_commit(o->dir) : (rs_outdir_abort(o->dir), rc);
    o->dir = NULL;
    return rc;
}

void rs_split_out_free(struct rs_split_out *o)
{
    for (size_t k = 0; k < o->n; k++)
        rs_strmap_free(o->users[k]);
    free(o->w);
    free(o->count);
    free(o->tmin);
    free(o->tmax);
    free(o->users);
    memset(o, 0, sizeof *o);
}
