#!/usr/bin/env python3
"""recall.py EXACT.tsv APPROX.tsv - recall@k of approximate candidates against
exact ones (both candidates TSV: user_id, item_id, rank, score): the share of
each query's exact top-k found in its approximate top-k, averaged."""
import collections
import sys


def load(path):
    d = collections.defaultdict(set)
    with open(path) as f:
        next(f)
        for line in f:
            q, i = line.split("\t", 2)[:2]
            d[q].add(i)
    return d


exact, approx = load(sys.argv[1]), load(sys.argv[2])
print("%.4f" % (sum(len(exact[q] & approx[q]) for q in exact) / sum(len(exact[q]) for q in exact)))
