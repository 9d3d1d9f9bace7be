#!/usr/bin/env bats
# rs-embed: embeddings from a two-tower model, cold start, output formats,
# the conventions of every tool.
load helpers

# model: trains a small model on the generated data, holding user u79 out of
# training (it stays in users.tsv: a cold-start user with features).
model() {
    "$PYTHON" "$FIXTURES/rs-train-tower/gen.py" .
    grep -v '^u79	' train.tsv > train_warm.tsv
    rs-train-tower -c tower.json --users users.tsv --items items.tsv --batch 32 --epochs 6 \
        --lr 0.02 -j 1 -q -o m.rsm train_warm.tsv
}

@test "rs-embed --help, --version, unknown flag, missing --model / input" {
    run -0 --separate-stderr rs-embed --help
    [[ "$output" == *"Usage: rs-embed"* ]]
    [[ "$output" == *"--format F"* ]]
    [[ "$output" == *"Examples:"* ]]
    run -0 rs-embed --version
    [[ "$output" == *"openblas=yes"* ]]
    run -2 --separate-stderr rs-embed --bogus
    assert_stderr_has "Try 'rs-embed --help'"
    run -2 --separate-stderr rs-embed --users u.tsv -f tsv
    assert_stderr_has "no model"
    run -2 --separate-stderr rs-embed -m m.rsm -f tsv
    assert_stderr_has "nothing to embed"
    run -2 --separate-stderr rs-embed -m m.rsm --users a --items b
    run -2 --separate-stderr rs-embed -m m.rsm --users a -f xml
    assert_stderr_has "invalid --format 'xml'"
}

@test "missing or corrupt model, missing input: exit 1 naming the file" {
    model
    run -1 --separate-stderr rs-embed -m nope.rsm --users users.tsv -f tsv
    assert_stderr_has "cannot open 'nope.rsm'"
    run -1 --separate-stderr rs-embed -m m.rsm --users nope.tsv -f tsv
    assert_stderr_has "cannot open 'nope.tsv'"
    cp m.rsm bad.rsm
    printf '\x55' | dd of=bad.rsm bs=1 seek=3000 conv=notrunc 2>/dev/null
    run -1 --separate-stderr rs-embed -m bad.rsm --users users.tsv -f tsv
    assert_stderr_has "checksum mismatch"
    run -1 --separate-stderr rs-embed -m users.tsv --users users.tsv -f tsv
    assert_stderr_has "not an RSM file"
}

@test "an id twice in the table is refused naming both lines, nothing written (issue 20)" {
    model
    { cat users.tsv; sed -n 3p users.tsv; } > dup.tsv
    id=$(sed -n 3p users.tsv | cut -f1)
    last=$(($(wc -l < users.tsv) + 1))
    for f in rsb tsv; do
        run -1 --separate-stderr rs-embed -m m.rsm --users dup.tsv -f $f -o out.$f
        assert_stderr_has "'dup.tsv' line $last: column 'user_id': duplicate id '$id' (first on line 3)"
        [ ! -e out.$f ]
    done
}

@test "TSV output: a row per input row, d columns, L2-normalised" {
    model
    run -0 rs-embed -m m.rsm --items items.tsv -f tsv -o items.emb.tsv
    [ "$(head -1 items.emb.tsv | cut -f1,2,9)" = "$(printf 'id\tv1\tv8')" ]
    [ "$(wc -l < items.emb.tsv)" -eq 41 ]
    awk -F'\t' 'NR > 1 { s = 0; for (i = 2; i <= NF; i++) s += $i * $i; if (s < 0.999 || s > 1.001) bad++ }
                END { exit bad > 0 }' items.emb.tsv
}

@test "RSB (default) equals the TSV through rs-cat; metadata names the model" {
    model
    rs-embed -m m.rsm --users users.tsv -o u.rsb
    rs-embed -m m.rsm --users users.tsv -f tsv > u.tsv
    rs-cat u.rsb > u2.tsv
    assert_same u.tsv u2.tsv
    run -0 rs-cat --schema u.rsb
    [[ "$output" == *"rows	80"* ]]
    [[ "$output" == *"kind	user"* ]]
    [[ "$output" == *"model	m.rsm"* ]]
    rs-embed -m m.rsm --users users.tsv --dtype f16 -o u16.rsb
    run -0 rs-cat --schema u16.rsb
    [[ "$output" == *"dtype	f16"* ]]
}

@test "PostgreSQL COPY text: id, model id, array literal" {
    model
    rs-embed -m m.rsm --items items.tsv -f pg --model-id tower-v1 > pg.txt
    [ "$(wc -l < pg.txt)" -eq 40 ]
    head -1 pg.txt | grep -Eq '^i0	tower-v1	\{-?[0-9.e-]+(,-?[0-9.e-]+){7}\}$'
    # Same numbers as the TSV output.
    rs-embed -m m.rsm --items items.tsv -f tsv | sed 1d | head -1 | cut -f2- | tr '\t' ',' > a
    head -1 pg.txt | cut -f3 | tr -d '{}' > b
    assert_same a b
}

@test "cold start: a user never seen in training is embedded from features near its group" {
    model
    run -1 grep -q '^u79	' train_warm.tsv
    rs-embed -m m.rsm --users users.tsv -f tsv > u.tsv
    rs-embed -m m.rsm --items items.tsv -f tsv > i.tsv
    # u79 is in group 3: most of its 10 nearest items are items of group 3.
    "$PYTHON" - <<'EOF'
rows = lambda f: {l.split("\t")[0]: [float(x) for x in l.split("\t")[1:]] for l in list(open(f))[1:]}
u, items = rows("u.tsv"), rows("i.tsv")
v = u["u79"]
assert abs(sum(x * x for x in v) - 1) < 1e-3
top = sorted(items, key=lambda i: -sum(a * b for a, b in zip(v, items[i])))[:10]
hits = sum(int(i[1:]) % 4 == 3 for i in top)
assert hits >= 7, (top, hits)
EOF
}

@test "an id and a feature column missing from the input are errors naming them" {
    model
    cut -f1,2,4 items.tsv > items2.tsv
    run -1 --separate-stderr rs-embed -m m.rsm --items items2.tsv -f tsv
    assert_stderr_has "item feature 'title' (text) needs column 'title', which 'items2.tsv' lacks"
    cut -f2- items.tsv > items3.tsv
    run -1 --separate-stderr rs-embed -m m.rsm --items items3.tsv -f tsv
    assert_stderr_has "'item_id'"
    awk -F'\t' 'NR == 4 { $2 = "x" } 1' OFS='\t' items.tsv > items4.tsv
    run -1 --separate-stderr rs-embed -m m.rsm --items items4.tsv -o e.rsb
    assert_stderr_has "'items4.tsv' line 4: column 'category': expected an integer, got 'x'"
    [ ! -e e.rsb ]
}

@test "stdin, file and .zst input give the same bytes; header-only input gives no rows" {
    model
    zstd -q users.tsv -o users.tsv.zst
    rs-embed -m m.rsm --users users.tsv -o a.rsb
    rs-embed -m m.rsm --users - -o b.rsb < users.tsv
    rs-embed -m m.rsm --users users.tsv.zst -o c.rsb
    rs-cat users.tsv.zst | rs-embed -m m.rsm --users - -o d.rsb
    assert_same a.rsb b.rsb
    assert_same a.rsb c.rsb
    assert_same a.rsb d.rsb
    rs-embed -m m.rsm --users users.tsv -o e.rsb
    assert_same a.rsb e.rsb
    head -1 users.tsv > h.tsv
    run -0 rs-embed -m m.rsm --users h.tsv -f tsv
    [ "$(echo "$output" | wc -l)" -eq 1 ]
}

@test "1, 2 and 3 threads give the same bytes (forward passes in blocks of 256 rows)" {
    model
    # 1120 users, two chunks: each row of users.tsv 14 times under new ids
    awk -F'\t' -v OFS='\t' 'NR == 1 { print; next } { r[NR] = $0 }
        END { for (k = 0; k < 14; k++) for (i = 2; i <= NR; i++) { $0 = r[i]; $1 = $1 "x" k; print } }' \
        users.tsv > many.tsv
    [ "$(wc -l < many.tsv)" -eq 1121 ]
    rs-embed -m m.rsm --users many.tsv -j 1 -o a.rsb
    OPENBLAS_NUM_THREADS=2 rs-embed -m m.rsm --users many.tsv -j 2 -o b.rsb
    rs-embed -m m.rsm --users many.tsv -j 3 -o c.rsb
    assert_same a.rsb b.rsb
    assert_same a.rsb c.rsb
}

@test "the model and the table through process substitutions give the same vectors" {
    model
    rs-embed -m m.rsm --users users.tsv -f tsv > a.tsv
    rs-embed -m <(cat m.rsm) --users <(cat users.tsv) -f tsv > b.tsv
    assert_same a.tsv b.tsv
    rs-embed -m m.rsm --items items.tsv -o a.rsb
    rs-embed -m m.rsm --items <(cat items.tsv) -o b.rsb
    assert_same a.rsb b.rsb
}

@test "-o /dev/full fails with exit 1" {
    model
    run -1 --separate-stderr rs-embed -m m.rsm --users users.tsv -f tsv -o /dev/full
    assert_stderr_has "rs-embed:"
}

@test "pretrained features: the model refers to the RSB; --pretrained NAME=FILE overrides the path" {
    "$PYTHON" "$FIXTURES/rs-train-tower/gen.py" .
    rs-cat --to rsb -o pre.rsb pre.tsv
    "$PYTHON" -c '
import json; c = json.load(open("tower.json"))
c["item_embedding_layers"]["img"] = {"type": "pretrained", "path": "pre.rsb", "embedding_size": 4}
json.dump(c, open("pre.json", "w"))'
    rs-train-tower -c pre.json --users users.tsv --items items.tsv --batch 32 --epochs 2 -q -o m.rsm train.tsv
    rs-embed -m m.rsm --items items.tsv -f tsv > a.tsv
    mv pre.rsb moved.rsb
    run -1 --separate-stderr rs-embed -m m.rsm --items items.tsv -f tsv
    assert_stderr_has "pre.rsb"
    rs-embed -m m.rsm --items items.tsv -f tsv --pretrained img=moved.rsb > b.tsv
    assert_same a.tsv b.tsv
    run -2 --separate-stderr rs-embed -m m.rsm --items items.tsv -f tsv --pretrained nope=moved.rsb
    assert_stderr_has "no pretrained feature of that name"
}
