#!/usr/bin/env python3
"""itemknn_ref.py - numpy reference for rs-itemknn (item-item kNN, Sarwar et
al. WWW 2001; Deshpande & Karypis TOIS 2004), in float64.

usage: itemknn_ref.py EVENTS.tsv CANDS.tsv K M SHRINK [--exclude-seen] [--tol T]
EVENTS has user_id and item_id columns (every row is a positive; no user
longer than rs-itemknn's --max-history); CANDS is what rs-itemknn wrote for
every user of EVENTS. The reference computes, with X the binary users x items
matrix, C = X'X (co-occurrences), n = diag(C),
    S_ij = C_ij / (sqrt(n_i n_j) + SHRINK)   (i != j, C_ij > 0),
keeps each row's top M (similarity rounded to float32 as rs-itemknn stores
it, ties to the lower item id), and scores = X W with W the kept S. Then it
checks each user's rows as tests/ref/ease_ref.py does (within T of the
reference relative to max |score|, ranks, order, nothing left out better).
Prints the largest score error relative to max |score|; exit 1 on failure."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ease_ref import check_all, read_pairs  # noqa: E402


def neighbours(X, m, shrink):
    """W: each item's top m similarities, the others 0."""
    C = X.T @ X
    n = np.diag(C).copy()
    np.fill_diagonal(C, 0.0)
    S = (C / (np.sqrt(np.outer(n, n)) + shrink)).astype(np.float32)
    W = np.zeros(S.shape)
    for i in range(S.shape[0]):
        cand = np.nonzero(C[i] > 0)[0]
        order = sorted(cand, key=lambda j: (-S[i, j], j))[:m]
        W[i, order] = S[i, order]
    return W


def main(argv):
    if len(argv) < 6:
        sys.exit(__doc__)
    k, m, shrink = int(argv[3]), int(argv[4]), float(argv[5])
    excl = "--exclude-seen" in argv
    rel = float(argv[argv.index("--tol") + 1]) if "--tol" in argv else 1e-5
    pairs = read_pairs(argv[1])
    users = list(dict.fromkeys(u for u, _ in pairs))
    items = sorted({i for _, i in pairs}, key=lambda s: s.encode())
    ur, ic = {u: n for n, u in enumerate(users)}, {i: n for n, i in enumerate(items)}
    X = np.zeros((len(users), len(items)))
    for u, i in pairs:
        X[ur[u], ic[i]] = 1.0
    return check_all(argv[2], users, items, X, X @ neighbours(X, m, shrink), k, rel, excl)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
