/* test-experiment.c - arms of an experiment: the assignment's shares,
 * stability and monotone rollout, forced names, and the file's errors. */
#include "serve/experiment.h"
#include "core/err.h"
#include "tap.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *write_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/test-experiment-%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static int read_text(struct rs_exp *e, const char *text)
{
    struct rs_reco_opts base = { .items_emb = "items.rsb", .ranker = "old.rsm" };
    return rs_exp_read(e, write_file(text), &base);
}

int main(void)
{
    struct rs_exp e, g;
    is_int(read_text(&e, "{\"name\": \"t\", \"salt\": \"s\", \"rollout\": 0.4, \"arms\": [{\"name\": \"a\", \"share\": 0.25},"
                         " {\"name\": \"b\", \"share\": 0.75, \"ranker\": \"new.rsm\"}]}"), 0, "an experiment is read");
    is_int((int)e.narms, 2, "two arms");
    is_str(e.arm[0].opts.ranker, "old.rsm", "an arm keeps the command line's files");
    is_str(e.arm[1].opts.ranker, "new.rsm", "and takes its own");
    is_str(e.arm[1].opts.items_emb, "items.rsb", "the others from the command line");
    is_int(rs_exp_find(&e, "b"), 1, "found by name");
    is_int(rs_exp_find(&e, "zz"), -1, "an unknown name");

    /* shares: in the rollout (40%), a quarter in a; outside, all in a */
    int in_b = 0, n = 40000, moved = 0;
    is_int(read_text(&g, "{\"name\": \"t\", \"salt\": \"s\", \"rollout\": 0.8, \"arms\": [{\"name\": \"a\", \"share\": 0.25},"
                         " {\"name\": \"b\", \"share\": 0.75}]}"), 0, "the same, rollout 80%");
    for (int u = 0; u < n; u++) {
        char id[16];
        snprintf(id, sizeof id, "u%d", u);
        size_t a = rs_exp_assign(&e, id), b = rs_exp_assign(&g, id);
        in_b += a == 1;
        moved += a == 1 && b != 1; /* a user of b at 40% is still in b at 80% */
        if (rs_exp_assign(&e, id) != a)
            moved++;
    }
    double want = 0.4 * 0.75 * n; /* 12,000; its binomial s.d. 92 */
    ok(in_b > 0.97 * want && in_b < 1.03 * want, "b gets 0.4 x 0.75 of the users (%d)", in_b);
    is_int(moved, 0, "raising the rollout moves nobody already in an arm; the assignment is stable");
    double r, a;
    rs_exp_unit("s", "u1", &r, &a);
    ok(r >= 0 && r < 1 && a >= 0 && a < 1 && r != a, "two numbers in [0, 1)");
    rs_exp_free(&g);
    rs_exp_free(&e);

    static const char *const bad[][2] = {
        { "{\"name\": \"t\", \"arms\": [{\"name\": \"a\", \"share\": 0.5}]}", "the shares sum to 0.5, not 1" },
        { "{\"name\": \"t\", \"arms\": [{\"name\": \"a\", \"share\": 0.5}, {\"name\": \"a\", \"share\": 0.5}]}", "given twice" },
        { "{\"name\": \"t\", \"arms\": [{\"name\": \"a b\", \"share\": 1}]}", "arms[0].name" },
        { "{\"name\": \"t\", \"arms\": [{\"name\": \"a\", \"share\": 1, \"rankr\": \"x\"}]}", "rankr" },
        { "{\"name\": \"t\", \"rollout\": 2, \"arms\": [{\"name\": \"a\", \"share\": 1}]}", "rollout" },
        { "{\"name\": \"t\", \"arms\": []}", "1 to 16 arms" },
        { "{\"arms\": [{\"name\": \"a\", \"share\": 1}]}", "missing \"name\"" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = read_text(&e, bad[i][0]);
        ok(rc < 0 && strstr(rs_err_msg(), bad[i][1]), "refused: %s (%s)", bad[i][1], rs_err_msg());
        rs_exp_free(&e);
    }
    is_int(rs_exp_read(&e, NULL, &(struct rs_reco_opts){ .items_emb = "x" }), 0, "no file: one arm");
    is_str(e.arm[0].name, "default", "named default");
    is_int((int)rs_exp_assign(&e, "anyone"), 0, "everyone in it");
    rs_exp_free(&e);
    unlink(write_file(""));
    return done_testing();
}
