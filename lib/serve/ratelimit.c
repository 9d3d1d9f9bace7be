/* ratelimit.c - token buckets per client (see ratelimit.h). */
#include "serve/ratelimit.h"
#include "core/err.h"

#include <pthread.h>
#include <stdlib.h>
#include <xxhash.h>

struct bucket {
    double tokens, at; /* at: the time tokens was computed; 0: never used */
};

struct rs_ratelimit {
    pthread_mutex_t lock;
    double rate, burst;
    struct bucket b[RS_RL_SLOTS];
};

struct rs_ratelimit *rs_ratelimit_new(double rate, double burst)
{
    struct rs_ratelimit *r = xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    r->rate = rate;
    r->burst = burst;
    return r;
}

void rs_ratelimit_free(struct rs_ratelimit *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r);
}

int rs_ratelimit_take(struct rs_ratelimit *r, const void *key, size_t len, double now)
{
    struct bucket *b = &r->b[XXH3_64bits(key, len) % RS_RL_SLOTS];
    pthread_mutex_lock(&r->lock);
    double tokens = b->at == 0 ? r->burst : b->tokens + (now - b->at) * r->rate;
    if (tokens > r->burst)
        tokens = r->burst;
    int ok = tokens >= 1;
    b->tokens = ok ? tokens - 1 : tokens;
    b->at = now;
    pthread_mutex_unlock(&r->lock);
    return ok;
}
