/* reco.c - loading a bundle and answering recommend / similar requests. */
#include "reco.h"
#include "ann.h"
#include "diversify.h"
#include "err.h"
#include "itemattr.h"
#include "knn.h"
#include "rsm.h"
#include "tower.h"
#include "towerembed.h"
#include "rsb.h"
#include "strmap.h"
#include "topk.h"
#include "tsv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct rs_reco {
    struct rs_embset items, users;
    struct rs_ann *ann;       /* NULL: exact search */
    uint32_t *ann_to_item, *item_to_ann;
    uint8_t *deny_ann;        /* deny in the index's item order */
    size_t nprobe, rerank;
    uint8_t *deny;            /* per item: out of stock */
    int32_t *group;           /* per item: group value id, -1 none; NULL: no diversification */
    size_t max_per_group, candidates;
    struct rs_strmap *seen_users;
    size_t *seen_off;         /* CSR: seen items of user u, sorted ascending */
    uint32_t *seen;
    uint32_t *popular;        /* items by event count, descending (ties: lower index) */
    float *popular_count;
    size_t npopular;
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Reads (user, item) pairs; builds the per-user seen lists and item counts. */
static int load_seen(struct rs_reco *r, const char *path)
{
    struct rs_tsv *t;
    int rc = rs_tsv_open(&t, path, 0), uc, ic;
    if (rc < 0)
        return rc;
    if ((rc = rs_tsv_require(t, "user_id", &uc)) < 0 || (rc = rs_tsv_require(t, "item_id", &ic)) < 0) {
        rs_tsv_close(t);
        return rc;
    }
    size_t n = 0, cap = 1024;
    uint32_t *pu = xmalloc(cap * sizeof *pu), *pi = xmalloc(cap * sizeof *pi);
    uint64_t *count = xcalloc(r->items.n, sizeof *count);
    r->seen_users = rs_strmap_new(1024);
    while ((rc = rs_tsv_next(t)) == 0) {
        int64_t item = rs_strmap_get(r->items.ids, rs_tsv_get(t, ic), rs_tsv_len(t, ic));
        if (item < 0)
            continue; /* an item without an embedding can never be recommended */
        if (n == cap) {
            cap *= 2;
            pu = xrealloc(pu, cap * sizeof *pu);
            pi = xrealloc(pi, cap * sizeof *pi);
        }
        pu[n] = (uint32_t)rs_strmap_put(r->seen_users, rs_tsv_get(t, uc), rs_tsv_len(t, uc), NULL);
        pi[n++] = (uint32_t)item;
        count[item]++;
    }
    rs_tsv_close(t);
    if (rc == RS_ERR_EOF) {
        size_t nu = rs_strmap_size(r->seen_users);
        r->seen_off = xcalloc(nu + 1, sizeof *r->seen_off);
        r->seen = xmalloc((n ? n : 1) * sizeof *r->seen);
        for (size_t e = 0; e < n; e++)
            r->seen_off[pu[e] + 1]++;
        for (size_t u = 0; u < nu; u++)
            r->seen_off[u + 1] += r->seen_off[u];
        size_t *fill = xmalloc((nu + 1) * sizeof *fill);
        memcpy(fill, r->seen_off, (nu + 1) * sizeof *fill);
        for (size_t e = 0; e < n; e++)
            r->seen[fill[pu[e]]++] = pi[e];
        for (size_t u = 0; u < nu; u++)
            qsort(r->seen + r->seen_off[u], r->seen_off[u + 1] - r->seen_off[u], sizeof *r->seen, cmp_u32);
        free(fill);
        /* popularity: the most frequent items, ties to the lower index */
        struct rs_topk top;
        rs_topk_init(&top, r->items.n < 1000 ? r->items.n : 1000);
        for (size_t i = 0; i < r->items.n; i++)
            rs_topk_push(&top, (float)count[i], (int64_t)i);
        r->npopular = rs_topk_sort(&top);
        r->popular = xmalloc((r->npopular ? r->npopular : 1) * sizeof *r->popular);
        r->popular_count = xmalloc((r->npopular ? r->npopular : 1) * sizeof *r->popular_count);
        for (size_t j = 0; j < r->npopular; j++) {
            r->popular[j] = (uint32_t)top.id[j];
            r->popular_count[j] = top.score[j];
        }
        rs_topk_free(&top);
        rc = 0;
    }
    free(pu);
    free(pi);
    free(count);
    return rc;
}

static int load_items(struct rs_reco *r, const struct rs_reco_opts *o)
{
    const char *cols[2];
    size_t ncols = 0;
    struct rs_itemattr a = { 0 };
    struct rs_tsv *t;
    int rc = rs_tsv_open(&t, o->items, 0);
    if (rc < 0)
        return rc;
    int has_stock = rs_tsv_col(t, "in_stock") >= 0;
    rs_tsv_close(t);
    if (has_stock)
        cols[ncols++] = "in_stock";
    if (o->group_col)
        cols[ncols++] = o->group_col;
    if (ncols == 0)
        return 0;
    if ((rc = rs_itemattr_load(&a, &o->items, 1, "item_id", cols, ncols)) < 0)
        return rc;
    r->deny = xcalloc(r->items.n, 1);
    if (o->group_col)
        r->group = xmalloc(r->items.n * sizeof *r->group);
    int32_t zero = has_stock ? rs_itemattr_value(&a, 0, "0", 1) : -1;
    for (size_t i = 0; i < r->items.n; i++) {
        size_t len;
        const char *id = rs_strmap_key(r->items.ids, (int64_t)i, &len);
        if (has_stock)
            r->deny[i] = zero >= 0 && rs_itemattr_get(&a, 0, id, len) == zero;
        if (o->group_col)
            r->group[i] = rs_itemattr_get(&a, (int)ncols - 1, id, len);
    }
    rs_itemattr_free(&a);
    return 0;
}

/* Opens the index and maps its items onto the embeddings' rows: the same
 * catalogue is required, in any order. */
static int load_index(struct rs_reco *r, const char *path, const char *items_path)
{
    int rc = rs_ann_open(&r->ann, path);
    if (rc < 0)
        return rc;
    size_t n = rs_ann_size(r->ann);
    if (n != r->items.n || rs_ann_dims(r->ann) != r->items.dims)
        return rs_err_set(RS_ERR_FORMAT, "'%s' holds %zu items of %u dims, '%s' %zu of %u", path, n,
                          rs_ann_dims(r->ann), items_path, r->items.n, r->items.dims);
    r->ann_to_item = xmalloc((n ? n : 1) * sizeof *r->ann_to_item);
    r->item_to_ann = xmalloc((n ? n : 1) * sizeof *r->item_to_ann);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *id = rs_ann_id(r->ann, i, &len);
        int64_t row = rs_strmap_get(r->items.ids, id, len);
        if (row < 0)
            return rs_err_set(RS_ERR_FORMAT, "'%s': item '%.*s' is not in '%s'", path, (int)(len > 64 ? 64 : len),
                              id, items_path);
        r->ann_to_item[i] = (uint32_t)row;
        r->item_to_ann[row] = (uint32_t)i;
    }
    return 0;
}

static int keep_user(void *ctx, char **ids, const size_t *lens, const float *z, size_t n)
{
    struct rs_embset *u = ctx;
    u->x = xrealloc(u->x, (u->n + n) * u->dims * sizeof *u->x);
    for (size_t b = 0; b < n; b++) {
        int added;
        rs_strmap_put(u->ids, ids[b], lens[b], &added);
        if (!added)
            return rs_err_set(RS_ERR_FORMAT, "duplicate user id '%.*s'", (int)(lens[b] > 64 ? 64 : lens[b]), ids[b]);
        memcpy(u->x + (u->n + b) * u->dims, z + b * u->dims, u->dims * sizeof *u->x);
    }
    u->n += n;
    return 0;
}

/* The user tower of model, run over every row of the users table: the same
 * code as rs-embed, so the vectors are the ones it would write. */
static int embed_users(struct rs_reco *r, const char *model, const char *users)
{
    struct rs_rsm *m = NULL;
    struct rs_tower t = { 0 };
    struct rs_tsv *tb = NULL;
    int rc = rs_rsm_load(&m, model);
    if (rc == 0)
        rc = rs_tower_from_rsm(&t, m);
    if (rc == 0)
        rc = rs_tower_load_pretrained(&t);
    if (rc == 0)
        rc = rs_tsv_open(&tb, users, 0);
    if (rc == 0) {
        r->users.dims = (uint32_t)t.d;
        r->users.ids = rs_strmap_new(1024);
        rc = rs_tower_embed_table(&t, RS_SIDE_USER, tb, t.side[RS_SIDE_USER].id_col, keep_user, &r->users);
    }
    rs_tsv_close(tb);
    rs_tower_free(&t);
    rs_rsm_free(m);
    return rc;
}

int rs_reco_load(struct rs_reco **rp, const struct rs_reco_opts *o)
{
    struct rs_reco *r = xcalloc(1, sizeof *r);
    r->candidates = o->candidates ? o->candidates : RS_RECO_DEFAULT_CANDIDATES;
    r->max_per_group = o->max_per_group;
    int rc = rs_embset_load(&r->items, o->items_emb);
    const char *users_src = o->model ? o->model : o->users_emb;
    if (rc == 0 && o->model && o->users)
        rc = embed_users(r, o->model, o->users);
    else if (rc == 0 && o->users_emb)
        rc = rs_embset_load(&r->users, o->users_emb);
    if (rc == 0 && r->users.ids && r->users.dims != r->items.dims)
        rc = rs_err_set(RS_ERR_FORMAT, "'%s' has %u dims, '%s' has %u", users_src, r->users.dims,
                        o->items_emb, r->items.dims);
    if (rc == 0 && o->seen)
        rc = load_seen(r, o->seen);
    if (rc == 0 && o->items)
        rc = load_items(r, o);
    if (rc == 0 && o->index)
        rc = load_index(r, o->index, o->items_emb);
    if (rc == 0 && r->ann && r->deny) {
        r->deny_ann = xmalloc(r->items.n);
        for (size_t i = 0; i < r->items.n; i++)
            r->deny_ann[i] = r->deny[r->ann_to_item[i]];
    }
    r->nprobe = o->nprobe ? o->nprobe : 16;
    r->rerank = o->rerank;
    if (rc < 0) {
        rs_reco_free(r);
        return rc;
    }
    *rp = r;
    return 0;
}

void rs_reco_free(struct rs_reco *r)
{
    if (!r)
        return;
    rs_embset_free(&r->items);
    rs_embset_free(&r->users);
    rs_ann_close(r->ann);
    free(r->ann_to_item);
    free(r->item_to_ann);
    free(r->deny_ann);
    rs_strmap_free(r->seen_users);
    free(r->seen_off);
    free(r->seen);
    free(r->popular);
    free(r->popular_count);
    free(r->deny);
    free(r->group);
    free(r);
}

size_t rs_reco_nitems(const struct rs_reco *r) { return r->items.n; }
uint32_t rs_reco_dims(const struct rs_reco *r) { return r->items.dims; }

static void list_reserve(struct rs_reco_list *l, size_t n)
{
    if (n > l->cap) {
        l->cap = n;
        l->ids = xrealloc(l->ids, n * sizeof *l->ids);
        l->scores = xrealloc(l->scores, n * sizeof *l->scores);
    }
    l->n = 0;
    l->fallback = 0;
}

static void list_push(struct rs_reco_list *l, const struct rs_reco *r, size_t item, float score)
{
    l->ids[l->n] = rs_strmap_key(r->items.ids, (int64_t)item, NULL);
    l->scores[l->n++] = score;
}

void rs_reco_list_free(struct rs_reco_list *l)
{
    free(l->ids);
    free(l->scores);
    memset(l, 0, sizeof *l);
}

/* One query through the index: the filter is translated to the index's item
 * order and the results back to the embeddings' rows. */
static void ann_search(const struct rs_reco *r, const float *q, const struct rs_knn_filter *f, size_t k,
                       int64_t *ids, float *scores, size_t *count)
{
    size_t nex = f->excl ? f->excl_off[1] : 0, off[2] = { 0, nex };
    uint32_t *ex = xmalloc((nex ? nex : 1) * sizeof *ex);
    for (size_t j = 0; j < nex; j++)
        ex[j] = r->item_to_ann[f->excl[j]];
    qsort(ex, nex, sizeof *ex, cmp_u32);
    int64_t self = f->self ? (int64_t)r->item_to_ann[*f->self] : -1;
    struct rs_knn_filter g = { .deny = r->deny_ann, .excl_off = off, .excl = ex, .self = f->self ? &self : NULL };
    struct rs_ann_search_opts o = { .nprobe = r->nprobe, .rerank = r->rerank, .threads = 1 };
    rs_ann_search(r->ann, q, 1, k, &o, &g, ids, scores, count);
    for (size_t j = 0; j < *count; j++)
        ids[j] = r->ann_to_item[ids[j]];
    free(ex);
}

/* Top-k (or top candidates, when diversifying) for one query vector. */
static void search(const struct rs_reco *r, const float *q, const struct rs_knn_filter *f, size_t k,
                   struct rs_reco_list *out)
{
    size_t depth = r->group && r->max_per_group ? (r->candidates > k ? r->candidates : k) : k;
    int64_t *ids = xmalloc(depth * sizeof *ids);
    float *scores = xmalloc(depth * sizeof *scores);
    size_t count;
    if (r->ann)
        ann_search(r, q, f, depth, ids, scores, &count);
    else
        rs_knn_search(q, 1, r->items.x, r->items.n, r->items.dims, depth, f, 1, ids, scores, &count);
    list_reserve(out, depth);
    if (depth == k) {
        for (size_t j = 0; j < count; j++)
            list_push(out, r, (size_t)ids[j], scores[j]);
    } else {
        struct rs_div_cand *c = xcalloc(count ? count : 1, sizeof *c);
        size_t *pick = xmalloc((count ? count : 1) * sizeof *pick);
        for (size_t j = 0; j < count; j++)
            c[j] = (struct rs_div_cand){ .pos = (uint32_t)j, .group = r->group[ids[j]], .score = scores[j] };
        struct rs_div_params p = { .top_n = k, .mode = RS_DIV_SCORE, .max_per_group = r->max_per_group };
        size_t n = rs_div_rerank(c, count, &p, pick);
        for (size_t j = 0; j < n; j++)
            list_push(out, r, (size_t)ids[pick[j]], (float)c[pick[j]].score);
        free(c);
        free(pick);
    }
    free(ids);
    free(scores);
}

int rs_reco_similar(const struct rs_reco *r, const char *item, size_t k, struct rs_reco_list *out)
{
    int64_t i = rs_strmap_get(r->items.ids, item, strlen(item));
    if (i < 0)
        return rs_err_set(RS_ERR_USAGE, "unknown item '%.64s'", item);
    struct rs_knn_filter f = { .deny = r->deny, .self = &i };
    search(r, r->items.x + (size_t)i * r->items.dims, &f, k, out);
    return 0;
}

int rs_reco_recommend_vec(const struct rs_reco *r, const char *user, const float *vec, size_t k,
                          struct rs_reco_list *out)
{
    size_t off[2] = { 0, 0 };
    const uint32_t *excl = NULL;
    int64_t u = user && r->seen_users ? rs_strmap_get(r->seen_users, user, strlen(user)) : -1;
    if (u >= 0) {
        excl = r->seen + r->seen_off[u];
        off[1] = r->seen_off[u + 1] - r->seen_off[u];
    }
    struct rs_knn_filter f = { .deny = r->deny, .excl_off = off, .excl = excl };
    search(r, vec, &f, k, out);
    return 0;
}

int rs_reco_recommend(const struct rs_reco *r, const char *user, size_t k, struct rs_reco_list *out)
{
    int64_t u = r->users.ids ? rs_strmap_get(r->users.ids, user, strlen(user)) : -1;
    if (u >= 0)
        return rs_reco_recommend_vec(r, user, r->users.x + (size_t)u * r->users.dims, k, out);
    list_reserve(out, k);
    out->fallback = 1;
    for (size_t j = 0; j < r->npopular && out->n < k; j++)
        if (!r->deny || !r->deny[r->popular[j]])
            list_push(out, r, r->popular[j], r->popular_count[j]);
    return 0;
}

long rs_reco_parse_k(const char *s, long dflt, long max)
{
    if (!s)
        return dflt;
    if (*s < '0' || *s > '9') /* strtol would take spaces and a sign */
        return -1;
    char *end;
    errno = 0;
    long k = strtol(s, &end, 10);
    return !*end && !errno && k >= 1 && k <= max ? k : -1;
}
