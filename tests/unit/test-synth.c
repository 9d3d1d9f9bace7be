/* test-synth.c - the planted model: determinism, parameter checks, the
 * invariants of the event stream (time order, exact count, no event before
 * a signup or a creation, click after impression, booking after click, none
 * out of stock), and calibration: with noise 0 the observed clicks, bookings
 * and favourites match the documented probabilities. */
#include "core/err.h"
#include "io/io.h"
#include "io/rsb.h"
#include "core/strmap.h"
#include "prep/synth.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct rs_synth_params small(uint64_t seed)
{
    struct rs_synth_params p;
    rs_synth_defaults(&p);
    p.users = 300;
    p.items = 200;
    p.events = 60000;
    p.seed = seed;
    return p;
}

static int same_world(const struct rs_synth *a, const struct rs_synth *b)
{
    if (a->p.items != b->p.items || a->p.users != b->p.users)
        return 0;
    int same = memcmp(a->q, b->q, (size_t)a->p.items * a->p.dims * sizeof *a->q) == 0 &&
               memcmp(a->pu, b->pu, (size_t)a->p.users * a->p.dims * sizeof *a->pu) == 0;
    for (uint32_t i = 0; same && i < a->p.items; i++)
        same = strcmp(a->item[i].title, b->item[i].title) == 0 && a->item[i].price == b->item[i].price &&
               a->item[i].created_at == b->item[i].created_at;
    return same;
}

static void test_params(void)
{
    struct rs_synth m;
    struct rs_synth_params p = small(1);
    p.users = 0;
    is_int(rs_synth_init(&m, &p), RS_ERR_USAGE, "no users is a usage error");
    p = small(1);
    p.cold_users = 0.95;
    is_int(rs_synth_init(&m, &p), RS_ERR_USAGE, "cold-user share above 0.9 rejected");
    ok(strstr(rs_err_msg(), "0..0.9") != NULL, "message gives the range: %s", rs_err_msg());
    p = small(1);
    p.zipf = NAN;
    is_int(rs_synth_init(&m, &p), RS_ERR_USAGE, "NaN zipf rejected");
    rs_synth_free(&m);
    rs_synth_free(NULL);
    ok(1, "free after a failed init and free(NULL) are safe");
}

static void test_determinism(void)
{
    struct rs_synth a, b, c;
    struct rs_synth_params p = small(7);
    is_int(rs_synth_init(&a, &p), 0, "init seed 7");
    p.events = 5; /* the event count does not change the world */
    is_int(rs_synth_init(&b, &p), 0, "init seed 7, other event count");
    ok(same_world(&a, &b), "same seed: same items, users and factors");
    p.seed = 8;
    is_int(rs_synth_init(&c, &p), 0, "init seed 8");
    ok(!same_world(&a, &c), "other seed: another world");
    is_near(rs_synth_tau(&a, a.p.start), -0.5, 1e-12, "tau(start) = -1/2");
    is_near(rs_synth_tau(&a, a.p.start + (int64_t)a.p.days * 86400), 0.5, 1e-12, "tau(end) = 1/2");
    double d = rs_synth_distance(&a, 3, 5), dx = a.user[3].x - a.item[5].x, dy = a.user[3].y - a.item[5].y;
    is_near(d, sqrt(dx * dx + dy * dy), 1e-3, "distance is Euclidean in km");
    is_near(rs_synth_p_click(&a, 3, 5, a.p.start, 4), rs_synth_p_click(&a, 3, 5, a.p.start, 1) / 2.0, 1e-12,
            "position bias: pos 4 halves the click probability (eta 0.5)");
    rs_synth_free(&b);
    rs_synth_free(&c);

    /* Two generators over one world give the same stream. */
    struct rs_synth_gen g1, g2;
    struct rs_synth_event e1, e2;
    rs_synth_gen_init(&g1, &a);
    rs_synth_gen_init(&g2, &a);
    int same = 1;
    while (rs_synth_gen_next(&g1, &e1) == 0 && rs_synth_gen_next(&g2, &e2) == 0)
        same &= memcmp(&e1, &e2, sizeof e1) == 0;
    ok(same, "the event stream is deterministic");
    rs_synth_gen_free(&g1);
    rs_synth_gen_free(&g2);
    rs_synth_free(&a);
}

struct tally {
    double p_click, v_click, p_book, v_book, p_fav, v_fav;
    uint64_t clicks, books, favs, impressions;
};

static void test_stream(void)
{
    struct rs_synth m;
    struct rs_synth_params p = small(3);
    p.noise = 0; /* so the documented probabilities are exact */
    is_int(rs_synth_init(&m, &p), 0, "init, noise 0");
    struct rs_synth_gen g;
    struct rs_synth_event ev, prev = { 0 };
    rs_synth_gen_init(&g, &m);
    uint64_t n = 0, disorder = 0, early_user = 0, early_item = 0, bad_pos = 0, orphan = 0, out_of_stock = 0;
    /* (session, item, kind) of every event so far. */
    struct rs_strmap *seen = rs_strmap_new(1 << 16);
    struct tally s = { 0 };
    char key[64];
    while (rs_synth_gen_next(&g, &ev) == 0) {
        disorder += n > 0 && (ev.t < prev.t || (ev.t == prev.t && ev.seq < prev.seq));
        early_user += ev.t < m.user[ev.user].signup_at;
        early_item += ev.t < m.item[ev.item].created_at;
        bad_pos += ev.pos < 1 || ev.pos > p.slate;
        int klen = snprintf(key, sizeof key, "%llu/%u/%u", (unsigned long long)ev.session, ev.item, ev.kind);
        rs_strmap_put(seen, key, (size_t)klen, NULL);
        if (ev.kind == RS_SYNTH_IMPRESSION) {
            double pc = rs_synth_p_click(&m, ev.user, ev.item, ev.t, ev.pos);
            s.p_click += pc;
            s.v_click += pc * (1 - pc);
            s.impressions++;
        } else {
            /* What it follows: a click follows an impression, the rest a click. */
            uint32_t parent = ev.kind == RS_SYNTH_CLICK ? RS_SYNTH_IMPRESSION : RS_SYNTH_CLICK;
            klen = snprintf(key, sizeof key, "%llu/%u/%u", (unsigned long long)ev.session, ev.item, parent);
            orphan += rs_strmap_get(seen, key, (size_t)klen) < 0;
        }
        if (ev.kind == RS_SYNTH_CLICK) {
            s.clicks++;
            double pb = rs_synth_p_booking(&m, ev.user, ev.item);
            double pf = rs_synth_p_favourite(&m, ev.user, ev.item);
            s.p_book += pb;
            s.v_book += pb * (1 - pb);
            s.p_fav += pf;
            s.v_fav += pf * (1 - pf);
        }
        s.books += ev.kind == RS_SYNTH_BOOKING;
        s.favs += ev.kind == RS_SYNTH_FAVOURITE;
        out_of_stock += ev.kind == RS_SYNTH_BOOKING && !m.item[ev.item].in_stock;
        prev = ev;
        n++;
    }
    is_int(n, p.events, "exactly --events rows");
    is_int(disorder, 0, "events in (timestamp, seq) order");
    is_int(early_user, 0, "no event before its user's signup");
    is_int(early_item, 0, "no event before its item's creation");
    is_int(bad_pos, 0, "positions in 1..slate");
    is_int(orphan, 0, "every click follows its impression, every booking/favourite its click");
    is_int(out_of_stock, 0, "no booking of an out-of-stock item");
    ok(prev.t < p.start + (int64_t)p.days * 86400 + 3600, "the stream ends with the window");
    /* The last session may be cut short, so allow its slate on top of 5 sigma. */
    double z = (s.clicks - s.p_click) / sqrt(s.v_click);
    ok(fabs(z) < 5, "clicks %llu vs sum of P(click) %.1f (z = %.2f)", (unsigned long long)s.clicks,
       s.p_click, z);
    z = (s.books - s.p_book) / sqrt(s.v_book);
    ok(fabs(z) < 5, "bookings %llu vs sum of P(booking | click) %.1f (z = %.2f)", (unsigned long long)s.books,
       s.p_book, z);
    z = (s.favs - s.p_fav) / sqrt(s.v_fav);
    ok(fabs(z) < 5, "favourites %llu vs sum of P(favourite | click) %.1f (z = %.2f)",
       (unsigned long long)s.favs, s.p_fav, z);
    ok(s.clicks > 1000 && s.books > 100, "enough clicks (%llu) and bookings (%llu) to mean something",
       (unsigned long long)s.clicks, (unsigned long long)s.books);

    uint32_t cold = 0, fresh = 0;
    for (uint32_t u = 0; u < p.users; u++)
        cold += m.user[u].signup_at > p.start;
    for (uint32_t i = 0; i < p.items; i++)
        fresh += m.item[i].created_at > p.start;
    ok(cold > 10 && cold < 60, "cold-start users exist (%u of 300, share 0.1)", cold);
    ok(fresh > 5 && fresh < 45, "new items exist (%u of 200, share 0.1)", fresh);
    rs_strmap_free(seen);
    rs_synth_gen_free(&g);
    rs_synth_free(&m);
}

static void test_factors_file(void)
{
    struct rs_synth m;
    struct rs_synth_params p = small(5);
    p.users = 50;
    p.items = 40;
    is_int(rs_synth_init(&m, &p), 0, "init a tiny world");
    char path[] = "/tmp/test-synth-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    struct rs_writer *w;
    is_int(rs_writer_open(&w, path, 0, 0), 0, "open a file for the item factors");
    is_int(rs_synth_write_factors(&m, w, 0), 0, "write item factors");
    is_int(rs_writer_close(w), 0, "close");
    struct rs_embset e;
    is_int(rs_embset_load(&e, path), 0, "the RSB loads");
    is_int(e.n, 40, "one row per item");
    is_int(e.dims, p.dims, "dims");
    int64_t row = rs_strmap_get(e.ids, "i17", 3);
    ok(row >= 0 && memcmp(e.x + row * e.dims, m.q + 17 * p.dims, p.dims * sizeof(float)) == 0,
       "row i17 holds item 17's factors exactly");
    rs_embset_free(&e);
    unlink(path);
    rs_synth_free(&m);
}

int main(void)
{
    test_params();
    test_determinism();
    test_stream();
    test_factors_file();
    return done_testing();
}
