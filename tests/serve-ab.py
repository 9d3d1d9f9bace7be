#!/usr/bin/env python3
"""Arms of an rs-serve experiment under load (tests/37-rs-serve-ab.bats,
bench/serve-ab).

Usage: serve-ab.py URL USERS OUT [THREADS]
Asks GET /recommend?user_id=uN&k=1 for users u0..u(USERS-1) over THREADS
keep-alive connections and writes OUT: user_id, arm (the answer's "arm",
which must equal its X-RS-Arm header; its "request_id" must equal
X-RS-Request-Id). Prints the count of each arm, then "errors N" (answers
other than 200, or connections lost)."""
import collections
import http.client
import json
import sys
import threading
import urllib.parse

url, users, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 4
host = urllib.parse.urlparse(url)
arms = [None] * users
errors = [0] * threads


def work(t):
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    for u in range(t, users, threads):
        try:
            conn.request("GET", f"/recommend?user_id=u{u}&k=1")
            r = conn.getresponse()
            body = r.read()
        except (OSError, http.client.HTTPException):
            errors[t] += 1
            conn.close()
            conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
            continue
        if r.status != 200:
            errors[t] += 1
            continue
        j = json.loads(body)
        assert j["arm"] == r.getheader("X-RS-Arm") and j["request_id"] == r.getheader("X-RS-Request-Id"), j
        arms[u] = j["arm"]


ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
with open(out, "w") as f:
    f.write("user_id\tarm\n")
    for u, a in enumerate(arms):
        f.write(f"u{u}\t{a}\n")
for arm, n in sorted(collections.Counter(a for a in arms if a).items()):
    print(arm, n)
print("errors", sum(errors))
