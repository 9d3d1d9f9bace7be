/* unicode.c - character classes, accent stripping, lower case and UTF-8 for
 * the BERT tokeniser (unicode.h). */
#include "io/unicode.h"

int rs_uc_class(uint32_t c)
{
    size_t lo = 0, hi = rs_uc_nranges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < rs_uc_ranges[mid].lo)
            hi = mid;
        else if (c > rs_uc_ranges[mid].hi)
            lo = mid + 1;
        else
            return (int)rs_uc_ranges[mid].cls;
    }
    return RS_UC_PLAIN;
}

int rs_uc_is_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

int rs_uc_is_punct(uint32_t c)
{
    if (c < 0x80) /* BERT counts the ASCII symbols $+<=>^`| as punctuation too */
        return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
    return rs_uc_class(c) == RS_UC_PUNCT;
}

int rs_uc_is_cjk(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* The entry for c in a generated map sorted by code point, or NULL. */
static const struct rs_uc_map *find(const struct rs_uc_map *m, size_t n, uint32_t c)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m[mid].cp == c)
            return &m[mid];
        if (m[mid].cp < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static size_t apply(const struct rs_uc_map *m, size_t n, const uint32_t *pool, uint32_t c, uint32_t *out)
{
    const struct rs_uc_map *e = find(m, n, c);
    if (!e) {
        out[0] = c;
        return 1;
    }
    for (uint32_t i = 0; i < e->len; i++)
        out[i] = pool[e->off + i];
    return e->len;
}

size_t rs_uc_strip_accents(uint32_t c, uint32_t *out)
{
    /* Hangul syllables decompose by formula (Unicode 3.12), into jamo that
     * are letters, so nothing is dropped. */
    if (c >= 0xAC00 && c <= 0xD7A3) {
        uint32_t s = c - 0xAC00, t = s % 28;
        out[0] = 0x1100 + s / (21 * 28);
        out[1] = 0x1161 + (s % (21 * 28)) / 28;
        if (t)
            out[2] = 0x11A7 + t;
        return t ? 3 : 2;
    }
    return apply(rs_uc_strip_map, rs_uc_nstrip, rs_uc_strip_pool, c, out);
}

size_t rs_uc_lower(uint32_t c, uint32_t *out)
{
    if (c < 0x80) {
        out[0] = c >= 'A' && c <= 'Z' ? c + 32 : c;
        return 1;
    }
    return apply(rs_uc_lower_map, rs_uc_nlower, rs_uc_lower_pool, c, out);
}

size_t rs_utf8_decode(const unsigned char *s, size_t n, uint32_t *c)
{
    unsigned char b = s[0];
    size_t len = b < 0x80 ? 1 : b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
    if (len == 1) {
        *c = b;
        return 1;
    }
    if (len == 0 || len > n)
        goto bad;
    uint32_t v = b & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            goto bad;
        v = v << 6 | (s[i] & 0x3F);
    }
    /* overlong forms, surrogates and values past U+10FFFF are invalid */
    if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) || (v >= 0xD800 && v <= 0xDFFF))
        goto bad;
    *c = v;
    return len;
bad:
    *c = 0xFFFD;
    return 1;
}

size_t rs_utf8_encode(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | c >> 6);
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | c >> 12);
        out[1] = (char)(0x80 | (c >> 6 & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | c >> 18);
    out[1] = (char)(0x80 | (c >> 12 & 0x3F));
    out[2] = (char)(0x80 | (c >> 6 & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}
