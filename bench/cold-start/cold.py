#!/usr/bin/env python3
"""cold.py - the cold-start protocol of bench/cold-start on a split of
bench/common/ml100k.py: a random share of the items (COLD_FRAC, seeded) is
held out of training entirely.

Usage: cold.py SPLIT_DIR OUT_DIR COLD_FRAC SEED
Writes into OUT_DIR:
  train.tsv       the split's train rows of warm items only
  users.tsv       the split's users (prep.py adds their history from train.tsv)
  test.tsv        the split's test rows of cold items only
  items.tsv       every item (item_id title genres year text), text being the
                  title and the genres ("Toy Story (1995) Animation Comedy")
  cold_items.tsv  the cold items' rows of items.tsv: the candidates ranked
  text.tsv        item_id, text (rs-encode's input)"""
import csv
import os
import random
import sys


def rows(path):
    with open(path) as f:
        r = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return r.fieldnames, list(r)


def write(path, fields, data):
    with open(path, "w") as f:
        f.write("\t".join(fields) + "\n")
        for r in data:
            f.write("\t".join(r[k] for k in fields) + "\n")


def main():
    split, out, frac, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    os.makedirs(out, exist_ok=True)
    ifields, items = rows(os.path.join(split, "items.tsv"))
    ifields.append("text")
    for r in items:
        r["text"] = "%s %s" % (r["title"], r["genres"].replace(",", " "))
    ids = sorted(r["item_id"] for r in items)
    cold = set(random.Random(seed).sample(ids, int(len(ids) * frac)))
    tfields, train = rows(os.path.join(split, "train.tsv"))
    _, test = rows(os.path.join(split, "test.tsv"))
    write(os.path.join(out, "train.tsv"), tfields, [r for r in train if r["item_id"] not in cold])
    write(os.path.join(out, "test.tsv"), tfields, [r for r in test if r["item_id"] in cold])
    write(os.path.join(out, "items.tsv"), ifields, items)
    write(os.path.join(out, "cold_items.tsv"), ifields, [r for r in items if r["item_id"] in cold])
    ufields, users = rows(os.path.join(split, "users.tsv"))
    write(os.path.join(out, "users.tsv"), ufields, users)
    with open(os.path.join(out, "text.tsv"), "w") as f:
        f.write("item_id\ttext\n")
        for r in items:
            f.write("%s\t%s\n" % (r["item_id"], r["text"]))


if __name__ == "__main__":
    main()
