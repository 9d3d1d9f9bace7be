/* rank_encode.c - rs-rank's streams: side tables, row encoding (feature
 * lookup, vocabularies, standardisation, cross hashing), labelled streams,
 * candidate scoring and evaluation (see rank_encode.h, schemas/rank.md). */
#include "model/rank_encode.h"
#include "io/rsb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/num.h"
#include "core/shard.h"
#include "io/io.h"
#include "eval/metrics.h"
#include "core/strmap.h"
#include "io/tsv.h"

void rs_rank_io_defaults(struct rs_rank_io *io)
{
    memset(io, 0, sizeof *io);
    io->user_col = "user_id";
    io->item_col = "item_id";
    io->event_col = "event";
    io->session_col = "session_id";
}

/* ---------------------------------------------------------------------------
 * Side tables
 */

struct rs_rank_table {
    char *path;
    struct rs_strmap *keys; /* key -> row */
    size_t ncols;
    char **names;
    char *buf; /* cells, NUL-terminated */
    size_t buflen, bufcap;
    uint64_t *cell; /* (rows, ncols) offsets into buf */
    size_t cellcap;
};

/* 2: a numeric feature of m reads column name; 1: a categorical or a cross. */
static int model_uses(const struct rs_rank_model *m, const char *name)
{
    for (size_t i = 0; i < m->nnum; i++)
        if (strcmp(m->num[i].name, name) == 0)
            return 2; /* numeric */
    for (size_t i = 0; i < m->ncat; i++)
        if (strcmp(m->cat[i].name, name) == 0)
            return 1;
    for (size_t i = 0; i < m->ncross; i++)
        for (int j = 0; j < m->cross[i].ncols; j++)
            if (strcmp(m->cross[i].cols[j], name) == 0)
                return 1;
    return 0;
}

/* 1 if s is a feature value: within +-RS_NUM_VEC_MAX, as it becomes a float
 * whose square is summed. */
static int parse_number(const char *s, double *v)
{
    return rs_num_vec_value(s, strlen(s), v) == 0;
}

static void buf_add(struct rs_rank_table *t, const char *s, size_t n)
{
    if (t->buflen + n + 1 > t->bufcap) {
        t->bufcap = (t->buflen + n + 1) * 2;
        t->buf = xrealloc(t->buf, t->bufcap);
    }
    memcpy(t->buf + t->buflen, s, n);
    t->buf[t->buflen + n] = 0;
    t->buflen += n + 1;
}

int rs_rank_table_load(struct rs_rank_table **out, const char *path, const char *key_col,
                       const struct rs_rank_model *m)
{
    struct rs_tsv *in;
    int rc = rs_tsv_open(&in, path, 0), key;
    if (rc < 0)
        return rc;
    if ((rc = rs_tsv_require(in, key_col, &key)) < 0) {
        rs_tsv_close(in);
        return rc;
    }
    struct rs_rank_table *t = xcalloc(1, sizeof *t);
    t->path = xstrdup(path);
    t->keys = rs_strmap_new(1024);
    int *src = xmalloc((rs_tsv_ncols(in) + 1) * sizeof *src), *numeric = xmalloc((rs_tsv_ncols(in) + 1) * sizeof *numeric);
    t->names = xmalloc((rs_tsv_ncols(in) + 1) * sizeof *t->names);
    for (size_t c = 0; c < rs_tsv_ncols(in); c++) {
        int use = (int)c != key ? model_uses(m, rs_tsv_colname(in, c)) : 0;
        if (use) {
            src[t->ncols] = (int)c;
            numeric[t->ncols] = use == 2;
            t->names[t->ncols++] = xstrdup(rs_tsv_colname(in, c));
        }
    }
    uint64_t *first = NULL;
    size_t nfirst = 0;
    while ((rc = rs_tsv_next(in)) == 0) {
        int64_t r = rs_strmap_put(t->keys, rs_tsv_get(in, key), rs_tsv_len(in, key), NULL);
        if ((rc = rs_tsv_key_once(in, key, (size_t)r, &first, &nfirst)) < 0)
            break;
        if ((size_t)(r + 1) * t->ncols > t->cellcap) {
            t->cellcap = ((size_t)r + 1) * t->ncols * 2 + 16;
            t->cell = xrealloc(t->cell, t->cellcap * sizeof *t->cell);
        }
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = rs_tsv_get(in, src[c]);
            double v;
            if (numeric[c] && *s && !parse_number(s, &v)) {
                rc = rs_tsv_errf(in, src[c], "%s", rs_err_msg());
                break;
            }
            t->cell[(size_t)r * t->ncols + c] = t->buflen;
            buf_add(t, s, rs_tsv_len(in, src[c]));
        }
        if (rc < 0)
            break;
    }
    free(first);
    free(src);
    free(numeric);
    rs_tsv_close(in);
    if (rc != RS_ERR_EOF) {
        rs_rank_table_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void rs_rank_table_free(struct rs_rank_table *t)
{
    if (!t)
        return;
    for (size_t c = 0; c < t->ncols; c++)
        free(t->names[c]);
    free(t->names);
    rs_strmap_free(t->keys);
    free(t->buf);
    free(t->cell);
    free(t->path);
    free(t);
}

size_t rs_rank_table_rows(const struct rs_rank_table *t)
{
    return rs_strmap_size(t->keys);
}

static int table_col(const struct rs_rank_table *t, const char *name)
{
    for (size_t c = 0; t && c < t->ncols; c++)
        if (strcmp(t->names[c], name) == 0)
            return (int)c;
    return -1;
}

/* ---------------------------------------------------------------------------
 * Encoding
 */

enum { SRC_NONE = -1, SRC_ROW = 0, SRC_ITEM = 1, SRC_USER = 2, SRC_TOWER = 3 };

struct src {
    int where, idx;
};

struct rs_rank_fit {
    size_t ncat;
    struct rs_strmap **maps; /* provisional vocabularies: value -> id - 1 */
};

struct enc {
    const struct rs_rank_model *m;
    const struct rs_rank_io *io;
    struct rs_rank_fit *fit;
    struct rs_tsv *t;                /* rows come from this stream, or, when NULL, */
    const struct rs_rank_rows *rows; /* from rows: row r */
    size_t r;
    int ucol, icol;
    struct src *num, *cat, *cross; /* cross: (ncross, 3) */
    int64_t urow, irow;            /* joined table rows of the current row, -1 none */
};

/* Column of the current row's source named name, -1 when absent. */
static int row_col(const struct enc *e, const char *name)
{
    if (e->t)
        return rs_tsv_col(e->t, name);
    for (size_t c = 0; c < e->rows->ncols; c++)
        if (strcmp(e->rows->names[c], name) == 0)
            return (int)c;
    return -1;
}

static const char *row_get(const struct enc *e, int c, size_t *len)
{
    if (e->t) {
        *len = rs_tsv_len(e->t, c);
        return rs_tsv_get(e->t, c);
    }
    const char *v = e->rows->vals[e->r * e->rows->ncols + (size_t)c];
    *len = strlen(v);
    return v;
}

static struct src resolve(struct enc *e, const char *name, struct rs_rank_read_stats *st)
{
    if (e->io->user_emb && e->io->item_emb && strcmp(name, RS_RANK_TOWER_SCORE) == 0)
        return (struct src){SRC_TOWER, 0};
    int c = row_col(e, name);
    if (c >= 0)
        return (struct src){SRC_ROW, c};
    if ((c = table_col(e->io->items, name)) >= 0)
        return (struct src){SRC_ITEM, c};
    if ((c = table_col(e->io->users, name)) >= 0)
        return (struct src){SRC_USER, c};
    if (st && !strstr(st->missing, name) && strlen(st->missing) + strlen(name) + 3 < sizeof st->missing) {
        if (*st->missing)
            strcat(st->missing, ", ");
        strcat(st->missing, name);
    }
    return (struct src){SRC_NONE, -1};
}

static void enc_close(struct enc *e)
{
    free(e->num), free(e->cat), free(e->cross);
}

/* Resolves every column of the model against stream t (or rows); when
 * fitting, a column found nowhere is an error. */
static int enc_open(struct enc *e, const struct rs_rank_model *m, struct rs_tsv *t,
                    const struct rs_rank_rows *rows, const struct rs_rank_io *io, struct rs_rank_fit *fit,
                    struct rs_rank_read_stats *st)
{
    memset(e, 0, sizeof *e);
    e->m = m, e->io = io, e->fit = fit, e->t = t, e->rows = rows;
    e->ucol = row_col(e, io->user_col);
    e->icol = row_col(e, io->item_col);
    e->num = xmalloc((m->nnum + 1) * sizeof *e->num);
    e->cat = xmalloc((m->ncat + 1) * sizeof *e->cat);
    e->cross = xmalloc((m->ncross * 3 + 1) * sizeof *e->cross);
    for (size_t i = 0; i < m->nnum; i++)
        e->num[i] = resolve(e, m->num[i].name, st);
    for (size_t i = 0; i < m->ncat; i++)
        e->cat[i] = resolve(e, m->cat[i].name, st);
    for (size_t i = 0; i < m->ncross; i++)
        for (int j = 0; j < m->cross[i].ncols; j++)
            e->cross[i * 3 + j] = resolve(e, m->cross[i].cols[j], st);
    if (fit && *st->missing)
        return rs_err_set(RS_ERR_FORMAT, "'%s': column '%s' is neither in the input nor in the users or items table",
                          rs_tsv_name(t), st->missing);
    return 0;
}

static const char *field(const struct enc *e, struct src s, size_t *len)
{
    const struct rs_rank_table *tb = s.where == SRC_ITEM ? e->io->items : e->io->users;
    int64_t r = s.where == SRC_ITEM ? e->irow : e->urow;
    switch (s.where) {
    case SRC_ROW:
        return row_get(e, s.idx, len);
    case SRC_ITEM:
    case SRC_USER:
        if (r >= 0) {
            const char *v = tb->buf + tb->cell[(size_t)r * tb->ncols + (size_t)s.idx];
            *len = strlen(v);
            return v;
        }
        break;
    }
    *len = 0;
    return "";
}

/* Dot product of the row's user and item embeddings (the user's given with
 * rows); NaN (missing) when either has none. */
static double tower_score(const struct enc *e)
{
    const struct rs_embset *u = e->io->user_emb, *it = e->io->item_emb;
    if (e->ucol < 0 || e->icol < 0)
        return NAN;
    size_t len;
    const char *id = row_get(e, e->icol, &len);
    int64_t b = rs_strmap_get(it->ids, id, len);
    const float *x = e->rows ? e->rows->user_vec : NULL;
    if (!e->rows) {
        id = row_get(e, e->ucol, &len);
        int64_t a = rs_strmap_get(u->ids, id, len);
        x = a >= 0 ? u->x + (size_t)a * u->dims : NULL;
    }
    if (!x || b < 0)
        return NAN;
    const float *y = it->x + (size_t)b * it->dims;
    double dot = 0;
    for (uint32_t k = 0; k < it->dims; k++)
        dot += (double)x[k] * y[k];
    return dot;
}

static int64_t join(const struct rs_rank_table *tb, const struct enc *e, int col)
{
    if (!tb || col < 0)
        return -1;
    size_t len;
    const char *key = row_get(e, col, &len);
    return rs_strmap_get(tb->keys, key, len);
}

/* Encodes the current row (of e->t, or row e->r of e->rows) into row i of d. */
static int encode(struct enc *e, struct rs_rank_data *d, size_t i)
{
    const struct rs_rank_model *m = e->m;
    e->irow = join(e->io->items, e, e->icol);
    e->urow = join(e->io->users, e, e->ucol);
    size_t len;
    for (size_t f = 0; f < m->ncat; f++) {
        const char *v = field(e, e->cat[f], &len);
        uint32_t id = 0;
        if (len && e->fit)
            id = (uint32_t)rs_strmap_put(e->fit->maps[f], v, len, NULL) + 1;
        else if (len)
            id = (uint32_t)(rs_strmap_get(m->cat[f].vocab, v, len) + 1);
        d->cat[i * d->ncat + f] = id;
    }
    for (size_t f = 0; f < m->nnum; f++) {
        const char *v = field(e, e->num[f], &len);
        double x = e->num[f].where == SRC_TOWER ? tower_score(e) : NAN;
        if (len && !parse_number(v, &x))
            return e->t ? rs_tsv_errf(e->t, e->num[f].idx, "%s", rs_err_msg())
                        : rs_err_set(RS_ERR_USAGE, "parameter '%s': %s", e->rows->names[e->num[f].idx],
                                     rs_err_msg());
        float *out = &d->num[i * d->nnum + f];
        if (!e->fit)
            *out = rs_rank_numeric_value(&m->num[f], x);
        else /* raw f(x) until rs_rank_fit_finish has the statistics and bin edges */
            *out = rs_rank_numeric_raw(&m->num[f], x);
        if (!e->fit && m->num[f].slot >= 0)
            d->bin[i * d->nbin + (size_t)m->num[f].slot] =
                rs_rank_numeric_bin(&m->num[f], rs_rank_numeric_raw(&m->num[f], x));
    }
    for (size_t k = 0; k < m->ncross; k++) {
        const char *vals[RS_RANK_MAX_CROSS_COLS];
        size_t lens[RS_RANK_MAX_CROSS_COLS];
        for (int j = 0; j < m->cross[k].ncols; j++)
            vals[j] = field(e, e->cross[k * 3 + j], &lens[j]);
        d->cross[i * d->ncross + k] = rs_rank_cross_hash(&m->cross[k], vals, lens, m->buckets);
    }
    return 0;
}

struct rs_rank_fit *rs_rank_fit_new(const struct rs_rank_model *m)
{
    struct rs_rank_fit *f = xcalloc(1, sizeof *f);
    f->ncat = m->ncat;
    f->maps = xcalloc(m->ncat + 1, sizeof *f->maps);
    for (size_t i = 0; i < m->ncat; i++)
        f->maps[i] = rs_strmap_new(1024);
    return f;
}

void rs_rank_fit_free(struct rs_rank_fit *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->ncat; i++)
        rs_strmap_free(f->maps[i]);
    free(f->maps);
    free(f);
}

void rs_rank_fit_finish(struct rs_rank_model *m, struct rs_rank_fit *f, struct rs_rank_data *d,
                        size_t n_train)
{
    for (size_t c = 0; c < m->ncat; c++) {
        size_t nv = rs_strmap_size(f->maps[c]);
        uint32_t *count = xcalloc(nv + 1, sizeof *count), *remap = xcalloc(nv + 1, sizeof *remap);
        for (size_t i = 0; i < n_train; i++)
            count[d->cat[i * d->ncat + c]]++;
        rs_strmap_free(m->cat[c].vocab);
        m->cat[c].vocab = rs_strmap_new(nv + 1);
        for (size_t v = 1; v <= nv; v++)
            if (count[v] >= m->cat[c].min_count) {
                size_t len;
                const char *key = rs_strmap_key(f->maps[c], (int64_t)v - 1, &len);
                remap[v] = (uint32_t)rs_strmap_put(m->cat[c].vocab, key, len, NULL) + 1;
            }
        for (size_t i = 0; i < d->n; i++)
            d->cat[i * d->ncat + c] = remap[d->cat[i * d->ncat + c]];
        free(count), free(remap);
    }
    float *fx = xmalloc((n_train + 1) * sizeof *fx);
    for (size_t c = 0; c < m->nnum; c++) {
        struct rs_rank_numeric *nf = &m->num[c];
        if (nf->slot >= 0) { /* edges from the training rows, then every row's bin */
            for (size_t i = 0; i < n_train; i++)
                fx[i] = d->num[i * d->nnum + c];
            rs_rank_numeric_fit_edges(nf, fx, n_train);
            for (size_t i = 0; i < d->n; i++)
                d->bin[i * d->nbin + (size_t)nf->slot] = rs_rank_numeric_bin(nf, d->num[i * d->nnum + c]);
        }
        double s = 0, s2 = 0, n = 0;
        for (size_t i = 0; i < n_train; i++) {
            double x = d->num[i * d->nnum + c];
            if (!isnan(x))
                s += x, s2 += x * x, n++;
        }
        double mean = n ? s / n : 0, var = n ? s2 / n - mean * mean : 1;
        m->num[c].mean = (float)mean;
        m->num[c].std = (float)(var > 1e-12 ? sqrt(var) : 1e-6);
        for (size_t i = 0; i < d->n; i++) {
            float *x = &d->num[i * d->nnum + c];
            *x = isnan(*x) ? 0 : (float)((*x - mean) / m->num[c].std);
        }
    }
    free(fx);
}

struct rs_rank_data rs_rank_data_view(const struct rs_rank_data *d, size_t start, size_t n)
{
    struct rs_rank_data v = *d;
    RS_ASSERT(start + n <= d->n);
    v.n = n;
    v.cap = 0;
    v.cat += start * d->ncat;
    v.bin += start * d->nbin;
    v.num += start * d->nnum;
    v.cross += start * d->ncross;
    v.y += 2 * start;
    v.group += start;
    return v;
}

/* ---------------------------------------------------------------------------
 * Labelled streams
 */

static int label_value(struct rs_tsv *t, int col, float *y)
{
    if (col < 0)
        return 0;
    const char *s = rs_tsv_get(t, col);
    double v;
    if (!parse_number(s, &v) || v < 0 || v > 1)
        return rs_tsv_errf(t, col, "expected 0 or 1, got '%s'", s);
    *y = (float)v;
    return 0;
}

/* Key of an event for joining clicks to impressions: session, user, item. */
static size_t event_key(char **buf, size_t *cap, struct rs_tsv *t, const int *cols, int n)
{
    size_t len = 0;
    for (int j = 0; j < n; j++) {
        if (cols[j] < 0)
            continue;
        size_t l = rs_tsv_len(t, cols[j]);
        if (len + l + 1 > *cap) {
            *cap = (len + l + 1) * 2;
            *buf = xrealloc(*buf, *cap);
        }
        memcpy(*buf + len, rs_tsv_get(t, cols[j]), l);
        len += l;
        (*buf)[len++] = '\x1f';
    }
    return len;
}

struct reader {
    struct rs_tsv *t;
    struct enc e;
    int click, booking, event, group;
    int keycols[3];
    struct rs_strmap *keys, *groups;
    int64_t *ex; /* strmap id of a key -> example index */
    size_t excap;
    char *kbuf;
    size_t kcap;
};

static void reader_close(struct reader *r)
{
    enc_close(&r->e);
    rs_strmap_free(r->keys);
    rs_strmap_free(r->groups);
    free(r->ex);
    free(r->kbuf);
    rs_tsv_close(r->t);
}

static int reader_open(struct reader *r, const struct rs_rank_model *m, const char *path,
                       const struct rs_rank_io *io, struct rs_rank_fit *f, int need_group,
                       struct rs_rank_read_stats *st)
{
    memset(r, 0, sizeof *r);
    int rc = rs_tsv_open(&r->t, path, 0);
    if (rc < 0)
        return rc;
    if (rs_tsv_ncols(r->t) == 0)
        return 0; /* empty input: no rows */
    r->click = rs_tsv_col(r->t, "click");
    r->booking = rs_tsv_col(r->t, "booking");
    r->event = -1;
    if (r->click < 0 && (rc = rs_tsv_require(r->t, io->event_col, &r->event)) < 0)
        return rs_err_set(RS_ERR_FORMAT, "'%s': no 'click' label column and no '%s' column",
                          rs_tsv_name(r->t), io->event_col);
    if (r->event >= 0) {
        r->keycols[0] = rs_tsv_col(r->t, io->session_col);
        if ((rc = rs_tsv_require(r->t, io->user_col, &r->keycols[1])) < 0 ||
            (rc = rs_tsv_require(r->t, io->item_col, &r->keycols[2])) < 0)
            return rc;
        r->keys = rs_strmap_new(1 << 16);
    }
    r->group = -1;
    if (need_group) {
        const char *g = io->group_col ? io->group_col : io->user_col;
        if ((rc = rs_tsv_require(r->t, g, &r->group)) < 0)
            return rc;
        r->groups = rs_strmap_new(1024);
    }
    return enc_open(&r->e, m, r->t, NULL, io, f, st);
}

/* Reads every row into d; with events, impressions become examples and
 * clicks/bookings label them. */
static int reader_run(struct reader *r, struct rs_rank_data *d, struct rs_rank_read_stats *st)
{
    int rc;
    if (rs_tsv_ncols(r->t) == 0)
        return 0;
    while ((rc = rs_tsv_next(r->t)) == 0) {
        st->rows++;
        const char *ev = r->event >= 0 ? rs_tsv_get(r->t, r->event) : NULL;
        if (ev && strcmp(ev, "impression") != 0) {
            int h = strcmp(ev, "click") == 0 ? 0 : strcmp(ev, "booking") == 0 ? 1 : -1;
            if (h < 0)
                continue;
            size_t len = event_key(&r->kbuf, &r->kcap, r->t, r->keycols, 3);
            int64_t id = rs_strmap_get(r->keys, r->kbuf, len);
            if (id < 0)
                st->unmatched++;
            else
                d->y[2 * (size_t)r->ex[id] + (size_t)h] = 1;
            continue;
        }
        size_t i = rs_rank_data_push(d);
        st->examples++;
        if ((rc = encode(&r->e, d, i)) < 0)
            return rc;
        if (ev) {
            size_t len = event_key(&r->kbuf, &r->kcap, r->t, r->keycols, 3);
            int64_t id = rs_strmap_put(r->keys, r->kbuf, len, NULL);
            if ((size_t)id >= r->excap) {
                r->excap = ((size_t)id + 1) * 2;
                r->ex = xrealloc(r->ex, r->excap * sizeof *r->ex);
            }
            r->ex[id] = (int64_t)i;
        } else if ((rc = label_value(r->t, r->click, &d->y[2 * i])) < 0 ||
                   (rc = label_value(r->t, r->booking, &d->y[2 * i + 1])) < 0) {
            return rc;
        }
        if (r->group >= 0)
            d->group[i] = (uint32_t)rs_strmap_put(r->groups, rs_tsv_get(r->t, r->group),
                                                  rs_tsv_len(r->t, r->group), NULL);
    }
    return rc == RS_ERR_EOF ? 0 : rc;
}

int rs_rank_read(const struct rs_rank_model *m, const char *path, const struct rs_rank_io *io,
                 struct rs_rank_fit *f, struct rs_rank_data *d, struct rs_rank_read_stats *st)
{
    struct reader r; /* the softmax objective's lists are the groups */
    int rc = reader_open(&r, m, path, io, f, m->objective == RS_RANK_SOFTMAX, st);
    if (rc == 0)
        rc = reader_run(&r, d, st);
    reader_close(&r);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Scoring
 */

struct scorer {
    struct rs_tsv *t;
    struct enc e;
    size_t ncols;
    int cols[4]; /* rank, score, p_click, p_booking: input column or -1 */
    struct rs_rank_data cur;
    char *buf;   /* buffered rows: fields NUL-terminated, back to back */
    size_t len, cap;
    size_t *start; /* (cur.n) offset of each row in buf */
    size_t startcap;
    float *p;
    uint32_t *order;
    size_t pcap;
};

static const char *const out_cols[4] = {"rank", "score", "p_click", "p_booking"};

static int by_desc(const void *a, const void *b, void *ctx)
{
    const float *p = ctx;
    uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
    float si = p[2 * i] + p[2 * i + 1], sj = p[2 * j] + p[2 * j + 1];
    if (si != sj)
        return si < sj ? 1 : -1;
    return (i > j) - (i < j);
}

/* Orders the rows of one list by score descending, ties by input order. */
static void order_by_score(uint32_t *order, const float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    qsort_r(order, n, sizeof *order, by_desc, (void *)p);
}

static int flush_user(struct rs_rank_model *m, struct scorer *s, size_t keep, struct rs_writer *w)
{
    size_t n = s->cur.n;
    if (n == 0)
        return 0;
    if (n > s->pcap) {
        s->pcap = n * 2;
        s->p = xrealloc(s->p, s->pcap * 2 * sizeof *s->p);
        s->order = xrealloc(s->order, s->pcap * sizeof *s->order);
    }
    rs_rank_predict(m, &s->cur, s->p);
    order_by_score(s->order, s->p, n);
    int rc = 0;
    for (size_t k = 0; k < n && (keep == 0 || k < keep) && rc == 0; k++) {
        uint32_t i = s->order[k];
        double v[4] = {(double)(k + 1), (double)s->p[2 * i] + s->p[2 * i + 1], s->p[2 * i], s->p[2 * i + 1]};
        const char *f = s->buf + s->start[i];
        for (size_t c = 0; c < s->ncols; c++) {
            size_t l = strlen(f);
            int which = -1;
            for (int j = 0; j < 4; j++)
                if (s->cols[j] == (int)c)
                    which = j;
            if (c)
                rc |= rs_writer_putc(w, '\t');
            if (which == 0)
                rc |= rs_writer_printf(w, "%zu", k + 1);
            else if (which > 0)
                rc |= rs_writer_put_float(w, v[which]);
            else
                rc |= rs_writer_put_field(w, f, l);
            f += l + 1;
        }
        for (int j = 0; j < 4; j++) {
            if (s->cols[j] >= 0)
                continue;
            rc |= rs_writer_putc(w, '\t');
            rc |= j == 0 ? rs_writer_printf(w, "%zu", k + 1) : rs_writer_put_float(w, v[j]);
        }
        rc |= rs_writer_putc(w, '\n');
    }
    s->cur.n = 0;
    s->len = 0;
    return rc;
}

static void buffer_row(struct scorer *s)
{
    size_t i = s->cur.n - 1;
    if (i >= s->startcap) {
        s->startcap = (i + 1) * 2;
        s->start = xrealloc(s->start, s->startcap * sizeof *s->start);
    }
    s->start[i] = s->len;
    for (size_t c = 0; c < s->ncols; c++) {
        size_t l = rs_tsv_len(s->t, (int)c);
        if (s->len + l + 1 > s->cap) {
            s->cap = (s->len + l + 1) * 2;
            s->buf = xrealloc(s->buf, s->cap);
        }
        memcpy(s->buf + s->len, rs_tsv_get(s->t, (int)c), l);
        s->buf[s->len + l] = 0;
        s->len += l + 1;
    }
}

static int score_header(struct scorer *s, struct rs_writer *w)
{
    int rc = 0;
    for (size_t c = 0; c < s->ncols; c++) {
        const char *nm = rs_tsv_colname(s->t, c);
        rc |= (c ? rs_writer_putc(w, '\t') : 0) | rs_writer_put_field(w, nm, strlen(nm));
    }
    for (int j = 0; j < 4; j++)
        if (s->cols[j] < 0)
            rc |= rs_writer_putc(w, '\t') | rs_writer_put_text(w, out_cols[j]);
    return rc | rs_writer_putc(w, '\n');
}

int rs_rank_score(struct rs_rank_model *m, const char *path, const struct rs_rank_io *io,
                  const struct rs_shard *shard, size_t keep, struct rs_writer *w,
                  struct rs_rank_read_stats *st)
{
    struct scorer s;
    memset(&s, 0, sizeof s);
    int rc = rs_tsv_open(&s.t, path, 0), ucol = -1;
    if (rc < 0)
        return rc;
    if (rs_tsv_ncols(s.t) == 0) {
        rs_tsv_close(s.t);
        return rs_writer_put_text(w, io->user_col) | rs_writer_putc(w, '\t') | rs_writer_put_text(w, io->item_col) |
               rs_writer_printf(w, "\trank\tscore\tp_click\tp_booking\n");
    }
    s.ncols = rs_tsv_ncols(s.t);
    struct rs_strmap *done = rs_strmap_new(1024);
    char *cur_user = NULL;
    size_t cur_len = 0;
    int skip = 0; /* the current user is in another shard */
    rs_rank_data_init(&s.cur, m);
    if ((rc = rs_tsv_require(s.t, io->user_col, &ucol)) < 0 || (rc = rs_tsv_require(s.t, io->item_col, &(int){0})) < 0 ||
        (rc = enc_open(&s.e, m, s.t, NULL, io, NULL, st)) < 0)
        goto out;
    for (int j = 0; j < 4; j++)
        s.cols[j] = rs_tsv_col(s.t, out_cols[j]);
    if ((rc = score_header(&s, w)) < 0)
        goto out;
    while ((rc = rs_tsv_next(s.t)) == 0) {
        const char *u = rs_tsv_get(s.t, ucol);
        size_t ul = rs_tsv_len(s.t, ucol);
        st->rows++;
        if (!cur_user || ul != cur_len || memcmp(u, cur_user, ul) != 0) {
            if ((rc = flush_user(m, &s, keep, w)) < 0)
                break;
            int added;
            rs_strmap_put(done, u, ul, &added);
            if (!added) {
                rc = rs_tsv_errf(s.t, ucol, "rows of user '%s' are not contiguous", u);
                break;
            }
            free(cur_user);
            cur_user = xstrndup(u, ul);
            cur_len = ul;
            skip = shard && !rs_shard_has(shard, u, ul);
        }
        if (skip)
            continue;
        size_t i = rs_rank_data_push(&s.cur);
        st->examples++;
        if ((rc = encode(&s.e, &s.cur, i)) < 0)
            break;
        buffer_row(&s);
    }
    if (rc == RS_ERR_EOF)
        rc = flush_user(m, &s, keep, w);
out:
    free(cur_user);
    rs_strmap_free(done);
    enc_close(&s.e);
    rs_rank_data_free(&s.cur);
    free(s.buf), free(s.start), free(s.p), free(s.order);
    rs_tsv_close(s.t);
    return rc;
}

int rs_rank_uses(const struct rs_rank_model *m, const char *column)
{
    return model_uses(m, column) != 0;
}

int rs_rank_score_rows(struct rs_rank_model *m, const struct rs_rank_io *io, const struct rs_rank_rows *rows,
                       float *p, uint32_t *order, struct rs_rank_read_stats *st)
{
    struct enc e;
    struct rs_rank_data d;
    rs_rank_data_init(&d, m);
    int rc = enc_open(&e, m, NULL, rows, io, NULL, st);
    for (e.r = 0; rc == 0 && e.r < rows->n; e.r++)
        rc = encode(&e, &d, rs_rank_data_push(&d));
    if (rc == 0 && rows->n) {
        rs_rank_predict(m, &d, p);
        order_by_score(order, p, rows->n);
    }
    enc_close(&e);
    rs_rank_data_free(&d);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Evaluation
 */

/* Adds ndcg@k and precision@k of one list (rows idx[0..n) in ranked order)
 * to sums (2 * nk: ndcg then precision). */
static void list_metrics(const struct rs_rank_data *d, const uint32_t *idx, size_t n,
                         const size_t *ks, size_t nk, unsigned char *rel, double *out, double *sums)
{
    size_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        rel[i] = d->y[2 * idx[i]] > 0.5f || d->y[2 * idx[i] + 1] > 0.5f;
        nt += rel[i];
    }
    struct rs_metrics_list l = {.n = n, .rel = rel, .n_truth = nt};
    rs_metrics_accuracy(&l, ks, nk, out);
    for (size_t j = 0; j < nk; j++) {
        sums[j] += out[RS_MET_NDCG * nk + j];
        sums[nk + j] += out[RS_MET_PRECISION * nk + j];
    }
}

static int put_metric(struct rs_writer *w, const char *model, const char *metric, size_t k, double v)
{
    int rc = rs_writer_put_text(w, model) | rs_writer_putc(w, '\t') | rs_writer_put_text(w, metric) |
             rs_writer_putc(w, '\t');
    if (k)
        rc |= rs_writer_printf(w, "%zu", k);
    return rc | rs_writer_putc(w, '\t') | rs_writer_put_float(w, v) | rs_writer_putc(w, '\n');
}

int rs_rank_eval(struct rs_rank_model *m, const char *path, const struct rs_rank_io *io,
                 const size_t *ks, size_t nk, struct rs_writer *w, struct rs_rank_read_stats *st)
{
    struct rs_rank_data d;
    struct reader r;
    rs_rank_data_init(&d, m);
    int rc = reader_open(&r, m, path, io, NULL, 1, st);
    if (rc == 0)
        rc = reader_run(&r, &d, st);
    size_t ng = r.groups ? rs_strmap_size(r.groups) : 0;
    reader_close(&r);
    if (rc < 0) {
        rs_rank_data_free(&d);
        return rc;
    }
    float *p = xmalloc((2 * d.n + 1) * sizeof *p);
    rs_rank_predict(m, &d, p);
    rc = rs_writer_printf(w, "model\tmetric\tk\tvalue\n");
    static const char *const head[2] = {"click", "booking"};
    for (int h = 0; h < 2; h++) {
        char name[32];
        snprintf(name, sizeof name, "auc_%s", head[h]);
        rc |= put_metric(w, "rs-rank", name, 0, rs_rank_auc(p + h, d.y + h, d.n, 2));
        snprintf(name, sizeof name, "logloss_%s", head[h]);
        rc |= put_metric(w, "rs-rank", name, 0, rs_rank_logloss(p + h, d.y + h, d.n, 2));
    }
    /* lists: rows grouped by group id, input order kept (counting sort) */
    size_t *first = xcalloc(ng + 2, sizeof *first);
    uint32_t *rows = xmalloc((d.n + 1) * sizeof *rows), *ord = xmalloc((d.n + 1) * sizeof *ord);
    float *lp = xmalloc((2 * d.n + 1) * sizeof *lp);
    for (size_t i = 0; i < d.n; i++)
        first[d.group[i] + 1]++;
    for (size_t g = 0; g < ng; g++)
        first[g + 1] += first[g];
    size_t *fill = xmalloc((ng + 1) * sizeof *fill);
    memcpy(fill, first, (ng + 1) * sizeof *fill);
    for (size_t i = 0; i < d.n; i++)
        rows[fill[d.group[i]]++] = (uint32_t)i;
    unsigned char *rel = xmalloc(d.n + 1);
    double *out = xmalloc(RS_MET_NACC * (nk + 1) * sizeof *out);
    double *sum_m = xcalloc(2 * nk + 1, sizeof *sum_m), *sum_i = xcalloc(2 * nk + 1, sizeof *sum_i);
    size_t nlists = 0;
    for (size_t g = 0; g < ng; g++) {
        const uint32_t *idx = rows + first[g];
        size_t n = first[g + 1] - first[g], pos = 0;
        for (size_t i = 0; i < n; i++)
            pos += d.y[2 * idx[i]] > 0.5f || d.y[2 * idx[i] + 1] > 0.5f;
        if (pos == 0)
            continue;
        nlists++;
        list_metrics(&d, idx, n, ks, nk, rel, out, sum_i);
        for (size_t i = 0; i < n; i++)
            lp[2 * i] = p[2 * idx[i]], lp[2 * i + 1] = p[2 * idx[i] + 1];
        order_by_score(ord, lp, n);
        for (size_t i = 0; i < n; i++)
            ord[i] = idx[ord[i]];
        list_metrics(&d, ord, n, ks, nk, rel, out, sum_m);
    }
    for (int who = 0; who < 2; who++) {
        const char *model = who ? "input" : "rs-rank";
        double *s = who ? sum_i : sum_m;
        for (size_t j = 0; j < nk; j++)
            rc |= put_metric(w, model, "ndcg", ks[j], nlists ? s[j] / (double)nlists : 0);
        for (size_t j = 0; j < nk; j++)
            rc |= put_metric(w, model, "precision", ks[j], nlists ? s[nk + j] / (double)nlists : 0);
    }
    rc |= put_metric(w, "rs-rank", "lists", 0, (double)nlists);
    free(first), free(fill), free(rows), free(ord), free(lp), free(rel), free(out), free(sum_m),
        free(sum_i), free(p);
    rs_rank_data_free(&d);
    return rc;
}
