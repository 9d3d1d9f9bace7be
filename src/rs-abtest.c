/* rs-abtest - online metrics per arm of an experiment from rs-serve's
 * feedback log: impressions, click-through rate, conversion and revenue
 * per impression with 95% intervals, and the always-valid p-value of the
 * mSPRT against the control (lib/eval/abtest.c). */
#include "cli.h"
#include "core/err.h"
#include "eval/abtest.h"
#include "io/io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "rs-abtest [OPTIONS] LOG..."
#define DEFAULT_TAU_CTR 0.02
#define DEFAULT_TAU_CONVERSION 0.01
#define DEFAULT_TAU_REVENUE 1.0
#define DEFAULT_ALPHA 0.05

static struct {
    struct rs_output out;
    const char *control;
    double tau[RS_AB_NMETRICS], alpha;
} opt = { .tau = { DEFAULT_TAU_CTR, DEFAULT_TAU_CONVERSION, DEFAULT_TAU_REVENUE }, .alpha = DEFAULT_ALPHA };

static const char *const metric_name[RS_AB_NMETRICS] = { "ctr", "conversion", "revenue_per_impression" };

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Compare the arms of an experiment on rs-serve's feedback log (schemas/feedback.md;\n"
           "the files of --feedback-dir in order, '-' stdin). The unit is the impression: its\n"
           "click (CTR), its conversion (a booking or a purchase) and its revenue (their\n"
           "values), joined by session_id (the request id) and item_id.\n"
           "Output (TSV): arm, metric (ctr, conversion, revenue_per_impression), impressions,\n"
           "mean, ci_low, ci_high (95%%, mean +- 1.96 s/sqrt(n)), diff (mean - the control's),\n"
           "p_always_valid, significant (p_always_valid <= --alpha); the control's p is empty.\n"
           "\n"
           "p_always_valid is the mixture sequential probability ratio test (mSPRT) of\n"
           "Johari, Koomen, Pekelis and Walsh, \"Peeking at A/B tests\" (KDD 2017), with a\n"
           "normal mixture N(0, tau^2) on the difference of means, updated after every row\n"
           "of the log, once both arms have %d impressions (a burn-in for the plug-in\n"
           "variances): valid however often it is looked at (continuous monitoring).\n"
           "\n"
           "Options:\n"
           "      --control ARM       the control arm (default: the first arm in the log)\n"
           "      --tau-ctr T         the mixture's standard deviation: the size of effect\n"
           "                          the test is most sensitive to, for CTR (default %g),\n"
           "      --tau-conversion T  conversion (default %g),\n"
           "      --tau-revenue T     revenue per impression (default %g)\n"
           "      --alpha A           the level of the significant column (default %g)\n"
           "  -o, --output FILE       write to FILE, atomically (default: stdout)\n"
           "  -z, --zstd              compress the output (default when FILE ends in .zst)\n"
           "      --level N           zstd level 1..19 (default 3)\n" RS_COMMON_HELP
           "\n"
           "Examples:\n"
           "  rs-abtest --control control feedback/feedback-*.tsv.zst\n"
           "  rs-abtest --tau-ctr 0.005 log.tsv.zst | rs-cat\n",
           RS_AB_BURN_IN, DEFAULT_TAU_CTR, DEFAULT_TAU_CONVERSION, DEFAULT_TAU_REVENUE, DEFAULT_ALPHA);
}

static int put_number(struct rs_writer *w, double x, int last)
{
    return (isfinite(x) ? rs_writer_put_float(w, x) : 0) | rs_writer_putc(w, last ? '\n' : '\t');
}

static int report(const struct rs_ab *a, struct rs_writer *w)
{
    int rc = rs_writer_printf(w, "arm\tmetric\timpressions\tmean\tci_low\tci_high\tdiff\tp_always_valid\tsignificant\n");
    const struct rs_ab_arm *ctl = &a->arm[a->ctl];
    for (size_t i = 0; i < a->narms && rc == 0; i++)
        for (int m = 0; m < RS_AB_NMETRICS; m++) {
            const struct rs_ab_arm *r = &a->arm[i];
            double mean, lo, hi, cmean, clo, chi;
            rs_ab_summary(r, m, &mean, &lo, &hi);
            rs_ab_summary(ctl, m, &cmean, &clo, &chi);
            rc |= rs_writer_put_text(w, r->name) | rs_writer_putc(w, '\t') | rs_writer_put_text(w, metric_name[m]);
            rc |= rs_writer_printf(w, "\t%llu\t", (unsigned long long)r->n);
            rc |= put_number(w, mean, 0) | put_number(w, lo, 0) | put_number(w, hi, 0) | put_number(w, mean - cmean, 0);
            if (i == a->ctl)
                rc |= rs_writer_printf(w, "\t\n");
            else
                rc |= put_number(w, r->p[m], 0) | rs_writer_printf(w, "%d\n", r->p[m] <= opt.alpha);
        }
    return rc;
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        { "control", required_argument, 0, 'C' },
        { "tau-ctr", required_argument, 0, 1 },
        { "tau-conversion", required_argument, 0, 2 },
        { "tau-revenue", required_argument, 0, 3 },
        { "alpha", required_argument, 0, 'a' },
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS, longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out))
            continue;
        switch (c) {
        case 'C': opt.control = optarg; break;
        case 1: opt.tau[RS_AB_CTR] = rs_opt_double("--tau-ctr", optarg, 1e-9, 1e9); break;
        case 2: opt.tau[RS_AB_CONVERSION] = rs_opt_double("--tau-conversion", optarg, 1e-9, 1e9); break;
        case 3: opt.tau[RS_AB_REVENUE] = rs_opt_double("--tau-revenue", optarg, 1e-9, 1e9); break;
        case 'a': opt.alpha = rs_opt_double("--alpha", optarg, 0, 1); break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    if (optind == argc)
        rs_usage_error(SYNOPSIS, "no feedback log given");
    struct rs_ab a;
    rs_ab_init(&a, opt.tau, opt.control);
    int rc = 0;
    for (int i = optind; i < argc && rc == 0; i++)
        rc = rs_ab_read(&a, argv[i]);
    if (rc == 0 && a.narms == 0)
        rc = rs_err_set(RS_ERR_FORMAT, "no impression in the log");
    if (rc == 0)
        rc = rs_ab_check_control(&a);
    if (rc == 0 && a.orphans)
        rs_log("%llu events without their impression in the log: not counted", (unsigned long long)a.orphans);
    struct rs_writer *w = NULL;
    if (rc == 0)
        rc = rs_output_open(&w, &opt.out);
    if (rc == 0)
        rc = report(&a, w);
    rs_ab_free(&a);
    if ((rc = rs_writer_finish(w, rc)) < 0)
        rs_die(rc);
    return 0;
}
