/* test-tune.c - the search space, the samplers and the study file. */
#include "core/err.h"
#include "tune/space.h"
#include "tune/study.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char SPACE[] =
    "{ \"params\": {\n"
    "    \"lr\": { \"type\": \"float\", \"low\": 0.001, \"high\": 1, \"log\": true },\n"
    "    \"dim\": { \"type\": \"int\", \"low\": 8, \"high\": 64, \"step\": 8 },\n"
    "    \"opt\": { \"type\": \"choice\", \"values\": [\"adam\", \"sgd\"] },\n"
    "    \"momentum\": { \"type\": \"float\", \"low\": 0, \"high\": 0.9, \"grid_points\": 3,\n"
    "                  \"when\": { \"opt\": [\"sgd\"] } } },\n"
    "  \"budget\": { \"name\": \"epochs\", \"min\": 1, \"max\": 20, \"eta\": 3 } }\n";

static int parse(struct rs_space *s, const char *text)
{
    return rs_space_parse(s, text, strlen(text), "space.json");
}

static void refuses(const char *text, const char *msg)
{
    struct rs_space s;
    int rc = parse(&s, text);
    ok(rc == RS_ERR_FORMAT && strstr(rs_err_msg(), msg), "refused: %s", msg);
    if (!strstr(rs_err_msg(), msg))
        printf("#   got: %s\n", rs_err_msg());
}

static void test_parse(void)
{
    struct rs_space s;
    is_int(parse(&s, SPACE), 0, "space parses");
    is_int(s.n, 4, "four parameters");
    is_str(s.p[3].name, "momentum", "in document order");
    is_int(s.p[3].parent, 2, "momentum depends on opt");
    is_int(rs_space_rungs(&s), 4, "rungs 1 3 9 20");
    is_int(rs_space_rung_budget(&s, 2), 9, "rung 2: 9 epochs");
    is_int(rs_space_rung_budget(&s, 3), 20, "the last rung is max");
    double x[4] = { 0.01, 16, 0, NAN };
    ok(!rs_space_active(&s, x, 3), "momentum inactive with adam");
    x[2] = 1;
    ok(rs_space_active(&s, x, 3), "active with sgd");
    is_str(rs_space_text(&s, x, 2), "sgd", "a choice's text");
    is_str(rs_space_text(&s, x, 1), "16", "an int's text");
    double v;
    ok(rs_space_value(&s, 1, "17.5", &v) < 0, "17.5 is no int value");
    rs_space_free(&s);

    refuses("{ \"params\": { \"a\": { \"type\": \"float\", \"low\": 1 } } }", "params.a.high");
    refuses("{ \"params\": { \"a\": { \"type\": \"float\", \"low\": 0, \"high\": 1, \"log\": true } } }",
            "a log-scaled range needs low > 0");
    refuses("{ \"params\": { \"a\": { \"type\": \"real\", \"low\": 0, \"high\": 1 } } }", "params.a.type");
    refuses("{ \"params\": { \"a\": { \"type\": \"int\", \"low\": 0, \"high\": 1, \"lg\": true } } }", "lg");
    refuses("{ \"params\": { \"b\": { \"type\": \"int\", \"low\": 0, \"high\": 1, \"when\": { \"a\": [1] } },"
            " \"a\": { \"type\": \"choice\", \"values\": [1] } } }",
            "'a' is not a parameter listed before 'b'");
    refuses("{ \"params\": { \"a\": { \"type\": \"choice\", \"values\": [\"x\", \"x\"] } } }", "given twice");
    refuses("{ \"params\": { \"a b\": { \"type\": \"choice\", \"values\": [1] } } }", "a parameter name");
    refuses("{ \"params\": { \"a\": { \"type\": \"int\", \"low\": 3, \"high\": 1 } } }", "not above low");
    refuses("{ \"params\": { } }", "1 to 64 parameters");
    refuses("{ \"params\": { \"a\": { \"type\": \"int\", \"low\": 0, \"high\": 1 } },\n \"budget\": 3 }",
            "budget");
    refuses("{ \"params\": {\n \"a\": { \"type\": \"int\" \"low\": 0 } } }", "line 2");
}

static void test_random(void)
{
    struct rs_space s;
    struct rs_study st;
    parse(&s, SPACE);
    rs_study_init(&st, &s, RS_SAMPLER_RANDOM, 7, 1);
    int in_range = 1, inactive_ok = 1, sgd = 0;
    for (int i = 0; i < 200; i++) {
        rs_study_next(&st, st.n);
        const double *x = st.t[i].x;
        in_range &= x[0] >= 0.001 && x[0] <= 1 && x[1] >= 8 && x[1] <= 64 && fmod(x[1], 8) == 0;
        inactive_ok &= (x[2] == 0) == isnan(x[3]);
        sgd += x[2] == 1;
    }
    ok(in_range, "random draws stay in range, ints on the step");
    ok(inactive_ok, "momentum drawn exactly when opt is sgd");
    ok(sgd > 70 && sgd < 130, "both choices drawn (%d sgd of 200)", sgd);
    struct rs_study again;
    rs_study_init(&again, &s, RS_SAMPLER_RANDOM, 7, 1);
    for (int i = 0; i < 5; i++)
        rs_study_next(&again, again.n);
    ok(memcmp(again.t[4].x, st.t[4].x, 2 * sizeof(double)) == 0, "same seed, same trial");
    rs_study_free(&again);
    rs_study_free(&st);
    rs_space_free(&s);
}

static void test_grid(void)
{
    struct rs_space s;
    struct rs_study st;
    parse(&s, SPACE);
    rs_study_init(&st, &s, RS_SAMPLER_GRID, 1, 1);
    while (rs_study_next(&st, st.n) == 0)
        ;
    /* lr 5 points x dim 8 x (adam + sgd x 3 momenta) */
    is_int(st.n, 5 * 8 * 4, "the grid, inactive momentum counted once");
    is_near(st.t[0].x[0], 0.001, 1e-12, "first point at low");
    is_near(st.t[st.n - 1].x[0], 1, 1e-12, "last point at high");
    rs_study_free(&st);
    rs_space_free(&s);
}

/* A quadratic bowl with its minimum at lr = 0.03, dim = 40, opt = sgd. */
static double bowl(const double *x)
{
    double a = log10(x[0]) - log10(0.03), b = (x[1] - 40) / 56;
    return a * a + b * b + (x[2] == 1 ? 0 : 0.5);
}

static double best_after(enum rs_sampler sampler, uint64_t seed, int n)
{
    struct rs_space s;
    struct rs_study st;
    parse(&s, SPACE);
    rs_study_init(&st, &s, sampler, seed, 0);
    double best = INFINITY;
    for (int i = 0; i < n; i++) {
        rs_study_next(&st, st.n);
        st.t[i].state = RS_TRIAL_DONE;
        st.t[i].value = bowl(st.t[i].x);
        best = fmin(best, st.t[i].value);
    }
    rs_study_free(&st);
    rs_space_free(&s);
    return best;
}

static void test_tpe(void)
{
    double tpe = 0, rnd = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        tpe += best_after(RS_SAMPLER_TPE, seed, 40);
        rnd += best_after(RS_SAMPLER_RANDOM, seed, 40);
    }
    ok(tpe < 0.5 * rnd, "TPE's mean best after 40 trials (%.4f) is under half random's (%.4f)", tpe / 10, rnd / 10);
}

static void test_asha(void)
{
    struct rs_space s;
    struct rs_study st;
    parse(&s, SPACE);
    rs_study_init(&st, &s, RS_SAMPLER_ASHA, 3, 0);
    int promoted_best = 1;
    for (int i = 0; i < 40; i++) {
        rs_study_next(&st, st.n);
        struct rs_trial *t = &st.t[i];
        if (t->parent >= 0)
            promoted_best &= t->rung == st.t[t->parent].rung + 1 && t->x[0] == st.t[t->parent].x[0];
        t->state = RS_TRIAL_DONE;
        t->value = bowl(t->x) / (double)rs_study_budget(&st, (size_t)i);
    }
    int top = 0, at0 = 0;
    for (size_t i = 0; i < st.n; i++)
        top += st.t[i].rung == 3, at0 += st.t[i].rung == 0;
    ok(promoted_best, "a promotion continues its parent's configuration one rung up");
    ok(top >= 1 && at0 > top, "configurations reach the top rung (%d), most stop at rung 0 (%d)", top, at0);
    is_int(rs_study_budget(&st, (size_t)rs_study_best(&st)), 20, "the best is a top-rung trial");

    char path[] = "/tmp/test-tune-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    st.t[5].state = RS_TRIAL_PENDING;
    is_int(rs_study_save(&st, path), 0, "study saved");
    struct rs_study back;
    int found;
    rs_study_init(&back, &s, RS_SAMPLER_ASHA, 3, 0);
    is_int(rs_study_load(&back, path, &found), 0, "study loaded");
    ok(found && back.n == st.n, "every trial back");
    int same = 1;
    for (size_t i = 0; i < st.n; i++)
        same &= back.t[i].state == st.t[i].state && back.t[i].rung == st.t[i].rung &&
                back.t[i].promoted == st.t[i].promoted && memcmp(back.t[i].x, st.t[i].x, 3 * sizeof(double)) == 0 &&
                (back.t[i].state != RS_TRIAL_DONE || back.t[i].value == st.t[i].value);
    ok(same, "points, rungs, promotions, states and values round-trip exactly");
    struct rs_study other;
    rs_study_init(&other, &s, RS_SAMPLER_TPE, 3, 0);
    ok(rs_study_load(&other, path, &found) == RS_ERR_USAGE && strstr(rs_err_msg(), "sampler asha"),
       "a study of another sampler is refused");
    rs_study_free(&other);
    rs_study_free(&back);
    unlink(path);
    rs_study_free(&st);
    rs_space_free(&s);
}

int main(void)
{
    test_parse();
    test_random();
    test_grid();
    test_tpe();
    test_asha();
    return done_testing();
}
