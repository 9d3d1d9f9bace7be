/* test-split.c - rs-split's rules: window specs and their bounds, the
 * cutoff boundary, event windows, per-user assignment (last N with ties in
 * input order, fractions, min-train, random draws), the rejected specs, and
 * the window outputs (files, counts, nothing left on failure). */
#include "core/err.h"
#include "prep/split.h"
#include "core/strmap.h"
#include "tap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define W (7 * 86400LL)

static void test_windows(void)
{
    struct rs_split_windows w;
    is_int(rs_split_parse_windows(&w, "old|6w|3w"), 0, "parse 'old|6w|3w'");
    is_int(w.n, 3, "three windows");
    is_str(w.name[0], "old", "default name is the text");
    is_str(w.name[2], "3w", "third name");
    int64_t end = 1000 * W;
    rs_split_anchor(&w, end);
    ok(w.lo[2] == end - 3 * W && w.lo[1] == end - 9 * W && w.lo[0] == INT64_MIN,
       "bounds counted back from the end");
    is_int(rs_split_window_of(&w, end - 3 * W), 2, "the boundary instant is in the later window");
    is_int(rs_split_window_of(&w, end - 3 * W - 1), 1, "one second before is in the earlier one");
    is_int(rs_split_window_of(&w, end - 1), 2, "the newest second is in the last window");
    is_int(rs_split_window_of(&w, end), -1, "the end itself is outside");
    is_int(rs_split_window_of(&w, 0), 0, "anything old is in 'old'");
    rs_split_windows_free(&w);
    rs_split_windows_free(&w);

    is_int(rs_split_parse_windows(&w, "train=old|valid=6w|test=3d"), 0, "named windows");
    is_str(w.name[1], "valid", "names taken from NAME=");
    rs_split_anchor(&w, 100 * W);
    is_int(rs_split_window_of(&w, 100 * W - 3 * 86400), 2, "3d window starts 3 days before the end");
    rs_split_windows_free(&w);

    is_int(rs_split_parse_windows(&w, "1d|1d"), RS_ERR_USAGE, "same name twice rejected");
    ok(strstr(rs_err_msg(), "named twice") != NULL, "message: %s", rs_err_msg());
    is_int(rs_split_parse_windows(&w, "a=2d|b=1d"), 0, "without old");
    rs_split_anchor(&w, 10 * 86400);
    is_int(rs_split_window_of(&w, 7 * 86400 - 1), -1, "before the first window: dropped");
    is_int(rs_split_window_of(&w, 7 * 86400), 0, "first window");
    rs_split_windows_free(&w);

    is_int(rs_split_parse_windows(&w, "6w|old"), RS_ERR_USAGE, "'old' not first rejected");
    is_int(rs_split_parse_windows(&w, "old|x"), RS_ERR_USAGE, "bad duration rejected");
    ok(strstr(rs_err_msg(), "invalid window length 'x'") != NULL, "message: %s", rs_err_msg());
    is_int(rs_split_parse_windows(&w, "old|0d"), RS_ERR_USAGE, "zero length rejected");
    is_int(rs_split_parse_windows(&w, "a/b=1d"), RS_ERR_USAGE, "a name with '/' rejected");
    is_int(rs_split_parse_windows(&w, ".hidden=1d"), RS_ERR_USAGE, "a name starting with '.' rejected");
    is_int(rs_split_parse_windows(&w, ""), RS_ERR_USAGE, "empty spec rejected");
    is_int(rs_split_parse_windows(&w, "old||1d"), RS_ERR_USAGE, "empty part rejected");
    ok(w.n == 0 && w.name == NULL, "a failed parse leaves nothing allocated");

    rs_split_cutoff(&w, "train", "test", 500);
    is_int(rs_split_window_of(&w, 499), 0, "cutoff: before is train");
    is_int(rs_split_window_of(&w, 500), 1, "cutoff: at the cutoff is test");
    is_int(rs_split_window_of(&w, INT64_MIN), 0, "cutoff: the far past is train");
    is_int(rs_split_window_of(&w, INT64_MAX - 1), 1, "cutoff: the far future is test");
    rs_split_windows_free(&w);
}

static void test_events(void)
{
    struct rs_split_windows w;
    is_int(rs_split_parse_events(&w, "train=click,favourite|valid=booking"), 0, "parse by-event spec");
    is_int(rs_split_event_window(&w, "click", 5), 0, "click -> train");
    is_int(rs_split_event_window(&w, "favourite", 9), 0, "favourite -> train");
    is_int(rs_split_event_window(&w, "booking", 7), 1, "booking -> valid");
    is_int(rs_split_event_window(&w, "impression", 10), -1, "unlisted -> dropped");
    is_int(rs_split_event_window(&w, "clic", 4), -1, "prefix does not match");
    rs_split_windows_free(&w);
    is_int(rs_split_parse_events(&w, "a=click|b=click"), RS_ERR_USAGE, "event in two windows rejected");
    ok(strstr(rs_err_msg(), "'click' is in two windows") != NULL, "message: %s", rs_err_msg());
    is_int(rs_split_parse_events(&w, "click"), RS_ERR_USAGE, "missing NAME= rejected");
    is_int(rs_split_parse_events(&w, "a="), RS_ERR_USAGE, "empty event list rejected");
    is_int(rs_split_parse_events(&w, "a=click,,view"), RS_ERR_USAGE, "empty event name rejected");
}

static void test_per_user(void)
{
    const uint32_t user[] = { 0, 1, 0, 0, 1, 2 };
    const int64_t ts[] = { 5, 1, 3, 9, 1, 4 };
    uint8_t test[6];
    struct rs_split_per_user r = { .mode = RS_SPLIT_LAST_N, .n = 1 };
    rs_split_assign(&r, user, ts, 6, test);
    const uint8_t want1[] = { 0, 0, 0, 1, 1, 1 };
    ok(memcmp(test, want1, 6) == 0, "last 1: newest per user; a tie goes to the later input row");
    r.min_train = 1;
    rs_split_assign(&r, user, ts, 6, test);
    const uint8_t want2[] = { 0, 0, 0, 1, 1, 0 };
    ok(memcmp(test, want2, 6) == 0, "min-train 1 keeps a single-event user in train");
    r = (struct rs_split_per_user){ .mode = RS_SPLIT_LAST_N, .n = 2 };
    rs_split_assign(&r, user, ts, 6, test);
    const uint8_t want3[] = { 1, 1, 0, 1, 1, 1 };
    ok(memcmp(test, want3, 6) == 0, "last 2");
    r = (struct rs_split_per_user){ .mode = RS_SPLIT_LAST_FRAC, .frac = 0.5 };
    rs_split_assign(&r, user, ts, 6, test);
    const uint8_t want4[] = { 0, 0, 0, 1, 1, 1 };
    ok(memcmp(test, want4, 6) == 0, "fraction 0.5: max(1, floor(0.5 n))");
    memset(test, 7, sizeof test);
    rs_split_assign(&r, user, ts, 0, test);
    ok(memchr(test, 0, sizeof test) == NULL && memchr(test, 1, sizeof test) == NULL,
       "no events: nothing assigned");

    /* Random: exact counts per user, seed-determined. */
    enum { N = 2000 };
    uint32_t *u = malloc(N * sizeof *u);
    int64_t *t = malloc(N * sizeof *t);
    uint8_t *a = malloc(N), *b = malloc(N), *c = malloc(N);
    for (int k = 0; k < N; k++) {
        u[k] = (uint32_t)(k % 20);
        t[k] = k;
    }
    r = (struct rs_split_per_user){ .mode = RS_SPLIT_RANDOM, .frac = 0.25, .seed = 1 };
    rs_split_assign(&r, u, t, N, a);
    rs_split_assign(&r, u, t, N, b);
    r.seed = 2;
    rs_split_assign(&r, u, t, N, c);
    int per[20] = { 0 }, exact = 1, late = 0;
    for (int k = 0; k < N; k++) {
        per[u[k]] += a[k];
        late += a[k] && k >= N * 3 / 4;
    }
    for (int k = 0; k < 20; k++)
        exact &= per[k] == 25;
    ok(exact, "random 0.25: exactly 25 of each user's 100 events");
    ok(late > 50 && late < 200, "random draws are not the newest events (%d of 500 in the last quarter)",
       late);
    ok(memcmp(a, b, N) == 0, "same seed, same draws");
    ok(memcmp(a, c, N) != 0, "other seed, other draws");
    free(u);
    free(t);
    free(a);
    free(b);
    free(c);
}

static char *slurp(const char *path)
{
    static char buf[256];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_out(void)
{
    char root[] = "/tmp/test-split-XXXXXX", dir[64], path[96];
    RS_ASSERT(mkdtemp(root));
    snprintf(dir, sizeof dir, "%s/win", root);
    struct rs_split_windows w;
    rs_split_cutoff(&w, "train", "test", 100);
    struct rs_split_out o;
    const char *h = "user_id\ttimestamp\n";
    is_int(rs_split_out_open(&o, dir, &w, h, strlen(h), 0, 0), 0, "open the window outputs");
    const struct {
        const char *user;
        int64_t t;
    } rows[] = { { "a", 50 }, { "b", 150 }, { "a", 99 }, { "a", 100 } };
    char line[32];
    for (int k = 0; k < 4; k++) {
        int n = snprintf(line, sizeof line, "%s\t%lld\n", rows[k].user, (long long)rows[k].t);
        int win = rs_split_window_of(&w, rows[k].t);
        is_int(rs_split_out_put(&o, win, line, (size_t)n, rows[k].user, 1, rows[k].t), 0, "put row %d", k);
    }
    is_int(rs_split_out_put(&o, -1, "x\t1\n", 4, "x", 1, 1), 0, "a dropped row");
    is_int(rs_split_out_finish(&o, 0), 0, "finish: commit");
    snprintf(path, sizeof path, "%s/train.tsv", dir);
    is_str(slurp(path), "user_id\ttimestamp\na\t50\na\t99\n", "train.tsv: header and rows in order");
    snprintf(path, sizeof path, "%s/test.tsv", dir);
    is_str(slurp(path), "user_id\ttimestamp\nb\t150\na\t100\n", "test.tsv");
    ok(o.count[0] == 2 && o.count[1] == 2 && o.dropped == 1, "counts per window and dropped");
    ok(o.tmin[1] == 100 && o.tmax[1] == 150, "time range of a window");
    is_int(rs_strmap_size(o.users[0]), 1, "distinct users of train");
    is_int(rs_strmap_size(o.users[1]), 2, "distinct users of test");
    rs_split_out_free(&o);

    snprintf(dir, sizeof dir, "%s/failed", root);
    is_int(rs_split_out_open(&o, dir, &w, h, strlen(h), 1, 0), 0, "open, compressed");
    is_int(rs_split_out_put(&o, 0, "a\t1\n", 4, "a", 1, 1), 0, "put");
    is_int(rs_split_out_finish(&o, RS_ERR_FORMAT), RS_ERR_FORMAT, "finish with an error passes it on");
    struct stat st;
    ok(stat(dir, &st) < 0, "a failed split leaves no directory");
    rs_split_out_free(&o);
    rs_split_windows_free(&w);
    snprintf(path, sizeof path, "rm -rf '%s'", root);
    RS_ASSERT(system(path) == 0);
}

int main(void)
{
    test_windows();
    test_events();
    test_per_user();
    test_out();
    return done_testing();
}
