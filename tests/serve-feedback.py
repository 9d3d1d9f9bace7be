#!/usr/bin/env python3
"""A client of rs-serve's /recommend and /feedback for the tests
(tests/38-rs-serve-feedback.bats).

Usage: serve-feedback.py URL TOKEN SCENARIO [ARGS]
  serve USER K            one list, all its impressions, a click and a
                          purchase (12.5) on the second item; writes want.tsv:
                          the log rows expected (timestamp column blank)
  batches N               N lists of users u0..u5, each with its impressions
                          in one batch; prints one line per batch: the HTTP
                          status; writes acked.tsv: the rows of the batches
                          answered 200 (timestamp blank)
  refusals                every kind of bad feedback, each refused with its
                          status; prints "refused N"
"""
import http.client
import json
import sys
import urllib.parse

url, token, scenario = sys.argv[1], sys.argv[2], sys.argv[3]
host = urllib.parse.urlparse(url)
conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)


def recommend(user, k):
    conn.request("GET", f"/recommend?user_id={user}&k={k}")
    r = conn.getresponse()
    body = json.loads(r.read())
    assert r.status == 200, body
    return body


def feedback(events, tok=None, raw=None):
    headers = {"Content-Type": "application/json"}
    if tok is not False:
        headers["Authorization"] = f"Bearer {tok or token}"
    conn.request("POST", "/feedback", raw if raw is not None else json.dumps({"events": events}), headers)
    r = conn.getresponse()
    return r.status, json.loads(r.read())


def impressions(lst):
    return [{"request_id": lst["request_id"], "user_id": lst["user_id"], "item_id": it["item_id"],
             "event": "impression", "position": it["rank"]} for it in lst["items"]]


def row(lst, item, event, pos, value=""):
    return f"{lst['user_id']}\t{item}\t{event}\t\t{lst['request_id']}\t{pos}\t{lst['arm']}\t{value}\n"


if scenario == "serve":
    lst = recommend(sys.argv[4], int(sys.argv[5]))
    second = lst["items"][1]["item_id"]
    ev = impressions(lst) + [
        {"request_id": lst["request_id"], "user_id": lst["user_id"], "item_id": second, "event": "click"},
        {"request_id": lst["request_id"], "user_id": lst["user_id"], "item_id": second, "event": "purchase",
         "value": 12.5}]
    status, body = feedback(ev)
    assert status == 200 and body == {"accepted": len(ev)}, (status, body)
    with open("want.tsv", "w") as f:
        f.writelines(row(lst, it["item_id"], "impression", it["rank"]) for it in lst["items"])
        f.write(row(lst, second, "click", 2))
        f.write(row(lst, second, "purchase", 2, "12.5"))
elif scenario == "batches":
    acked = []
    for b in range(int(sys.argv[4])):
        lst = recommend(f"u{b % 6}", 10)
        status, _ = feedback(impressions(lst))
        print(status)
        if status == 200:
            acked += [row(lst, it["item_id"], "impression", it["rank"]) for it in lst["items"]]
    with open("acked.tsv", "w") as f:
        f.writelines(acked)
elif scenario == "refusals":
    a, other = recommend("u1", 4), recommend("u2", 4)
    imp = impressions(a)
    forged = dict(imp[0], request_id="0123456789abcdef0123456789abcdef")
    bad = [
        (401, None, False), (401, None, "x" * 20),                        # no token, a wrong one
        (400, [forged], None),                                            # an id never handed out
        (400, [dict(imp[0], request_id="zz")], None),                     # not an id
        (400, [dict(imp[0], user_id="u2")], None),                        # another user's list
        (400, [dict(imp[0], request_id=other["request_id"])], None),      # u1's event on u2's list
        (400, [dict(imp[0], item_id="nope")], None),                      # an item not served
        (400, [dict(imp[0], position=2)], None),                          # at another position
        (400, [dict(imp[0], event="purchase")], None),                    # a purchase without value
        (400, [imp[0], dict(imp[0], event="clik")], None),                # an unknown word
        (400, [dict(imp[0], event="click")], None),                       # a click without impression
        (400, [imp[0], dict(imp[0], event="purchase", value=-1)], None),  # a negative value
        (400, [imp[0], dict(imp[0], event="purchase", value=1e12)], None),  # an absurd one
        (400, [imp[0], dict(imp[0], event="click", value=3)], None),      # a click with a value
        (400, [imp[0], imp[0]], None),                                    # the impression twice
        (400, [dict(imp[0], extra=1)], None),                             # an unknown member
        (400, [dict(imp[0], arm="zz")], None),                            # another arm
        (400, [], None),                                                  # no event
        (400, "not json", None),
    ]
    for want, events, tok in bad:
        status, body = feedback(events, tok) if events != "not json" else feedback(None, tok, raw="not json")
        assert status == want, (want, status, body, events)
    status, body = feedback(imp)  # all of it good: accepted, once
    assert status == 200, body
    status, body = feedback(imp[:1])
    assert status == 400 and "recorded already" in body["error"], body
    print("refused", len(bad) + 1)
