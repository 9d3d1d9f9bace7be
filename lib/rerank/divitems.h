/* divitems.h - the item side of post-ranking: what rs-diversify (and
 * rs-serve) must know about an item to turn it into a struct rs_div_cand.
 *
 * Loads the item attribute tables (itemattr.h) for the --by, stock, boost and
 * quota columns, the item embeddings (RSB, L2-normalised so that a dot
 * product is the cosine MMR uses), a deny list and the (user, item) pairs
 * already seen; then fills a candidate's group, drop flag, rule bits and
 * vector from the user and item ids. Formulas: schemas/diversify.md.
 */
#ifndef RS_DIVITEMS_H
#define RS_DIVITEMS_H

#include <stddef.h>
#include <stdint.h>

#include "rerank/diversify.h"
#include "io/itemattr.h"
#include "io/rsb.h"

struct rs_pairset;
struct rs_strmap;

/* An item predicate: column col equals value (col NULL: the --by column). */
struct rs_div_rule {
    const char *col, *value;
};

struct rs_reader;

/* The tables and the embeddings come open: rs-diversify tells them apart by
 * their first bytes, which a pipe gives only once. */
struct rs_div_items_opts {
    struct rs_reader *const *tables; /* item attribute tables (TSV/CSV) */
    size_t ntables;
    struct rs_reader *emb;           /* item embeddings (RSB) or NULL */
    const char *deny;            /* table of items to drop, or NULL */
    const char *seen;            /* table of (user, item) pairs to drop, or NULL */
    const char *user_col, *item_col;
    const char *by;              /* group column or NULL */
    const char *stock_col;       /* drop items whose value is 0/false/no/n; NULL: none */
    const struct rs_div_rule *boost, *quota;
    size_t nboost, nquota;       /* at most RS_DIV_MAX_RULES each */
    const char *lat_col, *lon_col; /* item (and user) position in degrees; NULL: no geo filter */
    const char *geo_users;       /* table of user positions (user_col, lat_col, lon_col), or NULL */
};

/* Where a user is and how far items may be: items farther than radius_km
 * (haversine, on a sphere of radius RS_EARTH_KM) are dropped; an item
 * without a position is kept (a digital offer is everywhere). */
struct rs_div_where {
    int on;
    double lat, lon, radius_km;
};

#define RS_EARTH_KM 6371.0088 /* the mean Earth radius (IUGG) */

/* The great-circle distance in km between two points in degrees. */
double rs_haversine_km(double lat1, double lon1, double lat2, double lon2);

struct rs_div_items {
    struct rs_itemattr attr;
    int by_c, stock_c;
    char *out_of_stock;          /* per value id of the stock column */
    struct rs_embset emb;        /* emb.ids NULL when not loaded */
    struct rs_strmap *deny;
    struct rs_strmap *seen_users, *seen_items;
    struct rs_pairset *seen;
    size_t nboost, nquota;
    int rule_c[2 * RS_DIV_MAX_RULES];      /* boosts, then quotas: attribute column */
    int32_t rule_v[2 * RS_DIV_MAX_RULES];  /* value id, -1 if no item has it */
    int lat_c, lon_c;            /* -1: no geo filter */
    double *lat_v, *lon_v;       /* per value id of those columns */
    struct rs_strmap *geo_users; /* user -> row of ulat, ulon */
    double *ulat, *ulon;
};

/* Loads everything o names, and closes o's readers. Errors (a missing file or
 * column, a bad row) name file, line and column; d is then safe to free. */
int rs_div_items_load(struct rs_div_items *d, const struct rs_div_items_opts *o);
void rs_div_items_free(struct rs_div_items *d);
/* The position of user in the geo_users table: 0, or -1 when unknown. */
int rs_div_items_user_at(const struct rs_div_items *d, const char *user, double *lat, double *lon);
/* Fills c's group, drop, boost, quota and vec for item of user (pos and
 * score are left as they are); w (NULL or off: none) drops items too far. */
void rs_div_items_fill(const struct rs_div_items *d, const char *user, const char *item,
                       const struct rs_div_where *w, struct rs_div_cand *c);

#endif
