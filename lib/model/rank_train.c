/* rank_train.c - training the ranking model (rank.h): the labelled row
 * store, mini-batch steps (data-parallel over threads), the epoch loop with
 * early stopping, prediction, AUC and log loss. */
#include "model/rank.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/dist.h"
#include "core/err.h"
#include "core/threads.h"

/* ---------------------------------------------------------------------------
 * Data
 */

void rs_rank_data_init(struct rs_rank_data *d, const struct rs_rank_model *m)
{
    memset(d, 0, sizeof *d);
    d->ncat = m->ncat;
    d->nnum = m->nnum;
    d->ncross = m->ncross;
    d->nbin = m->nbin;
}

size_t rs_rank_data_push(struct rs_rank_data *d)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 1024;
        d->cat = xrealloc(d->cat, d->cap * (d->ncat ? d->ncat : 1) * sizeof *d->cat);
        d->bin = xrealloc(d->bin, d->cap * (d->nbin ? d->nbin : 1) * sizeof *d->bin);
        d->num = xrealloc(d->num, d->cap * (d->nnum ? d->nnum : 1) * sizeof *d->num);
        d->cross = xrealloc(d->cross, d->cap * (d->ncross ? d->ncross : 1) * sizeof *d->cross);
        d->y = xrealloc(d->y, d->cap * 2 * sizeof *d->y);
        d->group = xrealloc(d->group, d->cap * sizeof *d->group);
    }
    size_t i = d->n++;
    memset(d->cat + i * d->ncat, 0, d->ncat * sizeof *d->cat);
    memset(d->bin + i * d->nbin, 0, d->nbin * sizeof *d->bin);
    memset(d->num + i * d->nnum, 0, d->nnum * sizeof *d->num);
    memset(d->cross + i * d->ncross, 0, d->ncross * sizeof *d->cross);
    d->y[2 * i] = d->y[2 * i + 1] = 0;
    d->group[i] = 0;
    return i;
}

void rs_rank_data_free(struct rs_rank_data *d)
{
    if (!d)
        return;
    free(d->cat), free(d->bin), free(d->num), free(d->cross), free(d->y), free(d->group);
    memset(d, 0, sizeof *d);
}

/* ---------------------------------------------------------------------------
 * Training
 */

void rs_rank_train_defaults(struct rs_rank_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->batch = 512;
    o->epochs = 10;
    o->patience = 2;
    o->lr = 2e-3f;
    o->pos_weight[0] = o->pos_weight[1] = 1;
    o->emb_l2 = RS_RANK_DEFAULT_EMB_L2;
    o->stop = RS_RANK_STOP_AUC;
    o->threads = 1;
    o->seed = 42;
}

/* Gathers rows idx[0..B) of d into batch arrays from the arena; with lists
 * (the softmax objective), each row's group. */
static void gather(struct rs_rank_batch *b, const struct rs_rank_data *d, const uint32_t *idx,
                   size_t B, const float *pos_weight, int lists, struct rs_arena *ar)
{
    uint32_t *cat = rs_arena_alloc(ar, B * (d->ncat + 1) * sizeof *cat);
    uint32_t *bin = rs_arena_alloc(ar, B * (d->nbin + 1) * sizeof *bin);
    uint32_t *cross = rs_arena_alloc(ar, B * (d->ncross + 1) * sizeof *cross);
    float *num = rs_arena_floats(ar, B * (d->nnum + 1)), *y = rs_arena_floats(ar, 2 * B);
    float *w = pos_weight ? rs_arena_floats(ar, 2 * B) : NULL;
    for (size_t i = 0; i < B; i++) {
        size_t r = idx ? idx[i] : i;
        memcpy(cat + i * d->ncat, d->cat + r * d->ncat, d->ncat * sizeof *cat);
        memcpy(bin + i * d->nbin, d->bin + r * d->nbin, d->nbin * sizeof *bin);
        memcpy(cross + i * d->ncross, d->cross + r * d->ncross, d->ncross * sizeof *cross);
        memcpy(num + i * d->nnum, d->num + r * d->nnum, d->nnum * sizeof *num);
        y[2 * i] = d->y[2 * r], y[2 * i + 1] = d->y[2 * r + 1];
        if (w)
            for (int h = 0; h < 2; h++)
                w[2 * i + h] = y[2 * i + h] > 0.5f ? pos_weight[h] : 1.0f;
    }
    *b = (struct rs_rank_batch){.B = B, .cat = cat, .bin = bin, .num = num, .cross = cross, .y = y, .w = w};
    if (lists) {
        uint32_t *list = rs_arena_alloc(ar, (B + 1) * sizeof *list);
        for (size_t i = 0; i < B; i++)
            list[i] = d->group[idx ? idx[i] : i];
        b->list = list;
    }
}

void rs_rank_predict(struct rs_rank_model *m, const struct rs_rank_data *d, float *p)
{
    struct rs_arena ar;
    rs_arena_init(&ar, 0);
    const size_t chunk = 4096;
    for (size_t s = 0; s < d->n; s += chunk) {
        size_t B = d->n - s < chunk ? d->n - s : chunk;
        struct rs_rank_batch b = {.B = B, .cat = d->cat + s * d->ncat, .bin = d->bin + s * d->nbin,
                                  .num = d->num + s * d->nnum,
                                  .cross = d->cross + s * d->ncross};
        struct rs_rank_acts a;
        rs_arena_reset(&ar);
        rs_rank_forward(m, &b, &a, &ar);
        memcpy(p + 2 * s, a.p, 2 * B * sizeof(float));
        if (m->w_booking) { /* the booking head's own weights: a second pass */
            struct rs_rank_model mb = *m; /* m is left alone: callers may share it across threads */
            mb.p.w = m->w_booking;
            rs_arena_reset(&ar);
            rs_rank_forward(&mb, &b, &a, &ar);
            for (size_t i = 0; i < B; i++)
                p[2 * (s + i) + 1] = a.pb[i];
        }
    }
    rs_arena_free(&ar);
}

static void validate(struct rs_rank_model *m, const struct rs_rank_data *v, struct rs_rank_epoch *e)
{
    if (v->n == 0) {
        e->auc[0] = e->auc[1] = 0.5;
        return;
    }
    float *p = xmalloc(2 * v->n * sizeof *p);
    rs_rank_predict(m, v, p);
    for (int h = 0; h < 2; h++) {
        e->auc[h] = rs_rank_auc(p + h, v->y + h, v->n, 2);
        e->logloss[h] = rs_rank_logloss(p + h, v->y + h, v->n, 2);
    }
    /* normalised entropy (He et al. 2014): each head's log loss over that of
     * predicting its base rate, so the rare booking head weighs as much as
     * the click head */
    e->valid_loss = 0;
    for (int h = 0; h < 2; h++) {
        double r = 0;
        for (size_t i = 0; i < v->n; i++)
            r += v->y[2 * i + h];
        r = r / (double)v->n;
        double hb = r > 0 && r < 1 ? -(r * log(r) + (1 - r) * log(1 - r)) : 0;
        e->valid_loss += hb > 0 ? e->logloss[h] / hb : e->logloss[h];
        e->one_class[h] = !(r > 0 && r < 1);
    }
    free(p);
}

/* What early stopping minimises for head h: minus the AUC, or the log loss
 * when asked or when the validation rows hold one class of the head (their
 * AUC is a constant 0.5). */
static double stop_value(const struct rs_rank_epoch *e, int h, int metric)
{
    return metric == RS_RANK_STOP_AUC && !e->one_class[h] ? -e->auc[h] : e->logloss[h];
}

/* Sparse table f: the embedded inputs (rs_rank_emb_table) for f < ncat + nbin, then
 * the wide table. */
static int sparse_table(const struct rs_rank_model *m, size_t f, size_t *dim)
{
    if (f < m->ncat + m->nbin)
        return rs_rank_emb_table(m, f, dim);
    *dim = 2;
    return m->t_wide;
}

uint32_t **rs_rank_row_counts(const struct rs_rank_model *m, const struct rs_rank_data *d)
{
    size_t ne = m->ncat + m->nbin;
    uint32_t **n = xcalloc(ne + 2, sizeof *n);
    for (size_t f = 0; f <= ne; f++) {
        size_t dim;
        n[f] = xcalloc(m->p.t[sparse_table(m, f, &dim)].rows, sizeof **n);
        for (size_t i = 0; i < d->n; i++)
            if (f < ne)
                n[f][f < m->ncat ? d->cat[i * d->ncat + f] : d->bin[i * d->nbin + f - m->ncat]]++;
            else
                for (size_t k = 0; k < d->ncross; k++)
                    n[f][d->cross[i * d->ncross + k]]++;
    }
    return n;
}

void rs_rank_row_counts_free(const struct rs_rank_model *m, uint32_t **count)
{
    for (size_t f = 0; count && f <= m->ncat + m->nbin; f++)
        free(count[f]);
    free(count);
}

void rs_rank_emb_l2(struct rs_rank_model *m, uint32_t *const *count, float lambda)
{
    for (size_t f = 0; f <= m->ncat + m->nbin; f++) {
        size_t dim;
        int ti = sparse_table(m, f, &dim);
        const struct rs_tensor *t = &m->p.t[ti];
        const float *w = rs_params_w(&m->p, ti);
        float *g = rs_params_g(&m->p, ti);
        for (size_t k = 0; k < t->n_touched; k++) {
            size_t r = t->touched[k];
            float c = lambda / (float)(count[f][r] ? count[f][r] : 1);
            for (size_t j = 0; j < dim; j++)
                g[r * dim + j] += c * w[r * dim + j];
        }
    }
}

/* Data-parallel steps: a mini-batch is cut into micro-batches of
 * RANK_MICRO rows (the last may be shorter) whatever the thread count.
 * Workers take the micro-batches in rounds, one each, and run forward and
 * the dense part of backward into a shard, a dense gradient of their own.
 * Then, in micro-batch order, each shard is added into the model's gradient
 * and the micro-batch's sparse rows are added into the model's tables
 * (rs_rank_backward_sparse). One thread and eight compute the same sgemm
 * shapes and add the same terms in the same order: the same bits. With 128
 * rows one thread runs as fast as with whole-batch steps (measured on the
 * synth bench: the shards hold no sparse rows, so adding one is cheap), and
 * a 512-row batch keeps four workers busy. */
#define RANK_MICRO 128

struct shard {
    float *g;             /* dense gradient over the model's layout (sparse tables unused) */
    struct rs_arena ar;
    struct rs_rank_batch b;
    struct rs_rank_acts a; /* the dense backward's row gradients for the sparse part */
    double loss;          /* the micro-batch's share of the mini-batch loss */
};

/* p's dense gradients += the shard's, which are then zeroed. */
static void shard_reduce(struct rs_params *p, struct shard *s)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct rs_tensor *t = &p->t[i];
        if (t->flags & RS_PARAM_SPARSE)
            continue;
        float *dst = p->g + t->off, *src = s->g + t->off;
        for (size_t k = 0; k < t->rows * t->cols; k++) {
            dst[k] += src[k];
            src[k] = 0;
        }
    }
}

struct step {
    struct rs_rank_model *m;
    const struct rs_rank_data *train;
    const uint32_t *idx; /* the mini-batch's rows */
    size_t B;
    const struct rs_rank_train_opts *o;
    struct shard *shards;
    const size_t *cut;   /* micro-batch j is rows [cut[j], cut[j + 1]) */
    size_t first;        /* micro-batch of shard 0 in this round */
    double wsum[2];
};

/* Micro-batches first + [begin, end) into shards [begin, end). */
static void micro_batches(void *ctx, size_t begin, size_t end, int tid)
{
    (void)tid;
    struct step *st = ctx;
    for (size_t k = begin; k < end; k++) {
        struct shard *sh = &st->shards[k];
        struct rs_rank_model mk = *st->m;
        size_t lo = st->cut[st->first + k], hi = st->cut[st->first + k + 1];
        mk.p.g = sh->g;
        rs_arena_reset(&sh->ar);
        gather(&sh->b, st->train, st->idx + lo, hi - lo, st->o->pos_weight, st->m->objective == RS_RANK_SOFTMAX,
               &sh->ar);
        sh->b.wsum[0] = st->wsum[0], sh->b.wsum[1] = st->wsum[1];
        rs_rank_forward(&mk, &sh->b, &sh->a, &sh->ar);
        rs_rank_backward_dense(&mk, &sh->b, &sh->a, &sh->ar);
        sh->loss = 0;
        for (int h = 0; h < 2; h++)
            if (st->wsum[h] > 0)
                sh->loss += (h ? sh->a.loss_booking : sh->a.loss_click) * sh->a.wsum[h] / st->wsum[h];
    }
}

/* Micro-batch boundaries of rows idx[0..B) into cut (returns their number):
 * every RANK_MICRO rows, or with lists at the first end of a list at or
 * past RANK_MICRO rows, so that no list is split. */
static size_t micro_cuts(const struct rs_rank_data *d, const uint32_t *idx, size_t B, int lists, size_t *cut)
{
    size_t n = 0;
    cut[0] = 0;
    for (size_t i = 1; i <= B; i++)
        if (i == B || (i - cut[n] >= RANK_MICRO && (!lists || d->group[idx[i]] != d->group[idx[i - 1]])))
            cut[++n] = i;
    return n;
}

/* Each head's normaliser over the mini-batch: the sum of the weights, or
 * under the softmax objective the number of lists with a positive. */
static void batch_norm(const struct rs_rank_data *d, const uint32_t *idx, size_t B,
                       const struct rs_rank_train_opts *o, int lists, double wsum[2])
{
    wsum[0] = wsum[1] = 0;
    int pos[2] = {0, 0};
    for (size_t i = 0; i < B; i++)
        for (int h = 0; h < 2; h++) {
            int y = d->y[2 * (size_t)idx[i] + (size_t)h] > 0.5f;
            if (!lists) {
                wsum[h] += y ? o->pos_weight[h] : 1.0f;
                continue;
            }
            pos[h] |= y;
            if (i + 1 == B || d->group[idx[i + 1]] != d->group[idx[i]]) {
                wsum[h] += pos[h];
                pos[h] = 0;
            }
        }
}

/* Loss of one mini-batch (rows idx[0..B)), its gradient left in m->p.g;
 * shards: one per thread; cut: scratch of B + 1. Under mpirun each rank runs
 * its share of the micro-batches and the gradients and losses are summed
 * over the ranks (core/dist.h): the single process's up to float rounding,
 * its partial sums grouped by rank. */
static double train_step(struct rs_rank_model *m, const struct rs_rank_data *train, const uint32_t *idx,
                         size_t B, const struct rs_rank_train_opts *o, struct shard *shards, size_t threads,
                         size_t *cut)
{
    int lists = m->objective == RS_RANK_SOFTMAX;
    rs_params_zero_grad(&m->p);
    struct step st = {m, train, idx, B, o, shards, cut, 0, {0, 0}};
    batch_norm(train, idx, B, o, lists, st.wsum);
    size_t nmb = micro_cuts(train, idx, B, lists, cut), mine, end;
    rs_dist_range(nmb, &mine, &end);
    double loss = 0;
    for (st.first = mine; st.first < end; st.first += threads) {
        size_t n = end - st.first < threads ? end - st.first : threads;
        rs_parallel_for((int)threads, n, micro_batches, &st);
        for (size_t k = 0; k < n; k++) {
            shard_reduce(&m->p, &shards[k]);
            rs_rank_backward_sparse(m, &m->p, &shards[k].b, &shards[k].a);
            loss += shards[k].loss;
        }
    }
    rs_params_sum_ranks(&m->p);
    rs_dist_sum_f64(&loss, 1);
    return loss;
}

/* Lists of the softmax objective: runs of equal group in data order;
 * list l is rows [start[l], start[l + 1]). Returns their number. */
static size_t list_starts(const struct rs_rank_data *d, size_t *start)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++)
        if (i == 0 || d->group[i] != d->group[i - 1])
            start[n++] = i;
    start[n] = d->n;
    return n;
}

/* One epoch's row order: the rows shuffled, or under the softmax objective
 * the lists shuffled, each kept whole. */
static void shuffle(const struct rs_rank_data *train, const size_t *start, size_t nlists, uint32_t *order,
                    uint32_t *idx, struct rs_rng *g)
{
    if (!start) {
        rs_rng_shuffle_u32(g, idx, train->n);
        return;
    }
    rs_rng_shuffle_u32(g, order, nlists);
    size_t k = 0;
    for (size_t l = 0; l < nlists; l++)
        for (size_t r = start[order[l]]; r < start[order[l] + 1]; r++)
            idx[k++] = (uint32_t)r;
}

static double train_epoch(struct rs_rank_model *m, const struct rs_rank_data *train,
                          const struct rs_rank_train_opts *o, struct rs_optim *opt, uint32_t *idx,
                          uint32_t *const *count, struct shard *shards, size_t threads, struct rs_rng *g,
                          const size_t *start, size_t nlists, uint32_t *order, size_t *cut)
{
    double sum = 0;
    size_t nb = 0;
    shuffle(train, start, nlists, order, idx, g);
    for (size_t s = 0, e; s < train->n; s = e, nb++) {
        e = train->n - s < o->batch ? train->n : s + o->batch;
        while (start && e < train->n && train->group[idx[e]] == train->group[idx[e - 1]])
            e++; /* a mini-batch holds whole lists */
        sum += train_step(m, train, idx + s, e - s, o, shards, threads, cut);
        if (o->emb_l2 > 0)
            rs_rank_emb_l2(m, count, o->emb_l2);
        rs_optim_step(opt, &m->p);
    }
    return sum / (double)nb;
}

/* The softmax objective leaves each head's output bias free (a list's
 * softmax ignores a shift): shift it so that the head's mean predicted
 * probability over the training rows equals its base rate, by Newton's
 * method on b in Σ sigmoid(z_i + b) = Σ y_i; sigmoid(z + b) comes from
 * p = sigmoid(z) as p e^b / (1 - p + p e^b). P(click) + P(booking) then
 * adds two comparable probabilities again. */
static void calibrate_intercepts(struct rs_rank_model *m, const struct rs_rank_data *train)
{
    float *p = xmalloc(2 * train->n * sizeof *p);
    rs_rank_predict(m, train, p);
    const struct rs_tensor *bias = &m->p.t[m->t_b[m->nhidden]];
    for (int h = 0; h < 2; h++) {
        double target = 0, b = 0;
        for (size_t i = 0; i < train->n; i++)
            target += train->y[2 * i + (size_t)h];
        for (int it = 0; it < 50 && target > 0; it++) {
            double f = -target, df = 0, eb = exp(b);
            for (size_t i = 0; i < train->n; i++) {
                double q = p[2 * i + (size_t)h] * eb / (1 - p[2 * i + (size_t)h] + p[2 * i + (size_t)h] * eb);
                f += q, df += q * (1 - q);
            }
            if (!(df > 0))
                break;
            b -= f / df;
        }
        m->p.w[bias->off + (size_t)h] += (float)b;
        if (m->w_booking)
            m->w_booking[bias->off + (size_t)h] += (float)b;
    }
    free(p);
}

int rs_rank_train(struct rs_rank_model *m, const struct rs_rank_data *train,
                  const struct rs_rank_data *valid, const struct rs_rank_train_opts *o,
                  struct rs_rank_epoch best[2])
{
    if (train->n == 0)
        return rs_err_set(RS_ERR_FORMAT, "no training examples");
    struct rs_optim opt;
    rs_optim_init(&opt);
    memset(m->p.m, 0, m->p.size * sizeof(float)); /* a fresh optimiser: no moments of an earlier run */
    memset(m->p.v, 0, m->p.size * sizeof(float));
    opt.lr = o->lr;
    opt.weight_decay = o->weight_decay;
    struct rs_rng g;
    rs_rng_init(&g, o->seed, 0x73687566); /* "shuf" */
    uint32_t *idx = xmalloc(train->n * sizeof *idx);
    for (size_t i = 0; i < train->n; i++)
        idx[i] = (uint32_t)i;
    uint32_t **count = rs_rank_row_counts(m, train);
    int lists = m->objective == RS_RANK_SOFTMAX;
    size_t *start = lists ? xmalloc((train->n + 1) * sizeof *start) : NULL, nlists = 0;
    size_t *cut = xmalloc((train->n + 1) * sizeof *cut);
    uint32_t *order = NULL;
    if (lists) {
        nlists = list_starts(train, start);
        order = xmalloc(nlists * sizeof *order);
        for (size_t l = 0; l < nlists; l++)
            order[l] = (uint32_t)l;
    }
    free(m->w_booking); /* both heads train, and validate, on p.w */
    m->w_booking = NULL;
    size_t T = o->threads > 1 ? (size_t)o->threads : 1;
    struct shard *shards = xcalloc(T, sizeof *shards);
    for (size_t k = 0; k < T; k++) {
        shards[k].g = xcalloc(m->p.size + 1, sizeof(float));
        rs_arena_init(&shards[k].ar, 0);
    }
    float *best_w[2] = {xmalloc(m->p.size * sizeof(float)), xmalloc(m->p.size * sizeof(float))};
    memset(best, 0, 2 * sizeof *best);
    int since[2] = {0, 0};
    for (int ep = 1; ep <= o->epochs; ep++) {
        double t0 = rs_now();
        struct rs_rank_epoch e = {.epoch = ep};
        e.train_loss = train_epoch(m, train, o, &opt, idx, count, shards, T, &g, start, nlists, order, cut);
        validate(m, valid, &e);
        e.seconds = rs_now() - t0;
        for (int h = 0; h < 2; h++) {
            e.best[h] = ep == 1 || valid->n == 0 ||
                        stop_value(&e, h, o->stop) < stop_value(&best[h], h, o->stop);
            since[h] = e.best[h] ? 0 : since[h] + 1;
        }
        for (int h = 0; h < 2; h++)
            if (e.best[h]) {
                best[h] = e;
                memcpy(best_w[h], m->p.w, m->p.size * sizeof(float));
            }
        if (o->on_epoch)
            o->on_epoch(o->ctx, &e);
        if (since[0] > 0 && since[0] >= o->patience && since[1] > 0 && since[1] >= o->patience)
            break;
    }
    memcpy(m->p.w, best_w[0], m->p.size * sizeof(float));
    if (best[1].epoch != best[0].epoch)
        m->w_booking = best_w[1];
    else
        free(best_w[1]);
    if (lists)
        calibrate_intercepts(m, train);
    free(start), free(cut), free(order);
    rs_rank_row_counts_free(m, count);
    for (size_t k = 0; k < T; k++) {
        free(shards[k].g);
        rs_arena_free(&shards[k].ar);
    }
    free(shards);
    free(best_w[0]);
    free(idx);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Metrics
 */

struct scored {
    float s;
    float y;
};

static int by_score(const void *a, const void *b)
{
    float x = ((const struct scored *)a)->s, y = ((const struct scored *)b)->s;
    return (x > y) - (x < y);
}

double rs_rank_auc(const float *s, const float *y, size_t n, size_t stride)
{
    struct scored *v = xmalloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (struct scored){s[i * stride], y[i * stride]};
    qsort(v, n, sizeof *v, by_score);
    /* rank sum of the positives, ties given their mean rank */
    double npos = 0, rsum = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double pos = 0;
        while (j < n && v[j].s == v[i].s)
            pos += v[j++].y > 0.5f;
        rsum += pos * ((double)(i + 1) + (double)j) / 2;
        npos += pos;
        i = j;
    }
    free(v);
    double nneg = (double)n - npos;
    if (npos == 0 || nneg == 0)
        return 0.5;
    return (rsum - npos * (npos + 1) / 2) / (npos * nneg);
}

double rs_rank_logloss(const float *p, const float *y, size_t n, size_t stride)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double q = p[i * stride], t = y[i * stride];
        q = q < 1e-7 ? 1e-7 : q > 1 - 1e-7 ? 1 - 1e-7 : q;
        s -= t * log(q) + (1 - t) * log(1 - q);
    }
    return n ? s / (double)n : 0;
}
