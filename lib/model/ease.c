/* ease.c - EASE (Steck, WWW 2019): G = XᵀX + λI counted exactly from the
 * sparse matrix, P = G⁻¹ by a float Cholesky inverse, B = I − P·diag(1/diag P)
 * in place of G, and top-k candidates from s_u = x_u B. */
#include "model/ease.h"
#include "model/itemids.h"
#include "prep/csr.h"
#include "core/err.h"
#include "io/rsm.h"
#include "nn/tensor.h"
#include "core/strmap.h"
#include "core/threads.h"
#include "core/topk.h"
#include "core/vec16.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- fit ---- */

struct gram_ctx {
    float *g;
    const struct rs_csr *x, *xt; /* users × items (old ids), items (new ids) × users */
    const uint32_t *perm;
    size_t n;
};

/* Rows [begin, end) of XᵀX: (XᵀX)_ij = |users of both i and j|, counted
 * exactly in integers, then rounded once to float (exact below 2²⁴ users). */
static void gram_rows(void *ctx, size_t begin, size_t end, int tid)
{
    (void)tid;
    const struct gram_ctx *c = ctx;
    uint32_t *cnt = xmalloc((c->n ? c->n : 1) * sizeof *cnt);
    for (size_t i = begin; i < end; i++) {
        memset(cnt, 0, c->n * sizeof *cnt);
        for (uint64_t a = c->xt->indptr[i]; a < c->xt->indptr[i + 1]; a++) {
            uint32_t u = c->xt->indices[a];
            for (uint64_t b = c->x->indptr[u]; b < c->x->indptr[u + 1]; b++)
                cnt[c->perm[c->x->indices[b]]]++;
        }
        float *row = c->g + i * c->n;
        for (size_t j = 0; j < c->n; j++)
            row[j] = (float)cnt[j];
    }
    free(cnt);
}

struct b_ctx {
    float *p;
    const float *d; /* diag(P) */
    size_t n;
};

/* Rows [begin, end) of B from P in place: B_ij = −P_ij / P_jj, B_jj = 0
 * (Steck eq. 8). */
static void b_rows(void *ctx, size_t begin, size_t end, int tid)
{
    (void)tid;
    const struct b_ctx *c = ctx;
    for (size_t i = begin; i < end; i++) {
        float *row = c->p + i * c->n;
        for (size_t j = 0; j < c->n; j++)
            row[j] = -row[j] / c->d[j];
        row[i] = 0.0f;
    }
}

/* Xᵀ with items renumbered by perm: items × users, users ascending. */
static void transpose_items(struct rs_csr *xt, const struct rs_csr *x, const uint32_t *perm)
{
    struct rs_coo c;
    rs_coo_init(&c);
    for (size_t u = 0; u < x->nrows; u++)
        for (uint64_t k = x->indptr[u]; k < x->indptr[u + 1]; k++)
            rs_coo_add(&c, perm[x->indices[k]], (uint32_t)u, 1.0f);
    rs_csr_from_coo(xt, &c, x->ncols, x->nrows);
    rs_coo_free(&c);
}

static int too_many(size_t n, size_t max)
{
    double mb = (double)n * (double)n * sizeof(float) / 1e6;
    return rs_err_set(RS_ERR_NOMEM,
                      "%zu items: more than the limit of %zu for EASE, whose items × items matrix is dense "
                      "(%.3g %s here); keep fewer items (rs-prefilter --top-n) or use a sparse model "
                      "(rs-itemknn, rs-als)",
                      n, max, mb < 1e3 ? mb : mb / 1e3, mb < 1e3 ? "MB" : "GB");
}

/* G = XᵀX + λI, then P = G⁻¹, then B, all in the n × n buffer g. */
static int solve(float *g, const struct rs_csr *x, const struct rs_csr *xt, const uint32_t *perm,
                 const struct rs_ease_params *p, const struct rs_strmap *sorted)
{
    size_t n = x->ncols;
    struct gram_ctx gc = { g, x, xt, perm, n };
    rs_parallel_for(p->threads, n, gram_rows, &gc);
    for (size_t i = 0; i < n; i++)
        g[i * n + i] += (float)p->lambda;
    int info = rs_spd_inverse(g, n);
    if (info != 0) {
        const char *id = info > 0 ? rs_strmap_key(sorted, info - 1, NULL) : "?";
        return rs_err_set(RS_ERR_FORMAT,
                          "XᵀX + λI is not positive definite in float precision at item '%s' (λ = %g): "
                          "raise λ", id, p->lambda);
    }
    float *d = xmalloc((n ? n : 1) * sizeof *d);
    for (size_t j = 0; j < n; j++)
        d[j] = g[j * n + j];
    struct b_ctx bc = { g, d, n };
    rs_parallel_for(p->threads, n, b_rows, &bc);
    free(d);
    for (size_t k = 0; k < n * n; k++)
        if (!isfinite(g[k]))
            return rs_err_set(RS_ERR_FORMAT, "B is not finite at item '%s' (λ = %g): raise λ",
                              rs_strmap_key(sorted, (int64_t)(k / n), NULL), p->lambda);
    return 0;
}

int rs_ease_fit(struct rs_ease *m, const struct rs_csr *x, const struct rs_strmap *items,
                const struct rs_ease_params *p)
{
    memset(m, 0, sizeof *m);
    size_t n = x->ncols;
    RS_ASSERT(rs_strmap_size(items) == n && p->lambda > 0 && p->threads >= 1);
    if (p->max_items && n > p->max_items)
        return too_many(n, p->max_items);
    if (n > ((size_t)1 << 31)) /* n² + n floats must fit a size_t */
        return too_many(n, (size_t)1 << 31);
    uint32_t *perm = xmalloc((n ? n : 1) * sizeof *perm);
    m->items = rs_itemids_sort(items, perm);
    struct rs_csr xt;
    transpose_items(&xt, x, perm);
    m->own = xmalloc((n * n + n + 1) * sizeof *m->own);
    m->nitems = n;
    m->lambda = p->lambda;
    m->nusers = x->nrows;
    m->npairs = x->nnz;
    m->b = m->own;
    float *pop = m->own + n * n;
    for (size_t i = 0; i < n; i++)
        pop[i] = (float)(xt.indptr[i + 1] - xt.indptr[i]);
    m->popularity = pop;
    int rc = solve(m->own, x, &xt, perm, p, m->items);
    rs_csr_free(&xt);
    free(perm);
    if (rc < 0)
        rs_ease_free(m);
    return rc;
}

void rs_ease_free(struct rs_ease *m)
{
    rs_strmap_free(m->items);
    rs_rsm_free(m->file);
    free(m->own);
    memset(m, 0, sizeof *m);
}

/* ---- file ---- */

int rs_ease_save(const struct rs_ease *m, const char *path)
{
    struct rs_rsm *r = rs_rsm_new();
    json_t *model = json_pack("{s:s, s:s, s:f, s:I, s:I, s:I}", "kind", "ease", "tool", "rs-ease", "lambda",
                              m->lambda, "items", (json_int_t)m->nitems, "users", (json_int_t)m->nusers,
                              "pairs", (json_int_t)m->npairs);
    rs_rsm_set_section(r, "model", model);
    json_decref(model);
    size_t nbytes;
    char *blob = rs_itemids_blob(m->items, &nbytes);
    uint64_t n = m->nitems, sb[2] = { n, n }, sb1 = nbytes;
    int rc = rs_rsm_add_tensor(r, "item_ids", RS_RSM_U8, 1, &sb1, blob);
    if (rc == 0)
        rc = rs_rsm_add_tensor(r, "popularity", RS_RSM_F32, 1, &n, m->popularity);
    if (rc == 0)
        rc = rs_rsm_add_tensor(r, "B", RS_RSM_F32, 2, sb, m->b);
    if (rc == 0)
        rc = rs_rsm_save(r, path);
    free(blob);
    rs_rsm_free(r);
    return rc;
}

/* B finite with a zero diagonal, popularity finite and >= 0. */
static int check_values(const struct rs_ease *m, const char *path)
{
    size_t n = m->nitems;
    for (size_t i = 0; i < n; i++) {
        const float *row = m->b + i * n;
        int bad = row[i] != 0.0f || !(m->popularity[i] >= 0) || isinf(m->popularity[i]);
        for (size_t j = 0; j < n && !bad; j++)
            bad = !isfinite(row[j]);
        if (bad)
            return rs_err_set(RS_ERR_FORMAT, "'%s': row %zu of B or its popularity is not a valid EASE value",
                              path, i);
    }
    return 0;
}

/* The model section: kind "ease", items, lambda, users, pairs. */
static int load_meta(struct rs_ease *m, const char *path)
{
    json_t *model = rs_rsm_section(m->file, "model");
    const char *kind = json_string_value(json_object_get(model, "kind"));
    if (!kind || strcmp(kind, "ease") != 0)
        return rs_err_set(RS_ERR_FORMAT, "'%s' is not an rs-ease model (model kind '%s')", path,
                          kind ? kind : "none");
    json_t *items = json_object_get(model, "items");
    json_int_t n = json_integer_value(items);
    if (!json_is_integer(items) || n < 0 || n > (json_int_t)1 << 31)
        return rs_err_set(RS_ERR_FORMAT, "'%s': bad item count in the model section", path);
    m->nitems = (size_t)n;
    m->lambda = json_number_value(json_object_get(model, "lambda"));
    m->nusers = (uint64_t)json_integer_value(json_object_get(model, "users"));
    m->npairs = (uint64_t)json_integer_value(json_object_get(model, "pairs"));
    return 0;
}

int rs_ease_load(struct rs_ease *m, const char *path)
{
    memset(m, 0, sizeof *m);
    int rc = rs_rsm_load(&m->file, path);
    if (rc < 0)
        return rc;
    const void *b = NULL, *pop = NULL;
    uint64_t n = 0;
    if ((rc = load_meta(m, path)) == 0) {
        n = m->nitems;
        rc = rs_rsm_get(m->file, "B", RS_RSM_F32, n * n, &b);
    }
    if (rc == 0)
        rc = rs_rsm_get(m->file, "popularity", RS_RSM_F32, n, &pop);
    m->b = b;
    m->popularity = pop;
    if (rc == 0)
        rc = rs_itemids_load(&m->items, m->file, m->nitems, path);
    if (rc == 0)
        rc = check_values(m, path);
    if (rc < 0)
        rs_ease_free(m);
    return rc;
}

/* ---- scores and candidates ---- */

/* s += r, element by element (no reduction: the same bits on every ISA). */
RS_VEC static void add_row(float *restrict s, const float *restrict r, size_t n)
{
    for (size_t j = 0; j < n; j++)
        s[j] += r[j];
}

void rs_ease_scores(const struct rs_ease *m, const uint32_t *rows, size_t nrows, float *s)
{
    size_t n = m->nitems;
    memset(s, 0, n * sizeof *s);
    for (size_t r = 0; r < nrows; r++)
        add_row(s, m->b + (size_t)rows[r] * n, n);
}

struct rec_ctx {
    const struct rs_ease *m;
    const struct rs_csr *hist;
    const int64_t *users;
    size_t k;
    int exclude;
    const struct rs_topk *pop;
    int64_t *ids;
    float *scores;
    size_t *counts;
};

/* Pushes every item but the ascending list skip[0..nskip) into t. */
static void push_items(struct rs_topk *t, const float *s, size_t n, const uint32_t *skip, size_t nskip)
{
    size_t p = 0;
    for (size_t j = 0; j < n; j++) {
        if (p < nskip && skip[p] == j) {
            p++;
            continue;
        }
        rs_topk_push(t, s[j], (int64_t)j);
    }
}

static void rec_users(void *ctx, size_t begin, size_t end, int tid)
{
    (void)tid;
    const struct rec_ctx *c = ctx;
    size_t n = c->m->nitems, k = c->k;
    float *s = xmalloc((n ? n : 1) * sizeof *s);
    struct rs_topk t;
    rs_topk_init(&t, k);
    for (size_t q = begin; q < end; q++) {
        int64_t u = c->users[q];
        const uint32_t *row = u >= 0 ? c->hist->indices + c->hist->indptr[u] : NULL;
        size_t nr = u >= 0 ? (size_t)(c->hist->indptr[u + 1] - c->hist->indptr[u]) : 0;
        const struct rs_topk *src = c->pop;
        if (nr > 0) {
            rs_ease_scores(c->m, row, nr, s); /* s_u = x_u B */
            rs_topk_reset(&t);
            push_items(&t, s, n, row, c->exclude ? nr : 0);
            rs_topk_sort(&t);
            src = &t;
        }
        rs_itemids_store(src, q, k, c->ids, c->scores, c->counts);
    }
    rs_topk_free(&t);
    free(s);
}

void rs_ease_recommend(const struct rs_ease *m, const struct rs_csr *hist, const int64_t *users, size_t nq,
                       size_t k, int exclude_seen, int threads, int64_t *ids, float *scores, size_t *counts)
{
    RS_ASSERT(k >= 1 && hist->ncols == m->nitems);
    struct rs_topk pop;
    rs_topk_init(&pop, k);
    rs_itemids_popular(&pop, m->popularity, m->nitems);
    struct rec_ctx c = { m, hist, users, k, exclude_seen, &pop, ids, scores, counts };
    rs_parallel_for(threads, nq, rec_users, &c);
    rs_topk_free(&pop);
}
