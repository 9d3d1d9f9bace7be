/* rs-serve - online recommendations over HTTP (libmicrohttpd), with the
 * artefacts hot-swapped on SIGHUP or when their files are replaced. */
#include "cli.h"
#include "err.h"
#include "latency.h"
#include "reco.h"
#include "tensor.h"

#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SYNOPSIS "rs-serve --items-emb items.rsb [--users-emb users.rsb] [OPTIONS]"
#define DEFAULT_PORT 8080
#define DEFAULT_K 10
#define MAX_K 1000
#define DEFAULT_WATCH 2

static struct {
    struct rs_reco_opts reco;
    int port, watch;
    const char *bind, *port_file;
} opt = { { 0 }, DEFAULT_PORT, DEFAULT_WATCH, "127.0.0.1", NULL };

static void help(void)
{
    printf("Usage: " SYNOPSIS "\n"
           "Serve recommendations over HTTP/1.1 with JSON responses:\n"
           "  GET /recommend?user_id=U&k=10   top k for a user (seen and out-of-stock items\n"
           "                                  excluded); an unknown user gets the most popular\n"
           "                                  items with \"fallback\": \"popular\"\n"
           "  GET /similar?item_id=I&k=10     the k items nearest to I\n"
           "  GET /healthz                    200 when a bundle is loaded\n"
           "  GET /metrics                    requests, errors, latency p50/p90/p99, version\n"
           "Errors are JSON: 400 malformed parameters, 404 unknown path or item, 405 method.\n"
           "\n"
           "Artefacts (one bundle, swapped whole):\n"
           "      --items-emb FILE   item embeddings (RSB), required\n"
           "      --users-emb FILE   user embeddings (RSB, from rs-embed)\n"
           "      --model FILE       or a two-tower model (rs-train-tower) and\n"
           "      --users FILE       a user feature table: the user tower embeds every user\n"
           "                         of the table when the bundle loads (as rs-embed would)\n"
           "      --index FILE       ANN index of the same items (rs-retrieve index build):\n"
           "                         searched instead of every item\n"
           "      --nprobe N         index partitions searched per request (default 16)\n"
           "      --rerank R         index candidates re-scored exactly (default max(k, 100))\n"
           "      --seen FILE        events TSV (user_id, item_id): excluded per user, and the\n"
           "                         popularity of the fallback\n"
           "      --items FILE       items TSV: in_stock = 0 items are never returned\n"
           "      --group-col NAME   with --max-per-group: diversify by this items column\n"
           "      --max-per-group M  at most M items of one group in a list\n"
           "      --candidates N     retrieval depth before diversification (default %d)\n"
           "Serving:\n"
           "      --port N           TCP port (default %d; 0 = any free port)\n"
           "      --bind ADDR        IPv4 address to listen on (default 127.0.0.1)\n"
           "      --port-file FILE   write the port once listening (for scripts)\n"
           "      --watch S          check the files for replacement every S seconds\n"
           "                         (default %d; 0 = only on SIGHUP)\n"
           RS_COMMON_HELP
           "\n"
           "Hot swap: on SIGHUP, or when a file is replaced (new inode, size or mtime), the\n"
           "bundle is loaded in the background and swapped atomically; requests in flight\n"
           "finish on the old one; a bundle that fails to load is refused and the old one\n"
           "stays (counted in /metrics as reload_failures). SIGINT/SIGTERM stop cleanly.\n"
           "\n"
           "Examples:\n"
           "  rs-serve --items-emb items.rsb --users-emb users.rsb --seen train.tsv --port 8080 &\n"
           "  curl 'http://127.0.0.1:8080/recommend?user_id=u42&k=10'\n"
           "  mv new_items.rsb items.rsb   # picked up within --watch seconds\n",
           RS_RECO_DEFAULT_CANDIDATES, DEFAULT_PORT, DEFAULT_WATCH);
}

/* ---- the current bundle, reference counted ---- */

struct bundle {
    struct rs_reco *reco;
    int refs;
    uint64_t version;
};

static pthread_mutex_t bundle_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bundle *current;

static struct bundle *bundle_acquire(void)
{
    pthread_mutex_lock(&bundle_lock);
    struct bundle *b = current;
    if (b)
        b->refs++;
    pthread_mutex_unlock(&bundle_lock);
    return b;
}

static void bundle_release(struct bundle *b)
{
    pthread_mutex_lock(&bundle_lock);
    int last = --b->refs == 0;
    pthread_mutex_unlock(&bundle_lock);
    if (last) {
        rs_reco_free(b->reco);
        free(b);
    }
}

/* ---- metrics ---- */

enum { EP_RECOMMEND, EP_SIMILAR, EP_OTHER, NEP };
static const char *ep_name[NEP] = { "recommend", "similar", "other" };
static struct rs_latency latency[NEP];
static atomic_uint_fast64_t status_count[6]; /* by hundreds: 2xx..5xx */
static atomic_uint_fast64_t reloads, reload_failures, fallbacks;

/* ---- responses ---- */

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
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    atomic_fetch_add(&status_count[status / 100 < 6 ? status / 100 : 5], 1);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return send_json(c, status, json_pack("{s:s, s:i}", "error", msg, "status", (int)status));
}

/* Parses k: absent → DEFAULT_K; returns -1 when malformed. */
static long parse_k(struct MHD_Connection *c)
{
    return rs_reco_parse_k(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "k"), DEFAULT_K, MAX_K);
}

static json_t *list_json(const struct rs_reco_list *l)
{
    json_t *items = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(items, json_pack("{s:s, s:i, s:f}", "item_id", l->ids[i], "rank",
                                               (int)i + 1, "score", (double)l->scores[i]));
    return items;
}

static enum MHD_Result answer_list(struct MHD_Connection *c, int similar)
{
    const char *key = similar ? "item_id" : "user_id";
    const char *id = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    long k = parse_k(c);
    char msg[128];
    if (!id || !*id) {
        snprintf(msg, sizeof msg, "missing parameter '%s'", key);
        return send_error(c, 400, msg);
    }
    if (k < 0) {
        snprintf(msg, sizeof msg, "parameter 'k' must be an integer in 1..%d", MAX_K);
        return send_error(c, 400, msg);
    }
    json_t *id_json = json_string(id); /* NULL unless valid UTF-8 */
    if (!id_json) {
        snprintf(msg, sizeof msg, "parameter '%s' must be UTF-8", key);
        return send_error(c, 400, msg);
    }
    struct bundle *b = bundle_acquire();
    if (!b) {
        json_decref(id_json);
        return send_error(c, 503, "no bundle loaded");
    }
    struct rs_reco_list l = { 0 };
    int rc = similar ? rs_reco_similar(b->reco, id, (size_t)k, &l) : rs_reco_recommend(b->reco, id, (size_t)k, &l);
    enum MHD_Result ret;
    if (rc < 0) {
        json_decref(id_json);
        ret = send_error(c, 404, rs_err_msg());
    } else {
        if (l.fallback)
            atomic_fetch_add(&fallbacks, 1);
        json_t *j = json_pack("{s:o, s:o, s:I}", key, id_json, "items", list_json(&l), "version", (json_int_t)b->version);
        if (!similar)
            json_object_set_new(j, "fallback", l.fallback ? json_string("popular") : json_null());
        ret = send_json(c, 200, j);
    }
    rs_reco_list_free(&l);
    bundle_release(b);
    return ret;
}

static enum MHD_Result answer_metrics(struct MHD_Connection *c)
{
    json_t *lat = json_object();
    for (int e = 0; e < NEP; e++)
        json_object_set_new(lat, ep_name[e],
                            json_pack("{s:I, s:f, s:f, s:f, s:f}", "count", (json_int_t)rs_latency_count(&latency[e]),
                                      "mean_s", rs_latency_mean(&latency[e]), "p50_s", rs_latency_quantile(&latency[e], 0.5),
                                      "p90_s", rs_latency_quantile(&latency[e], 0.9), "p99_s",
                                      rs_latency_quantile(&latency[e], 0.99)));
    struct bundle *b = bundle_acquire();
    json_t *j = json_pack("{s:o, s:{s:I, s:I, s:I, s:I}, s:I, s:I, s:I, s:I, s:I}", "latency", lat, "responses",
                          "2xx", (json_int_t)status_count[2], "3xx", (json_int_t)status_count[3], "4xx",
                          (json_int_t)status_count[4], "5xx", (json_int_t)status_count[5], "fallbacks",
                          (json_int_t)fallbacks, "reloads", (json_int_t)reloads, "reload_failures",
                          (json_int_t)reload_failures, "version", (json_int_t)(b ? b->version : 0), "items",
                          (json_int_t)(b ? rs_reco_nitems(b->reco) : 0));
    if (b)
        bundle_release(b);
    return send_json(c, 200, j);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void)cls, (void)version, (void)upload;
    if (!*state) { /* first call: headers only */
        *state = c;
        return MHD_YES;
    }
    if (*upload_size) { /* no endpoint takes a body: drain it */
        *upload_size = 0;
        return MHD_YES;
    }
    double t0 = now_ns();
    int ep = EP_OTHER;
    enum MHD_Result ret;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        ret = send_error(c, 405, "only GET is supported");
    else if (strcmp(url, "/recommend") == 0)
        ep = EP_RECOMMEND, ret = answer_list(c, 0);
    else if (strcmp(url, "/similar") == 0)
        ep = EP_SIMILAR, ret = answer_list(c, 1);
    else if (strcmp(url, "/metrics") == 0)
        ret = answer_metrics(c);
    else if (strcmp(url, "/healthz") == 0) {
        struct bundle *b = bundle_acquire();
        ret = b ? send_json(c, 200, json_pack("{s:s, s:I}", "status", "ok", "version", (json_int_t)b->version))
                : send_error(c, 503, "no bundle loaded");
        if (b)
            bundle_release(b);
    } else
        ret = send_error(c, 404, "unknown path (try /recommend, /similar, /healthz, /metrics)");
    rs_latency_add(&latency[ep], (uint64_t)(now_ns() - t0));
    return ret;
}

/* ---- loading and hot swap ---- */

/* What identifies the files' contents: a replaced file gets a new inode. */
static uint64_t files_signature(void)
{
    const char *paths[] = { opt.reco.items_emb, opt.reco.users_emb, opt.reco.seen, opt.reco.items, opt.reco.index,
                            opt.reco.model, opt.reco.users };
    uint64_t sig = 1469598103934665603ULL;
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        struct stat st;
        if (!paths[i] || stat(paths[i], &st) != 0)
            continue;
        uint64_t v[4] = { (uint64_t)st.st_ino, (uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec,
                          (uint64_t)st.st_mtim.tv_nsec };
        for (int k = 0; k < 4; k++)
            sig = (sig ^ v[k]) * 1099511628211ULL;
    }
    return sig;
}

static int reload(uint64_t version)
{
    struct rs_reco *r;
    double t0 = rs_now();
    int rc = rs_reco_load(&r, &opt.reco);
    if (rc < 0 && version == 1)
        return rc; /* the first load: main() reports it */
    if (rc < 0) {
        atomic_fetch_add(&reload_failures, 1);
        rs_log("reload failed, keeping version %llu: %s", (unsigned long long)(version - 1), rs_err_msg());
        return rc;
    }
    struct bundle *b = xcalloc(1, sizeof *b), *old;
    b->reco = r;
    b->refs = 1;
    b->version = version;
    pthread_mutex_lock(&bundle_lock);
    old = current;
    current = b;
    pthread_mutex_unlock(&bundle_lock);
    if (old)
        bundle_release(old);
    atomic_fetch_add(&reloads, 1);
    rs_log("loaded version %llu: %zu items, %u dims in %.2fs", (unsigned long long)version, rs_reco_nitems(r),
           rs_reco_dims(r), rs_now() - t0);
    return 0;
}

static int signal_pipe[2];

static void on_signal(int sig)
{
    char c = sig == SIGHUP ? 'H' : 'T';
    if (write(signal_pipe[1], &c, 1) < 0)
        _exit(1);
}

static struct MHD_Daemon *start_daemon(void)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port) };
    if (inet_pton(AF_INET, opt.bind, &addr.sin_addr) != 1)
        rs_usage_error(SYNOPSIS, "invalid --bind address '%s'", opt.bind);
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)opt.port, NULL, NULL,
                            handle, NULL, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_THREAD_POOL_SIZE,
                            (unsigned)rs_opts.threads, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                            MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_END);
}

static void write_port_file(int port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", opt.port_file);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, opt.port_file) != 0)
        rs_fatal("cannot write '%s': %s", opt.port_file, strerror(errno));
}

/* Waits for signals; polls the files every --watch seconds. */
static void serve_until_stopped(void)
{
    uint64_t sig = files_signature(), version = 1;
    for (;;) {
        struct pollfd p = { signal_pipe[0], POLLIN, 0 };
        int n = poll(&p, 1, opt.watch > 0 ? opt.watch * 1000 : -1);
        char c = 0;
        if (n > 0 && read(signal_pipe[0], &c, 1) == 1 && c == 'T')
            return;
        uint64_t now = files_signature();
        if (c == 'H' || now != sig) {
            sig = now;
            if (reload(version + 1) == 0)
                version++;
        }
    }
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
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, RS_COMMON_SHORTOPTS "p:", longopts, NULL)) != -1) {
        if (rs_cli_common(c, optarg, help))
            continue;
        switch (c) {
        case 'I': opt.reco.items_emb = optarg; break;
        case 'U': opt.reco.users_emb = optarg; break;
        case 'S': opt.reco.seen = optarg; break;
        case 'i': opt.reco.items = optarg; break;
        case 'G': opt.reco.group_col = optarg; break;
        case 'M': opt.reco.max_per_group = (size_t)rs_opt_int("--max-per-group", optarg, 1, 1000000); break;
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
        default: rs_usage_bad_option(SYNOPSIS, argv);
        }
    }
    if (optind < argc)
        rs_usage_error(SYNOPSIS, "unexpected argument '%s'", argv[optind]);
    if (!opt.reco.items_emb)
        rs_usage_error(SYNOPSIS, "--items-emb is required");
    if (!opt.reco.model != !opt.reco.users)
        rs_usage_error(SYNOPSIS, "--model and --users go together");
    if (opt.reco.model && opt.reco.users_emb)
        rs_usage_error(SYNOPSIS, "--users-emb or --model with --users, not both");
    if (!!opt.reco.group_col != !!opt.reco.max_per_group)
        rs_usage_error(SYNOPSIS, "--group-col and --max-per-group go together");

    if (pipe(signal_pipe) != 0)
        rs_fatal("pipe: %s", strerror(errno));
    signal(SIGHUP, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN); /* a client hanging up must not kill the server */
    rs_blas_set_threads(1); /* the server's threads each search on their own */
    if (reload(1) < 0)
        rs_die(RS_ERR_FORMAT);
    struct MHD_Daemon *d = start_daemon();
    if (!d)
        rs_fatal("cannot listen on %s:%d: %s", opt.bind, opt.port, strerror(errno));
    int port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
    if (opt.port_file)
        write_port_file(port);
    rs_log("listening on http://%s:%d/ with %d threads", opt.bind, port, rs_opts.threads);
    serve_until_stopped();
    MHD_stop_daemon(d); /* waits for requests in flight */
    rs_log("stopped");
    pthread_mutex_lock(&bundle_lock);
    struct bundle *b = current;
    current = NULL;
    pthread_mutex_unlock(&bundle_lock);
    bundle_release(b);
    return 0;
}
