/* nn.h - the neural-network library: a parameter arena, layers with
 * hand-written backward passes, losses and optimisers, on OpenBLAS sgemm
 * (through lib/nn/tensor.h).
 *
 * Conventions (llm.c style):
 * - Every tensor is row-major f32. Shapes are given in comments as (rows, cols)
 *   with B the batch size.
 * - One function pair per layer: rs_<layer>_forward / rs_<layer>_backward.
 *   Backward ACCUMULATES (+=) into every gradient it is given (dx, dw, ...),
 *   so gradients of a tensor used twice add up; zeroing is separate
 *   (rs_params_zero_grad for parameters; rs_arena_zeros for activations).
 *   A NULL gradient pointer means "not needed" and is skipped.
 * - Forward writes (=) its outputs. Callers keep what backward needs
 *   (inputs, outputs, caches) alive, normally in a struct rs_arena reset
 *   every step.
 * - All ops are deterministic: plain loops in a fixed order plus OpenBLAS
 *   calls (one BLAS thread, tensor.h) whose shapes never depend on the
 *   thread count, so any count gives the same bits. The plain loops give the
 *   same bits on every CPU too; a BLAS call's rounding follows the CPU's
 *   OpenBLAS kernels.
 *
 * Parameters live in one struct rs_params: named tensors carved out of one
 * allocation of values w, with gradients g and optimiser moments m, v
 * mirroring it float for float, so a checkpoint is one write of w (and m, v)
 * and zeroing dense gradients one loop of memsets.
 *
 * Sparse tables (RS_PARAM_SPARSE: embedding tables): backward marks the rows
 * it touched; rs_params_zero_grad and rs_optim_step visit only those rows, so
 * a step costs O(rows touched in the batch), not O(table). Their update is
 * lazy Adam (m, v and w of a row change only in steps that touch it; the bias
 * correction uses the global step and eps is added to sqrt(v) before it, as
 * TF Addons' LazyAdam and PyTorch's SparseAdam) or Adagrad
 * (Duchi et al. 2011; v accumulates g², w -= lr·g/(sqrt(v)+eps)).
 *
 * Initialisation (rs_nn_init_*), all drawn from lib/core/rng.h so a seed fixes them:
 * - dense weights before a ReLU: He uniform U(-a, a), a = sqrt(6 / d_in)
 *   (He et al. 2015);
 * - other dense weights: Glorot uniform, a = sqrt(6 / (d_in + d_out))
 *   (Glorot & Bengio 2010);
 * - biases: zero;
 * - embedding tables: N(0, sigma²) with sigma = 1/sqrt(d) so a row has
 *   expected squared norm 1;
 * - the wide linear part of a ranker: zero.
 */
#ifndef RS_NN_H
#define RS_NN_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/rng.h"

/* ---------------------------------------------------------------------------
 * Parameter arena
 */

enum rs_param_flags {
    RS_PARAM_DENSE = 0,
    RS_PARAM_SPARSE = 1, /* row-sparse gradient: embedding tables */
};

#define RS_PARAM_NAME_MAX 64

struct rs_tensor {
    char name[RS_PARAM_NAME_MAX]; /* unique within its rs_params, e.g. "user.dense1.w" */
    size_t rows, cols;            /* a vector is (1, n) */
    size_t off;                   /* offset in floats into w, g, m, v */
    int flags;                    /* enum rs_param_flags */
    /* RS_PARAM_SPARSE bookkeeping, owned by rs_params: rows with a nonzero
     * gradient since the last zero_grad, each listed once. */
    uint8_t *touched_mark; /* (rows) */
    uint32_t *touched;     /* (rows), first n_touched used */
    size_t n_touched;
};

struct rs_params {
    struct rs_tensor *t; /* n tensors, in the order added */
    size_t n, cap;
    size_t size;    /* total floats */
    float *w;       /* values (size) */
    float *g;       /* gradients (size) */
    float *m, *v;   /* optimiser moments (size); Adagrad keeps its sum of g² in v */
    int allocated;  /* set by rs_params_alloc; no tensor may be added after */
};

/* Empty parameter set. */
void rs_params_init(struct rs_params *p);
/* Frees everything; a zeroed or freed struct is a no-op. */
void rs_params_free(struct rs_params *p);
/* Declares a (rows, cols) tensor and returns its index (stable, used as a
 * handle by rs_params_w/g). Before rs_params_alloc only; names must be
 * unique and shorter than RS_PARAM_NAME_MAX (programmer errors: assert). */
int rs_params_add(struct rs_params *p, const char *name, size_t rows, size_t cols, int flags);
/* Allocates w, g, m, v (all zero; each tensor starts at a multiple of 16
 * floats from the base). */
void rs_params_alloc(struct rs_params *p);
/* Index of the tensor called name, or -1. */
int rs_params_find(const struct rs_params *p, const char *name);
/* Values / gradients of tensor i (rows·cols floats). */
float *rs_params_w(const struct rs_params *p, int i);
float *rs_params_g(const struct rs_params *p, int i);
/* Zeroes dense gradients and the touched rows of sparse ones, and clears the
 * touched lists. */
void rs_params_zero_grad(struct rs_params *p);
/* Under mpirun (core/dist.h), replaces every rank's gradient by the sum over
 * the ranks: dense tensors whole, sparse tables as the rows some rank
 * touched (their touched lists become the union, the same on every rank).
 * Every rank gets the same bits. A no-op in a job of one rank (lib/nn/dist.c). */
void rs_params_sum_ranks(struct rs_params *p);
/* Marks row r of sparse tensor i as touched (ops call this; exposed for
 * callers writing their own sparse backward). No-op for dense tensors. */
void rs_params_touch(struct rs_params *p, int i, size_t r);
/* Global L2 norm of the gradient (dense tensors + touched rows of sparse
 * ones), accumulated in double. */
double rs_params_grad_norm(const struct rs_params *p);
/* Scales the gradient so its global norm is at most max_norm; returns the
 * norm before clipping. max_norm <= 0 only returns the norm. */
double rs_params_clip_grad(struct rs_params *p, double max_norm);

/* ---------------------------------------------------------------------------
 * Initialisation (see the file comment for which to use where)
 */

/* w (n): U(-a, a). */
void rs_nn_init_uniform(float *w, size_t n, float a, struct rs_rng *g);
/* w (n): N(0, std²). */
void rs_nn_init_normal(float *w, size_t n, float std, struct rs_rng *g);
/* w (d_in, d_out): He uniform, a = sqrt(6/d_in). */
void rs_nn_init_he(float *w, size_t d_in, size_t d_out, struct rs_rng *g);
/* w (d_in, d_out): Glorot uniform, a = sqrt(6/(d_in+d_out)). */
void rs_nn_init_glorot(float *w, size_t d_in, size_t d_out, struct rs_rng *g);
/* table (rows, d): N(0, 1/d). */
void rs_nn_init_embedding(float *table, size_t rows, size_t d, struct rs_rng *g);

/* ---------------------------------------------------------------------------
 * Layers. Backward accumulates; NULL gradients are skipped.
 */

/* Dense (affine) layer: y = x·w + b.
 * x: (B, d_in), w: (d_in, d_out), b: (d_out) or NULL, y: (B, d_out). */
void rs_dense_forward(float *y, const float *x, const float *w, const float *b, size_t B,
                      size_t d_in, size_t d_out);
/* dx += dy·wᵀ, dw += xᵀ·dy, db += Σ_rows dy.
 * dy: (B, d_out), x: (B, d_in), w: (d_in, d_out); dx: (B, d_in), dw, db like w, b. */
void rs_dense_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                       const float *w, size_t B, size_t d_in, size_t d_out);

/* ReLU: y = max(x, 0), n elements; y may equal x (in place). */
void rs_relu_forward(float *y, const float *x, size_t n);
/* dx += dy · [y > 0] (uses the output y, so it works after an in-place
 * forward); dx must not alias dy. */
void rs_relu_backward(float *dx, const float *dy, const float *y, size_t n);

/* Sigmoid: y = 1/(1+exp(-x)), n elements, stable for large |x|; y may equal x. */
void rs_sigmoid_forward(float *y, const float *x, size_t n);
/* dx += dy · y (1 - y). */
void rs_sigmoid_backward(float *dx, const float *dy, const float *y, size_t n);

/* Row-wise L2 normalisation: y_b = x_b / |x_b|, and y_b = 0 where
 * |x_b| <= RS_L2_EPS (a row without direction, e.g. a tower input whose
 * features were all dropped). x, y: (B, d) (y may equal x); norm: (B)
 * cache written for backward, max(|x_b|, RS_L2_EPS). */
#define RS_L2_EPS 1e-12f
void rs_l2norm_forward(float *y, float *norm, const float *x, size_t B, size_t d);
/* dx_b += (dy_b - y_b (y_b·dy_b)) / norm_b; nothing for a zeroed row. */
void rs_l2norm_backward(float *dx, const float *dy, const float *y, const float *norm, size_t B,
                        size_t d);

/* Inverted dropout with keep probability 1-p: mask_i = [u_i >= p] / (1-p),
 * y = x · mask. x, y, mask: (n). p = 0 copies x and sets mask to 1. The
 * stream of u is rs_rng_uniform(g), one draw per element in order. */
void rs_dropout_forward(float *y, float *mask, const float *x, size_t n, float p, struct rs_rng *g);
/* dx += dy · mask. */
void rs_dropout_backward(float *dx, const float *dy, const float *mask, size_t n);

/* Concatenation along columns: y = [x_0 | x_1 | ... ], x_k: (B, dims[k]),
 * y: (B, Σ dims). */
void rs_concat_forward(float *y, const float *const *xs, const size_t *dims, size_t nparts,
                       size_t B);
/* dxs[k] += the dims[k] columns of dy that came from x_k; dxs[k] NULL skips. */
void rs_concat_backward(float *const *dxs, const float *dy, const size_t *dims, size_t nparts,
                        size_t B);

/* Embedding lookup: y_b = table[ids_b]. table: (rows, d), ids: (B), y: (B, d).
 * ids must be < rows (asserted). */
void rs_embedding_forward(float *y, const float *table, const uint32_t *ids, size_t B, size_t d);
/* grad(table)[ids_b] += dy_b for tensor ti of p (sparse tables mark rows). */
void rs_embedding_backward(struct rs_params *p, int ti, const uint32_t *ids, const float *dy,
                           size_t B);

/* Embedding bag: bag b holds ids[offsets[b] .. offsets[b+1]) (CSR, offsets:
 * (B+1), offsets[0] = 0, ids: (offsets[B])), with optional per-id weights wts
 * (same length as ids, NULL = 1).
 * RS_POOL_SUM:  y_b = Σ_j wts_j table[ids_j]
 * RS_POOL_MEAN: y_b = Σ_j wts_j table[ids_j] / n_b  (n_b ids in the bag)
 * An empty bag gives a zero row. table: (rows, d), y: (B, d). */
enum rs_pool {
    RS_POOL_SUM = 1,
    RS_POOL_MEAN = 2,
};
void rs_embedding_bag_forward(float *y, const float *table, const uint32_t *ids,
                              const uint32_t *offsets, const float *wts, size_t B, size_t d,
                              int pool);
/* grad(table)[ids_j] += dy_b · wts_j (/ n_b for MEAN). */
void rs_embedding_bag_backward(struct rs_params *p, int ti, const uint32_t *ids,
                               const uint32_t *offsets, const float *wts, const float *dy,
                               size_t B, int pool);
/* The same on `threads` threads, each adding into its own table rows (r mod
 * threads): every row gets its terms in the same order, so the result is the
 * serial one, bit for bit. */
void rs_embedding_bag_backward_mt(struct rs_params *p, int ti, const uint32_t *ids,
                                  const uint32_t *offsets, const float *wts, const float *dy,
                                  size_t B, int pool, int threads);

/* Attention pooling of a bag (sequences such as a user's history):
 *   s_j = scale · q_b·e_j,  alpha = softmax_j(s) over the bag,  y_b = Σ_j alpha_j e_j
 * with e_j = table[ids_j] and scale = 1/sqrt(d) (scaled dot-product attention,
 * Vaswani et al. 2017; DIN-style when q is the candidate item).
 * q: query rows with row stride q_stride floats: q_stride = d gives one query
 * per bag (B, d); q_stride = 0 shares one learned query vector (d) by all bags.
 * alpha: (offsets[B]) cache written for backward. Empty bag: zero row. */
void rs_attn_pool_forward(float *y, float *alpha, const float *table, const uint32_t *ids,
                          const uint32_t *offsets, const float *q, size_t q_stride, size_t B,
                          size_t d);
/* Gradients for the table (tensor ti of p) and the query: dq uses the same
 * stride as q (with q_stride 0 every bag's contribution adds into one
 * vector); dq NULL skips. */
void rs_attn_pool_backward(struct rs_params *p, int ti, float *dq, const float *dy,
                           const float *alpha, const float *table, const uint32_t *ids,
                           const uint32_t *offsets, const float *q, size_t q_stride, size_t B,
                           size_t d);

/* ---------------------------------------------------------------------------
 * Losses. Forward returns the mean loss (accumulated in double); backward
 * adds dloss · d(mean loss)/d(input), dloss normally 1.
 */

/* Softmax cross-entropy over C classes: loss = mean_b -log softmax(logits_b)[label_b].
 * logits, probs: (B, C) (probs may equal logits), labels: (B), < C.
 * A logit of -INFINITY masks its class (probability 0, no gradient); the
 * label's own logit must be finite. */
double rs_softmax_xent_forward(float *probs, const float *logits, const uint32_t *labels,
                               size_t B, size_t C);
/* dlogits += dloss · (probs - onehot(label)) / B. */
void rs_softmax_xent_backward(float *dlogits, const float *probs, const uint32_t *labels,
                              size_t B, size_t C, float dloss);

/* Sigmoid + binary cross-entropy on logits z with targets y in [0, 1] and
 * optional sample weights w (NULL = 1) (class weighting goes here):
 *   loss = Σ_b w_b [max(z,0) - z·y + log(1 + exp(-|z|))] / Σ_b w_b
 * z, y, w, p: (B); p = sigmoid(z) written for backward. Returns 0 when
 * Σ w = 0. */
double rs_bce_forward(float *p, const float *z, const float *y, const float *w, size_t B);
/* dz += dloss · w_b (p_b - y_b) / Σ w. */
void rs_bce_backward(float *dz, const float *p, const float *y, const float *w, size_t B,
                     float dloss);

/* Listwise softmax cross-entropy (ListNet's top-one loss, Cao et al. 2007;
 * Bruch et al., "An Analysis of the Softmax Cross Entropy Loss for
 * Learning-to-Rank", SIGIR 2019). The rows of a list are a run of equal
 * list[b]; a list whose targets sum to Y > 0 contributes
 *   -Σ_b (y_b / Y) log softmax(z)_b        (softmax over the list)
 * and one without a positive nothing. Returns the sum over lists and the
 * number of lists that count in *nlists. z, y, list: (B). */
double rs_list_softmax_forward(const float *z, const float *y, const uint32_t *list, size_t B, size_t *nlists);
/* dz_b += dloss · (softmax(z)_b - y_b / Y) for the rows of lists with Y > 0. */
void rs_list_softmax_backward(float *dz, const float *z, const float *y, const uint32_t *list, size_t B,
                              float dloss);

/* In-batch sampled softmax for two-tower retrieval (Yi et al. 2019, "Sampling-
 * bias-corrected neural modeling"), with optional extra negatives per row.
 * Row i's logits, over B + K columns:
 *   j <  B:  u_i·v_j / tau - logq_j            (in-batch items; label j = i)
 *   j >= B:  u_i·n_{i,j-B} / tau - neg_logq_{i,j-B}   (row i's own negatives)
 * masked to -INFINITY where j != i and the column's item id equals item_i
 * (in-batch duplicates of the positive, and extra negatives that are the
 * positive), so a positive is never its own negative. Loss = mean_i
 * -log softmax(row i)[i]. */
struct rs_inbatch {
    size_t B;                  /* rows = in-batch items */
    size_t K;                  /* extra negatives per row (0: none) */
    size_t d;                  /* embedding size */
    float tau;                 /* temperature (> 0) */
    const float *logq;         /* (B) log sampling probability of item j, NULL = 0 */
    const uint32_t *item;      /* (B) item id of each row, NULL = no duplicate masking */
    const float *neg_logq;     /* (B, K) or NULL = 0 */
    const uint32_t *neg_item;  /* (B, K) or NULL = no masking of negatives */
    int threads;               /* blocks of rows on this many threads (threads.h),
                                  0 or 1: the caller's; see below */
    size_t row_lo, row_hi;     /* only rows [row_lo, row_hi) (0, 0: all B); see below */
};
/* u: (B, d) user vectors, v: (B, d) item vectors, neg: (B, K, d) or NULL when
 * K = 0; probs: (B, B + K) written for backward. Rows go through sgemm in
 * blocks of a fixed size, whatever the thread count, so any count gives the
 * same bits. */
double rs_inbatch_softmax_forward(float *probs, const struct rs_inbatch *s, const float *u,
                                  const float *v, const float *neg);
/* du += ∂/∂u, dv += ∂/∂v, dneg += ∂/∂neg (each may be NULL), times dloss.
 *
 * With a row range (data-parallel training, each rank its rows of one global
 * batch): forward fills rows [row_lo, row_hi) of probs and returns their
 * share of the batch's mean loss (the sum over the ranges is the loss);
 * backward reads only those rows of probs and of u, and adds their share of
 * every gradient: du and dneg of those rows, complete; dv of every item, a
 * partial sum the caller adds up over the ranges. v and neg are whole. The
 * whole range is the computation above, bit for bit. */
void rs_inbatch_softmax_backward(float *du, float *dv, float *dneg, const struct rs_inbatch *s,
                                 const float *probs, const float *u, const float *v,
                                 const float *neg, float dloss);

/* ---------------------------------------------------------------------------
 * Optimiser: Adam (Kingma & Ba 2015) on dense tensors, with optional
 * decoupled weight decay (AdamW, Loshchilov & Hutter 2019); lazy Adam or
 * Adagrad on the touched rows of sparse tensors.
 */

enum rs_sparse_opt {
    RS_SPARSE_ADAM = 1,    /* lazy Adam, same lr/betas as the dense tensors */
    RS_SPARSE_ADAGRAD = 2, /* Adagrad with lr_sparse */
};

struct rs_optim {
    float lr;           /* Adam learning rate */
    float beta1, beta2; /* 0.9, 0.999 */
    float eps;          /* 1e-8 (Adam and Adagrad) */
    float weight_decay; /* AdamW decay on dense tensors, 0 = off */
    int sparse;         /* enum rs_sparse_opt for RS_PARAM_SPARSE tensors */
    float lr_sparse;    /* Adagrad learning rate (RS_SPARSE_ADAGRAD) */
    long t;             /* steps taken; rs_optim_step increments it first */
    int threads;        /* the update is element-wise: any count gives the same bits */
};

/* Defaults: lr 1e-3, betas 0.9/0.999, eps 1e-8, no decay, sparse lazy Adam,
 * lr_sparse 0.05, t 0, 1 thread. */
void rs_optim_init(struct rs_optim *o);
/* One update of every dense tensor and of the touched rows of sparse ones
 * from p->g. Does not zero the gradient (call rs_params_zero_grad). */
void rs_optim_step(struct rs_optim *o, struct rs_params *p);

#endif
