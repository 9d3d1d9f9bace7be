/* divitems.c - the item side of post-ranking (see divitems.h). */
#include "rerank/divitems.h"
#include "core/err.h"
#include "core/pairset.h"
#include "core/strmap.h"
#include "io/io.h"
#include "nn/tensor.h"
#include "io/tsv.h"

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
    int rc = rs_itemattr_read(&d->attr, o->tables, o->ntables, o->item_col, cols, ncols, 0);
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
    return 0;
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

int rs_div_items_load(struct rs_div_items *d, const struct rs_div_items_opts *o)
{
    memset(d, 0, sizeof *d);
    d->by_c = d->stock_c = -1;
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
    memset(d, 0, sizeof *d);
    d->by_c = d->stock_c = -1;
}

static int32_t attr(const struct rs_div_items *d, int c, const char *item, size_t len)
{
    return c < 0 ? -1 : rs_itemattr_get(&d->attr, c, item, len);
}

void rs_div_items_fill(const struct rs_div_items *d, const char *user, const char *item, struct rs_div_cand *c)
{
    size_t len = strlen(item);
    int32_t stock = attr(d, d->stock_c, item, len);
    c->group = attr(d, d->by_c, item, len);
    c->drop = (stock >= 0 && d->out_of_stock[stock]) || (d->deny && rs_strmap_get(d->deny, item, len) >= 0);
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
