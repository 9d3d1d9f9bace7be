#!/usr/bin/env python3
"""Scores user/item embeddings (TSV: id, v1..vd) on the bench protocol:
every user's top 20 items not in their train set, recall@20 and NDCG@10
averaged over users with test items. Usage: eval.py TRAIN TEST USERS ITEMS"""
import csv
import sys

import numpy as np


def emb(path):
    ids, vecs = [], []
    with open(path) as f:
        next(f)
        for line in f:
            p = line.rstrip("\n").split("\t")
            ids.append(p[0])
            vecs.append([float(x) for x in p[1:]])
    return ids, np.array(vecs, dtype=np.float32)


def pairs(path):
    out = {}
    with open(path) as f:
        for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            out.setdefault(r["user_id"], set()).add(r["item_id"])
    return out


def metrics(train, test, uids, U, iids, V):
    """Mean recall@20 and NDCG@10 over the test users, scores U @ V.T."""
    col = {i: k for k, i in enumerate(iids)}
    urow = {u: k for k, u in enumerate(uids)}
    S = U @ V.T
    rec, ndcg = [], []
    disc = 1 / np.log2(np.arange(2, 22))
    for u, rel in test.items():
        s = S[urow[u]].copy()
        for i in train.get(u, ()):
            s[col[i]] = -np.inf
        top = np.argsort(-s, kind="stable")[:20]
        hit = np.array([iids[k] in rel for k in top], dtype=float)
        rec.append(hit.sum() / len(rel))
        idcg = disc[:min(len(rel), 10)].sum()
        ndcg.append((hit[:10] * disc[:10]).sum() / idcg)
    return np.mean(rec), np.mean(ndcg), len(rec)


def main():
    train, test = pairs(sys.argv[1]), pairs(sys.argv[2])
    rec, ndcg, n = metrics(train, test, *emb(sys.argv[3]), *emb(sys.argv[4]))
    print(f"recall@20\t{rec:.4f}\nndcg@10\t{ndcg:.4f}\nusers\t{n}")


if __name__ == "__main__":
    main()
