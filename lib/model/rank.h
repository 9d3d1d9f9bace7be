/* rank.h - the ranking model of rs-rank: a wide & deep two-head classifier
 * (Cheng et al. 2016, "Wide & Deep Learning for Recommender Systems") on
 * lib/nn/nn.
 *
 * For an example with categorical features c_1..c_n, numeric features x
 * (standardised), the bins q_1..q_r of the bucketised numerics and crosses
 * k_1..k_m (hashed into a fixed space):
 *   deep:  h_0 = [E_1[c_1] | ... | E_n[c_n] | Q_1[q_1] | ... | Q_r[q_r] | x |
 *                 <E_a[c_a], E_b[c_b]> ...]
 *          (the last block: dot products of configured pairs of categorical
 *          embeddings, DLRM-style interactions, Naumov et al. 2019)
 *          h_l = ReLU(h_{l-1} W_l + b_l),  l = 1..L     (hidden sizes)
 *          d   = h_L W_out + b_out                      (B, 2)
 *   wide:  w   = Σ_j V[k_j] + v_0                       (B, 2), V: (buckets, 2)
 *   z = d + w;  p_click = sigmoid(z_0),  p_booking = sigmoid(z_1)
 *   loss = BCE(z_0; click, weights_click) + BCE(z_1; booking, weights_booking)
 * each a weighted mean over the batch (lib/nn/nn rs_bce_*); the class weight of a
 * positive example is the head's pos_weight, of a negative 1. score =
 * p_click + p_booking.
 *
 * Cross hashing: the bucket of cross k over columns a, b[, c] with values
 * va, vb[, vc] is XXH3-64 (seed 0) of the bytes "a=va\x1fb=vb[\x1fc=vc]"
 * modulo the bucket count; a missing value hashes as the empty string. The
 * column names in the key keep two crosses apart; the value depends only on
 * bytes, so it is the same on every run and machine (known answers in
 * tests/unit/test-rank.c).
 *
 * Categorical values map through a vocabulary built from the training rows
 * (values seen at least min_count times, in order of first appearance) to
 * rows 1..V of their embedding table; row 0 is unknown/missing. Numerics:
 * x' = (f(x) - mean) / std with f = log1p(max(x, 0)) when "log1p" is set,
 * else f(x) = x; mean and std from the training rows; a missing value gives 0.
 *
 * Bucketised numerics ("buckets": N) also enter the MLP as an embedded bin,
 * so the network gets a piecewise-constant function of the value, as a
 * tree's splits do, besides the linear x' (the quantile bucketisation of
 * numeric features of e.g. Guo et al. 2021, "An Embedding Learning Framework
 * for Numerical Features in CTR Prediction", and Gorishniy et al. 2022, "On
 * Embeddings for Numerical Features in Tabular Deep Learning"). The upper
 * bin edges e_1 < ... < e_K of f(x) come from the training rows by the
 * greedy equal-frequency binning of distinct values of histogram GBDTs
 * (LightGBM, Ke et al. 2017): in ascending order, a distinct value holding
 * at least n/N of the n rows gets a bin of its own (a spike such as 0 or a
 * default value never shares a bin with its neighbours), other values fill
 * a bin until it holds n/N rows. The bin of x is 1 + the number of edges
 * below (float)f(x) (bins 1..K+1; values above e_K share bin K+1); a missing
 * value is bin 0.
 *
 * Parameter init (lib/nn/nn.h): embeddings N(0, (0.01)²/dim), a row norm of
 * about 0.01 rather than lib/nn/nn's 1, and row 0 (unknown, missing) at 0: a
 * value seen in a handful of training rows keeps close to its initial
 * vector, and a random vector of norm 1 is an id the MLP can memorise those
 * rows' labels by (bench/rank, mean of 4 seeds: +0.023 click AUC on
 * REES46, +0.002 on Taobao). Hidden layers He uniform, output layer Glorot uniform,
 * biases 0 except b_out = the logit of each head's training base rate; the
 * wide table starts at 0.
 */
#ifndef RS_RANK_H
#define RS_RANK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/nn.h"

struct rs_strmap;

#define RS_RANK_MAX_HIDDEN 4
#define RS_RANK_MAX_CROSS_COLS 3
#define RS_RANK_DEFAULT_BUCKETS (1u << 20)
#define RS_RANK_DEFAULT_EMB 8
#define RS_RANK_MAX_NUM_BUCKETS 65536
#define RS_RANK_EMB_INIT_NORM 0.01f
#define RS_RANK_DEFAULT_EMB_L2 2.0f

struct rs_rank_numeric {
    char *name;
    int log1p;
    float mean, std;  /* of f(x) over the training rows; std >= 1e-6 */
    uint32_t buckets; /* bins asked for in the config, 0 = not bucketised */
    size_t dim;       /* embedding size of the bins */
    int slot;         /* column in rs_rank_data.bin, -1 = not bucketised */
    size_t nedges;    /* upper bin edges of f(x), ascending, distinct */
    float *edges;     /* (nedges), from rs_rank_numeric_fit_edges */
    int t_emb;        /* tensor of the bin embeddings, (nedges + 2, dim) */
};

struct rs_rank_categorical {
    char *name;
    size_t dim;             /* embedding size */
    uint32_t min_count;     /* training occurrences to enter the vocabulary */
    struct rs_strmap *vocab; /* value -> id - 1; NULL until the vocabulary is set */
    int t_emb;              /* tensor index in the model's params */
};

struct rs_rank_cross {
    char *name; /* "a&b[&c]" */
    int ncols;  /* 2 or 3 */
    char *cols[RS_RANK_MAX_CROSS_COLS];
};

/* What training minimises (config "objective"). */
enum rs_rank_objective {
    RS_RANK_POINTWISE = 0, /* each head's binary cross-entropy over the rows */
    RS_RANK_SOFTMAX = 1,   /* each head's softmax cross-entropy over each user's list */
};

struct rs_rank_model {
    json_t *config; /* the feature config with defaults filled in (owned) */
    int objective;  /* enum rs_rank_objective */
    size_t nnum, ncat, ncross, ninter;
    size_t nbin;        /* bucketised numerics */
    int (*inter)[2];    /* (ninter) pairs of categorical indices */
    struct rs_rank_numeric *num;
    struct rs_rank_categorical *cat;
    struct rs_rank_cross *cross;
    uint64_t buckets; /* cross hash space */
    size_t nhidden, hidden[RS_RANK_MAX_HIDDEN];
    size_t d_in; /* Σ categorical and bin dims + nnum + ninter */
    struct rs_params p; /* allocated by rs_rank_model_build */
    int t_wide, t_wide_b;
    int t_w[RS_RANK_MAX_HIDDEN + 1], t_b[RS_RANK_MAX_HIDDEN + 1]; /* nhidden + 1 layers */
    /* The booking head's weights (p.size floats, p's layout) when its best
     * epoch differs from the click head's, whose weights are p.w; NULL when
     * both heads share p.w. */
    float *w_booking;
};

/* Parses a feature config (schemas/rank.md):
 *   {"numeric": ["hour", {"name": "distance", "log1p": true}],
 *    "categorical": ["user_id", {"name": "category", "embedding_size": 8, "min_count": 1}],
 *    "crosses": [["region", "category"], ["hour", "category", "user_id"]],
 *    "interactions": [["user_id", "item_id"]],
 *    "cross_buckets": 1048576, "embedding_size": 8, "hidden": [64, 32]}
 * into m (zeroed first). Errors (RS_ERR_FORMAT) name the offending key; name
 * is the config's file name for messages. */
int rs_rank_config(struct rs_rank_model *m, json_t *cfg, const char *name);
/* Declares and allocates the parameters once every vocabulary is set
 * (m->cat[i].vocab). Weights stay zero: call rs_rank_model_init to train. */
void rs_rank_model_build(struct rs_rank_model *m);
/* The embedding table of embedded input f (categorical f < ncat, then the
 * binned numerics) and its width in *dim. */
int rs_rank_emb_table(const struct rs_rank_model *m, size_t f, size_t *dim);
/* Draws the initial weights (file comment); base rates in (0, 1) set b_out. */
void rs_rank_model_init(struct rs_rank_model *m, uint64_t seed, double base_click,
                        double base_booking);
void rs_rank_model_free(struct rs_rank_model *m);

/* Saves the model as one RSM file (schemas/rank.md), atomically. */
int rs_rank_model_save(const struct rs_rank_model *m, const char *path, json_t *train_info);
/* Loads a model written by rs_rank_model_save into m. */
int rs_rank_model_load(struct rs_rank_model *m, const char *path);

/* Bucket of a cross: vals[i] (lens[i] bytes) is the value of column
 * x->cols[i]. */
uint32_t rs_rank_cross_hash(const struct rs_rank_cross *x, const char *const *vals,
                            const size_t *lens, uint64_t buckets);
/* Standardised value of numeric feature f for raw x (NaN = missing -> 0). */
float rs_rank_numeric_value(const struct rs_rank_numeric *f, double x);
/* f(x) of numeric feature f (log1p when set) as a float; NaN stays NaN. */
float rs_rank_numeric_raw(const struct rs_rank_numeric *f, double x);
/* Sets f->edges from the values fx[0..n) of f(x) (NaN skipped; fx is sorted
 * in place) by the binning of the file comment with f->buckets bins. */
void rs_rank_numeric_fit_edges(struct rs_rank_numeric *f, float *fx, size_t n);
/* Bin of f(x) = fx (a value of rs_rank_numeric_raw): 0 when NaN, else 1 +
 * the number of edges below fx. */
uint32_t rs_rank_numeric_bin(const struct rs_rank_numeric *f, float fx);

/* A batch of encoded examples. */
struct rs_rank_batch {
    size_t B;
    const uint32_t *cat;   /* (B, ncat) vocabulary ids, 0 = unknown */
    const uint32_t *bin;   /* (B, nbin) bins of the bucketised numerics */
    const float *num;      /* (B, nnum) standardised */
    const uint32_t *cross; /* (B, ncross) buckets */
    const float *y;        /* (B, 2) click, booking targets in [0, 1]; NULL when scoring */
    const float *w;        /* (B, 2) sample weights; NULL = 1 */
    const uint32_t *list;  /* (B) the row's list (runs of equal ids) under RS_RANK_SOFTMAX,
                            * NULL otherwise */
    /* Σ of each head's weights (RS_RANK_SOFTMAX: the number of lists with a
     * positive of the head) over the mini-batch this batch is a slice of
     * (data-parallel training), so that the slices' gradients add up to the
     * mini-batch's; 0 = this batch's own. */
    double wsum[2];
};

/* Activations kept for backward (in the arena passed to forward). */
struct rs_rank_acts {
    uint32_t **ids;              /* ncat + nbin arrays (B): categoricals, then bins */
    uint32_t *off;               /* (B + 1) offsets of the cross bags */
    float **emb;                 /* ncat + nbin arrays (B, dim) */
    float *dots;                 /* (B, ninter) */
    float *x;                    /* (B, d_in) */
    float *h[RS_RANK_MAX_HIDDEN]; /* (B, hidden[l]) after ReLU */
    float *z;                    /* (B, 2) logits */
    float *zc, *zb;              /* (B) per-head logits */
    float *yc, *yb, *wc, *wb;    /* (B) per-head targets and weights */
    float *p;                    /* (B, 2) probabilities */
    float *pc, *pb;              /* (B) per-head probabilities */
    double loss_click, loss_booking;
    double wsum[2];              /* Σ of each head's weights over this batch */
    float *dz;                   /* backward: (B, 2) gradient of the logits */
    float **dparts;              /* backward: ncat + nbin arrays (B, dim), gradient
                                    of the embedded inputs */
};

/* Forward pass; with b->y also the two losses (acts->loss_*), whose sum it
 * returns (0 without targets). Scratch from a (not reset here). */
double rs_rank_forward(struct rs_rank_model *m, const struct rs_rank_batch *b,
                       struct rs_rank_acts *acts, struct rs_arena *a);
/* Accumulates the gradient of loss_click + loss_booking into m->p.g, each
 * head's scaled by (Σ of this batch's weights) / b->wsum[h] when that is set:
 * rs_rank_backward_dense, then rs_rank_backward_sparse. */
void rs_rank_backward(struct rs_rank_model *m, const struct rs_rank_batch *b,
                      struct rs_rank_acts *acts, struct rs_arena *a);
/* The dense tensors' part of it, into m->p.g; keeps the gradients of the
 * sparse tables' rows in acts (dz, dparts). */
void rs_rank_backward_dense(struct rs_rank_model *m, const struct rs_rank_batch *b,
                            struct rs_rank_acts *acts, struct rs_arena *a);
/* The sparse tables' part: adds acts' row gradients into p (m's tensors,
 * possibly another gradient), example by example in batch order. Data-
 * parallel training runs the dense parts of several batches at once and
 * this part in batch order, so every row sums its terms as one serial pass
 * would. */
void rs_rank_backward_sparse(const struct rs_rank_model *m, struct rs_params *p,
                             const struct rs_rank_batch *b, const struct rs_rank_acts *acts);

/* Encoded examples held in memory (rows of a training, validation or
 * evaluation stream). */
struct rs_rank_data {
    size_t n, cap;
    size_t ncat, nnum, ncross, nbin;
    uint32_t *cat;   /* (n, ncat) */
    uint32_t *bin;   /* (n, nbin) */
    float *num;      /* (n, nnum) */
    uint32_t *cross; /* (n, ncross) */
    float *y;        /* (n, 2) click, booking */
    uint32_t *group; /* (n) group of each row (evaluation lists), or NULL */
};

/* Empty data for model m's feature counts. */
void rs_rank_data_init(struct rs_rank_data *d, const struct rs_rank_model *m);
/* Appends one zeroed row and returns its index. */
size_t rs_rank_data_push(struct rs_rank_data *d);
void rs_rank_data_free(struct rs_rank_data *d);

/* Training: mini-batch Adam (lazy Adam on the embedding and wide tables) on
 * train, shuffled each epoch by seed, with the mini-batch aware L2 of the
 * sparse rows (emb_l2, rs_rank_emb_l2); after each epoch the validation AUC and
 * log loss per head. Each head stops on its own: its best epoch is the one
 * with the highest validation AUC (or lowest log loss, opts.stop); training
 * ends when neither head has improved for `patience` epochs, and each head
 * keeps the weights of its own best epoch (m->p.w for click, m->w_booking
 * for booking when that epoch differs), as two models stopped early apart
 * would, while the heads still share embeddings and layers as they train. */
struct rs_rank_epoch {
    int epoch;              /* 1-based */
    double train_loss;      /* mean weighted loss over the epoch's batches */
    double valid_loss;      /* normalised entropy click + booking: each head's
                               log loss over the entropy of its base rate */
    double auc[2], logloss[2];
    int one_class[2];       /* the validation rows hold one class of the head */
    double seconds;         /* wall time of the epoch (training + validation) */
    int best[2];            /* the best epoch so far of the click, booking head */
};

enum rs_rank_stop {
    RS_RANK_STOP_AUC = 1,     /* highest validation AUC (log loss when one class) */
    RS_RANK_STOP_LOGLOSS = 2, /* lowest validation log loss */
};

struct rs_rank_train_opts {
    size_t batch;         /* examples per step */
    int epochs, patience;
    float lr;             /* Adam learning rate */
    float weight_decay;   /* AdamW on dense layers */
    float pos_weight[2];  /* class weight of positives, click and booking heads */
    float emb_l2;         /* mini-batch aware L2 of the sparse rows, 0 = off */
    int stop;             /* enum rs_rank_stop */
    int threads;          /* workers: each mini-batch is cut into micro-batches
                             of a fixed size (data-parallel) whose gradients
                             add up in a fixed order: any count gives the
                             same bits */
    uint64_t seed;
    void (*on_epoch)(void *ctx, const struct rs_rank_epoch *e); /* may be NULL */
    void *ctx;
};

/* Sets the defaults: batch 512, 10 epochs, patience 2, lr 2e-3, no decay,
 * pos_weight 1, emb_l2 RS_RANK_DEFAULT_EMB_L2, stop on AUC, 1 thread, seed 42. */
void rs_rank_train_defaults(struct rs_rank_train_opts *o);
/* Trains m (built and initialised) on train, validating on valid (n may be
 * 0: then every epoch counts as best). Fills best[h] with head h's best
 * epoch (h = 0 click, 1 booking). */
int rs_rank_train(struct rs_rank_model *m, const struct rs_rank_data *train,
                  const struct rs_rank_data *valid, const struct rs_rank_train_opts *o,
                  struct rs_rank_epoch best[2]);
/* Occurrences in the rows of d of every row of every sparse table: n[f]
 * (the table's rows) for the categoricals f < ncat, then the bins of the
 * bucketised numerics, then (f = ncat + nbin) the wide table's buckets over
 * all crosses. Free with rs_rank_row_counts_free. */
uint32_t **rs_rank_row_counts(const struct rs_rank_model *m, const struct rs_rank_data *d);
void rs_rank_row_counts_free(const struct rs_rank_model *m, uint32_t **count);
/* Mini-batch aware L2 (Zhou et al. 2018, "Deep Interest Network", eq. 5):
 * adds lambda / n_j · w_j to the gradient of every row j of a sparse table
 * (embeddings, bins, the wide crosses) that the last backward touched, n_j =
 * count[f][j] its training occurrences (0 read as 1). Only the rows a batch
 * uses pay, and a rare value or cross, whose row would otherwise memorise
 * the labels of its few examples, is pulled towards 0 much harder per
 * occurrence than a frequent one. */
void rs_rank_emb_l2(struct rs_rank_model *m, uint32_t *const *count, float lambda);
/* p (n, 2): click and booking probabilities of every row of d (a second
 * forward pass with m->w_booking for the booking head when set). */
void rs_rank_predict(struct rs_rank_model *m, const struct rs_rank_data *d, float *p);

/* Area under the ROC curve of scores s for binary labels y (> 0.5 = positive),
 * ties counted half (Mann-Whitney U); 0.5 when one class is absent. O(n log n). */
double rs_rank_auc(const float *s, const float *y, size_t n, size_t stride);
/* Mean binary log loss of probabilities p (clamped to [1e-7, 1 - 1e-7]). */
double rs_rank_logloss(const float *p, const float *y, size_t n, size_t stride);

#endif
