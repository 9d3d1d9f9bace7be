/* test-eval.c - the streaming evaluator on small files: summaries, users
 * without truth or predictions, segments, and its errors. */
#include "core/err.h"
#include "eval/eval.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/test-eval-XXXXXX";

static const char *file(const char *name, const char *text)
{
    static char path[8][256];
    static int n;
    char *p = path[n++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    return p;
}

static double find(const struct rs_eval *e, size_t m, size_t s, const char *metric, size_t k)
{
    size_t n;
    const struct rs_eval_value *v = rs_eval_summary(e, m, s, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].metric, metric) == 0 && v[i].k == k)
            return v[i].value;
    return -12345;
}

static const size_t ks[2] = { 1, 3 };

static struct rs_eval *fresh(int common)
{
    struct rs_eval_opts o = { "user_id", "item_id", "rank", "score", NULL, -INFINITY, 0, common, ks, 2 };
    return rs_eval_new(&o);
}

static void summaries(void)
{
    const char *truth = file("truth.tsv", "user_id\titem_id\tseg\nu1\ta\tx\nu1\tb\tx\nu2\tc\ty\nu3\td\ty\n");
    const char *pred = file("pred.tsv", "user_id\titem_id\tscore\nu1\tb\t0.2\nu1\ta\t0.9\nu1\tz\t0.5\n"
                                        "u2\tc\t1\nu9\ta\t1\n");
    struct rs_eval *e = fresh(0);
    is_int(rs_eval_load_truth(e, truth, "seg"), 0, "truth loads");
    is_int(rs_eval_truth_users(e), 3, "three truth users");
    is_int(rs_eval_run(e, pred, "m", NULL), 0, "predictions run");
    is_int(rs_eval_nmodels(e), 1, "one model");
    is_str(rs_eval_model(e, 0), "m", "model name");
    is_int(rs_eval_excluded(e, 0), 1, "u9 has no truth: excluded");
    is_int(rs_eval_nsegments(e), 3, "all + two segments");
    is_str(rs_eval_segment(e, 0), "all", "segment 0 is all");
    is_str(rs_eval_segment(e, 1), "x", "segments in order of appearance");
    /* u1: a z b (by score) -> P@3 2/3, u2: c -> P@1 1, u3 absent -> 0 */
    is_near(find(e, 0, 0, "precision", 1), 2.0 / 3, 1e-15, "precision@1 over 3 users");
    is_near(find(e, 0, 0, "precision", 3), (2.0 / 3 + 1.0 / 3) / 3, 1e-15, "precision@3");
    is_near(find(e, 0, 0, "user_coverage", 0), 2.0 / 3, 1e-15, "user coverage");
    is_near(find(e, 0, 2, "precision", 1), 0.5, 1e-15, "segment y: u2 hit, u3 absent");
    is_near(find(e, 0, 1, "users", 0), 1, 0, "segment x has one user");
    is_near(find(e, 0, 0, "novelty", 1), -12345, 0, "no novelty without --train");
    size_t n0, n1;
    rs_eval_summary(e, 0, 0, &n0);
    rs_eval_summary(e, 0, 1, &n1);
    is_int(n0, n1 + 1, "excluded_users only in segment all");
    rs_eval_free(e);

    e = fresh(1);
    rs_eval_load_truth(e, truth, NULL);
    rs_eval_run(e, pred, "m", NULL);
    is_near(find(e, 0, 0, "precision", 1), 1, 1e-15, "--users common: over u1 and u2");
    is_near(find(e, 0, 0, "users", 0), 2, 0, "two users averaged");
    is_int(rs_eval_nsegments(e), 1, "no segments without a segment column");
    rs_eval_free(e);
    rs_eval_free(NULL);
}

static void errors(void)
{
    const char *truth = file("t2.tsv", "user_id\titem_id\nu1\ta\nu2\tb\n");
    struct rs_eval *e = fresh(0);
    is_int(rs_eval_load_truth(e, file("nocol.tsv", "user\titem_id\nu1\ta\n"), NULL), RS_ERR_FORMAT,
           "truth without user_id");
    ok(strstr(rs_err_msg(), "no column 'user_id'") != NULL, "message names the column: %s", rs_err_msg());
    rs_eval_free(e);

    e = fresh(0);
    is_int(rs_eval_load_truth(e, truth, NULL), 0, "truth loads");
    const char *split = file("split.tsv", "user_id\titem_id\trank\nu1\ta\t1\nu2\ta\t1\nu1\tb\t2\n");
    is_int(rs_eval_run(e, split, "s", NULL), RS_ERR_FORMAT, "a user split in two blocks is an error");
    ok(strstr(rs_err_msg(), "line 4: column 'user_id': user 'u1' appears again") != NULL, "%s", rs_err_msg());
    is_int(rs_eval_run(e, file("norank.tsv", "user_id\titem_id\nu1\ta\n"), "n", NULL), RS_ERR_FORMAT,
           "no rank or score column");
    ok(strstr(rs_err_msg(), "no column 'rank' or 'score'") != NULL, "%s", rs_err_msg());
    is_int(rs_eval_run(e, file("inf.tsv", "user_id\titem_id\tscore\nu1\ta\tinf\n"), "i", NULL),
           RS_ERR_FORMAT, "an infinite score");
    is_int(rs_eval_run(e, file("empty.tsv", "user_id\titem_id\trank\n\ta\t1\n"), "e", NULL),
           RS_ERR_FORMAT, "an empty user id");
    ok(strstr(rs_err_msg(), "empty id") != NULL, "%s", rs_err_msg());
    is_int(rs_eval_nmodels(e), 0, "failed runs add no model");
    is_int(rs_eval_run(e, file("ok.tsv", "user_id\titem_id\trank\nu2\tb\t1\nu1\ta\t2\n"), "ok", NULL), 0,
           "a later run works (users seen by failed runs do not count as repeated)");
    is_near(find(e, 0, 0, "precision", 1), 1, 1e-15, "both users hit at 1");
    is_int(rs_eval_load_train(e, "/nonexistent/train.tsv"), RS_ERR_IO, "missing train file");
    rs_eval_free(e);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    summaries();
    errors();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    return done_testing();
}
