/* itemknn.c - item-item nearest neighbours (Sarwar et al. WWW 2001;
 * Deshpande & Karypis TOIS 2004): sparse co-occurrences c_ij, cosine with
 * shrinkage s_ij = c_ij / (sqrt(n_i n_j) + shrink), the top M per item, and
 * top-k candidates from score_u(i) = Σ_{j ∈ u} s_ji. */
#include "model/itemknn.h"
#include "model/itemids.h"
#include "prep/csr.h"
#include "core/err.h"
#include "io/rsm.h"
#include "core/strmap.h"
#include "core/threads.h"
#include "core/topk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { BLOCK = 64 }; /* items per block of the fit: never follows --threads */

/* ---- the fit matrix ---- */

/* e[0..n) = the triplet indices of c grouped by row, input order kept
 * (a stable counting sort); off[u] = where row u starts. */
static void group_rows(const struct rs_coo *c, size_t nusers, size_t *off, size_t *e)
{
    memset(off, 0, (nusers + 1) * sizeof *off);
    for (size_t t = 0; t < c->n; t++)
        off[c->row[t] + 1]++;
    for (size_t u = 0; u < nusers; u++)
        off[u + 1] += off[u];
    size_t *next = xmalloc((nusers ? nusers : 1) * sizeof *next);
    memcpy(next, off, nusers * sizeof *next);
    for (size_t t = 0; t < c->n; t++)
        e[next[c->row[t]]++] = t;
    free(next);
}

size_t rs_itemknn_history(struct rs_csr *x, const struct rs_coo *c, size_t nusers, size_t nitems,
                          size_t max_history)
{
    size_t *off = xmalloc((nusers + 1) * sizeof *off), *e = xmalloc((c->n ? c->n : 1) * sizeof *e);
    size_t *stamp = xmalloc((nitems ? nitems : 1) * sizeof *stamp), cut = 0;
    group_rows(c, nusers, off, e);
    memset(stamp, 0xff, nitems * sizeof *stamp);
    struct rs_coo out;
    rs_coo_init(&out);
    for (size_t u = 0; u < nusers; u++) {
        size_t kept = 0;
        for (size_t t = off[u + 1]; t > off[u]; t--) { /* last to first */
            uint32_t i = c->col[e[t - 1]];
            if (stamp[i] == u)
                continue;
            stamp[i] = u;
            if (max_history && kept == max_history) {
                cut++;
                break;
            }
            kept++;
            rs_coo_add(&out, (uint32_t)u, i, 1.0f);
        }
    }
    rs_csr_from_coo(x, &out, nusers, nitems);
    rs_coo_free(&out);
    free(stamp);
    free(e);
    free(off);
    return cut;
}

/* ---- fit ---- */

struct fit_ctx {
    const struct rs_csr *x, *xt; /* users × items, items × users (model ids) */
    size_t m;                    /* M */
    double shrink;
    int32_t *nbr;                /* nitems × M */
    float *sim;                  /* nitems × M */
    uint32_t *len;               /* kept per item */
};

/* Item i's kept neighbours: c_ij counted over i's users' lists (cnt, then
 * zeroed back), s_ij = c_ij / (sqrt(n_i n_j) + shrink) in double, rounded
 * once to float, the top M by (s desc, j asc). */
static void item_row(const struct fit_ctx *c, size_t i, uint32_t *cnt, uint32_t *touched, struct rs_topk *t)
{
    const struct rs_csr *x = c->x, *xt = c->xt;
    size_t nt = 0;
    for (uint64_t a = xt->indptr[i]; a < xt->indptr[i + 1]; a++) {
        uint32_t u = xt->indices[a];
        for (uint64_t b = x->indptr[u]; b < x->indptr[u + 1]; b++)
            if (cnt[x->indices[b]]++ == 0)
                touched[nt++] = x->indices[b];
    }
    double ni = (double)(xt->indptr[i + 1] - xt->indptr[i]);
    rs_topk_reset(t);
    for (size_t k = 0; k < nt; k++) {
        uint32_t j = touched[k];
        double nj = (double)(xt->indptr[j + 1] - xt->indptr[j]);
        if (j != i)
            rs_topk_push(t, (float)(cnt[j] / (sqrt(ni * nj) + c->shrink)), (int64_t)j);
        cnt[j] = 0;
    }
    size_t n = rs_topk_sort(t);
    for (size_t k = 0; k < n; k++) {
        c->nbr[i * c->m + k] = (int32_t)t->id[k];
        c->sim[i * c->m + k] = t->score[k];
    }
    c->len[i] = (uint32_t)n;
}

static void fit_items(void *ctx, size_t begin, size_t end, int tid)
{
    (void)tid;
    const struct fit_ctx *c = ctx;
    size_t n = c->x->ncols;
    uint32_t *cnt = xcalloc(n ? n : 1, sizeof *cnt), *touched = xmalloc((n ? n : 1) * sizeof *touched);
    struct rs_topk t;
    rs_topk_init(&t, c->m);
    for (size_t i = begin; i < end; i++)
        item_row(c, i, cnt, touched, &t);
    rs_topk_free(&t);
    free(touched);
    free(cnt);
}

/* x's columns renumbered by perm (model ids). */
static void renumber(struct rs_csr *y, const struct rs_csr *x, const uint32_t *perm)
{
    struct rs_coo c;
    rs_coo_init(&c);
    for (size_t u = 0; u < x->nrows; u++)
        for (uint64_t k = x->indptr[u]; k < x->indptr[u + 1]; k++)
            rs_coo_add(&c, (uint32_t)u, perm[x->indices[k]], 1.0f);
    rs_csr_from_coo(y, &c, x->nrows, x->ncols);
    rs_coo_free(&c);
}

/* The n × M lists of c packed into m's CSR arrays. */
static void pack(struct rs_itemknn *m, const struct fit_ctx *c)
{
    size_t n = m->nitems, nnz = 0;
    uint64_t *ptr = m->own[0] = xmalloc((n + 1) * sizeof *ptr);
    for (size_t i = 0; i < n; i++)
        ptr[i] = nnz, nnz += c->len[i];
    ptr[n] = nnz;
    int32_t *nbr = m->own[1] = xmalloc((nnz ? nnz : 1) * sizeof *nbr);
    float *sim = m->own[2] = xmalloc((nnz ? nnz : 1) * sizeof *sim);
    for (size_t i = 0; i < n; i++) {
        memcpy(nbr + ptr[i], c->nbr + i * c->m, c->len[i] * sizeof *nbr);
        memcpy(sim + ptr[i], c->sim + i * c->m, c->len[i] * sizeof *sim);
    }
    m->ptr = ptr, m->nbr = nbr, m->sim = sim;
}

int rs_itemknn_fit(struct rs_itemknn *m, const struct rs_csr *xfit, const struct rs_csr *x,
                   const struct rs_strmap *items, const struct rs_itemknn_params *p)
{
    memset(m, 0, sizeof *m);
    size_t n = xfit->ncols;
    RS_ASSERT(rs_strmap_size(items) == n && x->ncols == n && p->neighbours >= 1 && p->shrink >= 0 &&
              p->threads >= 1 && n < ((size_t)1 << 31));
    uint32_t *perm = xmalloc((n ? n : 1) * sizeof *perm);
    m->items = rs_itemids_sort(items, perm);
    m->nitems = n, m->neighbours = p->neighbours, m->shrink = p->shrink, m->max_history = p->max_history;
    m->nusers = x->nrows, m->npairs = x->nnz;
    struct rs_csr y, yt;
    renumber(&y, x, perm);
    float *pop = m->own[3] = xmalloc((n ? n : 1) * sizeof *pop);
    for (size_t i = 0; i < n; i++)
        pop[i] = 0;
    for (size_t k = 0; k < y.nnz; k++)
        pop[y.indices[k]] += 1.0f; /* exact below 2²⁴ users */
    m->popularity = pop;
    rs_csr_free(&y);
    renumber(&y, xfit, perm);
    rs_csr_transpose(&yt, &y);
    size_t mm = p->neighbours < n ? p->neighbours : (n > 1 ? n - 1 : 1);
    struct fit_ctx c = { &y, &yt, mm, p->shrink, xmalloc((n ? n : 1) * mm * sizeof(int32_t)),
                         xmalloc((n ? n : 1) * mm * sizeof(float)), xmalloc((n ? n : 1) * sizeof(uint32_t)) };
    rs_parallel_for_blocks(p->threads, n, BLOCK, fit_items, &c);
    pack(m, &c);
    free(c.nbr), free(c.sim), free(c.len);
    rs_csr_free(&yt);
    rs_csr_free(&y);
    free(perm);
    return 0;
}

void rs_itemknn_free(struct rs_itemknn *m)
{
    rs_strmap_free(m->items);
    rs_rsm_free(m->file);
    for (int k = 0; k < 4; k++)
        free(m->own[k]);
    memset(m, 0, sizeof *m);
}

/* ---- file ---- */

int rs_itemknn_save(const struct rs_itemknn *m, const char *path)
{
    struct rs_rsm *r = rs_rsm_new();
    json_t *model = json_pack("{s:s, s:s, s:I, s:f, s:I, s:I, s:I, s:I}", "kind", "itemknn", "tool",
                              "rs-itemknn", "neighbours", (json_int_t)m->neighbours, "shrink", m->shrink,
                              "max_history", (json_int_t)m->max_history, "items", (json_int_t)m->nitems,
                              "users", (json_int_t)m->nusers, "pairs", (json_int_t)m->npairs);
    rs_rsm_set_section(r, "model", model);
    json_decref(model);
    size_t nbytes;
    char *blob = rs_itemids_blob(m->items, &nbytes);
    uint64_t n = m->nitems, n1 = n + 1, nnz = m->ptr[n], sb1 = nbytes;
    int rc = rs_rsm_add_tensor(r, "item_ids", RS_RSM_U8, 1, &sb1, blob);
    if (rc == 0)
        rc = rs_rsm_add_tensor(r, "popularity", RS_RSM_F32, 1, &n, m->popularity);
    if (rc == 0)
        rc = rs_rsm_add_tensor(r, "neighbour_ptr", RS_RSM_U64, 1, &n1, m->ptr);
    if (rc == 0)
        rc = rs_rsm_add_tensor(r, "neighbour_ids", RS_RSM_I32, 1, &nnz, m->nbr);
    if (rc == 0)
        rc = rs_rsm_add_tensor(r, "similarity", RS_RSM_F32, 1, &nnz, m->sim);
    if (rc == 0)
        rc = rs_rsm_save(r, path);
    free(blob);
    rs_rsm_free(r);
    return rc;
}

/* The model section: kind "itemknn", items, neighbours, shrink, ... */
static int load_meta(struct rs_itemknn *m, const char *path)
{
    json_t *model = rs_rsm_section(m->file, "model");
    const char *kind = json_string_value(json_object_get(model, "kind"));
    if (!kind || strcmp(kind, "itemknn") != 0)
        return rs_err_set(RS_ERR_FORMAT, "'%s' is not an rs-itemknn model (model kind '%s')", path,
                          kind ? kind : "none");
    json_t *items = json_object_get(model, "items"), *nb = json_object_get(model, "neighbours");
    json_int_t n = json_integer_value(items), k = json_integer_value(nb);
    if (!json_is_integer(items) || n < 0 || n >= (json_int_t)1 << 31 || !json_is_integer(nb) || k < 1)
        return rs_err_set(RS_ERR_FORMAT, "'%s': bad item or neighbour count in the model section", path);
    m->nitems = (size_t)n;
    m->neighbours = (size_t)k;
    m->shrink = json_number_value(json_object_get(model, "shrink"));
    m->max_history = (size_t)json_integer_value(json_object_get(model, "max_history"));
    m->nusers = (uint64_t)json_integer_value(json_object_get(model, "users"));
    m->npairs = (uint64_t)json_integer_value(json_object_get(model, "pairs"));
    return 0;
}

static int bad_row(const char *path, size_t i)
{
    return rs_err_set(RS_ERR_FORMAT, "'%s': the neighbour list or popularity of item %zu is not a valid "
                                     "rs-itemknn value", path, i);
}

/* Offsets ascending to the list length, at most M per item, ids in range and
 * not the item itself, similarities and popularity finite and >= 0. */
static int check_lists(const struct rs_itemknn *m, uint64_t nnz, const char *path)
{
    size_t n = m->nitems;
    if (m->ptr[0] != 0 || m->ptr[n] != nnz)
        return bad_row(path, 0);
    for (size_t i = 0; i < n; i++) {
        if (m->ptr[i + 1] < m->ptr[i] || m->ptr[i + 1] - m->ptr[i] > m->neighbours ||
            !(m->popularity[i] >= 0) || isinf(m->popularity[i]))
            return bad_row(path, i);
        for (uint64_t k = m->ptr[i]; k < m->ptr[i + 1]; k++)
            if (m->nbr[k] < 0 || (size_t)m->nbr[k] >= n || (size_t)m->nbr[k] == i || !(m->sim[k] >= 0) ||
                isinf(m->sim[k]))
                return bad_row(path, i);
    }
    return 0;
}

/* The tensors, checked for dtype and length. */
static int load_tensors(struct rs_itemknn *m, uint64_t *nnz)
{
    const void *ptr = NULL, *nbr = NULL, *sim = NULL, *pop = NULL;
    uint64_t n = m->nitems;
    const struct rs_rsm_tensor *t = rs_rsm_tensor(m->file, "neighbour_ids");
    *nnz = t ? t->shape[0] : 0;
    int rc = rs_rsm_get(m->file, "popularity", RS_RSM_F32, n, &pop);
    if (rc == 0)
        rc = rs_rsm_get(m->file, "neighbour_ptr", RS_RSM_U64, n + 1, &ptr);
    if (rc == 0)
        rc = rs_rsm_get(m->file, "neighbour_ids", RS_RSM_I32, *nnz, &nbr);
    if (rc == 0)
        rc = rs_rsm_get(m->file, "similarity", RS_RSM_F32, *nnz, &sim);
    m->ptr = ptr, m->nbr = nbr, m->sim = sim, m->popularity = pop;
    return rc;
}

int rs_itemknn_load(struct rs_itemknn *m, const char *path)
{
    memset(m, 0, sizeof *m);
    int rc = rs_rsm_load(&m->file, path);
    if (rc < 0)
        return rc;
    uint64_t nnz = 0;
    if ((rc = load_meta(m, path)) == 0)
        rc = load_tensors(m, &nnz);
    if (rc == 0)
        rc = rs_itemids_load(&m->items, m->file, m->nitems, path);
    if (rc == 0)
        rc = check_lists(m, nnz, path);
    if (rc < 0)
        rs_itemknn_free(m);
    return rc;
}

/* ---- scores and candidates ---- */

struct rec_ctx {
    const struct rs_itemknn *m;
    const struct rs_csr *hist;
    const int64_t *users;
    size_t k;
    int exclude;
    const struct rs_topk *pop;
    int64_t *ids;
    float *scores;
    size_t *counts;
};

/* Per-worker scratch: s[i] valid where mark[i] == stamp, seen[i] == stamp
 * for the user's own items. */
struct scratch {
    float *s;
    uint64_t *mark, *seen;
    uint32_t *touched;
    struct rs_topk t;
};

/* score_u(i) = Σ_{j ∈ row} s_ji: the lists of the user's items added in
 * ascending j, each best first (a fixed order). Returns the items reached. */
static size_t user_scores(const struct rs_itemknn *m, const uint32_t *row, size_t nr, struct scratch *w,
                          uint64_t stamp)
{
    size_t nt = 0;
    for (size_t r = 0; r < nr; r++) {
        uint32_t j = row[r];
        w->seen[j] = stamp;
        for (uint64_t k = m->ptr[j]; k < m->ptr[j + 1]; k++) {
            uint32_t i = (uint32_t)m->nbr[k];
            if (w->mark[i] != stamp) {
                w->mark[i] = stamp, w->s[i] = 0, w->touched[nt++] = i;
            }
            w->s[i] += m->sim[k];
        }
    }
    return nt;
}

/* The top k of one user: the items reached, then (when fewer than k) the
 * others at score 0 in ascending id, as if every item had been pushed. */
static void user_topk(const struct rec_ctx *c, const uint32_t *row, size_t nr, struct scratch *w, uint64_t stamp)
{
    size_t nt = user_scores(c->m, row, nr, w, stamp), pushed = 0;
    rs_topk_reset(&w->t);
    for (size_t a = 0; a < nt; a++) {
        uint32_t i = w->touched[a];
        if (!(c->exclude && w->seen[i] == stamp))
            rs_topk_push(&w->t, w->s[i], (int64_t)i), pushed++;
    }
    for (size_t i = 0; i < c->m->nitems && pushed < c->k; i++)
        if (w->mark[i] != stamp && !(c->exclude && w->seen[i] == stamp))
            rs_topk_push(&w->t, 0.0f, (int64_t)i), pushed++;
    rs_topk_sort(&w->t);
}

static void rec_users(void *ctx, size_t begin, size_t end, int tid)
{
    (void)tid;
    const struct rec_ctx *c = ctx;
    size_t n = c->m->nitems ? c->m->nitems : 1, k = c->k;
    struct scratch w = { xmalloc(n * sizeof(float)), xcalloc(n, sizeof(uint64_t)), xcalloc(n, sizeof(uint64_t)),
                         xmalloc(n * sizeof(uint32_t)), { 0 } };
    rs_topk_init(&w.t, k);
    for (size_t q = begin; q < end; q++) {
        int64_t u = c->users[q];
        const uint32_t *row = u >= 0 ? c->hist->indices + c->hist->indptr[u] : NULL;
        size_t nr = u >= 0 ? (size_t)(c->hist->indptr[u + 1] - c->hist->indptr[u]) : 0;
        const struct rs_topk *src = c->pop;
        if (nr > 0) {
            user_topk(c, row, nr, &w, (uint64_t)q + 1);
            src = &w.t;
        }
        rs_itemids_store(src, q, k, c->ids, c->scores, c->counts);
    }
    rs_topk_free(&w.t);
    free(w.s), free(w.mark), free(w.seen), free(w.touched);
}

void rs_itemknn_recommend(const struct rs_itemknn *m, const struct rs_csr *hist, const int64_t *users,
                          size_t nq, size_t k, int exclude_seen, int threads, int64_t *ids, float *scores,
                          size_t *counts)
{
    RS_ASSERT(k >= 1 && hist->ncols == m->nitems);
    struct rs_topk pop;
    rs_topk_init(&pop, k);
    rs_itemids_popular(&pop, m->popularity, m->nitems);
    struct rec_ctx c = { m, hist, users, k, exclude_seen, &pop, ids, scores, counts };
    rs_parallel_for(threads, nq, rec_users, &c);
    rs_topk_free(&pop);
}
