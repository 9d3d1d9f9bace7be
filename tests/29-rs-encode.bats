#!/usr/bin/env bats
# rs-encode: a tiny random-weight BERT (MiniLM-L6's shapes, 2 layers, a small
# vocabulary) generated in safetensors by tests/ref/bert_ref.py; embeddings
# against its numpy forward pass, tokeniser cases against ids derived by
# hand (and checked against HF tokenizers once), bad model files refused, and
# the conventions of every tool.
load helpers

REF="$BATS_TEST_DIRNAME/ref/bert_ref.py"
CASES="$BATS_TEST_DIRNAME/fixtures/rs-encode"

setup_file() {
    cd "$BATS_FILE_TMPDIR" || return 1
    "$PYTHON" "$REF" gen tiny
    printf 'item_id\ttitle\tgenre\n' > items.tsv
    printf 'a\tThe cat sat on the mat.\tdoggy\nb\tUnbelievable! Café, résumé;\tnaïve 北京東\n' >> items.tsv
    printf 'c\thello world\tdog dogs cats\nd\t\t\ne\tx\ty\nf\ta b c d e f g h i j k l m n o p q r s\tz\n' >> items.tsv
}

# model DIR: a copy of the tiny model to break.
model() {
    cp -r "$BATS_FILE_TMPDIR/tiny" "$1"
}

# max_diff A.tsv B.tsv: the largest absolute difference of two id+vector TSVs
# (the first with a header line), rows in the same order.
max_diff() {
    "$PYTHON" -c '
import sys
import numpy as np
a = np.loadtxt(sys.argv[1], delimiter="\t", skiprows=1, usecols=range(1, 385), ndmin=2)
b = np.loadtxt(sys.argv[2], delimiter="\t", usecols=range(1, 385), ndmin=2)
print("%.3g" % np.abs(a - b).max())' "$1" "$2"
}

@test "rs-encode --help, --version, unknown flag, missing --model" {
    run -0 --separate-stderr rs-encode --help
    [[ "$output" == *"Usage: rs-encode"* ]]
    [[ "$output" == *"--text-cols"* ]]
    [[ "$output" == *"Examples:"* ]]
    run -0 rs-encode --version
    run -2 --separate-stderr rs-encode --bogus
    assert_stderr_has "Try 'rs-encode --help'"
    run -2 --separate-stderr rs-encode -f tsv items.tsv
    assert_stderr_has "no model"
    run -2 --separate-stderr rs-encode -m tiny -f xml items.tsv
    assert_stderr_has "invalid --format 'xml'"
    run -2 --separate-stderr rs-encode -m tiny --batch 0 -f tsv items.tsv
}

@test "embeddings equal the numpy forward pass of the same model to 1e-5" {
    cp "$BATS_FILE_TMPDIR"/items.tsv .
    run -0 --separate-stderr rs-encode -q -m "$BATS_FILE_TMPDIR/tiny" -f tokens items.tsv -o tokens.tsv
    run -0 --separate-stderr rs-encode -q -m "$BATS_FILE_TMPDIR/tiny" -f tsv items.tsv -o c.tsv
    [ "$(head -1 c.tsv | cut -f1-3)" = "id	v1	v2" ]
    [ "$(wc -l < c.tsv)" -eq 7 ]
    "$PYTHON" "$REF" ref "$BATS_FILE_TMPDIR/tiny" tokens.tsv > ref.tsv
    d=$(max_diff c.tsv ref.tsv)
    echo "max |rs-encode - numpy| = $d"
    awk -v d="$d" 'BEGIN { exit !(d < 1e-5) }'
    # the text columns are joined by a space; --text-cols picks them
    run -0 rs-encode -q -m "$BATS_FILE_TMPDIR/tiny" -f tokens --text-cols genre items.tsv
    [ "${lines[1]}" = "a	2 120 121 3" ]
    # the over-long row is cut to max_seq_length (16): [CLS], 14 pieces, [SEP]
    [ "$(awk -F'\t' '$1 == "f" { print split($2, a, " ") }' tokens.tsv)" -eq 16 ]
}

@test "the numpy comparison fails when the model differs (the test can fail)" {
    model m
    "$PYTHON" "$REF" gen other 8
    cp other/model.safetensors m/model.safetensors
    rs-encode -q -m "$BATS_FILE_TMPDIR/tiny" -f tokens "$BATS_FILE_TMPDIR/items.tsv" -o tokens.tsv
    rs-encode -q -m m -f tsv "$BATS_FILE_TMPDIR/items.tsv" -o c.tsv
    "$PYTHON" "$REF" ref "$BATS_FILE_TMPDIR/tiny" tokens.tsv > ref.tsv
    d=$(max_diff c.tsv ref.tsv)
    awk -v d="$d" 'BEGIN { exit !(d > 1e-2) }'
}

@test "tokeniser: accents, CJK, emoji, punctuation, long words and inputs, special tokens" {
    # expected ids derived by hand from the vocabulary of tests/ref/bert_ref.py
    # (and equal to HF tokenizers 0.19's on the same tokenizer.json)
    run -0 --separate-stderr rs-encode -q -m "$BATS_FILE_TMPDIR/tiny" -f tokens "$CASES/cases.tsv" -o got.tsv
    diff "$CASES/cases.expected" got.tsv
}

@test "rows keep their order, ids key the RSB, and any thread count or batch gives the same vectors" {
    m="$BATS_FILE_TMPDIR/tiny"
    rs-encode -q -m "$m" -j 1 -o a.rsb "$BATS_FILE_TMPDIR/items.tsv"
    rs-encode -q -m "$m" -j 2 -o b.rsb "$BATS_FILE_TMPDIR/items.tsv"
    assert_same a.rsb b.rsb
    rs-encode -q -m "$m" -j 2 --batch 1 -f tsv "$BATS_FILE_TMPDIR/items.tsv" -o b1.tsv
    rs-encode -q -m "$m" -j 1 --batch 4 -f tsv "$BATS_FILE_TMPDIR/items.tsv" -o b4.tsv
    cut -f1 b1.tsv | tr '\n' ' ' | grep -qx 'id a b c d e f '
    tail -n +2 b4.tsv > b4.body
    d=$(max_diff b1.tsv b4.body)
    awk -v d="$d" 'BEGIN { exit !(d < 1e-6) }'
    # the RSB holds the same vectors as the TSV
    run -0 rs-cat a.rsb
    [ "${#lines[@]}" -eq 7 ]
    [[ "${lines[1]}" == "a	"* ]]
}

@test "stdin, CSV and .zst input agree; --id-col" {
    m="$BATS_FILE_TMPDIR/tiny"
    rs-encode -q -m "$m" -f tokens "$BATS_FILE_TMPDIR/items.tsv" > file.tsv
    rs-encode -q -m "$m" -f tokens < "$BATS_FILE_TMPDIR/items.tsv" > stdin.tsv
    assert_same file.tsv stdin.tsv
    zstd -q -o items.tsv.zst "$BATS_FILE_TMPDIR/items.tsv"
    rs-encode -q -m "$m" -f tokens items.tsv.zst > zst.tsv
    assert_same file.tsv zst.tsv
    printf 'title,item_id\n"hello, world",7\n' > items.csv
    run -0 rs-encode -q -m "$m" -f tokens --id-col item_id items.csv
    [ "${lines[1]}" = "7	2 122 16 123 3" ]
}

@test "bad input: duplicate or empty id, unknown column, empty input, /dev/full; nothing left at -o" {
    m="$BATS_FILE_TMPDIR/tiny"
    printf 'id\ttext\na\tcat\na\tdog\n' > dup.tsv
    run -1 --separate-stderr rs-encode -m "$m" -o out.rsb dup.tsv
    assert_stderr_has "'dup.tsv' line 3"
    assert_stderr_has "seen on an earlier line"
    [ ! -e out.rsb ]
    printf 'id\ttext\n\tcat\n' > empty_id.tsv
    run -1 --separate-stderr rs-encode -m "$m" -f tsv empty_id.tsv
    assert_stderr_has "empty id"
    run -1 --separate-stderr rs-encode -m "$m" -f tsv --text-cols nope "$BATS_FILE_TMPDIR/items.tsv"
    assert_stderr_has "nope"
    : > empty.tsv
    run -1 --separate-stderr rs-encode -m "$m" -f tsv empty.tsv
    assert_stderr_has "empty input"
    printf 'id\n1\n' > one.tsv
    run -1 --separate-stderr rs-encode -m "$m" -f tsv one.tsv
    assert_stderr_has "no text column"
    run -1 --separate-stderr rs-encode -m "$m" -f tsv -o /dev/full "$BATS_FILE_TMPDIR/items.tsv"
    run -1 --separate-stderr rs-encode -m "$m" -f tsv nope.tsv
    assert_stderr_has "nope.tsv"
    # a header-only table gives a header-only output
    printf 'id\ttext\n' > header.tsv
    run -0 rs-encode -q -m "$m" -f tsv header.tsv
    [ "${#lines[@]}" -eq 1 ]
}

# refused DIR MESSAGE: rs-encode exits 1 on model DIR saying MESSAGE, and
# writes nothing.
refused() {
    run -1 --separate-stderr rs-encode -m "$1" -o out.rsb "$BATS_FILE_TMPDIR/items.tsv"
    assert_stderr_has "$2"
    [ ! -e out.rsb ]
}

# patch_header DIR PYTHON: rewrites DIR/model.safetensors' JSON header h
# (a dict) with the Python statement PYTHON, data unchanged.
patch_header() {
    "$PYTHON" - "$1/model.safetensors" "$2" <<'PY'
import json, struct, sys
p = sys.argv[1]
b = open(p, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
exec(sys.argv[2])
j = json.dumps(h).encode()
open(p, "wb").write(struct.pack("<Q", len(j)) + j + b[8 + n:])
PY
}

@test "a truncated, mis-shaped or non-BERT model: a clear error naming file and tensor, exit 1" {
    model t
    truncate -s 1000000 t/model.safetensors
    refused t "'t/model.safetensors'"
    assert_stderr_has "truncated"
    model t4
    truncate -s 4 t4/model.safetensors
    refused t4 "truncated"
    model s
    sed -i 's/"intermediate_size": 1536/"intermediate_size": 1024/' s/config.json
    refused s "tensor 'encoder.layer.0.intermediate.dense.weight' has shape [1536, 384], the config says [1024, 384]"
    model h
    sed -i 's/"num_attention_heads": 12/"num_attention_heads": 7/' h/config.json
    refused h "7 heads do not divide hidden_size 384"
    model g
    sed -i 's/"model_type": "bert"/"model_type": "gpt2"/' g/config.json
    refused g "model_type: expected one of bert"
    model n
    patch_header n 'h["decoder.layer.0.weight"] = h.pop("encoder.layer.1.output.dense.weight")'
    refused n "no tensor 'encoder.layer.1.output.dense.weight' (not a BERT model?)"
    model d
    patch_header d 'h["embeddings.LayerNorm.bias"]["dtype"] = "I32"'
    refused d "tensor 'embeddings.LayerNorm.bias' is I32, expected F32, F16 or BF16"
    model x
    patch_header x 'h["embeddings.LayerNorm.bias"]["dtype"] = "F31"'
    refused x "embeddings.LayerNorm.bias.dtype: expected a safetensors dtype"
    model o
    patch_header o 'h["embeddings.LayerNorm.bias"]["data_offsets"] = h["embeddings.LayerNorm.weight"]["data_offsets"]'
    refused o "overlap"
    model b
    patch_header b 'h["embeddings.LayerNorm.bias"]["shape"] = [385]'
    refused b "embeddings.LayerNorm.bias.data_offsets"
    model j
    printf '\x10\0\0\0\0\0\0\0{"a": [1, 2,]}  ' > j/model.safetensors
    refused j "'j/model.safetensors' line 1"
    model p
    sed -i 's/"pooling_mode_mean_tokens": true/"pooling_mode_mean_tokens": false/' p/1_Pooling/config.json
    refused p "only mean pooling is supported"
    model w
    "$PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1])); d["model"]["type"] = "BPE"
json.dump(d, open(sys.argv[1], "w"))' w/tokenizer.json
    refused w "model.type: expected one of WordPiece"
    model v
    sed -i 's/"vocab_size": 124/"vocab_size": 100/' v/config.json
    refused v "124 tokens, but"
    run -1 --separate-stderr rs-encode -m nodir -f tsv "$BATS_FILE_TMPDIR/items.tsv"
    assert_stderr_has "nodir/config.json"
}

@test "F16 and BF16 weights are widened: the same vectors to their precision" {
    model h
    "$PYTHON" - h/model.safetensors <<'PY'
import json, struct, sys
import numpy as np
p = sys.argv[1]
b = open(p, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
data, out, off = b[8 + n:], b"", 0
for k, v in h.items():
    if k == "__metadata__":
        continue
    a = np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], "<f4").astype("<f2").tobytes()
    v["dtype"], v["data_offsets"] = "F16", [off, off + len(a)]
    out += a
    off += len(a)
j = json.dumps(h).encode()
open(p, "wb").write(struct.pack("<Q", len(j)) + j + out)
PY
    rs-encode -q -m "$BATS_FILE_TMPDIR/tiny" -f tsv "$BATS_FILE_TMPDIR/items.tsv" -o f32.tsv
    rs-encode -q -m h -f tsv "$BATS_FILE_TMPDIR/items.tsv" -o f16.tsv
    tail -n +2 f16.tsv > f16.body
    d=$(max_diff f32.tsv f16.body)
    echo "f16 vs f32: $d"
    awk -v d="$d" 'BEGIN { exit !(d > 0 && d < 0.05) }'
}

@test "the demo with ENCODER: item descriptions embedded by rs-encode feed the tower's pretrained feature" {
    make -C "$BATS_TEST_DIRNAME/.." -f pipelines/demo.mk BIN="$BIN" OUT="$BATS_TEST_TMPDIR/demo" \
        ENCODER="$BATS_FILE_TMPDIR/tiny" USERS=300 ITEMS=150 EVENTS=20000 THREADS=2 EPOCHS=2 \
        "$BATS_TEST_TMPDIR/demo/item_emb.rsb" > make.log
    d="$BATS_TEST_TMPDIR/demo"
    [ "$(rs-cat "$d/text/item_text.tsv.zst" | wc -l)" -eq 151 ]
    run -0 rs-cat --head 1 "$d/item_text.rsb"
    [[ "${lines[1]}" == "i0	"* ]]
    grep -q '"description": {"type": "pretrained", "path": "'"$d"'/item_text.rsb"' "$d/tower-text.json"
    grep -q -- "-c $d/tower-text.json" make.log
    [ "$(rs-cat "$d/item_emb.rsb" | wc -l)" -gt 100 ]
}
