#!/usr/bin/env python3
"""PyTorch reference for bench/two-tower: the same two-tower model as
rs-train-tower with examples/ml100k-tower.json, the same hyper-parameters.

Towers (features in name order, as lib/model/tower.c concatenates them):
  user: age (numeric, standardised) | gender (emb 4) | history (mean, or
        with --pooling attention the attention-weighted sum, of the last 50
        train items' item_id embeddings, shared table) | occupation
        (emb 8) | user_id (emb 64)  -> Dense(128, ReLU) -> Dense(64) -> L2
  item: genres (mean of emb 8) | item_id (emb 64) | title (mean of hashed word
        and bigram emb 16, 4096 buckets, XXH3 like the C code) -> same head
Vocabulary id 0 = unknown/missing, a zero-initialised row. Loss: in-batch
softmax, logits u.v/tau - log q(item), in-batch duplicates of the positive
masked; feature dropout zeroes user_id and history for a fraction of each
batch. Adam for dense weights, lazy (sparse) Adam for the tables, cosine
decay over all steps. Writes user and item embeddings as TSV and prints
training examples/s.

Usage: torch_ref.py DATA_DIR OUT_DIR [--threads 2 --epochs 12 --batch 512 ...]
"""
import argparse
import csv
import math
import os
import random
import re
import time

import numpy as np
import torch
import torch.nn.functional as F
import xxhash

WORD = re.compile(rb"[0-9A-Za-z\x80-\xff]+")


def text_ids(s, buckets):
    words = [w.lower() for w in WORD.findall(s.encode())][:256]
    ids = [xxhash.xxh3_64_intdigest(w) % buckets for w in words]
    ids += [xxhash.xxh3_64_intdigest(a + b" " + b) % buckets for a, b in zip(words, words[1:])]
    return ids


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def vocab(values):
    """Ids 1..V by descending count, ties by value (as lib/io/vocab); 0 = unknown."""
    cnt = {}
    for v in values:
        if v:
            cnt[v] = cnt.get(v, 0) + 1
    order = sorted(cnt, key=lambda v: (-cnt[v], v.encode()))
    return {v: k + 1 for k, v in enumerate(order)}


def bag(lists):
    ids = [i for l in lists for i in l]
    offs = np.cumsum([0] + [len(l) for l in lists[:-1]])
    return torch.tensor(ids, dtype=torch.long), torch.tensor(offs, dtype=torch.long), [len(l) for l in lists]


class Tower(torch.nn.Module):
    def __init__(self, din, d):
        super().__init__()
        self.l1 = torch.nn.Linear(din, 2 * d)
        self.l2 = torch.nn.Linear(2 * d, d)
        torch.nn.init.kaiming_uniform_(self.l1.weight, nonlinearity="relu")
        torch.nn.init.xavier_uniform_(self.l2.weight)
        torch.nn.init.zeros_(self.l1.bias)
        torch.nn.init.zeros_(self.l2.bias)

    def forward(self, x):
        return F.normalize(self.l2(F.relu(self.l1(x))), dim=1)


def emb(n, d):
    w = torch.nn.Parameter(torch.randn(n, d) / math.sqrt(d))
    with torch.no_grad():
        w[0].zero_()
    return w


def mean_bag(table, lists):
    """Mean of each list's rows (an empty list gives zeros)."""
    ids, offs, lens = bag(lists)
    if len(ids) == 0:
        return torch.zeros(len(lists), table.shape[1])
    return F.embedding_bag(ids, table, offs, mode="mean", sparse=True)


def attn_bag(table, lists, q):
    """Attention pooling: softmax_j(q.e_j / sqrt(d)) weights over each list's
    rows (lib/nn/nn.c rs_attn_pool_forward with a shared query); empty: zeros."""
    L = max(1, max(len(l) for l in lists))
    ids = torch.zeros(len(lists), L, dtype=torch.long)
    mask = torch.zeros(len(lists), L, dtype=torch.bool)
    for b, l in enumerate(lists):
        ids[b, :len(l)] = torch.tensor(l, dtype=torch.long)
        mask[b, :len(l)] = True
    e = F.embedding(ids, table, sparse=True)
    s = (e @ q / math.sqrt(table.shape[1])).masked_fill(~mask, float("-inf"))
    s = s.masked_fill(~mask.any(1, keepdim=True), 0.0)  # empty lists: no NaN
    alpha = torch.softmax(s, dim=1) * mask
    return (alpha[:, :, None] * e).sum(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--tau", type=float, default=0.05)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--pooling", choices=("mean", "attention"), default="mean", help="of the history")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rnd = random.Random(a.seed)
    d = a.d

    train = read(os.path.join(a.data, "train.tsv"))
    users = read(os.path.join(a.out, "users.tsv"))
    items = read(os.path.join(a.data, "items.tsv"))
    tu = {r["user_id"] for r in train}
    ti = {r["item_id"] for r in train}
    uvoc = vocab([r["user_id"] for r in users if r["user_id"] in tu])
    gvoc = vocab([r["gender"] for r in users if r["user_id"] in tu])
    ovoc = vocab([r["occupation"] for r in users if r["user_id"] in tu])
    ivoc = vocab([r["item_id"] for r in items if r["item_id"] in ti])
    genvoc = vocab([g for r in items if r["item_id"] in ti for g in r["genres"].split(",") if g])
    ages = np.array([float(r["age"]) for r in users if r["user_id"] in tu])
    amean, astd = ages.mean(), ages.std()

    urow = {r["user_id"]: k for k, r in enumerate(users)}
    irow = {r["item_id"]: k for k, r in enumerate(items)}
    U_age = torch.tensor([(float(r["age"]) - amean) / astd for r in users], dtype=torch.float32)[:, None]
    U_gender = [[gvoc.get(r["gender"], 0)] for r in users]
    U_occ = [[ovoc.get(r["occupation"], 0)] for r in users]
    U_id = [[uvoc.get(r["user_id"], 0)] for r in users]
    U_hist = [[ivoc.get(x, 0) for x in r["history"].split(",") if x][-50:] for r in users]
    I_gen = [[genvoc.get(g, 0) for g in r["genres"].split(",") if g] for r in items]
    I_id = [[ivoc.get(r["item_id"], 0)] for r in items]
    I_title = [text_ids(r["title"], 4096) for r in items]

    T_item = emb(len(ivoc) + 1, 64)
    T_user = emb(len(uvoc) + 1, 64)
    T_gender = emb(len(gvoc) + 1, 4)
    T_occ = emb(len(ovoc) + 1, 8)
    T_genre = emb(len(genvoc) + 1, 8)
    T_title = torch.nn.Parameter(torch.randn(4096, 16) / 4.0)
    user_tower = Tower(1 + 4 + 64 + 8 + 64, d)
    item_tower = Tower(8 + 64 + 16, d)
    tables = [T_item, T_user, T_gender, T_occ, T_genre, T_title]
    dense = list(user_tower.parameters()) + list(item_tower.parameters())
    query = torch.nn.Parameter(torch.zeros(64))  # zero: training starts from the mean, as lib/model/tower.c
    if a.pooling == "attention":
        dense.append(query)
    history = (lambda lists: attn_bag(T_item, lists, query)) if a.pooling == "attention" \
        else (lambda lists: mean_bag(T_item, lists))

    def user_vec(rows, drop):
        keep = lambda lists: [[] if dr else l for l, dr in zip(lists, drop)]
        x = torch.cat([U_age[rows],
                       mean_bag(T_gender, [U_gender[r] for r in rows]),
                       history(keep([U_hist[r] for r in rows])),
                       mean_bag(T_occ, [U_occ[r] for r in rows]),
                       mean_bag(T_user, keep([U_id[r] for r in rows]))], dim=1)
        return user_tower(x)

    def item_vec(rows):
        x = torch.cat([mean_bag(T_genre, [I_gen[r] for r in rows]),
                       mean_bag(T_item, [I_id[r] for r in rows]),
                       mean_bag(T_title, [I_title[r] for r in rows])], dim=1)
        return item_tower(x)

    eu = np.array([urow[r["user_id"]] for r in train])
    ei = np.array([irow[r["item_id"]] for r in train])
    freq = np.bincount(ei, minlength=len(items)).astype(np.float64)
    logq_all = torch.tensor(np.log(np.maximum(freq, 0.5) / len(ei)), dtype=torch.float32)
    n = len(eu)
    steps = n // a.batch
    total = steps * a.epochs
    opt_d = torch.optim.Adam(dense, lr=a.lr)
    opt_s = torch.optim.SparseAdam(tables, lr=a.lr)
    lr_at = lambda s: a.lr * 0.5 * (1 + math.cos(math.pi * s / total))
    step = 0
    train_time = 0.0
    for ep in range(a.epochs):
        perm = np.random.RandomState(a.seed + ep).permutation(n)
        t0 = time.perf_counter()
        tot = 0.0
        for s in range(steps):
            idx = perm[s * a.batch:(s + 1) * a.batch]
            ub, ib = eu[idx].tolist(), ei[idx].tolist()
            drop = [rnd.random() < a.dropout for _ in ub]
            u = user_vec(ub, drop)
            v = item_vec(ib)
            logits = u @ v.T / a.tau - logq_all[ib][None, :]
            it = torch.tensor(ib)
            dup = (it[None, :] == it[:, None]) & ~torch.eye(len(ib), dtype=torch.bool)
            logits = logits.masked_fill(dup, float("-inf"))
            loss = F.cross_entropy(logits, torch.arange(len(ib)))
            for o in (opt_d, opt_s):
                for g in o.param_groups:
                    g["lr"] = lr_at(step)
                o.zero_grad()
            loss.backward()
            opt_d.step()
            opt_s.step()
            step += 1
            tot += loss.item()
        dt = time.perf_counter() - t0
        train_time += dt
        print(f"torch epoch {ep + 1}/{a.epochs}: loss {tot / steps:.4f}, {steps * a.batch / dt:.0f} examples/s",
              flush=True)
    with torch.no_grad():
        U = user_vec(list(range(len(users))), [False] * len(users)).numpy()
        V = item_vec(list(range(len(items)))).numpy()
    for name, rows, M in (("torch_users.tsv", users, U), ("torch_items.tsv", items, V)):
        key = "user_id" if "user_id" in rows[0] else "item_id"
        with open(os.path.join(a.out, name), "w") as f:
            f.write("id\t" + "\t".join(f"v{k + 1}" for k in range(d)) + "\n")
            for r, vec in zip(rows, M):
                f.write(r[key] + "\t" + "\t".join(f"{x:.7g}" for x in vec) + "\n")
    print(f"torch_examples_per_s\t{steps * a.batch * a.epochs / train_time:.0f}")


if __name__ == "__main__":
    main()
