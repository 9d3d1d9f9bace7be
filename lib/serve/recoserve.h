/* recoserve.h - what a server keeps around the engine of reco.h: the
 * current bundle in a slot that request threads read while a new one is
 * swapped in, the signature that tells when the bundle's files were
 * replaced, and requests and answers as JSON. */
#ifndef RS_RECOSERVE_H
#define RS_RECOSERVE_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "serve/experiment.h"
#include "serve/reco.h"

/* The bundles of an experiment's arms with their version, as readers hold
 * them (one arm, "default", without an experiment). */
struct rs_reco_ref {
    struct rs_exp *exp;
    struct rs_reco *reco;   /* the first arm's (similar items, the catalogue size) */
    uint64_t version;
    int refs; /* readers, plus one while it is the slot's */
};

struct rs_reco_slot {
    pthread_mutex_t lock;
    struct rs_reco_ref *cur; /* NULL: empty */
};

#define RS_RECO_SLOT_INIT { PTHREAD_MUTEX_INITIALIZER, NULL }

/* The current bundle with a reference taken (NULL when the slot is empty);
 * give it back with rs_reco_release. */
struct rs_reco_ref *rs_reco_acquire(struct rs_reco_slot *s);
void rs_reco_release(struct rs_reco_slot *s, struct rs_reco_ref *b);
/* Makes e (loaded, allocated with xmalloc, owned from now on; NULL empties
 * the slot) the current experiment as version; the previous one is freed
 * when its last reader releases it, so requests in flight finish on the
 * bundles they started with. */
void rs_reco_install(struct rs_reco_slot *s, struct rs_exp *e, uint64_t version);

/* A signature of the files o names, post-ranking's included (inode, size,
 * modification time): it
 * changes when one of them is replaced or rewritten. */
uint64_t rs_reco_files_signature(const struct rs_reco_opts *o);
/* sig with the identity of the file at path mixed in (none when absent). */
uint64_t rs_reco_file_signature(uint64_t sig, const char *path);

/* Parses a POST body {"user_id": "u", "k": 10, "features": {"age": 30,
 * "history": ["i1", "i2"], "hour": 14}} into q (zeroed first): k absent
 * gives dflt_k; a feature value is a string, a number (integers in
 * decimal, others as %.17g, which round-trips) or a list of them (joined
 * with commas, as a TSV list field); null is missing. Errors (RS_ERR_USAGE)
 * name the member; q is then still to be freed. */
int rs_reco_req_json(struct rs_reco_req *q, const char *body, size_t len, long dflt_k, long max_k);
/* The answer to a request for id (a user, or an item for similar items) as
 * JSON (schemas/serve.md): {"user_id" or "item_id": id, "items": [{"item_id",
 * "rank", "score"[, "p_click", "p_booking"]}...], "version": version}, and
 * for a user "source", "ranked" and "fallback" (and "candidates": [{"item_id",
 * "score"}...], what post-ranking re-ranked, when the request wanted them). NULL when an id is not
 * valid UTF-8. */
json_t *rs_reco_answer_json(const char *id, const struct rs_reco_list *l, uint64_t version);

#endif
