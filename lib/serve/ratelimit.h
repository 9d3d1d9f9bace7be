/* ratelimit.h - a token bucket per client address (Turner 1986's leaky
 * bucket as a meter): each client may spend `burst` tokens at once, and
 * gets `rate` tokens a second back. Clients are hashed into a fixed table
 * (RS_RL_SLOTS): two clients sharing a slot share a bucket, which can only
 * refuse too early, never let more through. Thread-safe. */
#ifndef RS_RATELIMIT_H
#define RS_RATELIMIT_H

#include <stddef.h>

#define RS_RL_SLOTS 4096

struct rs_ratelimit;

struct rs_ratelimit *rs_ratelimit_new(double rate, double burst);
void rs_ratelimit_free(struct rs_ratelimit *r);
/* 1 when the client (key: its address bytes) may spend one token at time
 * now (seconds, monotonic), which it then has spent; 0 when its bucket is
 * empty. */
int rs_ratelimit_take(struct rs_ratelimit *r, const void *key, size_t len, double now);

#endif
