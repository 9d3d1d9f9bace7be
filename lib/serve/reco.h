/* reco.h - the online recommendation engine behind rs-serve: one immutable,
 * fully loaded set of artefacts (a "bundle") answering
 *   recommend(request): the user's embedding (precomputed, embedded by the
 *                       user tower when the bundle loaded, or embedded now
 *                       from the request's feature values) → top candidates
 *                       by dot product among the items, exactly or through
 *                       an ANN index (excluding items the user has seen and
 *                       items out of stock) → optional ranker (rs-rank's
 *                       p_click + p_booking, re-ordering them) → optional
 *                       post-ranking (rs-diversify's rules) → k; a user with neither an
 *                       embedding nor features gets the most popular items;
 *                       with precomputed sources, the candidates are the
 *                       merge (fuse.h) of the online ones and the user's
 *                       lists of each source, ranked on the merged columns,
 *                       and seen and out-of-stock items leave after ranking;
 *   similar(item, k):   the k items nearest to an item, itself excluded.
 * It calls the same library code as the batch tools (knn.h, fuse.h,
 * tower_embed.h, rank_encode.h, diversify.h), so for the same inputs the
 * online lists equal those of rs-embed | rs-retrieve [| rs-merge] | rs-rank
 * score | rs-diversify. A bundle is never modified after loading: servers
 * swap whole bundles (rs-serve's hot swap) and share one across threads.
 */
#ifndef RS_RECO_H
#define RS_RECO_H

#include <stddef.h>
#include <stdint.h>

struct rs_div_spec;

struct rs_reco_opts {
    const char *items_emb;   /* RSB of item embeddings (required) */
    const char *index;       /* ANN index of the same items (rs-retrieve index build), or NULL:
                              * /recommend searches it instead of every item */
    size_t nprobe, rerank;   /* ANN search (0: 16 partitions, max(k, 100) re-scored) */
    const char *users_emb;   /* RSB of user embeddings (precomputed by rs-embed), or NULL */
    const char *model;       /* two-tower model (RSM), or NULL: embeds the users of `users` when
                              * the bundle loads, and users without an embedding from the
                              * feature values of their requests */
    const char *users;       /* user feature table for model, or NULL */
    const char *seen;        /* events TSV (user_id, item_id): excluded, and popularity; or NULL */
    const char *items;       /* items TSV with in_stock = 0 rows never retrieved, or NULL */
    const struct rs_div_spec *post; /* post-ranking: rs-diversify's rules (its --items read when
                              * the bundle loads), top N = the request's k; NULL: the first k */
    size_t candidates;       /* retrieval depth before ranking, filters and diversification
                              * (with sources: the online source's) */
    const char *ranker;      /* rs-rank model (RSM) re-scoring the candidates, or NULL */
    const char *rank_users;  /* its user and item feature tables (rs-rank --users, --items), */
    const char *rank_items;  /* or NULL */
    size_t nsources;         /* precomputed candidate streams (rs-als --candidates, rs-retrieve
                              * --popular...: user_id, item_id, rank, score), named like rs-merge's
                              * NAME=FILE; 0: the online candidates alone */
    const char *const *source_names, *const *source_paths;
    const char *tower_source; /* the online candidates' name in the merge, first (NULL: "tower") */
    size_t per_source;       /* each source's first per_source per user, online ones included
                              * (rs-merge -k; 0: all) */
    double rrf_k;            /* the fusion constant (rs-merge --rrf-k; RS_FUSE_RRF_K by default
                              * there, so the caller sets it) */
    const char *user_col, *item_col; /* the id columns of seen, items, the sources and the ranker's
                              * tables (--user-col, --item-col); NULL: user_id, item_id */
};

#define RS_RECO_DEFAULT_CANDIDATES 200

/* Where a list's user came from. */
enum rs_reco_source {
    RS_RECO_SRC_EMBEDDING = 1, /* its vector in users_emb */
    RS_RECO_SRC_TOWER = 2,     /* embedded from the users table when the bundle loaded */
    RS_RECO_SRC_FEATURES = 3,  /* embedded from the request's feature values */
    RS_RECO_SRC_POPULAR = 4,   /* none of those: the most popular items */
    RS_RECO_SRC_ITEM = 5,      /* similar items */
    RS_RECO_SRC_PRECOMPUTED = 6, /* no vector: the precomputed sources' lists alone */
};
#define RS_RECO_SRC_LAST RS_RECO_SRC_PRECOMPUTED

/* "embedding", "tower", "tower-features", "popular", "item", "precomputed". */
const char *rs_reco_source_name(int source);

struct rs_reco;

/* One answer, best first. Reused across calls. */
struct rs_reco_list {
    size_t n, cap;
    const char **ids;   /* point into the bundle: valid while it is held */
    double *scores;     /* ranked: p_click + p_booking; else the dot product (popular: the
                         * item's event count in the seen stream; merged: the fused score) */
    float *p;           /* (n, 2) p_click, p_booking when ranked */
    int ranked;         /* 1: the ranker ordered the list */
    int source;         /* enum rs_reco_source */
    size_t ncands;      /* with want_cands: the list post-ranking re-ranked, in its order, */
    const char **cand_ids; /* and its scores before boosts (0: not asked) */
    double *cand_scores;
};

/* A /recommend request. Values are named like request parameters: a value
 * named like a user feature column of the model's user tower is a feature,
 * one named like a column the ranker reads is context (the same for every
 * candidate, as a column of a candidates stream); other names are ignored,
 * and of two values with one name the first counts. Owns its strings. */
struct rs_reco_req {
    char *user;
    size_t k;
    int want_cands;     /* keep the list post-ranking sees in the answer (debugging, tests) */
    double radius_km;   /* the geolocation filter's radius (< 0: the server's --radius-km) */
    int has_at;         /* the user is at (lat, lon) (else: the --geo-users table) */
    double lat, lon;
    size_t n, cap;
    char **names, **vals;
};

/* Appends a copy of name = val to q (recoserve.h reads a JSON body). */
void rs_reco_req_add(struct rs_reco_req *q, const char *name, const char *val);
void rs_reco_req_free(struct rs_reco_req *q);

/* Loads every artefact; an error names the file (the bundle is NULL). A
 * non-finite value in an embedding (loaded, or computed by the tower) is
 * refused here. */
int rs_reco_load(struct rs_reco **r, const struct rs_reco_opts *o);
void rs_reco_free(struct rs_reco *r);
size_t rs_reco_nitems(const struct rs_reco *r);
uint32_t rs_reco_dims(const struct rs_reco *r);
/* Comma-separated names, "" when none: the user feature columns a request
 * may carry (with a model), and the ranker's columns that no table holds,
 * which only a request's context supplies (missing otherwise). */
const char *rs_reco_feature_names(const struct rs_reco *r);
const char *rs_reco_context_names(const struct rs_reco *r);
/* RS_ERR_USAGE "unknown item" when the item has no embedding;
 * RS_ERR_FORMAT when a score is not finite (a fault of the bundle). */
int rs_reco_similar(const struct rs_reco *r, const char *item, size_t k, struct rs_reco_list *out);
/* Answers q (q->user non-NULL): see the file comment. A bad feature or
 * context value: RS_ERR_USAGE naming the parameter; a non-finite user
 * vector or score: RS_ERR_FORMAT (never a short or empty list). */
int rs_reco_recommend(const struct rs_reco *r, const struct rs_reco_req *q, struct rs_reco_list *out);
void rs_reco_list_free(struct rs_reco_list *l);

/* One user-item pair scored (the two-tower MatchModel, and the ranker). */
struct rs_reco_pair {
    int has_tower;      /* the user has a vector and the item an embedding: */
    double tower_score; /* their dot product, retrieval's score */
    int ranked;         /* with a ranker: p_click, p_booking and score = their sum, the pair */
    float p[2];         /* ranked as a one-item candidate list (rank 1, score the tower */
    double score;       /* score, or none without a vector), as /recommend ranks a list */
    int source;         /* where the user's vector came from (enum rs_reco_source) */
};
/* Scores item for q->user (its vector as for recommend). RS_ERR_USAGE when
 * the item is unknown, or when there is nothing to score (no vector and no
 * ranker); RS_ERR_FORMAT when a score is not finite. */
int rs_reco_score(const struct rs_reco *r, const struct rs_reco_req *q, const char *item, struct rs_reco_pair *out);
/* Parses a request's k parameter s (as the HTTP layer decoded it): NULL
 * gives dflt; a plain decimal integer in 1..max is returned; anything else
 * (empty, sign-only, trailing bytes, overflow, out of range) gives -1. */
long rs_reco_parse_k(const char *s, long dflt, long max);

#endif
