"""truth.py - the exact top-10 of rs-retrieve (DIR/exact.tsv, queries
q0000000.., items i0000000..) as item numbers, and recall@10 against it, for
the peers' benchmarks (faiss_bench.py, scann_bench.py)."""
import numpy as np


def exact_ids(path, nq):
    ids = [[] for _ in range(nq)]
    with open(path) as f:
        next(f)
        for line in f:
            q, i = line.split("\t", 2)[:2]
            ids[int(q[1:])].append(int(i[1:]))
    return ids


def recall(truth, I, n):
    return float(np.mean([len(set(truth[q]) & set(I[q].tolist())) / len(truth[q]) for q in range(n)]))
