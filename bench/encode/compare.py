#!/usr/bin/env python3
"""compare.py - rs-encode's RSB against sentence-transformers' embeddings
(st_ref.py's .npy, same row order): prints the smallest cosine, the row that
has it, the number of rows under MIN_COS, and the largest absolute difference.
Exit 1 when a row is under MIN_COS.

Usage: compare.py RS.rsb ST.npy [MIN_COS]"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from recsys_pipes_io import read_rsb  # noqa: E402


def main():
    ids, a = read_rsb(sys.argv[1])
    b = np.load(sys.argv[2]).astype(np.float64)
    min_cos = float(sys.argv[3]) if len(sys.argv) > 3 else 0.9999
    a = a.astype(np.float64)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    worst = int(cos.argmin())
    bad = int((cos < min_cos).sum())
    print("rows %d min_cos %.7f (%s) under_%g %d max_abs_diff %.2e" % (len(ids), cos[worst], ids[worst], min_cos,
                                                                      bad, np.abs(a - b).max()))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
