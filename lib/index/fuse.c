/* fuse.c - see fuse.h. Every (user, item) pair proposed by any source is an
 * entry; entries keep their order of first appearance, which breaks ties. */
#include "index/fuse.h"
#include "core/err.h"
#include "core/pairset.h"
#include "core/strmap.h"
#include "io/io.h"
#include "io/tsv.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct rs_fuse {
    size_t nsrc;
    const char *const *names;
    struct rs_strmap *users, *items;
    struct rs_pairmap *pairs; /* (user, item) -> entry */
    uint32_t *user, *item; /* entry e's ids */
    uint32_t *rank;        /* [e * nsrc + s], 0: not proposed by s */
    float *score;          /* [e * nsrc + s] */
    size_t n, cap;
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
    f->pairs = rs_pairmap_new(1 << 16);
    return f;
}

void rs_fuse_free(struct rs_fuse *f)
{
    if (!f)
        return;
    rs_strmap_free(f->users);
    rs_strmap_free(f->items);
    rs_pairmap_free(f->pairs);
    free(f->user);
    free(f->item);
    free(f->rank);
    free(f->score);
    free(f->order);
    free(f);
}

static size_t entry(struct rs_fuse *f, uint32_t u, uint32_t i)
{
    int added;
    size_t e = rs_pairmap_put(f->pairs, u, i, &added);
    if (!added)
        return e;
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 4096;
        f->user = xrealloc(f->user, f->cap * sizeof *f->user);
        f->item = xrealloc(f->item, f->cap * sizeof *f->item);
        f->rank = xrealloc(f->rank, f->cap * f->nsrc * sizeof *f->rank);
        f->score = xrealloc(f->score, f->cap * f->nsrc * sizeof *f->score);
    }
    f->user[e] = u;
    f->item[e] = i;
    memset(f->rank + e * f->nsrc, 0, f->nsrc * sizeof *f->rank);
    memset(f->score + e * f->nsrc, 0, f->nsrc * sizeof *f->score);
    f->n++;
    return e;
}

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

int rs_fuse_read(struct rs_fuse *f, size_t s, struct rs_tsv *t, const char *user_col, const char *item_col,
                 size_t per_source)
{
    int uc, ic, rc_col, sc, rc;
    if ((rc = rs_tsv_require(t, user_col, &uc)) < 0 || (rc = rs_tsv_require(t, item_col, &ic)) < 0 ||
        (rc = rs_tsv_require(t, "rank", &rc_col)) < 0 || (rc = rs_tsv_require(t, "score", &sc)) < 0)
        return rc;
    size_t rows = 0;
    while ((rc = rs_tsv_next(t)) == 0) {
        uint32_t u, i;
        int64_t rank;
        float score;
        if ((rc = intern(f->users, t, uc, &u)) < 0 || (rc = intern(f->items, t, ic, &i)) < 0 ||
            (rc = rs_tsv_get_i64(t, rc_col, &rank)) < 0 || (rc = rs_tsv_get_f32(t, sc, &score)) < 0)
            return rc;
        if (rank < 1 || rank >= UINT32_MAX)
            return rs_tsv_errf(t, rc_col, "rank %lld out of range 1..2^32 - 2", (long long)rank);
        rows++;
        if (per_source && (size_t)rank > per_source)
            continue;
        size_t e = entry(f, u, i), k = e * f->nsrc + s;
        if (f->rank[k] == 0 || (uint32_t)rank < f->rank[k]) {
            f->rank[k] = (uint32_t)rank;
            f->score[k] = score;
        }
    }
    if (rc != RS_ERR_EOF)
        return rc;
    if (rows == 0)
        return rs_err_set(RS_ERR_FORMAT, "'%s': source '%s' has no candidates", rs_tsv_name(t), f->names[s]);
    return 0;
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

struct fused {
    double score;
    size_t e;
};

static int by_fused(const void *a, const void *b)
{
    const struct fused *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->e < y->e ? -1 : x->e > y->e;
}

static int write_row(const struct rs_fuse *f, struct rs_writer *w, const struct fused *r, size_t rank)
{
    size_t e = r->e, len, n = 0;
    const char *s = rs_strmap_key(f->users, f->user[e], &len);
    int rc = rs_writer_write(w, s, len) | rs_writer_putc(w, '\t');
    s = rs_strmap_key(f->items, f->item[e], &len);
    rc |= rs_writer_write(w, s, len) | rs_writer_printf(w, "\t%zu\t", rank) | rs_writer_put_float(w, r->score);
    for (size_t k = 0; k < f->nsrc; k++)
        n += f->rank[e * f->nsrc + k] != 0;
    rc |= rs_writer_printf(w, "\t%zu", n);
    for (size_t k = 0; k < f->nsrc; k++) {
        size_t i = e * f->nsrc + k;
        if (f->rank[i])
            rc |= rs_writer_printf(w, "\t%u\t", f->rank[i]) | rs_writer_put_float(w, f->score[i]);
        else
            rc |= rs_writer_write(w, "\t\t", 2);
    }
    return rc | rs_writer_putc(w, '\n');
}

/* Entries grouped by user: first[u] .. first[u + 1] index into by_user,
 * in entry order. */
static void group_by_user(const struct rs_fuse *f, size_t nusers, size_t **first, size_t **by_user)
{
    size_t *start = xcalloc(nusers + 1, sizeof *start), *pos = xmalloc((nusers + 1) * sizeof *pos);
    size_t *idx = xmalloc((f->n ? f->n : 1) * sizeof *idx);
    for (size_t e = 0; e < f->n; e++)
        start[f->user[e] + 1]++;
    for (size_t u = 0; u < nusers; u++)
        start[u + 1] += start[u];
    memcpy(pos, start, (nusers + 1) * sizeof *pos);
    for (size_t e = 0; e < f->n; e++)
        idx[pos[f->user[e]]++] = e;
    free(pos);
    *first = start;
    *by_user = idx;
}

int rs_fuse_write(const struct rs_fuse *f, struct rs_writer *w, const char *user_col, const char *item_col,
                  double rrf_k, size_t keep)
{
    int rc = rs_writer_printf(w, "%s\t%s\trank\tscore\tsources", user_col, item_col);
    for (size_t k = 0; k < f->nsrc; k++)
        rc |= rs_writer_printf(w, "\t%s_rank\t%s_score", f->names[k], f->names[k]);
    rc |= rs_writer_putc(w, '\n');
    size_t nusers = rs_strmap_size(f->users), *first, *by_user;
    group_by_user(f, nusers, &first, &by_user);
    struct fused *list = xmalloc((f->n ? f->n : 1) * sizeof *list);
    size_t nout = f->order ? f->norder : nusers;
    for (size_t o = 0; rc == 0 && o < nout; o++) {
        size_t u = f->order ? f->order[o] : o, n = first[u + 1] - first[u];
        for (size_t j = 0; j < n; j++) {
            size_t e = by_user[first[u] + j];
            double s = 0;
            for (size_t k = 0; k < f->nsrc; k++)
                if (f->rank[e * f->nsrc + k])
                    s += 1.0 / (rrf_k + f->rank[e * f->nsrc + k]);
            list[j] = (struct fused){ s, e };
        }
        qsort(list, n, sizeof *list, by_fused);
        for (size_t j = 0; rc == 0 && j < n && (keep == 0 || j < keep); j++)
            rc = write_row(f, w, &list[j], j + 1);
    }
    free(list);
    free(first);
    free(by_user);
    return rc;
}
