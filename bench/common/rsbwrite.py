"""rsbwrite.py - write a float32 matrix with fixed-width ids as RSB 1.0
(schemas/rsb.md) straight from numpy, for benchmarks that need big inputs
fast (rs-cat --to rsb parses text). Needs python3-xxhash."""
import struct

import numpy as np
import xxhash


def write_rsb(path, ids, x, meta=b""):
    """ids: list of str, all the same length; x: (n, d) float32."""
    x = np.ascontiguousarray(x, dtype="<f4")
    n, d = x.shape
    L = len(ids[0])
    assert all(len(i) == L for i in ids)
    rows = np.empty(n, dtype=[("n", "<u2"), ("id", "S%d" % L), ("v", "<f4", (d,))])
    rows["n"] = L
    rows["id"] = np.array(ids, dtype="S%d" % L)
    rows["v"] = x
    per_block = max(1, (1 << 20) // rows.dtype.itemsize)
    with open(path, "wb") as f:
        h = b"\x89RSB\r\n\x1a\n" + struct.pack("<HHBBHII", 1, 0, 1, 1, 0, d, len(meta)) + meta
        f.write(h + struct.pack("<Q", xxhash.xxh3_64_intdigest(h)))
        for b in range(0, n, per_block):
            payload = rows[b:b + per_block].tobytes()
            blk = b"ROWS" + struct.pack("<II", min(per_block, n - b), len(payload)) + payload
            f.write(blk + struct.pack("<Q", xxhash.xxh3_64_intdigest(blk)))
        end = b"END\0" + struct.pack("<IQ", 0, n)
        f.write(end + struct.pack("<Q", xxhash.xxh3_64_intdigest(end)))
