/* synth.c - the planted model of rs-synth (schemas/synth.md has the
 * formulas, the defaults and the columns).
 *
 * Random streams: every part of the world draws from its own rs_rng stream of
 * the seed (clusters 1, items 2, users 3, events 4, words 5), so changing the
 * event count leaves the catalogue and the users exactly as they were.
 */
#include "prep/synth.h"
#include "core/topk.h"

#include "core/err.h"
#include "io/io.h"
#include "io/rsb.h"
#include "core/timeparse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400
#define VOCAB_PER_SUB 12      /* words specific to a subcategory */
#define P_SUB_WORD 0.6        /* share of title words from the subcategory's vocabulary */
#define P_HOME_SUB 0.8        /* an item's subcategory is its cluster's home one */
#define P_FAV_FROM_TASTE 0.8  /* a stated favourite category is the taste's category */
#define P_IN_STOCK 0.9
#define P_FREE 0.1
#define ITEM_SPREAD 0.5       /* std dev (x 1/sqrt(dims)) of an item around its cluster */
#define USER_SPREAD 0.5
#define REGION_KM 150.0       /* distance between neighbouring region centres */
#define LOCAL_KM 25.0         /* std dev of a home or venue around its region centre */
#define HISTORY_DAYS 730      /* old items and users date from up to two years before */
#define TRIES 20              /* draws per slate slot before it is left empty */

static const char *category_names[] = { "music", "cinema", "books", "theatre", "museum", "concert",
                                        "festival", "workshop", "games", "instrument", "press",
                                        "dance", "photography", "comics", "opera", "circus" };
#define NAMED_CATEGORIES (sizeof category_names / sizeof category_names[0])

static const char *age_bands[] = { "15-17", "18-24", "25-34", "35-49", "50-64", "65+" };
static const double age_weights[] = { 0.15, 0.25, 0.25, 0.2, 0.1, 0.05 };

static const char *common_words[] = { "live", "night", "grand", "new", "best", "tour", "story",
                                       "edition", "classic", "summer", "winter", "city", "world",
                                       "great", "little", "special", "session", "festival", "ticket",
                                       "pass", "club", "open", "days", "premiere" };
#define NCOMMON (sizeof common_words / sizeof common_words[0])

static const char *syllables[] = { "ka", "lo", "mi", "ne", "su", "ra", "to", "vi",
                                   "de", "po", "ban", "mor", "lin", "tes", "gar", "fu" };

/* Activity over the day (UTC hour 0..23): quiet nights, busy evenings. */
static const double hour_profile[24] = { 1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2, 2, 2, 2.5,
                                         3, 2.5, 2.5, 2.5, 3, 3.5, 4, 4.5, 4.5, 4, 3, 2 };

void rs_synth_defaults(struct rs_synth_params *p)
{
    *p = (struct rs_synth_params){
        .users = 1000, .items = 500, .events = 100000, .dims = 16, .clusters = 24,
        .categories = 8, .subcategories = 4, .regions = 8, .slate = 10,
        .zipf = 1.0, .noise = 0.5, .affinity = 3.0, .pop_weight = 0.3, .drift = 1.0,
        .dist_weight = 0.5, .click_bias = -2.0, .position_decay = 0.5,
        .book_bias = -1.5, .book_affinity = 1.5, .book_price = 0.5,
        .fav_bias = -2.5, .fav_affinity = 1.5,
        .personal = 0.3, .recommended = 0, .rec_depth = 50, .cold_users = 0.1, .new_items = 0.1,
        .start = 1569888000, /* 2019-10-01 00:00:00 UTC */
        .days = 91, .seed = 42,
    };
}

static int check_params(const struct rs_synth_params *p)
{
    if (p->users < 1 || p->items < 1)
        return rs_err_set(RS_ERR_USAGE, "need at least one user and one item");
    if (p->dims < 1 || p->dims > 1024)
        return rs_err_set(RS_ERR_USAGE, "dims %u out of range 1..1024", p->dims);
    if (p->clusters < 1 || p->categories < 1 || p->subcategories < 1 || p->regions < 1 || p->slate < 1)
        return rs_err_set(RS_ERR_USAGE,
                          "clusters, categories, subcategories, regions and slate must be >= 1");
    if ((uint64_t)p->categories * p->subcategories > 100000)
        return rs_err_set(RS_ERR_USAGE, "too many subcategories (categories x subcategories > 100000)");
    if (p->days < 1 || p->start < 0)
        return rs_err_set(RS_ERR_USAGE, "need days >= 1 and a start at or after 1970");
    if (!(p->zipf >= 0 && p->zipf <= 5) || !(p->noise >= 0 && p->noise <= 10))
        return rs_err_set(RS_ERR_USAGE, "zipf must be in 0..5 and noise in 0..10");
    if (!(p->cold_users >= 0 && p->cold_users <= 0.9) || !(p->new_items >= 0 && p->new_items <= 0.9))
        return rs_err_set(RS_ERR_USAGE, "cold-user and new-item shares must be in 0..0.9");
    if (!(p->personal >= 0 && p->personal <= 1))
        return rs_err_set(RS_ERR_USAGE, "personal share must be in 0..1");
    if (!(p->recommended >= 0 && p->personal + p->recommended <= 1))
        return rs_err_set(RS_ERR_USAGE, "personal + recommended shares must be in 0..1");
    if (p->rec_depth < 1)
        return rs_err_set(RS_ERR_USAGE, "rec_depth must be >= 1");
    return 0;
}

static double uniform_in(struct rs_rng *g, double lo, double hi)
{
    return lo + (hi - lo) * rs_rng_uniform(g);
}

/* Region centres on a square grid REGION_KM apart. */
static void region_centre(uint32_t r, uint32_t regions, double *x, double *y)
{
    uint32_t cols = (uint32_t)ceil(sqrt((double)regions));
    *x = REGION_KM * (r % cols);
    *y = REGION_KM * (r / cols);
}

static void place(struct rs_rng *g, uint32_t region, uint32_t regions, float *x, float *y)
{
    double cx, cy;
    region_centre(region, regions, &cx, &cy);
    *x = (float)(cx + LOCAL_KM * rs_rng_normal(g));
    *y = (float)(cy + LOCAL_KM * rs_rng_normal(g));
}

/* v = centre + spread * N(0, 1/dims) per component. */
static void perturb(struct rs_rng *g, float *v, const double *centre, uint32_t dims, double spread)
{
    double sd = spread / sqrt((double)dims);
    for (uint32_t j = 0; j < dims; j++)
        v[j] = (float)(centre[j] + sd * rs_rng_normal(g));
}

struct world_tmp {
    double *mu;       /* cluster centres, clusters x dims, N(0, 1/dims) */
    double *trend;    /* per cluster */
    char **vocab;     /* subcategory words, nsub x VOCAB_PER_SUB */
};

static char *make_word(struct rs_rng *g)
{
    char buf[16] = "";
    int n = 2 + (int)rs_rng_below(g, 2);
    for (int k = 0; k < n; k++)
        strcat(buf, syllables[rs_rng_below(g, sizeof syllables / sizeof syllables[0])]);
    return xstrdup(buf);
}

static void draw_clusters(struct world_tmp *w, const struct rs_synth_params *p)
{
    struct rs_rng g;
    rs_rng_init(&g, p->seed, 1);
    w->mu = xmalloc((size_t)p->clusters * p->dims * sizeof *w->mu);
    w->trend = xmalloc(p->clusters * sizeof *w->trend);
    for (size_t j = 0; j < (size_t)p->clusters * p->dims; j++)
        w->mu[j] = rs_rng_normal(&g) / sqrt((double)p->dims);
    for (uint32_t k = 0; k < p->clusters; k++)
        w->trend[k] = p->drift * rs_rng_normal(&g);
    size_t nsub = (size_t)p->categories * p->subcategories;
    rs_rng_init(&g, p->seed, 5);
    w->vocab = xmalloc(nsub * VOCAB_PER_SUB * sizeof *w->vocab);
    for (size_t j = 0; j < nsub * VOCAB_PER_SUB; j++)
        w->vocab[j] = make_word(&g);
}

static char *make_title(struct rs_rng *g, const struct world_tmp *w, uint32_t sub)
{
    char buf[256] = "";
    int n = 3 + (int)rs_rng_below(g, 4);
    for (int k = 0; k < n; k++) {
        const char *word = rs_rng_uniform(g) < P_SUB_WORD
                               ? w->vocab[(size_t)sub * VOCAB_PER_SUB + rs_rng_below(g, VOCAB_PER_SUB)]
                               : common_words[rs_rng_below(g, NCOMMON)];
        if (k)
            strcat(buf, " ");
        strcat(buf, word);
    }
    return xstrdup(buf);
}

static void draw_items(struct rs_synth *m, const struct world_tmp *w)
{
    const struct rs_synth_params *p = &m->p;
    struct rs_rng g;
    rs_rng_init(&g, p->seed, 2);
    uint32_t nsub = p->categories * p->subcategories, nvenue = p->items / 4 ? p->items / 4 : 1;
    double span = (double)p->days * DAY;
    float *vx = xmalloc(nvenue * sizeof *vx), *vy = xmalloc(nvenue * sizeof *vy);
    for (uint32_t v = 0; v < nvenue; v++)
        place(&g, (uint32_t)rs_rng_below(&g, p->regions), p->regions, &vx[v], &vy[v]);
    uint32_t *rank = xmalloc(p->items * sizeof *rank);
    for (uint32_t i = 0; i < p->items; i++)
        rank[i] = i + 1;
    rs_rng_shuffle_u32(&g, rank, p->items);
    double mean_log_rank = 0, log_price = 0;
    for (uint32_t i = 0; i < p->items; i++)
        mean_log_rank += log((double)rank[i]) / p->items;
    m->item = xcalloc(p->items, sizeof *m->item);
    m->q = xmalloc((size_t)p->items * p->dims * sizeof *m->q);
    for (uint32_t i = 0; i < p->items; i++) {
        struct rs_synth_item *it = &m->item[i];
        it->cluster = (uint32_t)rs_rng_below(&g, p->clusters);
        perturb(&g, m->q + (size_t)i * p->dims, w->mu + (size_t)it->cluster * p->dims, p->dims, ITEM_SPREAD);
        it->subcategory = rs_rng_uniform(&g) < P_HOME_SUB ? it->cluster % nsub
                                                          : (uint32_t)rs_rng_below(&g, nsub);
        it->category = it->subcategory / p->subcategories;
        it->venue = (uint32_t)rs_rng_below(&g, nvenue);
        it->x = vx[it->venue];
        it->y = vy[it->venue];
        it->pop_rank = rank[i];
        it->lpop = (float)(-p->zipf * (log((double)rank[i]) - mean_log_rank));
        it->trend = (float)w->trend[it->cluster];
        it->created_at = rs_rng_uniform(&g) < p->new_items
                             ? p->start + (int64_t)uniform_in(&g, 0.5 * span, 0.9 * span)
                             : p->start - (int64_t)uniform_in(&g, 1, HISTORY_DAYS * (double)DAY);
        it->in_stock = rs_rng_uniform(&g) < P_IN_STOCK;
        double price = rs_rng_uniform(&g) < P_FREE ? 0
                       : exp(log(5.0 + 5.0 * it->category) + 0.5 * rs_rng_normal(&g));
        it->price = round(price * 100) / 100;
        log_price += log1p(it->price);
        it->title = make_title(&g, w, it->subcategory);
    }
    m->mean_log_price = log_price / p->items;
    free(vx);
    free(vy);
    free(rank);
}

static void draw_users(struct rs_synth *m, const struct world_tmp *w)
{
    const struct rs_synth_params *p = &m->p;
    struct rs_rng g;
    rs_rng_init(&g, p->seed, 3);
    uint32_t nsub = p->categories * p->subcategories;
    double span = (double)p->days * DAY;
    double *centre = xmalloc(p->dims * sizeof *centre);
    m->user = xcalloc(p->users, sizeof *m->user);
    m->pu = xmalloc((size_t)p->users * p->dims * sizeof *m->pu);
    for (uint32_t u = 0; u < p->users; u++) {
        struct rs_synth_user *us = &m->user[u];
        us->taste[0] = (uint32_t)rs_rng_below(&g, p->clusters);
        uint32_t other = p->clusters > 1 ? 1 + (uint32_t)rs_rng_below(&g, p->clusters - 1) : 0;
        us->taste[1] = (us->taste[0] + other) % p->clusters;
        /* p_u = (mu_t1 + mu_t2) / sqrt(2) + noise: <p_u, q_i> ~ 0.7 for an item of either taste. */
        const double *m1 = w->mu + (size_t)us->taste[0] * p->dims;
        const double *m2 = w->mu + (size_t)us->taste[1] * p->dims;
        for (uint32_t j = 0; j < p->dims; j++)
            centre[j] = (m1[j] + m2[j]) / sqrt(2.0);
        perturb(&g, m->pu + (size_t)u * p->dims, centre, p->dims, USER_SPREAD);
        us->region = (uint32_t)rs_rng_below(&g, p->regions);
        place(&g, us->region, p->regions, &us->x, &us->y);
        double a = rs_rng_uniform(&g);
        for (us->age_band = 0; us->age_band < 5 && a >= age_weights[us->age_band]; us->age_band++)
            a -= age_weights[us->age_band];
        for (int k = 0; k < 2; k++) {
            uint32_t c = rs_rng_uniform(&g) < P_FAV_FROM_TASTE ? (us->taste[k] % nsub) / p->subcategories
                                                                : (uint32_t)rs_rng_below(&g, p->categories);
            if (us->nfav == 0 || us->fav[0] != c)
                us->fav[us->nfav++] = c;
        }
        us->signup_at = rs_rng_uniform(&g) < p->cold_users
                            ? p->start + (int64_t)uniform_in(&g, 0.6 * span, 0.95 * span)
                            : p->start - (int64_t)uniform_in(&g, 1, HISTORY_DAYS * (double)DAY);
        us->activity = (float)exp(rs_rng_normal(&g));
    }
    free(centre);
}

/* The logging policy's lists: each user's rec_depth best items by the true
 * affinity <p_u,q_i> (ties: lower index). O(users x items x dims). */
static void build_recommended(struct rs_synth *m)
{
    const struct rs_synth_params *p = &m->p;
    uint32_t depth = p->rec_depth < p->items ? p->rec_depth : p->items;
    m->rec_items = xmalloc((size_t)p->users * depth * sizeof *m->rec_items);
    struct rs_topk top;
    rs_topk_init(&top, depth);
    for (uint32_t u = 0; u < p->users; u++) {
        rs_topk_reset(&top);
        const float *pu = m->pu + (size_t)u * p->dims;
        for (uint32_t i = 0; i < p->items; i++) {
            const float *q = m->q + (size_t)i * p->dims;
            float s = 0;
            for (uint32_t k = 0; k < p->dims; k++)
                s += pu[k] * q[k];
            rs_topk_push(&top, s, i);
        }
        rs_topk_sort(&top);
        for (uint32_t j = 0; j < depth; j++)
            m->rec_items[(size_t)u * depth + j] = (uint32_t)top.id[j];
    }
    rs_topk_free(&top);
}

/* Exposure (Zipf popularity), user activity, items by category. */
static int build_samplers(struct rs_synth *m)
{
    const struct rs_synth_params *p = &m->p;
    size_t n = p->items > p->users ? p->items : p->users;
    double *wt = xmalloc(n * sizeof *wt);
    for (uint32_t i = 0; i < p->items; i++)
        wt[i] = pow((double)m->item[i].pop_rank, -p->zipf);
    int rc = rs_alias_init(&m->item_pop, wt, p->items);
    for (uint32_t u = 0; rc == 0 && u < p->users; u++)
        wt[u] = m->user[u].activity;
    if (rc == 0)
        rc = rs_alias_init(&m->user_act, wt, p->users);
    free(wt);
    m->cat_start = xcalloc(p->categories + 1, sizeof *m->cat_start);
    m->cat_items = xmalloc(p->items * sizeof *m->cat_items);
    for (uint32_t i = 0; i < p->items; i++)
        m->cat_start[m->item[i].category + 1]++;
    for (uint32_t c = 0; c < p->categories; c++)
        m->cat_start[c + 1] += m->cat_start[c];
    uint32_t *fill = xmalloc(p->categories * sizeof *fill);
    memcpy(fill, m->cat_start, p->categories * sizeof *fill);
    for (uint32_t i = 0; i < p->items; i++)
        m->cat_items[fill[m->item[i].category]++] = i;
    free(fill);
    if (p->recommended > 0)
        build_recommended(m);
    return rc;
}

int rs_synth_init(struct rs_synth *m, const struct rs_synth_params *p)
{
    memset(m, 0, sizeof *m);
    int rc = check_params(p);
    if (rc < 0)
        return rc;
    m->p = *p;
    struct world_tmp w;
    draw_clusters(&w, p);
    draw_items(m, &w);
    draw_users(m, &w);
    size_t nvocab = (size_t)p->categories * p->subcategories * VOCAB_PER_SUB;
    for (size_t j = 0; j < nvocab; j++)
        free(w.vocab[j]);
    free(w.vocab);
    free(w.mu);
    free(w.trend);
    if ((rc = build_samplers(m)) < 0)
        rs_synth_free(m);
    return rc;
}

void rs_synth_free(struct rs_synth *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; m->item && i < m->p.items; i++)
        free(m->item[i].title);
    free(m->item);
    free(m->user);
    free(m->q);
    free(m->pu);
    free(m->cat_start);
    free(m->cat_items);
    free(m->rec_items);
    rs_alias_free(&m->item_pop);
    rs_alias_free(&m->user_act);
    memset(m, 0, sizeof *m);
}

/* ---- the formulas ---- */

static double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

static double dot(const struct rs_synth *m, uint32_t u, uint32_t i)
{
    const float *a = m->pu + (size_t)u * m->p.dims, *b = m->q + (size_t)i * m->p.dims;
    double s = 0;
    for (uint32_t j = 0; j < m->p.dims; j++)
        s += (double)a[j] * b[j];
    return s;
}

double rs_synth_distance(const struct rs_synth *m, uint32_t u, uint32_t i)
{
    double dx = (double)m->user[u].x - m->item[i].x, dy = (double)m->user[u].y - m->item[i].y;
    return sqrt(dx * dx + dy * dy);
}

double rs_synth_tau(const struct rs_synth *m, int64_t t)
{
    return (double)(t - m->p.start) / ((double)m->p.days * DAY) - 0.5;
}

/* Noise-free click logit s(u,i,t) of the formula in synth.h. */
static double click_logit(const struct rs_synth *m, uint32_t u, uint32_t i, int64_t t)
{
    const struct rs_synth_params *p = &m->p;
    const struct rs_synth_item *it = &m->item[i];
    return p->click_bias + p->affinity * dot(m, u, i) + p->pop_weight * it->lpop +
           it->trend * rs_synth_tau(m, t) - p->dist_weight * rs_synth_distance(m, u, i) / 100.0;
}

static double position_bias(const struct rs_synth *m, uint32_t pos)
{
    return pow((double)pos, -m->p.position_decay);
}

double rs_synth_p_click(const struct rs_synth *m, uint32_t u, uint32_t i, int64_t t, uint32_t pos)
{
    return sigmoid(click_logit(m, u, i, t)) * position_bias(m, pos);
}

double rs_synth_p_booking(const struct rs_synth *m, uint32_t u, uint32_t i)
{
    const struct rs_synth_params *p = &m->p;
    if (!m->item[i].in_stock)
        return 0;
    return sigmoid(p->book_bias + p->book_affinity * dot(m, u, i) -
                   p->book_price * (log1p(m->item[i].price) - m->mean_log_price));
}

double rs_synth_p_favourite(const struct rs_synth *m, uint32_t u, uint32_t i)
{
    return sigmoid(m->p.fav_bias + m->p.fav_affinity * dot(m, u, i));
}

/* ---- tables ---- */

static int put_time(struct rs_writer *w, int64_t t)
{
    char buf[32];
    rs_time_format(t, buf);
    return rs_writer_write(w, buf, strlen(buf));
}

static const char *category_name(uint32_t c, char *buf)
{
    if (c < NAMED_CATEGORIES)
        return category_names[c];
    snprintf(buf, 32, "category%u", c + 1);
    return buf;
}

int rs_synth_write_items(const struct rs_synth *m, struct rs_writer *w)
{
    int rc = rs_writer_printf(w, "item_id\tcategory\tsubcategory\tprice\ttitle\tvenue_id\tcreated_at\t"
                                 "in_stock\tcluster\n");
    char buf[32];
    for (uint32_t i = 0; rc == 0 && i < m->p.items; i++) {
        const struct rs_synth_item *it = &m->item[i];
        const char *cat = category_name(it->category, buf);
        rc |= rs_writer_printf(w, "i%u\t%s\t%s_%u\t%.2f\t%s\tv%u\t", i, cat, cat,
                               it->subcategory % m->p.subcategories + 1, (double)it->price, it->title,
                               it->venue);
        rc |= put_time(w, it->created_at);
        rc |= rs_writer_printf(w, "\t%d\t%u\n", it->in_stock, it->cluster);
    }
    return rc;
}

/* The words of the item descriptions (rs_synth_write_item_text): three
 * synonyms of a noun per named category and of a style per subcategory
 * (index mod 8), so two descriptions of one subcategory often share no word
 * and only a model of meaning relates them. */
static const char *category_nouns[][3] = {
    { "album", "record", "song collection" },          { "film", "movie", "screening" },
    { "novel", "book", "paperback" },                  { "play", "stage production", "drama performance" },
    { "exhibition", "museum visit", "gallery show" },  { "concert", "gig", "live show" },
    { "festival", "open-air event", "weekend fair" },  { "workshop", "class", "hands-on course" },
    { "board game", "video game", "puzzle" },          { "guitar", "piano", "violin" },
    { "magazine", "newspaper", "journal" },            { "ballet", "dance show", "dance performance" },
    { "photo exhibition", "photography course", "camera walk" },
    { "comic book", "graphic novel", "manga" },        { "opera", "aria recital", "lyric performance" },
    { "circus show", "acrobatics act", "clown act" },
};
static const char *styles[][3] = {
    { "classic", "traditional", "timeless" },        { "modern", "contemporary", "cutting-edge" },
    { "family", "child-friendly", "all-ages" },      { "experimental", "avant-garde", "unconventional" },
    { "romantic", "sentimental", "heartfelt" },      { "funny", "comic", "light-hearted" },
    { "dark", "gloomy", "haunting" },                { "epic", "grand", "monumental" },
};

int rs_synth_write_item_text(const struct rs_synth *m, struct rs_writer *w)
{
    struct rs_rng g;
    rs_rng_init(&g, m->p.seed, 6);
    int rc = rs_writer_printf(w, "item_id\tdescription\n");
    char buf[32], text[256], price[64];
    for (uint32_t i = 0; rc == 0 && i < m->p.items; i++) {
        const struct rs_synth_item *it = &m->item[i];
        const char *style = styles[it->subcategory % m->p.subcategories % 8][rs_rng_below(&g, 3)];
        const char *noun = it->category < NAMED_CATEGORIES ? category_nouns[it->category][rs_rng_below(&g, 3)]
                                                           : category_name(it->category, buf);
        if (it->price == 0)
            snprintf(price, sizeof price, "free entry");
        else
            snprintf(price, sizeof price, "about %.0f euros", (double)it->price);
        switch (rs_rng_below(&g, 3)) {
        case 0: snprintf(text, sizeof text, "A %s %s, %s.", style, noun, price); break;
        case 1: snprintf(text, sizeof text, "Discover this %s %s: %s.", style, noun, price); break;
        default: snprintf(text, sizeof text, "%s for lovers of %s things, %s.", noun, style, price); break;
        }
        rc |= rs_writer_printf(w, "i%u\t", i) | rs_writer_put_text(w, text);
        rc |= rs_writer_put_text(w, it->in_stock ? "" : " Sold out.") | rs_writer_putc(w, '\n');
    }
    return rc;
}

int rs_synth_write_users(const struct rs_synth *m, struct rs_writer *w)
{
    int rc = rs_writer_printf(w, "user_id\tage\tregion\tfavourite_categories\tsignup_at\n");
    char buf[32];
    for (uint32_t u = 0; rc == 0 && u < m->p.users; u++) {
        const struct rs_synth_user *us = &m->user[u];
        rc |= rs_writer_printf(w, "u%u\t%s\tregion%u\t%s", u, age_bands[us->age_band], us->region + 1,
                               category_name(us->fav[0], buf));
        if (us->nfav > 1)
            rc |= rs_writer_printf(w, ",%s", category_name(us->fav[1], buf));
        rc |= rs_writer_putc(w, '\t') | put_time(w, us->signup_at) | rs_writer_putc(w, '\n');
    }
    return rc;
}

static int put_floats(struct rs_writer *w, const double *v, int n)
{
    int rc = 0;
    for (int k = 0; k < n; k++)
        rc |= rs_writer_putc(w, '\t') | rs_writer_put_float(w, v[k]);
    return rc | rs_writer_putc(w, '\n');
}

int rs_synth_write_item_truth(const struct rs_synth *m, struct rs_writer *w)
{
    int rc = rs_writer_printf(w, "item_id\tcluster\tpop_rank\tlpop\ttrend\tx_km\ty_km\n");
    for (uint32_t i = 0; rc == 0 && i < m->p.items; i++) {
        const struct rs_synth_item *it = &m->item[i];
        double v[] = { it->lpop, it->trend, it->x, it->y };
        rc |= rs_writer_printf(w, "i%u\t%u\t%u", i, it->cluster, it->pop_rank) | put_floats(w, v, 4);
    }
    return rc;
}

int rs_synth_write_user_truth(const struct rs_synth *m, struct rs_writer *w)
{
    int rc = rs_writer_printf(w, "user_id\ttaste1\ttaste2\tactivity\tx_km\ty_km\n");
    for (uint32_t u = 0; rc == 0 && u < m->p.users; u++) {
        const struct rs_synth_user *us = &m->user[u];
        double v[] = { us->activity, us->x, us->y };
        rc |= rs_writer_printf(w, "u%u\t%u\t%u", u, us->taste[0], us->taste[1]) | put_floats(w, v, 3);
    }
    return rc;
}

int rs_synth_write_params(const struct rs_synth *m, struct rs_writer *w)
{
    const struct rs_synth_params *p = &m->p;
    int rc = rs_writer_printf(w, "name\tvalue\n");
    rc |= rs_writer_printf(w, "users\t%u\nitems\t%u\nevents\t%llu\ndims\t%u\nclusters\t%u\n", p->users,
                           p->items, (unsigned long long)p->events, p->dims, p->clusters);
    rc |= rs_writer_printf(w, "categories\t%u\nsubcategories\t%u\nregions\t%u\nslate\t%u\n", p->categories,
                           p->subcategories, p->regions, p->slate);
    const struct { const char *name; double v; } d[] = {
        { "zipf", p->zipf }, { "noise", p->noise }, { "affinity", p->affinity },
        { "pop_weight", p->pop_weight }, { "drift", p->drift }, { "dist_weight", p->dist_weight },
        { "click_bias", p->click_bias }, { "position_decay", p->position_decay },
        { "book_bias", p->book_bias }, { "book_affinity", p->book_affinity },
        { "book_price", p->book_price }, { "fav_bias", p->fav_bias },
        { "fav_affinity", p->fav_affinity }, { "personal", p->personal },
        { "recommended", p->recommended },
        { "cold_users", p->cold_users }, { "new_items", p->new_items },
        { "mean_log_price", m->mean_log_price },
    };
    for (size_t k = 0; k < sizeof d / sizeof d[0]; k++)
        rc |= rs_writer_printf(w, "%s\t%.17g\n", d[k].name, d[k].v);
    rc |= rs_writer_printf(w, "start\t%lld\nspan\t%lld\nseed\t%llu\n", (long long)p->start,
                           (long long)p->days * DAY, (unsigned long long)p->seed);
    return rc;
}

int rs_synth_write_factors(const struct rs_synth *m, struct rs_writer *w, int users)
{
    struct rs_rsb_writer *rw;
    const char *meta = users ? "tool\trs-synth\nkind\tuser_factors\n"
                             : "tool\trs-synth\nkind\titem_factors\n";
    int rc = rs_rsb_writer_init(&rw, w, m->p.dims, RS_F32, meta);
    if (rc < 0)
        return rc;
    uint32_t n = users ? m->p.users : m->p.items;
    const float *x = users ? m->pu : m->q;
    char id[16];
    for (uint32_t k = 0; rc == 0 && k < n; k++) {
        int len = snprintf(id, sizeof id, "%c%u", users ? 'u' : 'i', k);
        rc = rs_rsb_write(rw, id, (size_t)len, x + (size_t)k * m->p.dims);
    }
    if (rc < 0) {
        rs_rsb_writer_free(rw);
        return rc;
    }
    return rs_rsb_writer_finish(rw);
}

/* ---- the event stream ---- */

static int ev_before(const struct rs_synth_event *a, const struct rs_synth_event *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void heap_push(struct rs_synth_gen *g, struct rs_synth_event ev)
{
    if (g->nheap == g->capheap) {
        g->capheap = g->capheap ? 2 * g->capheap : 256;
        g->heap = xrealloc(g->heap, g->capheap * sizeof *g->heap);
    }
    size_t k = g->nheap++;
    while (k > 0 && ev_before(&ev, &g->heap[(k - 1) / 2])) {
        g->heap[k] = g->heap[(k - 1) / 2];
        k = (k - 1) / 2;
    }
    g->heap[k] = ev;
}

static struct rs_synth_event heap_pop(struct rs_synth_gen *g)
{
    struct rs_synth_event top = g->heap[0], last = g->heap[--g->nheap];
    size_t k = 0, n = g->nheap;
    for (;;) {
        size_t c = 2 * k + 1;
        if (c >= n)
            break;
        if (c + 1 < n && ev_before(&g->heap[c + 1], &g->heap[c]))
            c++;
        if (!ev_before(&g->heap[c], &last))
            break;
        g->heap[k] = g->heap[c];
        k = c;
    }
    if (n > 0)
        g->heap[k] = last;
    return top;
}

void rs_synth_gen_init(struct rs_synth_gen *g, const struct rs_synth *m)
{
    memset(g, 0, sizeof *g);
    g->m = m;
    rs_rng_init(&g->rng, m->p.seed, 4);
    g->slate = xmalloc(m->p.slate * sizeof *g->slate);
    double total = 0;
    for (int h = 0; h < 24; h++)
        total += hour_profile[h];
    for (int h = 0; h < 24; h++)
        g->hour_cdf[h + 1] = g->hour_cdf[h] + hour_profile[h] / total;
    g->hour_cdf[24] = 1.0;
    g->last_session_t = m->p.start;
}

void rs_synth_gen_free(struct rs_synth_gen *g)
{
    free(g->heap);
    free(g->slate);
    memset(g, 0, sizeof *g);
}

/* Maps progress x in [0, 1) to a time in the window: days fill uniformly,
 * and inside a day the hour follows hour_profile (monotone, so sessions
 * stay in order). */
static int64_t session_time(const struct rs_synth_gen *g, double x)
{
    double pos = x * (double)g->m->p.days;
    int64_t day = (int64_t)pos;
    double f = pos - (double)day;
    int h = 0;
    while (h < 23 && f >= g->hour_cdf[h + 1])
        h++;
    double within = (f - g->hour_cdf[h]) / (g->hour_cdf[h + 1] - g->hour_cdf[h]);
    return g->m->p.start + day * DAY + (int64_t)((h + within) * 3600);
}

/* A user who has signed up by *t; if the draws fail (only cold users left
 * that early), the earliest signup, moving *t to it. */
static uint32_t pick_user(struct rs_synth_gen *g, int64_t *t)
{
    const struct rs_synth *m = g->m;
    for (int k = 0; k < 1000; k++) {
        uint32_t u = rs_alias_sample(&m->user_act, &g->rng);
        if (m->user[u].signup_at <= *t)
            return u;
    }
    uint32_t best = 0;
    for (uint32_t u = 1; u < m->p.users; u++)
        if (m->user[u].signup_at < m->user[best].signup_at)
            best = u;
    if (m->user[best].signup_at > *t)
        *t = m->user[best].signup_at;
    return best;
}

static uint32_t pick_item(struct rs_synth_gen *g, uint32_t u)
{
    const struct rs_synth *m = g->m;
    const struct rs_synth_user *us = &m->user[u];
    double r = rs_rng_uniform(&g->rng);
    if (r < m->p.personal) {
        uint32_t c = us->fav[rs_rng_below(&g->rng, us->nfav)];
        uint32_t n = m->cat_start[c + 1] - m->cat_start[c];
        if (n > 0)
            return m->cat_items[m->cat_start[c] + rs_rng_below(&g->rng, n)];
    } else if (r < m->p.personal + m->p.recommended) {
        uint32_t depth = m->p.rec_depth < m->p.items ? m->p.rec_depth : m->p.items;
        return m->rec_items[(size_t)u * depth + rs_rng_below(&g->rng, depth)];
    }
    return rs_alias_sample(&m->item_pop, &g->rng);
}

/* Fills the slate with distinct items that exist at *t; never empty. */
static uint32_t fill_slate(struct rs_synth_gen *g, uint32_t u, int64_t *t)
{
    const struct rs_synth *m = g->m;
    uint32_t n = 0;
    for (uint32_t slot = 0; slot < m->p.slate; slot++) {
        for (int k = 0; k < TRIES; k++) {
            uint32_t i = pick_item(g, u), dup = 0;
            for (uint32_t j = 0; j < n; j++)
                dup |= g->slate[j] == i;
            if (!dup && m->item[i].created_at <= *t) {
                g->slate[n++] = i;
                break;
            }
        }
    }
    if (n == 0) {
        uint32_t best = 0;
        for (uint32_t i = 1; i < m->p.items; i++)
            if (m->item[i].created_at < m->item[best].created_at)
                best = i;
        if (m->item[best].created_at > *t)
            *t = m->item[best].created_at;
        g->slate[n++] = best;
    }
    return n;
}

static void push(struct rs_synth_gen *g, int64_t t, uint32_t u, uint32_t i, uint32_t pos, uint32_t kind)
{
    if (g->pushed == g->m->p.events)
        return; /* the last session is cut at the requested row count */
    g->pushed++;
    heap_push(g, (struct rs_synth_event){ .t = t, .seq = g->seq++, .session = g->sessions, .user = u,
                                          .item = i, .pos = pos, .kind = kind });
}

static void new_session(struct rs_synth_gen *g)
{
    const struct rs_synth *m = g->m;
    const struct rs_synth_params *p = &m->p;
    struct rs_rng *r = &g->rng;
    int64_t t = session_time(g, (double)g->pushed / (double)p->events);
    if (t < g->last_session_t)
        t = g->last_session_t;
    uint32_t u = pick_user(g, &t);
    uint32_t n = fill_slate(g, u, &t);
    g->last_session_t = t;
    g->sessions++;
    for (uint32_t k = 0; k < n; k++)
        push(g, t, u, g->slate[k], k + 1, RS_SYNTH_IMPRESSION);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = g->slate[k];
        double s = click_logit(m, u, i, t) + p->noise * rs_rng_normal(r);
        if (rs_rng_uniform(r) >= sigmoid(s) * position_bias(m, k + 1))
            continue;
        int64_t tc = t + 2 + 4 * (int64_t)(k + 1) + (int64_t)rs_rng_below(r, 30);
        push(g, tc, u, i, k + 1, RS_SYNTH_CLICK);
        if (rs_rng_uniform(r) < rs_synth_p_favourite(m, u, i))
            push(g, tc + 1 + (int64_t)rs_rng_below(r, 60), u, i, k + 1, RS_SYNTH_FAVOURITE);
        if (rs_rng_uniform(r) < rs_synth_p_booking(m, u, i))
            push(g, tc + 30 + (int64_t)rs_rng_below(r, 600), u, i, k + 1, RS_SYNTH_BOOKING);
    }
}

int rs_synth_gen_next(struct rs_synth_gen *g, struct rs_synth_event *ev)
{
    if (g->popped == g->m->p.events)
        return RS_ERR_EOF;
    /* An event is due once no later session can precede it: sessions come in
     * time order, and an equal time keeps generation order through seq. */
    while (g->pushed < g->m->p.events && (g->nheap == 0 || g->heap[0].t > g->last_session_t))
        new_session(g);
    *ev = heap_pop(g);
    g->popped++;
    return 0;
}

int rs_synth_write_event_header(struct rs_writer *w)
{
    return rs_writer_printf(w, "user_id\titem_id\tevent\ttimestamp\thour\tdistance\tsession_id\tposition\n");
}

static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

int rs_synth_write_event(const struct rs_synth *m, struct rs_writer *w, const struct rs_synth_event *ev)
{
    static const char *kinds[] = { "impression", "click", "booking", "favourite" };
    char buf[160], *p = buf;
    *p++ = 'u';
    p = put_u64(p, ev->user);
    *p++ = '\t';
    *p++ = 'i';
    p = put_u64(p, ev->item);
    *p++ = '\t';
    size_t n = strlen(kinds[ev->kind]);
    memcpy(p, kinds[ev->kind], n);
    p += n;
    *p++ = '\t';
    p = put_u64(p, (uint64_t)ev->t);
    *p++ = '\t';
    p = put_u64(p, (uint64_t)(ev->t % DAY / 3600));
    *p++ = '\t';
    uint64_t d10 = (uint64_t)(rs_synth_distance(m, ev->user, ev->item) * 10 + 0.5);
    p = put_u64(p, d10 / 10);
    *p++ = '.';
    *p++ = (char)('0' + d10 % 10);
    *p++ = '\t';
    *p++ = 's';
    p = put_u64(p, ev->session);
    *p++ = '\t';
    p = put_u64(p, ev->pos);
    *p++ = '\n';
    return rs_writer_write(w, buf, (size_t)(p - buf));
}
