#!/usr/bin/env python3
"""Adds the history feature to the ML-100K users table for bench/two-tower:
each user's last 50 train items by time (comma list). Usage:
prep.py SPLIT_DIR OUT_DIR  (reads train.tsv and users.tsv, writes users.tsv)"""
import csv
import os
import sys

split, out = sys.argv[1], sys.argv[2]
hist = {}
with open(os.path.join(split, "train.tsv")) as f:
    for r in csv.DictReader(f, delimiter="\t"):
        hist.setdefault(r["user_id"], []).append((int(r["timestamp"]), int(r["item_id"])))
with open(os.path.join(split, "users.tsv")) as f, open(os.path.join(out, "users.tsv"), "w") as o:
    o.write("user_id\tage\tgender\toccupation\thistory\n")
    for r in csv.DictReader(f, delimiter="\t"):
        h = [str(i) for _, i in sorted(hist.get(r["user_id"], []))][-50:]
        o.write(f"{r['user_id']}\t{r['age']}\t{r['gender']}\t{r['occupation']}\t{','.join(h)}\n")
