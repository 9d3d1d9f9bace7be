#!/usr/bin/env python3
"""gen.py OUTDIR N_ITEMS N_QUERIES DIMS - clustered, L2-normalised embeddings
(like a two-tower model's): 4096 random unit directions, each item or query
one of them plus Gaussian noise of norm ~1 (clusters overlap), normalised. Writes items.rsb,
queries.rsb (ids i0000000.., q0000000..) and items.npy / queries.npy for FAISS."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "common"))
from rsbwrite import write_rsb  # noqa: E402


def main(out, n, nq, d, seed=7):
    r = np.random.default_rng(seed)
    centres = r.standard_normal((4096, d)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)

    def draw(m):
        x = centres[r.integers(0, len(centres), m)] + 1.0 / np.sqrt(d) * r.standard_normal((m, d)).astype(np.float32)
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    items, queries = draw(n), draw(nq)
    np.save(os.path.join(out, "items.npy"), items)
    np.save(os.path.join(out, "queries.npy"), queries)
    write_rsb(os.path.join(out, "items.rsb"), ["i%07d" % i for i in range(n)], items, b"tool\tbench/retrieve/gen.py\n")
    write_rsb(os.path.join(out, "queries.rsb"), ["q%07d" % i for i in range(nq)], queries, b"tool\tbench/retrieve/gen.py\n")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
