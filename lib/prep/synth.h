/* synth.h - the planted model behind rs-synth: a catalogue, users and an
 * event log (impressions, clicks, bookings, favourites) drawn from known
 * latent factors, so tests can check that a pipeline recovers them.
 *
 * Everything is specified in schemas/synth.md; in short, for user u shown
 * item i at position pos at time t:
 *   s(u,i,t)  = beta_click + a <p_u, q_i> + b lpop_i + trend_i tau(t)
 *               - g dist(u,i) / 100
 *   P(click)  = sigmoid(s + noise * eps) * pos^-eta,   eps ~ N(0,1)
 *   P(booking | click) = in_stock_i * sigmoid(beta_book + a_book <p_u,q_i>
 *                          - c_price (log1p(price_i) - mean log1p price))
 *   P(favourite | click) = sigmoid(beta_fav + a_fav <p_u,q_i>)
 * Sessions are generated in time order, so memory is O(users + items) plus
 * the events still in flight (clicks follow their impression by seconds,
 * bookings by minutes), never the event count.
 */
#ifndef RS_SYNTH_H
#define RS_SYNTH_H

#include "core/alias.h"
#include "core/rng.h"

#include <stddef.h>
#include <stdint.h>

struct rs_writer;

struct rs_synth_params {
    uint32_t users, items;
    uint64_t events;        /* rows of the event log, all kinds together */
    uint32_t dims;          /* latent factor dimensions */
    uint32_t clusters;      /* latent item clusters (tastes) */
    uint32_t categories;    /* item categories */
    uint32_t subcategories; /* subcategories per category */
    uint32_t regions;       /* user and venue regions */
    uint32_t slate;         /* items shown per home-page session (K) */
    double zipf;            /* popularity skew: rank r has weight r^-zipf */
    double noise;           /* std dev of the click logit noise */
    double affinity;        /* a: weight of <p_u, q_i> in the click logit */
    double pop_weight;      /* b: weight of lpop_i */
    double drift;           /* std dev of the per-cluster trend */
    double dist_weight;     /* g: logit lost per 100 km */
    double click_bias;      /* beta_click */
    double position_decay;  /* eta: position bias pos^-eta */
    double book_bias, book_affinity, book_price; /* beta_book, a_book, c_price */
    double fav_bias, fav_affinity;               /* beta_fav, a_fav */
    double personal;        /* share of slate slots from stated favourite categories */
    double recommended;     /* share of slate slots from the user's top rec_depth items by
                             * <p_u,q_i>: the production recommender that logged the data */
    uint32_t rec_depth;
    double cold_users;      /* share of users who sign up inside the window */
    double new_items;       /* share of items created inside the window */
    int64_t start;          /* window start, Unix seconds */
    uint32_t days;          /* window length */
    uint64_t seed;
};

/* Sets every field to its documented default (schemas/synth.md). */
void rs_synth_defaults(struct rs_synth_params *p);

struct rs_synth_item {
    uint32_t cluster, category, subcategory, venue, pop_rank;
    int64_t created_at;
    float price, lpop, trend; /* lpop: centred log popularity; trend: of its cluster */
    float x, y;               /* venue location, km */
    int in_stock;
    char *title;
};

struct rs_synth_user {
    uint32_t region, age_band, taste[2];
    uint32_t fav[2], nfav; /* stated favourite categories */
    int64_t signup_at;
    float activity;        /* relative session rate */
    float x, y;            /* home location, km */
};

/* The drawn world: parameters, entities and latent factors. */
struct rs_synth {
    struct rs_synth_params p;
    struct rs_synth_item *item;
    struct rs_synth_user *user;
    float *q, *pu;           /* item factors (items x dims), user factors (users x dims) */
    double mean_log_price;   /* mean of log1p(price) over items */
    struct rs_alias item_pop, user_act;
    uint32_t *cat_start, *cat_items; /* items of category c: cat_items[cat_start[c] .. cat_start[c+1]) */
    uint32_t *rec_items;     /* users x rec_depth: best items by <p_u,q_i> (recommended > 0 only) */
};

/* Validates p and draws the world from p->seed. RS_ERR_USAGE with a
 * message for out-of-range parameters. Free with rs_synth_free. */
int rs_synth_init(struct rs_synth *m, const struct rs_synth_params *p);
void rs_synth_free(struct rs_synth *m);

/* Click probability with noise 0: sigmoid(s) * pos^-eta (pos from 1). */
double rs_synth_p_click(const struct rs_synth *m, uint32_t u, uint32_t i, int64_t t, uint32_t pos);
double rs_synth_p_booking(const struct rs_synth *m, uint32_t u, uint32_t i);
double rs_synth_p_favourite(const struct rs_synth *m, uint32_t u, uint32_t i);
/* Euclidean distance in km between the user's home and the item's venue. */
double rs_synth_distance(const struct rs_synth *m, uint32_t u, uint32_t i);
/* tau(t) = (t - start) / span - 1/2, the trend's clock. */
double rs_synth_tau(const struct rs_synth *m, int64_t t);

/* Tables of the world, TSV with a header (columns in schemas/synth.md). */
int rs_synth_write_items(const struct rs_synth *m, struct rs_writer *w);
int rs_synth_write_users(const struct rs_synth *m, struct rs_writer *w);
/* item_text.tsv: item_id, description, a short English text generated from
 * the item's category, subcategory, price and stock (its own random stream,
 * 6: the other files do not change). */
int rs_synth_write_item_text(const struct rs_synth *m, struct rs_writer *w);
int rs_synth_write_item_truth(const struct rs_synth *m, struct rs_writer *w);
int rs_synth_write_user_truth(const struct rs_synth *m, struct rs_writer *w);
/* name, value lines: every parameter of the formulas. */
int rs_synth_write_params(const struct rs_synth *m, struct rs_writer *w);
/* Latent factors as f32 RSB keyed by item id / user id. */
int rs_synth_write_factors(const struct rs_synth *m, struct rs_writer *w, int users);

enum rs_synth_kind {
    RS_SYNTH_IMPRESSION = 0,
    RS_SYNTH_CLICK = 1,
    RS_SYNTH_BOOKING = 2,
    RS_SYNTH_FAVOURITE = 3,
};

struct rs_synth_event {
    int64_t t;
    uint64_t seq;     /* generation order: ties in t keep it */
    uint64_t session;
    uint32_t user, item;
    uint32_t pos;     /* 1-based position in the slate */
    uint32_t kind;    /* enum rs_synth_kind */
};

/* The event stream: exactly m->p.events rows, in (timestamp, seq) order. */
struct rs_synth_gen {
    const struct rs_synth *m;
    struct rs_rng rng;
    uint64_t pushed, popped, sessions, seq;
    int64_t last_session_t;
    struct rs_synth_event *heap; /* events drawn but not yet due */
    size_t nheap, capheap;
    uint32_t *slate;
    double hour_cdf[25];
};

void rs_synth_gen_init(struct rs_synth_gen *g, const struct rs_synth *m);
/* Next event: 0, or RS_ERR_EOF after the last one. */
int rs_synth_gen_next(struct rs_synth_gen *g, struct rs_synth_event *ev);
void rs_synth_gen_free(struct rs_synth_gen *g);

/* The events header line, then one row per event (columns in schemas/synth.md). */
int rs_synth_write_event_header(struct rs_writer *w);
int rs_synth_write_event(const struct rs_synth *m, struct rs_writer *w, const struct rs_synth_event *ev);

#endif
