#!/usr/bin/env python3
"""Independent numpy implementation of rs-metrics' figures (schemas/metrics.md),
written from the definitions with whole-matrix operations (no per-cutoff
incremental sums, brute-force pairwise diversity), to check lib/eval/metrics.c and
lib/eval/eval.c.

Usage: reference.py baselines OUT train.tsv test.tsv items.tsv
         writes OUT/pop.tsv and OUT/random.tsv (100 items per user, items the
         user saw in train excluded; popularity = distinct training users,
         ties by item id) and OUT/emb.tsv (16-dim random item vectors)
       reference.py metrics KS train.tsv test.tsv items.tsv emb.tsv PRED.tsv
         prints metric, k, value for one prediction file (rank column)
"""
import sys

import numpy as np


def read_tsv(path):
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        rows = [line.rstrip("\n").split("\t") for line in f]
    return head, rows


def cols(path, *names):
    head, rows = read_tsv(path)
    idx = [head.index(n) for n in names]
    return [[r[i] for r in rows] for i in idx]


def baselines(out, train, test, items):
    tu, ti = cols(train, "user_id", "item_id")
    (all_items,) = cols(items, "item_id")
    users = sorted(set(cols(test, "user_id")[0]), key=int)
    pairs = set(zip(tu, ti))
    pop = {}
    for u, i in pairs:
        pop[i] = pop.get(i, 0) + 1
    order = sorted(pop, key=lambda i: (-pop[i], i))
    seen = {}
    for u, i in pairs:
        seen.setdefault(u, set()).add(i)
    rng = np.random.default_rng(42)
    with open(f"{out}/pop.tsv", "w") as fp, open(f"{out}/random.tsv", "w") as fr:
        fp.write("user_id\titem_id\trank\tscore\n")
        fr.write("user_id\titem_id\trank\tscore\n")
        for u in users:
            s = seen.get(u, set())
            top = [i for i in order if i not in s][:100]
            for r, i in enumerate(top):
                fp.write(f"{u}\t{i}\t{r + 1}\t{pop[i]}\n")
            cand = np.array([i for i in all_items if i not in s])
            pick = rng.choice(len(cand), size=min(100, len(cand)), replace=False)
            for r, j in enumerate(pick):
                fr.write(f"{u}\t{cand[j]}\t{r + 1}\t{100 - r}\n")
    vec = rng.standard_normal((len(all_items), 16)).astype(np.float32)
    with open(f"{out}/emb.tsv", "w") as f:
        f.write("id\t" + "\t".join(f"v{j + 1}" for j in range(16)) + "\n")
        for i, v in zip(all_items, vec):
            f.write(i + "\t" + "\t".join("%.9g" % x for x in v) + "\n")


def metrics(ks, train, test, items, emb, pred):
    ks = [int(k) for k in ks.split(",")]
    kmax = max(ks)
    # truth: user -> {item: gain}; duplicate pairs keep the largest rating
    truth = {}
    for u, i, w in zip(*cols(test, "user_id", "item_id", "weight")):
        d = truth.setdefault(u, {})
        d[i] = max(d.get(i, 0.0), float(w))
    users = sorted(truth)
    # predictions: rank ascending, ties by item id (bytes), duplicates once
    lists = {}
    for u, i, r in zip(*cols(pred, "user_id", "item_id", "rank")):
        lists.setdefault(u, []).append((float(r), i.encode(), i))
    P = []
    for u in users:
        seen, row = set(), []
        for _, _, i in sorted(lists.get(u, [])):
            if i not in seen:
                seen.add(i)
                row.append(i)
        P.append(row[:kmax] + [None] * (kmax - len(row[:kmax])))
    P = np.array(P, dtype=object)
    valid = P != None  # noqa: E711
    H = np.array([[p in truth[u] for p in row] for u, row in zip(users, P)], dtype=float)
    G = np.array([[truth[u].get(p, 0.0) for p in row] for u, row in zip(users, P)])
    nT = np.array([len(truth[u]) for u in users], dtype=float)
    ideal = np.zeros((len(users), kmax))
    for n, u in enumerate(users):
        g = sorted(truth[u].values(), reverse=True)[:kmax]
        ideal[n, : len(g)] = g
    disc = 1.0 / np.log2(np.arange(2, kmax + 2))
    out = []

    def emit(name, k, v):
        out.append((name, k, v))

    emit("users", "", len(users))
    acc = {}
    for k in ks:
        Hk, Gk = H[:, :k], G[:, :k]
        h = Hk.sum(1)
        m = np.minimum(k, nT).astype(int)
        idcg = np.cumsum(disc)[m - 1]
        gidcg = (ideal[:, :k] * disc[:k]).sum(1)
        cum = np.cumsum(Hk, 1)
        first = np.where(h > 0, np.argmax(Hk, 1) + 1, np.inf)
        acc[k] = {
            "precision": h / k,
            "recall": h / nT,
            "ndcg": (Hk * disc[:k]).sum(1) / idcg,
            "ndcg_graded": np.where(gidcg > 0, (Gk * disc[:k]).sum(1) / np.where(gidcg > 0, gidcg, 1), 0),
            "map": (cum / np.arange(1, k + 1) * Hk).sum(1) / m,
            "mrr": 1.0 / first,
            "hit_rate": (h > 0).astype(float),
        }
    for name in ["precision", "recall", "ndcg", "ndcg_graded", "map", "mrr", "hit_rate"]:
        for k in ks:
            emit(name, k, acc[k][name].mean())

    tu, ti = cols(train, "user_id", "item_id")
    pairs = set(zip(tu, ti))
    ntrain_users = len({u for u, _ in pairs})
    cnt = {}
    for _, i in pairs:
        cnt[i] = cnt.get(i, 0) + 1
    nov = {i: -np.log2(c / ntrain_users) for i, c in cnt.items()}
    for k in ks:
        vals = [nov[p] for p in P[:, :k][valid[:, :k]] if p in nov]
        emit("novelty", k, np.mean(vals))
    recs = {k: np.array(P[:, :k][valid[:, :k]], dtype=str) for k in ks}
    for k in ks:
        emit("catalog_coverage", k, len(set(recs[k]) & set(cnt)) / len(cnt))
    for k in ks:
        _, c = np.unique(recs[k], return_counts=True)
        p = c / c.sum()
        emit("distributional_coverage", k, -(p * np.log2(p)).sum())
    for k in ks:
        rc = dict(zip(*np.unique(recs[k], return_counts=True)))
        universe = set(cnt) | set(rc)
        c = np.sort(np.array([rc.get(i, 0) for i in universe], dtype=float))
        n = len(c)
        j = np.arange(1, n + 1)
        emit("gini", k, ((2 * j - n - 1) * c).sum() / c.sum() / (n - 1))

    cat = dict(zip(*cols(items, "item_id", "genres")))
    head, rows = read_tsv(emb)
    E = {r[0]: np.array([float(x) for x in r[1:]], dtype=np.float32).astype(np.float64) for r in rows}
    for name in ["ild_category", "ild_embedding"]:
        for k in ks:
            per_user = []
            for row in P[:, :k]:
                its = [p for p in row if p is not None]
                if name == "ild_category":
                    c = np.array([cat[p] for p in its if cat.get(p, "") != ""], dtype=object)
                    if len(c) < 2:
                        continue
                    S = (c[:, None] == c[None, :]).astype(float)
                else:
                    V = np.array([E[p] for p in its if p in E and np.any(E[p] != 0)])
                    if len(V) < 2:
                        continue
                    V = V / np.linalg.norm(V, axis=1, keepdims=True)
                    S = V @ V.T
                iu = np.triu_indices(len(S), 1)
                per_user.append((1 - S[iu]).mean())
            emit(name, k, np.mean(per_user) if per_user else float("nan"))
    for name, k, v in out:
        print(f"{name}\t{k}\t{v:.17g}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "baselines" and len(sys.argv) == 6:
        baselines(*sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "metrics" and len(sys.argv) == 8:
        metrics(*sys.argv[2:])
    else:
        sys.exit(__doc__)
