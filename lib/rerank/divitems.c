/* divitems.c - the item side of post-ranking (see divitems.h). */
#include "rerank/divitems.h"
#include "core/err.h"
#include "core/num.h"
#include "core/pairset.h"
#include "core/strmap.h"
#include "io/io.h"
#include "nn/tensor.h"
#include "io/tsv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void add_col(const char **cols, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(cols[i], name) == 0)
            return;
    cols[(*n)++] = name;
}

static int is_false(const char *s)
{
    return !strcmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "n");
}

/* Each value of a position column as degrees in [-max, max]. */
static int degrees(const struct rs_div_items *d, int c, double max, double **out)
{
    struct rs_strmap *v = d->attr.values[c];
    *out = xmalloc((rs_strmap_size(v) + 1) * sizeof **out);
    for (size_t i = 0; i < rs_strmap_size(v); i++) {
        size_t len;
        const char *s = rs_strmap_key(v, (int64_t)i, &len);
        if (len == 0) { /* an empty field: no position */
            (*out)[i] = NAN;
            continue;
        }
        if (rs_num_f64(s, len, &(*out)[i]) < 0 || !((*out)[i] >= -max && (*out)[i] <= max))
            return rs_err_set(RS_ERR_FORMAT, "item column '%s': '%.*s' is not a number in -%g..%g (degrees)",
                              d->attr.names[c], (int)(len > 32 ? 32 : len), s, max, max);
    }
    return 0;
}

static int item_positions(struct rs_div_items *d, const struct rs_div_items_opts *o)
{
    d->lat_c = rs_itemattr_col(&d->attr, o->lat_col);
    d->lon_c = rs_itemattr_col(&d->attr, o->lon_col);
    int rc = degrees(d, d->lat_c, 90, &d->lat_v);
    return rc < 0 ? rc : degrees(d, d->lon_c, 180, &d->lon_v);
}

static int load_tables(struct rs_div_items *d, const struct rs_div_items_opts *o)
{
    const char *cols[2 * RS_DIV_MAX_RULES + 2];
    size_t ncols = 0;
    if (o->by)
        add_col(cols, &ncols, o->by);
    if (o->stock_col)
        add_col(cols, &ncols, o->stock_col);
    for (size_t r = 0; r < o->nboost + o->nquota; r++) {
        const struct rs_div_rule *rule = r < o->nboost ? &o->boost[r] : &o->quota[r - o->nboost];
        add_col(cols, &ncols, rule->col ? rule->col : o->by);
    }
    if (o->lat_col)
        add_col(cols, &ncols, o->lat_col), add_col(cols, &ncols, o->lon_col);
    int rc = rs_itemattr_read(&d->attr, o->tables, o->ntables, o->item_col, cols, ncols);
    if (rc < 0)
        return rc;
    d->by_c = o->by ? rs_itemattr_col(&d->attr, o->by) : -1;
    d->stock_c = o->stock_col ? rs_itemattr_col(&d->attr, o->stock_col) : -1;
    if (d->stock_c >= 0) {
        struct rs_strmap *v = d->attr.values[d->stock_c];
        d->out_of_stock = xcalloc(rs_strmap_size(v) + 1, 1);
        for (size_t i = 0; i < rs_strmap_size(v); i++)
            d->out_of_stock[i] = (char)is_false(rs_strmap_key(v, (int64_t)i, NULL));
    }
    for (size_t r = 0; r < o->nboost + o->nquota; r++) {
        const struct rs_div_rule *rule = r < o->nboost ? &o->boost[r] : &o->quota[r - o->nboost];
        d->rule_c[r] = rs_itemattr_col(&d->attr, rule->col ? rule->col : o->by);
        d->rule_v[r] = rs_itemattr_value(&d->attr, d->rule_c[r], rule->value, strlen(rule->value));
    }
    return o->lat_col ? item_positions(d, o) : 0;
}

static int load_embeddings(struct rs_div_items *d, struct rs_reader *in)
{
    int rc = rs_embset_read(&d->emb, in);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < d->emb.n; i++) {
        float *v = d->emb.x + i * d->emb.dims, norm = rs_snrm2(d->emb.dims, v);
        if (norm > 0)
            rs_sscal(d->emb.dims, 1 / norm, v);
    }
    return 0;
}

/* Reads the id columns of a table: one (items only) or two (user, item). */
static int load_ids(const char *path, const char *user_col, const char *item_col, struct rs_strmap *users,
                    struct rs_strmap *items, struct rs_pairset *pairs)
{
    struct rs_tsv *t;
    int rc = rs_tsv_open(&t, path, 0), uc = -1, ic;
    if (rc < 0)
        return rc;
    if ((!users || (rc = rs_tsv_require(t, user_col, &uc)) == 0) && (rc = rs_tsv_require(t, item_col, &ic)) == 0)
        while ((rc = rs_tsv_next(t)) == 0) {
            int64_t i = rs_strmap_put(items, rs_tsv_get(t, ic), rs_tsv_len(t, ic), NULL);
            if (users)
                rs_pairset_add(pairs, (uint32_t)rs_strmap_put(users, rs_tsv_get(t, uc), rs_tsv_len(t, uc), NULL),
                               (uint32_t)i);
        }
    rs_tsv_close(t);
    return rc == RS_ERR_EOF ? 0 : rc;
}

/* The geo_users table: user -> (lat, lon), errors naming line and column. */
static int load_user_positions(struct rs_div_items *d, const struct rs_div_items_opts *o)
{
    struct rs_tsv *t;
    int rc = rs_tsv_open(&t, o->geo_users, 0), uc, la, lo;
    if (rc < 0)
        return rc;
    d->geo_users = rs_strmap_new(1024);
    size_t cap = 0;
    if ((rc = rs_tsv_require(t, o->user_col, &uc)) == 0 && (rc = rs_tsv_require(t, o->lat_col, &la)) == 0)
        rc = rs_tsv_require(t, o->lon_col, &lo);
    while (rc == 0 && (rc = rs_tsv_next(t)) == 0) {
        double lat, lon;
        if ((rc = rs_tsv_get_f64(t, la, &lat)) < 0 || (rc = rs_tsv_get_f64(t, lo, &lon)) < 0)
            break;
        if (!(fabs(lat) <= 90 && fabs(lon) <= 180)) {
            rc = rs_tsv_errf(t, fabs(lat) <= 90 ? lo : la, "not a position in degrees");
            break;
        }
        int64_t u = rs_strmap_put(d->geo_users, rs_tsv_get(t, uc), rs_tsv_len(t, uc), NULL);
        if ((size_t)u >= cap) {
            cap = 2 * cap + 1024;
            d->ulat = xrealloc(d->ulat, cap * sizeof *d->ulat);
            d->ulon = xrealloc(d->ulon, cap * sizeof *d->ulon);
        }
        d->ulat[u] = lat, d->ulon[u] = lon; /* a user given twice: the last row */
    }
    rs_tsv_close(t);
    return rc == RS_ERR_EOF ? 0 : rc;
}

int rs_div_items_load(struct rs_div_items *d, const struct rs_div_items_opts *o)
{
    memset(d, 0, sizeof *d);
    d->by_c = d->stock_c = d->lat_c = d->lon_c = -1;
    d->nboost = o->nboost;
    d->nquota = o->nquota;
    RS_ASSERT(o->nboost <= RS_DIV_MAX_RULES && o->nquota <= RS_DIV_MAX_RULES);
    for (size_t r = 0; r < o->nboost + o->nquota; r++) {
        const struct rs_div_rule *rule = r < o->nboost ? &o->boost[r] : &o->quota[r - o->nboost];
        RS_ASSERT(rule->col || o->by); /* a quota on the group column needs a group column */
    }
    int rc = o->ntables ? load_tables(d, o) : 0;
    if (o->emb)
        rc = rc ? (rs_reader_close(o->emb), rc) : load_embeddings(d, o->emb);
    if (rc == 0 && o->deny) {
        d->deny = rs_strmap_new(1024);
        rc = load_ids(o->deny, NULL, o->item_col, NULL, d->deny, NULL);
    }
    if (rc == 0 && o->geo_users)
        rc = load_user_positions(d, o);
    if (rc == 0 && o->seen) {
        d->seen_users = rs_strmap_new(1024);
        d->seen_items = rs_strmap_new(1024);
        d->seen = rs_pairset_new(4096);
        rc = load_ids(o->seen, o->user_col, o->item_col, d->seen_users, d->seen_items, d->seen);
    }
    if (rc < 0)
        rs_div_items_free(d);
    return rc;
}

void rs_div_items_free(struct rs_div_items *d)
{
    rs_itemattr_free(&d->attr);
    free(d->out_of_stock);
    if (d->emb.ids)
        rs_embset_free(&d->emb);
    rs_strmap_free(d->deny);
    rs_strmap_free(d->seen_users);
    rs_strmap_free(d->seen_items);
    rs_pairset_free(d->seen);
    free(d->lat_v);
    free(d->lon_v);
    rs_strmap_free(d->geo_users);
    free(d->ulat);
    free(d->ulon);
    memset(d, 0, sizeof *d);
    d->by_c = d->stock_c = d->lat_c = d->lon_c = -1;
}

static int32_t attr(const struct rs_div_items *d, int c, const char *item, size_t len)
{
    return c < 0 ? -1 : rs_itemattr_get(&d->attr, c, item, len);
}

double rs_haversine_km(double lat1, double lon1, double lat2, double lon2)
{
    const double rad = M_PI / 180;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double h = sin(dlat / 2) * sin(dlat / 2) + cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * RS_EARTH_KM * asin(sqrt(h < 1 ? h : 1));
}

int rs_div_items_user_at(const struct rs_div_items *d, const char *user, double *lat, double *lon)
{
    int64_t u = d->geo_users ? rs_strmap_get(d->geo_users, user, strlen(user)) : -1;
    if (u < 0)
        return -1;
    *lat = d->ulat[u], *lon = d->ulon[u];
    return 0;
}

/* 1 when item is farther from w than its radius. */
static int too_far(const struct rs_div_items *d, const struct rs_div_where *w, const char *item, size_t len)
{
    int32_t la = attr(d, d->lat_c, item, len), lo = attr(d, d->lon_c, item, len);
    return la >= 0 && lo >= 0 && !isnan(d->lat_v[la]) && !isnan(d->lon_v[lo]) && /* empty: no position */
           rs_haversine_km(w->lat, w->lon, d->lat_v[la], d->lon_v[lo]) > w->radius_km;
}

void rs_div_items_fill(const struct rs_div_items *d, const char *user, const char *item,
                       const struct rs_div_where *w, struct rs_div_cand *c)
{
    size_t len = strlen(item);
    int32_t stock = attr(d, d->stock_c, item, len);
    c->group = attr(d, d->by_c, item, len);
    c->drop = (stock >= 0 && d->out_of_stock[stock]) || (d->deny && rs_strmap_get(d->deny, item, len) >= 0) ||
              (w && w->on && d->lat_c >= 0 && too_far(d, w, item, len));
    if (d->seen) {
        int64_t u = rs_strmap_get(d->seen_users, user, strlen(user)), i = rs_strmap_get(d->seen_items, item, len);
        c->drop |= u >= 0 && i >= 0 && rs_pairset_has(d->seen, (uint32_t)u, (uint32_t)i);
    }
    c->boost = c->quota = 0;
    for (size_t r = 0; r < d->nboost + d->nquota; r++)
        if (d->rule_v[r] >= 0 && attr(d, d->rule_c[r], item, len) == d->rule_v[r]) {
            if (r < d->nboost)
                c->boost |= 1u << r;
            else
                c->quota |= 1u << (r - d->nboost);
        }
    int64_t e = d->emb.ids ? rs_strmap_get(d->emb.ids, item, len) : -1;
    c->vec = e < 0 ? NULL : d->emb.x + (size_t)e * d->emb.dims;
}
