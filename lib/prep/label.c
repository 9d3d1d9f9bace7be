/* label.c - see label.h. The window's events become one set of (user, item)
 * pairs per label; the candidates stream is copied a user at a time (the
 * user's rows are buffered so that "users with a positive" can be decided
 * before they are written). */
#include "prep/label.h"
#include "core/err.h"
#include "core/pairset.h"
#include "core/strmap.h"
#include "io/io.h"
#include "io/rowbuf.h"
#include "io/tsv.h"

#include <stdlib.h>
#include <string.h>

struct rs_label {
    const struct rs_label_opts *o;
    struct rs_strmap *users, *items, *events; /* events: name -> bit mask of labels */
    uint32_t *event_mask;
    struct rs_pairset *pos[RS_LABEL_MAX];
    uint8_t *active;                   /* per window user */
    size_t cap_users;
    uint32_t *imp_user, *imp_item;     /* the window's impressions, first seen first */
    size_t nimp, cap_imp;
    size_t *imp_first;                 /* grouped by user: imp_first[u] .. [u + 1] */
    uint32_t *imp_sorted;
    struct rs_pairset *impressed;
};

static void add_events(struct rs_label *l, size_t k, const char *list)
{
    char *copy = xstrdup(list), *save = NULL;
    for (char *e = strtok_r(copy, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
        int added;
        int64_t id = rs_strmap_put(l->events, e, strlen(e), &added);
        if (added) {
            l->event_mask = xrealloc(l->event_mask, rs_strmap_size(l->events) * sizeof *l->event_mask);
            l->event_mask[id] = 0;
        }
        l->event_mask[id] |= 1u << k;
    }
    free(copy);
}

static int intern(struct rs_strmap *m, struct rs_tsv *t, int col, uint32_t *id)
{
    if (rs_tsv_len(t, col) == 0)
        return rs_tsv_errf(t, col, "empty id");
    int64_t v = rs_strmap_put(m, rs_tsv_get(t, col), rs_tsv_len(t, col), NULL);
    if (v >= UINT32_MAX - 1)
        return rs_tsv_errf(t, col, "more than 2^32 - 2 distinct ids");
    *id = (uint32_t)v;
    return 0;
}

/* Makes active[0 .. n) valid (new entries 0). */
static void cover_users(struct rs_label *l, size_t n)
{
    if (n <= l->cap_users)
        return;
    size_t old = l->cap_users;
    l->cap_users = n > 2 * old ? n : 2 * old;
    l->active = xrealloc(l->active, l->cap_users);
    memset(l->active + old, 0, l->cap_users - old);
}

static void add_impression(struct rs_label *l, uint32_t u, uint32_t i)
{
    if (!rs_pairset_add(l->impressed, u, i))
        return;
    if (l->nimp == l->cap_imp) {
        l->cap_imp = l->cap_imp ? 2 * l->cap_imp : 4096;
        l->imp_user = xrealloc(l->imp_user, l->cap_imp * sizeof *l->imp_user);
        l->imp_item = xrealloc(l->imp_item, l->cap_imp * sizeof *l->imp_item);
    }
    l->imp_user[l->nimp] = u;
    l->imp_item[l->nimp++] = i;
}

/* One window row: its labels, its impression, the leakage check. */
static int load_row(struct rs_label *l, struct rs_tsv *t, const int *col)
{
    const struct rs_label_opts *o = l->o;
    uint32_t u, i;
    int rc;
    if ((rc = intern(l->users, t, col[0], &u)) < 0 || (rc = intern(l->items, t, col[1], &i)) < 0)
        return rc;
    if (col[3] >= 0) {
        int64_t time;
        if ((rc = rs_tsv_get_time(t, col[3], &time)) < 0)
            return rc;
        if (time <= o->after)
            return rs_tsv_errf(t, col[3], "%lld is not after %s (%lld): the label window overlaps the "
                               "candidates' history (leakage)", (long long)time, o->after_what,
                               (long long)o->after);
    }
    size_t evn;
    const char *ev = rs_tsv_event(t, col[2], &evn);
    if (o->impression && strlen(o->impression) == evn && memcmp(ev, o->impression, evn) == 0)
        add_impression(l, u, i);
    int64_t e = rs_strmap_get(l->events, ev, evn);
    if (e < 0)
        return 0;
    for (size_t k = 0; k < o->nlabels; k++)
        if (l->event_mask[e] & (1u << k))
            rs_pairset_add(l->pos[k], u, i);
    cover_users(l, (size_t)u + 1);
    l->active[u] = 1;
    return 0;
}

/* Groups the impressions by user, keeping their order. */
static void group_impressions(struct rs_label *l)
{
    size_t nu = rs_strmap_size(l->users);
    l->imp_first = xcalloc(nu + 1, sizeof *l->imp_first);
    size_t *pos = xmalloc((nu + 1) * sizeof *pos);
    l->imp_sorted = xmalloc((l->nimp ? l->nimp : 1) * sizeof *l->imp_sorted);
    for (size_t k = 0; k < l->nimp; k++)
        l->imp_first[l->imp_user[k] + 1]++;
    for (size_t u = 0; u < nu; u++)
        l->imp_first[u + 1] += l->imp_first[u];
    memcpy(pos, l->imp_first, (nu + 1) * sizeof *pos);
    for (size_t k = 0; k < l->nimp; k++)
        l->imp_sorted[pos[l->imp_user[k]]++] = l->imp_item[k];
    free(pos);
}

int rs_label_load(struct rs_label **lp, struct rs_tsv *t, const struct rs_label_opts *o)
{
    struct rs_label *l = xcalloc(1, sizeof *l);
    *lp = l;
    l->o = o;
    l->users = rs_strmap_new(1024);
    l->items = rs_strmap_new(1024);
    l->events = rs_strmap_new(16);
    l->impressed = rs_pairset_new(1024);
    for (size_t k = 0; k < o->nlabels; k++) {
        l->pos[k] = rs_pairset_new(1024);
        add_events(l, k, o->events[k]);
    }
    int col[4] = { -1, -1, -1, -1 }, rc;
    if ((rc = rs_tsv_require(t, o->user_col, &col[0])) < 0 || (rc = rs_tsv_require(t, o->item_col, &col[1])) < 0 ||
        (rc = rs_tsv_event_col(t, o->event_col, o->event_required, &col[2])) < 0 ||
        (o->after != INT64_MIN && (rc = rs_tsv_require(t, o->time_col, &col[3])) < 0))
        return rc;
    while ((rc = rs_tsv_next(t)) == 0)
        if ((rc = load_row(l, t, col)) < 0)
            return rc;
    if (rc != RS_ERR_EOF)
        return rc;
    cover_users(l, rs_strmap_size(l->users) + 1);
    group_impressions(l);
    return 0;
}

void rs_label_free(struct rs_label *l)
{
    if (!l)
        return;
    rs_strmap_free(l->users);
    rs_strmap_free(l->items);
    rs_strmap_free(l->events);
    free(l->event_mask);
    for (size_t k = 0; k < RS_LABEL_MAX; k++)
        rs_pairset_free(l->pos[k]);
    free(l->active);
    free(l->imp_user);
    free(l->imp_item);
    free(l->imp_first);
    free(l->imp_sorted);
    rs_pairset_free(l->impressed);
    free(l);
}

/* The current user's candidate rows and their labels. */
struct group {
    struct rs_rowbuf rows;
    uint8_t *label;  /* [row * nlabels + k] */
    int64_t *witem;  /* the row's item id in the window, or -1 */
    size_t cap;
    int64_t wuser;  /* the user's id in the window, or -1 */
    int any_pos;
    uint32_t *stamp, gen; /* stamp[window item] == gen: among the candidates */
};

static void group_add(struct rs_label *l, struct group *g, struct rs_tsv *t, int ic)
{
    size_t r = rs_rowbuf_add(&g->rows, t), nl = l->o->nlabels;
    if (r + 1 > g->cap) {
        g->cap = 2 * (r + 1);
        g->label = xrealloc(g->label, g->cap * RS_LABEL_MAX);
        g->witem = xrealloc(g->witem, g->cap * sizeof *g->witem);
    }
    int64_t i = g->wuser < 0 ? -1 : rs_strmap_get(l->items, rs_tsv_get(t, ic), rs_tsv_len(t, ic));
    g->witem[r] = i;
    for (size_t k = 0; k < nl; k++) {
        uint8_t y = i >= 0 && rs_pairset_has(l->pos[k], (uint32_t)g->wuser, (uint32_t)i);
        g->label[r * nl + k] = y;
        g->any_pos |= y;
    }
    if (i >= 0)
        g->stamp[i] = g->gen;
}

static int selected(const struct rs_label *l, const struct group *g)
{
    switch (l->o->users) {
    case RS_LABEL_USERS_ACTIVE: return g->wuser >= 0 && l->active[g->wuser];
    case RS_LABEL_USERS_POSITIVE: return g->any_pos;
    default: return 1;
    }
}

static int put_labels(struct rs_label *l, struct rs_writer *w, const uint8_t *y, int impressed, uint64_t *pos)
{
    int rc = 0;
    for (size_t k = 0; k < l->o->nlabels; k++) {
        rc |= rs_writer_putc(w, '\t') | rs_writer_putc(w, y[k] ? '1' : '0');
        pos[k] += y[k];
    }
    if (l->o->impression)
        rc |= rs_writer_putc(w, '\t') | rs_writer_putc(w, impressed ? '1' : '0');
    return rc | rs_writer_putc(w, '\n');
}

/* The user's impressions that are not candidates: user and item set, other
 * columns empty. */
static int write_impressions(struct rs_label *l, struct group *g, struct rs_writer *w, int uc, int ic,
                             uint64_t *rows, uint64_t *pos)
{
    size_t nl = l->o->nlabels, ncols = g->rows.ncols;
    uint8_t y[RS_LABEL_MAX];
    int rc = 0;
    for (size_t k = l->imp_first[g->wuser]; rc == 0 && k < l->imp_first[g->wuser + 1]; k++) {
        uint32_t i = l->imp_sorted[k];
        if (g->stamp[i] == g->gen)
            continue;
        for (size_t c = 0; c < ncols; c++) {
            const char *f = (int)c == uc ? rs_strmap_key(l->users, g->wuser, NULL)
                          : (int)c == ic ? rs_strmap_key(l->items, i, NULL) : "";
            rc |= (c ? rs_writer_putc(w, '\t') : 0) | rs_writer_put_text(w, f);
        }
        for (size_t j = 0; j < nl; j++)
            y[j] = rs_pairset_has(l->pos[j], (uint32_t)g->wuser, i);
        rc |= put_labels(l, w, y, 1, pos);
        ++*rows;
    }
    return rc;
}

static int flush(struct rs_label *l, struct group *g, struct rs_writer *w, int uc, int ic, uint64_t *rows,
                 uint64_t *pos)
{
    int rc = 0;
    if (g->rows.nrows && selected(l, g)) {
        for (size_t r = 0; rc == 0 && r < g->rows.nrows; r++) {
            for (size_t c = 0; c < g->rows.ncols; c++) {
                const char *f = rs_rowbuf_get(&g->rows, r, c);
                rc |= (c ? rs_writer_putc(w, '\t') : 0) | rs_writer_put_text(w, f);
            }
            int impressed = g->witem[r] >= 0 &&
                            rs_pairset_has(l->impressed, (uint32_t)g->wuser, (uint32_t)g->witem[r]);
            rc |= put_labels(l, w, g->label + r * l->o->nlabels, impressed, pos);
            ++*rows;
        }
        if (rc == 0 && l->o->impression && g->wuser >= 0)
            rc = write_impressions(l, g, w, uc, ic, rows, pos);
    }
    rs_rowbuf_clear(&g->rows);
    g->any_pos = 0;
    g->gen++;
    return rc;
}

static int header(struct rs_label *l, struct rs_tsv *t, struct rs_writer *w)
{
    const struct rs_label_opts *o = l->o;
    int rc = 0;
    for (size_t k = 0; k <= o->nlabels; k++) {
        const char *name = k < o->nlabels ? o->name[k] : o->impression ? "impressed" : NULL;
        if (name && rs_tsv_col(t, name) >= 0)
            return rs_err_set(RS_ERR_FORMAT, "'%s': already has a column '%s'", rs_tsv_name(t), name);
    }
    for (size_t c = 0; c < rs_tsv_ncols(t); c++)
        rc |= (c ? rs_writer_putc(w, '\t') : 0) | rs_writer_put_text(w, rs_tsv_colname(t, c));
    for (size_t k = 0; k < o->nlabels; k++)
        rc |= rs_writer_putc(w, '\t') | rs_writer_put_text(w, o->name[k]);
    if (o->impression)
        rc |= rs_writer_printf(w, "\timpressed");
    return rc | rs_writer_putc(w, '\n');
}

/* Starts the group of the user of t's current row; a user whose rows were
 * already seen is an error (rows of a user must be contiguous). */
static int start_user(struct rs_label *l, struct group *g, struct rs_strmap *done, struct rs_tsv *t, int uc)
{
    const char *u = rs_tsv_get(t, uc);
    size_t n = rs_tsv_len(t, uc);
    int added;
    if (n == 0)
        return rs_tsv_errf(t, uc, "empty id");
    rs_strmap_put(done, u, n, &added);
    if (!added)
        return rs_tsv_errf(t, uc, "rows of user '%s' are not contiguous", u);
    g->wuser = rs_strmap_get(l->users, u, n);
    return 0;
}

static int same_user(const struct group *g, struct rs_tsv *t, int uc)
{
    if (g->rows.nrows == 0)
        return 0;
    const char *prev = rs_rowbuf_get(&g->rows, 0, (size_t)uc);
    return strlen(prev) == rs_tsv_len(t, uc) && memcmp(prev, rs_tsv_get(t, uc), rs_tsv_len(t, uc)) == 0;
}

int rs_label_write(struct rs_label *l, struct rs_tsv *t, struct rs_writer *w, uint64_t *rows,
                   uint64_t pos[RS_LABEL_MAX])
{
    int uc, ic, rc;
    if ((rc = rs_tsv_require(t, l->o->user_col, &uc)) < 0 || (rc = rs_tsv_require(t, l->o->item_col, &ic)) < 0 ||
        (rc = header(l, t, w)) < 0)
        return rc;
    *rows = 0;
    memset(pos, 0, RS_LABEL_MAX * sizeof *pos);
    struct group g = { .gen = 1 };
    rs_rowbuf_init(&g.rows, rs_tsv_ncols(t));
    g.stamp = xcalloc(rs_strmap_size(l->items) + 1, sizeof *g.stamp);
    struct rs_strmap *done = rs_strmap_new(1024);
    while ((rc = rs_tsv_next(t)) == 0) {
        if (!same_user(&g, t, uc) && ((rc = flush(l, &g, w, uc, ic, rows, pos)) < 0 ||
                                      (rc = start_user(l, &g, done, t, uc)) < 0))
            break;
        group_add(l, &g, t, ic);
    }
    if (rc == RS_ERR_EOF)
        rc = flush(l, &g, w, uc, ic, rows, pos);
    rs_rowbuf_free(&g.rows);
    free(g.label);
    free(g.witem);
    free(g.stamp);
    rs_strmap_free(done);
    return rc;
}
