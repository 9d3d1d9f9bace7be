#!/usr/bin/env python3
"""sentences.py - the 10,000 real sentences of bench/encode, as a TSV of
(id, text) on stdout:

  ml-*      every MovieLens 100K movie: its title and its genres
            ("Toy Story (1995) Animation Children's Comedy"); u.item is
            Latin-1, decoded here
  rees46-*  every REES46 product of the file: brand, category path and
            price ("samsung electronics > smartphone 130.76")
  taobao-*  Taobao items up to 10,000 in all: the data set is anonymised, so
            a text is the item and its category id ("item 2268318 category
            2520377"), which exercises digit word pieces

Usage: sentences.py ML100K_DIR REES46_CSV TAOBAO_CSV [N]
(an empty argument skips that data set)"""
import csv
import sys


def movielens(d):
    with open(d + "/u.genre", encoding="latin-1") as f:
        genres = [line.split("|")[0] for line in f if "|" in line]
    with open(d + "/u.item", encoding="latin-1") as f:
        for line in f:
            p = line.rstrip("\n").split("|")
            g = [genres[i] for i, flag in enumerate(p[5:]) if flag == "1" and genres[i] != "unknown"]
            yield "ml-" + p[0], " ".join([p[1]] + g)


def rees46(path):
    seen = set()
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["product_id"] in seen:
                continue
            seen.add(row["product_id"])
            cat = row["category_code"].replace(".", " > ").replace("_", " ")
            text = " ".join(x for x in (row["brand"], cat, row["price"]) if x)
            yield "rees46-" + row["product_id"], text


def taobao(path):
    seen = set()
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if row[1] not in seen:
                seen.add(row[1])
                yield "taobao-" + row[1], "item %s category %s" % (row[1], row[2])


def main():
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
    out = (list(movielens(sys.argv[1])) if sys.argv[1] else []) + (list(rees46(sys.argv[2])) if sys.argv[2] else [])
    for r in taobao(sys.argv[3]) if sys.argv[3] else []:
        if len(out) >= n:
            break
        out.append(r)
    sys.stdout.write("id\ttext\n")
    for key, text in out[:n]:
        sys.stdout.write(key + "\t" + text.replace("\t", " ").replace("\\", " ") + "\n")


if __name__ == "__main__":
    main()
