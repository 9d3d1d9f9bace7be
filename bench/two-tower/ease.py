#!/usr/bin/env python3
"""EASE (Steck, "Embarrassingly Shallow Autoencoders", WWW 2019) on the bench
split: the issue's reference point for the two-tower model. X = users x items
of train (binary), P = (X'X + lambda I)^-1, B = I - P diag(1/diag(P)) (zero
diagonal), scores X B; scored like the towers by eval.py (U = X, V = B').
lambda = 500, the paper's value, not tuned on the test part.
Usage: ease.py TRAIN TEST [LAMBDA]"""
import sys

import numpy as np

from eval import metrics, pairs


def main():
    train, test = pairs(sys.argv[1]), pairs(sys.argv[2])
    lam = float(sys.argv[3]) if len(sys.argv) > 3 else 500.0
    uids = sorted(set(train) | set(test))
    iids = sorted({i for s in train.values() for i in s} | {i for s in test.values() for i in s})
    col = {i: k for k, i in enumerate(iids)}
    X = np.zeros((len(uids), len(iids)))
    for r, u in enumerate(uids):
        for i in train.get(u, ()):
            X[r, col[i]] = 1
    P = np.linalg.inv(X.T @ X + lam * np.eye(len(iids)))
    B = -P / np.diag(P)
    np.fill_diagonal(B, 0)
    rec, ndcg, n = metrics(train, test, uids, X, iids, B.T)
    print(f"recall@20\t{rec:.4f}\nndcg@10\t{ndcg:.4f}\nusers\t{n}\nlambda\t{lam:g}")


if __name__ == "__main__":
    main()
