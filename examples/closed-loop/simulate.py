#!/usr/bin/env python3
"""Simulated users of rs-serve for the closed-loop example (examples/closed-loop/run.sh).

Usage: simulate.py URL TOKEN WORLD REQUESTS SEED [BATCH]
Each request: a user drawn uniformly from WORLD/users.tsv asks GET /recommend
(k=10); the simulator posts the list's impressions to /feedback, then a click
on each item with rs-synth's planted probability (schemas/synth.md, lib/prep/synth.c):
    s = click_bias + a <p_u, q_i> + b lpop_i + trend_i tau - g dist(u, i) / 100
    P(click) = sigmoid(s + noise N(0, 1)) * pos^-eta
with the world's truth (user and item factors, item_truth.tsv, user_truth.tsv,
params.tsv) and tau = 1/2 (the end of the generated window: the week after it).
The clicks of a list follow its impressions; the feedback of BATCH lists
(default 20) goes in one POST, as a client-side collector would send it.
Prints per arm: lists, impressions, clicks, CTR. Stdlib only; rs-cat reads the
RSB factors (found on PATH)."""
import collections
import http.client
import json
import math
import os
import random
import subprocess
import sys
import urllib.parse

url, token, world, requests, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
batch = int(sys.argv[6]) if len(sys.argv) > 6 else 20


def table(name):
    with open(os.path.join(world, name)) as f:
        head = f.readline().rstrip("\n").split("\t")
        return {r[0]: dict(zip(head, r)) for r in (l.rstrip("\n").split("\t") for l in f)}


def factors(name):
    out = subprocess.run(["rs-cat", os.path.join(world, name)], capture_output=True, text=True, check=True).stdout
    return {r.split("\t")[0]: [float(x) for x in r.split("\t")[1:]] for r in out.splitlines()[1:]}


params = {k: float(v["value"]) for k, v in table("params.tsv").items()}
P, Q = factors("user_factors.rsb"), factors("item_factors.rsb")
items, users = table("item_truth.tsv"), table("user_truth.tsv")
user_ids = sorted(table("users.tsv"))


def p_click(u, i, pos, rng):
    it, us = items[i], users[u]
    dist = math.hypot(float(it["x_km"]) - float(us["x_km"]), float(it["y_km"]) - float(us["y_km"]))
    s = (params["click_bias"] + params["affinity"] * sum(a * b for a, b in zip(P[u], Q[i]))
         + params["pop_weight"] * float(it["lpop"]) + float(it["trend"]) * 0.5 - params["dist_weight"] * dist / 100)
    s += params["noise"] * rng.gauss(0, 1)
    return pos ** -params["position_decay"] / (1 + math.exp(-s))


rng = random.Random(seed)
host = urllib.parse.urlparse(url)
conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
stats = collections.defaultdict(lambda: [0, 0, 0])
pending = []


def post(events):
    conn.request("POST", "/feedback", json.dumps({"events": events}),
                 {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    r = conn.getresponse()
    body = r.read()
    assert r.status == 200, body


for n in range(requests):
    u = rng.choice(user_ids)
    conn.request("GET", f"/recommend?user_id={u}&k=10")
    r = conn.getresponse()
    lst = json.loads(r.read())
    assert r.status == 200, lst
    if not lst["items"]:
        continue
    base = {"request_id": lst["request_id"], "user_id": u}
    events = [dict(base, item_id=x["item_id"], event="impression", position=x["rank"]) for x in lst["items"]]
    clicks = [dict(base, item_id=x["item_id"], event="click") for x in lst["items"]
              if rng.random() < p_click(u, x["item_id"], x["rank"], rng)]
    pending += events + clicks
    if (n + 1) % batch == 0:
        post(pending)
        pending = []
    s = stats[lst["arm"]]
    s[0] += 1
    s[1] += len(events)
    s[2] += len(clicks)
if pending:
    post(pending)
for arm, (n, imp, clk) in sorted(stats.items()):
    print(f"{arm}\tlists {n}\timpressions {imp}\tclicks {clk}\tctr {clk / max(imp, 1):.4f}")
