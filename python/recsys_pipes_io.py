"""recsys_pipes_io - read recsys-pipes files from Python with NumPy alone.

    from recsys_pipes_io import read_rsb, write_rsb, read_rsm, load_npz, TwoTower

    ids, x = read_rsb("item_emb.rsb")          # list of str, (n, d) float32
    write_rsb("out.rsb", ids, x)               # f32 RSB 1.0
    sections, tensors = read_rsm("tower.rsm")  # dict, {name: ndarray}
    sections, tensors = load_npz("tower.npz")  # the same from `rs-cat --to npz`
    tower = TwoTower(sections, tensors)
    u = tower.embed("user", {"user_id": "u1", "age": "30", "history": "i3,i7"})
    v = tower.embed("item", {"item_id": "i3", "category": "1", "title": "..."})
    score = u @ v                              # what rs-embed + a dot product gives

Formats: schemas/rsb.md and schemas/rsm.md; the two-tower model:
lib/model/tower.h. Checksums (XXH3-64) are verified when the Python module
`xxhash` or the C library libxxhash.so.0 (Debian libxxhash0, a dependency of
recsys-pipes) is there; text features need one of them too (they hash
words). zstd-compressed files need the module `zstandard` (or `zstd -d`).
TwoTower covers every feature type but "pretrained" and attention pooling,
which raise NotImplementedError.
"""
import ctypes
import ctypes.util
import json
import struct

import numpy as np

RSB_SIGNATURE = b"\x89RSB\r\n\x1a\n"
RSM_SIGNATURE = b"\x89RSM\r\n\x1a\n"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
L2_EPS = np.float32(1e-12)  # RS_L2_EPS, lib/nn/nn.h


def _xxh3_function():
    try:
        import xxhash
        return xxhash.xxh3_64_intdigest
    except ImportError:
        pass
    name = ctypes.util.find_library("xxhash") or "libxxhash.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.XXH3_64bits.restype = ctypes.c_uint64
    lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return lambda b: lib.XXH3_64bits(bytes(b), len(b))


xxh3_64 = _xxh3_function()  # XXH3-64 of bytes (seed 0), or None


def _check(data, stored, what):
    if xxh3_64 is not None and xxh3_64(data) != stored:
        raise ValueError(f"{what} checksum mismatch")


def _read(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == ZSTD_MAGIC:
        try:
            import zstandard
        except ImportError:
            raise ValueError(f"{path}: zstd-compressed; install the Python module zstandard or run zstd -d")
        data = zstandard.ZstdDecompressor().stream_reader(data).read()
    return data


# ---- RSB: id-keyed vectors ----

def read_rsb(path):
    """All rows of an RSB stream: (ids as a list of str, float32 array (n, dims)).
    f16 and i8 rows are decoded as rs-cat decodes them."""
    data = _read(path)
    if len(data) < 24 or data[:8] != RSB_SIGNATURE:
        raise ValueError(f"{path}: not an RSB stream")
    major, minor, dtype, idkind, _, dims, meta_len = struct.unpack_from("<HHBBHII", data, 8)
    if major != 1:
        raise ValueError(f"{path}: RSB version {major}.{minor} is not supported")
    if dtype not in (1, 2, 3) or idkind != 1:
        raise ValueError(f"{path}: RSB header: unknown dtype or id kind")
    _check(data[:24 + meta_len], struct.unpack_from("<Q", data, 24 + meta_len)[0], "RSB header")
    width = {1: 4, 2: 2, 3: 1}[dtype] * dims
    pos = 24 + meta_len + 8
    ids, rows = [], []
    while data[pos:pos + 4] == b"ROWS":
        nrows, plen = struct.unpack_from("<II", data, pos + 4)
        end = pos + 12 + plen
        if end + 8 > len(data):
            raise ValueError(f"{path}: truncated RSB stream")
        _check(data[pos:end], struct.unpack_from("<Q", data, end)[0], "RSB block")
        p = pos + 12
        for _ in range(nrows):
            (n,) = struct.unpack_from("<H", data, p)
            ids.append(data[p + 2:p + 2 + n].decode("utf-8", "surrogateescape"))
            p += 2 + n
            if dtype == 3:
                (scale,) = struct.unpack_from("<f", data, p)
                rows.append(np.float32(scale) * np.frombuffer(data, "i1", dims, p + 4).astype(np.float32))
                p += 4 + width
            else:
                rows.append(np.frombuffer(data, "<f4" if dtype == 1 else "<f2", dims, p).astype(np.float32))
                p += width
        if p != end:
            raise ValueError(f"{path}: RSB block rows do not fill their payload")
        pos = end + 8
    if data[pos:pos + 4] != b"END\0" or len(data) != pos + 24:
        raise ValueError(f"{path}: truncated RSB stream, or data after its end block")
    _check(data[pos:pos + 16], struct.unpack_from("<Q", data, pos + 16)[0], "RSB end block")
    if struct.unpack_from("<Q", data, pos + 8)[0] != len(ids):
        raise ValueError(f"{path}: RSB end block counts differ from the rows read")
    return ids, np.array(rows, dtype=np.float32).reshape(len(ids), dims)


def write_rsb(path, ids, x, meta=""):
    """An f32 RSB 1.0 stream of the rows of x (n, dims) keyed by ids. Needs
    XXH3 (module xxhash or libxxhash.so.0)."""
    if xxh3_64 is None:
        raise RuntimeError("write_rsb needs XXH3-64: the module xxhash or libxxhash.so.0")
    x = np.ascontiguousarray(x, dtype="<f4")
    n, dims = x.shape
    meta_b = meta.encode() if isinstance(meta, str) else meta
    head = RSB_SIGNATURE + struct.pack("<HHBBHII", 1, 0, 1, 1, 0, dims, len(meta_b)) + meta_b
    block_rows = 4096
    with open(path, "wb") as f:
        f.write(head + struct.pack("<Q", xxh3_64(head)))
        for start in range(0, n, block_rows):
            rows = []
            for r in range(start, min(n, start + block_rows)):
                idb = str(ids[r]).encode()
                rows.append(struct.pack("<H", len(idb)) + idb + x[r].tobytes())
            payload = b"".join(rows)
            block = b"ROWS" + struct.pack("<II", len(rows), len(payload)) + payload
            f.write(block + struct.pack("<Q", xxh3_64(block)))
        end = b"END\0" + struct.pack("<IQ", 0, n)
        f.write(end + struct.pack("<Q", xxh3_64(end)))


# ---- RSM: models ----

RSM_DTYPES = {"f32": "<f4", "i32": "<i4", "u8": "u1", "f64": "<f8", "u64": "<u8"}


def read_rsm(path):
    """A model file: (sections: dict, tensors: {name: ndarray}) with the RSM's
    names, dtypes and shapes (schemas/rsm.md)."""
    data = _read(path)
    if len(data) < 32 or data[:8] != RSM_SIGNATURE:
        raise ValueError(f"{path}: not an RSM file")
    major, minor, _, hlen, dlen = struct.unpack_from("<HHIQQ", data, 8)
    if major != 1:
        raise ValueError(f"{path}: RSM version {major}.{minor} is not supported")
    start = (32 + hlen + 8 + 63) // 64 * 64
    if len(data) < start + dlen + 8:
        raise ValueError(f"{path}: truncated RSM file")
    if len(data) > start + dlen + 8:
        raise ValueError(f"{path}: trailing bytes after RSM file")
    _check(data[:32 + hlen], struct.unpack_from("<Q", data, 32 + hlen)[0], "RSM header")
    _check(data[start:start + dlen], struct.unpack_from("<Q", data, start + dlen)[0], "RSM data")
    header = json.loads(data[32:32 + hlen])
    tensors = {}
    for t in header["tensors"]:
        dt = np.dtype(RSM_DTYPES[t["dtype"]])
        count = int(np.prod(t["shape"], dtype=np.int64))
        if count * dt.itemsize != t["nbytes"] or t["offset"] + t["nbytes"] > dlen:
            raise ValueError(f"{path}: tensor '{t['name']}' does not fit its directory entry")
        tensors[t["name"]] = np.frombuffer(data, dt, count, start + t["offset"]).reshape(t["shape"])
    return header["sections"], tensors


def load_npz(path):
    """What `rs-cat --to npz` wrote: (sections, tensors) as read_rsm returns them."""
    with np.load(path, allow_pickle=False) as z:
        tensors = {k: z[k] for k in z.files if k != "sections.json"}
        sections = json.loads(z["sections.json"])
    return sections, tensors


def vocabulary(blob):
    """The tokens of a vocabulary tensor (u8, NUL-terminated tokens in id
    order): token k has id k + 1; id 0 is missing/unknown."""
    return bytes(np.asarray(blob, dtype=np.uint8)).split(b"\0")[:-1]


# ---- the two-tower model (lib/model/tower.c, tower_encode.c) ----

def _is_word(c):
    return (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122) or c >= 0x80


def _words(s, max_words=256, max_len=256):
    """Lower-cased ASCII-alnum words (UTF-8 bytes >= 0x80 stay in words), each
    cut to 256 bytes, at most 256 of them: encode_text's tokens."""
    out, i, n = [], 0, len(s)
    while i < n and len(out) < max_words:
        while i < n and not _is_word(s[i]):
            i += 1
        j = i
        while j < n and _is_word(s[j]):
            j += 1
        if j == i:
            break
        out.append(s[i:j].lower()[:max_len])
        i = j
    return out


class _Feature:
    def __init__(self, side, f, cfg, tensors, item_feats):
        self.name, self.type, self.column, self.width = f["name"], f["type"], f["column"], f["width"]
        if self.type == "pretrained" or cfg.get("pooling") == "attention":
            raise NotImplementedError(f"feature '{self.name}': pretrained and attention features")
        self.list = cfg.get("list", False)
        self.log1p = cfg.get("log1p", False)
        self.bigrams = cfg.get("bigrams", True)
        self.max_len = cfg.get("max_length", 50)
        self.mean, self.std = f.get("mean", 0.0), f.get("std", 1.0)
        self.table = None
        if self.type == "sequence":
            src = item_feats[cfg["shares"]] if "shares" in cfg else item_feats[None]
            self.vocab, self.oov, self.table = src.vocab, src.oov, src.table
        if self.type in ("string", "int"):
            tokens = vocabulary(tensors[f"{side}.{self.name}.vocab"])
            self.vocab = {t: k + 1 for k, t in enumerate(tokens)}
            self.oov = cfg.get("oov_buckets", 0)
        if self.type in ("string", "int", "text"):
            self.table = np.asarray(tensors[f"{side}.{self.name}.emb"], dtype=np.float32)
        if self.type == "text":
            if xxh3_64 is None:
                raise RuntimeError(f"text feature '{self.name}' needs XXH3: module xxhash or libxxhash.so.0")
            self.buckets = f["rows"]

    def _id(self, tok):
        """rs_vocab_id: the token's id, an OOV bucket, or 0."""
        if not tok:
            return 0
        k = self.vocab.get(tok)
        if k is not None:
            return k
        return len(self.vocab) + 1 + xxh3_64(tok) % self.oov if self.oov else 0

    def ids(self, s):
        if self.type == "text":
            words, ids, prev = _words(s), [], None
            for w in words:
                ids.append(xxh3_64(w) % self.buckets)
                if self.bigrams and prev is not None:
                    ids.append(xxh3_64(prev + b" " + w) % self.buckets)
                prev = w
            return ids
        if self.type == "sequence":
            return [self._id(t) for t in [t for t in s.split(b",") if t][-self.max_len:]]
        if self.list:
            return [self._id(t) for t in s.split(b",") if t]
        if self.type == "int" and s:
            s = str(int(s)).encode()  # canonical decimal
        return [self._id(s)]

    def encode(self, s):
        """The feature's part of the concat for field s (bytes)."""
        if self.type == "numeric":
            x = self.mean
            if s:
                x = float(s)
                x = np.log1p(x) if self.log1p else x
            return np.array([(x - self.mean) / self.std], dtype=np.float32)
        ids = self.ids(s)
        if not ids:
            return np.zeros(self.width, dtype=np.float32)
        return self.table[ids].sum(axis=0, dtype=np.float32) * np.float32(1.0 / len(ids))


class TwoTower:
    """The user and item towers of a two-tower model from its sections and
    tensors (read_rsm or load_npz): embed(side, row) is the L2-normalised
    vector rs-embed writes for a table row (a dict column -> text)."""

    def __init__(self, sections, tensors):
        if sections.get("model", {}).get("kind") != "two-tower":
            raise ValueError("not a two-tower model (section model.kind)")
        feats, config = sections["features"], sections["config"]
        self.id_col = {"user": feats["user_id_col"], "item": feats["item_id_col"]}
        self.features, self.layers = {}, {}
        for side in ("item", "user"):  # items first: sequences share item tables
            cfg = config[side + "_embedding_layers"]
            done = {}
            for f in feats[side]:
                feat = _Feature(side, f, cfg[f["name"]], tensors, self.features.get("item"))
                done[f["name"]] = feat
                if side == "item" and f["column"] == self.id_col["item"]:
                    done[None] = feat  # the item id feature: what a sequence shares by default
            self.features[side] = done
            self.layers[side] = []
            while f"{side}.dense{len(self.layers[side])}.w" in tensors:
                k = len(self.layers[side])
                self.layers[side].append((np.asarray(tensors[f"{side}.dense{k}.w"], dtype=np.float32),
                                          np.asarray(tensors[f"{side}.dense{k}.b"], dtype=np.float32)[0]))
        self.order = {side: [f["name"] for f in feats[side]] for side in ("user", "item")}

    def embed(self, side, row):
        """features -> concat -> Dense+ReLU ... -> Dense -> L2 normalise."""
        parts = []
        for name in self.order[side]:
            feat = self.features[side][name]
            s = row.get(feat.column, "")
            parts.append(feat.encode(s.encode() if isinstance(s, str) else s))
        h = np.concatenate(parts).astype(np.float32)
        for k, (w, b) in enumerate(self.layers[side]):
            h = h @ w + b
            if k + 1 < len(self.layers[side]):
                h = np.maximum(h, 0)
        return h / max(np.float32(np.sqrt(h @ h)), L2_EPS)
