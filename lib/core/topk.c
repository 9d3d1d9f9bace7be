/* topk.c - bounded heap whose root is the worst kept pair. */
#include "core/topk.h"
#include "core/err.h"

#include <math.h>
#include <stdlib.h>

void rs_topk_init(struct rs_topk *t, size_t k)
{
    t->k = k;
    t->n = 0;
    t->score = xmalloc((k ? k : 1) * sizeof *t->score);
    t->id = xmalloc((k ? k : 1) * sizeof *t->id);
}

void rs_topk_free(struct rs_topk *t)
{
    free(t->score);
    free(t->id);
    t->score = NULL;
    t->id = NULL;
}

void rs_topk_reset(struct rs_topk *t)
{
    t->n = 0;
}

static int better(float sa, int64_t ia, float sb, int64_t ib)
{
    return sa > sb || (sa == sb && ia < ib);
}

float rs_topk_threshold(const struct rs_topk *t)
{
    return t->n < t->k ? -INFINITY : t->score[0];
}

static void swap(struct rs_topk *t, size_t a, size_t b)
{
    float s = t->score[a];
    int64_t i = t->id[a];
    t->score[a] = t->score[b];
    t->id[a] = t->id[b];
    t->score[b] = s;
    t->id[b] = i;
}

/* Restores the heap below node i, over the first n entries. */
static void sift_down(struct rs_topk *t, size_t i, size_t n)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && better(t->score[w], t->id[w], t->score[l], t->id[l]))
            w = l;
        if (r < n && better(t->score[w], t->id[w], t->score[r], t->id[r]))
            w = r;
        if (w == i)
            return;
        swap(t, i, w);
        i = w;
    }
}

void rs_topk_push(struct rs_topk *t, float score, int64_t id)
{
    if (isnan(score) || t->k == 0)
        return;
    if (t->n < t->k) {
        size_t i = t->n++;
        t->score[i] = score;
        t->id[i] = id;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!better(t->score[p], t->id[p], t->score[i], t->id[i]))
                break;
            swap(t, i, p);
            i = p;
        }
        return;
    }
    if (!better(score, id, t->score[0], t->id[0]))
        return;
    t->score[0] = score;
    t->id[0] = id;
    sift_down(t, 0, t->n);
}

size_t rs_topk_sort(struct rs_topk *t)
{
    /* Heap sort: moving the worst to the end leaves the best first. */
    for (size_t end = t->n; end > 1; end--) {
        swap(t, 0, end - 1);
        sift_down(t, 0, end - 1);
    }
    return t->n;
}
