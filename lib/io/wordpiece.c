/* wordpiece.c - BERT WordPiece tokenisation from tokenizer.json (wordpiece.h). */
#include "io/wordpiece.h"
#include "core/err.h"
#include "core/strmap.h"
#include "io/config.h"
#include "io/unicode.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PREFIX 16

struct added {
    char *s;
    size_t n;
    int32_t id;
};

struct rs_wordpiece {
    struct rs_strmap *vocab;
    int32_t *id_of; /* strmap id -> token id */
    size_t nvocab;
    int32_t unk, cls, sep;
    char prefix[MAX_PREFIX];
    size_t prefix_len, max_word_chars;
    int clean, cjk, strip, lower;
    struct added *added;
    size_t nadded;
};

/* The id of token s, or -1. */
static int32_t token_id(const struct rs_wordpiece *wp, const char *s, size_t n)
{
    int64_t k = rs_strmap_get(wp->vocab, s, n);
    return k < 0 ? -1 : wp->id_of[k];
}

static int load_vocab(struct rs_wordpiece *wp, const struct rs_cfg *model)
{
    struct rs_cfg v;
    int rc = rs_cfg_object(model, "vocab", 1, &v);
    if (rc < 0)
        return rc;
    size_t n = json_object_size(v.v);
    if (n == 0)
        return rs_cfg_expected(model, "vocab", "a non-empty object");
    wp->vocab = rs_strmap_new(n);
    wp->id_of = xmalloc(n * sizeof *wp->id_of);
    wp->nvocab = n;
    unsigned char *seen = xcalloc(n, 1);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v.v, key, val) {
        long long id;
        if ((rc = rs_cfg_int(&v, key, -1, 0, (long long)n - 1, &id)) < 0)
            break;
        if (seen[id]) {
            rc = rs_cfg_fail(&v, key, "id %lld given to two tokens", id);
            break;
        }
        seen[id] = 1;
        wp->id_of[rs_strmap_put(wp->vocab, key, strlen(key), NULL)] = (int32_t)id;
    }
    free(seen);
    return rc;
}

static int load_model(struct rs_wordpiece *wp, const struct rs_cfg *root)
{
    struct rs_cfg m;
    const char *unk, *prefix;
    long long maxc;
    int type, rc;
    if ((rc = rs_cfg_object(root, "model", 1, &m)) < 0 || (rc = rs_cfg_word(&m, "type", "WordPiece", -1, &type)) < 0 ||
        (rc = rs_cfg_str(&m, "unk_token", "[UNK]", &unk)) < 0 ||
        (rc = rs_cfg_str(&m, "continuing_subword_prefix", "##", &prefix)) < 0 ||
        (rc = rs_cfg_int(&m, "max_input_chars_per_word", 100, 1, 1 << 20, &maxc)) < 0 ||
        (rc = load_vocab(wp, &m)) < 0)
        return rc;
    if (strlen(prefix) >= MAX_PREFIX)
        return rs_cfg_expected(&m, "continuing_subword_prefix", "at most 15 bytes");
    memcpy(wp->prefix, prefix, strlen(prefix) + 1);
    wp->prefix_len = strlen(prefix);
    wp->max_word_chars = (size_t)maxc;
    if ((wp->unk = token_id(wp, unk, strlen(unk))) < 0)
        return rs_cfg_fail(&m, "unk_token", "'%s' is not in the vocabulary", unk);
    return 0;
}

/* A flag that may be null (strip_accents: null follows lowercase). */
static int nullable_bool(const struct rs_cfg *c, const char *key, int def, int *out)
{
    struct rs_cfg v;
    rs_cfg_member(&v, c, key);
    if (v.v && json_is_null(v.v)) {
        *out = def;
        return 0;
    }
    return rs_cfg_bool(c, key, def, out);
}

static int load_normalizer(struct rs_wordpiece *wp, const struct rs_cfg *root)
{
    struct rs_cfg n, p;
    int type, rc;
    if ((rc = rs_cfg_object(root, "normalizer", 1, &n)) < 0 ||
        (rc = rs_cfg_word(&n, "type", "BertNormalizer", -1, &type)) < 0 ||
        (rc = rs_cfg_bool(&n, "clean_text", 1, &wp->clean)) < 0 ||
        (rc = rs_cfg_bool(&n, "handle_chinese_chars", 1, &wp->cjk)) < 0 ||
        (rc = rs_cfg_bool(&n, "lowercase", 1, &wp->lower)) < 0 ||
        (rc = nullable_bool(&n, "strip_accents", wp->lower, &wp->strip)) < 0 ||
        (rc = rs_cfg_object(root, "pre_tokenizer", 1, &p)) < 0)
        return rc;
    return rs_cfg_word(&p, "type", "BertPreTokenizer", -1, &type);
}

/* A string that must be there: member key of c. */
static int required_str(const struct rs_cfg *c, const char *key, const char **out)
{
    int rc = rs_cfg_str(c, key, NULL, out);
    if (rc == 0 && !*out)
        rc = rs_cfg_expected(c, key, "a string (it is missing)");
    return rc;
}

/* A token id that must be there: member key of c (c itself when NULL). */
static int required_id(const struct rs_cfg *c, const char *key, int32_t *id)
{
    long long v;
    int rc = rs_cfg_int(c, key, -1, 0, INT32_MAX, &v);
    if (rc == 0 && v < 0)
        rc = rs_cfg_expected(c, key, "a token id (it is missing)");
    *id = (int32_t)v;
    return rc;
}

/* The id of the special token named at single[i].SpecialToken.id. */
static int template_token(const struct rs_cfg *post, const struct rs_cfg *single, size_t i, int32_t *id)
{
    struct rs_cfg e, st, specials, sp, ids, one;
    const char *name;
    int rc;
    rs_cfg_elem(&e, single, i);
    if ((rc = rs_cfg_object(&e, "SpecialToken", 1, &st)) < 0 || (rc = required_str(&st, "id", &name)) < 0 ||
        (rc = rs_cfg_object(post, "special_tokens", 1, &specials)) < 0 ||
        (rc = rs_cfg_object(&specials, name, 1, &sp)) < 0 || (rc = rs_cfg_array(&sp, "ids", 1, &ids)) < 0)
        return rc;
    if (json_array_size(ids.v) != 1)
        return rs_cfg_expected(&sp, "ids", "one id");
    rs_cfg_elem(&one, &ids, 0);
    return required_id(&one, NULL, id);
}

/* [CLS] $A [SEP], as TemplateProcessing or BertProcessing. */
static int load_template(struct rs_wordpiece *wp, const struct rs_cfg *root)
{
    struct rs_cfg post, single, seq, a;
    int type, rc;
    if ((rc = rs_cfg_object(root, "post_processor", 1, &post)) < 0 ||
        (rc = rs_cfg_word(&post, "type", "TemplateProcessing BertProcessing", -1, &type)) < 0)
        return rc;
    if (type == 1) { /* "cls": ["[CLS]", 101], "sep": ["[SEP]", 102] */
        struct rs_cfg cls, sep, id;
        if ((rc = rs_cfg_array(&post, "cls", 1, &cls)) < 0 || (rc = rs_cfg_array(&post, "sep", 1, &sep)) < 0)
            return rc;
        rs_cfg_elem(&id, &cls, 1);
        if ((rc = required_id(&id, NULL, &wp->cls)) < 0)
            return rc;
        rs_cfg_elem(&id, &sep, 1);
        return required_id(&id, NULL, &wp->sep);
    }
    const char *name;
    if ((rc = rs_cfg_array(&post, "single", 1, &single)) < 0)
        return rc;
    if (json_array_size(single.v) != 3)
        return rs_cfg_expected(&post, "single", "[CLS] $A [SEP] (3 pieces)");
    rs_cfg_elem(&seq, &single, 1);
    if ((rc = rs_cfg_object(&seq, "Sequence", 1, &a)) < 0 || (rc = required_str(&a, "id", &name)) < 0)
        return rc;
    if (strcmp(name, "A"))
        return rs_cfg_expected(&a, "id", "\"A\"");
    if ((rc = template_token(&post, &single, 0, &wp->cls)) < 0)
        return rc;
    return template_token(&post, &single, 2, &wp->sep);
}

/* Added tokens matched verbatim in the raw text (normalized false). */
static int load_added(struct rs_wordpiece *wp, const struct rs_cfg *root)
{
    struct rs_cfg arr, e;
    int rc = rs_cfg_array(root, "added_tokens", 0, &arr);
    if (rc < 0 || !arr.v)
        return rc;
    size_t n = json_array_size(arr.v);
    wp->added = xcalloc(n ? n : 1, sizeof *wp->added);
    for (size_t i = 0; i < n; i++) {
        const char *s;
        int32_t id;
        int norm, flag;
        rs_cfg_elem(&e, &arr, i);
        if ((rc = required_str(&e, "content", &s)) < 0 || (rc = required_id(&e, "id", &id)) < 0 ||
            (rc = rs_cfg_bool(&e, "normalized", 0, &norm)) < 0)
            return rc;
        if (norm)
            return rs_cfg_fail(&e, "normalized", "added tokens matched after normalisation are not supported");
        static const char *const unsupported[] = { "lstrip", "rstrip", "single_word" };
        for (size_t k = 0; k < 3; k++) {
            if ((rc = rs_cfg_bool(&e, unsupported[k], 0, &flag)) < 0)
                return rc;
            if (flag)
                return rs_cfg_fail(&e, unsupported[k], "true is not supported");
        }
        wp->added[wp->nadded++] = (struct added){ xstrdup(s), strlen(s), id };
    }
    return 0;
}

int rs_wordpiece_load(struct rs_wordpiece **out, const char *path)
{
    json_t *j;
    *out = NULL;
    int rc = rs_config_load(&j, path);
    if (rc < 0)
        return rc;
    struct rs_wordpiece *wp = xcalloc(1, sizeof *wp);
    struct rs_cfg root;
    rs_cfg_root(&root, j, path);
    if ((rc = load_model(wp, &root)) == 0 && (rc = load_normalizer(wp, &root)) == 0 &&
        (rc = load_template(wp, &root)) == 0)
        rc = load_added(wp, &root);
    int32_t top = wp->cls > wp->sep ? wp->cls : wp->sep;
    for (size_t i = 0; rc == 0 && i < wp->nadded; i++)
        top = wp->added[i].id > top ? wp->added[i].id : top;
    if (rc == 0 && (size_t)top >= wp->nvocab)
        rc = rs_err_set(RS_ERR_FORMAT, "'%s': special token id %d is outside the vocabulary of %zu", path, (int)top,
                        wp->nvocab);
    json_decref(j);
    if (rc < 0) {
        rs_wordpiece_free(wp);
        return rc;
    }
    *out = wp;
    return 0;
}

void rs_wordpiece_free(struct rs_wordpiece *wp)
{
    if (!wp)
        return;
    rs_strmap_free(wp->vocab);
    free(wp->id_of);
    for (size_t i = 0; i < wp->nadded; i++)
        free(wp->added[i].s);
    free(wp->added);
    free(wp);
}

size_t rs_wordpiece_vocab_size(const struct rs_wordpiece *wp)
{
    return wp->nvocab;
}

/* The pieces of one call: a growing code point buffer and the output. */
struct enc {
    const struct rs_wordpiece *wp;
    uint32_t *cp;
    size_t ncp, cap;
    int32_t *ids;
    size_t nids, max; /* max: pieces allowed */
    char *word;       /* one word in UTF-8 */
    size_t *off;      /* byte offset of each character of the word */
    char *key;        /* a piece looked up: prefix + bytes of the word */
};

static void put_cp(struct enc *e, uint32_t c)
{
    if (e->ncp == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 256;
        e->cp = xrealloc(e->cp, e->cap * sizeof *e->cp);
    }
    e->cp[e->ncp++] = c;
}

static int put_id(struct enc *e, int32_t id)
{
    if (e->nids == e->max)
        return -1;
    e->ids[e->nids++] = id;
    return 0;
}

/* BertNormalizer on one raw character, appended to e->cp. */
static void normalize_cp(struct enc *e, uint32_t c)
{
    const struct rs_wordpiece *wp = e->wp;
    if (wp->clean) {
        if (c == 0 || c == 0xFFFD || (c != '\t' && c != '\n' && c != '\r' && rs_uc_class(c) == RS_UC_OTHER))
            return;
        if (rs_uc_is_space(c))
            c = ' ';
    }
    int cjk = wp->cjk && rs_uc_is_cjk(c);
    if (cjk)
        put_cp(e, ' ');
    uint32_t s[4], l[3];
    size_t ns = 1;
    s[0] = c;
    if (wp->strip)
        ns = rs_uc_strip_accents(c, s);
    for (size_t i = 0; i < ns; i++) {
        size_t nl = 1;
        l[0] = s[i];
        if (wp->lower)
            nl = rs_uc_lower(s[i], l);
        for (size_t k = 0; k < nl; k++)
            put_cp(e, l[k]);
    }
    if (cjk)
        put_cp(e, ' ');
}

/* WordPiece on word w[0..n) (code points): greedy longest match, each
 * piece after the first looked up with the prefix ("##") before it. */
static int word_pieces(struct enc *e, const uint32_t *w, size_t n)
{
    const struct rs_wordpiece *wp = e->wp;
    if (n > wp->max_word_chars)
        return put_id(e, wp->unk);
    size_t p = wp->prefix_len;
    e->off[0] = 0;
    for (size_t i = 0; i < n; i++)
        e->off[i + 1] = e->off[i] + rs_utf8_encode(w[i], e->word + e->off[i]);
    memcpy(e->key, wp->prefix, p);
    size_t first = e->nids;
    for (size_t start = 0; start < n;) {
        int32_t id = -1;
        size_t end = n, skip = start ? 0 : p;
        for (; end > start && id < 0; end--) {
            size_t len = e->off[end] - e->off[start];
            memcpy(e->key + p, e->word + e->off[start], len);
            id = token_id(wp, e->key + skip, p + len - skip);
        }
        if (id < 0) {
            e->nids = first;
            return put_id(e, wp->unk);
        }
        if (put_id(e, id) < 0)
            return -1;
        start = end + 1;
    }
    return 0;
}

/* Pre-tokenises e->cp (white space and punctuation) into word pieces. */
static int pieces(struct enc *e)
{
    size_t start = 0;
    for (size_t i = 0; i <= e->ncp; i++) {
        uint32_t c = i < e->ncp ? e->cp[i] : ' ';
        int space = rs_uc_is_space(c), punct = !space && rs_uc_is_punct(c);
        if (!space && !punct)
            continue;
        if (i > start && word_pieces(e, e->cp + start, i - start) < 0)
            return -1;
        if (punct && word_pieces(e, &c, 1) < 0)
            return -1;
        start = i + 1;
    }
    e->ncp = 0;
    return 0;
}

/* The longest added token at s[0..n), or NULL. */
static const struct added *added_at(const struct rs_wordpiece *wp, const char *s, size_t n)
{
    const struct added *best = NULL;
    for (size_t i = 0; i < wp->nadded; i++)
        if (wp->added[i].n <= n && (!best || wp->added[i].n > best->n) && !memcmp(s, wp->added[i].s, wp->added[i].n))
            best = &wp->added[i];
    return best;
}

size_t rs_wordpiece_encode(const struct rs_wordpiece *wp, const char *text, size_t n, size_t max_len,
                           int32_t *ids)
{
    RS_ASSERT(max_len >= 2);
    struct enc e = { .wp = wp, .ids = ids + 1, .max = max_len - 2 };
    e.word = xmalloc(4 * wp->max_word_chars + 4);
    e.key = xmalloc(wp->prefix_len + 4 * wp->max_word_chars + 4);
    e.off = xmalloc((wp->max_word_chars + 2) * sizeof *e.off);
    const unsigned char *s = (const unsigned char *)text;
    int full = 0;
    for (size_t i = 0; i < n && !full;) {
        const struct added *a = added_at(wp, text + i, n - i);
        if (a) {
            full = pieces(&e) < 0 || put_id(&e, a->id) < 0;
            i += a->n;
            continue;
        }
        uint32_t c;
        i += rs_utf8_decode(s + i, n - i, &c);
        normalize_cp(&e, c);
    }
    if (!full)
        pieces(&e);
    free(e.cp);
    free(e.word);
    free(e.key);
    free(e.off);
    ids[0] = wp->cls;
    ids[e.nids + 1] = wp->sep;
    return e.nids + 2;
}
