/* fuzz-http.c - what rs-serve does with a request's parameters once
 * libmicrohttpd (Debian's HTTP parser, fuzzed upstream) has split and
 * URL-decoded them: the k parameter (rs_reco_parse_k), the id's UTF-8 check
 * (json_string, as rs-serve answers 400 on NULL) and the lookups
 * (rs_reco_recommend / rs_reco_similar) against a small bundle written once
 * to a temporary directory. Input: "<id>\n<k>" (no newline: id only, k
 * absent); a leading 's' (dropped) asks /similar, else /recommend. */
#include "err.h"
#include <stdint.h>
#include "io.h"
#include "reco.h"
#include "rsb.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static struct rs_reco *bundle(void)
{
    static struct rs_reco *r;
    if (r)
        return r;
    char dir[] = "/tmp/rs-fuzz-http-XXXXXX", items[64], users[64], seen[64], attrs[64];
    if (!mkdtemp(dir))
        abort();
    static const char *const item_ids[] = { "i1", "i2", "i3", "i4", "\xc3\xa9" };
    static const char *const user_ids[] = { "u1", "u2" };
    write_rsb(dir, "items.rsb", item_ids, 5, items);
    write_rsb(dir, "users.rsb", user_ids, 2, users);
    write_text(dir, "seen.tsv", "user_id\titem_id\nu1\ti1\nu2\ti2\nu3\ti3\nu3\ti2\n", seen);
    write_text(dir, "items.tsv", "item_id\tin_stock\tgroup\ni1\t1\ta\ni2\t1\ta\ni3\t0\tb\ni4\t1\tb\n", attrs);
    struct rs_reco_opts o = { .items_emb = items, .users_emb = users, .seen = seen, .items = attrs,
                              .group_col = "group", .max_per_group = 1, .candidates = 3 };
    if (rs_reco_load(&r, &o) < 0)
        abort();
    const char *files[] = { items, users, seen, attrs }; /* the bundle holds everything */
    for (int i = 0; i < 4; i++)
        unlink(files[i]);
    rmdir(dir);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rs_reco *r = bundle();
    /* MHD hands over NUL-terminated values: a value ends at its first NUL. */
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = 0;
    int similar = size > 0 && buf[0] == 's';
    char *id = buf + similar, *nl = strchr(id, '\n'), *ks = NULL;
    if (nl)
        *nl = 0, ks = nl + 1;
    long k = rs_reco_parse_k(ks, 10, 1000);
    json_t *id_json = json_string(id);
    if (k > 0 && *id && id_json) {
        struct rs_reco_list l = { 0 };
        int rc = similar ? rs_reco_similar(r, id, (size_t)k, &l) : rs_reco_recommend(r, id, (size_t)k, &l);
        if (rc == 0 && l.n > (size_t)k)
            __builtin_trap(); /* never more than k items */
        rs_reco_list_free(&l);
    }
    json_decref(id_json);
    free(buf);
    return 0;
}
