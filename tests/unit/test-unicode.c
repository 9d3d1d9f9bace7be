/* test-unicode.c - UTF-8 decoding (valid, overlong, surrogate, truncated,
 * out of range), the character classes BERT's tokeniser splits on, accent
 * stripping (table and Hangul formula) and lower case. */
#include "io/unicode.h"
#include "tap.h"

static uint32_t dec(const char *s, size_t n, size_t *len)
{
    uint32_t c;
    *len = rs_utf8_decode((const unsigned char *)s, n, &c);
    return c;
}

static void test_utf8(void)
{
    size_t len;
    is_int(dec("A", 1, &len), 'A', "ASCII");
    is_int(len, 1, "ASCII: 1 byte");
    is_int(dec("\xc3\xa9", 2, &len), 0xE9, "e acute");
    is_int(len, 2, "e acute: 2 bytes");
    is_int(dec("\xe5\x8c\x97", 3, &len), 0x5317, "CJK");
    is_int(dec("\xf0\x9f\x98\x80", 4, &len), 0x1F600, "emoji");
    is_int(len, 4, "emoji: 4 bytes");
    is_int(dec("\xc0\xaf", 2, &len), 0xFFFD, "overlong 2-byte");
    is_int(len, 1, "an invalid sequence consumes one byte");
    is_int(dec("\xe0\x80\xaf", 3, &len), 0xFFFD, "overlong 3-byte");
    is_int(dec("\xed\xa0\x80", 3, &len), 0xFFFD, "surrogate");
    is_int(dec("\xf4\x90\x80\x80", 4, &len), 0xFFFD, "beyond U+10FFFF");
    is_int(dec("\xe5\x8c", 2, &len), 0xFFFD, "truncated");
    is_int(dec("\xe5\x41\x41", 3, &len), 0xFFFD, "bad continuation");
    is_int(dec("\x80", 1, &len), 0xFFFD, "lone continuation byte");
    char out[4];
    static const uint32_t cps[] = { 0x41, 0xE9, 0x5317, 0x1F600, 0x10FFFF };
    for (size_t i = 0; i < sizeof cps / sizeof *cps; i++) {
        size_t n = rs_utf8_encode(cps[i], out);
        uint32_t back;
        ok(rs_utf8_decode((const unsigned char *)out, n, &back) == n && back == cps[i], "U+%X round trip",
           (unsigned)cps[i]);
    }
}

static void test_classes(void)
{
    ok(rs_uc_is_punct('$') && rs_uc_is_punct('`') && rs_uc_is_punct('~'), "ASCII symbols are BERT punctuation");
    ok(rs_uc_is_punct(0xBF) && rs_uc_is_punct(0x2014) && rs_uc_is_punct(0x300C), "Unicode P*: ¿, em dash, 「");
    ok(!rs_uc_is_punct(0x1F600) && !rs_uc_is_punct(0xA9), "symbols outside ASCII are not: emoji, ©");
    ok(rs_uc_is_space(0xA0) && rs_uc_is_space(0x3000) && rs_uc_is_space('\n') && !rs_uc_is_space(0x200B),
       "white space: NBSP, ideographic space, newline; not ZWSP");
    is_int(rs_uc_class(0x200B), RS_UC_OTHER, "ZWSP is Cf");
    is_int(rs_uc_class(0x01), RS_UC_OTHER, "control");
    is_int(rs_uc_class(0x0378), RS_UC_OTHER, "unassigned");
    is_int(rs_uc_class(0x0301), RS_UC_MN, "combining acute");
    is_int(rs_uc_class('a'), RS_UC_PLAIN, "letter");
    ok(rs_uc_is_cjk(0x4E00) && rs_uc_is_cjk(0x20000) && !rs_uc_is_cjk(0x3042), "CJK ideographs, not hiragana");
}

static void test_strip_lower(void)
{
    uint32_t out[4];
    ok(rs_uc_strip_accents(0xE9, out) == 1 && out[0] == 'e', "é -> e");
    ok(rs_uc_strip_accents(0x1EA5, out) == 1 && out[0] == 'a', "ấ -> a (two marks)");
    is_int(rs_uc_strip_accents(0x0301, out), 0, "a nonspacing mark is dropped");
    ok(rs_uc_strip_accents(0xD55C, out) == 3 && out[0] == 0x1112 && out[1] == 0x1161 && out[2] == 0x11AB,
       "한 -> jamo");
    ok(rs_uc_strip_accents(0xAC00, out) == 2 && out[0] == 0x1100 && out[1] == 0x1161, "가 -> two jamo");
    ok(rs_uc_strip_accents(0x130, out) == 1 && out[0] == 'I', "İ -> I");
    ok(rs_uc_lower('Q', out) == 1 && out[0] == 'q', "Q -> q");
    ok(rs_uc_lower(0x3A3, out) == 1 && out[0] == 0x3C3, "Σ -> σ");
    ok(rs_uc_lower(0x130, out) == 2 && out[0] == 'i' && out[1] == 0x307, "İ -> i + dot above");
    ok(rs_uc_lower(0x5317, out) == 1 && out[0] == 0x5317, "CJK unchanged");
}

int main(void)
{
    test_utf8();
    test_classes();
    test_strip_lower();
    return done_testing();
}
