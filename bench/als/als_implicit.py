#!/usr/bin/env python3
"""The `implicit` library's ALS (CPU, conjugate gradient) on the same split,
for comparison with rs-als; optional (run only when implicit is importable).
implicit uses the stored value as the confidence c itself, so the matrix
holds c = 1 + alpha * count (alpha=1.0 in implicit) to match rs-als.

Usage: als_implicit.py TRAIN.tsv CANDIDATES.tsv [--factors 64] [--lambda 0.1]
       [--alpha 20] [--iterations 15] [--k 20] [--threads 1] [--seed 1]
Prints "seconds_per_iteration\tVALUE"."""
import argparse
import time

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("candidates")
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--lambda", dest="lam", type=float, default=0.1)
    ap.add_argument("--alpha", type=float, default=20.0)
    ap.add_argument("--iterations", type=int, default=15)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    users, items, count = {}, {}, {}
    with open(a.train) as f:
        head = f.readline().rstrip("\n").split("\t")
        ui, ii = head.index("user_id"), head.index("item_id")
        for line in f:
            p = line.rstrip("\n").split("\t")
            key = (users.setdefault(p[ui], len(users)), items.setdefault(p[ii], len(items)))
            count[key] = count.get(key, 0) + 1
    rows = np.array([u for u, _ in count]), np.array([i for _, i in count])
    conf = 1.0 + a.alpha * np.array(list(count.values()), dtype=np.float32)
    m = sp.csr_matrix((conf, rows), shape=(len(users), len(items)), dtype=np.float32)
    model = AlternatingLeastSquares(factors=a.factors, regularization=a.lam, alpha=1.0,
                                    iterations=a.iterations, num_threads=a.threads,
                                    random_state=a.seed)
    t0 = time.perf_counter()
    model.fit(m, show_progress=False)
    secs = (time.perf_counter() - t0) / a.iterations
    ids, _ = model.recommend(np.arange(len(users)), m, N=a.k, filter_already_liked_items=True)
    uname = {v: k for k, v in users.items()}
    iname = {v: k for k, v in items.items()}
    with open(a.candidates, "w") as o:
        o.write("user_id\titem_id\trank\n")
        for u in range(len(users)):
            for r, i in enumerate(ids[u], 1):
                o.write(f"{uname[u]}\t{iname[int(i)]}\t{r}\n")
    print(f"seconds_per_iteration\t{secs:.6f}")


if __name__ == "__main__":
    main()
