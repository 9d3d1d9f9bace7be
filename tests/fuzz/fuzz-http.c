/* fuzz-http.c - what rs-serve does with a request once libmicrohttpd
 * (Debian's HTTP parser, fuzzed upstream) has split and URL-decoded it: the
 * k parameter (rs_reco_parse_k), the id's UTF-8 check (json_string, as
 * rs-serve answers 400 on NULL), a POST body (rs_reco_req_json), and the
 * answers (rs_reco_recommend / rs_reco_similar, rs_reco_answer_json)
 * against a small bundle written once to a temporary directory: items, users,
 * seen events, stock and groups, a two-tower model (request features) and a
 * ranker (request context). Input: a POST body when it starts with '{';
 * else "<id>\n<k>\n<name>=<value>\n..." as GET parameters (no newline: id
 * only, k absent); a leading 's' (dropped) asks /similar. */
#include "core/err.h"
#include <stdint.h>
#include "io/io.h"
#include "model/rank.h"
#include "serve/reco.h"
#include "serve/recoserve.h"
#include "io/rsb.h"
#include "io/rsm.h"
#include "core/strmap.h"
#include "model/tower.h"
#include "rerank/divspec.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const item_ids[] = { "i1", "i2", "i3", "i4", "\xc3\xa9" };
#define NITEMS 5

static void write_text(const char *dir, const char *name, const char *text, char *path)
{
    sprintf(path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
}

static void write_rsb(const char *dir, const char *name, const char *const *ids, size_t n, char *path)
{
    sprintf(path, "%s/%s", dir, name);
    struct rs_writer *w;
    struct rs_rsb_writer *r;
    if (rs_writer_open(&w, path, 0, 0) < 0 || rs_rsb_writer_init(&r, w, 2, 1, NULL) < 0)
        abort();
    for (size_t i = 0; i < n; i++) {
        float v[2] = { (float)i + 1, (float)(n - i) };
        if (rs_rsb_write(r, ids[i], strlen(ids[i]), v) < 0)
            abort();
    }
    if (rs_rsb_writer_finish(r) < 0 || rs_writer_close(w) < 0)
        abort();
}

/* An untrained two-tower model (2 dims) with every parsed user feature type. */
static void write_tower(const char *dir, char *path)
{
    json_t *cfg = json_loads("{\"user_embedding_layers\": {\"user_id\": {\"type\": \"string\", \"embedding_size\": 2},"
                             " \"age\": {\"type\": \"numeric\", \"log1p\": true}, \"gender\": {\"type\": \"int\","
                             " \"embedding_size\": 2}, \"bio\": {\"type\": \"text\", \"embedding_size\": 2},"
                             " \"history\": {\"type\": \"sequence\"}}, \"item_embedding_layers\": {\"item_id\":"
                             " {\"type\": \"string\", \"embedding_size\": 2}}}", 0, NULL);
    struct rs_tower t = { 0 };
    if (!cfg || rs_tower_parse(&t, cfg, 2, "fuzz") < 0)
        abort();
    for (size_t i = 0; i < NITEMS; i++)
        rs_tower_count(&t, RS_SIDE_ITEM, NULL, item_ids[i], strlen(item_ids[i]));
    rs_tower_finish_vocab(&t, RS_SIDE_ITEM);
    rs_tower_count(&t, RS_SIDE_USER, NULL, "u1", 2);
    rs_tower_finish_vocab(&t, RS_SIDE_USER);
    rs_tower_init_params(&t, 1);
    struct rs_rsm *m = rs_rsm_new();
    rs_tower_to_rsm(&t, m);
    sprintf(path, "%s/tower.rsm", dir);
    if (rs_rsm_save(m, path) < 0)
        abort();
    rs_rsm_free(m);
    rs_tower_free(&t);
    json_decref(cfg);
}

/* An untrained ranker reading context (hour), the candidates' rank, the
 * tower score and an item table column. */
static void write_ranker(const char *dir, char *path)
{
    json_t *cfg = json_loads("{\"numeric\": [\"hour\", \"rank\", \"score\", \"tower_score\"], \"categorical\":"
                             " [\"user_id\", \"category\"], \"crosses\": [[\"hour\", \"category\"]], \"hidden\": [4]}",
                             0, NULL);
    struct rs_rank_model m;
    if (!cfg || rs_rank_config(&m, cfg, "fuzz") < 0)
        abort();
    for (size_t i = 0; i < m.ncat; i++) {
        m.cat[i].vocab = rs_strmap_new(4);
        rs_strmap_put(m.cat[i].vocab, "a", 1, NULL);
    }
    for (size_t i = 0; i < m.nnum; i++)
        m.num[i].std = 1;
    rs_rank_model_build(&m);
    rs_rank_model_init(&m, 1, 0.3, 0.1);
    sprintf(path, "%s/rank.rsm", dir);
    if (rs_rank_model_save(&m, path, NULL) < 0)
        abort();
    rs_rank_model_free(&m);
    json_decref(cfg);
}

static struct rs_reco *bundle(void)
{
    static struct rs_reco *r;
    if (r)
        return r;
    char dir[] = "/tmp/rs-fuzz-http-XXXXXX", items[64], users[64], seen[64], attrs[64], tower[64], rank[64];
    if (!mkdtemp(dir))
        abort();
    static const char *const user_ids[] = { "u1", "u2" };
    write_rsb(dir, "items.rsb", item_ids, NITEMS, items);
    write_rsb(dir, "users.rsb", user_ids, 2, users);
    write_text(dir, "seen.tsv", "user_id\titem_id\nu1\ti1\nu2\ti2\nu3\ti3\nu3\ti2\n", seen);
    write_text(dir, "items.tsv",
               "item_id\tin_stock\tgroup\tcategory\ni1\t1\ta\ta\ni2\t1\ta\tb\ni3\t0\tb\ta\ni4\t1\tb\tc\n", attrs);
    write_tower(dir, tower);
    write_ranker(dir, rank);
    static struct rs_div_spec post = RS_DIV_SPEC_INIT; /* at most one item of a group */
    if (rs_div_spec_set(&post, "--by", "group") != 1 || rs_div_spec_set(&post, "--max-per-group", "1") != 1 ||
        rs_div_spec_set(&post, "--items", attrs) != 1)
        abort();
    struct rs_reco_opts o = { .items_emb = items, .users_emb = users, .model = tower, .seen = seen,
                              .items = attrs, .post = &post, .candidates = 3, .ranker = rank, .rank_items = attrs };
    if (rs_reco_load(&r, &o) < 0)
        abort();
    const char *files[] = { items, users, seen, attrs, tower, rank }; /* the bundle holds everything */
    for (int i = 0; i < 6; i++)
        unlink(files[i]);
    rmdir(dir);
    return r;
}

/* GET: "<id>\n<k>\n<name>=<value>\n..." into q; 0 when rs-serve would
 * answer (id non-empty and UTF-8, k valid). */
static int get_request(char *buf, struct rs_reco_req *q)
{
    char *nl = strchr(buf, '\n'), *ks = NULL, *params = NULL;
    if (nl)
        *nl = 0, ks = nl + 1;
    if (ks && (nl = strchr(ks, '\n')))
        *nl = 0, params = nl + 1;
    long k = rs_reco_parse_k(ks, 10, 1000);
    json_t *id_json = json_string(buf);
    int ok = k > 0 && *buf && id_json;
    json_decref(id_json);
    q->user = xstrdup(buf);
    q->k = k > 0 ? (size_t)k : 10;
    for (char *line = params, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        char *eq = strchr(line, '=');
        if (eq)
            *eq = 0;
        rs_reco_req_add(q, line, eq ? eq + 1 : "");
    }
    return ok ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rs_reco *r = bundle();
    /* MHD hands over NUL-terminated values: a value ends at its first NUL. */
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = 0;
    int similar = size > 0 && buf[0] == 's';
    struct rs_reco_req q = { 0 };
    struct rs_reco_list l = { 0 };
    int rc = size > 0 && buf[0] == '{' ? rs_reco_req_json(&q, (const char *)data, size, 10, 1000)
                                       : get_request(buf + similar, &q);
    if (rc == 0) {
        rc = similar ? rs_reco_similar(r, q.user, q.k, &l) : rs_reco_recommend(r, &q, &l);
        if (rc == 0 && l.n > q.k)
            __builtin_trap(); /* never more than k items */
        if (rc == 0)
            json_decref(rs_reco_answer_json(q.user, &l, 1));
    }
    rs_reco_list_free(&l);
    rs_reco_req_free(&q);
    free(buf);
    return 0;
}
