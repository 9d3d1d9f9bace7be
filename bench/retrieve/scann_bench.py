#!/usr/bin/env python3
"""scann_bench.py DIR THREADS - ScaNN (PyPI `scann`, installed into .venv by
`make bench-deps`) on the same embeddings as rs-retrieve (DIR/items.npy,
queries.npy; exact top-10 from DIR/exact.tsv), in its recommended
configuration for maximum inner product: a partition tree of about
2·sqrt(n) leaves trained on a sample, asymmetric hashing with 2 dims per
4-bit sub-space and the anisotropic loss (threshold 0.2), and exact
re-ordering. Sweeps leaves_to_search × reorder depth (LEAVES, REORDER) over
every query with search_batched_parallel on THREADS threads. Prints TSV
rows: system, param, queries/s, queries per CPU second, recall@10; the build
time on stderr. Without scann it prints one line saying so and exits 0."""
import os
import sys
import time

import numpy as np

from truth import exact_ids, recall


def main(d, threads):
    try:
        import scann
    except ImportError as e:
        print("# scann: not installed (%s): make bench-deps installs it into .venv" % e, file=sys.stderr)
        return
    xb, xq = np.load(os.path.join(d, "items.npy")), np.load(os.path.join(d, "queries.npy"))
    truth = exact_ids(os.path.join(d, "exact.tsv"), len(xq))
    leaves = int(os.environ.get("SCANN_LEAVES", round(2 * np.sqrt(len(xb)))))
    t = time.time()
    searcher = (scann.scann_ops_pybind.builder(xb, 10, "dot_product")
                .tree(num_leaves=leaves, num_leaves_to_search=64, training_sample_size=min(len(xb), 250000))
                .score_ah(2, anisotropic_quantization_threshold=0.2)
                .reorder(300)
                .set_n_training_threads(threads)
                .build())
    print("# scann: %d leaves, built in %.1f s" % (leaves, time.time() - t), file=sys.stderr)
    searcher.set_num_threads(threads)
    for ls in [int(v) for v in os.environ.get("LEAVES", "64 96 128 192 256").split()]:
        for ro in [int(v) for v in os.environ.get("REORDER", "50 70 100 200").split()]:
            searcher.search_batched_parallel(xq[:500], leaves_to_search=ls, pre_reorder_num_neighbors=ro)  # warm
            t, c = time.time(), time.process_time()
            I, _ = searcher.search_batched_parallel(xq, leaves_to_search=ls, pre_reorder_num_neighbors=ro)
            wall, cpu = time.time() - t, time.process_time() - c
            print("scann AH2/4bit\tleaves=%d,reorder=%d\t%.0f\t%.0f\t%.4f"
                  % (ls, ro, len(xq) / wall, len(xq) / cpu, recall(truth, np.asarray(I), len(xq))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
