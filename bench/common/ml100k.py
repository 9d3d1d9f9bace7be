#!/usr/bin/env python3
"""Converts MovieLens 100K ($DATA) into the project's streams and the
benchmark protocol split (the two-tower issue):

  all ratings are implicit positives; per user, the last 20% of that user's
  ratings by timestamp (at least 1; ties broken by item id) are test, the
  rest train.

Writes into OUT (default: bench/out/ml100k):
  events.tsv   user_id item_id event timestamp weight (event = rating)
  train.tsv    the same columns, train part
  test.tsv     the same columns, test part
  users.tsv    user_id age gender occupation zip
  items.tsv    item_id title genres year   (genres: comma list)

Usage: ml100k.py DATA_DIR [OUT_DIR]
The data is read in place and never copied into the project (MovieLens terms).
"""
import math
import os
import sys


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    data = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else "bench/out/ml100k"
    os.makedirs(out, exist_ok=True)

    by_user = {}
    with open(os.path.join(data, "u.data")) as f:
        for line in f:
            u, i, r, t = line.split()
            by_user.setdefault(int(u), []).append((int(t), int(i), int(r)))

    header = "user_id\titem_id\tevent\ttimestamp\tweight\n"
    with open(os.path.join(out, "events.tsv"), "w") as ev, \
         open(os.path.join(out, "train.tsv"), "w") as tr, \
         open(os.path.join(out, "test.tsv"), "w") as te:
        for f in (ev, tr, te):
            f.write(header)
        for u in sorted(by_user):
            rows = sorted(by_user[u])
            n_test = max(1, int(math.floor(0.2 * len(rows) + 1e-9)))
            cut = len(rows) - n_test
            for k, (t, i, r) in enumerate(rows):
                line = f"{u}\t{i}\trating\t{t}\t{r}\n"
                ev.write(line)
                (tr if k < cut else te).write(line)

    genres = []
    with open(os.path.join(data, "u.genre"), encoding="latin-1") as f:
        for line in f:
            if line.strip():
                name, idx = line.strip().split("|")
                genres.append(name)
    with open(os.path.join(data, "u.item"), encoding="latin-1") as f, \
         open(os.path.join(out, "items.tsv"), "w") as o:
        o.write("item_id\ttitle\tgenres\tyear\n")
        for line in f:
            p = line.rstrip("\n").split("|")
            flags = p[5:5 + len(genres)]
            g = ",".join(genres[k] for k, v in enumerate(flags) if v == "1")
            year = p[2][-4:] if p[2] else ""
            title = p[1].replace("\t", " ").replace("\\", "\\\\")
            o.write(f"{p[0]}\t{title}\t{g}\t{year}\n")
    with open(os.path.join(data, "u.user")) as f, open(os.path.join(out, "users.tsv"), "w") as o:
        o.write("user_id\tage\tgender\toccupation\tzip\n")
        for line in f:
            u, age, g, occ, z = line.strip().split("|")
            o.write(f"{u}\t{age}\t{g}\t{occ}\t{z}\n")


if __name__ == "__main__":
    main()
