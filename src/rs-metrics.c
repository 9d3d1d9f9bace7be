/* rs-metrics - offline evaluation of recommendation lists: precision, recall,
 * NDCG, MAP, MRR, hit rate, coverage, novelty, diversity per cutoff k, for
 * one or several prediction files side by side (engine: lib/eval/eval.c,
 * formulas: lib/eval/metrics.h, schemas/metrics.md). */
#include "cli.h"
#include "core/err.h"
#include "core/num.h"
#include "eval/eval.h"
#include "io/io.h"
#include "io/itemattr.h"
#include "io/rsb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "rs-metrics --truth FILE --pred [NAME=]FILE... [OPTIONS]\n" \
                 "       rs-metrics merge [OPTIONS] PARTIAL..."
#define DEFAULT_KS "5,10,20"
#define MAX_KS 64

struct pred {
    const char *name, *path;
};

static struct {
    const char *truth, *train, *item_features, *category_col, *items_rsb;
    const char *user_features, *by, *per_user;
    struct rs_output out;
    const char *rank_col, *score_col, *rel_col;
    struct pred *preds;
    size_t npreds;
    size_t ks[MAX_KS], nk;
    double min_rel;
    int gain_exp, common, json, wide, digits, partial, merge;
    char **parts; /* merge: the partials */
    int nparts;
} opt = { .digits = 9, .category_col = "category", .rank_col = "rank", .score_col = "score", .min_rel = -INFINITY };

/* The user and item columns of every input. */
static struct rs_cols cols = RS_COLS_INIT(RS_COLS_USER | RS_COLS_ITEM);

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Evaluate ranked recommendations (user_id, item_id, rank or score; rows of one user\n"
           "contiguous) against held-out truth (user_id, item_id). Prints the metrics stream:\n"
           "model, metric, k, value. Definitions: schemas/metrics.md.\n"
           "\n"
           "Inputs:\n"
           "      --truth FILE        test interactions (required); users without any are excluded\n"
           "      --pred [NAME=]FILE  predictions (repeatable; '-' is stdin); NAME defaults to the\n"
           "                          file name without .zst/.tsv/.csv\n"
           "      --train FILE        training interactions: catalog coverage, Gini, novelty\n"
           "      --item-features F   items table for diversity by category\n"
           "      --category-col C    its category column (default 'category')\n"
           "      --items FILE.rsb    item embeddings for diversity by embedding (1 - cosine)\n"
           "      --user-features F   users table holding the --by column\n"
           "Metrics:\n"
           "  -k, --k LIST            cutoffs, comma-separated (default " DEFAULT_KS ")\n"
           "      --relevance-col C   graded truth column: adds ndcg_graded (gain = value)\n"
           "      --gain raw|exp      graded gain: the value (default) or 2^value - 1\n"
           "      --min-relevance X   truth rows with relevance < X are not relevant\n"
           "      --users MODE        all (default): truth users without predictions score 0;\n"
           "                          common: average over users with predictions only\n"
           "                          (Microsoft recommenders' convention)\n"
           "      --by COLUMN         also break the figures down by this user segment column\n"
           "                          (of --user-features, else of the truth file)\n"
           "  Per k: precision recall ndcg [ndcg_graded] map mrr hit_rate [novelty\n"
           "  catalog_coverage] distributional_coverage [gini ild_category ild_embedding];\n"
           "  once: users user_coverage excluded_users.\n"
           "Columns:\n"
           "%s"
           "      --rank-col C        prediction order, ascending (default 'rank'); without it\n"
           "      --score-col C       score, descending (default 'score'); ties by item id bytes\n"
           "Output:\n"
           "      --wide              side-by-side table: metric, k, one column per model\n"
           "      --json              one JSON document instead of TSV\n"
           "      --per-user FILE     per-user values: user_id, model, n_truth, n_pred, metric@k...\n"
           "      --digits N          significant digits of summary values (default 9; 17 keeps\n"
           "                          every bit of a double)\n"
           "  -o, --output FILE       write to FILE, atomically (default: stdout)\n"
           "  -z, --zstd              compress the output (default when FILE ends in .zst)\n"
           "      --level N           zstd level 1..19 (default 3)\n"
           "Sharding (schemas/metrics.md, \"Partials\"):\n"
           RS_SHARD_HELP
           "      --partial           write the sums and counts behind the figures (a partial)\n"
           "                          instead of the figures\n"
           "  merge PARTIAL...        add the partials of shards 0..N-1 (each once) and print\n"
           "                          the figures of the whole: the run's -k, and --by to show\n"
           "                          its segments; output options as above\n"
           RS_COMMON_HELP
           "\n"
           "Examples:\n"
           "  rs-metrics --truth test.tsv --pred recs.tsv -k 5,10,20,100\n"
           "  rs-metrics --truth test.tsv --train train.tsv --wide \\\n"
           "      --pred model=recs.tsv.zst --pred pop=popular.tsv --pred random=random.tsv\n"
           "  rs-metrics --truth test.tsv --pred recs.tsv --by segment --user-features users.tsv\n"
           "  for i in 0 1 2; do rs-metrics --truth test.tsv --pred recs.tsv --shard $i/3 --partial \\\n"
           "      -o part$i.tsv; done; rs-metrics merge part0.tsv part1.tsv part2.tsv\n",
           rs_cli_cols_help(&cols, 26));
}

static void parse_ks(const char *s)
{
    opt.nk = 0;
    for (const char *p = s; *p;) {
        const char *end = p + strcspn(p, ",");
        int64_t k;
        if (rs_num_i64(p, (size_t)(end - p), &k) < 0 || k < 1 || k > 1000000000 || opt.nk == MAX_KS ||
            (opt.nk && (size_t)k <= opt.ks[opt.nk - 1]))
            rs_usage_error(SYNOPSIS, "invalid -k '%s': expected ascending positive integers, e.g. 5,10,20", s);
        opt.ks[opt.nk++] = (size_t)k;
        p = *end ? end + 1 : end;
    }
    if (opt.nk == 0)
        rs_usage_error(SYNOPSIS, "invalid -k '%s': expected ascending positive integers, e.g. 5,10,20", s);
}

/* "name=path", or a path whose name is its base name less .zst/.tsv/.csv. */
static void add_pred(const char *arg)
{
    const char *eq = strchr(arg, '=');
    struct pred p = { NULL, arg };
    if (eq && eq > arg && !memchr(arg, '/', (size_t)(eq - arg))) {
        p.name = xstrndup(arg, (size_t)(eq - arg));
        p.path = eq + 1;
    } else {
        const char *base = strrchr(arg, '/') ? strrchr(arg, '/') + 1 : arg;
        char *name = xstrdup(strcmp(arg, "-") == 0 ? "stdin" : base);
        const char *ext[] = { ".zst", ".tsv", ".csv" };
        for (int i = 0; i < 3; i++) {
            size_t n = strlen(name), k = strlen(ext[i]);
            if (n > k && strcmp(name + n - k, ext[i]) == 0)
                name[n - k] = '\0';
        }
        p.name = name;
    }
    if (!*p.path || strpbrk(p.name, "\t\n"))
        rs_usage_error(SYNOPSIS, "invalid --pred '%s'", arg);
    for (size_t i = 0; i < opt.npreds; i++)
        if (strcmp(opt.preds[i].name, p.name) == 0)
            rs_usage_error(SYNOPSIS, "two predictions named '%s'; name them with --pred NAME=FILE", p.name);
    opt.preds = xrealloc(opt.preds, (opt.npreds + 1) * sizeof *opt.preds);
    opt.preds[opt.npreds++] = p;
}

/* ---- output ---- */

static int put_num(struct rs_writer *w, double x)
{
    return opt.digits == 9 ? rs_writer_put_float(w, x) : rs_writer_printf(w, "%.*g", opt.digits, x);
}

static int put_k_value(struct rs_writer *w, const struct rs_eval_value *v)
{
    int rc = v->k ? rs_writer_printf(w, "%zu", v->k) : 0;
    rc |= rs_writer_putc(w, '\t');
    return rc | (isnan(v->value) ? 0 : put_num(w, v->value));
}

/* The table for the run store (--track): "recall@10", prefixed "MODEL/"
 * when several models are compared and "SEGMENT/" with --by. */
static void track_metrics(struct rs_eval *e, size_t nseg)
{
    for (size_t m = 0; m < rs_eval_nmodels(e); m++)
        for (size_t s = 0; s < nseg; s++) {
            size_t n;
            const struct rs_eval_value *v = rs_eval_summary(e, m, s, &n);
            for (size_t i = 0; i < n; i++) {
                char name[256], k[24] = "";
                if (v[i].k)
                    snprintf(k, sizeof k, "@%zu", v[i].k);
                snprintf(name, sizeof name, "%s%s%s%s%s%s", rs_eval_nmodels(e) > 1 ? rs_eval_model(e, m) : "",
                         rs_eval_nmodels(e) > 1 ? "/" : "", opt.by ? rs_eval_segment(e, s) : "", opt.by ? "/" : "",
                         v[i].metric, k);
                if (!isnan(v[i].value))
                    rs_cli_metric(name, 0, v[i].value);
            }
        }
}

static int write_long(struct rs_eval *e, struct rs_writer *w, size_t nseg)
{
    int rc = rs_writer_printf(w, "model\t");
    if (opt.by)
        rc |= rs_writer_put_text(w, opt.by) | rs_writer_putc(w, '\t');
    rc |= rs_writer_printf(w, "metric\tk\tvalue\n");
    for (size_t m = 0; m < rs_eval_nmodels(e); m++)
        for (size_t s = 0; s < nseg; s++) {
            size_t n;
            const struct rs_eval_value *v = rs_eval_summary(e, m, s, &n);
            for (size_t i = 0; i < n && rc == 0; i++) {
                rc |= rs_writer_put_text(w, rs_eval_model(e, m)) | rs_writer_putc(w, '\t');
                if (opt.by)
                    rc |= rs_writer_put_text(w, rs_eval_segment(e, s)) | rs_writer_putc(w, '\t');
                rc |= rs_writer_put_text(w, v[i].metric) | rs_writer_putc(w, '\t') | put_k_value(w, &v[i]);
                rc |= rs_writer_putc(w, '\n');
            }
        }
    return rc;
}

/* Side by side: a row per (segment,) metric and k, a column per model. */
static int write_wide(struct rs_eval *e, struct rs_writer *w, size_t nseg)
{
    int rc = 0;
    if (opt.by)
        rc |= rs_writer_put_text(w, opt.by) | rs_writer_putc(w, '\t');
    rc |= rs_writer_printf(w, "metric\tk");
    for (size_t m = 0; m < rs_eval_nmodels(e); m++)
        rc |= rs_writer_putc(w, '\t') | rs_writer_put_text(w, rs_eval_model(e, m));
    rc |= rs_writer_putc(w, '\n');
    for (size_t s = 0; s < nseg; s++) {
        size_t n, nm;
        const struct rs_eval_value *v = rs_eval_summary(e, 0, s, &n);
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (opt.by)
                rc |= rs_writer_put_text(w, rs_eval_segment(e, s)) | rs_writer_putc(w, '\t');
            rc |= rs_writer_put_text(w, v[i].metric) | rs_writer_putc(w, '\t');
            rc |= v[i].k ? rs_writer_printf(w, "%zu", v[i].k) : 0;
            for (size_t m = 0; m < rs_eval_nmodels(e); m++) {
                const struct rs_eval_value *vm = rs_eval_summary(e, m, s, &nm);
                RS_ASSERT(nm == n && vm[i].metric == v[i].metric && vm[i].k == v[i].k);
                rc |= rs_writer_putc(w, '\t') | (isnan(vm[i].value) ? 0 : put_num(w, vm[i].value));
            }
            rc |= rs_writer_putc(w, '\n');
        }
    }
    return rc;
}

static int json_str(struct rs_writer *w, const char *s)
{
    return rs_writer_put_json_string(w, s, strlen(s)); /* valid JSON even from invalid UTF-8 */
}

static int write_json(struct rs_eval *e, struct rs_writer *w, size_t nseg)
{
    int rc = rs_writer_printf(w, "{\"k\": [");
    for (size_t j = 0; j < opt.nk; j++)
        rc |= rs_writer_printf(w, j ? ", %zu" : "%zu", opt.ks[j]);
    rc |= rs_writer_printf(w, "],\n \"results\": [");
    for (size_t m = 0; m < rs_eval_nmodels(e); m++)
        for (size_t s = 0; s < nseg; s++) {
            rc |= rs_writer_printf(w, m + s ? ",\n  {\"model\": " : "\n  {\"model\": ") | json_str(w, rs_eval_model(e, m));
            if (opt.by)
                rc |= rs_writer_printf(w, ", \"segment\": ") | json_str(w, rs_eval_segment(e, s));
            rc |= rs_writer_printf(w, ",\n   \"metrics\": {");
            size_t n;
            const struct rs_eval_value *v = rs_eval_summary(e, m, s, &n);
            for (size_t i = 0; i < n; i++) {
                char key[64]; /* "ndcg@10" */
                snprintf(key, sizeof key, "%s@%zu", v[i].metric, v[i].k);
                key[v[i].k ? sizeof key - 1 : strlen(v[i].metric)] = '\0';
                rc |= (i ? rs_writer_printf(w, ", ") : 0) | json_str(w, key) | rs_writer_printf(w, ": ");
                rc |= isnan(v[i].value) ? rs_writer_printf(w, "null") : put_num(w, v[i].value);
            }
            rc |= rs_writer_printf(w, "}}");
        }
    return rc | rs_writer_printf(w, "\n]}\n");
}

static int write_figures(struct rs_eval *e, struct rs_writer *w)
{
    size_t nseg = opt.by ? rs_eval_nsegments(e) : 1;
    track_metrics(e, nseg);
    return opt.json ? write_json(e, w, nseg) : opt.wide ? write_wide(e, w, nseg) : write_long(e, w, nseg);
}

/* rs-metrics merge: the partials added up, then written as one run's figures. */
static int merge(struct rs_eval *e)
{
    struct rs_writer *w = NULL;
    int rc = 0;
    for (int i = 0; i < opt.nparts && rc == 0; i++)
        rc = rs_eval_merge_partial(e, opt.parts[i]);
    if (rc == 0)
        rc = rs_eval_merge_finish(e);
    if (rc == 0 && (rc = rs_output_open(&w, &opt.out)) == 0)
        rc = write_figures(e, w);
    return rs_writer_finish(w, rc);
}

/* ---- main ---- */

static struct rs_progress progress;

static void on_rows(void *ctx, uint64_t rows)
{
    rs_progress_add(ctx, rows);
}

/* merge: partials as arguments, no inputs of a run. */
static void check_merge_args(int argc, char **argv)
{
    if (optind >= argc)
        rs_usage_error(SYNOPSIS, "merge: no partials given");
    if (opt.truth || opt.npreds || opt.train || opt.item_features || opt.items_rsb || opt.user_features ||
        opt.per_user || opt.partial || rs_shard_sel.count > 1)
        rs_usage_error(SYNOPSIS, "merge reads partials only: --truth, --pred, --train, --item-features, "
                                 "--items, --user-features, --per-user, --partial and --shard belong to the runs");
    if (opt.wide && opt.json)
        rs_usage_error(SYNOPSIS, "--wide and --json exclude each other");
    opt.parts = argv + optind;
    opt.nparts = argc - optind;
}

static void parse_args(int argc, char **argv)
{
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        RS_SHARD_LONGOPTS,
        { "partial", no_argument, 0, 5 },
        { "truth", required_argument, 0, 'T' },       { "pred", required_argument, 0, 'P' },
        { "train", required_argument, 0, 'R' },       { "item-features", required_argument, 0, 'F' },
        { "category-col", required_argument, 0, 'C' }, { "items", required_argument, 0, 'E' },
        { "user-features", required_argument, 0, 'U' }, { "by", required_argument, 0, 'B' },
        { "k", required_argument, 0, 'k' },           { "relevance-col", required_argument, 0, 'G' },
        { "gain", required_argument, 0, 'g' },        { "min-relevance", required_argument, 0, 'm' },
        RS_COLS_LONGOPTS,
        { "users", required_argument, 0, 'u' },       { "rank-col", required_argument, 0, 3 },
        { "score-col", required_argument, 0, 4 },     { "wide", no_argument, 0, 'W' },
        { "json", no_argument, 0, 'J' },              { "per-user", required_argument, 0, 'p' },
        { "digits", required_argument, 0, 'D' },
        { 0, 0, 0, 0 },
    };
    parse_ks(DEFAULT_KS);
    if (argc > 1 && strcmp(argv[1], "merge") == 0) {
        opt.merge = 1;
        argv[1] = argv[0];
        argc--, argv++;
    }
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS "k:", longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out) || rs_cli_cols(c, optarg, &cols) ||
            rs_cli_shard(c, optarg))
            continue;
        switch (c) {
        case 'T': opt.truth = optarg; break;
        case 'P': add_pred(optarg); break;
        case 'R': opt.train = optarg; break;
        case 'F': opt.item_features = optarg; break;
        case 'C': opt.category_col = optarg; break;
        case 'E': opt.items_rsb = optarg; break;
        case 'U': opt.user_features = optarg; break;
        case 'B': opt.by = optarg; break;
        case 'k': parse_ks(optarg); break;
        case 'G': opt.rel_col = optarg; break;
        case 'g':
            if (strcmp(optarg, "exp") != 0 && strcmp(optarg, "raw") != 0)
                rs_usage_error(SYNOPSIS, "invalid --gain '%s': expected raw or exp", optarg);
            opt.gain_exp = strcmp(optarg, "exp") == 0;
            break;
        case 'm': opt.min_rel = rs_opt_double("--min-relevance", optarg, -1e300, 1e300); break;
        case 'u':
            if (strcmp(optarg, "all") != 0 && strcmp(optarg, "common") != 0)
                rs_usage_error(SYNOPSIS, "invalid --users '%s': expected all or common", optarg);
            opt.common = strcmp(optarg, "common") == 0;
            break;
        case 3: opt.rank_col = optarg; break;
        case 4: opt.score_col = optarg; break;
        case 'W': opt.wide = 1; break;
        case 'J': opt.json = 1; break;
        case 'p': opt.per_user = optarg; break;
        case 'D': opt.digits = (int)rs_opt_int("--digits", optarg, 1, 17); break;
        case 5: opt.partial = 1; break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    if (opt.merge) {
        check_merge_args(argc, argv);
        return;
    }
    if (optind < argc)
        rs_usage_error(SYNOPSIS, "unexpected argument '%s' (predictions go with --pred)", argv[optind]);
    if (opt.partial && (opt.wide || opt.json || opt.per_user))
        rs_usage_error(SYNOPSIS, "--partial writes sums, not figures: no --wide, --json or --per-user");
    if (!opt.truth || opt.npreds == 0)
        rs_usage_error(SYNOPSIS, "--truth and at least one --pred are required");
    if (opt.wide && opt.json)
        rs_usage_error(SYNOPSIS, "--wide and --json exclude each other");
    if ((opt.min_rel > -INFINITY || opt.gain_exp) && !opt.rel_col)
        rs_usage_error(SYNOPSIS, "--min-relevance and --gain need --relevance-col");
    if (opt.user_features && !opt.by)
        rs_usage_error(SYNOPSIS, "--user-features is read for --by; give --by COLUMN");
    int stdin_uses = strcmp(opt.truth, "-") == 0;
    for (size_t i = 0; i < opt.npreds; i++)
        stdin_uses += strcmp(opt.preds[i].path, "-") == 0;
    if (stdin_uses > 1)
        rs_usage_error(SYNOPSIS, "stdin ('-') given more than once");
}

/* Loads truth, train and item side inputs into e. */
static int load_inputs(struct rs_eval *e, struct rs_itemattr *attr, struct rs_embset *emb)
{
    int rc = rs_eval_load_truth(e, opt.truth, opt.user_features ? NULL : opt.by);
    if (rc == 0 && opt.user_features)
        rc = rs_eval_load_segments(e, opt.user_features, opt.by);
    if (rc == 0 && opt.train)
        rc = rs_eval_load_train(e, opt.train);
    if (rc == 0 && opt.item_features) {
        const char *paths[1] = { opt.item_features }, *want[1] = { opt.category_col };
        if ((rc = rs_itemattr_load(attr, paths, 1, cols.item, want, 1)) == 0)
            rs_eval_set_categories(e, attr, 0);
    }
    if (rc == 0 && opt.items_rsb && (rc = rs_embset_load(emb, opt.items_rsb)) == 0)
        rs_eval_set_embeddings(e, emb);
    return rc;
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    parse_args(argc, argv);
    struct rs_eval_opts eo = { cols.user, cols.item, opt.rank_col, opt.score_col, opt.rel_col,
                               opt.min_rel, opt.gain_exp, opt.common, opt.ks, opt.nk, on_rows, &progress,
                               &rs_shard_sel, opt.partial };
    struct rs_eval *e = rs_eval_new(&eo);
    struct rs_itemattr attr = { 0 };
    struct rs_embset emb = { 0 };
    struct rs_writer *w = NULL, *pu = NULL;
    if (opt.merge) {
        int rc = merge(e);
        rs_eval_free(e);
        if (rc < 0)
            rs_die(rc);
        return 0;
    }
    int rc = load_inputs(e, &attr, &emb);
    if (rc == 0) {
        rs_log("'%s': %llu users with test items", opt.truth, (unsigned long long)rs_eval_truth_users(e));
        rc = rs_output_open(&w, &opt.out);
    }
    if (rc == 0 && opt.per_user)
        rc = rs_writer_open(&pu, opt.per_user, 0, 0);
    for (size_t i = 0; rc == 0 && i < opt.npreds; i++) {
        rs_progress_start(&progress, opt.preds[i].name, 0);
        rc = rs_eval_run(e, opt.preds[i].path, opt.preds[i].name, pu);
        rs_progress_end(&progress);
        if (rc == 0)
            rs_log("model '%s': %llu users with predictions but no test items excluded",
                   opt.preds[i].name, (unsigned long long)rs_eval_excluded(e, i));
    }
    if (rc == 0)
        rc = opt.partial ? rs_eval_write_partial(e, w) : write_figures(e, w);
    if (rc == 0 && pu) {
        rc = rs_writer_close(pu);
        pu = NULL;
    }
    if (rc == 0) {
        rc = rs_writer_close(w);
        w = NULL;
    }
    rs_writer_abort(pu);
    rs_writer_abort(w);
    rs_eval_free(e);
    rs_itemattr_free(&attr);
    rs_embset_free(&emb);
    for (size_t i = 0; i < opt.npreds; i++)
        free((char *)opt.preds[i].name);
    free(opt.preds);
    if (rc < 0)
        rs_die(rc);
    return 0;
}
