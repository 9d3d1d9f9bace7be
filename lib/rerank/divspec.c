/* divspec.c - rs-diversify's post-ranking options, shared with rs-serve
 * (see divspec.h). */
#include "rerank/divspec.h"
#include "core/err.h"
#include "core/num.h"
#include "io/io.h"
#include "io/rsb.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad_value(const char *flag, const char *arg, const char *want)
{
    return rs_err_set(RS_ERR_USAGE, "invalid value '%s' for %s: expected %s", arg, flag, want);
}

static int number(const char *flag, const char *arg, double min, double max, double *x)
{
    char want[96];
    if (rs_num_f64(arg, strlen(arg), x) == 0 && *x >= min && *x <= max)
        return 0;
    snprintf(want, sizeof want, "a number in %g..%g", min, max);
    return bad_value(flag, arg, want);
}

static int count(const char *flag, const char *arg, int64_t min, size_t *n)
{
    char want[96];
    int64_t v;
    if (rs_num_i64(arg, strlen(arg), &v) == 0 && v >= min && v <= INT32_MAX)
        return *n = (size_t)v, 0;
    snprintf(want, sizeof want, "an integer in %lld..%d", (long long)min, INT32_MAX);
    return bad_value(flag, arg, want);
}

/* Parses C=V:X (column form) or, when allow_group, V=X (a --by group). */
static int parse_rule(struct rs_div_spec *s, const char *flag, const char *arg, int allow_group,
                      struct rs_div_rule *r, double *x)
{
    char *text = s->text[s->ntext++] = xstrdup(arg);
    char *eq = strchr(text, '='), *colon = strrchr(text, ':');
    if (eq && colon && colon > eq + 1 && eq > text) {
        *eq = *colon = '\0';
        r->col = text;
        r->value = eq + 1;
        return number(flag, colon + 1, -1e300, 1e300, x);
    }
    if (allow_group && (eq = strrchr(text, '=')) && eq > text) {
        *eq = '\0';
        r->col = NULL;
        r->value = text;
        return number(flag, eq + 1, 0, 1, x);
    }
    return rs_err_set(RS_ERR_USAGE, "invalid %s '%s': expected %s", flag, arg,
                      allow_group ? "GROUP=P or COLUMN=VALUE:P" : "COLUMN=VALUE:FACTOR");
}

static int add_boost(struct rs_div_spec *s, const char *arg)
{
    if (s->nboost == RS_DIV_MAX_RULES)
        return rs_err_set(RS_ERR_USAGE, "at most %d --boost rules", RS_DIV_MAX_RULES);
    const char *colon = strrchr(arg, ':');
    s->factor[s->nboost].add = colon && colon[1] == '+';
    int rc = parse_rule(s, "--boost", arg, 0, &s->boost[s->nboost], &s->factor[s->nboost].factor);
    return rc < 0 ? rc : (s->nboost++, 1);
}

static int add_quota(struct rs_div_spec *s, const char *arg)
{
    if (s->nquota == RS_DIV_MAX_RULES)
        return rs_err_set(RS_ERR_USAGE, "at most %d --min-share quotas", RS_DIV_MAX_RULES);
    double *p = &s->share[s->nquota];
    int rc = parse_rule(s, "--min-share", arg, 1, &s->quota[s->nquota], p);
    if (rc == 0 && !(*p >= 0 && *p <= 1))
        rc = rs_err_set(RS_ERR_USAGE, "invalid --min-share '%s': the share must be in [0, 1]", arg);
    return rc < 0 ? rc : (s->nquota++, 1);
}

static int add_items(struct rs_div_spec *s, const char *arg)
{
    if (s->nitems == RS_DIV_MAX_ITEMS)
        return rs_err_set(RS_ERR_USAGE, "at most %d --items files", RS_DIV_MAX_ITEMS);
    s->items[s->nitems++] = arg;
    return 1;
}

int rs_div_spec_set(struct rs_div_spec *s, const char *flag, const char *arg)
{
    const char *const *word[] = { &s->by, &s->stock_col, &s->deny, &s->seen, &s->geo_users, &s->lat_col, &s->lon_col };
    static const char *const words[] = { "--by", "--stock-col", "--deny", "--seen", "--geo-users", "--lat-col",
                                         "--lon-col" };
    if (strcmp(flag, "--geo-users") == 0)
        s->geo = 1;
    for (size_t w = 0; w < sizeof words / sizeof *words; w++)
        if (strcmp(flag, words[w]) == 0)
            return *(const char **)word[w] = arg, 1;
    int rc = 1;
    if (strcmp(flag, "--items") == 0)
        return add_items(s, arg);
    if (strcmp(flag, "--boost") == 0)
        return add_boost(s, arg);
    if (strcmp(flag, "--min-share") == 0)
        return add_quota(s, arg);
    if (strcmp(flag, "--round-robin") == 0)
        s->round_robin = 1;
    else if (strcmp(flag, "--mmr") == 0)
        s->mmr = 1, rc = number(flag, arg, 0, 1, &s->lambda);
    else if (strcmp(flag, "--max-per-group") == 0)
        rc = count(flag, arg, 1, &s->cap);
    else if (strcmp(flag, "--top") == 0)
        rc = count(flag, arg, 0, &s->top);
    else if (strcmp(flag, "--radius-km") == 0)
        s->geo = 1, rc = number(flag, arg, 0, 40075, &s->radius_km);
    else
        return 0;
    return rc < 0 ? rc : 1;
}

int rs_div_spec_active(const struct rs_div_spec *s)
{
    return s->by || s->stock_col || s->deny || s->seen || s->mmr || s->nboost || s->nquota || s->geo;
}

int rs_div_spec_params(const struct rs_div_spec *s, struct rs_div_params *p)
{
    if ((s->cap || s->round_robin) && !s->by)
        return rs_err_set(RS_ERR_USAGE, "--max-per-group and --round-robin need --by");
    if (s->mmr && s->round_robin)
        return rs_err_set(RS_ERR_USAGE, "--mmr and --round-robin exclude each other");
    if (s->mmr && !s->nitems)
        return rs_err_set(RS_ERR_USAGE, "--mmr needs item embeddings (an RSB file in --items)");
    for (size_t q = 0; q < s->nquota; q++)
        if (!s->quota[q].col && !s->by)
            return rs_err_set(RS_ERR_USAGE, "--min-share GROUP=P needs --by (or use COLUMN=VALUE:P)");
    if ((s->by || s->stock_col || s->nboost || s->nquota || s->geo) && !s->nitems)
        return rs_err_set(RS_ERR_USAGE,
                          "--by, --boost, --min-share, --stock-col and --radius-km need an item table in --items");
    *p = (struct rs_div_params){
        .top_n = s->top,
        .mode = s->mmr ? RS_DIV_MMR : s->by && (s->round_robin || !s->cap) ? RS_DIV_ROUND_ROBIN : RS_DIV_SCORE,
        .max_per_group = s->cap,
        .lambda = s->lambda,
        .nboost = s->nboost,
        .boost = s->factor,
        .nquota = s->nquota,
        .share = s->share,
    };
    return rs_div_check(p);
}

/* Opens the --items files into tables and the one embedding file. */
static int open_items(const struct rs_div_spec *s, struct rs_reader **tables, size_t *ntables,
                      struct rs_reader **emb)
{
    for (size_t i = 0; i < s->nitems; i++) {
        struct rs_reader *in;
        const unsigned char *b;
        size_t avail;
        int rc = rs_reader_open(&in, s->items[i]);
        if (rc == 0 && (rc = rs_reader_peek(in, 8, &b, &avail)) < 0)
            rs_reader_close(in);
        if (rc < 0)
            return rc;
        if (!rs_rsb_sniff(b, avail))
            tables[(*ntables)++] = in;
        else if (!*emb)
            *emb = in;
        else
            return rs_reader_close(in), rs_err_set(RS_ERR_USAGE, "only one embedding file in --items");
    }
    if (s->mmr && !*emb)
        return rs_err_set(RS_ERR_USAGE, "--mmr needs item embeddings (an RSB file in --items)");
    if ((s->by || s->stock_col || s->nboost || s->nquota || s->geo) && !*ntables)
        return rs_err_set(RS_ERR_USAGE,
                          "--by, --boost, --min-share, --stock-col and --radius-km need an item table in --items");
    return 0;
}

int rs_div_spec_load(const struct rs_div_spec *s, const char *user_col, const char *item_col,
                     struct rs_div_items *d, struct rs_div_params *p)
{
    struct rs_reader *tables[RS_DIV_MAX_ITEMS], *emb = NULL;
    size_t ntables = 0;
    memset(d, 0, sizeof *d);
    int rc = open_items(s, tables, &ntables, &emb);
    if (rc < 0) {
        for (size_t i = 0; i < ntables; i++)
            rs_reader_close(tables[i]);
        if (emb)
            rs_reader_close(emb);
        return rc;
    }
    struct rs_div_items_opts o = {
        .tables = tables, .ntables = ntables, .emb = emb, .deny = s->deny, .seen = s->seen,
        .user_col = user_col, .item_col = item_col, .by = s->by, .stock_col = s->stock_col,
        .boost = s->boost, .nboost = s->nboost, .quota = s->quota, .nquota = s->nquota,
        .lat_col = s->geo ? s->lat_col : NULL, .lon_col = s->lon_col, .geo_users = s->geo_users,
    };
    rc = rs_div_items_load(d, &o);
    p->dims = d->emb.dims;
    return rc;
}

void rs_div_spec_free(struct rs_div_spec *s)
{
    for (size_t i = 0; i < s->ntext; i++)
        free(s->text[i]);
    s->ntext = 0;
}

void rs_div_spec_where(const struct rs_div_spec *s, const struct rs_div_items *d, const char *user,
                       double radius_km, int has_at, double lat, double lon, struct rs_div_where *w)
{
    w->radius_km = radius_km < 0 ? s->radius_km : radius_km;
    w->lat = lat, w->lon = lon;
    w->on = s->geo && w->radius_km > 0 && (has_at || rs_div_items_user_at(d, user, &w->lat, &w->lon) == 0);
}
