/* rs-serve - online recommendations over HTTP (libmicrohttpd), with the
 * artefacts hot-swapped on SIGHUP or when their files are replaced. */
#include "cli.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/num.h"
#include "index/fuse.h"
#include "io/io.h"
#include "rerank/divspec.h"
#include "serve/experiment.h"
#include "serve/fblog.h"
#include "serve/feedback.h"
#include "serve/latency.h"
#include "serve/ratelimit.h"
#include "serve/reco.h"
#include "serve/recoserve.h"
#include "serve/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SYNOPSIS "rs-serve --items-emb items.rsb [--users-emb users.rsb] [OPTIONS]"
#define DEFAULT_PORT 8080
#define DEFAULT_K 10
#define MAX_K 1000
#define DEFAULT_WATCH 2
#define DEFAULT_MAX_BODY (1 << 20)
#define DEFAULT_MAX_URL 8192
#define DEFAULT_MAX_PARAMS 256
#define DEFAULT_MAX_CONNECTIONS 4096
#define DEFAULT_PER_CLIENT 32
#define DEFAULT_TIMEOUT 15
#define DEFAULT_CONN_MEMORY (128 << 10)
#define DEFAULT_DRAIN 10
#define DEFAULT_FB_WINDOW 100000
#define DEFAULT_FB_RATE 20
#define DEFAULT_FB_BURST 40
#define DEFAULT_FB_EVENTS 1000
#define DEFAULT_FB_ROTATE_MB 64
#define DEFAULT_FB_ROTATE_S 3600
#define MIN_TOKEN 16
#define PARAM_RECORD 64 /* what a query parameter costs in a connection's memory (a header record) */
#define SPARE_FDS 64    /* descriptors kept for the files a reload opens */
#define MAX_SOURCES 63 /* rs-merge's 64 with the online one */

static struct {
    struct rs_reco_opts reco;
    int port, watch;
    long max_body, max_url, max_params, max_connections, per_client, timeout, conn_memory;
    const char *bind, *port_file, *clock_hour, *access_log, *experiment;
    int drain;
    const char *fb_dir, *fb_token_file;
    long fb_window, fb_events, fb_rotate_mb, fb_rotate_s;
    double fb_rate, fb_burst;
    char *source_names[MAX_SOURCES];
    const char *source_paths[MAX_SOURCES];
    int merge_opts; /* --tower-source, --per-source or --rrf-k given */
    struct rs_div_spec div; /* post-ranking, as rs-diversify's options */
    const char *div_items[RS_DIV_MAX_ITEMS];
    size_t ndiv_items;
} opt = { .div = RS_DIV_SPEC_INIT, .reco = { .rrf_k = RS_FUSE_RRF_K }, .port = DEFAULT_PORT, .watch = DEFAULT_WATCH, .bind = "127.0.0.1",
      .max_body = DEFAULT_MAX_BODY, .max_url = DEFAULT_MAX_URL, .max_params = DEFAULT_MAX_PARAMS,
      .max_connections = DEFAULT_MAX_CONNECTIONS, .per_client = DEFAULT_PER_CLIENT, .timeout = DEFAULT_TIMEOUT,
      .conn_memory = DEFAULT_CONN_MEMORY, .drain = DEFAULT_DRAIN,
      .fb_window = DEFAULT_FB_WINDOW, .fb_events = DEFAULT_FB_EVENTS, .fb_rotate_mb = DEFAULT_FB_ROTATE_MB,
      .fb_rotate_s = DEFAULT_FB_ROTATE_S, .fb_rate = DEFAULT_FB_RATE, .fb_burst = DEFAULT_FB_BURST };

/* The id columns of --seen, --items, --source and the ranker's tables. */
static struct rs_cols cols = RS_COLS_INIT(RS_COLS_USER | RS_COLS_ITEM);

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Serve recommendations over HTTP/1.1 with JSON responses:\n"
           "  GET /recommend?user_id=U&k=10   top k for a user (seen and out-of-stock items\n"
           "                                  excluded); \"source\" says where the user's vector\n"
           "                                  came from: \"embedding\" (--users-emb), \"tower\"\n"
           "                                  (--users), \"tower-features\" (the request's\n"
           "                                  features), \"precomputed\" (none, but --source\n"
           "                                  lists), else \"popular\": the most popular\n"
           "                                  items, with \"fallback\": \"popular\"\n"
           "      &age=30&history=i1,i2       a user without a vector but with --model: features\n"
           "                                  named like the user tower's columns, embedded by\n"
           "                                  the tower as rs-embed would embed that users row\n"
           "      &hour=14                    with --ranker: a value named like a column it reads,\n"
           "                                  for every candidate (as a column of the candidates\n"
           "                                  stream is to rs-rank score: before its tables;\n"
           "                                  absent: looked up there, else missing)\n"
           "  POST /recommend                 the same as a JSON body: {\"user_id\": \"U\", \"k\": 10,\n"
           "                                  \"features\": {\"age\": 30, \"history\": [\"i1\", \"i2\"],\n"
           "                                  \"hour\": 14}} (lists join with commas)\n"
           "      &debug=candidates           the answer adds \"candidates\": the list post-ranking\n"
           "                                  re-ranked, in its order, scores before boosts\n"
           "  GET /similar?item_id=I&k=10     the k items nearest to I\n"
           "  GET /score?user_id=U&item_id=I  one pair (MatchModel): tower_score, the user's\n"
           "                                  vector . the item's, and with --ranker p_click,\n"
           "                                  p_booking, score (the pair ranked alone: rank 1);\n"
           "                                  features and context as for /recommend\n"
           "  POST /feedback                  with --feedback-dir: impressions and events of\n"
           "                                  lists served, {\"events\": [{\"request_id\",\n"
           "                                  \"user_id\", \"item_id\", \"event\", \"position\",\n"
           "                                  \"value\"}...]}, appended to the log durably before\n"
           "                                  the 200 (schemas/feedback.md)\n"
           "  GET /healthz                    liveness: 200 while the server answers\n"
           "  GET /readyz                     readiness: 200 when a bundle is loaded, 503 while\n"
           "                                  draining at shutdown\n"
           "  GET /metrics                    Prometheus text 0.0.4: latency histograms,\n"
           "                                  responses, reloads, errors (schemas/serve.md)\n"
           "  GET /metrics.json               the same as JSON, with latency p50/p90/p99\n"
           "Every answer carries X-RS-Request-Id (128 random bits in hex).\n"
           "Errors are JSON: 400 malformed parameters (named), 404 unknown path or item,\n"
           "405 method, 413 body over --max-body, 414 URL over --max-url or more than\n"
           "--max-params query parameters, 431 request headers over the connection's memory\n"
           "(--conn-memory), 500 a non-finite score, 503 no bundle.\n"
           "\n"
           "Artefacts (one bundle, swapped whole):\n"
           "      --experiment FILE  serve several bundles as the arms of an experiment (JSON:\n"
           "                         name, salt, rollout, arms with name, share and the files\n"
           "                         that differ from the options below; schemas/serve.md);\n"
           "                         the arm of a user is a stable hash of (salt, user id);\n"
           "                         the header X-RS-Arm or &arm=NAME forces one; the answer\n"
           "                         names it (\"arm\", X-RS-Arm) with its \"request_id\"\n"
           "      --items-emb FILE   item embeddings (RSB), required\n"
           "      --users-emb FILE   user embeddings (RSB, from rs-embed)\n"
           "      --model FILE       a two-tower model (rs-train-tower): embeds the users of\n"
           "                         --users, and users without a vector from their request's\n"
           "                         features\n"
           "      --users FILE       a user feature table: the user tower embeds every user\n"
           "                         of the table when the bundle loads (as rs-embed would);\n"
           "                         instead of --users-emb\n"
           "      --index FILE       ANN index of the same items (rs-retrieve index build):\n"
           "                         searched instead of every item\n"
           "      --nprobe N         index partitions searched per request (default 16)\n"
           "      --rerank R         index candidates re-scored exactly (default max(k, 100))\n"
           "      --seen FILE        events TSV (user_id, item_id): excluded per user, and the\n"
           "                         popularity of the fallback\n"
           "      --items FILE       items TSV: in_stock = 0 items are never returned (never\n"
           "                         retrieved); also the first post-ranking table\n"
           "      --candidates N     retrieval depth before ranking and diversification\n"
           "                         (default %d; with --source: the online source's depth)\n"
           "      --ranker FILE      rs-rank model: scores the candidates (score = p_click +\n"
           "                         p_booking, as rs-rank score with --user-emb/--item-emb:\n"
           "                         tower_score is the user's vector . the item's), re-orders\n"
           "                         them, then diversification and k\n"
           "      --rank-users FILE  the ranker's user feature table (rs-rank --users)\n"
           "      --rank-items FILE  the ranker's item feature table (rs-rank --items)\n"
           "      --source NAME=FILE precomputed candidates of another first stage (rs-als\n"
           "                         --candidates, rs-retrieve --popular...: user_id, item_id,\n"
           "                         rank, score), repeatable: the candidates become the merge\n"
           "                         of the online ones and the user's list of each source, as\n"
           "                         rs-merge TOWER=ONLINE NAME=FILE... merges them; the ranker\n"
           "                         reads its columns (sources, <NAME>_rank, <NAME>_score...)\n"
           "                         as rs-rank score reads the merged stream, and seen and\n"
           "                         out-of-stock items leave after ranking (as rs-diversify\n"
           "                         --seen --stock-col drops them), not before\n"
           "      --tower-source NAME  the online candidates' source name (default tower)\n"
           "      --per-source N     each source's first N per user, the online ones included\n"
           "                         (rs-merge -k; default: all)\n"
           "      --rrf-k K          the fusion constant (default %d, as rs-merge)\n"
           "Post-ranking (each request's list, as rs-diversify re-ranks a user's rows, with\n"
           "its code: the same options, top N = the request's k; schemas/diversify.md):\n"
           "      --div-items FILE   rs-diversify's --items: an item table or the item\n"
           "                         embeddings (RSB, for --mmr), repeatable; after --items\n"
           "      --by COLUMN        group by this column: round-robin over the groups, or\n"
           "                         with --max-per-group score order under the cap\n"
           "      --group-col NAME   the same as --by\n"
           "      --max-per-group M, --round-robin, --mmr LAMBDA, --boost C=V:F,\n"
           "      --min-share V=P or C=V:P, --stock-col COLUMN, --deny FILE,\n"
           "      --radius-km R, --geo-users FILE, --lat-col NAME, --lon-col NAME\n"
           "                         as rs-diversify (rs-diversify --help); a request's\n"
           "                         &radius_km=R and &lat=..&lon=.. (degrees) replace the\n"
           "                         radius and the user's --geo-users position\n"
           "      --clock-hour NAME  a request without context NAME gets the server's hour of\n"
           "                         day (UTC, 0-23) for it (default: none; missing)\n"
           "%s"
           "Serving:\n"
           "      --port N           TCP port (default %d; 0 = any free port)\n"
           "      --bind ADDR        IPv4 address to listen on (default 127.0.0.1)\n"
           "      --port-file FILE   write the port once listening (for scripts)\n"
           "      --watch S          check the files for replacement every S seconds\n"
           "                         (default %d; 0 = only on SIGHUP)\n"
           "      --access-log FILE  append one JSON line per request: time (Unix seconds),\n"
           "                         request_id, method, path, status, latency_s; opened\n"
           "                         again on SIGHUP (log rotation)\n"
           "      --drain S          on SIGTERM: stop accepting, finish the requests in\n"
           "                         flight for at most S seconds, then stop (default %d)\n"
           "Feedback (POST /feedback; schemas/feedback.md):\n"
           "      --feedback-dir DIR  the log: zstd TSV files in the events format (user_id,\n"
           "                         item_id, event, timestamp, session_id = request id,\n"
           "                         position, arm, value), one fsynced zstd frame per batch\n"
           "      --feedback-token-file FILE  the bearer token (first line, at least %d\n"
           "                         bytes): a request without it is answered 401\n"
           "      --feedback-window N  lists remembered to check feedback against (default %d)\n"
           "      --feedback-rate R, --feedback-burst B  per client address: B requests at\n"
           "                         once, R a second after (default %d, %d); over: 429\n"
           "      --feedback-max-events N  events in one request (default %d)\n"
           "      --feedback-rotate-mb M, --feedback-rotate-s S  a new file past M MiB or S\n"
           "                         seconds (default %d, %d)\n"
           "Limits (each request is answered, over a limit with a 4xx; see schemas/serve.md):\n"
           "      --max-connections N  open connections in all (default %d; lowered to what\n"
           "                         the open-files limit allows, which is raised to its hard\n"
           "                         limit); one more is closed as it is accepted\n"
           "      --max-per-client N connections from one IP address (default %d): one client\n"
           "                         holding idle sockets cannot lock the others out\n"
           "      --timeout S        close a connection idle for S seconds (default %d)\n"
           "      --conn-memory B    memory of one connection for its request line, headers\n"
           "                         and parameters (default %d bytes; at least twice\n"
           "                         --max-url plus %d bytes per --max-params)\n"
           "      --max-url B        longest request target, path and query (default %d)\n"
           "      --max-params N     most query parameters in one request (default %d)\n"
           "      --max-body B       largest POST body (default %d)\n"
           RS_COMMON_HELP
           "\n"
           "Hot swap: on SIGHUP, or when a file is replaced (new inode, size or mtime), the\n"
           "bundle is loaded in the background, once the files have held still for 200 ms,\n"
           "and swapped atomically; requests in flight finish on the old one; a bundle that\n"
           "fails to load or validate is refused and the old one stays (counted in /metrics\n"
           "as reload_failures). The bundle served is a copy in memory: a file rewritten\n"
           "in place, truncated or deleted never touches it. SIGINT/SIGTERM stop cleanly\n"
           "(--drain).\n"
           "Requests, answers and the pipeline of /recommend: schemas/serve.md.\n"
           "\n"
           "Examples:\n"
           "  rs-serve --items-emb items.rsb --users-emb users.rsb --seen train.tsv --port 8080 &\n"
           "  curl 'http://127.0.0.1:8080/recommend?user_id=u42&k=10'\n"
           "  mv new_items.rsb items.rsb   # picked up within --watch seconds\n"
           "  rs-serve --items-emb items.rsb --model tower.rsm --users users.tsv --ranker rank.rsm \\\n"
           "      --rank-items item_features.tsv --seen train.tsv &\n"
           "  curl 'http://127.0.0.1:8080/recommend?user_id=new&age=30&history=i1,i2&hour=14'\n"
           "  rs-serve --items-emb item_emb.rsb --users-emb user_emb.rsb --index items.idx \\\n"
           "      --seen pos.tsv.zst --items items.tsv.zst --source als=als.tsv.zst \\\n"
           "      --source pop=popular.tsv.zst --per-source 200 --ranker rank.rsm \\\n"
           "      --rank-users user_features.tsv.zst --rank-items item_features.tsv.zst &\n"
           "      # as rs-retrieve --exclude pos.tsv.zst -k 200 | rs-merge -k 200 tower=- als=...\n"
           "      #    pop=... | rs-rank score | rs-diversify --seen pos.tsv.zst --stock-col in_stock\n",
           RS_RECO_DEFAULT_CANDIDATES, RS_FUSE_RRF_K, rs_cli_cols_help(&cols, 25), DEFAULT_PORT, DEFAULT_WATCH, DEFAULT_DRAIN, MIN_TOKEN,
           DEFAULT_FB_WINDOW, DEFAULT_FB_RATE, DEFAULT_FB_BURST, DEFAULT_FB_EVENTS, DEFAULT_FB_ROTATE_MB,
           DEFAULT_FB_ROTATE_S, DEFAULT_MAX_CONNECTIONS,
           DEFAULT_PER_CLIENT, DEFAULT_TIMEOUT, DEFAULT_CONN_MEMORY, PARAM_RECORD, DEFAULT_MAX_URL,
           DEFAULT_MAX_PARAMS, DEFAULT_MAX_BODY);
}

static struct rs_reco_slot slot = RS_RECO_SLOT_INIT;

/* A request's state from its request line on (freed when it completes):
 * the refusal of an oversized URL, the body kept for POST, its id and what
 * the access log records. */
struct upload {
    int started, post, too_big;
    unsigned refuse; /* 414 when the URL is over a limit, else 0 */
    unsigned status; /* the answer's */
    size_t len;
    char *buf;
    char id[33];     /* 128 random bits in hex: X-RS-Request-Id */
    char arm[RS_EXP_NAME_MAX + 1]; /* the arm that answered: X-RS-Arm; "" none */
};

static struct rs_serve_stats stats = RS_SERVE_STATS_INIT;
static atomic_int draining;   /* SIGTERM: /readyz 503, connections closed after their answer */
static int access_log = -1;   /* --access-log, O_APPEND */
static _Thread_local struct upload *current; /* the request this thread answers */
static struct { /* --feedback-dir: NULL log when off */
    struct rs_fblog *log;
    struct rs_served *served;
    struct rs_ratelimit *rate;
    char *token;
} fb;

/* ---- responses ---- */

/* Sends r with the request's id, counted; while draining, the connection
 * closes after it. */
static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
    if (current) {
        MHD_add_response_header(r, "X-RS-Request-Id", current->id);
        if (*current->arm)
            MHD_add_response_header(r, "X-RS-Arm", current->arm);
        current->status = status;
    }
    if (atomic_load(&draining))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    atomic_fetch_add(&stats.status[status / 100 < 6 ? status / 100 : 5], 1);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    if (!j) { /* json_pack refuses invalid UTF-8: never crash on it */
        status = 500;
        j = json_pack("{s:s, s:i}", "error", "response not representable as JSON", "status", 500);
    }
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    size_t n = strlen(text);
    text = xrealloc(text, n + 2);
    memcpy(text + n, "\n", 2);
    struct MHD_Response *r = MHD_create_response_from_buffer(n + 1, text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    return queue(c, status, r);
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    size_t n = strlen(msg);
    json_t *m;
    while (!(m = json_stringn(msg, n))) /* a quoted value cut inside a UTF-8 sequence */
        n--;
    return send_json(c, status, json_pack("{s:o, s:i}", "error", m, "status", (int)status));
}

static enum MHD_Result bad_k(struct MHD_Connection *c)
{
    char msg[128];
    snprintf(msg, sizeof msg, "parameter 'k' must be an integer in 1..%d", MAX_K);
    return send_error(c, 400, msg);
}

/* GET parameter key, the id a response echoes: NULL after answering 400. */
static const char *get_id(struct MHD_Connection *c, const char *key, enum MHD_Result *ret)
{
    const char *id = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    json_t *j = id && *id ? json_string(id) : NULL; /* NULL unless valid UTF-8 */
    char msg[128];
    if (j) {
        json_decref(j);
        return id;
    }
    snprintf(msg, sizeof msg, id && *id ? "parameter '%s' must be UTF-8" : "missing parameter '%s'", key);
    *ret = send_error(c, 400, msg);
    return NULL;
}

/* A list, with the arm that answered it (NULL: /similar) and the request id. */
static enum MHD_Result send_list(struct MHD_Connection *c, const char *id, const struct rs_reco_list *l,
                                 uint64_t version, const struct rs_exp_arm *arm)
{
    atomic_fetch_add(&stats.sources[l->source], 1);
    json_t *j = rs_reco_answer_json(id, l, version);
    if (j && arm) {
        json_object_set_new(j, "arm", json_string(arm->name));
        json_object_set_new(j, "request_id", json_string(current->id));
        strcpy(current->arm, arm->name);
    }
    return send_json(c, 200, j);
}

static enum MHD_Result answer_similar(struct MHD_Connection *c)
{
    enum MHD_Result ret;
    const char *id = get_id(c, "item_id", &ret);
    long k = rs_reco_parse_k(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "k"), DEFAULT_K, MAX_K);
    if (!id)
        return ret;
    if (k < 0)
        return bad_k(c);
    struct rs_reco_ref *b = rs_reco_acquire(&slot);
    if (!b)
        return send_error(c, 503, "no bundle loaded");
    struct rs_reco_list l = { 0 };
    int rc = rs_reco_similar(b->reco, id, (size_t)k, &l);
    ret = rc < 0 ? send_error(c, rc == RS_ERR_USAGE ? 404 : 500, rs_err_msg()) : send_list(c, id, &l, b->version, NULL);
    rs_reco_list_free(&l);
    rs_reco_release(&slot, b);
    return ret;
}

static enum MHD_Result add_arg(void *q, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    static const char *const own[] = { "user_id", "k", "arm", "debug", "item_id" }; /* the others are values */
    for (size_t i = 0; i < sizeof own / sizeof *own; i++)
        if (strcmp(key, own[i]) == 0)
            return MHD_YES;
    rs_reco_req_add(q, key, value ? value : "");
    return MHD_YES;
}

/* --clock-hour: the server's hour of day (UTC) unless q has its own. */
static void add_clock_hour(struct rs_reco_req *q)
{
    for (size_t j = 0; j < q->n; j++)
        if (strcmp(q->names[j], opt.clock_hour) == 0)
            return;
    char h[8];
    snprintf(h, sizeof h, "%d", (int)(time(NULL) / 3600 % 24));
    rs_reco_req_add(q, opt.clock_hour, h);
}

/* Parameter key as a number in [min, max] into *x: 1; 0 when absent; an
 * error naming it when it is not such a number. */
static int number_param(struct MHD_Connection *c, const char *key, double min, double max, double *x)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    if (!v)
        return 0;
    if (rs_num_f64(v, strlen(v), x) < 0 || !(*x >= min && *x <= max))
        return rs_err_set(RS_ERR_USAGE, "parameter '%s' must be a number in %g..%g", key, min, max);
    return 1;
}

/* The geolocation filter's radius_km, and the user's lat and lon (both or
 * neither), of a GET. */
static int geo_params(struct MHD_Connection *c, struct rs_reco_req *q)
{
    int rc, la, lo;
    if ((rc = number_param(c, "radius_km", 0, 40075, &q->radius_km)) < 0 ||
        (la = number_param(c, "lat", -90, 90, &q->lat)) < 0 || (lo = number_param(c, "lon", -180, 180, &q->lon)) < 0)
        return -1;
    if (rc == 0)
        q->radius_km = -1;
    if (la != lo)
        return rs_err_set(RS_ERR_USAGE, "parameters 'lat' and 'lon' go together");
    q->has_at = la;
    return 0;
}

/* The request of a GET (query parameters) or POST (JSON body); 0, or -1
 * after answering 400. */
static int read_request(struct MHD_Connection *c, const struct upload *u, struct rs_reco_req *q,
                        enum MHD_Result *ret)
{
    if (u->post) {
        if (rs_reco_req_json(q, u->buf, u->len, DEFAULT_K, MAX_K) < 0)
            return *ret = send_error(c, 400, rs_err_msg()), -1;
    } else {
        const char *id = get_id(c, "user_id", ret);
        long k = rs_reco_parse_k(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "k"), DEFAULT_K, MAX_K);
        if (!id)
            return -1;
        if (k < 0)
            return *ret = bad_k(c), -1;
        memset(q, 0, sizeof *q);
        q->user = xstrdup(id);
        q->k = (size_t)k;
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, q);
        const char *debug = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "debug");
        q->want_cands = debug && strcmp(debug, "candidates") == 0;
    }
    q->radius_km = -1;
    if (!u->post && geo_params(c, q) < 0)
        return *ret = send_error(c, 400, rs_err_msg()), -1;
    if (opt.clock_hour)
        add_clock_hour(q);
    return 0;
}

/* The arm forced by the header X-RS-Arm or the parameter arm (for
 * debugging), else the user's (experiment.h); -1: an unknown name. */
static int choose_arm(struct MHD_Connection *c, const struct rs_exp *e, const char *user)
{
    const char *force = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-RS-Arm");
    if (!force)
        force = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "arm");
    return force ? rs_exp_find(e, force) : (int)rs_exp_assign(e, user);
}

/* A user's request (read_request), the bundles taken and the arm it goes
 * to: 0; -1 after answering, q then freed. */
static int begin_request(struct MHD_Connection *c, const struct upload *u, struct rs_reco_req *q,
                         struct rs_reco_ref **b, int *arm, enum MHD_Result *ret)
{
    if (read_request(c, u, q, ret) < 0) {
        rs_reco_req_free(q);
        return -1;
    }
    if (!(*b = rs_reco_acquire(&slot))) {
        rs_reco_req_free(q);
        return *ret = send_error(c, 503, "no bundle loaded"), -1;
    }
    if ((*arm = choose_arm(c, (*b)->exp, q->user)) < 0) {
        rs_reco_req_free(q);
        rs_reco_release(&slot, *b);
        return *ret = send_error(c, 400, "unknown arm (X-RS-Arm or parameter 'arm')"), -1;
    }
    return 0;
}

static enum MHD_Result answer_recommend(struct MHD_Connection *c, const struct upload *u)
{
    struct rs_reco_req q = { 0 };
    struct rs_reco_ref *b;
    enum MHD_Result ret;
    int arm;
    if (begin_request(c, u, &q, &b, &arm, &ret) < 0)
        return ret;
    struct rs_reco_list l = { 0 };
    int rc = rs_reco_recommend(b->exp->arm[arm].reco, &q, &l);
    if (rc == 0 && b->exp->arm[arm].user)
        atomic_fetch_add(&((struct rs_arm_stats *)b->exp->arm[arm].user)->requests, 1);
    if (rc == 0 && fb.log)
        rs_served_add(fb.served, current->id, q.user, b->exp->arm[arm].name, l.ids, l.n);
    ret = rc < 0 ? send_error(c, rc == RS_ERR_USAGE ? 400 : 500, rs_err_msg())
                 : send_list(c, q.user, &l, b->version, &b->exp->arm[arm]);
    rs_reco_list_free(&l);
    rs_reco_req_free(&q);
    rs_reco_release(&slot, b);
    return ret;
}

/* The server's state beside its counters. */
static struct rs_serve_state state_now(void)
{
    struct rs_reco_ref *b = rs_reco_acquire(&slot);
    struct rs_serve_state st = { .version = b ? b->version : 0, .items = b ? rs_reco_nitems(b->reco) : 0,
                                 .ready = b && !atomic_load(&draining) };
    if (b)
        rs_reco_release(&slot, b);
    return st;
}

/* GET /score?user_id=U&item_id=I[&NAME=VALUE...]: one pair, by the arm
 * of the user (MatchModel: the two-tower score; and the ranker's). */
static enum MHD_Result answer_score(struct MHD_Connection *c, const struct upload *u)
{
    struct rs_reco_req q = { 0 };
    struct rs_reco_ref *b;
    enum MHD_Result ret;
    int arm;
    const char *item = get_id(c, "item_id", &ret);
    if (!item || begin_request(c, u, &q, &b, &arm, &ret) < 0)
        return ret;
    struct rs_reco_pair pr;
    int rc = rs_reco_score(b->exp->arm[arm].reco, &q, item, &pr);
    if (rc < 0) {
        ret = send_error(c, rc == RS_ERR_USAGE ? 404 : 500, rs_err_msg());
    } else {
        strcpy(current->arm, b->exp->arm[arm].name);
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "user_id", q.user, "item_id", item, "source",
                              rs_reco_source_name(pr.source), "arm", current->arm, "request_id", current->id,
                              "version", (json_int_t)b->version);
        if (j && pr.has_tower)
            json_object_set_new(j, "tower_score", json_real(pr.tower_score));
        if (j && pr.ranked) {
            json_object_set_new(j, "score", json_real(pr.score));
            json_object_set_new(j, "p_click", json_real(pr.p[0]));
            json_object_set_new(j, "p_booking", json_real(pr.p[1]));
        }
        ret = send_json(c, 200, j);
    }
    rs_reco_req_free(&q);
    rs_reco_release(&slot, b);
    return ret;
}

/* /metrics: Prometheus text 0.0.4; /metrics.json or ?format=json: JSON. */
static enum MHD_Result answer_metrics(struct MHD_Connection *c, int json)
{
    struct rs_serve_state st = state_now();
    if (json)
        return send_json(c, 200, rs_stats_json(&stats, &st));
    struct rs_prom p = { 0 };
    rs_stats_prom(&stats, &st, &p);
    struct MHD_Response *r = MHD_create_response_from_buffer(p.len, p.text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    return queue(c, 200, r);
}

/* /healthz: alive (200 while the process answers); /readyz: ready to take
 * traffic, 503 before a bundle is loaded and while draining at shutdown. */
static enum MHD_Result answer_health(struct MHD_Connection *c, int readiness)
{
    struct rs_serve_state st = state_now();
    if (readiness && !st.ready)
        return send_error(c, 503, st.version ? "draining: shutting down" : "no bundle loaded");
    return send_json(c, 200, json_pack("{s:s, s:I}", "status", "ok", "version", (json_int_t)st.version));
}

/* 1 when the request carries "Authorization: Bearer TOKEN" with the token of
 * --feedback-token-file (compared in constant time). */
static int authorized(struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    size_t n = strlen(h), m = strlen(fb.token);
    unsigned char diff = n != m;
    for (size_t i = 0; i < m; i++)
        diff |= (unsigned char)(fb.token[i] ^ h[i < n ? i : 0]);
    return diff == 0;
}

/* The client's address, the rate limiter's key. */
static size_t client_key(struct MHD_Connection *c, const void **key)
{
    const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *a = i ? i->client_addr : NULL;
    if (a && a->sa_family == AF_INET)
        return *key = &((const struct sockaddr_in *)a)->sin_addr, sizeof(struct in_addr);
    return *key = "", 0;
}

static enum MHD_Result fb_refuse(struct MHD_Connection *c, int result, unsigned status, const char *msg)
{
    atomic_fetch_add(&stats.feedback[result], 1);
    return send_error(c, status, msg);
}

/* Counts an accepted batch in its arms' counters. */
static void count_feedback(const struct rs_fb_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        struct rs_arm_stats *a = rs_stats_arm(&stats, b->ev[i].arm);
        if (!a)
            continue;
        int k = b->ev[i].kind;
        atomic_fetch_add(k == RS_FB_IMPRESSION ? &a->impressions : k == RS_FB_CLICK ? &a->clicks : &a->conversions, 1);
        if (b->ev[i].value > 0)
            rs_stats_revenue(&stats, a, b->ev[i].value);
    }
}

/* POST /feedback: token, rate, size, every event checked against the list
 * served; then one durable frame in the log before the 200 (fblog.h). */
static enum MHD_Result answer_feedback(struct MHD_Connection *c, const struct upload *u)
{
    const void *key;
    size_t klen = client_key(c, &key);
    if (!fb.log)
        return send_error(c, 404, "no feedback log (--feedback-dir)");
    if (!authorized(c)) {
        atomic_fetch_add(&stats.feedback[RS_FB_UNAUTHORIZED], 1);
        json_t *j = json_pack("{s:s, s:i}", "error", "a bearer token is required", "status", 401);
        char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(r, "Content-Type", "application/json");
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
        return queue(c, 401, r);
    }
    if (!rs_ratelimit_take(fb.rate, key, klen, rs_now()))
        return fb_refuse(c, RS_FB_RATE_LIMITED, 429, "over the feedback rate of this client (--feedback-rate)");
    if (u->too_big)
        return fb_refuse(c, RS_FB_INVALID, 413, "request body too large");
    struct rs_fb_batch b;
    int rc = rs_fb_check(fb.served, u->buf ? u->buf : "", u->len, (size_t)opt.fb_events,
                         (int64_t)rs_epoch_now(), &b);
    enum MHD_Result ret;
    if (rc < 0) {
        ret = fb_refuse(c, RS_FB_INVALID, 400, rs_err_msg());
    } else if ((rc = rs_fblog_append(fb.log, b.rows, b.len)) < 0) {
        rs_fb_undo(fb.served, &b);
        rs_log("feedback refused: %s", rs_err_msg());
        ret = fb_refuse(c, RS_FB_WRITE_FAILED, 503, "the feedback log cannot be written now; send the batch again");
    } else {
        count_feedback(&b);
        atomic_fetch_add(&stats.feedback[RS_FB_ACCEPTED], 1);
        ret = send_json(c, 200, json_pack("{s:I}", "accepted", (json_int_t)b.n));
    }
    rs_fb_batch_free(&b);
    return ret;
}

static void request_done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    struct upload *u = *state;
    if (u) {
        free(u->buf);
        atomic_fetch_sub(&stats.in_flight, 1);
    }
    free(u);
    *state = NULL;
}

static enum MHD_Result route(struct MHD_Connection *c, const char *url, const char *method, const struct upload *u,
                             int *ep)
{
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int recommend = strcmp(url, "/recommend") == 0, feedback = strcmp(url, "/feedback") == 0;
    if (feedback ? !u->post : !(get || (u->post && recommend)))
        return send_error(c, 405, "GET, and POST on /recommend; POST on /feedback");
    if (u->refuse) {
        char msg[128];
        snprintf(msg, sizeof msg, "request URL over %ld bytes or %ld query parameters", opt.max_url, opt.max_params);
        return send_error(c, u->refuse, msg);
    }
    if (feedback)
        return *ep = RS_EP_FEEDBACK, answer_feedback(c, u);
    if (u->too_big)
        return send_error(c, 413, "request body too large");
    if (recommend)
        return *ep = RS_EP_RECOMMEND, answer_recommend(c, u);
    if (strcmp(url, "/similar") == 0)
        return *ep = RS_EP_SIMILAR, answer_similar(c);
    if (strcmp(url, "/score") == 0)
        return *ep = RS_EP_SCORE, answer_score(c, u);
    if (strcmp(url, "/metrics") == 0 || strcmp(url, "/metrics.json") == 0) {
        const char *format = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
        return answer_metrics(c, url[8] == '.' || (format && strcmp(format, "json") == 0));
    }
    if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0)
        return answer_health(c, url[1] == 'r');
    return send_error(c, 404, "unknown path (try /recommend, /similar, /healthz, /readyz, /metrics)");
}

/* --access-log: one JSON line per request, written whole by one append. */
static void log_access(const struct upload *u, const char *method, const char *url, double start, double secs)
{
    json_t *path = json_string(url);
    json_t *j = json_pack("{s:f, s:s, s:s, s:s, s:o, s:i, s:f}", "time", start, "request_id", u->id, "arm", u->arm,
                          "method", method, "path", path ? path : json_string("(not UTF-8)"), "status",
                          (int)u->status, "latency_s", secs);
    char *line = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(j);
    if (!line)
        return;
    size_t n = strlen(line);
    line = xrealloc(line, n + 2);
    memcpy(line + n, "\n", 2);
    if (write(access_log, line, n + 1) < 0) /* a full disk must not stop the answers */
        atomic_fetch_add(&stats.log_errors, 1);
    free(line);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void)cls, (void)version;
    struct upload *u = *state; /* from see_url */
    if (!u->started) { /* first call: headers only */
        u->started = 1;
        u->post = strcmp(method, "POST") == 0;
        return MHD_YES;
    }
    if (*upload_size) { /* a body: kept for POST, drained otherwise */
        if (u->post && !u->too_big && u->len + *upload_size <= (size_t)opt.max_body) {
            u->buf = xrealloc(u->buf, u->len + *upload_size);
            memcpy(u->buf + u->len, upload, *upload_size);
            u->len += *upload_size;
        } else {
            u->too_big = u->post;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    double t0 = rs_now();
    int ep = RS_EP_OTHER;
    current = u;
    enum MHD_Result ret = route(c, url, method, u, &ep);
    current = NULL;
    double t1 = rs_now();
    rs_latency_add(&stats.latency[ep], (uint64_t)((t1 - t0) * 1e9));
    if (access_log >= 0)
        log_access(u, method, url, rs_epoch_now() - (t1 - t0), t1 - t0);
    return ret;
}

/* ---- loading and hot swap ---- */

/* The signature of every file served: the experiment's and its arms'. */
static uint64_t files_signature(void)
{
    return opt.experiment ? rs_exp_signature(opt.experiment, &opt.reco) : rs_reco_files_signature(&opt.reco);
}

/* The files' signature once it holds still for SETTLE_MS (a cp or a
 * write in progress), waiting at most SETTLE_TRIES times. */
#define SETTLE_MS 200
#define SETTLE_TRIES 25
static uint64_t settled_signature(void)
{
    uint64_t sig = files_signature(), now;
    for (int t = 0; t < SETTLE_TRIES; t++, sig = now) {
        nanosleep(&(struct timespec){ 0, SETTLE_MS * 1000000L }, NULL);
        if ((now = files_signature()) == sig)
            break;
    }
    return sig;
}

static void log_experiment(const struct rs_exp *e)
{
    char arms[RS_EXP_MAX_ARMS * (RS_EXP_NAME_MAX + 16)] = "";
    for (size_t a = 0; a < e->narms; a++)
        snprintf(arms + strlen(arms), sizeof arms - strlen(arms), "%s%s %.4g", a ? ", " : "", e->arm[a].name,
                 e->arm[a].share);
    rs_log("experiment %s: rollout %.4g, arms %s", e->name, e->rollout, arms);
}

/* Loads the bundle whose files have signature sig and installs it as
 * version: 0; < 0 when it fails (the old one stays); 1 when a file changed
 * while it was read, so that what was read may mix two versions: dropped,
 * for the next look to load again. */
static int reload(uint64_t version, uint64_t sig)
{
    struct rs_exp *e = xmalloc(sizeof *e);
    double t0 = rs_now();
    int rc = rs_exp_read(e, opt.experiment, &opt.reco);
    if (rc == 0)
        rc = rs_exp_load(e);
    int changed = files_signature() != sig;
    if (changed || rc < 0) {
        rs_exp_free(e);
        free(e);
    }
    if (changed) {
        rs_log("files changed while version %llu loaded: loading again", (unsigned long long)version);
        return 1;
    }
    if (rc < 0 && version == 1)
        return rc; /* the first load: main() reports it */
    if (rc < 0) {
        atomic_fetch_add(&stats.reload_failures, 1);
        rs_log("reload failed, keeping version %llu: %s", (unsigned long long)(version - 1), rs_err_msg());
        return rc;
    }
    for (size_t a = 0; a < e->narms; a++)
        e->arm[a].user = rs_stats_arm(&stats, e->arm[a].name);
    if (opt.experiment)
        log_experiment(e);
    struct rs_reco *r = e->arm[0].reco;
    rs_reco_install(&slot, e, version);
    atomic_fetch_add(&stats.reloads, 1);
    rs_log("loaded version %llu: %zu items, %u dims in %.2fs", (unsigned long long)version, rs_reco_nitems(r),
           rs_reco_dims(r), rs_now() - t0);
    if (*rs_reco_feature_names(r))
        rs_log("user features a request may carry: %s", rs_reco_feature_names(r));
    if (*rs_reco_context_names(r))
        rs_log("ranker columns no table holds (request context, else missing): %s", rs_reco_context_names(r));
    return 0;
}

static int signal_pipe[2];

static void on_signal(int sig)
{
    char c = sig == SIGHUP ? 'H' : 'T';
    if (write(signal_pipe[1], &c, 1) < 0)
        _exit(1);
}

/* MHD's URI callback, called with the request target before MHD parses its
 * query: the request's state. libmicrohttpd 0.9.75 drops the connection
 * without a response when its records of the parameters overflow the
 * connection's memory (the 431 it queues then is lost), so a target over
 * the limits has its query cut here, in MHD's own buffer that it is about
 * to cut and parse in place, and is answered 414. */
static void *see_url(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls, (void)c;
    struct upload *u = xcalloc(1, sizeof *u);
    unsigned char id[16];
    if (getrandom(id, sizeof id, 0) != sizeof id)
        rs_fatal("getrandom: %s", strerror(errno));
    for (int i = 0; i < 16; i++)
        snprintf(u->id + 2 * i, 3, "%02x", id[i]);
    atomic_fetch_add(&stats.in_flight, 1);
    char *query = strchr(uri, '?');
    long params = 0;
    for (const char *p = query; p && *p; p++)
        params += *p == '?' || *p == '&';
    if ((long)strlen(uri) > opt.max_url || params > opt.max_params) {
        u->refuse = 414;
        if (query)
            query[1] = '\0';
    }
    return u;
}

/* Raises the open-files limit to its hard limit, and lowers
 * --max-connections to what it allows. */
static void fit_connections_to_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)opt.max_connections + SPARE_FDS > rl.rlim_cur) {
        long fit = rl.rlim_cur > 2 * SPARE_FDS ? (long)rl.rlim_cur - SPARE_FDS : SPARE_FDS;
        rs_log("--max-connections %ld lowered to %ld: the open-files limit is %llu", opt.max_connections, fit,
               (unsigned long long)rl.rlim_cur);
        opt.max_connections = fit;
    }
}

static struct MHD_Daemon *start_daemon(void)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port) };
    if (inet_pton(AF_INET, opt.bind, &addr.sin_addr) != 1)
        rs_usage_error(SYNOPSIS, "invalid --bind address '%s'", opt.bind);
    fit_connections_to_fd_limit();
    /* epoll in a pool of polling threads: idle connections cost a
     * descriptor and their memory, never a thread */
    /* ITC: MHD_quiesce_daemon (graceful shutdown) needs it with a pool */
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC, (uint16_t)opt.port, NULL, NULL,
                            handle, NULL, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_THREAD_POOL_SIZE,
                            (unsigned)rs_opts.threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)opt.timeout,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)opt.max_connections,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)opt.per_client,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)opt.conn_memory,
                            MHD_OPTION_URI_LOG_CALLBACK, see_url, NULL, MHD_OPTION_NOTIFY_COMPLETED, request_done,
                            NULL, MHD_OPTION_END);
}

static void write_port_file(int port)
{
    struct rs_writer *w;
    int rc = rs_writer_open(&w, opt.port_file, 0, 0);
    if (rc == 0)
        rc = rs_writer_finish(w, rs_writer_printf(w, "%d\n", port));
    if (rc < 0)
        rs_die(rc);
}

/* The first bundle, loaded again while its files change under it; its
 * signature. */
static uint64_t first_load(void)
{
    int rc;
    uint64_t sig;
    while ((rc = reload(1, sig = settled_signature())) == 1)
        ;
    if (rc < 0)
        rs_die(RS_ERR_FORMAT);
    return sig;
}

/* --access-log, opened again on SIGHUP (after a rotation moved it away). */
static void open_access_log(void)
{
    if (!opt.access_log)
        return;
    int fd = open(opt.access_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 && access_log < 0)
        rs_fatal("cannot open '%s': %s", opt.access_log, strerror(errno));
    if (fd < 0) {
        rs_log("cannot open '%s' again, keeping the old one: %s", opt.access_log, strerror(errno));
        return;
    }
    if (access_log >= 0)
        dup2(fd, access_log), close(fd); /* one descriptor all along: no thread writes a closed one */
    else
        access_log = fd;
}

/* The bearer token: the first line of --feedback-token-file, at least
 * MIN_TOKEN bytes (never on the command line, where ps shows it). */
static char *read_token(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        rs_fatal("cannot open '%s': %s", path, strerror(errno));
    char buf[4096] = "";
    if (!fgets(buf, sizeof buf, f))
        buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    if (strlen(buf) < MIN_TOKEN || strspn(buf, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=") !=
                                       strlen(buf))
        rs_fatal("'%s': the token must be at least %d bytes of A-Z a-z 0-9 - . _ ~ + / =", path, MIN_TOKEN);
    return xstrdup(buf);
}

static void open_feedback(void)
{
    fb.token = read_token(opt.fb_token_file);
    int rc = rs_fblog_open(&fb.log, opt.fb_dir, RS_FB_HEADER, (uint64_t)opt.fb_rotate_mb << 20,
                           (double)opt.fb_rotate_s);
    if (rc < 0)
        rs_die(rc);
    fb.served = rs_served_new((size_t)opt.fb_window);
    fb.rate = rs_ratelimit_new(opt.fb_rate, opt.fb_burst);
}

/* SIGTERM: stops accepting (the listening socket is closed), answers what
 * is in flight, each answer closing its connection, for at most --drain
 * seconds; then stops. */
static void drain(struct MHD_Daemon *d)
{
    MHD_socket fd = MHD_quiesce_daemon(d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    atomic_store(&draining, 1); /* after: a 503 from /readyz means no new connection */
    double t0 = rs_now();
    while (atomic_load(&stats.in_flight) > 0 && rs_now() - t0 < opt.drain)
        nanosleep(&(struct timespec){ 0, 10 * 1000000L }, NULL);
    long left = (long)atomic_load(&stats.in_flight);
    rs_log("stopping: %s", left ? "--drain seconds passed with requests in flight" : "no request in flight");
    MHD_stop_daemon(d);
}

/* Waits for signals; polls the files every --watch seconds. A file changed,
 * truncated or deleted never touches the bundle served: that one is a copy
 * in memory, and a new one replaces it only once it has loaded and been
 * validated whole. */
static void serve_until_stopped(uint64_t sig)
{
    uint64_t version = 1;
    for (;;) {
        struct pollfd p = { signal_pipe[0], POLLIN, 0 };
        int n = poll(&p, 1, opt.watch > 0 ? opt.watch * 1000 : -1);
        char c = 0;
        if (n > 0 && read(signal_pipe[0], &c, 1) == 1 && c == 'T')
            return;
        if (c == 'H')
            open_access_log();
        if (c == 'H' || files_signature() != sig) {
            sig = settled_signature();
            int rc = reload(version + 1, sig);
            if (rc == 0)
                version++;
            else if (rc == 1)
                sig = 0; /* look again at the next poll */
        }
    }
}

/* The post-ranking options, read by rs-diversify's parser (divspec.h);
 * --group-col is --by, --div-items its --items. 1 when c was one. */
static int post_option(int c, const struct option *longopts, int li)
{
    if (c != 'G' && c != 'M' && (c < 12 || c > 18) && (c < 30 || c > 33))
        return 0; /* rs-serve's own --items and --seen come before post-ranking */
    if (c == 18) {
        if (opt.ndiv_items == RS_DIV_MAX_ITEMS - 1)
            rs_usage_error(SYNOPSIS, "at most %d --div-items", RS_DIV_MAX_ITEMS - 1);
        opt.div_items[opt.ndiv_items++] = optarg;
        return 1;
    }
    if (rs_div_spec_set(&opt.div, c == 'G' ? "--by" : rs_opt_flag(longopts, c, li), optarg) < 0)
        rs_usage_error(SYNOPSIS, "%s", rs_err_msg());
    return 1;
}

/* The post-ranking tables: --items first, then --div-items; the rules
 * checked as rs-diversify checks them. */
static void check_post(void)
{
    struct rs_div_params p;
    int rc = opt.reco.items ? rs_div_spec_set(&opt.div, "--items", opt.reco.items) : 0;
    for (size_t i = 0; rc >= 0 && i < opt.ndiv_items; i++)
        rc = rs_div_spec_set(&opt.div, "--items", opt.div_items[i]);
    if (rc < 0 || rs_div_spec_params(&opt.div, &p) < 0)
        rs_usage_error(SYNOPSIS, "%s", rs_err_msg());
    opt.reco.post = &opt.div;
}

/* --source NAME=FILE: one more precomputed source, named like rs-merge's. */
static void add_source(const char *arg)
{
    size_t n = opt.reco.nsources;
    if (n == MAX_SOURCES)
        rs_usage_error(SYNOPSIS, "more than %d --source", MAX_SOURCES);
    rs_opt_source(SYNOPSIS, arg, &opt.source_names[n], &opt.source_paths[n]);
    for (size_t s = 0; s < n; s++)
        if (strcmp(opt.source_names[s], opt.source_names[n]) == 0)
            rs_usage_error(SYNOPSIS, "source name '%s' given twice", opt.source_names[n]);
    if (strcmp(opt.source_paths[n], "-") == 0)
        rs_usage_error(SYNOPSIS, "--source %s: stdin cannot be reloaded; give a file", arg);
    opt.reco.nsources = n + 1;
    opt.reco.source_names = (const char *const *)opt.source_names;
    opt.reco.source_paths = opt.source_paths;
}

/* The merge options need sources, and the online source a name of its own. */
static void check_sources(void)
{
    if (opt.merge_opts && !opt.reco.nsources)
        rs_usage_error(SYNOPSIS, "--tower-source, --per-source and --rrf-k need --source");
    const char *tower = opt.reco.tower_source ? opt.reco.tower_source : "tower";
    rs_opt_source_name(SYNOPSIS, tower, strlen(tower));
    for (size_t s = 0; s < opt.reco.nsources; s++)
        if (strcmp(opt.source_names[s], tower) == 0)
            rs_usage_error(SYNOPSIS, "source name '%s' is the online source's (--tower-source)", tower);
}

int main(int argc, char **argv)
{
    rs_cli_init(argv[0]);
    static const struct option longopts[] = {
        RS_COMMON_LONGOPTS,
        { "items-emb", required_argument, 0, 'I' },
        { "users-emb", required_argument, 0, 'U' },
        { "seen", required_argument, 0, 'S' },
        { "items", required_argument, 0, 'i' },
        { "group-col", required_argument, 0, 'G' },
        { "max-per-group", required_argument, 0, 'M' },
        { "by", required_argument, 0, 'G' },
        { "round-robin", no_argument, 0, 12 },
        { "mmr", required_argument, 0, 13 },
        { "boost", required_argument, 0, 14 },
        { "min-share", required_argument, 0, 15 },
        { "stock-col", required_argument, 0, 16 },
        { "deny", required_argument, 0, 17 },
        { "div-items", required_argument, 0, 18 },
        { "radius-km", required_argument, 0, 30 },
        { "geo-users", required_argument, 0, 31 },
        { "lat-col", required_argument, 0, 32 },
        { "lon-col", required_argument, 0, 33 },
        { "candidates", required_argument, 0, 'C' },
        { "index", required_argument, 0, 'X' },
        { "model", required_argument, 0, 'm' },
        { "users", required_argument, 0, 'u' },
        { "nprobe", required_argument, 0, 'N' },
        { "rerank", required_argument, 0, 'R' },
        { "port", required_argument, 0, 'p' },
        { "bind", required_argument, 0, 'B' },
        { "port-file", required_argument, 0, 'P' },
        { "watch", required_argument, 0, 'W' },
        { "ranker", required_argument, 0, 'K' },
        { "rank-users", required_argument, 0, 'x' },
        { "rank-items", required_argument, 0, 'y' },
        { "clock-hour", required_argument, 0, 'H' },
        { "source", required_argument, 0, 1 },
        { "tower-source", required_argument, 0, 2 },
        { "per-source", required_argument, 0, 3 },
        { "rrf-k", required_argument, 0, 4 },
        { "max-connections", required_argument, 0, 5 },
        { "max-per-client", required_argument, 0, 6 },
        { "timeout", required_argument, 0, 7 },
        { "conn-memory", required_argument, 0, 8 },
        { "max-url", required_argument, 0, 9 },
        { "max-params", required_argument, 0, 10 },
        { "max-body", required_argument, 0, 11 },
        { "access-log", required_argument, 0, 19 },
        { "drain", required_argument, 0, 20 },
        { "experiment", required_argument, 0, 21 },
        { "feedback-dir", required_argument, 0, 22 },
        { "feedback-token-file", required_argument, 0, 23 },
        { "feedback-window", required_argument, 0, 24 },
        { "feedback-rate", required_argument, 0, 25 },
        { "feedback-burst", required_argument, 0, 26 },
        { "feedback-max-events", required_argument, 0, 27 },
        { "feedback-rotate-mb", required_argument, 0, 28 },
        { "feedback-rotate-s", required_argument, 0, 29 },
        RS_COLS_LONGOPTS,
        { 0, 0, 0, 0 },
    };
    int c, li;
    while ((li = -1, c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS "p:", longopts, &li)) != -1) {
        if (rs_cli_common(c, optarg, help) || rs_cli_cols(c, optarg, &cols) || post_option(c, longopts, li))
            continue;
        switch (c) {
        case 'I': opt.reco.items_emb = optarg; break;
        case 'U': opt.reco.users_emb = optarg; break;
        case 'S': opt.reco.seen = optarg; break;
        case 'i': opt.reco.items = optarg; break;
        case 'X': opt.reco.index = optarg; break;
        case 'm': opt.reco.model = optarg; break;
        case 'u': opt.reco.users = optarg; break;
        case 'N': opt.reco.nprobe = (size_t)rs_opt_int("--nprobe", optarg, 1, 1 << 24); break;
        case 'R': opt.reco.rerank = (size_t)rs_opt_int("--rerank", optarg, 1, 1 << 24); break;
        case 'C': opt.reco.candidates = (size_t)rs_opt_int("--candidates", optarg, 1, 100000); break;
        case 'p': opt.port = (int)rs_opt_int("--port", optarg, 0, 65535); break;
        case 'B': opt.bind = optarg; break;
        case 'P': opt.port_file = optarg; break;
        case 'W': opt.watch = (int)rs_opt_int("--watch", optarg, 0, 86400); break;
        case 'K': opt.reco.ranker = optarg; break;
        case 'x': opt.reco.rank_users = optarg; break;
        case 'y': opt.reco.rank_items = optarg; break;
        case 'H': opt.clock_hour = optarg; break;
        case 1: add_source(optarg); break;
        case 2: opt.reco.tower_source = optarg, opt.merge_opts = 1; break;
        case 3:
            opt.reco.per_source = (size_t)rs_opt_int("--per-source", optarg, 1, UINT32_MAX), opt.merge_opts = 1;
            break;
        case 4: opt.reco.rrf_k = rs_opt_double("--rrf-k", optarg, 0, 1e9), opt.merge_opts = 1; break;
        case 5: opt.max_connections = (long)rs_opt_int("--max-connections", optarg, 1, 1000000); break;
        case 6: opt.per_client = (long)rs_opt_int("--max-per-client", optarg, 1, 1000000); break;
        case 7: opt.timeout = (long)rs_opt_int("--timeout", optarg, 1, 86400); break;
        case 8: opt.conn_memory = (long)rs_opt_int("--conn-memory", optarg, 4096, 1L << 30); break;
        case 9: opt.max_url = (long)rs_opt_int("--max-url", optarg, 16, 1L << 28); break;
        case 10: opt.max_params = (long)rs_opt_int("--max-params", optarg, 1, 1L << 24); break;
        case 11: opt.max_body = (long)rs_opt_int("--max-body", optarg, 1, 1L << 30); break;
        case 19: opt.access_log = optarg; break;
        case 20: opt.drain = (int)rs_opt_int("--drain", optarg, 0, 3600); break;
        case 21: opt.experiment = optarg; break;
        case 22: opt.fb_dir = optarg; break;
        case 23: opt.fb_token_file = optarg; break;
        case 24: opt.fb_window = (long)rs_opt_int("--feedback-window", optarg, 1, 100000000); break;
        case 25: opt.fb_rate = rs_opt_double("--feedback-rate", optarg, 1e-3, 1e6); break;
        case 26: opt.fb_burst = rs_opt_double("--feedback-burst", optarg, 1, 1e6); break;
        case 27: opt.fb_events = (long)rs_opt_int("--feedback-max-events", optarg, 1, 1000000); break;
        case 28: opt.fb_rotate_mb = (long)rs_opt_int("--feedback-rotate-mb", optarg, 1, 1 << 20); break;
        case 29: opt.fb_rotate_s = (long)rs_opt_int("--feedback-rotate-s", optarg, 1, 1L << 30); break;
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    if (optind < argc)
        rs_usage_error(SYNOPSIS, "unexpected argument '%s'", argv[optind]);
    opt.reco.user_col = cols.user;
    opt.reco.item_col = cols.item;
    if (!opt.reco.items_emb)
        rs_usage_error(SYNOPSIS, "--items-emb is required");
    if (opt.reco.users && !opt.reco.model)
        rs_usage_error(SYNOPSIS, "--users needs --model");
    if (opt.reco.users && opt.reco.users_emb)
        rs_usage_error(SYNOPSIS, "--users-emb or --model with --users, not both");
    if ((opt.reco.rank_users || opt.reco.rank_items) && !opt.reco.ranker)
        rs_usage_error(SYNOPSIS, "--rank-users and --rank-items need --ranker");
    check_post();
    if (!!opt.fb_dir != !!opt.fb_token_file)
        rs_usage_error(SYNOPSIS, "--feedback-dir and --feedback-token-file go together");
    check_sources();
    if (opt.conn_memory < 2 * (opt.max_url + PARAM_RECORD * opt.max_params))
        rs_usage_error(SYNOPSIS, "--conn-memory %ld is under twice --max-url plus %d bytes per --max-params (%ld)",
                       opt.conn_memory, PARAM_RECORD, 2 * (opt.max_url + PARAM_RECORD * opt.max_params));

    if (pipe(signal_pipe) != 0)
        rs_fatal("pipe: %s", strerror(errno));
    signal(SIGHUP, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN); /* a client hanging up must not kill the server */
    open_access_log();
    if (opt.fb_dir)
        open_feedback();
    uint64_t sig = first_load();
    struct MHD_Daemon *d = start_daemon();
    if (!d)
        rs_fatal("cannot listen on %s:%d: %s", opt.bind, opt.port, strerror(errno));
    int port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
    if (opt.port_file)
        write_port_file(port);
    rs_log("listening on http://%s:%d/ with %d threads", opt.bind, port, rs_opts.threads);
    serve_until_stopped(sig);
    drain(d);
    rs_log("stopped");
    rs_reco_install(&slot, NULL, 0);
    rs_fblog_close(fb.log);
    rs_served_free(fb.served);
    rs_ratelimit_free(fb.rate);
    free(fb.token);
    return 0;
}
