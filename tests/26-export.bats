#!/usr/bin/env bats
# Models and vectors out to other runtimes: rs-cat --to npz / safetensors
# (RSM), npy / pgvector / jsonl (RSB), jsonl (tables); the Python reader
# python/recsys_pipes_io.py against rs-cat; a two-tower model exported to
# .npz scoring in NumPy alone as rs-embed + a dot product does.
load helpers

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
    "$PYTHON" -c 'import numpy' 2>/dev/null || skip "numpy is absent (Debian python3-numpy: make deps)"
    export PYTHONPATH="$BATS_TEST_DIRNAME/../python"
}

# model: a small two-tower model over every feature type but pretrained.
model() {
    "$PYTHON" "$FIXTURES/rs-train-tower/gen.py" .
    rs-train-tower -c tower.json --users users.tsv --items items.tsv --batch 32 --epochs 3 \
        --lr 0.02 -j 1 -q -o m.rsm train.tsv
}

vectors() {
    printf 'id\tv1\tv2\tv3\na\t0.5\t-1.25\t3\nb\\tc\t1e-3\t0\t-7.5\n' > v.tsv
    rs-cat --to rsb -o v.rsb v.tsv
}

@test "--to npz: numpy.load gives every tensor of the model and its sections" {
    model
    rs-cat --to npz -o m.npz m.rsm
    "$PYTHON" - <<'PY'
import json, numpy as np
from recsys_pipes_io import read_rsm
sections, tensors = read_rsm("m.rsm")
with np.load("m.npz", allow_pickle=False) as z:
    assert sorted(z.files) == sorted(list(tensors) + ["sections.json"]), z.files
    for name, t in tensors.items():
        assert z[name].dtype == t.dtype and z[name].shape == t.shape, name
        assert np.array_equal(z[name], t), name
    assert json.loads(z["sections.json"]) == sections
assert tensors["user.dense0.w"].dtype == np.float32 and tensors["item.item_id.counts"].dtype == np.uint64
PY
    rs-cat --to npz m.rsm > again.npz
    assert_same m.npz again.npz
}

@test "--to safetensors: the header's offsets, dtypes and shapes give the model's tensors" {
    model
    rs-cat --to safetensors -o m.safetensors m.rsm
    "$PYTHON" - <<'PY'
import json, struct, numpy as np
from recsys_pipes_io import read_rsm
sections, tensors = read_rsm("m.rsm")
b = open("m.safetensors", "rb").read()
(n,) = struct.unpack_from("<Q", b)
assert n % 8 == 0
h = json.loads(b[8:8 + n])
assert json.loads(h.pop("__metadata__")["sections"]) == sections
names = {"F32": "<f4", "U8": "u1", "U64": "<u8"}
assert sorted(h) == sorted(tensors)
end = 0
for name, e in h.items():
    lo, hi = e["data_offsets"]
    a = np.frombuffer(b[8 + n + lo:8 + n + hi], names[e["dtype"]]).reshape(e["shape"])
    assert np.array_equal(a, tensors[name]), name
    end = max(end, hi)
assert 8 + n + end == len(b)
PY
}

@test "an exported two-tower model scores user-item pairs in NumPy alone as rs-embed + dot product (1e-5)" {
    model
    rs-cat --to npz -o m.npz m.rsm
    rs-embed -m m.rsm --users users.tsv -f tsv -q -o ue.tsv
    rs-embed -m m.rsm --items items.tsv -f tsv -q -o ie.tsv
    "$PYTHON" "$BATS_TEST_DIRNAME/../examples/tower-numpy.py" m.npz users.tsv items.tsv > np.tsv
    "$PYTHON" - <<'PY'
import numpy as np
def emb(path):
    rows = [l.rstrip("\n").split("\t") for l in open(path)][1:]
    return {r[0]: np.array(r[1:], dtype=np.float64) for r in rows}
U, I = emb("ue.tsv"), emb("ie.tsv")
rows = [l.rstrip("\n").split("\t") for l in open("np.tsv")][1:]
assert len(rows) == len(U) * len(I) == 80 * 40, len(rows)
worst = max(abs(float(s) - U[u] @ I[i]) for u, i, s in rows)
assert worst <= 1e-5, worst
PY
}

@test "the Python reader reads RSB (f32, f16, i8) as rs-cat prints it" {
    vectors
    rs-cat --to rsb --dtype f16 -o v16.rsb v.tsv
    rs-cat --to rsb --dtype i8 -o v8.rsb v.tsv
    for f in v.rsb v16.rsb v8.rsb; do
        rs-cat "$f" > "$f.tsv"
        "$PYTHON" - "$f" <<'PY'
import sys, numpy as np
from recsys_pipes_io import read_rsb
ids, x = read_rsb(sys.argv[1])
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1] + ".tsv")][1:]
assert ids == [r[0].replace("\\t", "\t") for r in rows], ids
assert np.array_equal(x, np.array([r[1:] for r in rows], dtype=np.float32)), x
PY
    done
}

@test "the Python reader refuses a corrupt RSB and RSM" {
    vectors
    model
    cp v.rsb bad.rsb
    printf '\x55' | dd of=bad.rsb bs=1 seek=50 conv=notrunc 2>/dev/null
    cp m.rsm bad.rsm
    printf '\x55' | dd of=bad.rsm bs=1 seek=$(($(stat -c %s m.rsm) - 20)) conv=notrunc 2>/dev/null
    run -1 "$PYTHON" -c 'from recsys_pipes_io import read_rsb; read_rsb("bad.rsb")'
    [[ "$output" == *"RSB block checksum mismatch"* ]]
    run -1 "$PYTHON" -c 'from recsys_pipes_io import read_rsm; read_rsm("bad.rsm")'
    [[ "$output" == *"RSM data checksum mismatch"* ]]
}

@test "write_rsb of the Python module is read back by rs-cat" {
    "$PYTHON" -c '
import numpy as np
from recsys_pipes_io import write_rsb
write_rsb("p.rsb", ["x", "y"], np.array([[1, 2.5], [-3, 0.125]]), meta="tool\tpy\n")'
    run -0 rs-cat p.rsb
    [ "$output" = "$(printf 'id\tv1\tv2\nx\t1\t2.5\ny\t-3\t0.125')" ]
}

@test "--to npy: the RSB's vectors as one float32 matrix, rows in id order" {
    vectors
    rs-cat --to npy -o v.npy v.rsb
    "$PYTHON" - <<'PY'
import numpy as np
x = np.load("v.npy")
assert x.dtype == np.float32 and x.shape == (2, 3), (x.dtype, x.shape)
assert np.array_equal(x, np.array([[0.5, -1.25, 3], [1e-3, 0, -7.5]], dtype=np.float32)), x
import io
b = io.BytesIO()
np.save(b, x)
assert open("v.npy", "rb").read() == b.getvalue(), "not the bytes numpy.save writes"
PY
}

@test "--to pgvector and --to jsonl: one line per vector" {
    vectors
    run -0 rs-cat --to pgvector v.rsb
    [ "$output" = "$(printf 'a\t[0.5,-1.25,3]\nb\\tc\t[0.00100000005,0,-7.5]')" ]
    run -0 rs-cat --to jsonl --head 1 v.rsb
    [ "$output" = '{"id": "a", "vector": [0.5,-1.25,3]}' ]
    rs-cat --to jsonl v.rsb | "$PYTHON" -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert [r["id"] for r in rows] == ["a", "b\tc"], rows'
}

@test "--to jsonl of a table: one object per row, ids strings, numbers numbers" {
    printf 'user_id\titem_id\tscore\tnote\n7\ti1\t0.5\tx\\ty\n8\ti2\t-1\t\n' > t.tsv
    run -0 rs-cat --to jsonl t.tsv
    [ "${lines[0]}" = '{"user_id": "7", "item_id": "i1", "score": 0.5, "note": "x\u0009y"}' ]
    [ "${lines[1]}" = '{"user_id": "8", "item_id": "i2", "score": -1, "note": ""}' ]
    [ "${#lines[@]}" -eq 2 ]
    printf 'a\tb\n' > h.tsv
    run -0 rs-cat --to jsonl h.tsv
    [ -z "$output" ]
}

@test "an input the format does not fit is a usage error naming what it can become" {
    vectors
    model
    run -2 --separate-stderr rs-cat --to npz -o x.npz v.tsv
    assert_stderr_has "'v.tsv' is a table: --to npz takes an RSM model; a table can become tsv, rsb, json, jsonl"
    run -2 --separate-stderr rs-cat --to npy -o x.npy m.rsm
    assert_stderr_has "is an RSM model: --to npy takes RSB vectors; an RSM model can become npz, safetensors"
    run -2 --separate-stderr rs-cat --to safetensors -o x.st v.rsb
    assert_stderr_has "can become tsv, jsonl, npy, pgvector"
    run -2 --separate-stderr rs-cat --to npz -o x.npz m.rsm m.rsm
    assert_stderr_has "--to npz takes one input"
    run -2 --separate-stderr rs-cat --to npy --head 1 -o x.npy v.rsb
    assert_stderr_has "--head does not apply to --to npy"
    run -2 --separate-stderr rs-cat --to parquet v.rsb
    assert_stderr_has "invalid --to 'parquet'"
    [ ! -e x.npz ] && [ ! -e x.npy ] && [ ! -e x.st ]
}

@test "a corrupt model or RSB exports nothing (exit 1), -o /dev/full exits 1" {
    vectors
    model
    cp m.rsm bad.rsm
    printf '\x55' | dd of=bad.rsm bs=1 seek=$(($(stat -c %s m.rsm) - 20)) conv=notrunc 2>/dev/null
    head -c 60 v.rsb > cut.rsb
    for to in npz safetensors; do
        run -1 --separate-stderr rs-cat --to $to -o out.$to bad.rsm
        assert_stderr_has "RSM data checksum mismatch"
        [ ! -e out.$to ]
    done
    for to in npy pgvector jsonl; do
        run -1 --separate-stderr rs-cat --to $to -o out.$to cut.rsb
        assert_stderr_has "truncated RSB stream"
        [ ! -e out.$to ]
    done
    [ -z "$(ls -A | grep "\.tmp\.")" ]
    run -1 --separate-stderr rs-cat --to npz -o /dev/full m.rsm
    run -1 --separate-stderr rs-cat --to npy -o /dev/full v.rsb
}
