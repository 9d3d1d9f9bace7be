/* history.c - a user's own past items as candidates (see history.h). */
#include "index/history.h"
#include "core/err.h"
#include "core/pairset.h"
#include "core/strmap.h"
#include "index/cands.h"
#include "index/knn.h"
#include "io/tsv.h"

#include <stdlib.h>
#include <string.h>

static int require_id(struct rs_tsv *t, int col, const char *what)
{
    return rs_tsv_len(t, col) ? 0 : rs_tsv_errf(t, col, "empty %s id", what);
}

/* Per user, best first, from the (user, item) accumulations. */
static void rank_users(struct rs_history *h, const struct rs_pairmap *pairs, const struct rs_recency *acc,
                       double half_life)
{
    size_t n = rs_pairmap_size(pairs);
    struct rs_item_value *v = xmalloc((n ? n : 1) * sizeof *v), *by_user;
    uint32_t *user = xmalloc((n ? n : 1) * sizeof *user);
    for (uint32_t id = 0; id < n; id++) {
        rs_pairmap_pair(pairs, id, &user[id], &v[id].item);
        /* exact int64 times below 2^53 s order the same as doubles */
        v[id].value = half_life > 0 ? rs_recency_value(&acc[id], h->newest, half_life)
                                    : (double)acc[id].last;
    }
    rs_cands_group(user, v, n, rs_strmap_size(h->users), h->items, &h->off, &by_user);
    h->item = xmalloc((n ? n : 1) * sizeof *h->item);
    h->score = xmalloc((n ? n : 1) * sizeof *h->score);
    for (size_t j = 0; j < n; j++) {
        h->item[j] = by_user[j].item;
        h->score[j] = half_life > 0 ? (float)by_user[j].value
                                    : (float)((by_user[j].value - (double)h->newest) / 86400.0); /* no -0 */
    }
    free(by_user);
    free(user);
    free(v);
}

int rs_history_load(struct rs_history *h, const char *path, const struct rs_history_opts *o)
{
    memset(h, 0, sizeof *h);
    struct rs_tsv *t = NULL;
    int col[3];
    int rc = rs_cands_open(&t, path, (const char *const[]){ o->user_col, o->item_col, o->time_col }, col, 3),
        uc = col[0], ic = col[1], tc = col[2];
    if (rc < 0)
        return rc;
    h->users = rs_strmap_new(1024);
    h->items = rs_strmap_new(1024);
    h->newest = INT64_MIN;
    struct rs_pairmap *pairs = rs_pairmap_new(1024);
    struct rs_recency *acc = NULL;
    size_t cap = 0;
    while ((rc = rs_tsv_next(t)) == 0) {
        int64_t ts;
        if ((rc = require_id(t, uc, "user")) < 0 || (rc = require_id(t, ic, "item")) < 0 ||
            (rc = rs_tsv_get_time(t, tc, &ts)) < 0)
            break;
        h->newest = ts > h->newest ? ts : h->newest;
        uint32_t u = (uint32_t)rs_strmap_put(h->users, rs_tsv_get(t, uc), rs_tsv_len(t, uc), NULL);
        uint32_t i = (uint32_t)rs_strmap_put(h->items, rs_tsv_get(t, ic), rs_tsv_len(t, ic), NULL);
        rs_recency_add(rs_recency_at(&acc, &cap, rs_pairmap_put(pairs, u, i, NULL)), ts, o->half_life);
    }
    rs_tsv_close(t);
    if (rc == RS_ERR_EOF) {
        rank_users(h, pairs, acc, o->half_life);
        rc = 0;
    } else {
        rs_history_free(h);
    }
    rs_pairmap_free(pairs);
    free(acc);
    return rc;
}

size_t rs_history_pick(const struct rs_history *h, const char *user, size_t len, size_t k,
                       const struct rs_knn_filter *f, size_t q, int64_t *ids, float *scores)
{
    int64_t u = rs_strmap_get(h->users, user, len);
    size_t got = 0;
    for (uint64_t r = u < 0 ? 0 : h->off[u]; u >= 0 && r < h->off[u + 1] && got < k; r++) {
        if (rs_knn_filtered(f, q, h->item[r]))
            continue;
        ids[got] = h->item[r];
        scores[got++] = h->score[r];
    }
    return got;
}

void rs_history_free(struct rs_history *h)
{
    rs_strmap_free(h->users);
    rs_strmap_free(h->items);
    free(h->off);
    free(h->item);
    free(h->score);
    memset(h, 0, sizeof *h);
}
