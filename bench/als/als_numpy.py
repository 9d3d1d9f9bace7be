#!/usr/bin/env python3
"""An independent reference for rs-als: implicit ALS (Hu, Koren & Volinsky
2008) in plain numpy with EXACT per-row solves (np.linalg.solve), written
from the paper, not from lib/model/als.c.

  c_ui = 1 + alpha * r_ui (r = number of events for the pair), p_ui = 1 if r_ui > 0
  x_u = (YᵀY + Yᵀ(C_u − I)Y + λI)⁻¹ Yᵀ C_u p_u, then the same for every item.

Reads a train events TSV (user_id, item_id, ...), trains, and writes the top
K unseen items per user as candidates TSV (user_id, item_id, rank, score)
plus a log TSV (iteration, loss, seconds).

Usage: als_numpy.py TRAIN.tsv CANDIDATES.tsv LOG.tsv [--factors 64]
       [--lambda 0.1] [--alpha 20] [--iterations 15] [--k 20] [--seed 0]
"""
import argparse
import time

import numpy as np


def load(path):
    users, items, pairs = {}, {}, {}
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        ui, ii = head.index("user_id"), head.index("item_id")
        for line in f:
            p = line.rstrip("\n").split("\t")
            u = users.setdefault(p[ui], len(users))
            i = items.setdefault(p[ii], len(items))
            pairs[(u, i)] = pairs.get((u, i), 0) + 1
    return users, items, pairs


def rows_of(pairs, n, by_user):
    idx = [[] for _ in range(n)]
    val = [[] for _ in range(n)]
    for (u, i), r in sorted(pairs.items()):
        k, o = (u, i) if by_user else (i, u)
        idx[k].append(o)
        val[k].append(r)
    return [np.array(a, dtype=np.int64) for a in idx], [np.array(v, dtype=np.float64) for v in val]


def solve(fixed, idx, conf, lam):
    f = fixed.shape[1]
    g = fixed.T @ fixed + lam * np.eye(f)
    out = np.empty((len(idx), f))
    for k, (ix, c) in enumerate(zip(idx, conf)):
        yu = fixed[ix]
        a = g + (yu.T * (c - 1.0)) @ yu
        out[k] = np.linalg.solve(a, yu.T @ c)
    return out


def loss(x, y, pairs_u, pairs_i, conf, lam):
    s = x @ y.T
    c = np.ones_like(s)
    p = np.zeros_like(s)
    c[pairs_u, pairs_i] = conf
    p[pairs_u, pairs_i] = 1.0
    return float((c * (p - s) ** 2).sum() + lam * ((x ** 2).sum() + (y ** 2).sum()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("candidates")
    ap.add_argument("log")
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--lambda", dest="lam", type=float, default=0.1)
    ap.add_argument("--alpha", type=float, default=20.0)
    ap.add_argument("--iterations", type=int, default=15)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    users, items, pairs = load(a.train)
    nu, ni = len(users), len(items)
    uidx, uval = rows_of(pairs, nu, True)
    iidx, ival = rows_of(pairs, ni, False)
    uconf = [1.0 + a.alpha * v for v in uval]
    iconf = [1.0 + a.alpha * v for v in ival]
    keys = sorted(pairs)
    pu = np.array([u for u, _ in keys])
    pi = np.array([i for _, i in keys])
    pc = 1.0 + a.alpha * np.array([pairs[k] for k in keys], dtype=np.float64)

    rng = np.random.default_rng(a.seed)
    x = 0.01 * rng.standard_normal((nu, a.factors))
    y = 0.01 * rng.standard_normal((ni, a.factors))
    with open(a.log, "w") as lf:
        lf.write("iteration\tloss\tseconds\n")
        for it in range(1, a.iterations + 1):
            t0 = time.perf_counter()
            x = solve(y, uidx, uconf, a.lam)
            y = solve(x, iidx, iconf, a.lam)
            secs = time.perf_counter() - t0
            lf.write(f"{it}\t{loss(x, y, pu, pi, pc, a.lam):.9g}\t{secs:.6f}\n")

    s = x @ y.T
    s[pu, pi] = -np.inf
    uname = {v: k for k, v in users.items()}
    iname = {v: k for k, v in items.items()}
    with open(a.candidates, "w") as o:
        o.write("user_id\titem_id\trank\tscore\n")
        for u in range(nu):
            top = np.argsort(-s[u], kind="stable")[: a.k]
            for r, i in enumerate(top, 1):
                o.write(f"{uname[u]}\t{iname[i]}\t{r}\t{s[u, i]:.9g}\n")


if __name__ == "__main__":
    main()
