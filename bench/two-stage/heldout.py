#!/usr/bin/env python3
"""heldout.py HOLD.tsv NAME=SCORES.tsv... - every ranker's figures on the
held-out labelled rows of bench/two-stage, computed by the same code.

HOLD.tsv: rs-label's rows of the held-out users (click, booking columns).
SCORES.tsv: user_id, item_id, score for those rows (any order; rs-rank
score's output or gbdt.py's NAME.holdout.tsv).

A row is relevant when click or booking is 1 (as in rs-rank eval). Prints,
per ranker (TSV): name, AUC over all rows (ties count half), gAUC (the mean
over users with both classes of the user's AUC), NDCG@10 over each user's
rows in score order (ties: input order; binary gain; the ideal from the
user's relevant rows; users with a relevant row), its standard error (the
per-user values' standard deviation over the square root of their number)
and the number of those users.
"""
import sys

import numpy as np
import pandas as pd


def auc(y, s):
    y = np.asarray(y, dtype=bool)
    npos, nneg = y.sum(), (~y).sum()
    if npos == 0 or nneg == 0:
        return np.nan
    r = pd.Series(s).rank(method="average").to_numpy()
    return (r[y].sum() - npos * (npos + 1) / 2) / (npos * nneg)


def ndcg10(y, s):
    order = np.argsort(-np.asarray(s, dtype=float), kind="stable")[:10]
    disc = 1 / np.log2(np.arange(2, 12))
    dcg = (np.asarray(y, dtype=float)[order] * disc[:len(order)]).sum()
    idcg = disc[:min(10, int(np.sum(y)))].sum()
    return dcg / idcg


def main():
    hold = pd.read_csv(sys.argv[1], sep="\t", dtype={"user_id": str, "item_id": str})
    hold["y"] = (hold["click"] > 0) | (hold.get("booking", 0) > 0)
    print("ranker\tauc\tgauc\tndcg10\tndcg10_se\tusers")
    for arg in sys.argv[2:]:
        name, path = arg.split("=", 1)
        s = pd.read_csv(path, sep="\t", dtype={"user_id": str, "item_id": str})[["user_id", "item_id", "score"]]
        d = hold[["user_id", "item_id", "y"]].merge(s, on=["user_id", "item_id"], how="left", validate="1:1")
        if d["score"].isna().any():
            sys.exit(f"heldout.py: {path} lacks {int(d['score'].isna().sum())} held-out rows")
        g_auc, g_ndcg = [], []
        for _, u in d.groupby("user_id", sort=False):
            a = auc(u["y"], u["score"])
            if not np.isnan(a):
                g_auc.append(a)
            if u["y"].any():
                g_ndcg.append(ndcg10(u["y"].to_numpy(), u["score"].to_numpy()))
        se = np.std(g_ndcg, ddof=1) / np.sqrt(len(g_ndcg)) if len(g_ndcg) > 1 else np.nan
        print(f"{name}\t{auc(d['y'], d['score']):.4f}\t{np.mean(g_auc):.4f}\t{np.mean(g_ndcg):.4f}\t{se:.4f}"
              f"\t{len(g_ndcg)}")


if __name__ == "__main__":
    main()
