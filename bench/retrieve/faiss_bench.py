#!/usr/bin/env python3
"""faiss_bench.py DIR THREADS NLIST - FAISS on the same embeddings as
rs-retrieve (DIR/items.npy, queries.npy; exact top-10 from DIR/exact.tsv):
IndexFlatIP and IndexIVFFlat (same partitions) at several nprobe; also
IndexIVFPQ (m = 32, 8 bits) when FAISS_PQ=1 (its build takes minutes here and
its recall@10 stays near 0.8) and IndexHNSWFlat (M = 32) when FAISS_HNSW=1. Prints TSV rows: index, param, queries/s,
queries per CPU second, recall@10."""
import os
import sys
import time

import faiss
import numpy as np

from truth import exact_ids, recall


def timed(index, xq, n):
    """Queries per wall second and per CPU second of the process, and ids."""
    t, c = time.time(), time.process_time()
    _, I = index.search(xq[:n], 10)
    return (n / (time.time() - t), n / (time.process_time() - c)), I


def main(d, threads, nlist):
    faiss.omp_set_num_threads(threads)
    xb, xq = np.load(os.path.join(d, "items.npy")), np.load(os.path.join(d, "queries.npy"))
    truth = exact_ids(os.path.join(d, "exact.tsv"), len(xq))
    dim = xb.shape[1]
    rows = []
    flat = faiss.IndexFlatIP(dim)
    flat.add(xb)
    qps, I = timed(flat, xq, 1000)
    rows.append(("faiss IndexFlatIP", "-", qps, recall(truth, I, 1000)))
    train = xb[np.random.default_rng(1).choice(len(xb), 64 * nlist, replace=False)]
    ivfs = [("faiss IndexIVFFlat", faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT))]
    if os.environ.get("FAISS_PQ") == "1":
        ivfs.append(("faiss IndexIVFPQ m=32", faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, 32, 8,
                                                               faiss.METRIC_INNER_PRODUCT)))
    for name, index in ivfs:
        t = time.time()
        index.train(train)
        index.add(xb)
        print("# %s built in %.1f s" % (name, time.time() - t), file=sys.stderr)
        for nprobe in (16, 32, 64, 128, 192):
            index.nprobe = nprobe
            n = 2000 if nprobe <= 64 else 1000
            qps, I = timed(index, xq, n)
            rows.append((name, "nprobe=%d" % nprobe, qps, recall(truth, I, n)))
    if os.environ.get("FAISS_HNSW") == "1":
        hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 40
        t = time.time()
        hnsw.add(xb)
        print("# faiss IndexHNSWFlat M=32 built in %.1f s" % (time.time() - t), file=sys.stderr)
        for ef in (32, 64, 128, 256):
            hnsw.hnsw.efSearch = ef
            qps, I = timed(hnsw, xq, 2000)
            rows.append(("faiss IndexHNSWFlat M=32", "efSearch=%d" % ef, qps, recall(truth, I, 2000)))
    for name, param, (qps, qpc), rec in rows:
        print("%s\t%s\t%.0f\t%.0f\t%.4f" % (name, param, qps, qpc, rec))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
