#!/usr/bin/env python3
"""Independent k-core of an events TSV (numpy): keep the largest set of rows
in which every user has >= MIN_USER rows and every item >= MIN_ITEM rows,
by recounting with np.bincount and filtering until nothing changes.

Usage: kcore.py MIN_USER MIN_ITEM < events.tsv > kept.tsv
Reads the columns user_id, item_id, timestamp by name; writes them for the
kept rows, in input order.
"""
import sys

import numpy as np


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    min_user, min_item = int(sys.argv[1]), int(sys.argv[2])
    header = sys.stdin.readline().rstrip("\n").split("\t")
    cu, ci, ct = (header.index(c) for c in ("user_id", "item_id", "timestamp"))
    rows = [line.rstrip("\n").split("\t") for line in sys.stdin]
    users = np.array([r[cu] for r in rows])
    items = np.array([r[ci] for r in rows])
    _, u = np.unique(users, return_inverse=True)
    _, i = np.unique(items, return_inverse=True)
    keep = np.ones(len(rows), dtype=bool)
    rounds = 0
    while True:
        rounds += 1
        ucnt = np.bincount(u[keep], minlength=u.max(initial=0) + 1)
        icnt = np.bincount(i[keep], minlength=i.max(initial=0) + 1)
        new = keep & (ucnt[u] >= min_user) & (icnt[i] >= min_item)
        if (new == keep).all():
            break
        keep = new
    out = sys.stdout
    out.write("user_id\titem_id\ttimestamp\n")
    for k in np.flatnonzero(keep):
        r = rows[k]
        out.write(f"{r[cu]}\t{r[ci]}\t{r[ct]}\n")
    print(f"kcore.py: {keep.sum()} rows after {rounds} rounds", file=sys.stderr)


if __name__ == "__main__":
    main()
