/* label.h - a ranker's training rows from a first stage's candidates: each
 * candidate of a user, labelled by what the user did in a later window (click,
 * booking...), so the ranker learns on the population it will rank — the
 * first stages' candidates — and not on another one, such as logged
 * impressions. Formats: schemas/label.md.
 */
#ifndef RS_LABEL_H
#define RS_LABEL_H

#include <stddef.h>
#include <stdint.h>

struct rs_tsv;
struct rs_writer;

#define RS_LABEL_MAX 8

/* Which users' candidates are written. */
enum rs_label_users {
    RS_LABEL_USERS_ACTIVE = 0,   /* users with a labelled event in the window */
    RS_LABEL_USERS_POSITIVE = 1, /* users with a positive candidate */
    RS_LABEL_USERS_ALL = 2,
};

struct rs_label_opts {
    const char *user_col, *item_col, *event_col, *time_col;
    int event_required;               /* event_col was named: its absence is an error (rs_tsv_event_col) */
    size_t nlabels;
    const char *name[RS_LABEL_MAX];   /* output column of label k */
    const char *events[RS_LABEL_MAX]; /* comma list of the events that set it */
    int users;                        /* enum rs_label_users */
    int64_t after;                    /* every window event must be later; INT64_MIN: no check */
    const char *after_what;           /* what set after, for the leakage message */
    const char *impression;           /* non-NULL: add the window's impressions of this event */
};

struct rs_label;

/* Reads the window's events (user, item and event columns, and the time
 * column when o->after is set). A row at or before o->after is an error
 * naming its line: the label window overlaps what the candidates were made
 * from (leakage). o is borrowed until rs_label_free. Returns 0 or a negative
 * rs_err. */
int rs_label_load(struct rs_label **l, struct rs_tsv *events, const struct rs_label_opts *o);
void rs_label_free(struct rs_label *l);

/* Copies the candidates stream t (rows of a user contiguous) to w with one
 * 0/1 column per label (and `impressed` 0/1 plus the user's impressions that
 * are not candidates, other columns empty, when o->impression is set), for
 * the users o->users selects. Counts rows and positives in rows, pos. */
int rs_label_write(struct rs_label *l, struct rs_tsv *t, struct rs_writer *w, uint64_t *rows,
                   uint64_t pos[RS_LABEL_MAX]);

#endif
