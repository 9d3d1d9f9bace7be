/* fuse.c - see fuse.h. Within a user, every item any source proposes is an
 * entry; entries keep their order of first appearance, which breaks ties. */
#include "index/fuse.h"
#include "core/err.h"
#include "core/shard.h"
#include "core/strmap.h"
#include "io/io.h"
#include "io/tsv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one user ---- */

struct fused {
    double score;
    size_t e;
};

/* The entries of the list being fused, in order of first appearance, and a
 * table from item to entry (open addressing; slots hold entry + 1). */
struct rs_fuse_scratch {
    size_t cap, cells;  /* entries, and entries * nsrc, allocated */
    uint32_t *item, *rank;
    float *score;
    struct fused *order;
    size_t nslot;       /* a power of two, at least twice the entries */
    uint32_t *slot;
};

static void reserve(struct rs_fuse_list *l, size_t n, size_t nsrc)
{
    struct rs_fuse_scratch *s = l->scratch;
    if (!s)
        s = l->scratch = xcalloc(1, sizeof *s);
    n = n ? n : 1; /* never NULL buffers, even for an empty list (qsort, memcpy) */
    if (n > s->cap) {
        s->cap = n;
        s->item = xrealloc(s->item, n * sizeof *s->item);
        s->order = xrealloc(s->order, n * sizeof *s->order);
        l->item = xrealloc(l->item, n * sizeof *l->item);
        l->fused = xrealloc(l->fused, n * sizeof *l->fused);
    }
    if (n * nsrc > s->cells) {
        s->cells = n * nsrc;
        s->rank = xrealloc(s->rank, s->cells * sizeof *s->rank);
        s->score = xrealloc(s->score, s->cells * sizeof *s->score);
        l->rank = xrealloc(l->rank, s->cells * sizeof *l->rank);
        l->score = xrealloc(l->score, s->cells * sizeof *l->score);
    }
    size_t nslot = 16;
    while (nslot < 2 * n)
        nslot *= 2;
    if (nslot > s->nslot) {
        free(s->slot);
        s->slot = xmalloc(nslot * sizeof *s->slot);
        s->nslot = nslot;
    }
    memset(s->slot, 0, s->nslot * sizeof *s->slot);
}

/* The entry of item, added (no source's rank yet) when new. */
static size_t entry(struct rs_fuse_scratch *s, size_t *n, size_t nsrc, uint32_t item)
{
    size_t mask = s->nslot - 1, h = (size_t)(item * 2654435761u) & mask; /* Knuth's multiplicative hash */
    while (s->slot[h]) {
        if (s->item[s->slot[h] - 1] == item)
            return s->slot[h] - 1;
        h = (h + 1) & mask;
    }
    size_t e = (*n)++;
    s->slot[h] = (uint32_t)e + 1;
    s->item[e] = item;
    memset(s->rank + e * nsrc, 0, nsrc * sizeof *s->rank);
    return e;
}

static int by_fused(const void *a, const void *b)
{
    const struct fused *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->e < y->e ? -1 : x->e > y->e;
}

void rs_fuse_user(struct rs_fuse_list *l, const struct rs_fuse_in *in, size_t nsrc, double rrf_k)
{
    size_t total = 0, n = 0;
    for (size_t k = 0; k < nsrc; k++)
        total += in[k].n;
    reserve(l, total, nsrc);
    struct rs_fuse_scratch *s = l->scratch;
    for (size_t k = 0; k < nsrc; k++)
        for (size_t r = 0; r < in[k].n; r++) {
            size_t c = entry(s, &n, nsrc, in[k].item[r]) * nsrc + k;
            if (s->rank[c] == 0 || in[k].rank[r] < s->rank[c]) {
                s->rank[c] = in[k].rank[r];
                s->score[c] = in[k].score[r];
            }
        }
    for (size_t e = 0; e < n; e++) {
        double f = 0;
        for (size_t k = 0; k < nsrc; k++)
            if (s->rank[e * nsrc + k])
                f += 1.0 / (rrf_k + s->rank[e * nsrc + k]);
        s->order[e] = (struct fused){ f, e };
    }
    qsort(s->order, n, sizeof *s->order, by_fused);
    for (size_t j = 0; j < n; j++) {
        size_t e = s->order[j].e;
        l->item[j] = s->item[e];
        l->fused[j] = s->order[j].score;
        memcpy(l->rank + j * nsrc, s->rank + e * nsrc, nsrc * sizeof *l->rank);
        memcpy(l->score + j * nsrc, s->score + e * nsrc, nsrc * sizeof *l->score);
    }
    l->n = n;
    l->nsrc = nsrc;
}

void rs_fuse_list_free(struct rs_fuse_list *l)
{
    struct rs_fuse_scratch *s = l->scratch;
    if (s) {
        free(s->item), free(s->rank), free(s->score), free(s->order), free(s->slot);
        free(s);
    }
    free(l->item), free(l->rank), free(l->score), free(l->fused);
    memset(l, 0, sizeof *l);
}

char *rs_fuse_col_name(const char *const *names, size_t c)
{
    static const char *const fixed[3] = { "rank", "score", "sources" };
    if (c < 3)
        return xstrdup(fixed[c]);
    const char *name = names[(c - 3) / 2], *suffix = (c - 3) % 2 ? "_score" : "_rank";
    char *s = xmalloc(strlen(name) + strlen(suffix) + 1);
    sprintf(s, "%s%s", name, suffix);
    return s;
}

/* n in decimal, as "%zu" prints it, without printf's cost: this runs for
 * every integer cell rs-merge writes and every one rs-serve ranks. */
static size_t put_uint(char *buf, size_t n)
{
    char rev[24];
    size_t len = 0;
    do
        rev[len++] = (char)('0' + n % 10);
    while (n /= 10);
    for (size_t i = 0; i < len; i++)
        buf[i] = rev[len - 1 - i];
    buf[len] = 0;
    return len;
}

size_t rs_fuse_field(const struct rs_fuse_list *l, size_t j, size_t c, char *buf)
{
    const uint32_t *rank = l->rank + j * l->nsrc;
    if (c == 0)
        return put_uint(buf, j + 1);
    if (c == 1) /* floats as rs_writer_put_float prints them */
        return (size_t)snprintf(buf, RS_FUSE_FIELD_MAX, "%.9g", l->fused[j]);
    if (c == 2) {
        size_t count = 0;
        for (size_t k = 0; k < l->nsrc; k++)
            count += rank[k] != 0;
        return put_uint(buf, count);
    }
    size_t k = (c - 3) / 2;
    *buf = 0;
    if (!rank[k])
        return 0;
    if ((c - 3) % 2 == 0)
        return put_uint(buf, rank[k]);
    return (size_t)snprintf(buf, RS_FUSE_FIELD_MAX, "%.9g", (double)l->score[j * l->nsrc + k]);
}

/* ---- a source's stream ---- */

static int intern(struct rs_strmap *m, struct rs_tsv *t, int col, uint32_t *id)
{
    if (rs_tsv_len(t, col) == 0)
        return rs_tsv_errf(t, col, "empty id");
    int64_t v = rs_strmap_put(m, rs_tsv_get(t, col), rs_tsv_len(t, col), NULL);
    if (v >= UINT32_MAX)
        return rs_tsv_errf(t, col, "more than 2^32 - 1 distinct ids");
    *id = (uint32_t)v;
    return 0;
}

/* The rows as read, before grouping by user. */
struct rows {
    size_t n, cap, read; /* read: every data row, those past per_source too */
    uint32_t *user, *item, *rank;
    float *score;
};

static void rows_free(struct rows *r)
{
    free(r->user), free(r->item), free(r->rank), free(r->score);
}

static void rows_push(struct rows *r, uint32_t u, uint32_t i, uint32_t rank, float score)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 4096;
        r->user = xrealloc(r->user, r->cap * sizeof *r->user);
        r->item = xrealloc(r->item, r->cap * sizeof *r->item);
        r->rank = xrealloc(r->rank, r->cap * sizeof *r->rank);
        r->score = xrealloc(r->score, r->cap * sizeof *r->score);
    }
    r->user[r->n] = u, r->item[r->n] = i, r->rank[r->n] = rank, r->score[r->n++] = score;
}

static int read_rows(struct rows *r, struct rs_tsv *t, const char *user_col, const char *item_col,
                     size_t per_source, struct rs_strmap *users, struct rs_strmap *items)
{
    int uc, ic, rc_col, sc, rc;
    if ((rc = rs_tsv_require(t, user_col, &uc)) < 0 || (rc = rs_tsv_require(t, item_col, &ic)) < 0 ||
        (rc = rs_tsv_require(t, "rank", &rc_col)) < 0 || (rc = rs_tsv_require(t, "score", &sc)) < 0)
        return rc;
    while ((rc = rs_tsv_next(t)) == 0) {
        uint32_t u, i;
        int64_t rank;
        float score;
        if ((rc = intern(users, t, uc, &u)) < 0 || (rc = intern(items, t, ic, &i)) < 0 ||
            (rc = rs_tsv_get_i64(t, rc_col, &rank)) < 0 || (rc = rs_tsv_get_f32(t, sc, &score)) < 0)
            return rc;
        if (rank < 1 || rank >= UINT32_MAX)
            return rs_tsv_errf(t, rc_col, "rank %lld out of range 1..2^32 - 2", (long long)rank);
        r->read++;
        if (!per_source || (size_t)rank <= per_source)
            rows_push(r, u, i, (uint32_t)rank, score);
    }
    return rc == RS_ERR_EOF ? 0 : rc;
}

/* Groups r's rows by user into l, keeping their order within a user. */
static void group_by_user(struct rs_fuse_lists *l, const struct rows *r, size_t nusers)
{
    size_t *pos = xmalloc((nusers + 1) * sizeof *pos);
    l->nusers = nusers;
    l->first = xcalloc(nusers + 1, sizeof *l->first);
    l->item = xmalloc((r->n ? r->n : 1) * sizeof *l->item);
    l->rank = xmalloc((r->n ? r->n : 1) * sizeof *l->rank);
    l->score = xmalloc((r->n ? r->n : 1) * sizeof *l->score);
    for (size_t j = 0; j < r->n; j++)
        l->first[r->user[j] + 1]++;
    for (size_t u = 0; u < nusers; u++)
        l->first[u + 1] += l->first[u];
    memcpy(pos, l->first, (nusers + 1) * sizeof *pos);
    for (size_t j = 0; j < r->n; j++) {
        size_t at = pos[r->user[j]]++;
        l->item[at] = r->item[j], l->rank[at] = r->rank[j], l->score[at] = r->score[j];
    }
    free(pos);
}

int rs_fuse_lists_read(struct rs_fuse_lists *l, struct rs_tsv *t, const char *name, const char *user_col,
                       const char *item_col, size_t per_source, struct rs_strmap *users, struct rs_strmap *items)
{
    struct rows r = { 0 };
    memset(l, 0, sizeof *l);
    int rc = read_rows(&r, t, user_col, item_col, per_source, users, items);
    if (rc == 0 && r.read == 0)
        rc = rs_err_set(RS_ERR_FORMAT, "'%s': source '%s' has no candidates", rs_tsv_name(t), name);
    if (rc == 0)
        group_by_user(l, &r, rs_strmap_size(users));
    rows_free(&r);
    return rc;
}

struct rs_fuse_in rs_fuse_lists_user(const struct rs_fuse_lists *l, size_t u)
{
    if (u >= l->nusers)
        return (struct rs_fuse_in){ 0 };
    size_t a = l->first[u];
    return (struct rs_fuse_in){ l->first[u + 1] - a, l->item + a, l->rank + a, l->score + a };
}

void rs_fuse_lists_free(struct rs_fuse_lists *l)
{
    free(l->first), free(l->item), free(l->rank), free(l->score);
    memset(l, 0, sizeof *l);
}

/* ---- rs-merge ---- */

struct rs_fuse {
    size_t nsrc;
    const char *const *names;
    struct rs_strmap *users, *items;
    struct rs_fuse_lists *src; /* (nsrc) */
    uint32_t *order; /* users to write (ids into users), or NULL: all */
    size_t norder;
};

struct rs_fuse *rs_fuse_new(size_t nsrc, const char *const *names)
{
    struct rs_fuse *f = xcalloc(1, sizeof *f);
    f->nsrc = nsrc;
    f->names = names;
    f->users = rs_strmap_new(1024);
    f->items = rs_strmap_new(1024);
    f->src = xcalloc(nsrc ? nsrc : 1, sizeof *f->src);
    return f;
}

void rs_fuse_free(struct rs_fuse *f)
{
    if (!f)
        return;
    rs_strmap_free(f->users);
    rs_strmap_free(f->items);
    for (size_t s = 0; s < f->nsrc; s++)
        rs_fuse_lists_free(&f->src[s]);
    free(f->src);
    free(f->order);
    free(f);
}

int rs_fuse_read(struct rs_fuse *f, size_t s, struct rs_tsv *t, const char *user_col, const char *item_col,
                 size_t per_source)
{
    return rs_fuse_lists_read(&f->src[s], t, f->names[s], user_col, item_col, per_source, f->users, f->items);
}

int rs_fuse_users(struct rs_fuse *f, struct rs_tsv *t, const char *user_col)
{
    int uc, rc = rs_tsv_require(t, user_col, &uc);
    if (rc < 0)
        return rc;
    size_t cap = 0;
    uint8_t *listed = xcalloc(rs_strmap_size(f->users) + 1, 1);
    while ((rc = rs_tsv_next(t)) == 0) {
        int64_t u = rs_strmap_get(f->users, rs_tsv_get(t, uc), rs_tsv_len(t, uc));
        if (u < 0 || listed[u])
            continue;
        listed[u] = 1;
        if (f->norder == cap) {
            cap = cap ? 2 * cap : 1024;
            f->order = xrealloc(f->order, cap * sizeof *f->order);
        }
        f->order[f->norder++] = (uint32_t)u;
    }
    free(listed);
    if (!f->order)
        f->order = xmalloc(sizeof *f->order); /* an empty list, not "all users" */
    return rc == RS_ERR_EOF ? 0 : rc;
}

static int write_header(const struct rs_fuse *f, struct rs_writer *w, const char *user_col, const char *item_col)
{
    int rc = rs_writer_put_text(w, user_col) | rs_writer_putc(w, '\t') | rs_writer_put_text(w, item_col);
    for (size_t c = 0; c < RS_FUSE_NCOLS(f->nsrc); c++) {
        char *name = rs_fuse_col_name(f->names, c);
        rc |= rs_writer_putc(w, '\t') | rs_writer_put_text(w, name);
        free(name);
    }
    return rc | rs_writer_putc(w, '\n');
}

static int write_row(const struct rs_fuse *f, struct rs_writer *w, const struct rs_fuse_list *l, size_t u,
                     size_t j)
{
    char buf[RS_FUSE_FIELD_MAX];
    size_t len;
    const char *s = rs_strmap_key(f->users, (int64_t)u, &len);
    int rc = rs_writer_put_field(w, s, len) | rs_writer_putc(w, '\t');
    s = rs_strmap_key(f->items, l->item[j], &len);
    rc |= rs_writer_put_field(w, s, len);
    for (size_t c = 0; c < RS_FUSE_NCOLS(f->nsrc); c++) {
        len = rs_fuse_field(l, j, c, buf);
        rc |= rs_writer_putc(w, '\t') | rs_writer_put_field(w, buf, len);
    }
    return rc | rs_writer_putc(w, '\n');
}

int rs_fuse_write(const struct rs_fuse *f, struct rs_writer *w, const char *user_col, const char *item_col,
                  double rrf_k, size_t keep, const struct rs_shard *shard)
{
    int rc = write_header(f, w, user_col, item_col);
    size_t nout = f->order ? f->norder : rs_strmap_size(f->users);
    struct rs_fuse_in *in = xmalloc((f->nsrc ? f->nsrc : 1) * sizeof *in);
    struct rs_fuse_list l = { 0 };
    for (size_t o = 0; rc == 0 && o < nout; o++) {
        size_t u = f->order ? f->order[o] : o, len;
        const char *key = rs_strmap_key(f->users, (int64_t)u, &len);
        if (shard && !rs_shard_has(shard, key, len))
            continue;
        for (size_t s = 0; s < f->nsrc; s++)
            in[s] = rs_fuse_lists_user(&f->src[s], u);
        rs_fuse_user(&l, in, f->nsrc, rrf_k);
        for (size_t j = 0; rc == 0 && j < l.n && (keep == 0 || j < keep); j++)
            rc = write_row(f, w, &l, u, j);
    }
    rs_fuse_list_free(&l);
    free(in);
    return rc;
}
