#!/usr/bin/env python3
"""gbdt.py - the LightGBM and XGBoost side of bench/two-stage: learning-to-rank
models trained on exactly what rs-rank trains on.

    gbdt.py --config RANK.json --users UF.tsv --items IF.tsv
            [--user-emb U.tsv --item-emb I.tsv]
            --fit FIT.tsv --valid VALID.tsv --holdout HOLD.tsv --test CANDS.tsv
            --out DIR [--threads N] [--keep N] [--models lightgbm,xgboost]

Inputs (plain TSV, the bench decompresses them):
  FIT, VALID, HOLD  rs-label's rows (candidate columns, then click and booking),
                    cut by user: the same files rs-rank train/score reads
  CANDS             the test window's merged candidates
  UF, IF            the feature tables rs-rank joins (--users, --items)
  U, I              rs-cat's TSV of rs-embed's RSB files, when rs-rank gets
                    --user-emb/--item-emb: tower_score is then their dot product
                    for every row, as rs-rank computes it

Features: the numeric and categorical columns of the rs-rank CONFIG, looked
up as rs-rank does (the row, then the items table on item_id, then the users
table on user_id; tower_score from the embeddings when given). Numerics as
they are (log1p and standardisation change nothing for trees; empty =
missing); categoricals as pandas categories over the values of the FIT rows
(others missing), LightGBM's and XGBoost's native categorical splits.
Crosses and interactions are left to the trees.

Label: relevance = click + booking (0, 1, 2), rs-rank's score being
p_click + p_booking; group = user (rows of a user are contiguous).
LightGBM: objective lambdarank; XGBoost: rank:ndcg, tree_method hist; both
learning rate 0.05, at most 1000 trees, early stopping (50 rounds) on
NDCG@10 of VALID, THREADS threads.

Writes DIR/NAME.holdout.tsv (user_id, item_id, score: HOLD's rows in order),
DIR/NAME.test.tsv (user_id, item_id, rank, score: the best KEEP per user) and
prints one line per model: name, training wall seconds, training CPU seconds
(all threads), trees. Training time counts building the matrices (reading,
joining, encoding the FIT and VALID rows) and boosting: what rs-rank train's
time covers (it reads, joins and encodes too).
"""
import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd


def names(cfg, key):
    return [f if isinstance(f, str) else f["name"] for f in cfg.get(key, [])]


def read_tsv(path):
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_values=[""])


def read_emb(path):
    df = pd.read_csv(path, sep="\t", dtype={"id": str})
    return dict(zip(df["id"], range(len(df)))), df.drop(columns="id").to_numpy(dtype=np.float32)


class Features:
    """The CONFIG's feature columns for any rows, as rs-rank finds them."""

    def __init__(self, args):
        cfg = json.load(open(args.config))
        self.num, self.cat = names(cfg, "numeric"), names(cfg, "categorical")
        self.users, self.items = read_tsv(args.users), read_tsv(args.items)
        self.emb = None
        if args.user_emb and args.item_emb:
            self.emb = (read_emb(args.user_emb), read_emb(args.item_emb))
        self.codes = None

    def column(self, rows, name):
        if name == "tower_score" and self.emb is not None:
            (uidx, uv), (iidx, iv) = self.emb
            u = rows["user_id"].map(uidx)
            i = rows["item_id"].map(iidx)
            ok = (u.notna() & i.notna()).to_numpy()
            out = np.full(len(rows), np.nan, dtype=np.float32)
            ui, ii = u[ok].astype(int).to_numpy(), i[ok].astype(int).to_numpy()
            out[ok] = np.einsum("ij,ij->i", uv[ui], iv[ii])
            return pd.Series(out, index=rows.index)
        if name in rows.columns:
            return rows[name]
        for table, key in ((self.items, "item_id"), (self.users, "user_id")):
            if name in table.columns:
                m = table.drop_duplicates(key).set_index(key)[name]
                return rows[key].map(m)
        sys.exit(f"gbdt.py: feature '{name}' is in no input (rows, --items, --users)")

    def matrix(self, rows):
        x = pd.DataFrame(index=rows.index)
        for c in self.num:
            x[c] = pd.to_numeric(self.column(rows, c), errors="coerce").astype("float32")
        cats = {c: self.column(rows, c) for c in self.cat}
        if self.codes is None:  # fitted on the first rows seen: FIT
            self.codes = {c: sorted(v.dropna().unique()) for c, v in cats.items()}
        for c, v in cats.items():
            x[c] = pd.Categorical(v.where(v.isin(self.codes[c])), categories=self.codes[c])
        return x


def groups(rows):
    """Sizes of the runs of equal user_id (rows of a user are contiguous)."""
    u = rows["user_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
    return np.diff(np.r_[starts, len(u)])


def relevance(rows):
    return (pd.to_numeric(rows["click"]) + pd.to_numeric(rows.get("booking", 0))).to_numpy()


def lightgbm_model(threads):
    import lightgbm as lgb
    m = lgb.LGBMRanker(objective="lambdarank", n_estimators=1000, learning_rate=0.05, num_leaves=31,
                       min_child_samples=20, n_jobs=threads, random_state=42, verbose=-1)

    def fit(x, y, g, xv, yv, gv):
        with warnings.catch_warnings():  # 4.7 renames eval_set; older versions lack the new names
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            m.fit(x, y, group=g, eval_set=[(xv, yv)], eval_group=[gv], eval_at=[10],
                  callbacks=[lgb.early_stopping(50, verbose=False)])
        return m.best_iteration_ or m.n_estimators
    return m, fit


def xgboost_model(threads):
    import xgboost as xgb
    m = xgb.XGBRanker(objective="rank:ndcg", tree_method="hist", n_estimators=1000, learning_rate=0.05,
                      max_depth=6, n_jobs=threads, random_state=42, eval_metric="ndcg@10",
                      early_stopping_rounds=50, enable_categorical=True)

    def fit(x, y, g, xv, yv, gv):
        qid = np.repeat(np.arange(len(g)), g)
        qv = np.repeat(np.arange(len(gv)), gv)
        m.fit(x, y, qid=qid, eval_set=[(xv, yv)], eval_qid=[qv], verbose=False)
        return m.best_iteration + 1
    return m, fit


MODELS = {"lightgbm": lightgbm_model, "xgboost": xgboost_model}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for a in ("config", "users", "items", "fit", "valid", "holdout", "test", "out"):
        p.add_argument("--" + a, required=True)
    p.add_argument("--user-emb")
    p.add_argument("--item-emb")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--keep", type=int, default=100)
    p.add_argument("--models", default="lightgbm,xgboost")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in args.models.split(","):
        t0, c0 = time.time(), time.process_time()
        feats = Features(args)
        fit_rows, valid_rows = read_tsv(args.fit), read_tsv(args.valid)
        x, xv = feats.matrix(fit_rows), feats.matrix(valid_rows)
        model, fit = MODELS[name](args.threads)
        trees = fit(x, relevance(fit_rows), groups(fit_rows), xv, relevance(valid_rows), groups(valid_rows))
        wall, cpu = time.time() - t0, time.process_time() - c0

        hold = read_tsv(args.holdout)
        pd.DataFrame({"user_id": hold["user_id"], "item_id": hold["item_id"],
                      "score": model.predict(feats.matrix(hold))}).to_csv(
            os.path.join(args.out, name + ".holdout.tsv"), sep="\t", index=False, float_format="%.9g")
        cands = read_tsv(args.test)
        test = cands[["user_id", "item_id"]].copy()
        test["score"] = model.predict(feats.matrix(cands))
        test["order"] = np.arange(len(test))
        test["first"] = test.groupby("user_id", sort=False)["order"].transform("min")
        test = test.sort_values(["first", "score", "order"], ascending=[True, False, True], kind="stable")
        test["rank"] = test.groupby("user_id", sort=False).cumcount() + 1
        test = test[test["rank"] <= args.keep]
        test[["user_id", "item_id", "rank", "score"]].to_csv(
            os.path.join(args.out, name + ".test.tsv"), sep="\t", index=False, float_format="%.9g")
        print(f"{name}\t{wall:.2f}\t{cpu:.2f}\t{trees}", flush=True)


if __name__ == "__main__":
    main()
