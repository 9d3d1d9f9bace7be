/* vocab.c - vocabularies on top of strmap: counting, pruning, the TSV file
 * (schemas/vocab.md), lookups with hashed OOV buckets. */
#include "io/vocab.h"
#include "core/err.h"
#include "io/io.h"
#include "core/strmap.h"
#include "io/tsv.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

struct rs_vocab_counter {
    struct rs_strmap *map; /* token -> index into count */
    uint64_t *count;
    size_t cap;
};

struct rs_vocab {
    struct rs_strmap *map; /* token -> id - 1 */
    uint64_t *count;       /* count[id], id 0..V */
};

struct rs_vocab_counter *rs_vocab_counter_new(size_t expected)
{
    struct rs_vocab_counter *c = xcalloc(1, sizeof *c);
    c->map = rs_strmap_new(expected);
    return c;
}

void rs_vocab_counter_free(struct rs_vocab_counter *c)
{
    if (!c)
        return;
    rs_strmap_free(c->map);
    free(c->count);
    free(c);
}

void rs_vocab_counter_add(struct rs_vocab_counter *c, const char *tok, size_t len, uint64_t n)
{
    if (len == 0)
        return;
    int added;
    size_t i = (size_t)rs_strmap_put(c->map, tok, len, &added);
    if (added) {
        if (i == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 1024;
            c->count = xrealloc(c->count, c->cap * sizeof *c->count);
        }
        c->count[i] = 0;
    }
    c->count[i] += n;
}

size_t rs_vocab_counter_size(const struct rs_vocab_counter *c)
{
    return rs_strmap_size(c->map);
}

struct entry {
    uint64_t count;
    const char *tok;
    size_t len;
};

/* Most frequent first; equal counts in bytewise order, a prefix first. */
static int entry_cmp(const void *pa, const void *pb)
{
    const struct entry *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    size_t n = a->len < b->len ? a->len : b->len;
    int r = memcmp(a->tok, b->tok, n);
    if (r)
        return r;
    return (a->len > b->len) - (a->len < b->len);
}

static struct rs_vocab *vocab_new(size_t expected)
{
    struct rs_vocab *v = xcalloc(1, sizeof *v);
    v->map = rs_strmap_new(expected);
    v->count = xcalloc(expected + 1, sizeof *v->count);
    return v;
}

struct rs_vocab *rs_vocab_counter_finish(const struct rs_vocab_counter *c, uint64_t min_count,
                                         size_t max_size)
{
    size_t n = rs_strmap_size(c->map), kept = 0;
    struct entry *e = xmalloc((n ? n : 1) * sizeof *e);
    uint64_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        if (c->count[i] < min_count) {
            dropped += c->count[i];
            continue;
        }
        e[kept].count = c->count[i];
        e[kept].tok = rs_strmap_key(c->map, (int64_t)i, &e[kept].len);
        kept++;
    }
    qsort(e, kept, sizeof *e, entry_cmp);
    if (max_size && kept > max_size) {
        for (size_t i = max_size; i < kept; i++)
            dropped += e[i].count;
        kept = max_size;
    }
    struct rs_vocab *v = vocab_new(kept);
    v->count[0] = dropped;
    for (size_t i = 0; i < kept; i++) {
        rs_strmap_put(v->map, e[i].tok, e[i].len, NULL);
        v->count[i + 1] = e[i].count;
    }
    free(e);
    return v;
}

void rs_vocab_free(struct rs_vocab *v)
{
    if (!v)
        return;
    rs_strmap_free(v->map);
    free(v->count);
    free(v);
}

/* Checks one data row of a vocabulary file and adds its token. */
static int read_row(struct rs_vocab *v, struct rs_tsv *t, const int col[3], size_t want, size_t *cap)
{
    int64_t id, count;
    int rc = rs_tsv_get_i64(t, col[0], &id);
    if (rc < 0)
        return rc;
    if (id != (int64_t)want)
        return rs_tsv_errf(t, col[0], "expected id %zu (ids are 0, 1, 2... in order), got %lld", want,
                           (long long)id);
    if ((rc = rs_tsv_get_i64(t, col[2], &count)) < 0)
        return rc;
    if (count < 0)
        return rs_tsv_errf(t, col[2], "negative count %lld", (long long)count);
    const char *tok = rs_tsv_get(t, col[1]);
    size_t len = rs_tsv_len(t, col[1]);
    if (id == 0 && len != 0)
        return rs_tsv_errf(t, col[1], "id 0 is the OOV entry and has an empty token, got '%s'", tok);
    if (id > 0) {
        if (len == 0)
            return rs_tsv_errf(t, col[1], "empty token (only id 0 has one)");
        int added;
        int64_t first = rs_strmap_put(v->map, tok, len, &added);
        if (!added)
            return rs_tsv_errf(t, col[1], "token '%s' repeated (first at id %lld, line %lld)", tok,
                               (long long)first + 1, (long long)first + 3); /* id k is on line k + 2 */
    }
    if ((size_t)id >= *cap) {
        *cap *= 2;
        v->count = xrealloc(v->count, *cap * sizeof *v->count);
    }
    v->count[id] = (uint64_t)count;
    return 0;
}

/* A vocabulary from a table already open (columns id, token, count; others
 * are ignored); t stays open and owned by the caller. */
static int vocab_read(struct rs_vocab **out, struct rs_tsv *t)
{
    *out = NULL;
    static const char *const names[3] = { "id", "token", "count" };
    int col[3], rc = 0;
    for (int k = 0; k < 3 && rc == 0; k++)
        rc = rs_tsv_require(t, names[k], &col[k]);
    if (rc < 0)
        return rc;
    struct rs_vocab *v = vocab_new(0);
    size_t cap = 1, rows = 0;
    while ((rc = rs_tsv_next(t)) == 0 && (rc = read_row(v, t, col, rows, &cap)) == 0)
        rows++;
    if (rc == RS_ERR_EOF && rows == 0)
        rc = rs_err_set(RS_ERR_FORMAT, "'%s': vocabulary without the OOV row (id 0)", rs_tsv_name(t));
    if (rc != RS_ERR_EOF) {
        rs_vocab_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

int rs_vocab_load(struct rs_vocab **v, const char *path)
{
    struct rs_tsv *t;
    *v = NULL;
    int rc = rs_tsv_open(&t, path, 0);
    if (rc < 0)
        return rc;
    if (rs_tsv_ncols(t) == 0)
        rc = rs_err_set(RS_ERR_FORMAT, "'%s': empty vocabulary file", rs_tsv_name(t));
    else
        rc = vocab_read(v, t);
    rs_tsv_close(t);
    return rc;
}

int rs_vocab_write(const struct rs_vocab *v, struct rs_writer *w)
{
    int rc = rs_writer_printf(w, "id\ttoken\tcount\n0\t\t%llu\n", (unsigned long long)v->count[0]);
    for (size_t id = 1; rc == 0 && id <= rs_vocab_size(v); id++) {
        size_t len;
        const char *tok = rs_strmap_key(v->map, (int64_t)id - 1, &len);
        rc = rs_writer_printf(w, "%zu\t", id);
        rc = rc ? rc : rs_writer_put_field(w, tok, len);
        rc = rc ? rc : rs_writer_printf(w, "\t%llu\n", (unsigned long long)v->count[id]);
    }
    return rc;
}

size_t rs_vocab_size(const struct rs_vocab *v)
{
    return rs_strmap_size(v->map);
}

uint64_t rs_vocab_nids(const struct rs_vocab *v, uint64_t nbuckets)
{
    return 1 + rs_vocab_size(v) + nbuckets;
}

uint64_t rs_vocab_id(const struct rs_vocab *v, const char *tok, size_t len, uint64_t nbuckets)
{
    if (len == 0)
        return 0;
    int64_t i = rs_strmap_get(v->map, tok, len);
    if (i >= 0)
        return (uint64_t)i + 1;
    return nbuckets ? rs_vocab_size(v) + 1 + XXH3_64bits(tok, len) % nbuckets : 0;
}

const char *rs_vocab_token(const struct rs_vocab *v, uint64_t id, size_t *len)
{
    if (id == 0 || id > rs_vocab_size(v))
        return NULL;
    return rs_strmap_key(v->map, (int64_t)id - 1, len);
}

uint64_t rs_vocab_count(const struct rs_vocab *v, uint64_t id)
{
    return id <= rs_vocab_size(v) ? v->count[id] : 0;
}
