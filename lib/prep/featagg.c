/* featagg.c - aggregates per entity and bounded last-N histories. */
#include "prep/featagg.h"
#include "core/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void rs_feat_init(struct rs_feat_table *f)
{
    memset(f, 0, sizeof *f);
}

void rs_feat_free(struct rs_feat_table *f)
{
    free(f->acc);
    memset(f, 0, sizeof *f);
}

struct rs_feat_acc *rs_feat_at(struct rs_feat_table *f, size_t e)
{
    if (e >= f->cap) {
        size_t cap = e + 1 > 2 * f->cap ? e + 1 : 2 * f->cap;
        f->acc = xrealloc(f->acc, cap * sizeof *f->acc);
        memset(f->acc + f->cap, 0, (cap - f->cap) * sizeof *f->acc);
        for (size_t k = f->cap; k < cap; k++)
            f->acc[k].last = INT64_MIN;
        f->cap = cap;
    }
    if (e >= f->n)
        f->n = e + 1;
    return &f->acc[e];
}

void rs_feat_add(struct rs_feat_table *f, size_t e, unsigned classes, int64_t time, double price)
{
    struct rs_feat_acc *a = rs_feat_at(f, e);
    a->events++;
    for (int c = 0; c < RS_FEAT_NCLASS; c++)
        a->cnt[c] += (classes >> c) & 1;
    if (time > a->last)
        a->last = time;
    if (!isnan(price)) {
        a->price_sum += price;
        a->price_n++;
    }
}

struct rs_lastn_entry {
    int64_t time;
    uint32_t row, item;
};

void rs_lastn_init(struct rs_lastn *l, size_t n)
{
    RS_ASSERT(n >= 1);
    memset(l, 0, sizeof *l);
    l->n = n;
}

void rs_lastn_free(struct rs_lastn *l)
{
    free(l->heap);
    free(l->len);
    memset(l, 0, sizeof *l);
}

/* Older first: by time, then by input row. */
static int older(const struct rs_lastn_entry *a, const struct rs_lastn_entry *b)
{
    return a->time != b->time ? a->time < b->time : a->row < b->row;
}

static void sift_down(struct rs_lastn_entry *h, size_t n, size_t i)
{
    for (;;) {
        size_t m = i, l = 2 * i + 1, r = l + 1;
        if (l < n && older(&h[l], &h[m]))
            m = l;
        if (r < n && older(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        struct rs_lastn_entry t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

void rs_lastn_push(struct rs_lastn *l, size_t e, int64_t time, uint32_t row, uint32_t item)
{
    if (e >= l->nent) {
        size_t cap = e + 1 > 2 * l->nent ? e + 1 : 2 * l->nent;
        l->heap = xrealloc(l->heap, cap * l->n * sizeof *l->heap);
        l->len = xrealloc(l->len, cap * sizeof *l->len);
        memset(l->len + l->nent, 0, (cap - l->nent) * sizeof *l->len);
        l->nent = cap;
    }
    struct rs_lastn_entry x = { time, row, item }, *h = l->heap + e * l->n;
    size_t n = l->len[e];
    if (n < l->n) { /* sift up */
        size_t i = n;
        while (i > 0 && older(&x, &h[(i - 1) / 2])) {
            h[i] = h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        h[i] = x;
        l->len[e]++;
    } else if (older(&h[0], &x)) {
        h[0] = x;
        sift_down(h, n, 0);
    }
}

static int entry_cmp(const void *pa, const void *pb)
{
    const struct rs_lastn_entry *a = pa, *b = pb;
    return older(a, b) ? -1 : older(b, a);
}

size_t rs_lastn_get(struct rs_lastn *l, size_t e, uint32_t *out)
{
    if (e >= l->nent)
        return 0;
    struct rs_lastn_entry *h = l->heap + e * l->n;
    size_t n = l->len[e];
    /* ascending order is itself a valid min-heap */
    qsort(h, n, sizeof *h, entry_cmp);
    for (size_t k = 0; k < n; k++)
        out[k] = h[n - 1 - k].item;
    return n;
}
