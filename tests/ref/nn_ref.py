#!/usr/bin/env python3
"""nn_ref.py - the numpy (float64) reference for lib/nn/nn, in the manner of
llm.c's test_gpt2: writes a fixture with the parameters of a small two-tower
model, its forward outputs, loss, gradients, and the parameters after N Adam
steps (lazy Adam on the embedding tables). tests/unit/test-nn.c builds the same
model with lib/nn/nn, loads these parameters and compares every tensor.

The model (must match tt_init/tt_forward in test-nn.c):
  user:  concat[user.emb[user], attn_pool(item.emb[hist], query)]
         -> dense1 -> relu -> dense2 -> l2norm
  item:  item.emb[item] -> dense1 -> relu -> dense2 -> l2norm, for the B
         positives and B*K negatives in one batch
  loss:  in-batch softmax, tau 0.25, logits - logq, duplicates of the
         positive masked, K = 2 extra negatives per row with their own logq.
The analytic backward written here is itself checked against float64 finite
differences before the fixture is written.

Usage: /usr/bin/python3 tests/ref/nn_ref.py > tests/fixtures/nn/ref.txt
"""
import sys

import numpy as np

B, K, D, H, E = 6, 2, 4, 6, 5
TAU = 0.25
LR, STEPS = 0.01, 3
USER = np.array([0, 1, 2, 3, 4, 1])
ITEM = np.array([0, 1, 2, 3, 2, 4, 5, 6, 7, 1, 8, 9, 10, 3, 5, 5, 6, 7])
HIST = np.array([1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 2])
HOFF = np.array([0, 2, 5, 5, 7, 10, 11])
LOGQ = np.array([-1.0 - 0.3 * i for i in range(B)], dtype=np.float32).astype(np.float64)
NLOGQ = np.array([-2.0 + 0.1 * i for i in range(B * K)], dtype=np.float32).astype(np.float64)
SHAPES = [("user.emb", 8, E, True), ("item.emb", 12, E, True), ("user.hist.query", 1, E, False),
          ("user.dense1.w", 2 * E, H, False), ("user.dense1.b", 1, H, False),
          ("user.dense2.w", H, D, False), ("user.dense2.b", 1, D, False),
          ("item.dense1.w", E, H, False), ("item.dense1.b", 1, H, False),
          ("item.dense2.w", H, D, False), ("item.dense2.b", 1, D, False)]


def forward(p):
    c = {}
    ue = p["user.emb"][USER]
    q = p["user.hist.query"][0]
    hv = np.zeros((B, E))
    alphas = []
    for b in range(B):
        ids = HIST[HOFF[b]:HOFF[b + 1]]
        if len(ids) == 0:
            alphas.append(np.zeros(0))
            continue
        e = p["item.emb"][ids]
        s = e @ q / np.sqrt(E)
        a = np.exp(s - s.max())
        a /= a.sum()
        alphas.append(a)
        hv[b] = a @ e
    ucat = np.concatenate([ue, hv], axis=1)
    uh = np.maximum(ucat @ p["user.dense1.w"] + p["user.dense1.b"][0], 0)
    uo = uh @ p["user.dense2.w"] + p["user.dense2.b"][0]
    un = uo / np.linalg.norm(uo, axis=1, keepdims=True)
    ie = p["item.emb"][ITEM]
    ih = np.maximum(ie @ p["item.dense1.w"] + p["item.dense1.b"][0], 0)
    io = ih @ p["item.dense2.w"] + p["item.dense2.b"][0]
    inn = io / np.linalg.norm(io, axis=1, keepdims=True)
    v, neg = inn[:B], inn[B:].reshape(B, K, D)
    z = np.concatenate([un @ v.T / TAU - LOGQ[None, :],
                        np.einsum("bd,bkd->bk", un, neg) / TAU - NLOGQ.reshape(B, K)], axis=1)
    for i in range(B):
        for j in range(B):
            if j != i and ITEM[j] == ITEM[i]:
                z[i, j] = -np.inf
        for k in range(K):
            if ITEM[B + i * K + k] == ITEM[i]:
                z[i, B + k] = -np.inf
    m = z.max(axis=1, keepdims=True)
    pr = np.exp(z - m)
    pr /= pr.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(pr[np.arange(B), np.arange(B)]))
    c.update(ue=ue, q=q, hv=hv, alphas=alphas, ucat=ucat, uh=uh, uo=uo, un=un, ie=ie, ih=ih,
             io=io, inn=inn, v=v, neg=neg, probs=pr)
    return loss, c


def l2_back(dy, y, x):
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return (dy - y * np.sum(y * dy, axis=1, keepdims=True)) / n


def backward(p, c):
    g = {k: np.zeros_like(v) for k, v in p.items()}
    dz = c["probs"].copy()
    dz[np.arange(B), np.arange(B)] -= 1
    dz /= B
    dzi, dzn = dz[:, :B] / TAU, dz[:, B:] / TAU
    dun = dzi @ c["v"] + np.einsum("bk,bkd->bd", dzn, c["neg"])
    dinn = np.zeros_like(c["inn"])
    dinn[:B] = dzi.T @ c["un"]
    dinn[B:] = (dzn[:, :, None] * c["un"][:, None, :]).reshape(B * K, D)
    dio = l2_back(dinn, c["inn"], c["io"])
    g["item.dense2.w"] += c["ih"].T @ dio
    g["item.dense2.b"][0] += dio.sum(0)
    dih = (dio @ p["item.dense2.w"].T) * (c["ih"] > 0)
    g["item.dense1.w"] += c["ie"].T @ dih
    g["item.dense1.b"][0] += dih.sum(0)
    die = dih @ p["item.dense1.w"].T
    np.add.at(g["item.emb"], ITEM, die)
    duo = l2_back(dun, c["un"], c["uo"])
    g["user.dense2.w"] += c["uh"].T @ duo
    g["user.dense2.b"][0] += duo.sum(0)
    duh = (duo @ p["user.dense2.w"].T) * (c["uh"] > 0)
    g["user.dense1.w"] += c["ucat"].T @ duh
    g["user.dense1.b"][0] += duh.sum(0)
    ducat = duh @ p["user.dense1.w"].T
    np.add.at(g["user.emb"], USER, ducat[:, :E])
    dhv = ducat[:, E:]
    q = c["q"]
    for b in range(B):
        ids = HIST[HOFF[b]:HOFF[b + 1]]
        if len(ids) == 0:
            continue
        e = p["item.emb"][ids]
        a = c["alphas"][b]
        da = e @ dhv[b]
        ds = a * (da - a @ da) / np.sqrt(E)
        np.add.at(g["item.emb"], ids, a[:, None] * dhv[b][None, :] + ds[:, None] * q[None, :])
        g["user.hist.query"][0] += ds @ e
    return g


def check_grads(p, g):
    h = 1e-6
    for name, arr in p.items():
        num = np.zeros_like(arr)
        it = np.nditer(arr, flags=["multi_index"])
        for _ in it:
            ix = it.multi_index
            x0 = arr[ix]
            arr[ix] = x0 + h
            lp = forward(p)[0]
            arr[ix] = x0 - h
            lm = forward(p)[0]
            arr[ix] = x0
            num[ix] = (lp - lm) / (2 * h)
        err = np.linalg.norm(num - g[name]) / (np.linalg.norm(num) + np.linalg.norm(g[name]))
        assert err < 1e-6, (name, err)


def main():
    rng = np.random.default_rng(20240607)
    p = {n: rng.uniform(-0.8, 0.8, (r, c)).astype(np.float32).astype(np.float64)
         for n, r, c, _ in SHAPES}
    out = []

    def put(name, a):
        a = np.asarray(a, dtype=np.float64).ravel()
        out.append("%s %d\n%s\n" % (name, a.size, " ".join("%.9g" % x for x in a)))

    for n, _, _, _ in SHAPES:
        put("param." + n, p[n])
    loss, c = forward(p)
    g = backward(p, c)
    check_grads(p, g)
    put("out.user", c["un"])
    put("out.item", c["inn"])
    put("out.probs", c["probs"])
    put("out.loss", [loss])
    for n, _, _, _ in SHAPES:
        put("grad." + n, g[n])
    # Adam; the sparse tables update only rows touched by the batch (lazy Adam)
    touched = {"user.emb": np.unique(USER), "item.emb": np.unique(np.concatenate([ITEM, HIST]))}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v2 = {k: np.zeros_like(v) for k, v in p.items()}
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, STEPS + 1):
        g = backward(p, forward(p)[1])
        for n, _, _, sparse in SHAPES:
            rows = touched[n] if sparse else np.arange(p[n].shape[0])
            m[n][rows] = b1 * m[n][rows] + (1 - b1) * g[n][rows]
            v2[n][rows] = b2 * v2[n][rows] + (1 - b2) * g[n][rows] ** 2
            mh, vh = m[n][rows] / (1 - b1 ** t), v2[n][rows] / (1 - b2 ** t)
            p[n][rows] -= LR * mh / (np.sqrt(vh) + eps)
    put("adam.lr", [LR])
    put("adam.steps", [STEPS])
    for n, _, _, _ in SHAPES:
        put("adam." + n, p[n])
    put("adam.loss", [forward(p)[0]])
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
