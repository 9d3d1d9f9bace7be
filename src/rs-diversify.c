/* rs-diversify - post-ranking: filters, fairness boosts, quotas, per-group
 * caps, round-robin or MMR over a ranked list per user, then the top N.
 * The re-ranking is lib/rerank/diversify.c and the item side lib/rerank/divitems.c
 * (rs-serve calls the same code); this file streams user by user. */
#include "cli.h"
#include "rerank/diversify.h"
#include "core/err.h"
#include "io/io.h"
#include "rerank/divitems.h"
#include "rerank/divspec.h"
#include "io/rowbuf.h"
#include "core/strmap.h"
#include "io/tsv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "rs-diversify [OPTIONS] [RANKED.tsv]"

static struct {
    struct rs_output out;
    struct rs_div_spec div;
} opt = { .div = RS_DIV_SPEC_INIT };

/* The columns of every input: the ranked lists, --items, --deny, --seen. */
static struct rs_cols cols = RS_COLS_INIT(RS_COLS_USER | RS_COLS_ITEM);

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Re-rank a ranked candidate stream (user_id, item_id, rank, score, ...; rows of a\n"
           "user contiguous) into the final top N per user. Output: the same columns, rows\n"
           "re-ordered, rank renumbered from 1, score = the (boosted) score used.\n"
           "\n"
           "Order of operations, per user:\n"
           "  1. filters:   drop out-of-stock (--stock-col), deny-listed (--deny) and already\n"
           "                seen (--seen) items;\n"
           "  2. boosts:    --boost rules multiply or add to the score, in the order given;\n"
           "  3. selection: fill N slots one at a time from the list sorted by score\n"
           "                (ties: the earlier input row) with the best eligible candidate:\n"
           "                  score order (default), or round-robin over --by groups taken in\n"
           "                  the order of each group's best score, or MMR:\n"
           "                  argmax lambda*score - (1-lambda)*max cosine to the chosen items;\n"
           "                eligible = its group under --max-per-group, and once the quotas'\n"
           "                shortfall fills every slot left, a member of a quota still short;\n"
           "  4. top N.\n"
           "\n"
           "Options:\n"
           "      --items FILE        item table (TSV/CSV keyed by item_id: category, cluster,\n"
           "                          in_stock, venue...) or item embeddings (RSB), told apart by\n"
           "                          content; repeatable (up to %d files); a column is read from the\n"
           "                          first table that has it\n"
           "      --by COLUMN         group items by this column (category, subcategory,\n"
           "                          cluster...); alone it means round-robin over the groups;\n"
           "                          items without a value are each a group of their own\n"
           "      --max-per-group M   at most M items per group (default: no cap; score order\n"
           "                          unless --round-robin or --mmr)\n"
           "      --round-robin       round-robin over --by groups even with --max-per-group\n"
           "      --mmr LAMBDA        maximal marginal relevance in [0, 1] (1 = score order);\n"
           "                          needs an RSB in --items; items without a vector have\n"
           "                          similarity 0\n"
           "      --boost C=V:F       items whose column C equals V get score*F; F written +X\n"
           "                          adds X instead (repeatable, up to %d)\n"
           "      --min-share V=P     at least ceil(P*N) of the N items from --by group V (or\n"
           "      --min-share C=V:P   whose column C equals V), or all there are (repeatable)\n"
           "      --stock-col COLUMN  drop items whose COLUMN is 0, false or no (default: no\n"
           "                          stock filter)\n"
           "      --deny FILE         drop the items listed in FILE (column item_id)\n"
           "      --seen FILE         drop (user_id, item_id) pairs listed in FILE (events)\n"
           "      --radius-km R       drop items farther than R km (haversine) from the user:\n"
           "                          items at --lat-col/--lon-col of --items (an item without\n"
           "                          them is kept), the user at those of --geo-users (a user\n"
           "                          not there is not filtered)\n"
           "      --geo-users FILE    user positions: user_id, lat, lon (degrees)\n"
           "      --lat-col NAME, --lon-col NAME  the position columns (default lat, lon)\n"
           "  -n, --top N             items per user (default %d; 0: all that are left)\n"
           "%s"
           "  -o, --output FILE       write to FILE, atomically (default: stdout)\n"
           "  -z, --zstd              compress the output (default when FILE ends in .zst)\n"
           "      --level N           zstd level 1..19 (default 3)\n"
           RS_SHARD_HELP
           RS_COMMON_HELP
           "\n"
           "Memory: one user's list, the item tables and the --seen pairs. Details and the\n"
           "formulas: schemas/diversify.md.\n"
           "\n"
           "Examples:\n"
           "  rs-diversify --items items.tsv --by category -n 10 ranked.tsv.zst\n"
           "  rs-diversify --items items.tsv --items clusters.tsv --by cluster --max-per-group 2 \\\n"
           "      --boost new_venue=1:1.2 --min-share category=book:0.2 --stock-col in_stock \\\n"
           "      --seen train.tsv.zst -o final.tsv.zst ranked.tsv.zst\n"
           "  rs-diversify --items item_emb.rsb --mmr 0.7 -n 20 ranked.tsv\n",
           RS_DIV_MAX_ITEMS, RS_DIV_MAX_RULES, RS_DIV_DEFAULT_TOP, rs_cli_cols_help(&cols, 26));
}

struct ctx {
    struct rs_div_items items;
    struct rs_div_params p;
};

/* ---- the ranked stream, user by user ---- */

struct stream {
    struct rs_tsv *t;
    struct rs_writer *w;
    int uc, ic, sc, rc_col;
    size_t ncols;
    struct rs_strmap *done_users;
    struct rs_rowbuf u;         /* the current user's rows */
    struct rs_div_cand *cand;   /* per row */
    size_t *order, cap;
};

static const char *field(const struct stream *s, size_t row, int col)
{
    return rs_rowbuf_get(&s->u, row, (size_t)col);
}

static void keep_row(struct stream *s, double score)
{
    if (s->u.nrows == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->cand = xrealloc(s->cand, s->cap * sizeof *s->cand);
        s->order = xrealloc(s->order, s->cap * sizeof *s->order);
    }
    s->cand[rs_rowbuf_add(&s->u, s->t)].score = score;
}

static int write_field(struct stream *s, const char *f)
{
    return rs_writer_put_text(s->w, f);
}

static int flush_user(const struct ctx *x, struct stream *s)
{
    struct rs_rowbuf *u = &s->u;
    if (u->nrows == 0)
        return 0;
    const char *user = field(s, 0, s->uc);
    rs_strmap_put(s->done_users, user, strlen(user), NULL);
    int rc = 0;
    if (!rs_shard_has(&rs_shard_sel, user, strlen(user))) {
        rs_rowbuf_clear(u);
        return 0;
    }
    struct rs_div_where where;
    rs_div_spec_where(&opt.div, &x->items, user, -1, 0, 0, 0, &where);
    for (size_t r = 0; r < u->nrows; r++) {
        s->cand[r].pos = (uint32_t)r; /* the score was set by keep_row */
        rs_div_items_fill(&x->items, user, field(s, r, s->ic), &where, &s->cand[r]);
    }
    size_t n = rs_div_rerank(s->cand, u->nrows, &x->p, s->order);
    for (size_t k = 0; k < n && rc == 0; k++) {
        size_t r = s->order[k];
        for (size_t i = 0; i < s->ncols; i++) {
            rc |= i ? rs_writer_putc(s->w, '\t') : 0;
            if ((int)i == s->sc)
                rc |= rs_writer_put_float(s->w, s->cand[r].score);
            else if ((int)i == s->rc_col)
                rc |= rs_writer_printf(s->w, "%zu", k + 1);
            else
                rc |= write_field(s, field(s, r, (int)i));
        }
        rc |= rs_writer_putc(s->w, '\n');
    }
    rs_rowbuf_clear(u);
    return rc;
}

static int check_row(struct stream *s, double *score)
{
    int rc = rs_tsv_get_f64(s->t, s->sc, score);
    if (rc < 0)
        return rc;
    if (rs_tsv_len(s->t, s->ic) == 0)
        return rs_tsv_errf(s->t, s->ic, "empty item id");
    if (s->u.nrows && strcmp(rs_tsv_get(s->t, s->uc), field(s, 0, s->uc)) != 0 &&
        rs_strmap_get(s->done_users, rs_tsv_get(s->t, s->uc), rs_tsv_len(s->t, s->uc)) >= 0)
        return rs_tsv_errf(s->t, s->uc, "rows of user '%s' are not contiguous", rs_tsv_get(s->t, s->uc));
    return 0;
}

static int run(struct ctx *x, const char *path, struct rs_writer *w)
{
    struct stream s = { .w = w };
    int rc = rs_tsv_open(&s.t, path, 0);
    if (rc < 0)
        return rc;
    s.ncols = rs_tsv_ncols(s.t);
    if (s.ncols == 0) {
        rs_tsv_close(s.t);
        return 0;
    }
    if ((rc = rs_tsv_require(s.t, cols.user, &s.uc)) < 0 || (rc = rs_tsv_require(s.t, cols.item, &s.ic)) < 0 ||
        (rc = rs_tsv_require(s.t, "score", &s.sc)) < 0 || (rc = rs_tsv_require(s.t, "rank", &s.rc_col)) < 0) {
        rs_tsv_close(s.t);
        return rc;
    }
    for (size_t i = 0; i < s.ncols && rc == 0; i++) {
        const char *name = rs_tsv_colname(s.t, i);
        rc = (i ? rs_writer_putc(w, '\t') : 0) | rs_writer_put_field(w, name, strlen(name));
    }
    rc |= rs_writer_putc(w, '\n');
    s.done_users = rs_strmap_new(1024);
    rs_rowbuf_init(&s.u, s.ncols);
    double score;
    while (rc == 0 && (rc = rs_tsv_next(s.t)) == 0 && (rc = check_row(&s, &score)) == 0) {
        if (s.u.nrows && strcmp(rs_tsv_get(s.t, s.uc), field(&s, 0, s.uc)) != 0)
            rc = flush_user(x, &s);
        keep_row(&s, score);
    }
    if (rc == RS_ERR_EOF)
        rc = flush_user(x, &s);
    rs_strmap_free(s.done_users);
    rs_rowbuf_free(&s.u);
    free(s.cand);
    free(s.order);
    rs_tsv_close(s.t);
    return rc;
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        RS_OUTPUT_LONGOPTS,
        RS_SHARD_LONGOPTS,
        { "items", required_argument, 0, 'I' },
        { "by", required_argument, 0, 'B' },
        { "max-per-group", required_argument, 0, 'M' },
        { "round-robin", no_argument, 0, 'R' },
        { "mmr", required_argument, 0, 'L' },
        { "boost", required_argument, 0, 'b' },
        { "min-share", required_argument, 0, 'Q' },
        { "stock-col", required_argument, 0, 'S' },
        { "deny", required_argument, 0, 'D' },
        { "seen", required_argument, 0, 'E' },
        { "top", required_argument, 0, 'n' },
        { "radius-km", required_argument, 0, 'K' },
        { "geo-users", required_argument, 0, 'U' },
        { "lat-col", required_argument, 0, 'a' },
        { "lon-col", required_argument, 0, 'o' + 256 },
        RS_COLS_LONGOPTS,
        { 0, 0, 0, 0 },
    };
    int c, li;
    while ((li = -1, c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS RS_OUTPUT_SHORTOPTS "n:", longopts, &li)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_output(c, optarg, &opt.out) || rs_cli_cols(c, optarg, &cols) ||
            rs_cli_shard(c, optarg))
            continue;
        int rc = rs_div_spec_set(&opt.div, rs_opt_flag(longopts, c, li), optarg);
        if (rc < 0)
            rs_usage_error(SYNOPSIS, "%s", rs_err_msg());
        if (rc == 0)
            rs_usage_bad_option(SYNOPSIS, argv);
    }
    if (argc - optind > 1)
        rs_usage_error(SYNOPSIS, "one ranked input at most");
    struct ctx x;
    if (rs_div_spec_params(&opt.div, &x.p) < 0)
        rs_usage_error(SYNOPSIS, "%s", rs_err_msg());
    int rc = rs_div_spec_load(&opt.div, cols.user, cols.item, &x.items, &x.p);
    const struct rs_div_spec *d = &opt.div;
    for (size_t r = 0; rc == 0 && r < d->nboost + d->nquota; r++)
        if (x.items.rule_v[r] < 0)
            rs_log("warning: no item has %s = '%s'", x.items.attr.names[x.items.rule_c[r]],
                   r < d->nboost ? d->boost[r].value : d->quota[r - d->nboost].value);
    struct rs_writer *w = NULL;
    if (rc == 0)
        rc = rs_output_open(&w, &opt.out);
    if (rc == 0)
        rc = run(&x, optind < argc ? argv[optind] : "-", w);
    rs_div_items_free(&x.items);
    rs_div_spec_free(&opt.div);
    if ((rc = rs_writer_finish(w, rc)) < 0)
        rs_die(rc);
    return 0;
}
