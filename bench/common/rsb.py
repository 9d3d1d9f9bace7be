"""rsb.py - writes and reads RSB (schemas/rsb.md) from numpy, for benchmarks:
an independent implementation of the format (python3-xxhash for XXH3-64).

    write_rsb(path, ids, matrix)      # f32 only
    ids, matrix = read_rsb(path)
"""
import struct

import numpy as np
import xxhash

SIGNATURE = b"\x89RSB\r\n\x1a\n"
BLOCK_ROWS = 4096


def write_rsb(path, ids, x, meta=""):
    x = np.ascontiguousarray(x, dtype="<f4")
    n, dims = x.shape
    meta_b = meta.encode()
    head = SIGNATURE + struct.pack("<HHBBHII", 1, 0, 1, 1, 0, dims, len(meta_b)) + meta_b
    with open(path, "wb") as f:
        f.write(head + struct.pack("<Q", xxhash.xxh3_64_intdigest(head)))
        for start in range(0, n, BLOCK_ROWS):
            rows = []
            for r in range(start, min(n, start + BLOCK_ROWS)):
                idb = str(ids[r]).encode()
                rows.append(struct.pack("<H", len(idb)) + idb + x[r].tobytes())
            payload = b"".join(rows)
            block = b"ROWS" + struct.pack("<II", len(rows), len(payload)) + payload
            f.write(block + struct.pack("<Q", xxhash.xxh3_64_intdigest(block)))
        end = b"END\0" + struct.pack("<IQ", 0, n)
        f.write(end + struct.pack("<Q", xxhash.xxh3_64_intdigest(end)))


def read_rsb(path):
    data = open(path, "rb").read()
    assert data[:8] == SIGNATURE, "not an RSB file"
    major, minor, dtype, idkind, _, dims, meta_len = struct.unpack_from("<HHBBHII", data, 8)
    assert major == 1 and dtype == 1, "only f32 RSB v1 supported here"
    pos = 24 + meta_len + 8
    ids, vecs = [], []
    while data[pos:pos + 4] == b"ROWS":
        nrows, plen = struct.unpack_from("<II", data, pos + 4)
        p = pos + 12
        for _ in range(nrows):
            (n,) = struct.unpack_from("<H", data, p)
            ids.append(data[p + 2:p + 2 + n].decode())
            vecs.append(np.frombuffer(data, dtype="<f4", count=dims, offset=p + 2 + n))
            p += 2 + n + 4 * dims
        pos += 12 + plen + 8
    assert data[pos:pos + 4] == b"END\0", "missing end block"
    return ids, np.array(vecs, dtype=np.float32).reshape(-1, dims)
