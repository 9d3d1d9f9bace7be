/* reco.c - loading a bundle and answering recommend / similar requests. */
#include "serve/reco.h"
#include "index/ann.h"
#include "rerank/diversify.h"
#include "index/cands.h"
#include "core/err.h"
#include "io/itemattr.h"
#include "index/knn.h"
#include "model/rank.h"
#include "model/rank_encode.h"
#include "io/rsb.h"
#include "io/rsm.h"
#include "core/strmap.h"
#include "core/topk.h"
#include "model/tower.h"
#include "model/tower_embed.h"
#include "io/tsv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rs_reco {
    struct rs_embset items, users;
    int users_source;         /* RS_RECO_SRC_EMBEDDING or _TOWER */
    struct rs_ann *ann;       /* NULL: exact search */
    uint32_t *ann_to_item, *item_to_ann;
    uint8_t *deny_ann;        /* deny in the index's item order */
    size_t nprobe, rerank;
    uint8_t *deny;            /* per item: out of stock */
    int32_t *group;           /* per item: group value id, -1 none; NULL: no diversification */
    size_t max_per_group, candidates;
    struct rs_seen seen;      /* items each user interacted with */
    uint32_t *popular;        /* items by event count, descending (ties: lower index) */
    float *popular_count;
    size_t npopular;
    struct rs_tower *tower;   /* embeds request features; NULL without a model */
    char *id_cols[2];         /* its id column names (they lived in the model file's header) */
    char *feature_names;      /* its user feature columns but the id, comma-separated */
    struct rs_rank_model *rank; /* NULL: no ranker */
    struct rs_rank_table *rank_users, *rank_items;
    struct rs_rank_io rank_io;
    int rank_reads[2];        /* the ranker reads the candidates' "rank", "score" columns */
    char *context_names;      /* ranker columns no table holds */
};

/* Columns of rs-retrieve's candidates stream beyond the user and the item. */
static const char *const cand_cols[2] = { "rank", "score" };

const char *rs_reco_source_name(int source)
{
    static const char *const names[] = { "?", "embedding", "tower", "tower-features", "popular", "item" };
    return source >= 1 && source <= 5 ? names[source] : names[0];
}

/* Reads (user, item) pairs: the per-user seen lists, and the most frequent
 * items (by event count, ties to the lower index) for the popular fallback. */
static int load_seen(struct rs_reco *r, const char *path)
{
    uint64_t *count = xcalloc(r->items.n + 1, sizeof *count);
    int rc = rs_seen_load(&r->seen, path, "user_id", "item_id", r->items.ids, count);
    if (rc == 0) {
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
    }
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

/* Appends name to a comma-separated list. */
static void names_add(char **list, const char *name)
{
    size_t n = *list ? strlen(*list) : 0;
    *list = xrealloc(*list, n + strlen(name) + 2);
    sprintf(*list + n, "%s%s", n ? "," : "", name);
}

/* The two-tower model, kept for request features; with a users table, its
 * user tower runs over every row: the same code as rs-embed, so the vectors
 * are the ones it would write. */
static int load_tower(struct rs_reco *r, const char *model, const char *users)
{
    struct rs_rsm *m = NULL;
    struct rs_tsv *tb = NULL;
    r->tower = xcalloc(1, sizeof *r->tower);
    int rc = rs_rsm_load(&m, model);
    if (rc == 0)
        rc = rs_tower_from_rsm(r->tower, m);
    for (int s = 0; rc == 0 && s < 2; s++) {
        r->id_cols[s] = xstrdup(r->tower->side[s].id_col);
        rs_tower_set_id_col(r->tower, s, r->id_cols[s]);
    }
    rs_rsm_free(m);
    if (rc == 0)
        rc = rs_tower_load_pretrained(r->tower);
    if (rc == 0 && r->tower->d != r->items.dims)
        rc = rs_err_set(RS_ERR_FORMAT, "'%s' embeds in %zu dims, the items have %u", model, r->tower->d,
                        r->items.dims);
    if (rc == 0 && users)
        rc = rs_tsv_open(&tb, users, 0);
    if (rc == 0 && users) {
        r->users.dims = (uint32_t)r->tower->d;
        r->users.ids = rs_strmap_new(1024);
        r->users_source = RS_RECO_SRC_TOWER;
        rc = rs_tower_embed_table(r->tower, RS_SIDE_USER, tb, r->tower->side[RS_SIDE_USER].id_col, 1,
                                  keep_user, &r->users);
    }
    rs_tsv_close(tb);
    const struct rs_tower_side *sd = &r->tower->side[RS_SIDE_USER];
    for (size_t k = 0; rc == 0 && k < sd->nf; k++)
        if (strcmp(rs_tower_column(r->tower, RS_SIDE_USER, k), sd->id_col) != 0)
            names_add(&r->feature_names, rs_tower_column(r->tower, RS_SIDE_USER, k));
    return rc;
}

/* The ranker and its tables; tower_score is the dot product of the
 * request's user vector and the item's row of the item embeddings. */
static int load_ranker(struct rs_reco *r, const struct rs_reco_opts *o)
{
    r->rank = xcalloc(1, sizeof *r->rank);
    rs_rank_io_defaults(&r->rank_io);
    int rc = rs_rank_model_load(r->rank, o->ranker);
    if (rc == 0 && o->rank_users)
        rc = rs_rank_table_load(&r->rank_users, o->rank_users, r->rank_io.user_col, r->rank);
    if (rc == 0 && o->rank_items)
        rc = rs_rank_table_load(&r->rank_items, o->rank_items, r->rank_io.item_col, r->rank);
    if (rc < 0)
        return rc;
    r->rank_io.users = r->rank_users;
    r->rank_io.items = r->rank_items;
    r->rank_io.user_emb = &r->users;
    r->rank_io.item_emb = &r->items;
    for (int j = 0; j < 2; j++)
        r->rank_reads[j] = rs_rank_uses(r->rank, cand_cols[j]);
    /* what no row column, table or embedding gives: an empty list resolves it */
    const char *names[4] = { r->rank_io.user_col, r->rank_io.item_col, cand_cols[0], cand_cols[1] };
    struct rs_rank_rows none = { .ncols = 4, .names = names };
    struct rs_rank_read_stats st = { 0 };
    rc = rs_rank_score_rows(r->rank, &r->rank_io, &none, NULL, NULL, &st);
    r->context_names = xstrdup(st.missing);
    return rc;
}

int rs_reco_load(struct rs_reco **rp, const struct rs_reco_opts *o)
{
    struct rs_reco *r = xcalloc(1, sizeof *r);
    r->candidates = o->candidates ? o->candidates : RS_RECO_DEFAULT_CANDIDATES;
    r->max_per_group = o->max_per_group;
    int rc = rs_embset_load(&r->items, o->items_emb);
    if (rc == 0 && o->model)
        rc = load_tower(r, o->model, o->users);
    if (rc == 0 && o->users_emb) {
        r->users_source = RS_RECO_SRC_EMBEDDING;
        rc = rs_embset_load(&r->users, o->users_emb);
        if (rc == 0 && r->users.dims != r->items.dims)
            rc = rs_err_set(RS_ERR_FORMAT, "'%s' has %u dims, '%s' has %u", o->users_emb, r->users.dims,
                            o->items_emb, r->items.dims);
    }
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
    if (rc == 0 && o->ranker)
        rc = load_ranker(r, o);
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
    rs_seen_free(&r->seen);
    free(r->popular);
    free(r->popular_count);
    free(r->deny);
    free(r->group);
    if (r->tower)
        rs_tower_free(r->tower);
    free(r->tower);
    free(r->id_cols[0]);
    free(r->id_cols[1]);
    free(r->feature_names);
    if (r->rank)
        rs_rank_model_free(r->rank);
    free(r->rank);
    rs_rank_table_free(r->rank_users);
    rs_rank_table_free(r->rank_items);
    free(r->context_names);
    free(r);
}

size_t rs_reco_nitems(const struct rs_reco *r) { return r->items.n; }
uint32_t rs_reco_dims(const struct rs_reco *r) { return r->items.dims; }
const char *rs_reco_feature_names(const struct rs_reco *r) { return r->feature_names ? r->feature_names : ""; }
const char *rs_reco_context_names(const struct rs_reco *r) { return r->context_names ? r->context_names : ""; }

static void list_reserve(struct rs_reco_list *l, size_t n)
{
    if (n > l->cap) {
        l->cap = n;
        l->ids = xrealloc(l->ids, n * sizeof *l->ids);
        l->scores = xrealloc(l->scores, n * sizeof *l->scores);
        l->p = xrealloc(l->p, 2 * n * sizeof *l->p);
    }
    l->n = 0;
    l->ranked = 0;
}

static void list_push(struct rs_reco_list *l, const struct rs_reco *r, size_t item, double score)
{
    l->ids[l->n] = rs_strmap_key(r->items.ids, (int64_t)item, NULL);
    l->scores[l->n++] = score;
}

void rs_reco_list_free(struct rs_reco_list *l)
{
    free(l->ids);
    free(l->scores);
    free(l->p);
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
    rs_knn_sort_excl(ex, nex);
    int64_t self = f->self ? (int64_t)r->item_to_ann[*f->self] : -1;
    struct rs_knn_filter g = { .deny = r->deny_ann, .excl_off = off, .excl = ex, .self = f->self ? &self : NULL };
    struct rs_ann_search_opts o = { .nprobe = r->nprobe, .rerank = r->rerank, .threads = 1 };
    rs_ann_search(r->ann, q, 1, k, &o, &g, ids, scores, count);
    for (size_t j = 0; j < *count; j++)
        ids[j] = r->ann_to_item[ids[j]];
    free(ex);
}

/* Retrieved candidates, best first. */
struct cands {
    size_t n;
    int64_t *ids;   /* item rows */
    float *scores;
};

static void cands_alloc(struct cands *c, size_t depth)
{
    c->n = 0;
    c->ids = xmalloc((depth ? depth : 1) * sizeof *c->ids);
    c->scores = xmalloc((depth ? depth : 1) * sizeof *c->scores);
}

static void cands_free(struct cands *c)
{
    free(c->ids);
    free(c->scores);
}

/* The top depth items for query vector q that pass f. */
static void search(const struct rs_reco *r, const float *q, const struct rs_knn_filter *f, size_t depth,
                   struct cands *c)
{
    cands_alloc(c, depth);
    if (r->ann)
        ann_search(r, q, f, depth, c->ids, c->scores, &c->n);
    else
        rs_knn_search(q, 1, r->items.x, r->items.n, r->items.dims, depth, f, 1, c->ids, c->scores, &c->n);
}

/* The most popular items that pass f, at most depth; score: the count. */
static void popular(const struct rs_reco *r, const struct rs_knn_filter *f, size_t depth, struct cands *c)
{
    cands_alloc(c, depth);
    for (size_t j = 0; j < r->npopular && c->n < depth; j++)
        if (!rs_knn_filtered(f, 0, r->popular[j])) {
            c->ids[c->n] = r->popular[j];
            c->scores[c->n++] = r->popular_count[j];
        }
}

/* Scores c with the ranker: p (c->n, 2), order (c->n) by score. The rows
 * are those of rs-retrieve's candidates stream for the user (user, item,
 * rank, score; only the columns the ranker reads) plus the context: every
 * request value named like a column the ranker reads. */
static int rank(const struct rs_reco *r, const struct rs_reco_req *q, const float *uvec, const struct cands *c,
                float *p, uint32_t *order)
{
    size_t nc = 0, w = 56; /* w: room for one row's rank (24 bytes) and score text */
    const char **names = xmalloc((4 + q->n) * sizeof *names), **ctx = xmalloc((4 + q->n) * sizeof *ctx);
    int col[2] = { -1, -1 };
    names[nc++] = r->rank_io.user_col;
    names[nc++] = r->rank_io.item_col;
    for (int j = 0; j < 2; j++)
        if (r->rank_reads[j])
            col[j] = (int)nc, names[nc++] = cand_cols[j];
    size_t nfixed = nc;
    for (size_t j = 0; j < q->n; j++) {
        size_t dup = 0;
        while (dup < nc && strcmp(names[dup], q->names[j]) != 0)
            dup++;
        if (dup == nc && rs_rank_uses(r->rank, q->names[j]))
            ctx[nc] = q->vals[j], names[nc++] = q->names[j];
    }
    const char **vals = xmalloc((c->n * nc + 1) * sizeof *vals);
    char *text = xmalloc(c->n * w + 1);
    for (size_t i = 0; i < c->n; i++) {
        const char **v = vals + i * nc;
        char *t = text + i * w;
        v[0] = q->user;
        v[1] = rs_strmap_key(r->items.ids, c->ids[i], NULL);
        if (col[0] >= 0) /* as rs_cands_write prints them */
            snprintf(t, 24, "%zu", i + 1), v[col[0]] = t;
        if (col[1] >= 0)
            snprintf(t + 24, w - 24, "%.9g", (double)c->scores[i]), v[col[1]] = t + 24;
        for (size_t j = nfixed; j < nc; j++)
            v[j] = ctx[j];
    }
    struct rs_rank_rows rows = { .n = c->n, .ncols = nc, .names = names, .vals = vals, .user_vec = uvec };
    int rc = rs_rank_score_rows(r->rank, &r->rank_io, &rows, p, order, NULL);
    free(names), free(ctx), free(vals), free(text);
    return rc;
}

/* The final (at most) k of c, taken in the ranker's order (p, order; NULL:
 * retrieval order): under the group cap when diversifying, else the first k. */
static void finish(const struct rs_reco *r, const struct cands *c, const float *p, const uint32_t *order, size_t k,
                   struct rs_reco_list *out)
{
    list_reserve(out, k);
    out->ranked = p != NULL;
    size_t n = c->n, *pick = xmalloc((n ? n : 1) * sizeof *pick), npick = n < k ? n : k;
    double *score = xmalloc((n ? n : 1) * sizeof *score);
    for (size_t j = 0; j < n; j++) {
        size_t i = order ? order[j] : j;
        score[j] = p ? (double)p[2 * i] + p[2 * i + 1] : c->scores[i];
        pick[j] = j;
    }
    if (r->group && r->max_per_group) {
        struct rs_div_cand *dc = xcalloc(n ? n : 1, sizeof *dc);
        for (size_t j = 0; j < n; j++)
            dc[j] = (struct rs_div_cand){ .pos = (uint32_t)j, .group = r->group[c->ids[order ? order[j] : j]],
                                          .score = score[j] };
        struct rs_div_params dp = { .top_n = k, .mode = RS_DIV_SCORE, .max_per_group = r->max_per_group };
        npick = rs_div_rerank(dc, n, &dp, pick);
        free(dc);
    }
    for (size_t t = 0; t < npick; t++) {
        size_t j = pick[t], i = order ? order[j] : j;
        if (p)
            out->p[2 * out->n] = p[2 * i], out->p[2 * out->n + 1] = p[2 * i + 1];
        list_push(out, r, (size_t)c->ids[i], score[j]);
    }
    free(pick);
    free(score);
}

int rs_reco_similar(const struct rs_reco *r, const char *item, size_t k, struct rs_reco_list *out)
{
    int64_t i = rs_strmap_get(r->items.ids, item, strlen(item));
    if (i < 0)
        return rs_err_set(RS_ERR_USAGE, "unknown item '%.64s'", item);
    struct rs_knn_filter f = { .deny = r->deny, .self = &i };
    struct cands c;
    size_t depth = r->group && r->max_per_group ? (r->candidates > k ? r->candidates : k) : k;
    search(r, r->items.x + (size_t)i * r->items.dims, &f, depth, &c);
    finish(r, &c, NULL, NULL, k, out);
    out->source = RS_RECO_SRC_ITEM;
    cands_free(&c);
    return 0;
}

/* 1 when q names a user feature of the tower (other than the id). */
static int has_features(const struct rs_reco *r, const struct rs_reco_req *q)
{
    const struct rs_tower_side *sd = &r->tower->side[RS_SIDE_USER];
    for (size_t k = 0; k < sd->nf; k++) {
        const char *col = rs_tower_column(r->tower, RS_SIDE_USER, k);
        for (size_t j = 0; j < q->n; j++)
            if (strcmp(col, sd->id_col) != 0 && strcmp(q->names[j], col) == 0)
                return 1;
    }
    return 0;
}

/* The user's vector into vec (r->items.dims floats) and where it came from;
 * NULL: none (the popular fallback). */
static int user_vector(const struct rs_reco *r, const struct rs_reco_req *q, float *vec, const float **out,
                       int *source)
{
    int64_t u = r->users.ids ? rs_strmap_get(r->users.ids, q->user, strlen(q->user)) : -1;
    *out = NULL;
    *source = RS_RECO_SRC_POPULAR;
    if (u >= 0) {
        *out = r->users.x + (size_t)u * r->users.dims;
        *source = r->users_source;
    } else if (r->tower && has_features(r, q)) {
        int rc = rs_tower_embed_fields(r->tower, RS_SIDE_USER, (const char *const *)q->names,
                                       (const char *const *)q->vals, q->n, q->user, vec);
        if (rc < 0)
            return rc;
        *out = vec;
        *source = RS_RECO_SRC_FEATURES;
    }
    return 0;
}

int rs_reco_recommend(const struct rs_reco *r, const struct rs_reco_req *q, struct rs_reco_list *out)
{
    float *vec = xmalloc(r->items.dims * sizeof *vec);
    const float *uvec;
    int source, rc = user_vector(r, q, vec, &uvec, &source);
    if (rc < 0) {
        free(vec);
        return rc;
    }
    size_t off[2] = { 0, 0 }, k = q->k;
    const uint32_t *seen = rs_seen_get(&r->seen, q->user, strlen(q->user), &off[1]);
    struct rs_knn_filter f = { .deny = r->deny, .excl_off = off, .excl = seen };
    size_t depth = r->rank || (r->group && r->max_per_group) ? (r->candidates > k ? r->candidates : k) : k;
    struct cands c;
    if (uvec)
        search(r, uvec, &f, depth, &c);
    else
        popular(r, &f, depth, &c);
    float *p = r->rank ? xmalloc((2 * c.n + 1) * sizeof *p) : NULL;
    uint32_t *order = r->rank ? xmalloc((c.n + 1) * sizeof *order) : NULL;
    if (r->rank)
        rc = rank(r, q, uvec, &c, p, order);
    if (rc == 0) {
        finish(r, &c, p, order, k, out);
        out->source = source;
    }
    free(p), free(order), free(vec);
    cands_free(&c);
    return rc;
}

void rs_reco_req_add(struct rs_reco_req *q, const char *name, const char *val)
{
    if (q->n == q->cap) {
        q->cap = q->cap ? 2 * q->cap : 8;
        q->names = xrealloc(q->names, q->cap * sizeof *q->names);
        q->vals = xrealloc(q->vals, q->cap * sizeof *q->vals);
    }
    q->names[q->n] = xstrdup(name);
    q->vals[q->n++] = xstrdup(val);
}

void rs_reco_req_free(struct rs_reco_req *q)
{
    for (size_t j = 0; j < q->n; j++)
        free(q->names[j]), free(q->vals[j]);
    free(q->names);
    free(q->vals);
    free(q->user);
    memset(q, 0, sizeof *q);
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
