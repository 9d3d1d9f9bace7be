/* tower_train.c - data loading, the training loop, validation, checkpoints
 * for the two-tower model. Loss: sampling-bias-corrected in-batch softmax
 * (Yi et al. 2019) with mixed extra negatives (Yang et al. 2020), see nn.h. */
#include "model/tower_train.h"
#include "core/clock.h"
#include "core/dist.h"
#include "core/err.h"
#include "core/num.h"
#include "io/rsm.h"
#include "core/strmap.h"
#include "nn/tensor.h"
#include "core/threads.h"
#include "core/topk.h"
#include "io/tsv.h"
#include "io/twopass.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

void rs_tt_opts_init(struct rs_tt_opts *o)
{
    memset(o, 0, sizeof *o);
    o->batch = 512;
    o->epochs = 10;
    o->lr = 1e-3;
    o->schedule = RS_LR_COSINE;
    o->tau = 0.05;
    o->dropout = 0.2;
    o->logq = 1;
    o->k = 20;
    o->patience = 3;
    o->lr_sparse = 0.05;
    o->seed = 42;
    o->threads = 1;
}

/* ---- growable arrays ---- */

struct u32v {
    uint32_t *a;
    size_t n, cap;
};
struct f32v {
    float *a;
    size_t n, cap;
};
static void u32_push(struct u32v *v, uint32_t x)
{
    if (v->n == v->cap)
        v->a = xrealloc(v->a, (v->cap = v->cap ? 2 * v->cap : 1024) * sizeof *v->a);
    v->a[v->n++] = x;
}
static void f32_push(struct f32v *v, float x)
{
    if (v->n == v->cap)
        v->a = xrealloc(v->a, (v->cap = v->cap ? 2 * v->cap : 1024) * sizeof *v->a);
    v->a[v->n++] = x;
}

/* ---- examples ---- */

/* The examples as read. Every rank parses every row, for the vocabularies,
 * the item frequencies, the fingerprint and (with validation) each user's
 * training items, but keeps only the rows of its lanes (tower_train.h). */
struct raw_examples {
    struct rs_strmap *users, *items; /* ids seen in training, first-seen order */
    struct u32v u, i, neg_off, neg;  /* this rank's rows: indices into users / items */
    struct f32v logq, neg_logq;
    struct u32v all_u, all_i;        /* every row's pair (with validation only) */
    struct u32v item_rows;           /* per items entry: the rows it is the positive of */
    size_t n_all, K;                 /* every row; most extra negatives of a row */
    size_t lanes, lane_lo, lane_hi;  /* row j is kept when j % lanes is in [lane_lo, lane_hi) */
    int has_logq, has_neg_logq, want_pairs;
    XXH3_state_t *hash;              /* of every row as parsed */
};

/* Counts a row whose positive is the items entry k. */
static void count_item(struct u32v *c, uint32_t k)
{
    while (c->n <= k)
        u32_push(c, 0);
    c->a[k]++;
}

static void hash_bytes(XXH3_state_t *h, const void *p, size_t n)
{
    XXH3_64bits_update(h, &n, sizeof n);
    if (n)
        XXH3_64bits_update(h, p, n);
}

/* Hashes the row just parsed (the ends of the u, i, logq, neg arrays), then
 * drops it unless its lane is this rank's. Returns 1 when kept. */
static int keep_or_drop(struct raw_examples *x, size_t neg_before, size_t neg_lq_before)
{
    uint32_t ui[2] = { x->u.a[x->u.n - 1], x->i.a[x->i.n - 1] };
    size_t nneg = x->neg.n - neg_before;
    hash_bytes(x->hash, ui, sizeof ui);
    hash_bytes(x->hash, &x->logq.a[x->logq.n - 1], sizeof(float));
    hash_bytes(x->hash, x->neg.a + neg_before, nneg * sizeof(uint32_t));
    hash_bytes(x->hash, x->neg_logq.a + neg_lq_before, (x->neg_logq.n - neg_lq_before) * sizeof(float));
    count_item(&x->item_rows, ui[1]);
    if (x->want_pairs) {
        u32_push(&x->all_u, ui[0]);
        u32_push(&x->all_i, ui[1]);
    }
    if (nneg > x->K)
        x->K = nneg;
    size_t lane = x->n_all++ % x->lanes;
    if (lane >= x->lane_lo && lane < x->lane_hi)
        return 1;
    x->u.n--;
    x->i.n--;
    x->logq.n--;
    x->neg.n = neg_before;
    x->neg_logq.n = neg_lq_before;
    return 0;
}

static int parse_list_logq(struct rs_tsv *tb, int col, struct f32v *out, size_t want)
{
    const char *s = rs_tsv_get(tb, col);
    size_t n = rs_tsv_len(tb, col), got = 0;
    for (size_t i = 0; i < n;) {
        const char *comma = memchr(s + i, ',', n - i);
        size_t len = comma ? (size_t)(comma - (s + i)) : n - i;
        double x;
        if (rs_num_vec_value(s + i, len, &x) < 0)
            return rs_tsv_errf(tb, col, "expected a comma list of finite numbers within +-1e16, got '%.*s'",
                               (int)(n > 60 ? 60 : n), s);
        f32_push(out, (float)x);
        got++;
        i += len + 1;
    }
    if (got != want)
        return rs_tsv_errf(tb, col, "%zu values for %zu neg_items", got, want);
    return 0;
}

static int read_examples(struct raw_examples *x, const struct rs_tt_inputs *in)
{
    struct rs_tsv *tb;
    int rc = rs_tsv_open(&tb, in->examples, 0);
    if (rc < 0)
        return rc;
    int uc, ic, lc = rs_tsv_col(tb, "logq"), nc = rs_tsv_col(tb, "neg_items"), nlc = rs_tsv_col(tb, "neg_logq");
    if ((rc = rs_tsv_require(tb, in->user_col, &uc)) < 0 || (rc = rs_tsv_require(tb, in->item_col, &ic)) < 0) {
        rs_tsv_close(tb);
        return rc;
    }
    x->has_logq = lc >= 0;
    x->has_neg_logq = nlc >= 0;
    u32_push(&x->neg_off, 0);
    while ((rc = rs_tsv_next(tb)) == 0) {
        size_t ul = rs_tsv_len(tb, uc), il = rs_tsv_len(tb, ic);
        if (!ul || !il) {
            rc = rs_tsv_errf(tb, ul ? ic : uc, "empty id");
            break;
        }
        u32_push(&x->u, (uint32_t)rs_strmap_put(x->users, rs_tsv_get(tb, uc), ul, NULL));
        u32_push(&x->i, (uint32_t)rs_strmap_put(x->items, rs_tsv_get(tb, ic), il, NULL));
        float lq = 0;
        if (lc >= 0 && (rc = rs_tsv_get_vec(tb, lc, &lq)) < 0)
            break;
        f32_push(&x->logq, lq);
        size_t before = x->neg.n, lq_before = x->neg_logq.n;
        if (nc >= 0) {
            const char *s = rs_tsv_get(tb, nc);
            size_t n = rs_tsv_len(tb, nc);
            for (size_t a = 0, b; a < n; a = b + 1) {
                for (b = a; b < n && s[b] != ','; b++)
                    ;
                if (b > a)
                    u32_push(&x->neg, (uint32_t)rs_strmap_put(x->items, s + a, b - a, NULL));
            }
            if (nlc >= 0 && (rc = parse_list_logq(tb, nlc, &x->neg_logq, x->neg.n - before)) < 0)
                break;
        }
        if (keep_or_drop(x, before, lq_before))
            u32_push(&x->neg_off, (uint32_t)x->neg.n);
    }
    rs_tsv_close(tb);
    return rc == RS_ERR_EOF ? 0 : rc;
}

/* ---- entity tables ---- */

/* One side being loaded: its training ids, and the entities encoded so far. */
struct side_load {
    struct rs_tower *t;
    int side;
    struct rs_strmap *train; /* ids of the training examples */
    uint8_t *in_table;       /* per training id: seen in the table */
    struct rs_strmap *ent;   /* id -> row of enc */
    struct rs_enc *enc;
    uint64_t *first;         /* per row of enc: its line in the table (rs_tsv_key_once) */
    size_t nfirst;
};

/* Pass 0: counts the vocabulary of the table's training ids, once each. */
static int count_row(struct side_load *L, struct rs_tsv *tb, const char *id, size_t n)
{
    int64_t r = rs_strmap_get(L->train, id, n);
    if (r < 0 || L->in_table[r]++)
        return 0;
    return rs_tower_count(L->t, L->side, tb, id, n);
}

/* Pass 1: encodes the row of every id of the table. */
static int encode_row(struct side_load *L, struct rs_tsv *tb, const char *id, size_t n)
{
    size_t row = (size_t)rs_strmap_put(L->ent, id, n, NULL);
    int rc = rs_tsv_key_once(tb, rs_tsv_col(tb, L->t->side[L->side].id_col), row, &L->first, &L->nfirst);
    return rc < 0 ? rc : rs_enc_add(L->enc, L->t, L->side, tb, id, n);
}

/* A pass over the side's table tb (NULL: none given). */
static int table_pass(struct side_load *L, struct rs_tsv *tb, int pass)
{
    int idc = -1, rc = tb ? rs_tsv_require(tb, L->t->side[L->side].id_col, &idc) : 0;
    if (rc == 0)
        rc = rs_tower_bind(L->t, L->side, tb, 1);
    while (rc == 0 && tb && (rc = rs_tsv_next(tb)) == 0) {
        const char *id = rs_tsv_get(tb, idc);
        size_t n = rs_tsv_len(tb, idc);
        if (!n)
            rc = rs_tsv_errf(tb, idc, "empty id");
        else
            rc = pass == 0 ? count_row(L, tb, id, n) : encode_row(L, tb, id, n);
    }
    return rc == RS_ERR_EOF ? 0 : rc;
}

/* The end of pass 0: the training ids the table lacks count too. */
static int finish_vocab(struct side_load *L)
{
    int rc = 0;
    for (size_t r = 0; r < rs_strmap_size(L->train) && rc == 0; r++) {
        size_t n;
        const char *id = rs_strmap_key(L->train, (int64_t)r, &n);
        if (!L->in_table[r])
            rc = rs_tower_count(L->t, L->side, NULL, id, n);
    }
    rs_tower_finish_vocab(L->t, L->side);
    return rc;
}

/* Both passes over path (NULL: no table), the first unless have_vocab. The
 * table may be a pipe: twopass spools it for the second pass. */
static int table_passes(struct side_load *L, const char *path, int have_vocab)
{
    struct rs_twopass *tp = NULL;
    struct rs_tsv *tb = NULL;
    int rc = !path ? 0 : have_vocab ? rs_tsv_open(&tb, path, 0) : rs_twopass_open(&tp, path, 0, &tb);
    if (rc == 0 && !have_vocab) {
        rc = table_pass(L, tb, 0);
        rc = rc ? rc : finish_vocab(L);
        if (rc == 0 && tp)
            rc = rs_twopass_rewind(tp, &tb);
    }
    if (rc == 0)
        rc = table_pass(L, tb, 1);
    if (tp)
        rs_twopass_close(tp); /* it owns tb */
    else
        rs_tsv_close(tb);
    return rc;
}

/* Builds the side's vocabulary (unless have_vocab) from the training entities
 * and encodes every entity: the table's rows, then training ids it lacks. */
static int load_side(struct rs_tower *t, int side, const char *path, struct rs_strmap *train, int have_vocab,
                     struct rs_strmap **ent, struct rs_enc *enc)
{
    size_t ntrain = rs_strmap_size(train);
    struct side_load L = { t, side, train, xcalloc(ntrain + 1, 1), rs_strmap_new(ntrain + 16), enc, NULL, 0 };
    *ent = L.ent;
    rs_enc_init(enc, t, side);
    int rc = table_passes(&L, path, have_vocab);
    for (size_t r = 0; r < ntrain && rc == 0; r++) {
        size_t n;
        const char *id = rs_strmap_key(train, (int64_t)r, &n);
        int added;
        rs_strmap_put(*ent, id, n, &added);
        if (added)
            rc = rs_enc_add(enc, t, side, NULL, id, n);
    }
    free(L.first);
    free(L.in_table);
    return rc;
}

static int read_valid(struct rs_tt_data *d, const struct rs_tt_inputs *in)
{
    struct rs_tsv *tb;
    int uc, ic, rc = rs_tsv_open(&tb, in->valid, 0);
    if (rc < 0)
        return rc;
    if ((rc = rs_tsv_require(tb, in->user_col, &uc)) < 0 || (rc = rs_tsv_require(tb, in->item_col, &ic)) < 0) {
        rs_tsv_close(tb);
        return rc;
    }
    struct u32v u = { 0 }, i = { 0 };
    while ((rc = rs_tsv_next(tb)) == 0) {
        int64_t a = rs_strmap_get(d->uid, rs_tsv_get(tb, uc), rs_tsv_len(tb, uc));
        int64_t b = rs_strmap_get(d->iid, rs_tsv_get(tb, ic), rs_tsv_len(tb, ic));
        if (a < 0 || b < 0) {
            d->skipped_valid++;
            continue;
        }
        u32_push(&u, (uint32_t)a);
        u32_push(&i, (uint32_t)b);
    }
    rs_tsv_close(tb);
    d->nv = u.n;
    d->vu = u.a;
    d->vi = i.a;
    return rc == RS_ERR_EOF ? 0 : rc;
}

/* CSR of (key, value) pairs grouped by key in [0, nkeys). */
static void group(size_t nkeys, size_t n, const uint32_t *key, const uint32_t *val, uint32_t **off_out,
                  uint32_t **vals_out)
{
    uint32_t *off = xcalloc(nkeys + 1, sizeof *off), *vals = xmalloc((n ? n : 1) * sizeof *vals);
    for (size_t j = 0; j < n; j++)
        off[key[j] + 1]++;
    for (size_t k = 0; k < nkeys; k++)
        off[k + 1] += off[k];
    uint32_t *pos = xmalloc((nkeys + 1) * sizeof *pos);
    memcpy(pos, off, (nkeys + 1) * sizeof *pos);
    for (size_t j = 0; j < n; j++)
        vals[pos[key[j]]++] = val[j];
    free(pos);
    *off_out = off;
    *vals_out = vals;
}

static void finish_examples(struct rs_tt_data *d, struct raw_examples *x)
{
    size_t nu = rs_strmap_size(x->users), ni = rs_strmap_size(x->items);
    uint32_t *urow = xmalloc((nu + 1) * sizeof *urow), *irow = xmalloc((ni + 1) * sizeof *irow);
    for (size_t r = 0; r < nu; r++) {
        size_t n;
        const char *id = rs_strmap_key(x->users, (int64_t)r, &n);
        urow[r] = (uint32_t)rs_strmap_get(d->uid, id, n);
    }
    for (size_t r = 0; r < ni; r++) {
        size_t n;
        const char *id = rs_strmap_key(x->items, (int64_t)r, &n);
        irow[r] = (uint32_t)rs_strmap_get(d->iid, id, n);
    }
    d->n = x->u.n;
    d->n_all = x->n_all;
    d->lanes = x->lanes;
    d->lane_lo = x->lane_lo;
    d->lane_hi = x->lane_hi;
    d->examples_hash = XXH3_64bits_digest(x->hash);
    d->eu = xmalloc((d->n + 1) * sizeof *d->eu);
    d->ei = xmalloc((d->n + 1) * sizeof *d->ei);
    d->logq = xmalloc((d->n + 1) * sizeof *d->logq);
    /* log q(item) from the training frequency when the stream has no logq. */
    float *freq_logq = xcalloc(d->items.n + 1, sizeof *freq_logq);
    for (size_t k = 0; k < x->item_rows.n; k++)
        freq_logq[irow[k]] = (float)x->item_rows.a[k];
    for (size_t r = 0; r < d->items.n; r++)
        freq_logq[r] = logf((freq_logq[r] > 0 ? freq_logq[r] : 0.5f) / (float)d->n_all);
    for (size_t j = 0; j < d->n; j++) {
        d->eu[j] = urow[x->u.a[j]];
        d->ei[j] = irow[x->i.a[j]];
        d->logq[j] = x->has_logq ? x->logq.a[j] : freq_logq[d->ei[j]];
    }
    d->K = x->K; /* over every row: the same on every rank */
    if (d->K) {
        /* Rows with fewer negatives are padded with their positive, which the
         * loss masks (a positive is never its own negative). */
        d->neg = xmalloc((d->n * d->K + 1) * sizeof *d->neg);
        d->neg_logq = xmalloc((d->n * d->K + 1) * sizeof *d->neg_logq);
        for (size_t j = 0; j < d->n; j++)
            for (size_t k = 0; k < d->K; k++) {
                size_t p = x->neg_off.a[j] + k;
                int real = p < x->neg_off.a[j + 1];
                d->neg[j * d->K + k] = real ? irow[x->neg.a[p]] : d->ei[j];
                d->neg_logq[j * d->K + k] = !real ? 0 : x->has_neg_logq ? x->neg_logq.a[p] : freq_logq[irow[x->neg.a[p]]];
            }
    }
    if (x->want_pairs) {
        for (size_t j = 0; j < x->all_u.n; j++) {
            x->all_u.a[j] = urow[x->all_u.a[j]];
            x->all_i.a[j] = irow[x->all_i.a[j]];
        }
        group(d->users.n, x->all_u.n, x->all_u.a, x->all_i.a, &d->seen_off, &d->seen);
    }
    free(freq_logq);
    free(urow);
    free(irow);
}

int rs_tt_load(struct rs_tt_data *d, struct rs_tower *t, const struct rs_tt_inputs *in, int have_vocab)
{
    memset(d, 0, sizeof *d);
    struct raw_examples x = { 0 };
    x.users = rs_strmap_new(1024);
    x.items = rs_strmap_new(1024);
    x.want_pairs = in->valid != NULL;
    x.hash = XXH3_createState();
    RS_ASSERT(x.hash);
    XXH3_64bits_reset(x.hash);
    x.lanes = in->batch ? in->batch : 1;
    x.lane_hi = 1;
    if (in->batch) {
        size_t *bound = xmalloc(((size_t)rs_dist_size() + 1) * sizeof *bound);
        rs_dist_bounds(in->batch, bound);
        x.lane_lo = bound[rs_dist_rank()];
        x.lane_hi = bound[rs_dist_rank() + 1];
        free(bound);
    }
    rs_tower_set_id_col(t, RS_SIDE_USER, in->user_col);
    rs_tower_set_id_col(t, RS_SIDE_ITEM, in->item_col);
    int rc = rs_tower_load_pretrained(t);
    if (rc == 0)
        rc = read_examples(&x, in);
    if (rc == 0 && x.n_all == 0)
        rc = rs_err_set(RS_ERR_FORMAT, "'%s': no training examples", in->examples);
    /* Items first: sequence features of the user tower use the item vocabularies. */
    if (rc == 0)
        rc = load_side(t, RS_SIDE_ITEM, in->items, x.items, have_vocab, &d->iid, &d->items);
    if (rc == 0)
        rc = load_side(t, RS_SIDE_USER, in->users, x.users, have_vocab, &d->uid, &d->users);
    if (rc == 0) {
        finish_examples(d, &x);
        if (in->valid)
            rc = read_valid(d, in);
    }
    rs_strmap_free(x.users);
    rs_strmap_free(x.items);
    free(x.u.a);
    free(x.i.a);
    free(x.neg_off.a);
    free(x.neg.a);
    free(x.logq.a);
    free(x.neg_logq.a);
    free(x.all_u.a);
    free(x.all_i.a);
    free(x.item_rows.a);
    XXH3_freeState(x.hash);
    return rc;
}

void rs_tt_data_free(struct rs_tt_data *d)
{
    rs_strmap_free(d->uid);
    rs_strmap_free(d->iid);
    if (d->users.f)
        rs_enc_free(&d->users);
    if (d->items.f)
        rs_enc_free(&d->items);
    free(d->eu);
    free(d->ei);
    free(d->logq);
    free(d->neg);
    free(d->neg_logq);
    free(d->vu);
    free(d->vi);
    free(d->seen_off);
    free(d->seen);
    memset(d, 0, sizeof *d);
}

/* ---- evaluation ---- */

struct eval_ctx {
    const float *scores;     /* (chunk users, items) */
    const uint32_t *users;   /* user rows of the chunk */
    const struct rs_tt_data *d;
    const uint32_t *rel_off, *rel;
    size_t ni, k;
    struct rs_topk *heaps;   /* one per thread */
    uint8_t **mask;          /* one per thread: (items), the user's seen items */
    double *recall, *ndcg;   /* per chunk user */
};

static int has(const uint32_t *a, size_t n, uint32_t x)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] == x)
            return 1;
    return 0;
}

static void eval_users(void *vctx, size_t lo, size_t hi, int tid)
{
    struct eval_ctx *c = vctx;
    struct rs_topk *h = &c->heaps[tid];
    for (size_t j = lo; j < hi; j++) {
        uint32_t u = c->users[j];
        const float *s = c->scores + j * c->ni;
        const uint32_t *seen = c->d->seen + c->d->seen_off[u];
        size_t nseen = c->d->seen_off[u + 1] - c->d->seen_off[u];
        uint8_t *mask = c->mask[tid];
        for (size_t i = 0; i < nseen; i++)
            mask[seen[i]] = 1;
        rs_topk_reset(h);
        for (size_t i = 0; i < c->ni; i++)
            if (!mask[i] && s[i] >= rs_topk_threshold(h))
                rs_topk_push(h, s[i], (int64_t)i);
        for (size_t i = 0; i < nseen; i++)
            mask[seen[i]] = 0;
        size_t m = rs_topk_sort(h);
        const uint32_t *rel = c->rel + c->rel_off[u];
        size_t nrel = c->rel_off[u + 1] - c->rel_off[u];
        double hits = 0, dcg = 0, idcg = 0;
        for (size_t r = 0; r < m; r++)
            if (has(rel, nrel, (uint32_t)h->id[r])) {
                hits++;
                dcg += 1 / log2((double)r + 2);
            }
        for (size_t r = 0; r < nrel && r < c->k; r++)
            idcg += 1 / log2((double)r + 2);
        c->recall[j] = hits / (double)nrel;
        c->ndcg[j] = dcg / idcg;
    }
}

/* Validation recall@k and NDCG@k averaged over the validation users (the
 * user's training items excluded from the ranking). */
static void evaluate(struct rs_tower *t, const struct rs_tt_data *d, size_t k, size_t max_users, int threads,
                     double *recall, double *ndcg)
{
    enum { CHUNK = 256 };
    *recall = *ndcg = NAN;
    if (!d->nv)
        return;
    uint32_t *rel_off, *rel;
    group(d->users.n, d->nv, d->vu, d->vi, &rel_off, &rel);
    /* Relevant sets without duplicates. */
    uint32_t w = 0;
    for (size_t u = 0, lo = 0; u < d->users.n; u++) {
        size_t hi = rel_off[u + 1];
        rel_off[u] = w;
        for (size_t j = lo; j < hi; j++)
            if (!has(rel + rel_off[u], w - rel_off[u], rel[j]))
                rel[w++] = rel[j];
        lo = hi;
    }
    rel_off[d->users.n] = w;
    uint32_t *users = xmalloc(d->users.n * sizeof *users);
    size_t nu = 0;
    for (size_t u = 0; u < d->users.n && (!max_users || nu < max_users); u++)
        if (rel_off[u + 1] > rel_off[u])
            users[nu++] = (uint32_t)u;
    size_t ni = d->items.n;
    struct rs_arena a;
    rs_arena_init(&a, 0);
    float *iv = xmalloc(ni * t->d * sizeof *iv), *scores = xmalloc((size_t)CHUNK * ni * sizeof *scores);
    rs_tower_embed(t, RS_SIDE_ITEM, &d->items, &a, iv);
    struct eval_ctx c = { .scores = scores, .d = d, .rel_off = rel_off, .rel = rel, .ni = ni, .k = k };
    c.heaps = xmalloc((size_t)threads * sizeof *c.heaps);
    c.mask = xmalloc((size_t)threads * sizeof *c.mask);
    for (int i = 0; i < threads; i++) {
        rs_topk_init(&c.heaps[i], k);
        c.mask[i] = xcalloc(ni + 1, 1);
    }
    double *r = xmalloc((nu + 1) * sizeof *r), *g = xmalloc((nu + 1) * sizeof *g);
    for (size_t lo = 0; lo < nu; lo += CHUNK) {
        size_t B = nu - lo < CHUNK ? nu - lo : CHUNK;
        struct rs_tower_act act;
        rs_arena_reset(&a);
        rs_tower_forward(t, RS_SIDE_USER, &d->users, users + lo, B, NULL, &a, &act);
        rs_sgemm(0, 1, B, ni, t->d, 1.0f, act.z, t->d, iv, t->d, 0.0f, scores, ni);
        c.users = users + lo;
        c.recall = r + lo;
        c.ndcg = g + lo;
        rs_parallel_for(threads, B, eval_users, &c);
    }
    double sr = 0, sg = 0;
    for (size_t j = 0; j < nu; j++) {
        sr += r[j];
        sg += g[j];
    }
    *recall = nu ? sr / (double)nu : NAN;
    *ndcg = nu ? sg / (double)nu : NAN;
    for (int i = 0; i < threads; i++) {
        rs_topk_free(&c.heaps[i]);
        free(c.mask[i]);
    }
    free(c.heaps);
    free(c.mask);
    free(r);
    free(g);
    free(iv);
    free(scores);
    free(users);
    free(rel_off);
    free(rel);
    rs_arena_free(&a);
}

/* ---- training ---- */

static double lr_at(const struct rs_tt_opts *o, long step, long total)
{
    if (o->warmup > 0 && step < o->warmup)
        return o->lr * (double)(step + 1) / (double)o->warmup;
    double p = total > o->warmup ? (double)(step - o->warmup) / (double)(total - o->warmup) : 0;
    switch (o->schedule) {
    case RS_LR_COSINE: return o->lr * 0.5 * (1 + cos(M_PI * p));
    case RS_LR_LINEAR: return o->lr * (1 - p);
    default: return o->lr;
    }
}

struct train_state {
    int epoch;      /* epochs done */
    double best;
    int bad, stopped;
};

/* What a run trains on, kept in its checkpoints: --resume refuses a
 * checkpoint of other data or options, which would otherwise train on from
 * weights that do not belong to them. data: XXH3 of every example as read
 * (ids by first appearance, log q, negatives: the same on every rank, which
 * keeps only its shard), the encoded entities and the validation pairs (so
 * the vocabularies, feature tables and inputs, whatever their file format;
 * checkpoints from before the sharding have another fingerprint and are
 * refused); options: those that shape the run
 * (not --threads, --stop-after or file names, which a resumed run may change). */
struct run_id {
    char data[17];
    char options[320];
};

static void hash(XXH3_state_t *s, const void *p, size_t n)
{
    if (p && n)
        XXH3_64bits_update(s, p, n);
}

static void hash_enc(XXH3_state_t *s, const struct rs_enc *e)
{
    hash(s, &e->n, sizeof e->n);
    for (size_t k = 0; k < e->nf; k++) {
        const struct rs_enc_feat *f = &e->f[k];
        hash(s, f->off, f->off ? (e->n + 1) * sizeof *f->off : 0);
        hash(s, f->ids, f->off ? f->off[e->n] * sizeof *f->ids : 0);
        hash(s, f->val, f->val ? e->n * sizeof *f->val : 0);
    }
}

static void run_id_init(struct run_id *id, const struct rs_tt_data *d, const struct rs_tt_opts *o)
{
    XXH3_state_t *s = XXH3_createState();
    RS_ASSERT(s);
    XXH3_64bits_reset(s);
    hash(s, &d->examples_hash, sizeof d->examples_hash);
    hash(s, &d->nv, sizeof d->nv);
    hash(s, d->vu, d->nv * sizeof *d->vu);
    hash(s, d->vi, d->nv * sizeof *d->vi);
    hash_enc(s, &d->users);
    hash_enc(s, &d->items);
    snprintf(id->data, sizeof id->data, "%016llx", (unsigned long long)XXH3_64bits_digest(s));
    XXH3_freeState(s);
    snprintf(id->options, sizeof id->options,
             "batch %zu, epochs %d, lr %.9g, schedule %d, warmup %ld, tau %.9g, dropout %.9g, logq %d, k %zu, "
             "patience %d, valid users %zu, sparse adagrad %d, lr sparse %.9g, seed %llu",
             o->batch, o->epochs, o->lr, o->schedule, o->warmup, o->tau, o->dropout, o->logq, o->k, o->patience,
             o->valid_users, o->sparse_adagrad, o->lr_sparse, (unsigned long long)o->seed);
}

/* 0 if the checkpoint's train section tr was made by a run like id. */
static int check_run_id(json_t *tr, const char *path, const struct run_id *id)
{
    const char *data = json_string_value(json_object_get(tr, "data")),
               *options = json_string_value(json_object_get(tr, "options"));
    if (!data || !options)
        return rs_err_set(RS_ERR_FORMAT, "'%s': checkpoint without the fingerprint of its data (made by an "
                          "older version): train afresh without --resume", path);
    if (strcmp(options, id->options) != 0)
        return rs_err_set(RS_ERR_FORMAT, "'%s': checkpoint of a run with other options (%s; this run: %s): "
                          "resume with the same options, or train afresh without --resume", path, options,
                          id->options);
    if (strcmp(data, id->data) != 0)
        return rs_err_set(RS_ERR_FORMAT, "'%s': checkpoint of other training data (fingerprint %s, this run's "
                          "%s): resume with the examples, feature tables and validation pairs it was made from, "
                          "or train afresh without --resume", path, data, id->data);
    return 0;
}

static int save_checkpoint(struct rs_tower *t, const struct rs_tt_opts *o, const struct rs_optim *opt,
                           const struct train_state *st, const float *best_w, const struct run_id *id)
{
    struct rs_rsm *m = rs_rsm_new();
    rs_tower_to_rsm(t, m);
    uint64_t P = t->p.size;
    rs_rsm_add_tensor(m, "adam.m", RS_RSM_F32, 1, &P, t->p.m);
    rs_rsm_add_tensor(m, "adam.v", RS_RSM_F32, 1, &P, t->p.v);
    if (best_w)
        rs_rsm_add_tensor(m, "best.w", RS_RSM_F32, 1, &P, best_w);
    json_t *tr = json_pack("{s:i, s:I, s:f, s:i, s:b, s:I, s:s, s:s}", "epoch", st->epoch, "step",
                           (json_int_t)opt->t, "best", st->best, "bad", st->bad, "stopped", st->stopped, "seed",
                           (json_int_t)o->seed, "data", id->data, "options", id->options);
    rs_rsm_set_section(m, "train", tr);
    json_decref(tr);
    int rc = rs_rsm_save(m, o->checkpoint);
    rs_rsm_free(m);
    return rc;
}

static int load_checkpoint(const struct rs_rsm *m, const char *path, struct rs_tower *t, struct rs_optim *opt,
                           struct train_state *st, float *best_w, const struct run_id *id)
{
    json_t *tr = rs_rsm_section(m, "train");
    const void *pm, *pv, *pb = NULL;
    uint64_t P = t->p.size;
    int rc;
    if (!tr)
        return rs_err_set(RS_ERR_FORMAT, "'%s' is a model, not a checkpoint (no train section)", path);
    if ((rc = check_run_id(tr, path, id)) < 0)
        return rc;
    if ((rc = rs_rsm_get(m, "adam.m", RS_RSM_F32, P, &pm)) < 0 || (rc = rs_rsm_get(m, "adam.v", RS_RSM_F32, P, &pv)) < 0 ||
        (best_w && (rc = rs_rsm_get(m, "best.w", RS_RSM_F32, P, &pb)) < 0))
        return rc;
    memcpy(t->p.m, pm, P * sizeof(float));
    memcpy(t->p.v, pv, P * sizeof(float));
    if (best_w)
        memcpy(best_w, pb, P * sizeof(float));
    st->epoch = (int)json_integer_value(json_object_get(tr, "epoch"));
    st->best = json_real_value(json_object_get(tr, "best"));
    st->bad = (int)json_integer_value(json_object_get(tr, "bad"));
    st->stopped = json_is_true(json_object_get(tr, "stopped"));
    opt->t = (long)json_integer_value(json_object_get(tr, "step"));
    return 0;
}

/* The two towers of a step run on two threads (each with its own arena and
 * single-threaded BLAS); the loss (by blocks of rows), the shared table's
 * gradient and Adam then use every thread (nn.h says when the thread count
 * changes bits). Each tower runs once per distinct (entity, dropped) row of
 * the batch: popular items and active users repeat within a batch, and their
 * outputs are copied to every row, their gradients summed back in row order. */
struct tower_job {
    struct rs_tower *t;
    int side;
    const struct rs_enc *e;
    const uint32_t *rows;
    size_t B;
    const uint8_t *drop;
    struct rs_arena *a;
    int32_t *slot;          /* (2 · entities) all -1 between steps */
    size_t nu;              /* distinct rows */
    uint32_t *idx;          /* (B) row b -> distinct row */
    struct rs_tower_act act; /* over the distinct rows */
    float *z;               /* (B, d) */
    const float *dz;        /* (B, d) */
};

static void job_forward(struct tower_job *j)
{
    size_t B = j->B, d = j->t->d, nu = 0;
    uint32_t *uniq = rs_arena_alloc(j->a, B * sizeof *uniq);
    uint8_t *udrop = j->drop ? rs_arena_alloc(j->a, B) : NULL;
    j->idx = rs_arena_alloc(j->a, B * sizeof *j->idx);
    for (size_t b = 0; b < B; b++) {
        size_t key = 2 * (size_t)j->rows[b] + (j->drop ? j->drop[b] : 0);
        if (j->slot[key] < 0) {
            j->slot[key] = (int32_t)nu;
            uniq[nu] = j->rows[b];
            if (udrop)
                udrop[nu] = j->drop[b];
            nu++;
        }
        j->idx[b] = (uint32_t)j->slot[key];
    }
    for (size_t i = 0; i < nu; i++)
        j->slot[2 * (size_t)uniq[i] + (udrop ? udrop[i] : 0)] = -1;
    j->nu = nu;
    rs_tower_forward(j->t, j->side, j->e, uniq, nu, udrop, j->a, &j->act);
    j->z = rs_arena_floats(j->a, B * d);
    for (size_t b = 0; b < B; b++)
        memcpy(j->z + b * d, j->act.z + (size_t)j->idx[b] * d, d * sizeof *j->z);
}

static void job_backward(struct tower_job *j)
{
    size_t d = j->t->d;
    float *dzu = rs_arena_zeros(j->a, j->nu * d);
    for (size_t b = 0; b < j->B; b++) {
        float *dst = dzu + (size_t)j->idx[b] * d;
        const float *src = j->dz + b * d;
        for (size_t k = 0; k < d; k++)
            dst[k] += src[k];
    }
    rs_tower_backward(j->t, j->side, &j->act, dzu, j->a, RS_TOWER_DEFER_SHARED);
}

static void tower_forward_job(void *ctx, size_t lo, size_t hi, int tid)
{
    (void)tid;
    for (struct tower_job *j = (struct tower_job *)ctx + lo; j < (struct tower_job *)ctx + hi; j++)
        job_forward(j);
}

/* Item tower first when serial: the order a two-thread run reproduces. */
static void tower_backward_job(void *ctx, size_t lo, size_t hi, int tid)
{
    (void)tid;
    for (struct tower_job *j = (struct tower_job *)ctx + hi; j-- > (struct tower_job *)ctx + lo;)
        job_backward(j);
}

/* Copies n rows of d floats from src to dst + at rows, for the gathers
 * below (src is NULL when n is 0: a rank with no rows ran no tower). */
static void put_rows(float *dst, size_t at, const float *src, size_t n, size_t d)
{
    if (n)
        memcpy(dst + at * d, src, n * d * sizeof *dst);
}

/* The global batch's cut over the ranks: rank r holds positions [bound[r],
 * bound[r + 1]) of a batch of B, its lanes (fewer than all when the data is
 * smaller than one batch and B < lanes). */
static void batch_bounds(const struct rs_tt_data *d, size_t B, size_t *bound)
{
    rs_dist_bounds(d->lanes, bound);
    for (int r = 0; r <= rs_dist_size(); r++)
        bound[r] = bound[r] < B ? bound[r] : B;
}

/* The epoch's batches on this rank: order[s * nl + l] is the local example
 * at position lo + l of step s's batch, lane lo + l's s-th example. Each
 * lane's examples are shuffled by their own stream of (seed, epoch, lane),
 * so the global batches are the same whatever the number of ranks. tmp
 * holds a lane's examples. */
static void epoch_order(const struct rs_tt_data *d, uint64_t seed, int epoch, size_t lo, size_t hi, size_t steps,
                        uint32_t *order, uint32_t *tmp)
{
    size_t nl = hi - lo, per_block = d->lane_hi - d->lane_lo;
    for (size_t l = lo; l < hi; l++) {
        size_t c = (d->n_all - l + d->lanes - 1) / d->lanes;
        for (size_t k = 0; k < c; k++)
            tmp[k] = (uint32_t)k;
        struct rs_rng g;
        rs_rng_init(&g, seed, (1ull << 63) | (uint64_t)epoch << 32 | l);
        rs_rng_shuffle_u32(&g, tmp, c);
        /* Rows are kept in file order: block k's rows of this rank's lanes
         * are local examples k · per_block onwards, in lane order. */
        for (size_t s = 0; s < steps; s++)
            order[s * nl + (l - lo)] = (uint32_t)(tmp[s] * per_block + (l - d->lane_lo));
    }
}

/* One optimiser step on the global batch of B examples whose positions
 * [bound[r], bound[r + 1]) are this rank's local examples rows. Returns the
 * batch loss.
 *
 * Data-parallel under mpirun (core/dist.h): rank r runs the towers forward
 * and backward on its rows only. The positives' ids and log q are gathered
 * (the in-batch columns), and so are the item outputs, so each rank scores
 * its users against all B items (the negatives of one process with batch B:
 * nn.h's row range); the items' gradient, a partial sum per rank, is summed
 * over the ranks before the item tower's backward, and rs_params_sum_ranks
 * then sums the tower gradients. The result is the single process's up to
 * float rounding (sums grouped by rank; rows repeated in a batch are summed
 * per rank first). */
static double train_step(struct rs_tower *t, const struct rs_tt_data *d, const struct rs_tt_opts *o,
                         const uint32_t *rows, size_t B, const size_t *bound, struct rs_rng *dropg,
                         struct rs_arena *a, struct rs_arena *a2, int32_t *const slot[2])
{
    size_t K = d->K, dd = t->d, r = (size_t)rs_dist_rank(), lo = bound[r], hi = bound[r + 1], n = hi - lo;
    uint32_t *u = rs_arena_alloc(a, (n ? n : 1) * sizeof *u), *it = rs_arena_alloc(a, B * (1 + K) * sizeof *it);
    float *logq = rs_arena_floats(a, B), *nlq = K ? rs_arena_zeros(a, B * K) : NULL;
    uint8_t *drop = rs_arena_alloc(a, B);
    for (size_t b = 0; b < B; b++) /* every rank draws the whole batch's, in order */
        drop[b] = o->dropout > 0 && rs_rng_uniform(dropg) < o->dropout;
    memset(it + B, 0, B * K * sizeof *it);
    for (size_t b = 0; b < n; b++) {
        uint32_t j = rows[b];
        u[b] = d->eu[j];
        it[lo + b] = d->ei[j];
        logq[lo + b] = d->logq[j];
        for (size_t k = 0; k < K; k++) {
            it[B + (lo + b) * K + k] = d->neg[(size_t)j * K + k];
            nlq[(lo + b) * K + k] = d->neg_logq[(size_t)j * K + k];
        }
    }
    rs_dist_allgather_rows(it, bound, sizeof *it);
    rs_dist_allgather_rows(logq, bound, sizeof *logq);
    /* This rank's item rows: its positives, then their extra negatives. */
    uint32_t *my_it = rs_arena_alloc(a, n * (1 + K) * sizeof *my_it + 1);
    memcpy(my_it, it + lo, n * sizeof *my_it);
    memcpy(my_it + n, it + B + lo * K, n * K * sizeof *my_it);
    struct tower_job jobs[2] = {
        { .t = t, .side = RS_SIDE_USER, .e = &d->users, .rows = u, .B = n, .drop = drop + lo, .a = a,
          .slot = slot[0] },
        { .t = t, .side = RS_SIDE_ITEM, .e = &d->items, .rows = my_it, .B = n * (1 + K), .a = a2, .slot = slot[1] },
    };
    if (n)
        rs_parallel_for(o->threads, 2, tower_forward_job, jobs);
    /* uz: this rank's rows only, at their place in the batch. */
    float *uz = rs_arena_floats(a, B * dd), *iz = rs_arena_floats(a, B * (1 + K) * dd);
    put_rows(uz, lo, jobs[0].z, n, dd);
    put_rows(iz, lo, jobs[1].z, n, dd);
    put_rows(iz, B + lo * K, jobs[1].z + n * dd, n * K, dd);
    rs_dist_allgather_rows(iz, bound, dd * sizeof *iz);
    if (K)
        rs_dist_allgather_rows(iz + B * dd, bound, K * dd * sizeof *iz);
    struct rs_inbatch s = { .B = B, .K = K, .d = dd, .tau = (float)o->tau, .logq = o->logq ? logq : NULL,
                            .item = it, .neg_logq = o->logq ? nlq : NULL, .neg_item = K ? it + B : NULL,
                            .threads = o->threads, .row_lo = lo, .row_hi = hi };
    float *probs = rs_arena_floats(a, B * (B + K));
    double loss = rs_inbatch_softmax_forward(probs, &s, uz, iz, K ? iz + B * dd : NULL);
    float *du = rs_arena_zeros(a, B * dd), *dv = rs_arena_zeros(a, B * (1 + K) * dd);
    rs_inbatch_softmax_backward(du, dv, K ? dv + B * dd : NULL, &s, probs, uz, iz, K ? iz + B * dd : NULL, 1.0f);
    /* Each rank's users reach every in-batch item; a negative belongs to its row. */
    rs_dist_sum_f32(dv, B * dd);
    rs_dist_sum_f64(&loss, 1);
    float *my_dv = rs_arena_floats(a, n * (1 + K) * dd);
    put_rows(my_dv, 0, dv + lo * dd, n, dd);
    put_rows(my_dv, n, dv + (B + lo * K) * dd, n * K, dd);
    jobs[0].dz = du + lo * dd;
    jobs[1].dz = my_dv;
    if (n) {
        rs_parallel_for(o->threads, 2, tower_backward_job, jobs);
        /* The user tower's sequence features write the item table: after the
         * item tower's own backward, as in a serial run. */
        rs_tower_backward_shared(t, RS_SIDE_USER, &jobs[0].act, o->threads);
    }
    rs_params_sum_ranks(&t->p);
    return loss;
}

int rs_tt_train(struct rs_tower *t, struct rs_tt_data *d, const struct rs_tt_opts *o, const struct rs_rsm *ckpt,
                void (*on_epoch)(void *ctx, const struct rs_tt_epoch *e), void *ctx)
{
    struct rs_optim opt;
    rs_optim_init(&opt);
    opt.lr = (float)o->lr;
    opt.threads = o->threads;
    if (o->sparse_adagrad) {
        opt.sparse = RS_SPARSE_ADAGRAD;
        opt.lr_sparse = (float)o->lr_sparse;
    }
    size_t P = t->p.size;
    float *best_w = d->nv ? xmalloc(P * sizeof *best_w) : NULL;
    struct train_state st = { 0, -1, 0, 0 };
    struct run_id id;
    run_id_init(&id, d, o);
    int rc = 0;
    if (ckpt && (rc = load_checkpoint(ckpt, o->checkpoint, t, &opt, &st, best_w, &id)) < 0) {
        free(best_w);
        return rc;
    }
    RS_ASSERT(d->lanes == o->batch); /* rs_tt_inputs.batch */
    size_t B = o->batch < d->n_all ? o->batch : d->n_all;
    long steps_per_epoch = (long)(d->n_all / B), total = steps_per_epoch * o->epochs;
    size_t *bound = xmalloc(((size_t)rs_dist_size() + 1) * sizeof *bound);
    batch_bounds(d, B, bound);
    size_t lo = bound[rs_dist_rank()], nl = bound[rs_dist_rank() + 1] - lo;
    uint32_t *order = xmalloc(((size_t)steps_per_epoch * nl + 1) * sizeof *order),
             *tmp = xmalloc((d->n_all / d->lanes + 2) * sizeof *tmp);
    struct rs_arena a, a2;
    rs_arena_init(&a, 0);
    rs_arena_init(&a2, 0);
    int32_t *slot[2] = { xmalloc(2 * (d->users.n + 1) * sizeof(int32_t)),
                         xmalloc(2 * (d->items.n + 1) * sizeof(int32_t)) };
    memset(slot[0], 0xff, 2 * (d->users.n + 1) * sizeof(int32_t));
    memset(slot[1], 0xff, 2 * (d->items.n + 1) * sizeof(int32_t));
    rs_params_zero_grad(&t->p);
    for (int ran = 0; !st.stopped && st.epoch < o->epochs && (!o->stop_after || ran < o->stop_after); ran++) {
        struct rs_rng dropg;
        rs_rng_init(&dropg, o->seed, 2000000u + (uint64_t)st.epoch);
        epoch_order(d, o->seed, st.epoch, lo, lo + nl, (size_t)steps_per_epoch, order, tmp);
        double t0 = rs_now(), sum = 0;
        for (long s = 0; s < steps_per_epoch; s++) {
            opt.lr = (float)lr_at(o, opt.t, total);
            rs_arena_reset(&a);
            rs_arena_reset(&a2);
            sum += train_step(t, d, o, order + (size_t)s * nl, B, bound, &dropg, &a, &a2, slot);
            rs_optim_step(&opt, &t->p);
            rs_params_zero_grad(&t->p);
            if (o->on_step)
                o->on_step(o->step_ctx, st.epoch + 1, (size_t)(s + 1) * B, (size_t)steps_per_epoch * B);
        }
        struct rs_tt_epoch e = { .epoch = ++st.epoch, .steps = opt.t, .lr = opt.lr };
        e.seconds = rs_now() - t0;
        e.loss = steps_per_epoch ? sum / (double)steps_per_epoch : NAN;
        e.examples_per_s = e.seconds > 0 ? (double)(steps_per_epoch * (long)B) / e.seconds : 0;
        evaluate(t, d, o->k, o->valid_users, o->threads, &e.recall, &e.ndcg);
        if (best_w) {
            if (e.recall > st.best) {
                st.best = e.recall;
                st.bad = 0;
                e.best = 1;
                memcpy(best_w, t->p.w, P * sizeof *best_w);
            } else if (o->patience && ++st.bad >= o->patience) {
                st.stopped = e.stop = 1;
            }
        }
        if (o->checkpoint && (rc = save_checkpoint(t, o, &opt, &st, best_w, &id)) < 0)
            break;
        if (on_epoch)
            on_epoch(ctx, &e);
    }
    if (rc == 0 && best_w && st.best >= 0)
        memcpy(t->p.w, best_w, P * sizeof *best_w);
    free(best_w);
    free(bound);
    free(order);
    free(tmp);
    rs_arena_free(&a);
    rs_arena_free(&a2);
    free(slot[0]);
    free(slot[1]);
    return rc;
}
