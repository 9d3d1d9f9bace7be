/* eval.c - streaming evaluation of prediction files against truth (see
 * eval.h; metric formulas in metrics.h and schemas/metrics.md).
 *
 * Items and users are interned (strmap behind an idcache front table) and
 * carry small per-id records. A user's rows are buffered with their item id
 * text and interned as a batch with prefetching, since random accesses to the
 * item tables are most of the cost. A user's truth set is marked on its
 * items with the list's stamp, so a hit test is one comparison; a list is
 * sorted only when it is not already in order. Recommendation counts are kept per cutoff bucket (positions
 * (k_{j-1}, k_j]) and summed into per-cutoff counts at the end.
 */
#include "eval/eval.h"
#include "core/err.h"
#include "core/idcache.h"
#include "io/io.h"
#include "io/itemattr.h"
#include "eval/metrics.h"
#include "core/pairset.h"
#include "io/rsb.h"
#include "core/shard.h"
#include "core/strmap.h"
#include "io/tsv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct item {
    double gain;       /* gain for the list whose stamp is in mark */
    double inv_norm;   /* 1/|embedding| (0: none) */
    int64_t emb;       /* embedding row, -1: none */
    uint32_t mark;     /* stamp of the list whose user has the item in truth */
    uint32_t seen;     /* stamp of the list that already holds the item */
    uint32_t train;    /* distinct training users of the item */
    int32_t cat;       /* category value id, -1: none */
};

struct user {
    size_t t_off;      /* truth items: e->t_item[t_off .. t_off + t_n) */
    uint32_t t_n;
    uint32_t seg;      /* segment index, 0: none */
    uint32_t run;      /* the last run whose predictions held this user */
    uint8_t in_train;
};

/* Sums of one model over one segment. */
struct acc {
    uint64_t truth_users, users, with_pred;
    double *sum;               /* [RS_MET_NACC][nk] */
    double *nov, *cat, *emb;   /* [nk] */
    uint64_t *nov_n, *cat_n, *emb_n;
    uint64_t **count;          /* [nk][items]: recommended at positions (k_{j-1}, k_j] */
};

struct model {
    char *name;
    uint64_t excluded;
    struct acc *acc;  /* [nacc] segments' sums, kept for a partial */
    size_t nacc, count_cap;
    struct rs_eval_value **vals; /* [segment] */
    size_t *nvals;
};

/* One prediction row of the current user. */
struct prow {
    double key;          /* ascending = better: rank, or -score */
    uint32_t item;       /* item id, once resolved */
    uint32_t koff, klen; /* until then, the item id text in e->kbuf */
};

struct rs_eval {
    struct rs_eval_opts o;
    size_t *ks;
    struct rs_strmap *users, *items, *segs;
    struct rs_idcache *ucache, *icache; /* every lookup goes through these */
    struct user *user;
    struct item *item;
    size_t user_cap, item_cap;
    uint32_t *t_item;
    double *t_gain, *t_ideal;
    uint64_t truth_users, train_users, train_items;
    const struct rs_itemattr *attr;
    int cat_col;
    const struct rs_embset *embs;
    int has_rel, has_cat, has_emb; /* which metrics exist (also merged ones) */
    uint32_t nshards;              /* merge: N of the partials */
    uint32_t *shards_got;          /* merge: the I of each partial read so far */
    size_t ngot;
    char *seg_col;
    struct model *model;
    size_t nmodels;
    uint32_t stamp, runs;
    int per_user_header;
    /* per-list scratch */
    struct prow *rows;
    size_t nrows, cap_rows;
    char *kbuf;
    size_t kbuf_len, kbuf_cap;
    uint64_t *hash;
    uint32_t *list;
    unsigned char *rel;
    double *gain, *accv, *embsum, *nov_u, *cat_u, *emb_u;
    int32_t *cats;
    struct rs_metrics_ild_cat ild;
    uint64_t *scratch;
};

struct rs_eval *rs_eval_new(const struct rs_eval_opts *o)
{
    struct rs_eval *e = xcalloc(1, sizeof *e);
    e->o = *o;
    RS_ASSERT(o->nk > 0);
    e->ks = xmalloc(o->nk * sizeof *e->ks);
    memcpy(e->ks, o->ks, o->nk * sizeof *e->ks);
    e->o.ks = e->ks;
    e->users = rs_strmap_new(1024);
    e->items = rs_strmap_new(1024);
    e->segs = rs_strmap_new(16);
    e->ucache = rs_idcache_new(e->users);
    e->icache = rs_idcache_new(e->items);
    e->accv = xmalloc(RS_MET_NACC * o->nk * sizeof *e->accv);
    e->nov_u = xmalloc(3 * o->nk * sizeof *e->nov_u);
    e->cat_u = e->nov_u + o->nk;
    e->emb_u = e->cat_u + o->nk;
    e->has_rel = o->rel_col != NULL;
    return e;
}

static void acc_free(struct acc *a, size_t nk);

static void model_free(struct model *m, size_t nseg, size_t nk)
{
    for (size_t s = 0; s < m->nacc; s++)
        acc_free(&m->acc[s], nk);
    free(m->acc);
    for (size_t s = 0; s < nseg && m->vals; s++)
        free(m->vals[s]);
    free(m->vals);
    free(m->nvals);
    free(m->name);
}

void rs_eval_free(struct rs_eval *e)
{
    if (!e)
        return;
    for (size_t m = 0; m < e->nmodels; m++)
        model_free(&e->model[m], rs_eval_nsegments(e), e->o.nk);
    free(e->shards_got);
    free(e->model);
    rs_idcache_free(e->ucache);
    rs_idcache_free(e->icache);
    rs_strmap_free(e->users);
    rs_strmap_free(e->items);
    rs_strmap_free(e->segs);
    free(e->user);
    free(e->item);
    free(e->t_item);
    free(e->t_gain);
    free(e->t_ideal);
    free(e->ks);
    free(e->seg_col);
    free(e->rows);
    free(e->kbuf);
    free(e->hash);
    free(e->list);
    free(e->rel);
    free(e->gain);
    free(e->accv);
    free(e->embsum);
    free(e->nov_u);
    free(e->cats);
    free(e->ild.ncat);
    free(e->scratch);
    free(e);
}

/* ---- interning ---- */

static void item_attrs(struct rs_eval *e, size_t i)
{
    size_t len;
    const char *key = rs_strmap_key(e->items, (int64_t)i, &len);
    struct item *it = &e->item[i];
    it->cat = e->attr ? rs_itemattr_get(e->attr, e->cat_col, key, len) : -1;
    if (it->cat >= 0) {
        size_t vlen; /* an empty field is a missing category */
        rs_strmap_key(e->attr->values[e->cat_col], it->cat, &vlen);
        if (vlen == 0)
            it->cat = -1;
    }
    it->emb = e->embs ? rs_strmap_get(e->embs->ids, key, len) : -1;
    it->inv_norm = it->emb >= 0 ? rs_metrics_inv_norm(e->embs->x + (size_t)it->emb * e->embs->dims,
                                                       e->embs->dims) : 0;
    if (it->inv_norm == 0)
        it->emb = -1; /* a zero vector has no direction: treated as no embedding */
}

static uint32_t item_id_hashed(struct rs_eval *e, const char *key, size_t len, uint64_t hash)
{
    int added;
    size_t i = (size_t)rs_idcache_put_hashed(e->icache, key, len, hash, &added);
    if (!added)
        return (uint32_t)i;
    if (i >= e->item_cap) {
        e->item_cap = e->item_cap ? 2 * e->item_cap : 1024;
        e->item = xrealloc(e->item, e->item_cap * sizeof *e->item);
    }
    memset(&e->item[i], 0, sizeof e->item[i]);
    item_attrs(e, i);
    return (uint32_t)i;
}

static uint32_t item_id(struct rs_eval *e, const char *key, size_t len)
{
    return item_id_hashed(e, key, len, rs_idcache_hash(key, len));
}

static uint32_t user_id(struct rs_eval *e, const char *key, size_t len)
{
    int added;
    size_t u = (size_t)rs_idcache_put(e->ucache, key, len, &added);
    if (added) {
        if (u >= e->user_cap) {
            e->user_cap = e->user_cap ? 2 * e->user_cap : 1024;
            e->user = xrealloc(e->user, e->user_cap * sizeof *e->user);
        }
        memset(&e->user[u], 0, sizeof e->user[u]);
    }
    return (uint32_t)u;
}

static uint32_t seg_id(struct rs_eval *e, const char *v, size_t len)
{
    return 1 + (uint32_t)rs_strmap_put(e->segs, v, len, NULL);
}

static int open_with(struct rs_tsv **t, const char *path, const char *const *cols, int *idx, size_t n)
{
    *t = NULL;
    int rc = rs_tsv_open(t, path, 0);
    if (rc < 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = cols[i] ? rs_tsv_require(*t, cols[i], &idx[i]) : (idx[i] = -1, 0);
    if (rc < 0) {
        rs_tsv_close(*t);
        *t = NULL;
    }
    return rc;
}

static int nonempty(struct rs_tsv *t, int col)
{
    return rs_tsv_len(t, col) ? 0 : rs_tsv_errf(t, col, "empty id");
}

/* ---- truth ---- */

struct trow {
    uint32_t user, item;
    double gain;
};

static int cmp_trow(const void *a, const void *b)
{
    const struct trow *x = a, *y = b;
    if (x->user != y->user)
        return x->user < y->user ? -1 : 1;
    if (x->item != y->item)
        return x->item < y->item ? -1 : 1;
    return (x->gain < y->gain) - (x->gain > y->gain); /* largest gain first */
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

static int read_truth(struct rs_eval *e, struct rs_tsv *t, const int *col, struct trow **rows, size_t *n)
{
    size_t cap = 0;
    int rc;
    while ((rc = rs_tsv_next(t)) == 0) {
        if ((rc = nonempty(t, col[0])) < 0 || (rc = nonempty(t, col[1])) < 0)
            return rc;
        uint32_t u = user_id(e, rs_tsv_get(t, col[0]), rs_tsv_len(t, col[0]));
        if (col[3] >= 0 && e->user[u].seg == 0)
            e->user[u].seg = seg_id(e, rs_tsv_get(t, col[3]), rs_tsv_len(t, col[3]));
        if (e->o.shard && !rs_shard_has(e->o.shard, rs_tsv_get(t, col[0]), rs_tsv_len(t, col[0])))
            continue;
        double rel = 1;
        if (col[2] >= 0) {
            if ((rc = rs_tsv_get_f64(t, col[2], &rel)) < 0)
                return rc;
            if (!isfinite(rel) || rel < 0)
                return rs_tsv_errf(t, col[2], "expected a relevance >= 0, got '%s'", rs_tsv_get(t, col[2]));
            if (rel < e->o.min_rel)
                continue;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 4096;
            *rows = xrealloc(*rows, cap * sizeof **rows);
        }
        double g = col[2] < 0 ? 1 : e->o.gain_exp ? exp2(rel) - 1 : rel;
        (*rows)[(*n)++] = (struct trow){ u, item_id(e, rs_tsv_get(t, col[1]), rs_tsv_len(t, col[1])), g };
    }
    return rc == RS_ERR_EOF ? 0 : rc;
}

int rs_eval_load_truth(struct rs_eval *e, const char *path, const char *seg_col)
{
    const char *cols[4] = { e->o.user_col, e->o.item_col, e->o.rel_col, seg_col };
    int col[4];
    struct rs_tsv *t;
    int rc = open_with(&t, path, cols, col, 4);
    if (rc < 0)
        return rc;
    if (seg_col)
        e->seg_col = xstrdup(seg_col);
    struct trow *rows = NULL;
    size_t n = 0;
    rc = read_truth(e, t, col, &rows, &n);
    rs_tsv_close(t);
    if (rc < 0) {
        free(rows);
        return rc;
    }
    if (n) /* rows is NULL when no truth row is left (an empty shard) */
        qsort(rows, n, sizeof *rows, cmp_trow);
    e->t_item = xmalloc((n ? n : 1) * sizeof *e->t_item);
    if (e->o.rel_col) { /* binary relevance needs no gains */
        e->t_gain = xmalloc((n ? n : 1) * sizeof *e->t_gain);
        e->t_ideal = xmalloc((n ? n : 1) * sizeof *e->t_ideal);
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && rows[i].user == rows[i - 1].user && rows[i].item == rows[i - 1].item)
            continue; /* a duplicate pair: the first (largest gain) counts */
        struct user *u = &e->user[rows[i].user];
        if (u->t_n == 0) {
            u->t_off = m;
            e->truth_users++;
        }
        u->t_n++;
        e->t_item[m] = rows[i].item;
        if (e->t_gain)
            e->t_gain[m] = e->t_ideal[m] = rows[i].gain;
        m++;
    }
    free(rows);
    for (size_t u = 0; u < rs_strmap_size(e->users) && e->t_ideal; u++)
        qsort(e->t_ideal + e->user[u].t_off, e->user[u].t_n, sizeof(double), cmp_desc);
    return 0;
}

int rs_eval_load_segments(struct rs_eval *e, const char *path, const char *col)
{
    const char *cols[2] = { e->o.user_col, col };
    int idx[2];
    struct rs_tsv *t;
    int rc = open_with(&t, path, cols, idx, 2);
    if (rc < 0)
        return rc;
    free(e->seg_col);
    e->seg_col = xstrdup(col);
    struct rs_strmap *seen = rs_strmap_new(1024); /* every user of the table, truth's or not */
    uint64_t *first = NULL;
    size_t nfirst = 0;
    while ((rc = rs_tsv_next(t)) == 0) {
        const char *key = rs_tsv_get(t, idx[0]);
        size_t len = rs_tsv_len(t, idx[0]);
        if ((rc = rs_tsv_key_once(t, idx[0], (size_t)rs_strmap_put(seen, key, len, NULL), &first, &nfirst)) < 0)
            break;
        int64_t u = rs_strmap_get(e->users, key, len);
        if (u >= 0 && e->user[u].seg == 0)
            e->user[u].seg = seg_id(e, rs_tsv_get(t, idx[1]), rs_tsv_len(t, idx[1]));
    }
    rs_strmap_free(seen);
    free(first);
    rs_tsv_close(t);
    for (size_t u = 0; u < rs_strmap_size(e->users); u++)
        if (e->user[u].seg == 0)
            e->user[u].seg = seg_id(e, "", 0);
    return rc == RS_ERR_EOF ? 0 : rc;
}

int rs_eval_load_train(struct rs_eval *e, const char *path)
{
    const char *cols[2] = { e->o.user_col, e->o.item_col };
    int idx[2];
    struct rs_tsv *t;
    int rc = open_with(&t, path, cols, idx, 2);
    if (rc < 0)
        return rc;
    struct rs_pairset *pairs = rs_pairset_new(1 << 16);
    while ((rc = rs_tsv_next(t)) == 0) {
        if ((rc = nonempty(t, idx[0])) < 0 || (rc = nonempty(t, idx[1])) < 0)
            break;
        uint32_t u = user_id(e, rs_tsv_get(t, idx[0]), rs_tsv_len(t, idx[0]));
        uint32_t i = item_id(e, rs_tsv_get(t, idx[1]), rs_tsv_len(t, idx[1]));
        if (!rs_pairset_add(pairs, u, i))
            continue;
        e->train_items += e->item[i].train++ == 0;
        e->train_users += !e->user[u].in_train;
        e->user[u].in_train = 1;
    }
    rs_pairset_free(pairs);
    rs_tsv_close(t);
    return rc == RS_ERR_EOF ? 0 : rc;
}

void rs_eval_set_categories(struct rs_eval *e, const struct rs_itemattr *a, int col)
{
    e->attr = a;
    e->has_cat = 1;
    e->cat_col = col;
    size_t ncat = rs_strmap_size(a->values[col]);
    free(e->ild.ncat);
    e->ild.ncat = xcalloc(ncat ? ncat : 1, sizeof *e->ild.ncat);
    for (size_t i = 0; i < rs_strmap_size(e->items); i++)
        item_attrs(e, i);
}

void rs_eval_set_embeddings(struct rs_eval *e, const struct rs_embset *emb)
{
    e->embs = emb;
    e->has_emb = 1;
    free(e->embsum);
    e->embsum = xcalloc(emb->dims ? emb->dims : 1, sizeof *e->embsum);
    for (size_t i = 0; i < rs_strmap_size(e->items); i++)
        item_attrs(e, i);
}

/* ---- accumulators ---- */

static void acc_init(struct acc *a, size_t nk, size_t items)
{
    memset(a, 0, sizeof *a);
    a->sum = xcalloc(RS_MET_NACC * nk, sizeof *a->sum);
    a->nov = xcalloc(3 * nk, sizeof *a->nov);
    a->cat = a->nov + nk;
    a->emb = a->cat + nk;
    a->nov_n = xcalloc(3 * nk, sizeof *a->nov_n);
    a->cat_n = a->nov_n + nk;
    a->emb_n = a->cat_n + nk;
    a->count = xmalloc(nk * sizeof *a->count);
    for (size_t j = 0; j < nk; j++)
        a->count[j] = xcalloc(items ? items : 1, sizeof **a->count);
}

static void acc_free(struct acc *a, size_t nk)
{
    for (size_t j = 0; j < nk; j++)
        free(a->count[j]);
    free(a->count);
    free(a->sum);
    free(a->nov);
    free(a->nov_n);
}

struct run {
    struct acc *acc;   /* [segment] */
    size_t nacc, count_cap;
    uint32_t no;
    uint64_t excluded;
    const char *model;
    struct rs_writer *per_user;
};

/* Keeps the count arrays as long as the item table. */
static void run_fit_items(struct rs_eval *e, struct run *r)
{
    size_t need = rs_strmap_size(e->items);
    if (need <= r->count_cap)
        return;
    size_t cap = r->count_cap * 2 > need ? r->count_cap * 2 : need;
    for (size_t s = 0; s < r->nacc; s++)
        for (size_t j = 0; j < e->o.nk; j++) {
            uint64_t **c = &r->acc[s].count[j];
            *c = xrealloc(*c, cap * sizeof **c);
            memset(*c + r->count_cap, 0, (cap - r->count_cap) * sizeof **c);
        }
    r->count_cap = cap;
}

/* ---- one user's list ---- */

static int cmp_prow(const void *a, const void *b, void *ctx)
{
    const struct prow *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->item == y->item)
        return 0;
    const struct rs_strmap *items = ctx;
    return strcmp(rs_strmap_key(items, x->item, NULL), rs_strmap_key(items, y->item, NULL));
}

/* Sorts the rows (if needed) and keeps each item's first occurrence;
 * returns the list length. */
static size_t build_list(struct rs_eval *e, uint32_t u)
{
    size_t n = e->nrows;
    int sorted = 1;
    for (size_t i = 1; i < n && sorted; i++)
        sorted = cmp_prow(&e->rows[i - 1], &e->rows[i], e->items) <= 0;
    if (!sorted)
        qsort_r(e->rows, n, sizeof *e->rows, cmp_prow, e->items);
    e->stamp++;
    RS_ASSERT(e->stamp != 0);
    const struct user *us = &e->user[u];
    for (uint32_t t = 0; t < us->t_n; t++) {
        struct item *it = &e->item[e->t_item[us->t_off + t]];
        it->mark = e->stamp;
        it->gain = e->t_gain ? e->t_gain[us->t_off + t] : 1;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        struct item *it = &e->item[e->rows[i].item];
        if (it->seen == e->stamp)
            continue;
        it->seen = e->stamp;
        e->list[m] = e->rows[i].item;
        e->rel[m] = it->mark == e->stamp;
        e->gain[m] = e->rel[m] ? it->gain : 0;
        e->cats[m] = it->cat;
        m++;
    }
    return m;
}

/* Novelty, category and embedding diversity of the list at each cutoff,
 * and the recommendation counts, into acc a (and b if not NULL). */
static void beyond(struct rs_eval *e, size_t n, struct acc *a, struct acc *b)
{
    size_t nk = e->o.nk, p = 0;
    double nov = 0;
    uint64_t nov_n = 0, emb_n = 0;
    uint32_t dims = e->embs ? e->embs->dims : 0;
    for (size_t j = 0; j < nk; j++) {
        for (; p < n && p < e->ks[j]; p++) {
            const struct item *it = &e->item[e->list[p]];
            a->count[j][e->list[p]]++;
            if (b)
                b->count[j][e->list[p]]++;
            if (it->train) {
                nov -= log2((double)it->train / (double)e->train_users);
                nov_n++;
            }
            if (e->attr && it->cat >= 0)
                rs_metrics_ild_cat_add(&e->ild, it->cat);
            if (it->emb >= 0) {
                rs_metrics_ild_emb_add(e->embsum, e->embs->x + (size_t)it->emb * dims, it->inv_norm, dims);
                emb_n++;
            }
        }
        e->nov_u[j] = nov_n ? nov / (double)nov_n : NAN;
        e->cat_u[j] = e->attr ? rs_metrics_ild_cat_value(&e->ild) : -1;
        e->emb_u[j] = e->embs ? rs_metrics_ild_emb_value(e->embsum, dims, emb_n) : -1;
        for (struct acc *x = a; x; x = x == a ? b : NULL) {
            x->nov[j] += nov;
            x->nov_n[j] += nov_n;
            if (e->cat_u[j] >= 0) {
                x->cat[j] += e->cat_u[j];
                x->cat_n[j]++;
            }
            if (e->emb_u[j] >= 0) {
                x->emb[j] += e->emb_u[j];
                x->emb_n[j]++;
            }
        }
        if (e->cat_u[j] < 0)
            e->cat_u[j] = NAN;
        if (e->emb_u[j] < 0)
            e->emb_u[j] = NAN;
    }
    if (e->attr)
        rs_metrics_ild_cat_reset(&e->ild, e->cats, n);
    if (e->embs)
        memset(e->embsum, 0, dims * sizeof *e->embsum);
}

static int put_value(struct rs_writer *w, double v)
{
    return rs_writer_putc(w, '\t') | (isnan(v) ? 0 : rs_writer_put_float(w, v));
}

static int per_user_header(struct rs_eval *e, struct rs_writer *w)
{
    int rc = rs_writer_put_text(w, e->o.user_col) | rs_writer_printf(w, "\tmodel");
    if (e->seg_col)
        rc |= rs_writer_putc(w, '\t') | rs_writer_put_text(w, e->seg_col);
    rc |= rs_writer_printf(w, "\tn_truth\tn_pred");
    for (int m = 0; m < RS_MET_NACC; m++)
        for (size_t j = 0; j < e->o.nk && (m != RS_MET_NDCG_GRADED || e->o.rel_col); j++)
            rc |= rs_writer_putc(w, '\t') | rs_writer_put_text(w, rs_metric_name(m)) | rs_writer_printf(w, "@%zu", e->ks[j]);
    const char *extra[3] = { e->train_users ? "novelty" : NULL, e->attr ? "ild_category" : NULL,
                             e->embs ? "ild_embedding" : NULL };
    for (int x = 0; x < 3; x++)
        for (size_t j = 0; j < e->o.nk && extra[x]; j++)
            rc |= rs_writer_putc(w, '\t') | rs_writer_put_text(w, extra[x]) | rs_writer_printf(w, "@%zu", e->ks[j]);
    return rc | rs_writer_putc(w, '\n');
}

/* One per-user row: acc values in e->accv, beyond-accuracy in nov_u etc.
 * (NULL: a user without predictions, who has none of those). */
static int per_user_row(struct rs_eval *e, struct run *r, uint32_t u, size_t n, int beyond_ok)
{
    struct rs_writer *w = r->per_user;
    size_t len, nk = e->o.nk;
    const char *key = rs_strmap_key(e->users, u, &len);
    int rc = rs_writer_put_field(w, key, len) | rs_writer_putc(w, '\t') | rs_writer_put_text(w, r->model);
    if (e->seg_col) {
        const char *s = e->user[u].seg ? rs_strmap_key(e->segs, e->user[u].seg - 1, &len) : "";
        rc |= rs_writer_putc(w, '\t') | rs_writer_put_field(w, s, e->user[u].seg ? len : 0);
    }
    rc |= rs_writer_printf(w, "\t%u\t%zu", e->user[u].t_n, n);
    for (int m = 0; m < RS_MET_NACC; m++)
        for (size_t j = 0; j < nk && (m != RS_MET_NDCG_GRADED || e->o.rel_col); j++)
            rc |= put_value(w, e->accv[m * nk + j]);
    const double *extra[3] = { e->train_users ? e->nov_u : NULL, e->attr ? e->cat_u : NULL,
                               e->embs ? e->emb_u : NULL };
    for (int x = 0; x < 3; x++)
        for (size_t j = 0; j < nk && extra[x]; j++)
            rc |= put_value(w, beyond_ok ? extra[x][j] : NAN);
    return rc | rs_writer_putc(w, '\n');
}

static void grow_list(struct rs_eval *e, size_t n)
{
    if (n <= e->cap_rows)
        return;
    size_t cap = e->cap_rows ? 2 * e->cap_rows : 256;
    while (cap < n)
        cap *= 2;
    e->rows = xrealloc(e->rows, cap * sizeof *e->rows);
    e->list = xrealloc(e->list, cap * sizeof *e->list);
    e->rel = xrealloc(e->rel, cap);
    e->gain = xrealloc(e->gain, cap * sizeof *e->gain);
    e->cats = xrealloc(e->cats, cap * sizeof *e->cats);
    e->hash = xrealloc(e->hash, cap * sizeof *e->hash);
    e->cap_rows = cap;
}

/* Interns the item ids of the buffered rows. All keys are hashed and their
 * table slots prefetched first, so the cache misses of a list overlap; the
 * item records are prefetched for build_list the same way. */
static void resolve_items(struct rs_eval *e)
{
    for (size_t i = 0; i < e->nrows; i++) {
        e->hash[i] = rs_idcache_hash(e->kbuf + e->rows[i].koff, e->rows[i].klen);
        rs_idcache_prefetch(e->icache, e->hash[i]);
    }
    for (size_t i = 0; i < e->nrows; i++) {
        struct prow *p = &e->rows[i];
        p->item = item_id_hashed(e, e->kbuf + p->koff, p->klen, e->hash[i]);
        __builtin_prefetch(&e->item[p->item]);
    }
}

/* Scores user u's buffered rows. */
static int finish_user(struct rs_eval *e, struct run *r, uint32_t u)
{
    const struct user *us = &e->user[u];
    if (us->t_n == 0) {
        r->excluded++;
        return 0;
    }
    resolve_items(e);
    size_t n = build_list(e, u);
    struct rs_metrics_list l = { n, e->rel, e->t_gain ? e->gain : NULL, us->t_n,
                                 e->t_ideal ? e->t_ideal + us->t_off : NULL };
    rs_metrics_accuracy(&l, e->ks, e->o.nk, e->accv);
    run_fit_items(e, r);
    /* every figure goes to segment "all" (a) and to the user's segment (b) */
    struct acc *a = &r->acc[0], *b = us->seg ? &r->acc[us->seg] : NULL;
    for (struct acc *x = a; x; x = x == a ? b : NULL) {
        x->truth_users++;
        x->users++;
        x->with_pred++;
        for (size_t i = 0; i < RS_MET_NACC * e->o.nk; i++)
            x->sum[i] += e->accv[i];
    }
    beyond(e, n, a, b);
    return r->per_user ? per_user_row(e, r, u, n, 1) : 0;
}

/* Truth users the stream did not mention: zeros, unless only users with
 * predictions are averaged. */
static int absent_users(struct rs_eval *e, struct run *r)
{
    int rc = 0;
    for (uint32_t u = 0; u < rs_strmap_size(e->users) && rc == 0; u++) {
        const struct user *us = &e->user[u];
        if (us->t_n == 0 || us->run == r->no)
            continue;
        struct acc *a = &r->acc[0], *b = us->seg ? &r->acc[us->seg] : NULL;
        for (struct acc *x = a; x; x = x == a ? b : NULL) {
            x->truth_users++;
            x->users += !e->o.common_users;
        }
        if (r->per_user && !e->o.common_users) {
            memset(e->accv, 0, RS_MET_NACC * e->o.nk * sizeof *e->accv);
            rc = per_user_row(e, r, u, 0, 0);
        }
    }
    return rc;
}

/* Reads the order key of the current row: a plain integer fast, anything
 * else through strtod; NaN and infinities are errors. */
static int read_key(struct rs_tsv *t, int col, int negate, double *key)
{
    const char *s = rs_tsv_get(t, col);
    size_t n = rs_tsv_len(t, col), i = 0;
    uint64_t v = 0;
    for (; i < n && n < 16 && s[i] >= '0' && s[i] <= '9'; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    double x = (double)v;
    if (n == 0 || i < n) {
        int rc = rs_tsv_get_f64(t, col, &x);
        if (rc < 0)
            return rc;
        if (!isfinite(x))
            return rs_tsv_errf(t, col, "expected a finite number, got '%s'", s);
    }
    *key = negate ? -x : x;
    return 0;
}

static int read_preds(struct rs_eval *e, struct run *r, struct rs_tsv *t, const int *col, int by_score)
{
    int rc, have = 0, skip = 0; /* skip: the current user is in another shard */
    uint32_t u = 0;
    uint64_t rows = 0;
    char *cur = NULL;
    size_t curlen = 0, curcap = 0;
    while ((rc = rs_tsv_next(t)) == 0) {
        const char *uk = rs_tsv_get(t, col[0]);
        size_t ulen = rs_tsv_len(t, col[0]);
        if (!have || ulen != curlen || memcmp(uk, cur, ulen) != 0) {
            if (have && !skip && (rc = finish_user(e, r, u)) < 0)
                break;
            if ((rc = nonempty(t, col[0])) < 0)
                break;
            u = user_id(e, uk, ulen);
            if (e->user[u].run == r->no) {
                rc = rs_tsv_errf(t, col[0], "user '%s' appears again after other users; rows of one "
                                 "user must be contiguous (sort -s -t$'\\t' -k1,1)", uk);
                break;
            }
            e->user[u].run = r->no;
            if (ulen + 1 > curcap)
                cur = xrealloc(cur, curcap = 2 * ulen + 16);
            memcpy(cur, uk, ulen);
            curlen = ulen;
            have = 1;
            skip = e->o.shard && !rs_shard_has(e->o.shard, uk, ulen);
            e->nrows = e->kbuf_len = 0;
        }
        if (skip)
            continue;
        if ((rc = nonempty(t, col[1])) < 0)
            break;
        grow_list(e, e->nrows + 1);
        struct prow *p = &e->rows[e->nrows];
        if ((rc = read_key(t, col[2], by_score, &p->key)) < 0)
            break;
        size_t klen = rs_tsv_len(t, col[1]);
        if (e->kbuf_len + klen > e->kbuf_cap) {
            e->kbuf_cap = 2 * (e->kbuf_len + klen) + 4096;
            e->kbuf = xrealloc(e->kbuf, e->kbuf_cap);
        }
        memcpy(e->kbuf + e->kbuf_len, rs_tsv_get(t, col[1]), klen);
        p->koff = (uint32_t)e->kbuf_len;
        p->klen = (uint32_t)klen;
        e->kbuf_len += klen;
        e->nrows++;
        if (e->o.progress && (++rows & 0xffff) == 0)
            e->o.progress(e->o.progress_ctx, 0x10000);
    }
    if (rc == RS_ERR_EOF)
        rc = have && !skip ? finish_user(e, r, u) : 0;
    if (e->o.progress && (rows & 0xffff))
        e->o.progress(e->o.progress_ctx, rows & 0xffff);
    free(cur);
    return rc;
}

/* ---- summary ---- */

struct vals {
    struct rs_eval_value *v;
    size_t n, cap;
};

static void add(struct vals *v, const char *metric, size_t k, double x)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 64;
        v->v = xrealloc(v->v, v->cap * sizeof *v->v);
    }
    v->v[v->n++] = (struct rs_eval_value){ metric, k, x };
}

static double ratio(double x, uint64_t n)
{
    return n ? x / (double)n : NAN;
}

/* Coverage figures of acc a at cutoff j (counts already cumulative):
 * catalog coverage, entropy, Gini into cov[0..3). */
static void coverage(struct rs_eval *e, const struct acc *a, size_t j, size_t nitems, double *cov)
{
    const uint64_t *c = a->count[j];
    size_t distinct = 0, n = 0;
    for (size_t i = 0; i < nitems; i++) {
        distinct += c[i] > 0 && e->item[i].train; /* the catalog is the training items */
        if (c[i] > 0 || e->item[i].train)
            e->scratch[n++] = c[i];
    }
    cov[0] = e->train_items ? (double)distinct / (double)e->train_items : NAN;
    cov[1] = rs_metrics_entropy(c, nitems);
    cov[2] = rs_metrics_gini(e->scratch, n);
}

/* The figures of acc s, metric by metric, each metric's cutoffs together. */
static void summarise(struct rs_eval *e, struct run *r, size_t s, struct vals *v)
{
    struct acc *a = &r->acc[s];
    size_t nk = e->o.nk, nitems = rs_strmap_size(e->items);
    add(v, "users", 0, (double)a->users);
    add(v, "user_coverage", 0, ratio((double)a->with_pred, a->truth_users));
    if (s == 0)
        add(v, "excluded_users", 0, (double)r->excluded);
    for (int m = 0; m < RS_MET_NACC; m++)
        for (size_t j = 0; j < nk && (m != RS_MET_NDCG_GRADED || e->has_rel); j++)
            add(v, rs_metric_name(m), e->ks[j], a->users ? a->sum[m * nk + j] / (double)a->users : 0);
    for (size_t j = 0; j < nk && e->train_users; j++)
        add(v, "novelty", e->ks[j], ratio(a->nov[j], a->nov_n[j]));
    for (size_t j = 1; j < nk; j++)
        for (size_t i = 0; i < nitems; i++)
            a->count[j][i] += a->count[j - 1][i];
    e->scratch = xrealloc(e->scratch, (nitems ? nitems : 1) * sizeof *e->scratch);
    double *cov = xmalloc(3 * nk * sizeof *cov);
    for (size_t j = 0; j < nk; j++)
        coverage(e, a, j, nitems, cov + 3 * j);
    for (size_t j = 0; j < nk && e->train_users; j++)
        add(v, "catalog_coverage", e->ks[j], cov[3 * j]);
    for (size_t j = 0; j < nk; j++)
        add(v, "distributional_coverage", e->ks[j], cov[3 * j + 1]);
    for (size_t j = 0; j < nk && e->train_users; j++)
        add(v, "gini", e->ks[j], cov[3 * j + 2]);
    free(cov);
    for (size_t j = 0; j < nk && e->has_cat; j++)
        add(v, "ild_category", e->ks[j], ratio(a->cat[j], a->cat_n[j]));
    for (size_t j = 0; j < nk && e->has_emb; j++)
        add(v, "ild_embedding", e->ks[j], ratio(a->emb[j], a->emb_n[j]));
}

static void summarise_model(struct rs_eval *e, struct model *m, struct run *r, size_t nseg)
{
    m->vals = xmalloc(nseg * sizeof *m->vals);
    m->nvals = xmalloc(nseg * sizeof *m->nvals);
    for (size_t s = 0; s < nseg; s++) {
        struct vals v = { 0 };
        summarise(e, r, s, &v);
        m->vals[s] = v.v;
        m->nvals[s] = v.n;
    }
}

int rs_eval_run(struct rs_eval *e, const char *path, const char *model, struct rs_writer *per_user)
{
    struct rs_tsv *t;
    const char *cols[2] = { e->o.user_col, e->o.item_col };
    int col[3];
    int rc = open_with(&t, path, cols, col, 2);
    if (rc < 0)
        return rc;
    int by_score = 0;
    if ((col[2] = rs_tsv_col(t, e->o.rank_col)) < 0) {
        by_score = 1;
        if ((col[2] = rs_tsv_col(t, e->o.score_col)) < 0) {
            rc = rs_err_set(RS_ERR_FORMAT, "'%s' line 1: no column '%s' or '%s' to order the predictions",
                            rs_tsv_name(t), e->o.rank_col, e->o.score_col);
            rs_tsv_close(t);
            return rc;
        }
    }
    size_t nseg = rs_eval_nsegments(e);
    struct run r = { xmalloc(nseg * sizeof *r.acc), nseg, rs_strmap_size(e->items), ++e->runs, 0,
                     model, per_user };
    for (size_t s = 0; s < nseg; s++)
        acc_init(&r.acc[s], e->o.nk, r.count_cap);
    if (per_user && !e->per_user_header) {
        rc = per_user_header(e, per_user);
        e->per_user_header = 1;
    }
    if (rc == 0)
        rc = read_preds(e, &r, t, col, by_score);
    rs_tsv_close(t);
    if (rc == 0)
        rc = absent_users(e, &r);
    if (rc == 0) {
        e->model = xrealloc(e->model, (e->nmodels + 1) * sizeof *e->model);
        struct model *m = &e->model[e->nmodels++];
        m->name = xstrdup(model);
        m->excluded = r.excluded;
        m->acc = NULL;
        m->nacc = 0;
        m->vals = NULL;
        m->nvals = NULL;
        run_fit_items(e, &r);
        if (e->o.partial) { /* the sums stay for rs_eval_write_partial */
            m->acc = r.acc;
            m->nacc = nseg;
            m->count_cap = r.count_cap;
            return 0;
        }
        summarise_model(e, m, &r, nseg);
    }
    for (size_t s = 0; s < nseg; s++)
        acc_free(&r.acc[s], e->o.nk);
    free(r.acc);
    return rc;
}

/* ---- results ---- */

size_t rs_eval_nmodels(const struct rs_eval *e) { return e->nmodels; }
const char *rs_eval_model(const struct rs_eval *e, size_t m) { return e->model[m].name; }
size_t rs_eval_nsegments(const struct rs_eval *e) { return 1 + rs_strmap_size(e->segs); }
uint64_t rs_eval_truth_users(const struct rs_eval *e) { return e->truth_users; }
uint64_t rs_eval_excluded(const struct rs_eval *e, size_t m) { return e->model[m].excluded; }

const char *rs_eval_segment(const struct rs_eval *e, size_t s)
{
    return s == 0 ? "all" : rs_strmap_key(e->segs, (int64_t)s - 1, NULL);
}

const struct rs_eval_value *rs_eval_summary(const struct rs_eval *e, size_t m, size_t s, size_t *n)
{
    RS_ASSERT(m < e->nmodels && s < rs_eval_nsegments(e));
    *n = e->model[m].nvals[s];
    return e->model[m].vals[s];
}

/* ---- partials ---- */

static const char *const partial_cols[6] = { "model", "segment", "stat", "k", "item_id", "value" };
/* The per-cutoff figures of struct acc besides the metric sums, in order. */
static const char *const beyond_stats[6] = { "novelty_sum", "novelty_n", "ild_category_sum", "ild_category_n",
                                             "ild_embedding_sum", "ild_embedding_n" };

/* One partial row; model NULL: a global figure. A double goes out to 17
 * digits (it reads back to the same bits), a count as an integer. */
static int put_stat(struct rs_writer *w, const char *model, size_t seg, const char *stat, size_t k,
                    const char *item, size_t ilen, double x, int is_count)
{
    int rc = model ? rs_writer_put_text(w, model) | rs_writer_printf(w, "\t%zu", seg) : rs_writer_putc(w, '\t');
    rc |= rs_writer_putc(w, '\t') | rs_writer_put_text(w, stat) | rs_writer_printf(w, "\t%zu\t", k);
    rc |= item ? rs_writer_put_field(w, item, ilen) : 0;
    return rc | (is_count ? rs_writer_printf(w, "\t%.0f\n", x) : rs_writer_printf(w, "\t%.17g\n", x));
}

static int put_acc(struct rs_eval *e, struct rs_writer *w, const struct model *m, size_t s)
{
    const struct acc *a = &m->acc[s];
    size_t nk = e->o.nk;
    int rc = put_stat(w, m->name, s, "truth_users", 0, NULL, 0, (double)a->truth_users, 1) |
             put_stat(w, m->name, s, "users", 0, NULL, 0, (double)a->users, 1) |
             put_stat(w, m->name, s, "with_pred", 0, NULL, 0, (double)a->with_pred, 1);
    if (s == 0)
        rc |= put_stat(w, m->name, s, "excluded", 0, NULL, 0, (double)m->excluded, 1);
    for (int x = 0; x < RS_MET_NACC; x++)
        for (size_t j = 0; j < nk; j++)
            rc |= put_stat(w, m->name, s, rs_metric_name(x), e->ks[j], NULL, 0, a->sum[x * nk + j], 0);
    for (size_t j = 0; j < nk && rc == 0; j++) {
        const double sums[3] = { a->nov[j], a->cat[j], a->emb[j] };
        const uint64_t ns[3] = { a->nov_n[j], a->cat_n[j], a->emb_n[j] };
        for (int b = 0; b < 3; b++)
            rc |= put_stat(w, m->name, s, beyond_stats[2 * b], e->ks[j], NULL, 0, sums[b], 0) |
                  put_stat(w, m->name, s, beyond_stats[2 * b + 1], e->ks[j], NULL, 0, (double)ns[b], 1);
        for (size_t i = 0; i < rs_strmap_size(e->items) && rc == 0; i++) {
            size_t len;
            const char *key = rs_strmap_key(e->items, (int64_t)i, &len);
            if (a->count[j][i])
                rc = put_stat(w, m->name, s, "count", e->ks[j], key, len, (double)a->count[j][i], 1);
        }
    }
    return rc;
}

int rs_eval_write_partial(struct rs_eval *e, struct rs_writer *w)
{
    RS_ASSERT(e->o.partial);
    int rc = 0;
    for (int c = 0; c < 6; c++)
        rc |= (c ? rs_writer_putc(w, '\t') : 0) | rs_writer_put_text(w, partial_cols[c]);
    rc |= rs_writer_putc(w, '\n');
    const struct rs_shard one = { 0, 1 }, *sh = e->o.shard ? e->o.shard : &one;
    rc |= put_stat(w, NULL, 0, "shard", sh->count, NULL, 0, sh->index, 1);
    for (size_t j = 0; j < e->o.nk; j++)
        rc |= put_stat(w, NULL, 0, "k", e->ks[j], NULL, 0, (double)j, 1);
    rc |= put_stat(w, NULL, 0, "has_rel", 0, NULL, 0, e->has_rel, 1) |
          put_stat(w, NULL, 0, "has_cat", 0, NULL, 0, e->has_cat, 1) |
          put_stat(w, NULL, 0, "has_emb", 0, NULL, 0, e->has_emb, 1) |
          put_stat(w, NULL, 0, "train_users", 0, NULL, 0, (double)e->train_users, 1) |
          put_stat(w, NULL, 0, "train_items", 0, NULL, 0, (double)e->train_items, 1);
    for (size_t s = 1; s < rs_eval_nsegments(e) && rc == 0; s++) {
        size_t len;
        const char *name = rs_strmap_key(e->segs, (int64_t)s - 1, &len);
        rc = put_stat(w, NULL, 0, "segment", 0, name, len, (double)s, 1);
    }
    for (size_t i = 0; i < rs_strmap_size(e->items) && rc == 0; i++) {
        size_t len;
        const char *key = rs_strmap_key(e->items, (int64_t)i, &len);
        if (e->item[i].train)
            rc = put_stat(w, NULL, 0, "train", 0, key, len, e->item[i].train, 1);
    }
    for (size_t m = 0; m < e->nmodels && rc == 0; m++)
        for (size_t s = 0; s < e->model[m].nacc && rc == 0; s++)
            rc = put_acc(e, w, &e->model[m], s);
    return rc ? rc : put_stat(w, NULL, 0, "end", 0, NULL, 0, 1, 1); /* a cut file lacks it */
}

/* ---- merging partials ---- */

struct partial {
    struct rs_tsv *t;
    int col[6];
    uint32_t *seg; /* the file's segment index -> the merged one */
    size_t nseg;
    size_t nk_seen;
    int had_shard, ended;
};

/* Model name's record in the merge, made on first sight with room for the
 * merged segments and items. */
static struct model *merge_model(struct rs_eval *e, const char *name, size_t len)
{
    for (size_t m = 0; m < e->nmodels; m++)
        if (strlen(e->model[m].name) == len && memcmp(e->model[m].name, name, len) == 0)
            return &e->model[m];
    e->model = xrealloc(e->model, (e->nmodels + 1) * sizeof *e->model);
    struct model *m = &e->model[e->nmodels++];
    memset(m, 0, sizeof *m);
    m->name = xstrndup(name, len);
    return m;
}

/* Grows m's sums to the merged segments and count arrays to the items. */
static void merge_fit(struct rs_eval *e, struct model *m)
{
    size_t nseg = rs_eval_nsegments(e);
    if (m->nacc < nseg) {
        m->acc = xrealloc(m->acc, nseg * sizeof *m->acc);
        for (size_t s = m->nacc; s < nseg; s++)
            acc_init(&m->acc[s], e->o.nk, m->count_cap);
        m->nacc = nseg;
    }
    struct run r = { m->acc, m->nacc, m->count_cap, 0, 0, NULL, NULL };
    run_fit_items(e, &r);
    m->count_cap = r.count_cap;
}

static int get_count(struct partial *p, int c, uint64_t *v)
{
    int64_t x;
    int rc = rs_tsv_get_i64(p->t, p->col[c], &x);
    if (rc == 0 && x < 0)
        return rs_tsv_errf(p->t, p->col[c], "expected a count >= 0, got '%s'", rs_tsv_get(p->t, p->col[c]));
    *v = (uint64_t)x;
    return rc;
}

/* The cutoff index of column k, which must be one of e's cutoffs. */
static int get_cutoff(struct rs_eval *e, struct partial *p, size_t *j)
{
    uint64_t k;
    int rc = get_count(p, 3, &k);
    for (*j = 0; rc == 0 && *j < e->o.nk; (*j)++)
        if (e->ks[*j] == k)
            return 0;
    return rc < 0 ? rc : rs_tsv_errf(p->t, p->col[3], "cutoff %llu is not one of -k", (unsigned long long)k);
}

static int same_global(struct partial *p, uint64_t *have, uint64_t v, const char *stat)
{
    if (*have != UINT64_MAX && *have != v)
        return rs_tsv_errf(p->t, p->col[5], "%s %llu differs from the other partials' %llu: made from other inputs",
                           stat, (unsigned long long)v, (unsigned long long)*have);
    *have = v;
    return 0;
}

static int merge_global(struct rs_eval *e, struct partial *p, const char *stat)
{
    uint64_t v, k;
    int rc = get_count(p, 5, &v);
    if (rc < 0)
        return rc;
    if (strcmp(stat, "shard") == 0) {
        if ((rc = get_count(p, 3, &k)) < 0)
            return rc;
        if (k == 0 || k > UINT32_MAX || v >= k || (e->nshards && k != e->nshards))
            return rs_tsv_errf(p->t, p->col[3], "shard %llu/%llu does not fit the others (%u shards)",
                               (unsigned long long)v, (unsigned long long)k, e->nshards);
        for (size_t i = 0; i < e->ngot; i++)
            if (e->shards_got[i] == v)
                return rs_tsv_errf(p->t, p->col[5], "shard %llu/%llu given twice", (unsigned long long)v,
                                   (unsigned long long)k);
        e->shards_got = xrealloc(e->shards_got, (e->ngot + 1) * sizeof *e->shards_got);
        e->shards_got[e->ngot++] = (uint32_t)v;
        e->nshards = (uint32_t)k;
        p->had_shard = 1;
        return 0;
    }
    if (strcmp(stat, "k") == 0) {
        size_t j;
        if ((rc = get_cutoff(e, p, &j)) == 0 && j != v)
            rc = rs_tsv_errf(p->t, p->col[3], "the partial's cutoffs differ from -k");
        p->nk_seen++;
        return rc;
    }
    int *flag = strcmp(stat, "has_rel") == 0 ? &e->has_rel : strcmp(stat, "has_cat") == 0 ? &e->has_cat
              : strcmp(stat, "has_emb") == 0 ? &e->has_emb : NULL;
    if (flag) {
        *flag = v != 0; /* the same in every shard: one rs-metrics command line */
        return 0;
    }
    if (strcmp(stat, "train_users") == 0)
        return same_global(p, &e->train_users, v, stat);
    if (strcmp(stat, "train_items") == 0)
        return same_global(p, &e->train_items, v, stat);
    const char *key = rs_tsv_get(p->t, p->col[4]);
    size_t len = rs_tsv_len(p->t, p->col[4]);
    if (strcmp(stat, "segment") == 0) {
        if (v != p->nseg)
            return rs_tsv_errf(p->t, p->col[5], "segment %llu: expected %zu (segments are numbered 1, 2, ...)",
                               (unsigned long long)v, p->nseg);
        p->seg = xrealloc(p->seg, (v + 1) * sizeof *p->seg);
        p->seg[p->nseg++] = seg_id(e, key, len);
        return 0;
    }
    if (strcmp(stat, "train") == 0) {
        uint32_t i = item_id(e, key, len);
        uint64_t have = e->item[i].train ? e->item[i].train : UINT64_MAX;
        if ((rc = same_global(p, &have, v, "training users of an item")) == 0)
            e->item[i].train = (uint32_t)v;
        return rc;
    }
    return rs_tsv_errf(p->t, p->col[2], "unknown statistic '%s'", stat);
}

static int merge_stat(struct rs_eval *e, struct partial *p, struct acc *a, struct model *m, const char *stat)
{
    size_t nk = e->o.nk, j;
    uint64_t n;
    double x;
    int rc;
    uint64_t *count = strcmp(stat, "truth_users") == 0 ? &a->truth_users : strcmp(stat, "users") == 0 ? &a->users
                    : strcmp(stat, "with_pred") == 0 ? &a->with_pred : strcmp(stat, "excluded") == 0 ? &m->excluded
                    : NULL;
    if (count) {
        if ((rc = get_count(p, 5, &n)) == 0)
            *count += n;
        return rc;
    }
    if ((rc = get_cutoff(e, p, &j)) < 0)
        return rc;
    if (strcmp(stat, "count") == 0) {
        uint32_t i = item_id(e, rs_tsv_get(p->t, p->col[4]), rs_tsv_len(p->t, p->col[4]));
        merge_fit(e, m);
        a = &m->acc[a - m->acc]; /* merge_fit may have moved the sums */
        if ((rc = get_count(p, 5, &n)) == 0)
            a->count[j][i] += n;
        return rc;
    }
    for (int b = 0; b < 6; b++)
        if (strcmp(stat, beyond_stats[b]) == 0) {
            double *sums[3] = { a->nov, a->cat, a->emb };
            uint64_t *ns[3] = { a->nov_n, a->cat_n, a->emb_n };
            if (b % 2 == 0 && (rc = rs_tsv_get_f64(p->t, p->col[5], &x)) == 0)
                sums[b / 2][j] += x;
            else if (b % 2 == 1 && (rc = get_count(p, 5, &n)) == 0)
                ns[b / 2][j] += n;
            return rc;
        }
    for (int mt = 0; mt < RS_MET_NACC; mt++)
        if (strcmp(stat, rs_metric_name(mt)) == 0) {
            if ((rc = rs_tsv_get_f64(p->t, p->col[5], &x)) == 0)
                a->sum[mt * nk + j] += x;
            return rc;
        }
    return rs_tsv_errf(p->t, p->col[2], "unknown statistic '%s'", stat);
}

static int merge_row(struct rs_eval *e, struct partial *p)
{
    const char *stat = rs_tsv_get(p->t, p->col[2]);
    if (p->ended)
        return rs_tsv_errf(p->t, p->col[2], "a row after the 'end' row");
    if (strcmp(stat, "end") == 0 && rs_tsv_len(p->t, p->col[0]) == 0) {
        p->ended = 1;
        return 0;
    }
    if (rs_tsv_len(p->t, p->col[0]) == 0)
        return merge_global(e, p, stat);
    uint64_t s;
    int rc = get_count(p, 1, &s);
    if (rc < 0)
        return rc;
    if (s >= (s ? p->nseg : 1))
        return rs_tsv_errf(p->t, p->col[1], "segment %llu was not listed", (unsigned long long)s);
    struct model *m = merge_model(e, rs_tsv_get(p->t, p->col[0]), rs_tsv_len(p->t, p->col[0]));
    merge_fit(e, m);
    return merge_stat(e, p, &m->acc[s ? p->seg[s] : 0], m, stat);
}

int rs_eval_merge_partial(struct rs_eval *e, const char *path)
{
    struct partial p = { 0 };
    int rc = open_with(&p.t, path, partial_cols, p.col, 6);
    if (rc < 0)
        return rc;
    p.nseg = 1;
    p.seg = xcalloc(1, sizeof *p.seg);
    if (!e->nshards) /* the first partial: the global figures are not known yet */
        e->train_users = e->train_items = UINT64_MAX;
    while ((rc = rs_tsv_next(p.t)) == 0 && (rc = merge_row(e, &p)) == 0)
        ;
    if (rc == RS_ERR_EOF && (!p.had_shard || p.nk_seen != e->o.nk))
        rc = rs_err_set(RS_ERR_FORMAT, "'%s' is not a partial of rs-metrics --partial with these -k cutoffs",
                        rs_tsv_name(p.t));
    else if (rc == RS_ERR_EOF && !p.ended)
        rc = rs_err_set(RS_ERR_FORMAT, "'%s' ends before its 'end' row: a partial cut short", rs_tsv_name(p.t));
    free(p.seg);
    rs_tsv_close(p.t);
    return rc == RS_ERR_EOF ? 0 : rc;
}

int rs_eval_merge_finish(struct rs_eval *e)
{
    for (uint32_t i = 0; e->ngot < e->nshards && i < e->nshards; i++) { /* the first missing one */
        size_t j = 0;
        while (j < e->ngot && e->shards_got[j] != i)
            j++;
        if (j == e->ngot)
            return rs_err_set(RS_ERR_FORMAT, "shard %u of %u missing: the merge needs every shard's partial", i,
                              e->nshards);
    }
    if (e->train_users == UINT64_MAX)
        e->train_users = 0;
    if (e->train_items == UINT64_MAX)
        e->train_items = 0;
    size_t nseg = rs_eval_nsegments(e);
    for (size_t m = 0; m < e->nmodels; m++) {
        struct model *md = &e->model[m];
        merge_fit(e, md);
        struct run r = { md->acc, md->nacc, md->count_cap, 0, md->excluded, md->name, NULL };
        summarise_model(e, md, &r, nseg);
    }
    return 0;
}
