#!/usr/bin/env python3
"""xgb.py CONFIG DIR THREADS - the XGBoost side of bench/rank: one binary
classifier per head (click, booking), tree_method hist, on the same rows and
feature columns as rs-rank (the numeric and categorical features of the
rs-rank CONFIG; crosses and interactions are left to the trees).
Categoricals are ordinal codes fitted on train (unseen values: missing);
early stopping on DIR/valid.tsv (20 rounds); AUC on DIR/test.tsv.
Prints: head, test AUC, test log loss, training seconds (encoding counted
once, with the click head), rounds, training CPU seconds (all threads)."""
import json
import sys
import time

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import log_loss, roc_auc_score


def name(f):
    return f if isinstance(f, str) else f["name"]


def main():
    cfg = json.load(open(sys.argv[1]))
    d, threads = sys.argv[2], int(sys.argv[3])
    num = [name(f) for f in cfg.get("numeric", [])]
    cat = [name(f) for f in cfg.get("categorical", [])]
    read = lambda s: pd.read_csv(f"{d}/{s}.tsv", sep="\t", dtype={c: str for c in cat},
                                 keep_default_na=False, na_values={c: [""] for c in num})
    tr, va, te = read("train"), read("valid"), read("test")
    t0, c0 = time.time(), time.process_time()
    codes = {c: {v: k for k, v in enumerate(pd.unique(tr[c]))} for c in cat}

    def matrix(df):
        x = np.empty((len(df), len(num) + len(cat)), dtype=np.float32)
        for j, c in enumerate(num):
            x[:, j] = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=np.float32)
        for j, c in enumerate(cat):
            x[:, len(num) + j] = df[c].map(codes[c]).astype("float32").to_numpy()
        return x

    xtr, xva, xte = matrix(tr), matrix(va), matrix(te)
    prep, prep_cpu = time.time() - t0, time.process_time() - c0
    for head in ("click", "booking"):
        t0, c0 = time.time(), time.process_time()
        m = xgb.XGBClassifier(tree_method="hist", n_estimators=500, learning_rate=0.1, max_depth=8,
                              min_child_weight=1, subsample=1.0, n_jobs=threads, random_state=42,
                              eval_metric="logloss", early_stopping_rounds=20)
        m.fit(xtr, tr[head].to_numpy(), eval_set=[(xva, va[head].to_numpy())], verbose=False)
        secs = time.time() - t0 + (prep if head == "click" else 0)
        cpu = time.process_time() - c0 + (prep_cpu if head == "click" else 0)
        p = m.predict_proba(xte, iteration_range=(0, m.best_iteration + 1))[:, 1]
        y = te[head].to_numpy()
        print(f"{head}\t{roc_auc_score(y, p):.4f}\t{log_loss(y, p):.5f}\t{secs:.1f}\t{m.best_iteration + 1}"
              f"\t{cpu:.1f}")


if __name__ == "__main__":
    main()
