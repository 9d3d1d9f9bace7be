/* fuzz-wordpiece.c - the BERT tokeniser. An input starting with '{' is a
 * tokenizer.json for rs_wordpiece_load (then a few fixed texts through it);
 * any other input is a text for rs_wordpiece_encode with the small
 * tokenizer below, at two maximum lengths. */
#include "core/err.h"
#include "fuzz.h"
#include "io/wordpiece.h"

static const char small[] =
    "{\"normalizer\": {\"type\": \"BertNormalizer\", \"lowercase\": true, \"strip_accents\": null},"
    " \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"},"
    " \"added_tokens\": [{\"id\": 4, \"content\": \"[MASK]\", \"normalized\": false}],"
    " \"post_processor\": {\"type\": \"BertProcessing\", \"cls\": [\"[CLS]\", 2], \"sep\": [\"[SEP]\", 3]},"
    " \"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"max_input_chars_per_word\": 8,"
    " \"vocab\": {\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3, \"[MASK]\": 4, \"a\": 5, \"##a\": 6,"
    " \"b\": 7, \"##b\": 8, \"ab\": 9, \"##\\u00df\": 10, \"\\u5317\": 11, \",\": 12, \"##bb\": 13}}}";

static void encode_all(const struct rs_wordpiece *wp, const char *text, size_t n)
{
    int32_t ids[512];
    size_t got = rs_wordpiece_encode(wp, text, n, 5, ids);
    RS_ASSERT(got >= 2 && got <= 5);
    got = rs_wordpiece_encode(wp, text, n, 512, ids);
    RS_ASSERT(got >= 2 && got <= 512);
    for (size_t i = 0; i < got; i++)
        RS_ASSERT(ids[i] >= 0 && (size_t)ids[i] < rs_wordpiece_vocab_size(wp));
}

static struct rs_wordpiece *small_tokenizer(void)
{
    static struct rs_wordpiece *wp;
    if (!wp) {
        char path[64];
        int fd = memfd_create("rs-fuzz-tok", 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        RS_ASSERT(write(fd, small, sizeof small - 1) == (ssize_t)(sizeof small - 1));
        RS_ASSERT(rs_wordpiece_load(&wp, path) == 0);
    }
    return wp;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || data[0] != '{') {
        encode_all(small_tokenizer(), (const char *)data, size);
        return 0;
    }
    const char *p = fuzz_path(data, size);
    struct rs_wordpiece *wp;
    if (!p || rs_wordpiece_load(&wp, p) < 0)
        return 0;
    static const char *const texts[] = { "", "Hello, World! Caf\xc3\xa9 \xe5\x8c\x97\xe4\xba\xac", "[MASK]ab\xff\xfe",
                                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        encode_all(wp, texts[i], strlen(texts[i]));
    rs_wordpiece_free(wp);
    return 0;
}
