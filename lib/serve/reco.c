/* reco.c - loading a bundle and answering recommend / similar requests. */
#include "serve/reco.h"
#include "index/ann.h"
#include "rerank/diversify.h"
#include "rerank/divspec.h"
#include "index/cands.h"
#include "index/fuse.h"
#include "core/err.h"
#include "core/num.h"
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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rs_reco {
    struct rs_embset items, users;
    struct rs_strmap *ids;    /* every item: the embeddings' rows (same ids), then, with sources,
                               * the items only they propose; without, items.ids */
    size_t nids;
    int users_source;         /* RS_RECO_SRC_EMBEDDING or _TOWER */
    struct rs_ann *ann;       /* NULL: exact search */
    uint32_t *ann_to_item, *item_to_ann;
    uint8_t *deny_ann;        /* deny in the index's item order */
    size_t nprobe, rerank;
    uint8_t *deny;            /* per id: out of stock */
    size_t candidates;
    int post_on;              /* post-ranking rules given: the list is filled up to candidates */
    const struct rs_div_spec *spec;
    struct rs_div_items post; /* their item side (divspec.h), and their parameters */
    struct rs_div_params post_p;
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
    char *context_names;      /* ranker columns no table holds */
    size_t nsrc;              /* precomputed sources; 0: the online candidates alone */
    struct rs_strmap *src_users;
    struct rs_fuse_lists *src; /* (nsrc), items in ids */
    size_t per_source;
    double rrf_k;
    char **cand_names;        /* a candidate row's columns beyond user and item: rank, score (of
                               * rs-retrieve's stream), and with sources the rest of rs-merge's */
    size_t ncand;
    uint8_t *rank_reads;      /* (ncand) the ranker reads that column */
};

const char *rs_reco_source_name(int source)
{
    static const char *const names[] = { "?",       "embedding", "tower",      "tower-features",
                                         "popular", "item",      "precomputed" };
    return source >= 1 && source <= RS_RECO_SRC_LAST ? names[source] : names[0];
}

static const char *user_col(const struct rs_reco_opts *o) { return o->user_col ? o->user_col : "user_id"; }
static const char *item_col(const struct rs_reco_opts *o) { return o->item_col ? o->item_col : "item_id"; }

/* Reads (user, item) pairs: the per-user seen lists, and the most frequent
 * items (by event count, ties to the lower index) for the popular fallback. */
static int load_seen(struct rs_reco *r, const struct rs_reco_opts *o)
{
    uint64_t *count = xcalloc(r->nids + 1, sizeof *count);
    int rc = rs_seen_load(&r->seen, o->seen, user_col(o), item_col(o), r->ids, count);
    if (rc == 0) {
        struct rs_topk top;
        rs_topk_init(&top, r->nids < 1000 ? r->nids : 1000);
        for (size_t i = 0; i < r->nids; i++)
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
    const char *stock = "in_stock";
    struct rs_itemattr a = { 0 };
    struct rs_tsv *t;
    int rc = rs_tsv_open(&t, o->items, 0), key;
    if (rc == 0 && (rc = rs_tsv_require(t, item_col(o), &key)) < 0) /* an empty file too */
        rs_tsv_close(t);
    if (rc < 0)
        return rc;
    int has_stock = rs_tsv_col(t, "in_stock") >= 0;
    rs_tsv_close(t);
    if (!has_stock)
        return 0;
    if ((rc = rs_itemattr_load(&a, &o->items, 1, item_col(o), &stock, 1)) < 0)
        return rc;
    r->deny = xcalloc(r->nids + 1, 1);
    int32_t zero = rs_itemattr_value(&a, 0, "0", 1);
    for (size_t i = 0; i < r->nids; i++) {
        size_t len;
        const char *id = rs_strmap_key(r->ids, (int64_t)i, &len);
        r->deny[i] = zero >= 0 && rs_itemattr_get(&a, 0, id, len) == zero;
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

/* The users' vectors and ids, in table order (rs_tower_embed_table has
 * already refused an id given twice). */
static int keep_user(void *ctx, char **ids, const size_t *lens, const float *z, size_t n)
{
    struct rs_embset *u = ctx;
    u->x = xrealloc(u->x, (u->n + n) * u->dims * sizeof *u->x);
    memcpy(u->x + u->n * u->dims, z, n * u->dims * sizeof *u->x);
    for (size_t b = 0; b < n; b++)
        rs_strmap_put(u->ids, ids[b], lens[b], NULL);
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

/* The precomputed sources, read as rs-merge reads them: their items are
 * interned after the embeddings' (same ids for those), so an item only a
 * source proposes is still served (with no tower_score, as in the batch). */
static int load_sources(struct rs_reco *r, const struct rs_reco_opts *o)
{
    r->nsrc = o->nsources;
    r->per_source = o->per_source;
    r->rrf_k = o->rrf_k;
    r->ids = rs_strmap_new(r->items.n + 1024);
    for (size_t i = 0; i < r->items.n; i++) {
        size_t len;
        const char *id = rs_strmap_key(r->items.ids, (int64_t)i, &len);
        rs_strmap_put(r->ids, id, len, NULL);
    }
    r->src_users = rs_strmap_new(1024);
    r->src = xcalloc(r->nsrc, sizeof *r->src);
    int rc = 0;
    for (size_t s = 0; rc == 0 && s < r->nsrc; s++) {
        struct rs_tsv *t;
        if ((rc = rs_tsv_open(&t, o->source_paths[s], 0)) < 0)
            break;
        rc = rs_fuse_lists_read(&r->src[s], t, o->source_names[s], user_col(o), item_col(o), o->per_source,
                                r->src_users, r->ids);
        rs_tsv_close(t);
    }
    return rc;
}

/* The columns of a candidate row beyond the user and the item, named as
 * rs-merge names them (rs-retrieve's rank and score without sources). */
static void set_cand_names(struct rs_reco *r, const struct rs_reco_opts *o)
{
    const char **names = xmalloc((r->nsrc + 1) * sizeof *names);
    names[0] = o->tower_source ? o->tower_source : "tower";
    for (size_t s = 0; s < r->nsrc; s++)
        names[s + 1] = o->source_names[s];
    r->ncand = r->nsrc ? RS_FUSE_NCOLS(r->nsrc + 1) : 2;
    r->cand_names = xmalloc(r->ncand * sizeof *r->cand_names);
    for (size_t c = 0; c < r->ncand; c++)
        r->cand_names[c] = rs_fuse_col_name(names, c);
    free(names);
}

/* The ranker and its tables; tower_score is the dot product of the
 * request's user vector and the item's row of the item embeddings. */
static int load_ranker(struct rs_reco *r, const struct rs_reco_opts *o)
{
    r->rank = xcalloc(1, sizeof *r->rank);
    rs_rank_io_defaults(&r->rank_io);
    r->rank_io.user_col = user_col(o);
    r->rank_io.item_col = item_col(o);
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
    r->rank_reads = xmalloc(r->ncand);
    const char **names = xmalloc((2 + r->ncand) * sizeof *names);
    names[0] = r->rank_io.user_col;
    names[1] = r->rank_io.item_col;
    for (size_t c = 0; c < r->ncand; c++) {
        r->rank_reads[c] = (uint8_t)rs_rank_uses(r->rank, r->cand_names[c]);
        names[2 + c] = r->cand_names[c];
    }
    /* what no row column, table or embedding gives: an empty list resolves it */
    struct rs_rank_rows none = { .ncols = 2 + r->ncand, .names = names };
    struct rs_rank_read_stats st = { 0 };
    rc = rs_rank_score_rows(r->rank, &r->rank_io, &none, NULL, NULL, &st);
    r->context_names = xstrdup(st.missing);
    free(names);
    return rc;
}

/* 0 when every vector of e is finite; else an error naming the first
 * that is not: a NaN would silently drop out of every search. */
static int check_finite(const struct rs_embset *e, const char *path, const char *what)
{
    for (size_t i = 0; i < e->n; i++)
        for (size_t j = 0; j < e->dims; j++)
            if (!isfinite(e->x[i * e->dims + j]))
                return rs_err_set(RS_ERR_FORMAT, "'%s': %s '%s' has a non-finite value in dimension %zu", path,
                                  what, rs_strmap_key(e->ids, (int64_t)i, NULL), j + 1);
    return 0;
}

/* The items that retrieval, the stock filter and the popular fallback know:
 * every id, and with sources those of the embeddings first. */
static int load_ids(struct rs_reco *r, const struct rs_reco_opts *o)
{
    int rc = o->nsources ? load_sources(r, o) : 0;
    if (!o->nsources)
        r->ids = r->items.ids;
    r->nids = rs_strmap_size(r->ids);
    set_cand_names(r, o);
    return rc;
}

int rs_reco_load(struct rs_reco **rp, const struct rs_reco_opts *o)
{
    struct rs_reco *r = xcalloc(1, sizeof *r);
    r->candidates = o->candidates ? o->candidates : RS_RECO_DEFAULT_CANDIDATES;
    r->post_p = (struct rs_div_params){ .mode = RS_DIV_SCORE };
    int rc = rs_embset_load(&r->items, o->items_emb);
    if (rc == 0)
        rc = check_finite(&r->items, o->items_emb, "item");
    if (rc == 0) /* ties in retrieval go to the lower id, as in rs-retrieve */
        rs_cands_sort_items(&r->items);
    if (rc == 0 && o->model)
        rc = load_tower(r, o->model, o->users);
    if (rc == 0 && o->users_emb) {
        r->users_source = RS_RECO_SRC_EMBEDDING;
        rc = rs_embset_load(&r->users, o->users_emb);
        if (rc == 0 && r->users.dims != r->items.dims)
            rc = rs_err_set(RS_ERR_FORMAT, "'%s' has %u dims, '%s' has %u", o->users_emb, r->users.dims,
                            o->items_emb, r->items.dims);
    }
    if (rc == 0 && r->users.n)
        rc = check_finite(&r->users, o->users_emb ? o->users_emb : o->users, "user");
    if (rc == 0)
        rc = load_ids(r, o);
    if (rc == 0 && o->seen)
        rc = load_seen(r, o);
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
    if (rc == 0 && o->post && rs_div_spec_active(o->post)) {
        r->post_on = 1;
        r->spec = o->post;
        if ((rc = rs_div_spec_params(o->post, &r->post_p)) == 0)
            rc = rs_div_spec_load(o->post, user_col(o), item_col(o), &r->post, &r->post_p);
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
    if (r->ids != r->items.ids)
        rs_strmap_free(r->ids);
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
    if (r->post_on)
        rs_div_items_free(&r->post);
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
    rs_strmap_free(r->src_users);
    for (size_t s = 0; r->src && s < r->nsrc; s++)
        rs_fuse_lists_free(&r->src[s]);
    free(r->src);
    for (size_t c = 0; c < r->ncand; c++)
        free(r->cand_names[c]);
    free(r->cand_names);
    free(r->rank_reads);
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
    l->ids[l->n] = rs_strmap_key(r->ids, (int64_t)item, NULL);
    l->scores[l->n++] = score;
}

void rs_reco_list_free(struct rs_reco_list *l)
{
    free(l->ids);
    free(l->scores);
    free(l->p);
    free(l->cand_ids);
    free(l->cand_scores);
    memset(l, 0, sizeof *l);
}

/* One query through the index: the filter is translated to the index's item
 * order (seen items without an embedding are not in it) and the results back
 * to the embeddings' rows. */
static void ann_search(const struct rs_reco *r, const float *q, const struct rs_knn_filter *f, size_t k,
                       int64_t *ids, float *scores, size_t *count)
{
    size_t nex = 0, off[2] = { 0, 0 };
    uint32_t *ex = xmalloc(((f->excl ? f->excl_off[1] : 0) + 1) * sizeof *ex);
    for (size_t j = 0; f->excl && j < f->excl_off[1]; j++)
        if (f->excl[j] < r->items.n)
            ex[nex++] = r->item_to_ann[f->excl[j]];
    rs_knn_sort_excl(ex, nex);
    off[1] = nex;
    int64_t self = f->self ? (int64_t)r->item_to_ann[*f->self] : -1;
    struct rs_knn_filter g = { .deny = f->deny ? r->deny_ann : NULL, .excl_off = off, .excl = ex,
                               .self = f->self ? &self : NULL };
    /* rs-retrieve's default re-scoring depth, so that both return the same lists */
    struct rs_ann_search_opts o = { .nprobe = r->nprobe, .rerank = r->rerank ? r->rerank : (k > 100 ? k : 100),
                                    .threads = 1 };
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

/* The list the ranker and the diversification see, best first: items (ids
 * of r->ids), their score before ranking and, when merged, rs-merge's row. */
struct pool {
    size_t n;
    uint32_t *item;
    double *score;
    const struct rs_fuse_list *fl; /* NULL: rs-retrieve's rank and score only */
};

static void pool_alloc(struct pool *pl, size_t n, const struct rs_fuse_list *fl)
{
    pl->n = n;
    pl->item = xmalloc((n ? n : 1) * sizeof *pl->item);
    pl->score = xmalloc((n ? n : 1) * sizeof *pl->score);
    pl->fl = fl;
}

static void pool_free(struct pool *pl)
{
    free(pl->item);
    free(pl->score);
}

static void pool_of_cands(struct pool *pl, const struct cands *c)
{
    pool_alloc(pl, c->n, NULL);
    for (size_t j = 0; j < c->n; j++)
        pl->item[j] = (uint32_t)c->ids[j], pl->score[j] = c->scores[j];
}

static void pool_of_fused(struct pool *pl, const struct rs_fuse_list *fl)
{
    pool_alloc(pl, fl->n, fl);
    memcpy(pl->item, fl->item, fl->n * sizeof *pl->item);
    memcpy(pl->score, fl->fused, fl->n * sizeof *pl->score);
}

/* Without sources: the top of retrieval for uvec, or without a vector the
 * most popular items, passing f; deep enough for the ranker and the cap. */
static void retrieve(const struct rs_reco *r, const float *uvec, const struct rs_knn_filter *f, size_t k,
                     struct pool *pl)
{
    size_t depth = r->rank || r->post_on ? (r->candidates > k ? r->candidates : k) : k;
    struct cands c;
    if (uvec)
        search(r, uvec, f, depth, &c);
    else
        popular(r, f, depth, &c);
    pool_of_cands(pl, &c);
    cands_free(&c);
}

/* With sources: the user's merged candidates (fuse.h), the online ones
 * first: the top of retrieval for uvec (none without), seen items excluded
 * but not out-of-stock ones, as rs-retrieve --exclude hands them to
 * rs-merge; then each precomputed source's list. */
static void merge(const struct rs_reco *r, const char *user, const float *uvec, const struct rs_knn_filter *f,
                  struct rs_fuse_list *fl)
{
    struct rs_knn_filter seen = { .excl_off = f->excl_off, .excl = f->excl };
    size_t depth = r->per_source && r->per_source < r->candidates ? r->per_source : r->candidates;
    struct cands c;
    if (uvec)
        search(r, uvec, &seen, depth, &c);
    else
        cands_alloc(&c, 0);
    uint32_t *item = xmalloc((c.n ? c.n : 1) * sizeof *item), *rank = xmalloc((c.n ? c.n : 1) * sizeof *rank);
    for (size_t j = 0; j < c.n; j++)
        item[j] = (uint32_t)c.ids[j], rank[j] = (uint32_t)j + 1;
    struct rs_fuse_in *in = xmalloc((r->nsrc + 1) * sizeof *in);
    in[0] = (struct rs_fuse_in){ c.n, item, rank, c.scores };
    int64_t u = rs_strmap_get(r->src_users, user, strlen(user));
    for (size_t s = 0; s < r->nsrc; s++)
        in[s + 1] = u >= 0 ? rs_fuse_lists_user(&r->src[s], (size_t)u) : (struct rs_fuse_in){ 0 };
    rs_fuse_user(fl, in, r->nsrc + 1, r->rrf_k);
    free(item), free(rank), free(in);
    cands_free(&c);
}

/* Column c (r->cand_names) of row i as the batch stream holds it: rs-merge's
 * text when merged, else rs-retrieve's (rs_cands_write): rank, score. */
static void cand_field(const struct pool *pl, size_t i, size_t c, char *buf)
{
    if (pl->fl)
        rs_fuse_field(pl->fl, i, c, buf);
    else if (c == 0)
        snprintf(buf, RS_FUSE_FIELD_MAX, "%zu", i + 1);
    else
        snprintf(buf, RS_FUSE_FIELD_MAX, "%.9g", pl->score[i]);
}

/* 1 when request value j is context: named like a column the ranker reads
 * that no candidate row holds, and the first value of that name. */
static int is_context(const struct rs_reco *r, const struct rs_reco_req *q, size_t j)
{
    const char *name = q->names[j];
    if (!rs_rank_uses(r->rank, name) || strcmp(name, r->rank_io.user_col) == 0 ||
        strcmp(name, r->rank_io.item_col) == 0)
        return 0;
    for (size_t c = 0; c < r->ncand; c++)
        if (strcmp(name, r->cand_names[c]) == 0)
            return 0;
    for (size_t i = 0; i < j; i++)
        if (strcmp(name, q->names[i]) == 0)
            return 0;
    return 1;
}

/* Scores pl with the ranker: p (pl->n, 2), order (pl->n) by score. The rows
 * are those of the batch stream the ranker scores for the user (rs-merge's,
 * or rs-retrieve's without sources; only the columns the ranker reads) plus
 * the context: every request value named like a column the ranker reads. */
static int rank(const struct rs_reco *r, const struct rs_reco_req *q, const float *uvec, const struct pool *pl,
                float *p, uint32_t *order)
{
    size_t max = 2 + r->ncand + q->n, nc = 2;
    const char **names = xmalloc(max * sizeof *names), **ctx = xmalloc(max * sizeof *ctx);
    size_t *col = xmalloc(max * sizeof *col);
    names[0] = r->rank_io.user_col;
    names[1] = r->rank_io.item_col;
    for (size_t c = 0; c < r->ncand; c++)
        if (r->rank_reads[c] && (pl->fl || c < 2)) /* the popular fallback has no merged columns */
            col[nc] = c, names[nc++] = r->cand_names[c];
    size_t nfixed = nc, w = (nfixed - 2) * RS_FUSE_FIELD_MAX;
    for (size_t j = 0; j < q->n; j++)
        if (is_context(r, q, j))
            ctx[nc] = q->vals[j], names[nc++] = q->names[j];
    const char **vals = xmalloc((pl->n * nc + 1) * sizeof *vals);
    char *text = xmalloc(pl->n * w + 1);
    for (size_t i = 0; i < pl->n; i++) {
        const char **v = vals + i * nc;
        v[0] = q->user;
        v[1] = rs_strmap_key(r->ids, pl->item[i], NULL);
        for (size_t j = 2; j < nfixed; j++) {
            char *t = text + i * w + (j - 2) * RS_FUSE_FIELD_MAX;
            cand_field(pl, i, col[j], t);
            v[j] = t;
        }
        for (size_t j = nfixed; j < nc; j++)
            v[j] = ctx[j];
    }
    struct rs_rank_rows rows = { .n = pl->n, .ncols = nc, .names = names, .vals = vals, .user_vec = uvec };
    int rc = rs_rank_score_rows(r->rank, &r->rank_io, &rows, p, order, NULL);
    free(names), free(ctx), free(col), free(vals), free(text);
    return rc;
}

/* 0 when every score of l is finite: a NaN or an infinity (a ranker or a
 * vector gone wrong) is an error, never a list silently short or misordered. */
static int check_scores(const struct rs_reco_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (!isfinite(l->scores[i]) || (l->ranked && (!isfinite(l->p[2 * i]) || !isfinite(l->p[2 * i + 1]))))
            return rs_err_set(RS_ERR_FORMAT, "item '%.64s' scored %g: not a finite number", l->ids[i], l->scores[i]);
    return 0;
}

/* Keeps the list post-ranking is given (what it sees, in its order), for
 * a request that asks for it (schemas/serve.md, debug=candidates). */
static void keep_cands(struct rs_reco_list *out, const struct rs_reco *r, const struct pool *pl,
                       const struct rs_div_cand *dc, const size_t *at, size_t n)
{
    out->cand_ids = xrealloc(out->cand_ids, (n ? n : 1) * sizeof *out->cand_ids);
    out->cand_scores = xrealloc(out->cand_scores, (n ? n : 1) * sizeof *out->cand_scores);
    for (size_t j = 0; j < n; j++) {
        out->cand_ids[j] = rs_strmap_key(r->ids, pl->item[at[j]], NULL);
        out->cand_scores[j] = dc[j].score;
    }
    out->ncands = n;
}

/* The final (at most) k of pl taken in the ranker's order (p, order; NULL:
 * pl's order), without the items drop filters (NULL: none), then through
 * post-ranking for user as rs-diversify re-ranks a user's rows (the first k
 * by score without rules). An error when a score is not finite. */
static int finish(const struct rs_reco *r, const char *user, const struct pool *pl, const float *p,
                  const uint32_t *order, const struct rs_knn_filter *drop, size_t k,
                  const struct rs_reco_req *q, struct rs_reco_list *out)
{
    struct rs_div_where where = { 0 };
    if (r->post_on && q)
        rs_div_spec_where(r->spec, &r->post, user, q->radius_km, q->has_at, q->lat, q->lon, &where);
    list_reserve(out, k);
    out->ranked = p != NULL;
    size_t n = 0, *pick = xmalloc((pl->n + 1) * sizeof *pick), *at = xmalloc((pl->n + 1) * sizeof *at);
    struct rs_div_cand *dc = xcalloc(pl->n + 1, sizeof *dc);
    for (size_t j = 0; j < pl->n; j++) {
        size_t i = order ? order[j] : j;
        if (drop && rs_knn_filtered(drop, 0, pl->item[i]))
            continue;
        dc[n] = (struct rs_div_cand){ .pos = (uint32_t)n, .group = -1,
                                      .score = p ? (double)p[2 * i] + p[2 * i + 1] : pl->score[i] };
        if (r->post_on)
            rs_div_items_fill(&r->post, user, rs_strmap_key(r->ids, pl->item[i], NULL), &where, &dc[n]);
        at[n++] = i;
    }
    if (q && q->want_cands)
        keep_cands(out, r, pl, dc, at, n);
    struct rs_div_params dp = r->post_p;
    dp.top_n = k;
    size_t npick = rs_div_rerank(dc, n, &dp, pick);
    for (size_t t = 0; t < npick; t++) {
        size_t i = at[pick[t]];
        if (p)
            out->p[2 * out->n] = p[2 * i], out->p[2 * out->n + 1] = p[2 * i + 1];
        list_push(out, r, pl->item[i], dc[pick[t]].score);
    }
    free(pick), free(at), free(dc);
    return check_scores(out);
}

int rs_reco_similar(const struct rs_reco *r, const char *item, size_t k, struct rs_reco_list *out)
{
    int64_t i = rs_strmap_get(r->items.ids, item, strlen(item));
    if (i < 0)
        return rs_err_set(RS_ERR_USAGE, "unknown item '%.64s'", item);
    struct rs_knn_filter f = { .deny = r->deny, .self = &i };
    struct cands c;
    struct pool pl;
    size_t depth = r->post_on ? (r->candidates > k ? r->candidates : k) : k;
    search(r, r->items.x + (size_t)i * r->items.dims, &f, depth, &c);
    pool_of_cands(&pl, &c);
    int rc = finish(r, "", &pl, NULL, NULL, NULL, k, NULL, out);
    out->source = RS_RECO_SRC_ITEM;
    pool_free(&pl);
    cands_free(&c);
    return rc;
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
    for (uint32_t j = 0; rc == 0 && uvec && j < r->items.dims; j++)
        if (!isfinite(uvec[j]))
            rc = rs_err_set(RS_ERR_FORMAT, "user '%.64s': the %s vector has a non-finite value", q->user,
                            rs_reco_source_name(source));
    if (rc < 0) {
        free(vec);
        return rc;
    }
    size_t off[2] = { 0, 0 };
    const uint32_t *seen = rs_seen_get(&r->seen, q->user, strlen(q->user), &off[1]);
    struct rs_knn_filter f = { .deny = r->deny, .excl_off = off, .excl = seen };
    struct rs_fuse_list fl = { 0 };
    struct pool pl;
    const struct rs_knn_filter *drop = NULL;
    if (r->nsrc)
        merge(r, q->user, uvec, &f, &fl);
    if (r->nsrc && (uvec || fl.n)) {
        pool_of_fused(&pl, &fl);
        drop = &f; /* after ranking, as rs-diversify --seen --stock-col drops them */
        if (!uvec)
            source = RS_RECO_SRC_PRECOMPUTED;
    } else {
        retrieve(r, uvec, &f, q->k, &pl);
    }
    float *p = r->rank ? xmalloc((2 * pl.n + 1) * sizeof *p) : NULL;
    uint32_t *order = r->rank ? xmalloc((pl.n + 1) * sizeof *order) : NULL;
    if (r->rank)
        rc = rank(r, q, uvec, &pl, p, order);
    if (rc == 0) {
        rc = finish(r, q->user, &pl, p, order, drop, q->k, q, out);
        out->source = source;
    }
    free(p), free(order), free(vec);
    pool_free(&pl);
    rs_fuse_list_free(&fl);
    return rc;
}

int rs_reco_score(const struct rs_reco *r, const struct rs_reco_req *q, const char *item, struct rs_reco_pair *out)
{
    memset(out, 0, sizeof *out);
    int64_t id = rs_strmap_get(r->ids, item, strlen(item));
    if (id < 0)
        return rs_err_set(RS_ERR_USAGE, "unknown item '%.64s'", item);
    float *vec = xmalloc(r->items.dims * sizeof *vec);
    const float *uvec;
    int rc = user_vector(r, q, vec, &uvec, &out->source);
    int64_t e = rc == 0 && uvec ? rs_strmap_get(r->items.ids, item, strlen(item)) : -1;
    if (e >= 0) {
        out->has_tower = 1;
        for (uint32_t j = 0; j < r->items.dims; j++)
            out->tower_score += (double)uvec[j] * r->items.x[(size_t)e * r->items.dims + j];
    }
    if (rc == 0 && !r->rank && !out->has_tower)
        rc = rs_err_set(RS_ERR_USAGE, "nothing to score: user '%.64s' has no vector and there is no ranker", q->user);
    if (rc == 0 && r->rank) {
        struct pool pl;
        uint32_t order;
        pool_alloc(&pl, 1, NULL);
        pl.item[0] = (uint32_t)id;
        pl.score[0] = out->tower_score;
        rc = rank(r, q, uvec, &pl, out->p, &order);
        pool_free(&pl);
        out->ranked = rc == 0;
        out->score = (double)out->p[0] + out->p[1];
    }
    if (rc == 0 && !(isfinite(out->tower_score) && isfinite(out->score)))
        rc = rs_err_set(RS_ERR_FORMAT, "item '%.64s' scored: not a finite number", item);
    free(vec);
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
    int64_t k;
    if (*s < '0' || *s > '9' || rs_num_i64(s, strlen(s), &k) < 0) /* digits only: no sign */
        return -1;
    return k >= 1 && k <= max ? (long)k : -1;
}
