#!/usr/bin/env python3
"""Online post-ranking = rs-diversify, byte for byte (tests/35-rs-serve-post.bats).

Usage: serve-post.py URL N SEED -- RS-DIVERSIFY-OPTIONS...
Sends N random /recommend requests (user, k, context hour) with
debug=candidates, writes what post-ranking was given as a ranked stream
(one "user" per request, scores at full precision) and runs rs-diversify with
the options given on it, one run per k; the served lists, written as
rs-diversify writes its rows, must be the same bytes. Prints the request
count and how many served lists differ from the plain top k by score.
With GEO=FILE in the environment (the server's --geo-users), each request's
"user" gets its user's position in rgeo.tsv, given to rs-diversify as
--geo-users.
"""
import os
import http.client
import json
import random
import subprocess
import sys
import urllib.parse

url, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
div = sys.argv[sys.argv.index("--") + 1:]
host = urllib.parse.urlparse(url)
conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
rng = random.Random(seed)
by_k = {}
reordered = 0
geo = {}
if os.environ.get("GEO"):
    geo = {l.split("\t", 1)[0]: l.split("\t", 1)[1] for l in list(open(os.environ["GEO"]))[1:]}
    rgeo = open("rgeo.tsv", "w")
    rgeo.write("user_id\tlat\tlon\n")
    div += ["--geo-users", "rgeo.tsv"]
for r in range(n):
    user = f"u{rng.randrange(90)}"  # u80.. have no vector: the popular fallback, ranked
    k = rng.randint(1, 12)
    conn.request("GET", f"/recommend?user_id={user}&k={k}&hour={rng.randrange(24)}&debug=candidates")
    resp = conn.getresponse()
    body = json.loads(resp.read())
    assert resp.status == 200, body
    got, cands = body["items"], body["candidates"]
    if user in geo:
        rgeo.write(f"r{r}\t{geo[user]}")
    plain = sorted(cands, key=lambda c: -c["score"])[:k]
    reordered += [x["item_id"] for x in got] != [c["item_id"] for c in plain]
    want, served = by_k.setdefault(k, (["user_id\titem_id\trank\tscore\n"], ["user_id\titem_id\trank\tscore\n"]))
    for j, c in enumerate(cands):
        want.append(f"r{r}\t{c['item_id']}\t{j + 1}\t{c['score']!r}\n")
    for x in got:
        served.append(f"r{r}\t{x['item_id']}\t{x['rank']}\t{'%.9g' % x['score']}\n")
if geo:
    rgeo.close()
for k, (want, served) in sorted(by_k.items()):
    with open(f"cands{k}.tsv", "w") as f:
        f.writelines(want)
    batch = subprocess.run(["rs-diversify", "-q", "-n", str(k)] + div + [f"cands{k}.tsv"],
                           check=True, capture_output=True, text=True).stdout
    with open(f"batch{k}.tsv", "w") as f:
        f.write(batch)
    with open(f"served{k}.tsv", "w") as f:
        f.writelines(served)
    assert batch == "".join(served), f"k={k}: served{k}.tsv differs from batch{k}.tsv"
print(n, reordered)
