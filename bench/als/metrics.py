#!/usr/bin/env python3
"""recall@K and NDCG@K of a candidates TSV (user_id, item_id, rank) against
a test events TSV (user_id, item_id), averaged over the users with test items
(a user without candidates scores 0):
  recall@K = |top K ∩ test| / |test|
  NDCG@K   = Σ_{hits at rank r ≤ K} 1/log2(r + 1)  /  Σ_{r=1}^{min(|test|,K)} 1/log2(r + 1)
Usage: metrics.py CANDIDATES.tsv TEST.tsv [K_RECALL=20] [K_NDCG=10]
Prints "recall@20\tVALUE" and "ndcg@10\tVALUE"."""
import math
import sys


def read(path, cols):
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        ix = [head.index(c) for c in cols]
        for line in f:
            p = line.rstrip("\n").split("\t")
            yield [p[i] for i in ix]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    kr = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    kn = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    test = {}
    for u, i in read(sys.argv[2], ["user_id", "item_id"]):
        test.setdefault(u, set()).add(i)
    ranked = {}
    for u, i, r in read(sys.argv[1], ["user_id", "item_id", "rank"]):
        ranked.setdefault(u, []).append((int(r), i))
    rec = ndcg = 0.0
    for u, truth in test.items():
        top = [i for _, i in sorted(ranked.get(u, []))]
        rec += len(set(top[:kr]) & truth) / len(truth)
        dcg = sum(1 / math.log2(r + 2) for r, i in enumerate(top[:kn]) if i in truth)
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(truth), kn)))
        ndcg += dcg / idcg
    n = len(test)
    print(f"recall@{kr}\t{rec / n:.4f}")
    print(f"ndcg@{kn}\t{ndcg / n:.4f}")


if __name__ == "__main__":
    main()
