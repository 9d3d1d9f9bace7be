/* feedback.h - POST /feedback (schemas/feedback.md): what the server
 * remembers of the lists it served, a bounded table keyed by request id;
 * a feedback body parsed and checked against it; the rows of the feedback
 * log (fblog.h) in the events format the pipeline reads.
 *
 * A request id is 128 random bits, so an id the server did not hand out is
 * not guessed; the table keeps the last `capacity` lists (older ids are
 * refused as unknown, as are all ids after a restart). An event is accepted
 * only when its request id is in the table, its user is the list's user,
 * its item is in the list (an impression: at the position given), its
 * event word is known and its value sane; an impression is accepted once
 * per position, and a click, booking or purchase only on an item whose
 * impression was recorded. A batch is accepted or refused whole.
 */
#ifndef RS_FEEDBACK_H
#define RS_FEEDBACK_H

#include <stddef.h>
#include <stdint.h>

/* The log's columns: the events format (user_id, item_id, event, timestamp,
 * others passed through), session_id the request id, so that rs-rank train
 * labels each impression by the clicks and bookings of its own list. */
#define RS_FB_HEADER "user_id\titem_id\tevent\ttimestamp\tsession_id\tposition\tarm\tvalue"
#define RS_FB_MAX_VALUE 1e9

enum rs_fb_kind { RS_FB_IMPRESSION, RS_FB_CLICK, RS_FB_BOOKING, RS_FB_PURCHASE, RS_FB_NKINDS };

struct rs_served;

struct rs_served *rs_served_new(size_t capacity);
void rs_served_free(struct rs_served *t);
/* Remembers the list served under id (32 hex digits): user, arm and
 * items[0..n) are copied; the oldest list goes when the table is full.
 * Thread-safe. */
void rs_served_add(struct rs_served *t, const char *id, const char *user, const char *arm,
                   const char *const *items, size_t n);

/* An accepted batch: its log rows and, per event, what the counters need. */
struct rs_fb_batch {
    char *rows;                  /* len bytes, NUL-terminated */
    size_t len, cap;
    size_t n;
    struct rs_fb_event {
        char arm[65];
        int kind;                /* enum rs_fb_kind */
        double value;            /* 0 without */
    } *ev;
    size_t nmark;                /* impressions marked, undone by rs_fb_undo */
    struct rs_fb_mark { uint32_t slot; uint64_t gen; uint32_t pos; } *mark;
};

/* Parses body ({"events": [{"request_id", "user_id", "item_id", "event",
 * "position", "value", "arm"}...]}, at most max_events) and checks it
 * against t; when it passes, marks its impressions in t and fills b (zeroed
 * first) with timestamp ts. RS_ERR_USAGE naming the event and the member
 * otherwise (t unchanged); b is to be freed in both cases. */
int rs_fb_check(struct rs_served *t, const char *body, size_t len, size_t max_events, int64_t ts,
                struct rs_fb_batch *b);
/* Takes back b's impression marks (its log write failed). */
void rs_fb_undo(struct rs_served *t, const struct rs_fb_batch *b);
void rs_fb_batch_free(struct rs_fb_batch *b);
/* "impression", "click", "booking", "purchase". */
const char *rs_fb_kind_name(int kind);

#endif
