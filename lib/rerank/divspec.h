/* divspec.h - the post-ranking rules as rs-diversify's options state them
 * (--items, --by, --max-per-group, --round-robin, --mmr, --boost,
 * --min-share, --stock-col, --deny, --seen, --top, and the geolocation
 * filter --radius-km, --geo-users, --lat-col, --lon-col): parsed, checked and
 * loaded here, so that rs-diversify (per user of a stream) and rs-serve (per
 * request) build the same rs_div_params and rs_div_items from the same
 * words. Formulas: schemas/diversify.md. */
#ifndef RS_DIVSPEC_H
#define RS_DIVSPEC_H

#include <stddef.h>

#include "rerank/diversify.h"
#include "rerank/divitems.h"

#define RS_DIV_MAX_ITEMS 9   /* --items: tables (TSV/CSV) and at most one RSB */
#define RS_DIV_DEFAULT_TOP 10

struct rs_div_spec {
    const char *items[RS_DIV_MAX_ITEMS]; /* paths, told apart by their first bytes when loaded */
    size_t nitems;
    const char *by, *stock_col, *deny, *seen;
    size_t top;                          /* 0: every candidate left */
    size_t cap;                          /* --max-per-group; 0: none */
    int round_robin, mmr;
    double lambda;
    struct rs_div_rule boost[RS_DIV_MAX_RULES], quota[RS_DIV_MAX_RULES];
    struct rs_div_boost factor[RS_DIV_MAX_RULES];
    double share[RS_DIV_MAX_RULES];
    size_t nboost, nquota;
    char *text[2 * RS_DIV_MAX_RULES];    /* owns the rules' strings */
    size_t ntext;
    int geo;                             /* --radius-km or --geo-users given: positions loaded */
    double radius_km;                    /* 0: no default radius */
    const char *geo_users, *lat_col, *lon_col;
};

#define RS_DIV_SPEC_INIT { .top = RS_DIV_DEFAULT_TOP, .lambda = 1, .lat_col = "lat", .lon_col = "lon" }

/* Sets the option named flag ("--boost", ...; arg NULL for --round-robin)
 * from arg, which must outlive s. Returns 1 when flag is one of the list
 * above, 0 when it is not, RS_ERR_USAGE with a message naming the flag and
 * the value when the value is invalid or a list is full. */
int rs_div_spec_set(struct rs_div_spec *s, const char *flag, const char *arg);
/* 1 when s asks for anything beyond the top N in score order. */
int rs_div_spec_active(const struct rs_div_spec *s);
/* Checks the combination (--max-per-group and --round-robin need --by, ...)
 * and fills p from s (p->dims 0 until loaded): 0 or RS_ERR_USAGE. */
int rs_div_spec_params(const struct rs_div_spec *s, struct rs_div_params *p);
/* Opens s's --items (an RSB is the embeddings, any other a table), loads
 * them, --deny and --seen into d (user_col and item_col name the id columns)
 * and sets p->dims. RS_ERR_USAGE when two RSB are given or an option needs a
 * table (or MMR an RSB) that --items lacks; read errors name file and line;
 * d is then safe to free. */
int rs_div_spec_load(const struct rs_div_spec *s, const char *user_col, const char *item_col,
                     struct rs_div_items *d, struct rs_div_params *p);
/* Where user is for the geolocation filter: radius_km (< 0: s's), at
 * (lat, lon) when has_at, else the user's row of --geo-users; off when
 * the radius is 0 or the position unknown. */
void rs_div_spec_where(const struct rs_div_spec *s, const struct rs_div_items *d, const char *user,
                       double radius_km, int has_at, double lat, double lon, struct rs_div_where *w);
void rs_div_spec_free(struct rs_div_spec *s);

#endif
