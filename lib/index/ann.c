/* ann.c - IVF + int8 or 4-bit PQ residual codes + exact re-ranking (see
 * ann.h; the PQ codes, their training and fast scan are pq4.c's).
 *
 * Score of item x in partition l for query q, with r = x − c_l stored as
 * int8 codes e and scale s (r ≈ s·e):  q·x = q·c_l + q·r ≈ q·c_l + s·(q·e).
 * Queries are processed partition-major (as FAISS's batched IVF scan does
 * for GPUs): each worker inverts its queries' probe lists, decodes a
 * partition's codes once to f32 (s·e) and scores them against every query
 * that probes it with one sgemm, so the scan reads 1 byte per dimension and
 * runs at BLAS speed. The best `rerank` approximate scores of each query
 * are re-scored with the stored f32 vectors, which makes the final order
 * exact among the candidates. A pq4 index is scanned the same way, partition
 * by partition, but each query scores the partition's packed codes with its
 * own lookup table (the codes stay in L1 across the partition's queries).
 */
#include "index/ann.h"
#include "core/err.h"
#include "io/io.h"
#include "index/kmeans.h"
#include "index/knn.h"
#include "index/pq4.h"
#include "core/rng.h"
#include "core/strmap.h"
#include "nn/tensor.h"
#include "core/threads.h"
#include "core/topk.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define ANN_SIGNATURE "\x89RSX\r\n\x1a\n"
/* int8 indexes are written as 1.0 (readable by 1.x readers); pq4 needs 2.0. */
#define ANN_VERSION_MAJOR 2
#define ANN_VERSION_MINOR 0
#define ANN_HEADER 128
#define ANN_ALIGN 64
#define ANN_QB 128 /* queries per sgemm */
/* Queries per block: workers take whole blocks, and a partition's queries
 * are scored in tiles cut at block edges, so a tile holds the same queries
 * (and a score has the same bits) whatever the thread count. */
#define ANN_BLOCK 1024

/* pq4 keeps its codebooks in S_SCALES and its block offsets + packed blocks
 * in S_CODES (schemas/ann-index.md). */
enum { S_CENTROIDS, S_LIST_OFF, S_ROW_ITEM, S_SCALES, S_CODES, S_VECTORS, S_ID_OFF, S_ID_BLOB, NSECT };

/* The fixed 128-byte header (schemas/ann-index.md), little-endian. */
struct ann_header {
    char signature[8];
    uint16_t major, minor;
    uint32_t header_size;
    uint32_t dims, nlist;
    uint64_t n;
    uint32_t quant, subdims; /* subdims: pq4's dims per sub-space, else 0 */
    uint64_t off[NSECT];
    uint64_t file_size;
    uint64_t payload_xxh3; /* bytes [128, file_size) */
    uint64_t header_xxh3;  /* bytes [0, 120) */
};
_Static_assert(sizeof(struct ann_header) == ANN_HEADER, "ann header is 128 bytes");

struct rs_ann {
    void *bytes; /* the file, a private copy (read_private) */
    size_t n, nlist, maxlist;
    uint32_t d;
    const float *centroids, *scales, *vectors;
    const uint64_t *list_off, *id_off;
    const uint32_t *row_item;
    const int8_t *codes;
    const char *id_blob;
    int quant;
    struct rs_pq4 pq;        /* pq4: geometry and codebooks */
    const uint64_t *blk_off; /* pq4: partition l's blocks are [blk_off[l], blk_off[l+1]) */
    const uint8_t *blocks;
};

static uint64_t align_up(uint64_t x)
{
    return (x + ANN_ALIGN - 1) / ANN_ALIGN * ANN_ALIGN;
}

/* ---- build ---- */

struct section {
    const void *p;
    size_t len;
};

/* Int8 codes of the residual r = x − c (one row); returns the scale. */
static float encode_row(const float *x, const float *c, size_t d, int8_t *code)
{
    float m = 0;
    for (size_t j = 0; j < d; j++) {
        float v = fabsf(x[j] - c[j]);
        m = v > m ? v : m;
    }
    float s = m / 127.0f;
    for (size_t j = 0; j < d; j++) {
        long v = s > 0 ? lrintf((x[j] - c[j]) / s) : 0;
        code[j] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
    return s;
}

/* k-means on a random sample of the items gives the partition centroids. */
static int train_centroids(const float *x, size_t n, size_t d, const struct rs_ann_build_opts *o,
                           size_t nlist, float *centroids)
{
    size_t ts = o->train_sample ? o->train_sample : 128 * nlist;
    ts = ts < nlist ? nlist : ts > n ? n : ts;
    struct rs_rng g;
    rs_rng_init(&g, o->seed, 1000);
    uint32_t *idx = xmalloc(n * sizeof *idx);
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    for (size_t i = 0; i < ts; i++) {
        size_t j = i + rs_rng_below(&g, n - i);
        uint32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    float *xs = xmalloc(ts * d * sizeof *xs);
    for (size_t i = 0; i < ts; i++)
        memcpy(xs + i * d, x + (size_t)idx[i] * d, d * sizeof *xs);
    struct rs_kmeans_opts ko;
    rs_kmeans_defaults(&ko);
    ko.k = nlist;
    ko.max_iter = o->max_iter > 0 ? o->max_iter : 20;
    /* Greedy k-means++ costs k·(2 + ln k) passes over the rows it seeds from:
     * 16 rows a partition are plenty to place the seeds that Lloyd then
     * moves on the whole sample. */
    ko.init_sample = 16 * nlist;
    ko.seed = o->seed;
    ko.threads = o->threads;
    ko.log = o->log;
    ko.log_ctx = o->log_ctx;
    int rc = rs_kmeans_fit(xs, ts, d, &ko, centroids, NULL, NULL, NULL);
    free(xs);
    free(idx);
    return rc;
}

/* int8: scales (section 3) and codes (section 4) of the rows. */
static void encode_int8(const float *x, size_t n, size_t d, const float *cent, const int32_t *assign,
                        const uint32_t *row_item, struct section *s3, struct section *s4)
{
    float *scales = xmalloc(n * sizeof *scales);
    int8_t *codes = xmalloc(n * d);
    for (size_t r = 0; r < n; r++) {
        size_t i = row_item[r];
        scales[r] = encode_row(x + i * d, cent + (size_t)assign[i] * d, d, codes + r * d);
    }
    *s3 = (struct section){ scales, n * sizeof *scales };
    *s4 = (struct section){ codes, n * d };
}

static size_t blocks_of(uint64_t rows) { return (size_t)(rows + RS_PQ4_BLOCK - 1) / RS_PQ4_BLOCK; }

/* pq4: codebooks (section 3); the block offsets of the partitions, then
 * their packed blocks (section 4, the blocks at the next 64-byte boundary). */
static int encode_pq4(const float *x, size_t n, size_t d, const float *cent, const int32_t *assign,
                      size_t nlist, const uint64_t *list_off, const uint32_t *row_item,
                      const struct rs_ann_build_opts *o, struct section *s3, struct section *s4,
                      uint32_t *subdims)
{
    struct rs_pq4 pq;
    int rc = rs_pq4_init(&pq, d, o->subdims ? o->subdims : rs_pq4_dsub_for(d, 2), NULL);
    if (rc < 0)
        return rc;
    size_t m = pq.m, cb_len = m * RS_PQ4_K * pq.dsub * sizeof(float);
    float *cb = xmalloc(cb_len);
    struct rs_pq4_train_opts to = { o->threshold, 0, 0, o->seed, o->threads };
    if ((rc = rs_pq4_train(&pq, x, cent, assign, n, &to, cb)) < 0) {
        free(cb);
        return rc;
    }
    pq.codebooks = cb;
    uint8_t *item_codes = xmalloc(n * m), *row_codes = xmalloc(n * m);
    rs_pq4_encode(&pq, x, cent, assign, n, o->threshold, o->threads, item_codes);
    for (size_t r = 0; r < n; r++)
        memcpy(row_codes + r * m, item_codes + (size_t)row_item[r] * m, m);
    size_t head = align_up((nlist + 1) * sizeof(uint64_t)), bb = rs_pq4_block_bytes(&pq), nb = 0;
    for (size_t l = 0; l < nlist; l++)
        nb += blocks_of(list_off[l + 1] - list_off[l]);
    uint8_t *buf = xcalloc(head + nb * bb, 1);
    uint64_t *boff = (uint64_t *)buf;
    for (size_t l = 0; l < nlist; l++) {
        boff[l + 1] = boff[l] + blocks_of(list_off[l + 1] - list_off[l]);
        rs_pq4_pack(&pq, row_codes + list_off[l] * m, list_off[l + 1] - list_off[l], buf + head + boff[l] * bb);
    }
    free(item_codes);
    free(row_codes);
    *s3 = (struct section){ cb, cb_len };
    *s4 = (struct section){ buf, head + nb * bb };
    *subdims = (uint32_t)pq.dsub;
    return 0;
}

int rs_ann_build(const float *x, size_t n, size_t d, const struct rs_strmap *ids,
                 const struct rs_ann_build_opts *o, struct rs_writer *out)
{
    if (o->quant != RS_ANN_INT8 && o->quant != RS_ANN_PQ4)
        return rs_err_set(RS_ERR_USAGE, "ann: unknown quantisation %d", o->quant);
    if (n == 0 || d == 0 || n > UINT32_MAX)
        return rs_err_set(RS_ERR_USAGE, "ann: cannot index %zu items of %zu dims", n, d);
    size_t nlist = o->nlist ? o->nlist : (size_t)lrint(sqrt((double)n));
    nlist = nlist < 1 ? 1 : nlist > n ? n : nlist;
    float *cent = xmalloc(nlist * d * sizeof *cent);
    int rc = train_centroids(x, n, d, o, nlist, cent);
    if (rc < 0) {
        free(cent);
        return rc;
    }
    int32_t *assign = xmalloc(n * sizeof *assign);
    rs_kmeans_assign(x, n, d, cent, nlist, o->threads, assign, NULL);

    /* Counting sort by partition, stable in item order. */
    uint64_t *list_off = xcalloc(nlist + 1, sizeof *list_off);
    for (size_t i = 0; i < n; i++)
        list_off[assign[i] + 1]++;
    for (size_t l = 0; l < nlist; l++)
        list_off[l + 1] += list_off[l];
    uint64_t *fill = xmalloc(nlist * sizeof *fill);
    memcpy(fill, list_off, nlist * sizeof *fill);
    uint32_t *row_item = xmalloc(n * sizeof *row_item);
    for (size_t i = 0; i < n; i++)
        row_item[fill[assign[i]]++] = (uint32_t)i;
    float *vec = xmalloc(n * d * sizeof *vec);
    for (size_t r = 0; r < n; r++)
        memcpy(vec + r * d, x + (size_t)row_item[r] * d, d * sizeof *vec);
    struct section s3 = { NULL, 0 }, s4 = { NULL, 0 };
    uint32_t subdims = 0;
    if (o->quant == RS_ANN_PQ4)
        rc = encode_pq4(x, n, d, cent, assign, nlist, list_off, row_item, o, &s3, &s4, &subdims);
    else
        encode_int8(x, n, d, cent, assign, row_item, &s3, &s4);
    uint64_t *id_off = xmalloc((n + 1) * sizeof *id_off);
    id_off[0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        rs_strmap_key(ids, (int64_t)i, &len);
        id_off[i + 1] = id_off[i] + len;
    }
    char *blob = xmalloc(id_off[n] ? id_off[n] : 1);
    for (size_t i = 0; i < n; i++)
        memcpy(blob + id_off[i], rs_strmap_key(ids, (int64_t)i, NULL), id_off[i + 1] - id_off[i]);

    struct section s[NSECT] = {
        [S_CENTROIDS] = { cent, nlist * d * sizeof(float) },
        [S_LIST_OFF] = { list_off, (nlist + 1) * sizeof(uint64_t) },
        [S_ROW_ITEM] = { row_item, n * sizeof(uint32_t) },
        [S_SCALES] = s3,
        [S_CODES] = s4,
        [S_VECTORS] = { vec, n * d * sizeof(float) },
        [S_ID_OFF] = { id_off, (n + 1) * sizeof(uint64_t) },
        [S_ID_BLOB] = { blob, id_off[n] },
    };
    struct ann_header h = { .major = o->quant == RS_ANN_PQ4 ? 2 : 1, .minor = ANN_VERSION_MINOR,
                            .header_size = ANN_HEADER, .dims = (uint32_t)d, .nlist = (uint32_t)nlist,
                            .n = n, .quant = (uint32_t)o->quant, .subdims = subdims };
    memcpy(h.signature, ANN_SIGNATURE, 8);
    static const char zeros[ANN_ALIGN];
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    uint64_t pos = ANN_HEADER;
    for (int i = 0; i < NSECT; i++) {
        h.off[i] = pos;
        XXH3_64bits_update(st, s[i].p, s[i].len);
        uint64_t end = align_up(pos + s[i].len);
        XXH3_64bits_update(st, zeros, end - pos - s[i].len);
        pos = end;
    }
    h.file_size = pos;
    h.payload_xxh3 = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    h.header_xxh3 = XXH3_64bits(&h, offsetof(struct ann_header, header_xxh3));
    if (rc == 0)
        rc = rs_writer_write(out, &h, sizeof h);
    for (int i = 0; i < NSECT && rc == 0; i++) {
        rc = rs_writer_write(out, s[i].p, s[i].len);
        size_t pad = align_up(h.off[i] + s[i].len) - h.off[i] - s[i].len;
        if (rc == 0 && pad)
            rc = rs_writer_write(out, zeros, pad);
    }
    free(cent);
    free(assign);
    free(list_off);
    free(fill);
    free(row_item);
    free((void *)s3.p);
    free(vec);
    free((void *)s4.p);
    free(id_off);
    free(blob);
    return rc;
}

/* ---- open ---- */

/* pq4: the block offsets must count each partition's blocks, and the
 * blocks fit section 4. */
static int check_pq4(struct rs_ann *a, const struct ann_header *h)
{
    size_t head = align_up((a->nlist + 1) * sizeof(uint64_t)), bb = rs_pq4_block_bytes(&a->pq);
    const char *s4 = (const char *)a->bytes + h->off[S_CODES];
    uint64_t room = h->off[S_VECTORS] - h->off[S_CODES];
    a->blk_off = (const uint64_t *)s4;
    a->blocks = (const uint8_t *)s4 + head;
    int ok = a->blk_off[0] == 0;
    for (size_t l = 0; ok && l < a->nlist; l++)
        ok = a->blk_off[l + 1] - a->blk_off[l] == blocks_of(a->list_off[l + 1] - a->list_off[l]);
    return ok && head + a->blk_off[a->nlist] * bb <= room;
}

static int check_layout(struct rs_ann *a, const struct ann_header *h, const char *path)
{
    size_t n = h->n, d = h->dims, nl = h->nlist;
    uint64_t len[NSECT] = { nl * d * 4, (nl + 1) * 8, n * 4, n * 4, n * d, n * d * 4, (n + 1) * 8, 0 };
    a->quant = (int)h->quant;
    if (a->quant == RS_ANN_PQ4) {
        if (rs_pq4_init(&a->pq, d, h->subdims, NULL) < 0)
            return rs_err_set(RS_ERR_FORMAT, "'%s': ann index header has bad fields", path);
        len[S_SCALES] = a->pq.m * RS_PQ4_K * a->pq.dsub * 4;
        len[S_CODES] = align_up((nl + 1) * 8);
    }
    for (int i = 0; i < NSECT; i++) {
        uint64_t lim = i + 1 < NSECT ? h->off[i + 1] : h->file_size;
        if (h->off[i] % ANN_ALIGN || h->off[i] < ANN_HEADER || h->off[i] > lim || lim - h->off[i] < len[i])
            return rs_err_set(RS_ERR_FORMAT, "'%s': ann index section %d out of place", path, i);
    }
    const char *base = a->bytes;
    a->n = n;
    a->d = h->dims;
    a->nlist = nl;
    a->centroids = (const float *)(base + h->off[S_CENTROIDS]);
    a->list_off = (const uint64_t *)(base + h->off[S_LIST_OFF]);
    a->row_item = (const uint32_t *)(base + h->off[S_ROW_ITEM]);
    a->scales = (const float *)(base + h->off[S_SCALES]);
    a->codes = (const int8_t *)(base + h->off[S_CODES]);
    a->vectors = (const float *)(base + h->off[S_VECTORS]);
    a->id_off = (const uint64_t *)(base + h->off[S_ID_OFF]);
    a->id_blob = base + h->off[S_ID_BLOB];
    uint64_t blob_room = h->file_size - h->off[S_ID_BLOB];
    int ok = a->list_off[0] == 0 && a->list_off[nl] == n && a->id_off[0] == 0 && a->id_off[n] <= blob_room;
    a->maxlist = 0;
    for (size_t l = 0; ok && l < nl; l++) {
        ok = a->list_off[l] <= a->list_off[l + 1];
        if (ok && a->list_off[l + 1] - a->list_off[l] > a->maxlist)
            a->maxlist = a->list_off[l + 1] - a->list_off[l];
    }
    for (size_t i = 0; ok && i < n; i++)
        ok = a->id_off[i] <= a->id_off[i + 1] && a->row_item[i] < n;
    if (ok && a->quant == RS_ANN_PQ4) {
        a->pq.codebooks = a->scales;
        ok = check_pq4(a, h);
    }
    return ok ? 0 : rs_err_set(RS_ERR_FORMAT, "'%s': ann index tables are inconsistent", path);
}

/* Reads the whole file into 64-byte aligned memory of our own: an index
 * rewritten, truncated or deleted while it is served (cp over it, say) can
 * then neither kill the reader (SIGBUS on a shrunk mapping) nor change what
 * it answers after the checksums were verified. *size is what was read. */
static int read_private(int fd, const char *path, void **buf, size_t *size)
{
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
        return rs_err_set(RS_ERR_IO, "'%s': not a regular file", path);
    size_t cap = (size_t)sb.st_size, n = 0;
    char *p = aligned_alloc(ANN_ALIGN, align_up(cap + 1));
    if (!p)
        return rs_err_set(RS_ERR_IO, "'%s': no memory for %zu bytes", path, cap);
    while (n < cap) {
        ssize_t got = read(fd, p + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            free(p);
            return rs_err_set(RS_ERR_IO, "cannot read '%s': %s", path, strerror(e));
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    *buf = p;
    *size = n; /* short when the file shrank meanwhile: the size check below refuses it */
    return 0;
}

int rs_ann_open(struct rs_ann **out, const char *path)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rs_err_set(RS_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    void *bytes = NULL;
    size_t size = 0;
    int rc = read_private(fd, path, &bytes, &size);
    close(fd);
    if (rc < 0)
        return rc;
    rs_io_note(RS_IO_READ, path);
    if (size < ANN_HEADER) { /* a cut index, or something else */
        int cut = size >= 8 && memcmp(bytes, ANN_SIGNATURE, 8) == 0;
        free(bytes);
        return rs_err_set(cut ? RS_ERR_CORRUPT : RS_ERR_FORMAT, "'%s': not an ann index (%s)", path,
                          cut ? "truncated" : "too short");
    }
    struct rs_ann *a = xcalloc(1, sizeof *a);
    a->bytes = bytes;
    struct ann_header h;
    memcpy(&h, bytes, sizeof h);
    if (memcmp(h.signature, ANN_SIGNATURE, 8) != 0)
        rc = rs_err_set(RS_ERR_FORMAT, "'%s': not an ann index (bad signature)", path);
    else if (XXH3_64bits(&h, offsetof(struct ann_header, header_xxh3)) != h.header_xxh3)
        rc = rs_err_set(RS_ERR_CORRUPT, "'%s': ann index header checksum mismatch", path);
    else if (h.major < 1 || h.major > ANN_VERSION_MAJOR)
        rc = rs_err_set(RS_ERR_VERSION, "'%s': ann index version %u.%u; this build reads 1.x and %d.x", path,
                        h.major, h.minor, ANN_VERSION_MAJOR);
    else if (h.file_size != size)
        rc = rs_err_set(RS_ERR_CORRUPT, "'%s': ann index is %zu bytes, header says %llu (truncated?)",
                        path, size, (unsigned long long)h.file_size);
    else if (!(h.quant == RS_ANN_INT8 || (h.quant == RS_ANN_PQ4 && h.major >= 2)) || h.dims == 0 ||
             h.dims > 65536 || h.nlist == 0 || h.nlist > h.n || h.n > UINT32_MAX)
        rc = rs_err_set(RS_ERR_FORMAT, "'%s': ann index header has bad fields", path);
    else if (XXH3_64bits((const char *)bytes + ANN_HEADER, size - ANN_HEADER) != h.payload_xxh3)
        rc = rs_err_set(RS_ERR_CORRUPT, "'%s': ann index payload checksum mismatch", path);
    else
        rc = check_layout(a, &h, path);
    if (rc < 0) {
        rs_ann_close(a);
        return rc;
    }
    *out = a;
    return 0;
}

void rs_ann_close(struct rs_ann *a)
{
    if (!a)
        return;
    free(a->bytes);
    free(a);
}

size_t rs_ann_size(const struct rs_ann *a) { return a->n; }
uint32_t rs_ann_dims(const struct rs_ann *a) { return a->d; }
size_t rs_ann_nlist(const struct rs_ann *a) { return a->nlist; }
int rs_ann_quant(const struct rs_ann *a) { return a->quant; }

const char *rs_ann_id(const struct rs_ann *a, size_t i, size_t *len)
{
    *len = a->id_off[i + 1] - a->id_off[i];
    return a->id_blob + a->id_off[i];
}

/* ---- search ---- */

/* Per worker: its queries' probes, inverted into per-partition query lists,
 * so each partition's codes are decoded once and scored against its queries
 * of each block in sgemm tiles. */
struct search_ctx {
    const struct rs_ann *a;
    const float *queries;
    size_t k, nprobe, rerank;
    const struct rs_knn_filter *f;
    int64_t *ids;
    float *scores;
    size_t *counts;
};

/* Pushes base + raw[j] for the rows r0.. of a partition into heap t. */
__attribute__((optimize("O3"), target_clones("avx2", "default")))
static void scan_tile(const float *raw, size_t n, float base, size_t r0, struct rs_topk *t,
                      const struct rs_ann *a, const struct rs_knn_filter *f, size_t q)
{
    float thr = rs_topk_threshold(t);
    for (size_t j = 0; j < n; j += 32) {
        size_t m = n - j < 32 ? n - j : 32;
        if (m == 32) {
            float lim = thr - base;
            int any = 0;
            for (size_t u = 0; u < 32; u++)
                any |= raw[j + u] >= lim; /* >=: rounding of thr - base */
            if (!any)
                continue;
        }
        for (size_t u = 0; u < m; u++) {
            float s = base + raw[j + u];
            if (!(s > thr) || rs_knn_filtered(f, q, a->row_item[r0 + j + u]))
                continue;
            rs_topk_push(t, s, (int64_t)(r0 + j + u));
            thr = rs_topk_threshold(t);
        }
    }
}

/* The order of rs_topk: a higher score, then the lower id. */
static int better(float sa, uint32_t ia, float sb, uint32_t ib)
{
    return (sa > sb) | ((sa == sb) & (ia < ib)); /* no branch: the outcome is a coin toss */
}

static void swap_at(float *s, uint32_t *id, size_t i, size_t j)
{
    float t = s[i];
    s[i] = s[j];
    s[j] = t;
    uint32_t u = id[i];
    id[i] = id[j];
    id[j] = u;
}

/* Moves the k best of the n pairs (s, id), ids distinct and scores not NaN,
 * to the front, in no particular order (quickselect: linear time, where a
 * heap pays a sift for every pair that enters). */
static void select_best(float *s, uint32_t *id, size_t n, size_t k)
{
    size_t lo = 0, hi = n; /* [0, lo) beat everything after; [hi, n) lose to everything before */
    while (k > lo && k < hi) {
        swap_at(s, id, lo + (hi - lo) / 2, hi - 1);
        size_t st = lo; /* Lomuto's partition, swapping always: [st, i) lose to the pivot */
        float ps = s[hi - 1];
        uint32_t pid = id[hi - 1];
        for (size_t i = lo; i < hi - 1; i++) {
            int b = better(s[i], id[i], ps, pid);
            swap_at(s, id, i, st);
            st += (size_t)b;
        }
        swap_at(s, id, st, hi - 1);
        if (st < k)
            lo = st + 1;
        else
            hi = st;
    }
}

/* Moves the k best of the n scores s (ids 0..n-1 in id) to the front of s
 * and id. A pivot taken from every 8th score leaves about 2k scores at or
 * above it (a branch-free pass), and quickselect runs on those: they hold
 * the k best whenever there are at least k of them; otherwise it runs on
 * all. tmp_s, tmp_id: room for n. */
static void select_probes(float *s, uint32_t *id, size_t n, size_t k, float *tmp_s, uint32_t *tmp_id)
{
    size_t ns = (n + 7) / 8, r = (2 * k * ns + n - 1) / n;
    if (r < ns) {
        for (size_t i = 0; i < ns; i++) {
            tmp_s[i] = s[8 * i];
            tmp_id[i] = (uint32_t)i;
        }
        select_best(tmp_s, tmp_id, ns, r);
        float pivot = tmp_s[0];
        for (size_t i = 1; i < r; i++)
            pivot = tmp_s[i] < pivot ? tmp_s[i] : pivot;
        size_t c = 0;
        for (size_t i = 0; i < n; i++) {
            tmp_s[c] = s[i];
            tmp_id[c] = id[i];
            c += s[i] >= pivot;
        }
        if (c >= k) {
            select_best(tmp_s, tmp_id, c, k);
            memcpy(s, tmp_s, k * sizeof *s);
            memcpy(id, tmp_id, k * sizeof *id);
            return;
        }
    }
    select_best(s, id, n, k);
}

/* probe[q*np ..]: the partitions of each query (in no order: a partition's
 * queries are listed in query order whatever it is), score[...] their q·c. */
static void find_probes(const struct search_ctx *c, size_t begin, size_t nq, uint32_t *probe,
                        float *pscore)
{
    const struct rs_ann *a = c->a;
    size_t nl = a->nlist, np = c->nprobe;
    float *coarse = xmalloc(ANN_QB * nl * sizeof *coarse), *tmp_s = xmalloc((nl + 1) * sizeof *tmp_s);
    uint32_t *id = xmalloc(nl * sizeof *id), *tmp_id = xmalloc((nl + 1) * sizeof *tmp_id);
    for (size_t q0 = 0; q0 < nq; q0 += ANN_QB) {
        size_t qb = nq - q0 < ANN_QB ? nq - q0 : ANN_QB;
        rs_sgemm(0, 1, qb, nl, a->d, 1.0f, c->queries + (begin + q0) * a->d, a->d, a->centroids, a->d, 0.0f,
                 coarse, nl);
        for (size_t r = 0; r < qb; r++) {
            float *sc = coarse + r * nl;
            for (size_t l = 0; l < nl; l++) {
                id[l] = (uint32_t)l;
                sc[l] = isnan(sc[l]) ? -INFINITY : sc[l];
            }
            select_probes(sc, id, nl, np, tmp_s, tmp_id);
            memcpy(probe + (q0 + r) * np, id, np * sizeof *probe);
            memcpy(pscore + (q0 + r) * np, sc, np * sizeof *pscore);
        }
    }
    free(id);
    free(coarse);
    free(tmp_s);
    free(tmp_id);
}

/* Queries qs[m0..) up to ANN_QB of them, and not past the block of the
 * first (qs ascending, local indices from a block edge). */
static size_t tile_rows(const uint32_t *qs, size_t m0, size_t nm)
{
    size_t edge = (qs[m0] / ANN_BLOCK + 1) * ANN_BLOCK, mb = 0;
    while (mb < ANN_QB && m0 + mb < nm && qs[m0 + mb] < edge)
        mb++;
    return mb;
}

/* Scores partition l against the nm queries qs (local indices, ascending,
 * with their q·c in base) from its decoded residuals dec, into the candidate
 * heaps. */
static void score_list(const struct search_ctx *c, size_t begin, size_t l, const uint32_t *qs,
                       const float *base, size_t nm, const float *dec, float *qbuf, float *tile,
                       struct rs_topk *cand)
{
    const struct rs_ann *a = c->a;
    size_t d = a->d, r0 = a->list_off[l], nr = a->list_off[l + 1] - r0;
    for (size_t m0 = 0, mb; m0 < nm; m0 += mb) {
        mb = tile_rows(qs, m0, nm);
        for (size_t m = 0; m < mb; m++)
            memcpy(qbuf + m * d, c->queries + (begin + qs[m0 + m]) * d, d * sizeof *qbuf);
        rs_sgemm(0, 1, mb, nr, d, 1.0f, qbuf, d, dec, d, 0.0f, tile, nr);
        for (size_t m = 0; m < mb; m++)
            scan_tile(tile + m * nr, nr, base[m0 + m], r0, &cand[qs[m0 + m]], a, c->f,
                      begin + qs[m0 + m]);
    }
}

/* int8: each probed partition's codes decoded once, then scored against its
 * queries (qs[off[l] ..], q·c in base) by sgemm tiles. */
static void scan_int8(const struct search_ctx *c, size_t begin, const size_t *off, const uint32_t *qs,
                      const float *base, struct rs_topk *cand)
{
    const struct rs_ann *a = c->a;
    size_t ml = a->maxlist ? a->maxlist : 1, d = a->d;
    float *dec = xmalloc(ml * d * sizeof *dec), *qbuf = xmalloc(ANN_QB * d * sizeof *qbuf);
    float *tile = xmalloc(ANN_QB * ml * sizeof *tile);
    for (size_t l = 0; l < a->nlist; l++) {
        if (off[l] == off[l + 1])
            continue;
        size_t r0 = a->list_off[l], nr = a->list_off[l + 1] - r0;
        for (size_t r = 0; r < nr; r++)
            for (size_t j = 0; j < d; j++)
                dec[r * d + j] = a->scales[r0 + r] * (float)a->codes[(r0 + r) * d + j];
        score_list(c, begin, l, qs + off[l], base + off[l], off[l + 1] - off[l], dec, qbuf, tile, cand);
    }
    free(dec);
    free(qbuf);
    free(tile);
}

/* A query's pq4 candidates: every row scoring at least thr, cut back to the
 * best `keep` (select_best) whenever 2·keep have gathered, which raises thr
 * to the worst one kept. Amortised O(1) a row, where a heap of `keep`
 * would sift for every row that beats its minimum. */
struct pool {
    float *s, thr;
    uint32_t *row;
    size_t n;
};

static void pool_cut(struct pool *p, size_t keep)
{
    if (p->n <= keep)
        return;
    select_best(p->s, p->row, p->n, keep);
    p->n = keep;
    p->thr = p->s[0];
    for (size_t i = 1; i < keep; i++)
        p->thr = p->s[i] < p->thr ? p->s[i] : p->thr;
}

/* Largest of m sums (vectorises). */
__attribute__((optimize("O3"), target_clones("avx2", "default")))
static uint16_t block_max(const uint16_t *acc, size_t m)
{
    uint16_t mx = 0;
    for (size_t u = 0; u < m; u++)
        mx = acc[u] > mx ? acc[u] : mx;
    return mx;
}

/* A sum below which the score base + (bias + delta·sum) is surely below thr:
 * two steps under the exact bound, plus what float rounding of the terms can
 * move it, so the test on sums never drops a row the float test would keep. */
static float sum_floor(float thr, float base, float bias, float delta)
{
    float slack = 2 + 1e-6f * (fabsf(thr) + fabsf(base) + fabsf(bias)) / delta;
    return (thr - base - bias) / delta - slack;
}

/* Scores partition l for query q (its table lut, bias, delta; q·c in base)
 * into its pool. */
static void scan_pq4_list(const struct search_ctx *c, size_t l, size_t q, const uint8_t *lut, float bias,
                          float delta, float base, uint16_t *acc, struct pool *p)
{
    const struct rs_ann *a = c->a;
    size_t r0 = a->list_off[l], nr = a->list_off[l + 1] - r0;
    rs_pq4_scan(a->blocks + a->blk_off[l] * rs_pq4_block_bytes(&a->pq), blocks_of(nr), lut, a->pq.mpad, acc);
    float lim = sum_floor(p->thr, base, bias, delta);
    for (size_t j = 0; j < nr; j += RS_PQ4_BLOCK) {
        size_t m = nr - j < RS_PQ4_BLOCK ? nr - j : RS_PQ4_BLOCK;
        if ((float)block_max(acc + j, m) < lim)
            continue;
        for (size_t u = 0; u < m; u++) {
            float s = base + (bias + delta * (float)acc[j + u]);
            if (!(s >= p->thr) || rs_knn_filtered(c->f, q, a->row_item[r0 + j + u]))
                continue;
            p->s[p->n] = s;
            p->row[p->n++] = (uint32_t)(r0 + j + u);
            if (p->n == 2 * c->rerank) {
                pool_cut(p, c->rerank);
                lim = sum_floor(p->thr, base, bias, delta);
            }
        }
    }
}

/* pq4: each query's lookup table (built once per query) scans each probed
 * partition's blocks; a partition's blocks stay in L1 across its queries.
 * Each query's best `rerank` rows go to cand (unordered: rerank() reads
 * only n and id). */
static void scan_pq4(const struct search_ctx *c, size_t begin, size_t nq, const size_t *off, const uint32_t *qs,
                     const float *base, struct rs_topk *cand)
{
    const struct rs_ann *a = c->a;
    size_t lb = a->pq.mpad * RS_PQ4_K, keep = c->rerank, nq1 = nq ? nq : 1;
    uint8_t *lut = xmalloc(nq1 * lb);
    float *bias = xmalloc(nq1 * 2 * sizeof *bias), *delta = bias + nq1;
    uint16_t *acc = xmalloc(blocks_of(a->maxlist ? a->maxlist : 1) * RS_PQ4_BLOCK * sizeof *acc);
    struct pool *pool = xmalloc(nq1 * sizeof *pool);
    float *ps = xmalloc(nq1 * 2 * keep * sizeof *ps);
    uint32_t *prow = xmalloc(nq1 * 2 * keep * sizeof *prow);
    for (size_t q = 0; q < nq; q++) {
        rs_pq4_lut(&a->pq, c->queries + (begin + q) * a->d, lut + q * lb, &bias[q], &delta[q]);
        pool[q] = (struct pool){ ps + q * 2 * keep, -INFINITY, prow + q * 2 * keep, 0 };
    }
    /* Each query's best partition first, which sets a high threshold for
     * the others (fewer rows enter the pool); then partition by partition. */
    size_t *first = xmalloc(nq1 * sizeof *first);
    for (size_t q = 0; q < nq; q++)
        first[q] = SIZE_MAX;
    for (size_t l = 0; l < a->nlist; l++)
        for (size_t e = off[l]; e < off[l + 1]; e++)
            if (first[qs[e]] == SIZE_MAX || base[e] > base[first[qs[e]]])
                first[qs[e]] = e;
    for (size_t l = 0; l < a->nlist; l++)
        for (size_t e = off[l]; e < off[l + 1]; e++)
            if (first[qs[e]] == e)
                scan_pq4_list(c, l, begin + qs[e], lut + qs[e] * lb, bias[qs[e]], delta[qs[e]], base[e], acc,
                              &pool[qs[e]]);
    for (size_t l = 0; l < a->nlist; l++)
        for (size_t e = off[l]; e < off[l + 1]; e++)
            if (first[qs[e]] != e)
                scan_pq4_list(c, l, begin + qs[e], lut + qs[e] * lb, bias[qs[e]], delta[qs[e]], base[e], acc,
                              &pool[qs[e]]);
    free(first);
    for (size_t q = 0; q < nq; q++) {
        pool_cut(&pool[q], keep);
        for (size_t i = 0; i < pool[q].n; i++) {
            cand[q].score[i] = pool[q].s[i];
            cand[q].id[i] = pool[q].row[i];
        }
        cand[q].n = pool[q].n;
    }
    free(lut);
    free(bias);
    free(acc);
    free(pool);
    free(ps);
    free(prow);
}

/* Exact scores of the candidates of query q; writes its results. */
static void rerank(const struct search_ctx *c, size_t q, struct rs_topk *cand, struct rs_topk *best)
{
    const struct rs_ann *a = c->a;
    const float *qv = c->queries + q * a->d;
    rs_topk_reset(best);
    /* The candidates' vectors are scattered over the file: ask for all of
     * them at once, so the cache misses overlap. */
    for (size_t i = 0; i < cand->n; i++)
        for (size_t j = 0; j < a->d; j += 16)
            __builtin_prefetch(a->vectors + (size_t)cand->id[i] * a->d + j);
    for (size_t i = 0; i < cand->n; i++) {
        size_t r = (size_t)cand->id[i];
        float s = 0;
        for (size_t j = 0; j < a->d; j++)
            s += qv[j] * a->vectors[r * a->d + j];
        rs_topk_push(best, s, (int64_t)a->row_item[r]);
    }
    size_t got = rs_topk_sort(best);
    memcpy(c->ids + q * c->k, best->id, got * sizeof *c->ids);
    memcpy(c->scores + q * c->k, best->score, got * sizeof *c->scores);
    c->counts[q] = got;
}

static void search_chunk(void *vctx, size_t begin, size_t end, int tid)
{
    (void)tid;
    const struct search_ctx *c = vctx;
    const struct rs_ann *a = c->a;
    size_t nq = end - begin, np = c->nprobe;
    uint32_t *probe = xmalloc((nq * np + 1) * sizeof *probe);
    float *pscore = xmalloc((nq * np + 1) * sizeof *pscore);
    find_probes(c, begin, nq, probe, pscore);
    /* Invert: for each partition, its queries in query order. */
    size_t *off = xcalloc(a->nlist + 1, sizeof *off);
    for (size_t i = 0; i < nq * np; i++)
        off[probe[i] + 1]++;
    for (size_t l = 0; l < a->nlist; l++)
        off[l + 1] += off[l];
    size_t *fill = xmalloc(a->nlist * sizeof *fill);
    memcpy(fill, off, a->nlist * sizeof *fill);
    uint32_t *qs = xmalloc((nq * np + 1) * sizeof *qs);
    float *base = xmalloc((nq * np + 1) * sizeof *base);
    for (size_t i = 0; i < nq * np; i++) {
        size_t at = fill[probe[i]]++;
        qs[at] = (uint32_t)(i / np);
        base[at] = pscore[i];
    }
    struct rs_topk *cand = xmalloc((nq ? nq : 1) * sizeof *cand), best;
    for (size_t q = 0; q < nq; q++)
        rs_topk_init(&cand[q], c->rerank);
    rs_topk_init(&best, c->k);
    if (a->quant == RS_ANN_PQ4)
        scan_pq4(c, begin, nq, off, qs, base, cand);
    else
        scan_int8(c, begin, off, qs, base, cand);
    for (size_t q = 0; q < nq; q++) {
        rerank(c, begin + q, &cand[q], &best);
        rs_topk_free(&cand[q]);
    }
    rs_topk_free(&best);
    free(probe);
    free(pscore);
    free(off);
    free(fill);
    free(qs);
    free(base);
    free(cand);
}

void rs_ann_search(const struct rs_ann *a, const float *queries, size_t nq, size_t k,
                   const struct rs_ann_search_opts *o, const struct rs_knn_filter *f, int64_t *ids,
                   float *scores, size_t *counts)
{
    size_t nprobe = o->nprobe < 1 ? 1 : o->nprobe > a->nlist ? a->nlist : o->nprobe;
    size_t rerank_n = o->rerank < k ? k : o->rerank;
    rerank_n = rerank_n > a->n ? a->n : rerank_n;
    struct search_ctx c = { a, queries, k, nprobe, rerank_n, f, ids, scores, counts };
    if (k == 0) {
        memset(counts, 0, nq * sizeof *counts);
        return;
    }
    rs_parallel_for_blocks(o->threads, nq, ANN_BLOCK, search_chunk, &c);
}

void rs_ann_exact(const struct rs_ann *a, const float *queries, size_t nq, size_t k, int threads, int64_t *ids,
                  float *scores, size_t *counts)
{
    rs_knn_search(queries, nq, a->vectors, a->n, a->d, k, NULL, threads, ids, scores, counts);
    for (size_t q = 0; q < nq; q++)
        for (size_t i = 0; i < counts[q]; i++)
            ids[q * k + i] = a->row_item[ids[q * k + i]];
}
