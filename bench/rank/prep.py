#!/usr/bin/env python3
"""prep.py KIND INPUT OUTDIR - flat labelled impressions for bench/rank, so
rs-rank and XGBoost train on exactly the same rows and columns.

Writes OUTDIR/{train,valid,test}.tsv, split by time, with columns
user_id item_id click booking and every feature column (user and item
attributes joined in; clicks and CTR of the item, its category (and brand),
the user and the user x category pair, counted on a history part that
precedes the three splits and is not trained on: see GROUPS).

KIND synth   INPUT = an rs-synth directory: impressions labelled by the click
             and booking events of the same session; features hour, distance,
             position-free; split 20/60/10/10 by time (history/train/valid/test).
KIND taobao  INPUT = UserBehavior CSV (no header: user,item,category,behavior,ts).
             Real impressions are absent: for each (user, day) the items viewed
             (pv) are positives (click = 1, booking = 1 if bought that day),
             plus NEG negatives per positive drawn uniformly from the items not
             viewed by the user that day. Days 1-3 history, 4-7 train, 8 valid,
             9 test.
KIND rees46  INPUT = the REES46 2019-Oct CSV: per session, viewed products are
             positives (booking = purchased in the session), NEG negatives per
             positive from products not viewed in the session; features price,
             brand, category_code. Split 30/40/15/15 by session start time.
"""
import csv
import os
import random
import sys
from collections import Counter, defaultdict

NEG = 4
random.seed(42)


def write(outdir, name, cols, rows):
    with open(os.path.join(outdir, name), "w") as f:
        f.write("\t".join(cols) + "\n")
        for r in rows:
            f.write("\t".join(str(r.get(c, "")) for c in cols) + "\n")


# Keys whose history counts become features, per data set: (feature name,
# columns of the key). item: popularity; category, brand: popularity of the
# item's kind; user: the user's activity; user_category: the user's affinity
# to the item's category.
GROUPS = {
    "synth": [("item", ["item_id"]), ("category", ["category"]), ("user", ["user_id"]),
              ("user_category", ["user_id", "category"])],
    "taobao": [("item", ["item_id"]), ("category", ["category_id"]), ("user", ["user_id"]),
               ("user_category", ["user_id", "category_id"])],
    "rees46": [("item", ["item_id"]), ("category", ["category_code"]), ("brand", ["brand"]),
               ("user", ["user_id"]), ("user_category", ["user_id", "category_code"])],
}


def add_popularity(parts, history, groups):
    """For each group (name, key columns): NAME_clicks and the smoothed
    click-through rate NAME_ctr = (clicks + 1) / (shows + 10) of the row's key,
    counted on the history rows, which precede every split and are not
    trained on: the same numbers for train, valid and test, and no row's own
    label in its features. (Counting on train leaks the label of rare keys;
    leave-one-out or out-of-fold counts make train rows differ from test rows,
    which trees overfit to.)"""
    for name, key in groups:
        clicks, shows = Counter(), Counter()
        for r in history:
            k = tuple(r[c] for c in key)
            shows[k] += 1
            clicks[k] += r["click"]
        for rows in parts:
            for r in rows:
                k = tuple(r[c] for c in key)
                r[name + "_clicks"] = clicks[k]
                r[name + "_ctr"] = "%.6f" % ((clicks[k] + 1) / (shows[k] + 10))


def synth(indir):
    def table(name, key):
        with open(os.path.join(indir, name), newline="") as f:
            return {r[key]: r for r in csv.DictReader(f, delimiter="\t")}
    items, users = table("items.tsv", "item_id"), table("users.tsv", "user_id")
    ex, key = [], {}
    with open(os.path.join(indir, "events.tsv"), newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            k = (r["session_id"], r["user_id"], r["item_id"])
            if r["event"] == "impression":
                it, us = items[r["item_id"]], users[r["user_id"]]
                key[k] = len(ex)
                ex.append({"user_id": r["user_id"], "item_id": r["item_id"], "click": 0, "booking": 0,
                           "hour": r["hour"], "distance": r["distance"], "category": it["category"],
                           "subcategory": it["subcategory"], "cluster": it["cluster"],
                           "price": it["price"], "region": us["region"], "age": us["age"]})
            elif r["event"] in ("click", "booking") and k in key:
                ex[key[k]][r["event"]] = 1
    n = len(ex)
    cut = [0, n * 2 // 10, n * 8 // 10, n * 9 // 10, n]
    return [ex[cut[k]:cut[k + 1]] for k in range(4)], \
        ["hour", "distance", "category", "subcategory", "cluster", "price", "region", "age"]


def sample_negatives(pool, exclude, k):
    out = set()
    while len(out) < k:
        i = pool[random.randrange(len(pool))]
        if i not in exclude:
            out.add(i)
    return sorted(out)


def taobao(path):
    days = defaultdict(lambda: defaultdict(dict))  # day -> user -> item -> [click, buy, hour]
    cat = {}
    day0 = 1511539200  # 2017-11-25 00:00 China time (UTC+8) = 2017-11-24 16:00 UTC
    with open(path) as f:
        for line in f:
            u, i, c, b, ts = line.rstrip("\n").split(",")
            if b not in ("pv", "buy"):
                continue
            d = (int(ts) - day0) // 86400
            if d < 0 or d > 8:
                continue
            cat[i] = c
            e = days[d][u].setdefault(i, [0, 0, ((int(ts) - day0) % 86400) // 3600])
            e[0 if b == "pv" else 1] = 1
    pool = sorted(cat)
    parts = [[], [], [], []]
    for d in sorted(days):
        part = parts[0 if d < 3 else 1 if d < 7 else 2 if d == 7 else 3]
        for u in sorted(days[d]):
            seen = days[d][u]
            pos = sorted(i for i in seen if seen[i][0])
            for i in pos:
                part.append({"user_id": u, "item_id": i, "click": 1, "booking": seen[i][1],
                             "category_id": cat[i], "hour": seen[i][2]})
            hours = [seen[i][2] for i in pos] or [12]
            for j, i in enumerate(sample_negatives(pool, seen, NEG * len(pos))):
                part.append({"user_id": u, "item_id": i, "click": 0, "booking": 0,
                             "category_id": cat[i], "hour": hours[j % len(hours)]})
    return parts, ["category_id", "hour"]


def rees46(path):
    sessions, prod = {}, {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            p = r["product_id"]
            prod[p] = (r["category_code"] or r["category_id"], r["brand"], r["price"])
            s = sessions.setdefault(r["user_session"], {"user": r["user_id"], "t": r["event_time"],
                                                        "hour": r["event_time"][11:13], "items": {}})
            e = s["items"].setdefault(p, [0, 0])
            if r["event_type"] == "view":
                e[0] = 1
            elif r["event_type"] == "purchase":
                e[0] = e[1] = 1
    pool = sorted(prod)
    order = sorted(sessions, key=lambda s: (sessions[s]["t"], s))
    n = len(order)
    parts = [[], [], [], []]
    for k, sid in enumerate(order):
        q = k * 100 // n
        part = parts[0 if q < 30 else 1 if q < 70 else 2 if q < 85 else 3]
        s = sessions[sid]
        pos = sorted(p for p, e in s["items"].items() if e[0])
        negs = sample_negatives(pool, s["items"], NEG * len(pos))
        for p, c in [(p, 1) for p in pos] + [(p, 0) for p in negs]:
            cc, brand, price = prod[p]
            part.append({"user_id": s["user"], "item_id": p, "click": c,
                         "booking": s["items"][p][1] if c else 0, "category_code": cc,
                         "brand": brand, "price": price, "hour": s["hour"]})
    return parts, ["category_code", "brand", "price", "hour"]


def main():
    kind, src, outdir = sys.argv[1:4]
    os.makedirs(outdir, exist_ok=True)
    (hist, tr, va, te), feats = {"synth": synth, "taobao": taobao, "rees46": rees46}[kind](src)
    add_popularity([tr, va, te], hist, GROUPS[kind])
    cols = ["user_id", "item_id", "click", "booking"] + feats + \
        [g + s for g, _ in GROUPS[kind] for s in ("_clicks", "_ctr")]
    for name, rows in (("train.tsv", tr), ("valid.tsv", va), ("test.tsv", te)):
        write(outdir, name, cols, rows)
    pos = sum(r["click"] for r in tr)
    book = sum(r["booking"] for r in tr)
    print(f"{kind}: {len(hist)} history, {len(tr)} train, {len(va)} valid, {len(te)} test rows; "
          f"train click rate {pos / len(tr):.4f}, booking rate {book / len(tr):.4f}")


if __name__ == "__main__":
    main()
