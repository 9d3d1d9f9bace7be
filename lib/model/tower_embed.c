/* tower_embed.c - chunked embedding of a feature table (see tower_embed.h). */
#include "model/tower_embed.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/strmap.h"
#include "core/threads.h"
#include "model/tower.h"
#include "io/tsv.h"

#include <stdlib.h>
#include <string.h>

/* Rows per forward pass: blocks of a fixed size whatever the thread count,
 * so a row goes through the same sgemm shapes, and gets the same bits, on
 * one thread or many. */
#define EMBED_BLOCK 256

struct embed_job {
    const struct rs_tower *t;
    int side;
    const struct rs_enc *e;
    const uint32_t *rows;
    struct rs_arena *arenas; /* one per thread */
    float *z;                /* (chunk, d) */
};

static void embed_blocks(void *ctx, size_t lo, size_t hi, int tid)
{
    const struct embed_job *j = ctx;
    struct rs_arena *a = &j->arenas[tid];
    size_t d = j->t->d;
    for (size_t b = lo; b < hi; b += EMBED_BLOCK) {
        size_t n = hi - b < EMBED_BLOCK ? hi - b : EMBED_BLOCK;
        struct rs_tower_act act;
        rs_arena_reset(a);
        rs_tower_forward(j->t, j->side, j->e, j->rows + b, n, NULL, a, &act);
        memcpy(j->z + b * d, act.z, n * d * sizeof *j->z);
    }
}

int rs_tower_embed_table(struct rs_tower *t, int side, struct rs_tsv *tb, const char *idcol, int threads,
                         struct rs_strmap *unique, rs_tower_embed_fn fn, void *ctx)
{
    int idc, rc;
    if ((rc = rs_tsv_require(tb, idcol, &idc)) < 0 || (rc = rs_tower_bind(t, side, tb, 1)) < 0)
        return rc;
    threads = threads > 1 ? threads : 1;
    struct rs_enc e;
    struct embed_job job = { t, side, &e, NULL, xmalloc((size_t)threads * sizeof *job.arenas),
                             xmalloc(RS_TOWER_EMBED_CHUNK * t->d * sizeof *job.z) };
    rs_enc_init(&e, t, side);
    for (int i = 0; i < threads; i++)
        rs_arena_init(&job.arenas[i], 0);
    char *ids[RS_TOWER_EMBED_CHUNK];
    size_t lens[RS_TOWER_EMBED_CHUNK];
    uint32_t rows[RS_TOWER_EMBED_CHUNK];
    for (size_t b = 0; b < RS_TOWER_EMBED_CHUNK; b++)
        rows[b] = (uint32_t)b;
    job.rows = rows;
    int eof = 0;
    while (rc == 0 && !eof) {
        rs_enc_reset(&e);
        while (e.n < RS_TOWER_EMBED_CHUNK && (rc = rs_tsv_next(tb)) == 0) {
            size_t n = rs_tsv_len(tb, idc);
            if (!n) {
                rc = rs_tsv_errf(tb, idc, "empty id");
                break;
            }
            int added = 1;
            if (unique)
                rs_strmap_put(unique, rs_tsv_get(tb, idc), n, &added);
            if (!added) {
                rc = rs_tsv_errf(tb, idc, "id '%.64s' given twice", rs_tsv_get(tb, idc));
                break;
            }
            ids[e.n] = xstrndup(rs_tsv_get(tb, idc), n);
            lens[e.n] = n;
            if ((rc = rs_enc_add(&e, t, side, tb, ids[e.n], n)) < 0) {
                free(ids[e.n]);
                break;
            }
        }
        if (rc == RS_ERR_EOF) {
            rc = 0;
            eof = 1;
        }
        if (rc == 0 && e.n) {
            rs_parallel_for_blocks(threads, e.n, EMBED_BLOCK, embed_blocks, &job);
            rc = fn(ctx, ids, lens, job.z, e.n);
        }
        for (size_t b = 0; b < e.n; b++)
            free(ids[b]);
    }
    rs_enc_free(&e);
    for (int i = 0; i < threads; i++)
        rs_arena_free(&job.arenas[i]);
    free(job.arenas);
    free(job.z);
    return rc;
}

int rs_tower_embed_fields(const struct rs_tower *t, int side, const char *const *names, const char *const *vals,
                          size_t nvals, const char *id, float *z)
{
    struct rs_enc e;
    rs_enc_init(&e, t, side);
    int rc = rs_enc_add_fields(&e, t, side, names, vals, nvals, id);
    if (rc == 0) {
        struct rs_arena a;
        struct rs_tower_act act;
        uint32_t row = 0;
        rs_arena_init(&a, 0);
        rs_tower_forward(t, side, &e, &row, 1, NULL, &a, &act);
        memcpy(z, act.z, t->d * sizeof *z);
        rs_arena_free(&a);
    }
    rs_enc_free(&e);
    return rc;
}
