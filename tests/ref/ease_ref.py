#!/usr/bin/env python3
"""ease_ref.py - numpy reference for rs-ease (Steck, WWW 2019), in float64.

usage: ease_ref.py EVENTS.tsv CANDS.tsv K LAMBDA [--exclude-seen] [--tol T]
EVENTS has user_id and item_id columns (every row is a positive); CANDS is
what rs-ease wrote for every user of EVENTS. The reference computes
    G = X'X + lambda I,  P = G^-1,  B = -P / diag(P),  diag(B) = 0,  S = X B
in double precision and checks, per user, that rs-ease's rows are a top K of
S (seen items left out with --exclude-seen): each score is within T of the
reference score (T = --tol, default 1e-4, relative to max |S| over the data),
the items are distinct, ranks 1..K, scores non-increasing, and no item left
out beats the K-th kept one by more than T. Prints the largest score error
relative to max |S|; exit 1 on any failure."""
import sys

import numpy as np


def read_pairs(path):
    with open(path, encoding="utf-8") as f:
        head = next(f).rstrip("\n").split("\t")
        iu, ii = head.index("user_id"), head.index("item_id")
        return [(r[iu], r[ii]) for r in (line.rstrip("\n").split("\t") for line in f)]


def reference(pairs, lam):
    users = list(dict.fromkeys(u for u, _ in pairs))
    items = sorted({i for _, i in pairs}, key=lambda s: s.encode())
    ur = {u: k for k, u in enumerate(users)}
    ic = {i: k for k, i in enumerate(items)}
    X = np.zeros((len(users), len(items)))
    for u, i in pairs:
        X[ur[u], ic[i]] = 1.0
    P = np.linalg.inv(X.T @ X + lam * np.eye(len(items)))
    B = -P / np.diag(P)
    np.fill_diagonal(B, 0.0)
    return users, items, X, X @ B


def check_user(u, rows, s, seen, k, tol, items, ic):
    """Errors of one user's rows (item, rank, score) against scores s."""
    errs, worst = [], 0.0
    if [int(r) for _, r, _ in rows] != list(range(1, len(rows) + 1)):
        errs.append(f"{u}: ranks are not 1..{len(rows)}")
    got = [ic.get(i, -1) for i, _, _ in rows]
    if -1 in got or len(set(got)) != len(got) or any(seen[g] for g in got):
        errs.append(f"{u}: unknown, repeated or seen item")
        return errs, worst
    sc = [float(x) for _, _, x in rows]
    if any(b > a for a, b in zip(sc, sc[1:])):
        errs.append(f"{u}: scores not sorted")
    eligible = int((~seen).sum())
    if len(rows) != min(k, eligible):
        errs.append(f"{u}: {len(rows)} rows, expected {min(k, eligible)}")
    for g, x in zip(got, sc):
        worst = max(worst, abs(x - s[g]))
    rest = np.where(~seen)[0]
    rest = rest[~np.isin(rest, got)]
    if len(rest) and got and s[rest].max() > min(s[g] for g in got) + tol:
        errs.append(f"{u}: item {items[rest[s[rest].argmax()]]} beats the kept ones")
    if worst > tol:
        errs.append(f"{u}: score error {worst:.3g} > {tol:.3g}")
    return errs, worst


def main(argv):
    if len(argv) < 5:
        sys.exit(__doc__)
    k, lam = int(argv[3]), float(argv[4])
    excl = "--exclude-seen" in argv
    rel = float(argv[argv.index("--tol") + 1]) if "--tol" in argv else 1e-4
    users, items, X, S = reference(read_pairs(argv[1]), lam)
    return check_all(argv[2], users, items, X, S, k, rel, excl)


def check_all(cands_path, users, items, X, S, k, rel, excl):
    """Checks every user's rows of cands_path against S (users x items); prints
    the largest error relative to max |S|. 1 on any failure (also used by
    itemknn_ref.py)."""
    scale = max(float(np.abs(S).max()), 1e-30)
    ic = {i: n for n, i in enumerate(items)}
    cands = {}
    with open(cands_path, encoding="utf-8") as f:
        next(f)
        for line in f:
            u, i, r, x = line.rstrip("\n").split("\t")
            cands.setdefault(u, []).append((i, r, x))
    errs, worst = [], 0.0
    if list(cands) != users:
        errs.append("users differ from the events' users in order of first appearance")
    for n, u in enumerate(users):
        seen = X[n] > 0 if excl else np.zeros(len(items), dtype=bool)
        e, w = check_user(u, cands.get(u, []), S[n], seen, k, rel * scale, items, ic)
        errs += e
        worst = max(worst, w)
    print(f"max score error {worst / scale:.3g} of max |score| {scale:.6g} over {len(users)} users")
    for e in errs[:10]:
        print(e)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
