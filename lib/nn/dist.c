/* dist.c - summing a parameter set's gradient over the ranks of an MPI job
 * (core/dist.h): data-parallel training, where each rank back-propagated its
 * share of a global batch. */
#include "nn/nn.h"

#include <stdlib.h>
#include <string.h>

#include "core/dist.h"
#include "core/err.h"

/* Makes t's touched list the union, in rank order of first appearance, of
 * every rank's: the same list on every rank, so the packed rows line up. */
static void union_touched(struct rs_params *p, int i)
{
    struct rs_tensor *t = &p->t[i];
    uint32_t *all;
    size_t total;
    rs_dist_allgather_u32(t->touched, t->n_touched, &all, &total);
    for (size_t k = 0; k < t->n_touched; k++)
        t->touched_mark[t->touched[k]] = 0;
    t->n_touched = 0;
    for (size_t k = 0; k < total; k++)
        rs_params_touch(p, i, all[k]);
    free(all);
}

/* Copies the gradient to be summed between p->g and buf: dense tensors
 * whole, sparse ones by their touched rows. Returns the floats copied. */
static size_t pack(struct rs_params *p, float *buf, int out)
{
    size_t len = 0;
    for (size_t i = 0; i < p->n; i++) {
        const struct rs_tensor *t = &p->t[i];
        float *g = p->g + t->off;
        size_t rows = t->flags & RS_PARAM_SPARSE ? t->n_touched : 1;
        size_t width = t->flags & RS_PARAM_SPARSE ? t->cols : t->rows * t->cols;
        for (size_t k = 0; k < rows; k++, len += width) {
            float *row = g + (t->flags & RS_PARAM_SPARSE ? (size_t)t->touched[k] * t->cols : 0);
            if (buf)
                memcpy(out ? buf + len : row, out ? row : buf + len, width * sizeof *buf);
        }
    }
    return len;
}

void rs_params_sum_ranks(struct rs_params *p)
{
    if (rs_dist_size() == 1)
        return;
    for (size_t i = 0; i < p->n; i++)
        if (p->t[i].flags & RS_PARAM_SPARSE)
            union_touched(p, (int)i);
    size_t len = pack(p, NULL, 0);
    float *buf = xmalloc((len ? len : 1) * sizeof *buf);
    pack(p, buf, 1);
    rs_dist_sum_f32(buf, len);
    pack(p, buf, 0);
    free(buf);
}
