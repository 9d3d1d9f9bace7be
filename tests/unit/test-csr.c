/* test-csr.c - triplets -> CSR (duplicates summed, rows sorted), transpose,
 * pruning, and reading an events file with its errors. */
#include "prep/csr.h"
#include "io/tsv.h"
#include "core/err.h"
#include "core/rng.h"
#include "core/strmap.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* Dense value of m[r][c] by scanning the row. */
static float at(const struct rs_csr *m, size_t r, size_t c)
{
    for (uint64_t k = m->indptr[r]; k < m->indptr[r + 1]; k++)
        if (m->indices[k] == c)
            return m->data[k];
    return 0;
}

static void test_build(void)
{
    struct rs_coo c;
    rs_coo_init(&c);
    rs_coo_add(&c, 1, 3, 1.0f);
    rs_coo_add(&c, 0, 2, 2.0f);
    rs_coo_add(&c, 1, 0, 4.0f);
    rs_coo_add(&c, 1, 3, 0.5f);
    struct rs_csr m;
    rs_csr_from_coo(&m, &c, 3, 4);
    is_int(m.nnz, 3, "duplicate (1,3) merged");
    is_int(m.indptr[1], 1, "row 0 has one entry");
    is_int(m.indptr[3], 3, "row 2 is empty");
    ok(m.indices[1] == 0 && m.indices[2] == 3, "row 1 sorted by column");
    is_near(m.data[2], 1.5, 0, "duplicates summed");

    struct rs_csr t;
    rs_csr_transpose(&t, &m);
    ok(t.nrows == 4 && t.ncols == 3 && t.nnz == 3, "transpose shape");
    is_near(at(&t, 3, 1), 1.5, 0, "transpose value");
    is_near(at(&t, 0, 1), 4, 0, "transpose value 2");

    struct rs_csr copy;
    rs_csr_copy(&copy, &m);
    m.data[0] = 0;
    ok(copy.nnz == 3 && copy.data[0] == 2.0f && copy.indices[2] == 3 && copy.indptr[3] == 3,
       "a copy is deep");
    rs_csr_free(&copy);
    rs_csr_prune_zeros(&m);
    ok(m.nnz == 2 && m.indptr[1] == 0 && m.indptr[2] == 2, "prune drops the zero, keeps rows");
    rs_csr_free(&m);
    rs_csr_free(&t);
    rs_csr_free(&m); /* freeing twice is harmless */
    rs_coo_free(&c);
}

static void test_random(void)
{
    struct rs_rng g;
    rs_rng_init(&g, 5, 0);
    struct rs_coo c;
    rs_coo_init(&c);
    enum { R = 30, C = 50, N = 4000 };
    static double dense[R][C];
    for (int k = 0; k < N; k++) {
        uint32_t r = (uint32_t)rs_rng_below(&g, R), col = (uint32_t)rs_rng_below(&g, C);
        rs_coo_add(&c, r, col, 1.0f);
        dense[r][col] += 1;
    }
    struct rs_csr m, t;
    rs_csr_from_coo(&m, &c, R, C);
    rs_csr_transpose(&t, &m);
    int good = 1;
    for (size_t r = 0; r < R; r++) {
        for (uint64_t k = m.indptr[r] + 1; k < m.indptr[r + 1]; k++)
            good &= m.indices[k - 1] < m.indices[k];
        for (size_t col = 0; col < C; col++)
            good &= at(&m, r, col) == dense[r][col] && at(&t, col, r) == dense[r][col];
    }
    ok(good, "random triplets: CSR and its transpose equal the dense sums, rows ascending");
    rs_csr_free(&m);
    rs_csr_free(&t);
    rs_coo_free(&c);
}

static void test_events(void)
{
    char path[64], want[160];
    snprintf(path, sizeof path, "/tmp/test-csr-%d.tsv", (int)getpid());
    write_file(path, "user_id\titem_id\tevent\tw\nu1\ta\tclick\t2\nu2\tb\tview\t1\nu1\ta\tbuy\t0.5\n"
                     "u2\tc\tclick\t3\n");
    struct rs_strmap *users = rs_strmap_new(4), *items = rs_strmap_new(4);
    struct rs_coo c;
    rs_coo_init(&c);
    struct rs_events_spec spec = { "user_id", "item_id", "event", "w", "click,buy", 0 };
    is_int(rs_coo_read_events(&c, users, items, path, &spec), 0, "events read");
    is_int(c.n, 3, "--positive keeps click and buy rows");
    is_int(rs_strmap_size(items), 2, "filtered rows intern nothing");
    struct rs_csr m;
    rs_csr_from_coo(&m, &c, rs_strmap_size(users), rs_strmap_size(items));
    is_near(at(&m, 0, 0), 2.5, 0, "weights of a pair summed");
    rs_csr_free(&m);

    write_file(path, "user_id\titem_id\tw\nu1\ta\t1\nu1\tb\t-1\n");
    spec.positive = NULL;
    is_int(rs_coo_read_events(&c, users, items, path, &spec), RS_ERR_FORMAT, "negative weight");
    snprintf(want, sizeof want, "'%s' line 3: column 'w': expected a weight >= 0, got '-1'", path);
    is_str(rs_err_msg(), want, "error names file, line and column");
    write_file(path, "user_id\titem_id\tw\nu1\t\t1\n");
    is_int(rs_coo_read_events(&c, users, items, path, &spec), RS_ERR_FORMAT, "empty item id");
    write_file(path, "user\titem_id\n");
    is_int(rs_coo_read_events(&c, users, items, path, &spec), RS_ERR_FORMAT, "missing user column");
    write_file(path, "");
    size_t before = c.n;
    is_int(rs_coo_read_events(&c, users, items, path, &spec), 0, "empty file is no events");
    is_int(c.n, before, "and adds nothing");
    is_int(rs_coo_read_events(&c, users, items, "/nonexistent/x.tsv", &spec), RS_ERR_IO, "missing file");
    /* no event column: a stream of positives, each row the event RS_DEFAULT_EVENT */
    write_file(path, "user_id\titem_id\nu1\ta\nu2\tb\n");
    spec.weight_col = NULL;
    spec.positive = "view," RS_DEFAULT_EVENT;
    before = c.n;
    is_int(rs_coo_read_events(&c, users, items, path, &spec), 0, "no event column read");
    is_int(c.n - before, 2, "every row is the default event");
    spec.positive = "view";
    is_int(rs_coo_read_events(&c, users, items, path, &spec), 0, "no event column, other positives");
    is_int(c.n - before, 2, "no row is another event");
    spec.event_required = 1;
    is_int(rs_coo_read_events(&c, users, items, path, &spec), RS_ERR_FORMAT, "a named event column must exist");
    remove(path);
    rs_coo_free(&c);
    rs_strmap_free(users);
    rs_strmap_free(items);
}

int main(void)
{
    test_build();
    test_random();
    test_events();
    return done_testing();
}
