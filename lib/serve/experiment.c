/* experiment.c - arms, shares, salt and rollout (see experiment.h). */
#include "serve/experiment.h"
#include "core/err.h"
#include "io/config.h"
#include "serve/recoserve.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* The bundle files an arm may name instead of the server's. */
#define ARM_FILES "items_emb users_emb model users index seen items ranker rank_users rank_items"

static const char **arm_file(struct rs_reco_opts *o, int k)
{
    const char **f[] = { &o->items_emb, &o->users_emb, &o->model, &o->users, &o->index,
                         &o->seen,      &o->items,     &o->ranker, &o->rank_users, &o->rank_items };
    return f[k];
}

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= RS_EXP_NAME_MAX && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                       "0123456789_.-") == n;
}

static int read_name(const struct rs_cfg *c, char *out)
{
    const char *s;
    int rc = rs_cfg_str(c, "name", NULL, &s);
    if (rc == 0 && !s)
        return rs_cfg_fail(c, NULL, "missing \"name\"");
    if (rc == 0 && !valid_name(s))
        return rs_cfg_expected(c, "name", "1 to 64 of A-Z a-z 0-9 _ . -");
    if (rc == 0)
        strcpy(out, s);
    return rc;
}

static int read_arm(struct rs_exp *e, const struct rs_cfg *c, const struct rs_reco_opts *base)
{
    struct rs_exp_arm *a = &e->arm[e->narms];
    int rc = rs_cfg_keys(c, "name share " ARM_FILES);
    if (rc == 0)
        rc = read_name(c, a->name);
    if (rc == 0)
        rc = rs_cfg_num(c, "share", -1, 0, 1, &a->share);
    if (rc == 0 && a->share < 0)
        return rs_cfg_fail(c, NULL, "missing \"share\"");
    for (size_t i = 0; rc == 0 && i < e->narms; i++)
        if (strcmp(e->arm[i].name, a->name) == 0)
            return rs_cfg_fail(c, "name", "arm '%s' given twice", a->name);
    a->opts = *base;
    char words[] = ARM_FILES, *save = NULL;
    int k = 0;
    for (char *w = strtok_r(words, " ", &save); rc == 0 && w; w = strtok_r(NULL, " ", &save), k++)
        rc = rs_cfg_str(c, w, *arm_file(&a->opts, k), arm_file(&a->opts, k));
    if (rc == 0)
        e->narms++;
    return rc;
}

static int read_doc(struct rs_exp *e, const char *path, const struct rs_reco_opts *base)
{
    json_t *doc;
    int rc = rs_config_load(&doc, path);
    if (rc < 0)
        return rc;
    e->doc = doc;
    struct rs_cfg root, arms, elem, arm;
    const char *salt;
    rs_cfg_root(&root, doc, path);
    rc = rs_cfg_keys(&root, "name salt rollout arms");
    if (rc == 0)
        rc = read_name(&root, e->name);
    if (rc == 0)
        rc = rs_cfg_str(&root, "salt", e->name, &salt);
    if (rc == 0)
        e->salt = xstrdup(salt), rc = rs_cfg_num(&root, "rollout", 1, 0, 1, &e->rollout);
    if (rc == 0)
        rc = rs_cfg_array(&root, "arms", 1, &arms);
    size_t n = rc == 0 ? json_array_size(arms.v) : 0;
    if (rc == 0 && (n < 1 || n > RS_EXP_MAX_ARMS))
        return rs_cfg_expected(&root, "arms", "1 to 16 arms");
    double total = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rs_cfg_elem(&elem, &arms, i);
        if ((rc = rs_cfg_object(&elem, NULL, 1, &arm)) == 0 && (rc = read_arm(e, &arm, base)) == 0)
            total += e->arm[i].share;
    }
    if (rc == 0 && !(total > 1 - 1e-9 && total < 1 + 1e-9))
        rc = rs_cfg_fail(&root, "arms", "the shares sum to %.17g, not 1", total);
    return rc;
}

int rs_exp_read(struct rs_exp *e, const char *path, const struct rs_reco_opts *base)
{
    memset(e, 0, sizeof *e);
    if (path)
        return read_doc(e, path, base);
    strcpy(e->name, "default");
    strcpy(e->arm[0].name, "default");
    e->salt = xstrdup("");
    e->rollout = 1;
    e->arm[0].share = 1;
    e->arm[0].opts = *base;
    e->narms = 1;
    return 0;
}

int rs_exp_load(struct rs_exp *e)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < e->narms; i++)
        if ((rc = rs_reco_load(&e->arm[i].reco, &e->arm[i].opts)) < 0 && e->narms > 1)
            rc = rs_err_set(rc, "arm '%s': %s", e->arm[i].name, rs_err_msg());
    for (size_t i = 0; rc < 0 && i < e->narms; i++) {
        rs_reco_free(e->arm[i].reco);
        e->arm[i].reco = NULL;
    }
    return rc;
}

void rs_exp_free(struct rs_exp *e)
{
    for (size_t i = 0; i < e->narms; i++)
        rs_reco_free(e->arm[i].reco);
    free(e->salt);
    json_decref(e->doc);
    memset(e, 0, sizeof *e);
}

void rs_exp_unit(const char *salt, const char *user, double *r, double *a)
{
    XXH128_hash_t h = XXH3_128bits_withSeed(user, strlen(user), XXH3_64bits(salt, strlen(salt)));
    *r = (double)(h.low64 >> 11) * 0x1p-53;
    *a = (double)(h.high64 >> 11) * 0x1p-53;
}

size_t rs_exp_assign(const struct rs_exp *e, const char *user)
{
    double r, a, upto = 0;
    rs_exp_unit(e->salt, user, &r, &a);
    if (r >= e->rollout)
        return 0;
    for (size_t i = 0; i + 1 < e->narms; i++)
        if (a < (upto += e->arm[i].share))
            return i;
    return e->narms - 1; /* shares summing to 1 - 1e-10 leave no user out */
}

int rs_exp_find(const struct rs_exp *e, const char *name)
{
    for (size_t i = 0; i < e->narms; i++)
        if (strcmp(e->arm[i].name, name) == 0)
            return (int)i;
    return -1;
}

uint64_t rs_exp_signature(const char *path, const struct rs_reco_opts *base)
{
    struct rs_exp e;
    uint64_t sig = rs_reco_file_signature(1469598103934665603ULL, path);
    if (rs_exp_read(&e, path, base) == 0)
        for (size_t i = 0; i < e.narms; i++)
            sig = sig * 1099511628211ULL ^ rs_reco_files_signature(&e.arm[i].opts);
    rs_exp_free(&e);
    return sig;
}
