#!/usr/bin/env python3
"""An open-loop load generator for rs-serve (bench/serve-rate): requests
are sent on a fixed schedule, RATE a second for DURATION seconds, whatever
the answers take (a slow answer does not slow the arrivals, so the latencies
are free of coordinated omission: each is measured from the request's
scheduled time). CONNS keep-alive connections, each in its own thread, take
the requests in turn.

Usage: openloop.py URL RATE DURATION USERS [CONNS]
GET /recommend?user_id=uN&k=10&hour=H, N and H uniform (seeded). Prints the
requests sent, the non-200 answers and lost connections, and the client-side
p50 / p99 / max latency in ms, and "late N" for the requests that started
more than 1 ms after their time (the generator itself fell behind)."""
import http.client
import random
import sys
import threading
import time
import urllib.parse

url, rate, duration, users = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
conns = int(sys.argv[5]) if len(sys.argv) > 5 else 16
host = urllib.parse.urlparse(url)
n = int(rate * duration)
rng = random.Random(1)
paths = [f"/recommend?user_id=u{rng.randrange(users)}&k=10&hour={rng.randrange(24)}" for _ in range(n)]
lat = [0.0] * n
bad = [0] * conns
late = [0] * conns
t0 = time.monotonic() + 0.5


def work(w):
    c = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    for i in range(w, n, conns):
        due = t0 + i / rate
        now = time.monotonic()
        if now < due:
            time.sleep(due - now)
        elif now - due > 1e-3:
            late[w] += 1
        try:
            c.request("GET", paths[i])
            r = c.getresponse()
            r.read()
            bad[w] += r.status != 200
        except (OSError, http.client.HTTPException):
            bad[w] += 1
            c.close()
            c = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        lat[i] = time.monotonic() - due


ts = [threading.Thread(target=work, args=(w,)) for w in range(conns)]
for t in ts:
    t.start()
for t in ts:
    t.join()
s = sorted(lat)
q = lambda p: s[min(n - 1, int(p * n))] * 1e3
print(f"sent {n} at {rate:g}/s  failed {sum(bad)}  client p50 {q(0.5):.2f} ms  p99 {q(0.99):.2f} ms  "
      f"max {s[-1] * 1e3:.2f} ms  late {sum(late)}")
