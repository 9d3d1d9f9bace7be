/* test-tower.c - the two-tower model: config errors, encoders, a whole-model
 * gradient check (central differences through both towers and the in-batch
 * softmax with extra negatives, logQ and feature dropout), and the RSM round
 * trip. */
#include "core/err.h"
#include "io/io.h"
#include "io/rsb.h"
#include "io/rsm.h"
#include "tap.h"
#include "io/tsv.h"
#include "model/tower.h"
#include "model/tower_embed.h"
#include "model/tower_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/vocab.h"

static char dir[128];

static const char *path(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void spit(const char *name, const char *text)
{
    FILE *f = fopen(path(name), "w");
    fputs(text, f);
    fclose(f);
}

static int parse_text(struct rs_tower *t, const char *json)
{
    json_error_t e;
    json_t *j = json_loads(json, 0, &e);
    int rc = rs_tower_parse(t, j, 4, "test.json");
    json_decref(j);
    return rc;
}

/* A config that must be refused as a format error. */
static void config_fails(const char *json, const char *what)
{
    struct rs_tower t;
    is_int(parse_text(&t, json), RS_ERR_FORMAT, "%s", what);
    rs_tower_free(&t);
}

/* The same with the user side USER and an item side of just the id. */
static void user_side_fails(const char *user, const char *what)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"user_embedding_layers\": %s, \"item_embedding_layers\": {\"item_id\": {\"type\": \"string\"}}}",
             user);
    config_fails(json, what);
}

static void config_errors(void)
{
    user_side_fails("{\"a\": {\"type\": \"poem\"}}", "unknown type");
    ok(strstr(rs_err_msg(), "'test.json': user_embedding_layers.a.type: expected one of string, int, text, numeric, "
                            "pretrained, sequence, got \"poem\"") != NULL, "message names the path and the type: %s",
       rs_err_msg());
    user_side_fails("{\"a\": {\"type\": \"string\", \"bukets\": 3}}", "unknown key");
    config_fails("{\"user_embedding_layers\": {\"h\": {\"type\": \"sequence\"}}, "
                 "\"item_embedding_layers\": {\"title\": {\"type\": \"text\"}}}",
                 "sequence without an item id feature to share");
    user_side_fails("{}", "empty tower");
    user_side_fails("{\"u\": {\"type\": \"string\", \"embedding_size\": 0}}", "embedding_size 0");
    user_side_fails("{\"u\": {\"type\": \"string\", \"embedding_size\": \"64\"}}", "embedding_size \"64\"");
    ok(strstr(rs_err_msg(), "'test.json': user_embedding_layers.u.embedding_size: expected an integer in 1..65536, "
                            "got \"64\"") != NULL, "names the key path, expected and got: %s", rs_err_msg());
    user_side_fails("{\"u\": {\"type\": \"string\", \"embedding_size\": 64.5}}", "embedding_size 64.5");
    ok(strstr(rs_err_msg(), "embedding_size: expected an integer in 1..65536, got 64.5") != NULL, "%s", rs_err_msg());
    user_side_fails("{\"u\": {\"embedding_size\": 4}}", "no type");
    ok(strstr(rs_err_msg(), "user_embedding_layers.u.type: missing: expected one of string,") != NULL, "%s",
       rs_err_msg());
    user_side_fails("{\"u\": {\"type\": \"string\", \"list\": \"yes\"}}", "list \"yes\"");
    ok(strstr(rs_err_msg(), "user_embedding_layers.u.list: expected true or false, got \"yes\"") != NULL, "%s",
       rs_err_msg());
    user_side_fails("{\"u\": {\"type\": \"text\", \"log1p\": true}}", "a numeric key on a text feature");
    ok(strstr(rs_err_msg(), "user_embedding_layers.u: unknown key \"log1p\" (expected one of type, embedding_size, "
                            "column, behavioural, buckets, bigrams)") != NULL, "%s", rs_err_msg());
    config_fails("{\"embedding_size\": 64.5, \"user_embedding_layers\": {\"u\": {\"type\": \"string\"}}, "
                 "\"item_embedding_layers\": {\"item_id\": {\"type\": \"string\"}}}", "top-level embedding_size 64.5");
    ok(strstr(rs_err_msg(), "'test.json': embedding_size: expected an integer in 1..65536, got 64.5") != NULL, "%s",
       rs_err_msg());
    user_side_fails("{\"p\": {\"type\": \"pretrained\"}}", "pretrained without path");
    config_fails("{\"user_embedding_layers\": {\"u\": {\"type\": \"string\"}}, \"item_embedding_layers\": "
                 "{\"item_id\": {\"type\": \"string\"}}, \"hidden_layers\": [8, 0]}",
                 "hidden layer of size 0");
    ok(strstr(rs_err_msg(), "'test.json': hidden_layers[1]: expected an integer >= 1, got 0") != NULL, "%s",
       rs_err_msg());
    user_side_fails("{\"h\": {\"type\": \"sequence\", \"pooling\": \"max\"}}", "unknown pooling");
    ok(strstr(rs_err_msg(), "user_embedding_layers.h.pooling: expected one of mean, attention, got \"max\"") != NULL,
       "names it: %s", rs_err_msg());
    user_side_fails("{\"u\": {\"type\": \"string\", \"pooling\": \"attention\"}}", "pooling on a string feature");
}

static const char *CONFIG =
    "{\"hidden_layers\": [6, 5],"
    " \"user_embedding_layers\": {"
    "   \"user_id\": {\"type\": \"string\", \"embedding_size\": 3, \"oov_buckets\": 2},"
    "   \"age\": {\"type\": \"numeric\", \"log1p\": true},"
    "   \"tags\": {\"type\": \"string\", \"list\": true, \"embedding_size\": 2},"
    "   \"history\": {\"type\": \"sequence\", \"max_length\": 3}},"
    " \"item_embedding_layers\": {"
    "   \"item_id\": {\"type\": \"string\", \"embedding_size\": 3},"
    "   \"cat\": {\"type\": \"int\", \"embedding_size\": 2},"
    "   \"title\": {\"type\": \"text\", \"embedding_size\": 2, \"buckets\": 16},"
    "   \"img\": {\"type\": \"pretrained\", \"path\": \"PRE\", \"embedding_size\": 2},"
    "   \"price\": {\"type\": \"numeric\"}}}";

static void write_data(void)
{
    spit("users.tsv", "user_id\tage\ttags\thistory\n"
                      "u0\t20\ta,b\ti0,i1\n"
                      "u1\t35\tb\ti2,i3,i1,i0\n"
                      "u2\t50\t\t\n"
                      "u3\t\tc,a\ti3\n");
    spit("items.tsv", "item_id\tcat\ttitle\tprice\n"
                      "i0\t1\tThe Red Movie\t3.5\n"
                      "i1\t2\tblue, BLUE!\t1\n"
                      "i2\t1\tred sky\t\n"
                      "i3\t3\tGreen (1999)\t10\n"
                      "i4\t2\tcold start\t2\n");
    spit("train.tsv", "user_id\titem_id\tneg_items\n"
                      "u0\ti0\ti2,i3\n"
                      "u1\ti1\ti4\n"
                      "u2\ti2\ti0,i1\n"
                      "u3\ti3\t\n"
                      "u0\ti1\ti3,i2\n");
    struct rs_writer *w;
    struct rs_rsb_writer *rw;
    rs_writer_open(&w, path("pre.rsb"), 0, 0);
    rs_rsb_writer_init(&rw, w, 3, RS_F32, NULL);
    rs_rsb_write(rw, "i0", 2, (float[]){ 1, 0, 0.5f });
    rs_rsb_write(rw, "i1", 2, (float[]){ 0, 1, -0.5f });
    rs_rsb_write(rw, "i3", 2, (float[]){ 0.3f, 0.2f, 1 });
    rs_rsb_writer_finish(rw);
    rs_writer_close(w);
}

struct fixture {
    struct rs_tower t;
    struct rs_tt_data d;
};

/* CONFIG with PRE replaced by the pretrained RSB and, with attention, the
 * history pooled by attention. */
static int setup(struct fixture *fx, int attention)
{
    const char *seq = "\"max_length\": 3", *q = strstr(CONFIG, seq) + strlen(seq), *p = strstr(CONFIG, "PRE");
    char *cfg = malloc(strlen(CONFIG) + 256); /* history's spec comes before the item side's PRE */
    sprintf(cfg, "%.*s%s%.*s%s%s", (int)(q - CONFIG), CONFIG, attention ? ", \"pooling\": \"attention\"" : "",
            (int)(p - q), q, path("pre.rsb"), p + 3);
    int rc = parse_text(&fx->t, cfg);
    free(cfg);
    struct rs_tt_inputs in = { .examples = path("train.tsv"), .users = path("users.tsv"),
                               .items = path("items.tsv"), .user_col = "user_id", .item_col = "item_id" };
    if (rc == 0)
        rc = rs_tt_load(&fx->d, &fx->t, &in, 0);
    if (rc == 0)
        rs_tower_init_params(&fx->t, 3);
    return rc;
}

/* The in-batch loss of all examples as one batch (rows of users with drop set
 * lose their behavioural features); with grad, also the gradients. */
static double loss(struct fixture *fx, const uint8_t *drop, int grad)
{
    struct rs_tower *t = &fx->t;
    struct rs_tt_data *d = &fx->d;
    size_t B = d->n, K = d->K;
    struct rs_arena a;
    rs_arena_init(&a, 0);
    uint32_t *items = rs_arena_alloc(&a, B * (1 + K) * sizeof *items);
    memcpy(items, d->ei, B * sizeof *items);
    memcpy(items + B, d->neg, B * K * sizeof *items);
    struct rs_tower_act ua, ia;
    rs_tower_forward(t, RS_SIDE_USER, &d->users, d->eu, B, drop, &a, &ua);
    rs_tower_forward(t, RS_SIDE_ITEM, &d->items, items, B * (1 + K), NULL, &a, &ia);
    struct rs_inbatch s = { .B = B, .K = K, .d = t->d, .tau = 0.5f, .logq = d->logq, .item = items,
                            .neg_logq = d->neg_logq, .neg_item = items + B };
    float *probs = rs_arena_floats(&a, B * (B + K));
    double l = rs_inbatch_softmax_forward(probs, &s, ua.z, ia.z, ia.z + B * t->d);
    if (grad) {
        float *du = rs_arena_zeros(&a, B * t->d), *dv = rs_arena_zeros(&a, B * (1 + K) * t->d);
        rs_inbatch_softmax_backward(du, dv, dv + B * t->d, &s, probs, ua.z, ia.z, ia.z + B * t->d, 1.0f);
        rs_tower_backward(t, RS_SIDE_ITEM, &ia, dv, &a, 0);
        rs_tower_backward(t, RS_SIDE_USER, &ua, du, &a, 0);
    }
    rs_arena_free(&a);
    return l;
}

static void gradient_check(struct fixture *fx)
{
    struct rs_params *p = &fx->t.p;
    uint8_t drop[5] = { 0, 1, 0, 0, 0 };
    rs_params_zero_grad(p);
    loss(fx, drop, 1);
    const float eps = 1e-3f;
    int checked = 0, skipped = 0;
    double worst = 0;
    for (size_t ti = 0; ti < p->n; ti++) {
        float *w = rs_params_w(p, (int)ti), *g = rs_params_g(p, (int)ti);
        size_t n = p->t[ti].rows * p->t[ti].cols;
        int here = 0;
        for (size_t i = 0; i < n && here < 12; i += 1 + n / 24) {
            float w0 = w[i];
            w[i] = w0 + eps;
            double lp = loss(fx, drop, 0);
            w[i] = w0 - eps;
            double lm = loss(fx, drop, 0);
            w[i] = w0;
            double l0 = loss(fx, drop, 0);
            /* One-sided slopes that disagree: a ReLU kink between them. */
            if (fabs((lp - l0) - (l0 - lm)) / eps > 0.05) {
                skipped++;
                continue;
            }
            double num = (lp - lm) / (2 * eps), ana = g[i];
            double err = fabs(num - ana) / fmax(fmax(fabs(num), fabs(ana)), 1e-2);
            if (err > worst)
                worst = err;
            if (err > 0.05)
                printf("#   %s[%zu]: numeric %.6g, analytic %.6g\n", p->t[ti].name, i, num, ana);
            checked++;
            here++;
        }
    }
    ok(checked > 100, "gradient check covers %d entries (%d at kinks skipped)", checked, skipped);
    ok(worst < 0.05, "whole-model gradient: worst relative error %.4f", worst);
    /* Feature dropout: u1 (only in row 1, dropped) gets no gradient on its
     * id embedding (a behavioural feature), u0 does. */
    struct rs_feat *uf = NULL;
    for (size_t i = 0; i < fx->t.side[0].nf; i++)
        if (!strcmp(fx->t.side[0].f[i].name, "user_id"))
            uf = &fx->t.side[0].f[i];
    rs_params_zero_grad(p);
    loss(fx, drop, 1);
    const float *g = rs_params_g(p, uf->table);
    uint64_t r1 = rs_vocab_id(uf->vocab, "u1", 2, uf->buckets), r0 = rs_vocab_id(uf->vocab, "u0", 2, uf->buckets);
    double g1 = 0, g0 = 0;
    for (size_t j = 0; j < uf->emb; j++) {
        g1 += fabs(g[r1 * uf->emb + j]);
        g0 += fabs(g[r0 * uf->emb + j]);
    }
    ok(g1 == 0 && g0 > 0, "dropped user's id row has no gradient (%g), a kept one has (%g)", g1, g0);
}

static void encoders(struct fixture *fx)
{
    struct rs_tower *t = &fx->t;
    struct rs_feat *title = NULL, *hist = NULL, *age = NULL;
    for (size_t i = 0; i < t->side[1].nf; i++)
        if (!strcmp(t->side[1].f[i].name, "title"))
            title = &t->side[1].f[i];
    for (size_t i = 0; i < t->side[0].nf; i++) {
        if (!strcmp(t->side[0].f[i].name, "history"))
            hist = &t->side[0].f[i];
        if (!strcmp(t->side[0].f[i].name, "age"))
            age = &t->side[0].f[i];
    }
    ok(title && hist && age, "features found");
    /* Text: case and punctuation do not matter; bigrams add ids. */
    spit("t.tsv", "item_id\tcat\ttitle\tprice\nx\t1\tRed  SKY!\t1\ny\t1\tred sky\t1\nz\t1\tsky red\t1\n");
    struct rs_tsv *tb;
    rs_tsv_open(&tb, path("t.tsv"), 0);
    rs_tower_bind(t, RS_SIDE_ITEM, tb, 1);
    struct rs_enc e;
    rs_enc_init(&e, t, RS_SIDE_ITEM);
    while (rs_tsv_next(tb) == 0)
        rs_enc_add(&e, t, RS_SIDE_ITEM, tb, rs_tsv_get(tb, 0), rs_tsv_len(tb, 0));
    rs_tsv_close(tb);
    size_t k = (size_t)(title - t->side[1].f);
    const struct rs_enc_feat *ef = &e.f[k];
    is_int(ef->off[1] - ef->off[0], 3, "two words and a bigram");
    ok(memcmp(ef->ids + ef->off[0], ef->ids + ef->off[1], 3 * sizeof(uint32_t)) == 0, "lower-cased, punctuation stripped");
    ok(ef->ids[ef->off[2] + 2] != ef->ids[ef->off[0] + 2], "bigram order matters");
    rs_enc_free(&e);
    /* Numeric: log1p then standardised over the training users (3 of 4 have an age). */
    double m = (log1p(20) + log1p(35) + log1p(50)) / 3;
    is_near(age->mean, m, 1e-9, "numeric mean after log1p");
    /* Sequence: the last max_length ids, in the item id vocabulary. */
    size_t hk = (size_t)(hist - t->side[0].f);
    const struct rs_enc_feat *hf = &fx->d.users.f[hk];
    is_int(hf->off[2] - hf->off[1], 3, "history truncated to max_length");
    is_int(hf->off[3] - hf->off[2], 0, "empty history: empty bag");
}

/* Named values (rs-serve's request features) encode and embed as a table
 * row with those columns and values; a missing column reads as missing. */
static void fields_match_rows(struct fixture *fx)
{
    struct rs_tower *t = &fx->t;
    struct rs_tsv *tb;
    struct rs_enc e;
    rs_tsv_open(&tb, path("users.tsv"), 0);
    rs_tower_bind(t, RS_SIDE_USER, tb, 1);
    rs_enc_init(&e, t, RS_SIDE_USER);
    while (rs_tsv_next(tb) == 0)
        rs_enc_add(&e, t, RS_SIDE_USER, tb, rs_tsv_get(tb, 0), rs_tsv_len(tb, 0));
    rs_tsv_close(tb);
    struct rs_arena a;
    rs_arena_init(&a, 0);
    float z[4 * 4], zf[4];
    rs_tower_embed(t, RS_SIDE_USER, &e, &a, z);
    const char *names[] = { "history", "age", "tags", "unused" }, *vals[] = { "i2,i3,i1,i0", "35", "b", "x" };
    ok(rs_tower_embed_fields(t, RS_SIDE_USER, names, vals, 4, "u1", zf) == 0, "embed from fields: %s", rs_err_msg());
    double worst = 0;
    for (int j = 0; j < 4; j++)
        worst = fmax(worst, fabs(zf[j] - z[4 + j]));
    ok(worst < 1e-6, "fields of u1 embed as its row (max difference %g)", worst);
    ok(rs_tower_embed_fields(t, RS_SIDE_USER, names, vals, 2, "u3", zf) == 0 && fabs(zf[0] - z[12]) > 1e-3,
       "other values, another embedding");
    const char *n3[] = { "tags", "history" }, *v3[] = { "c,a", "i3" };
    rs_tower_embed_fields(t, RS_SIDE_USER, n3, v3, 2, "u3", zf);
    worst = 0;
    for (int j = 0; j < 4; j++)
        worst = fmax(worst, fabs(zf[j] - z[12 + j]));
    ok(worst < 1e-6, "no age: as u3's row with an empty age (max difference %g)", worst);
    vals[1] = "old";
    is_int(rs_tower_embed_fields(t, RS_SIDE_USER, names, vals, 4, "u1", zf), RS_ERR_USAGE, "a bad value");
    ok(strstr(rs_err_msg(), "parameter 'age': expected a finite number, got 'old'") != NULL, "names it: %s",
       rs_err_msg());
    rs_arena_free(&a);
    rs_enc_free(&e);
}

static void rsm_round_trip(struct fixture *fx)
{
    struct rs_rsm *m = rs_rsm_new();
    rs_tower_to_rsm(&fx->t, m);
    ok(rs_rsm_save(m, path("m.rsm")) == 0, "save model");
    rs_rsm_free(m);
    ok(rs_rsm_load(&m, path("m.rsm")) == 0, "load model");
    struct rs_tower t2;
    ok(rs_tower_from_rsm(&t2, m) == 0, "rebuild tower: %s", rs_err_msg());
    ok(rs_tower_load_pretrained(&t2) == 0, "pretrained reloaded");
    /* Re-encode the items with the rebuilt tower: same embeddings. */
    struct rs_tsv *tb;
    rs_tsv_open(&tb, path("items.tsv"), 0);
    rs_tower_bind(&t2, RS_SIDE_ITEM, tb, 1);
    struct rs_enc e;
    rs_enc_init(&e, &t2, RS_SIDE_ITEM);
    while (rs_tsv_next(tb) == 0)
        rs_enc_add(&e, &t2, RS_SIDE_ITEM, tb, rs_tsv_get(tb, 0), rs_tsv_len(tb, 0));
    rs_tsv_close(tb);
    struct rs_arena a;
    rs_arena_init(&a, 0);
    float *z1 = malloc(5 * 4 * sizeof *z1), *z2 = malloc(5 * 4 * sizeof *z2);
    rs_tower_embed(&fx->t, RS_SIDE_ITEM, &fx->d.items, &a, z1);
    rs_tower_embed(&t2, RS_SIDE_ITEM, &e, &a, z2);
    ok(memcmp(z1, z2, 5 * 4 * sizeof *z1) == 0, "same item embeddings after the round trip");
    double nrm = 0;
    for (int j = 0; j < 4; j++)
        nrm += (double)z1[j] * z1[j];
    is_near(nrm, 1, 1e-5, "embeddings are L2-normalised");
    free(z1);
    free(z2);
    rs_arena_free(&a);
    rs_enc_free(&e);
    rs_tower_free(&t2);
    rs_rsm_free(m);
}

static void embed_users(struct fixture *fx, struct rs_tower *t, float *z)
{
    struct rs_arena a;
    rs_arena_init(&a, 0);
    rs_tower_embed(t, RS_SIDE_USER, &fx->d.users, &a, z);
    rs_arena_free(&a);
}

static int find_param(const struct rs_tower *t, const char *name)
{
    for (size_t i = 0; i < t->p.n; i++)
        if (!strcmp(t->p.t[i].name, name))
            return (int)i;
    return -1;
}

/* The history pooled by attention (mean is the other fixture): zero-initialised
 * query = mean pooling, gradients through the query and the shared table, and
 * the query kept in the model file. */
static void attention_pooling(struct fixture *mean)
{
    struct fixture fx;
    memset(&fx, 0, sizeof fx);
    int rc = setup(&fx, 1);
    ok(rc == 0, "attention pooling config loads%s%s", rc ? ": " : "", rc ? rs_err_msg() : "");
    int q = find_param(&fx.t, "user.history.query");
    ok(q >= 0 && fx.t.p.t[q].cols == 3, "a learned query of the history's width");
    size_t nu = fx.d.users.n;
    float zm[4 * 4], za[4 * 4], zb[4 * 4];
    embed_users(mean, &mean->t, zm); /* same seed, same weights but the query */
    embed_users(&fx, &fx.t, za);
    ok(memcmp(zm, za, nu * 4 * sizeof *zm) == 0, "a zero query pools as the mean");
    float *qw = rs_params_w(&fx.t.p, q);
    qw[0] = 1.5f, qw[1] = -2, qw[2] = 0.7f;
    embed_users(&fx, &fx.t, za);
    ok(memcmp(zm, za, nu * 4 * sizeof *zm) != 0, "a learned query weighs the history");
    gradient_check(&fx);
    struct rs_rsm *m = rs_rsm_new();
    rs_tower_to_rsm(&fx.t, m);
    rs_rsm_save(m, path("attn.rsm"));
    rs_rsm_free(m);
    struct rs_tower t2;
    rc = rs_rsm_load(&m, path("attn.rsm"));
    rc = rc ? rc : rs_tower_from_rsm(&t2, m);
    ok(rc == 0, "reload the model%s%s", rc ? ": " : "", rc ? rs_err_msg() : "");
    embed_users(&fx, &t2, zb);
    ok(memcmp(za, zb, nu * 4 * sizeof *za) == 0, "same user embeddings after the round trip");
    rs_tower_free(&t2);
    rs_rsm_free(m);
    rs_tt_data_free(&fx.d);
    rs_tower_free(&fx.t);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/test-tower-%d", (int)getpid());
    mkdir(dir, 0700);
    config_errors();
    write_data();
    struct fixture fx;
    memset(&fx, 0, sizeof fx);
    int rc = setup(&fx, 0);
    ok(rc == 0, "load data, build vocabularies, init%s%s", rc ? ": " : "", rc ? rs_err_msg() : "");
    is_int(fx.d.n, 5, "five examples");
    is_int(fx.d.K, 2, "two extra negatives per example (padded)");
    is_int(fx.d.items.n, 5, "five items (i4 only in the table and as a negative)");
    encoders(&fx);
    gradient_check(&fx);
    fields_match_rows(&fx);
    rsm_round_trip(&fx);
    attention_pooling(&fx);
    rs_tt_data_free(&fx.d);
    rs_tower_free(&fx.t);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return done_testing();
}
