#!/usr/bin/env bats
# rs-rank: training on a planted rs-synth event log, scoring and evaluation;
# the learned ranking must beat the retrieval (popularity) order on NDCG;
# and the conventions of every tool.
load helpers

CFG="$BATS_TEST_DIRNAME/fixtures/rs-rank/rank.json"

# One synthetic world for the file: events split 80/20 by time, test
# candidates in popularity order (tests/fixtures/rs-rank/candidates.py),
# and a model trained on the first 80%.
setup_file() {
    cd "$BATS_FILE_TMPDIR" || return 1
    "$BIN"/rs-synth -q -o syn --users 300 --items 120 --events 120000
    local n=$(($(wc -l < syn/events.tsv) - 1))
    { head -1 syn/events.tsv; tail -n +2 syn/events.tsv | head -n $((n * 8 / 10)); } > train.tsv
    { head -1 syn/events.tsv; tail -n +2 syn/events.tsv | tail -n +$((n * 8 / 10 + 1)); } > test.tsv
    $PYTHON "$BATS_TEST_DIRNAME/fixtures/rs-rank/candidates.py" train.tsv test.tsv syn/items.tsv \
        cand.tsv items.tsv
    cp syn/users.tsv users.tsv
    "$BIN"/rs-rank train -q -j 1 -c "$CFG" --items items.tsv --users users.tsv --batch 256 --lr 0.005 \
        -o model.rsm train.tsv
}

# config_fails JSON MESSAGE: rs-rank train refuses the config (exit 1, no
# model written), saying MESSAGE.
config_fails() {
    printf '%s\n' "$1" > cfg.json
    run -1 --separate-stderr rs-rank train -c cfg.json -o m.rsm train.tsv
    assert_stderr_has "$2"
    [ ! -e m.rsm ]
}

world() { # copies the shared files into the test's directory
    cp "$BATS_FILE_TMPDIR"/{train.tsv,test.tsv,cand.tsv,items.tsv,users.tsv,model.rsm} .
}

value() { # value FILE MODEL METRIC K
    awk -F'\t' -v m="$2" -v x="$3" -v k="$4" '$1 == m && $2 == x && $3 == k { print $4 }' "$1"
}

@test "rs-rank --help shows commands, defaults and examples on stdout" {
    run -0 --separate-stderr rs-rank --help
    [[ "$output" == *"Usage: rs-rank train|score|eval"* ]]
    [[ "$output" == *"(default 10)"* ]]
    [[ "$output" == *"--pos-weight-click"* ]]
    [[ "$output" == *"--emb-l2 X"*"(default 2)"* ]]
    [[ "$output" == *"--stop-metric M"*"(default auc)"* ]]
    [[ "$output" == *'"buckets": N'* ]]
    [[ "$output" == *"Examples:"* ]]
    [ -z "$stderr" ]
}

@test "rs-rank --version, unknown flag or command -> 2, missing options -> 2" {
    run -0 rs-rank --version
    [[ "$output" == *"openblas"* ]]
    run -2 --separate-stderr rs-rank train --bogus
    assert_stderr_has "Try 'rs-rank --help'"
    run -2 --separate-stderr rs-rank frobnicate
    assert_stderr_has "unknown command 'frobnicate'"
    run -2 --separate-stderr rs-rank
    assert_stderr_has "missing command"
    run -2 --separate-stderr rs-rank train -o m.rsm x.tsv
    assert_stderr_has "train needs --config"
    run -2 --separate-stderr rs-rank score x.tsv
    assert_stderr_has "score needs --model"
    run -2 --separate-stderr rs-rank eval -m m.rsm --k 10,5 x.tsv
    assert_stderr_has "ascending"
    run -2 --separate-stderr rs-rank train -c x.json -o m --valid-frac 2 x.tsv
    assert_stderr_has "--valid-frac"
    run -2 --separate-stderr rs-rank train -c x.json -o m --stop-metric ndcg x.tsv
    assert_stderr_has "--stop-metric: expected auc or logloss, got 'ndcg'"
    run -2 --separate-stderr rs-rank train -c x.json -o m --emb-l2 -1 x.tsv
    assert_stderr_has "--emb-l2"
}

@test "missing input, config or model exits 1 naming it" {
    world
    run -1 --separate-stderr rs-rank train -c "$CFG" -o m.rsm nope.tsv
    assert_stderr_has "nope.tsv"
    run -1 --separate-stderr rs-rank train -c nope.json -o m.rsm train.tsv
    assert_stderr_has "nope.json"
    run -1 --separate-stderr rs-rank score -m nope.rsm cand.tsv
    assert_stderr_has "nope.rsm"
    printf 'not a model\n' > fake.rsm
    run -1 --separate-stderr rs-rank score -m fake.rsm cand.tsv
    assert_stderr_has "not an RSM file"
    [ ! -e m.rsm ]
}

@test "score: a users or items table with an id twice is refused naming both lines (issue 20)" {
    world
    { cat users.tsv; sed -n 2p users.tsv; } > dupusers.tsv
    run -1 --separate-stderr rs-rank score -j 1 -m model.rsm --items items.tsv --users dupusers.tsv -o out.tsv cand.tsv
    assert_stderr_has "'dupusers.tsv' line $(($(wc -l < users.tsv) + 1)): column 'user_id': duplicate id '$(sed -n 2p users.tsv | cut -f1)' (first on line 2)"
    [ ! -e out.tsv ]
    { cat items.tsv; sed -n 4p items.tsv; } > dupitems.tsv
    run -1 --separate-stderr rs-rank score -j 1 -m model.rsm --items dupitems.tsv --users users.tsv -o out.tsv cand.tsv
    assert_stderr_has "'dupitems.tsv' line $(($(wc -l < items.tsv) + 1)): column 'item_id': duplicate id '$(sed -n 4p items.tsv | cut -f1)' (first on line 4)"
    [ ! -e out.tsv ]
}

@test "the learned ranking beats the retrieval order on NDCG (planted rs-synth)" {
    world
    run -0 --separate-stderr rs-rank eval -j 1 -m model.rsm --items items.tsv --users users.tsv -o ev.tsv cand.tsv
    head -1 ev.tsv | grep -q $'^model\tmetric\tk\tvalue$'
    local m5 i5 m10 i10 auc
    m5=$(value ev.tsv rs-rank ndcg 5); i5=$(value ev.tsv input ndcg 5)
    m10=$(value ev.tsv rs-rank ndcg 10); i10=$(value ev.tsv input ndcg 10)
    auc=$(value ev.tsv rs-rank auc_click "")
    echo "ndcg@5 $m5 vs $i5, ndcg@10 $m10 vs $i10, auc $auc"
    awk -v a="$m10" -v b="$i10" 'BEGIN { exit !(a > b + 0.04) }'
    awk -v a="$m5" -v b="$i5" 'BEGIN { exit !(a > b + 0.04) }'
    awk -v a="$auc" 'BEGIN { exit !(a > 0.62) }'
    [ "$(value ev.tsv rs-rank lists "")" -gt 100 ]
}

@test "score: rank, score = p_click + p_booking, sorted per user, --keep cuts lists" {
    world
    rs-rank score -j 1 -m model.rsm --items items.tsv --users users.tsv cand.tsv > ranked.tsv
    head -1 ranked.tsv | grep -q $'^user_id\titem_id\trank\tscore\tclick\tbooking\thour\tdistance\tp_click\tp_booking$'
    [ "$(wc -l < ranked.tsv)" -eq "$(wc -l < cand.tsv)" ]
    # ranks 1.. per user, scores descending, score = p_click + p_booking
    awk -F'\t' 'NR > 1 {
        if ($1 != u) { u = $1; r = 0; prev = 1e9 }
        if ($3 != ++r || $4 > prev + 0 || ($4 - $9 - $10) > 1e-6 || ($9 + $10 - $4) > 1e-6) { print "bad row " NR; exit 1 }
        prev = $4 }' ranked.tsv
    rs-rank score -j 1 -m model.rsm --items items.tsv --users users.tsv --keep 3 cand.tsv > top3.tsv
    [ "$(cut -f1 top3.tsv | sort | uniq -c | awk '$1 > 3' | wc -l)" -eq 0 ]
    awk -F'\t' 'NR > 1 && $3 <= 3' ranked.tsv | cut -f1,2 > want
    tail -n +2 top3.tsv | cut -f1,2 > got
    assert_same want got
}

@test "stdin, file and .zst input give the same output" {
    world
    rs-rank score -m model.rsm --items items.tsv --users users.tsv cand.tsv > a
    rs-rank score -m model.rsm --items items.tsv --users users.tsv < cand.tsv > b
    zstd -q cand.tsv -o cand.tsv.zst
    rs-rank score -m model.rsm --items items.tsv --users users.tsv cand.tsv.zst > c
    assert_same a b
    assert_same a c
    rs-rank score -m model.rsm --items items.tsv --users users.tsv -o d.zst cand.tsv
    zstd -dc d.zst > d
    assert_same a d
}

@test "empty and header-only input" {
    world
    : > empty.tsv
    run -0 --separate-stderr rs-rank score -m model.rsm empty.tsv
    [ "$output" = $'user_id\titem_id\trank\tscore\tp_click\tp_booking' ]
    head -1 cand.tsv > header.tsv
    run -0 --separate-stderr rs-rank score -m model.rsm --items items.tsv --users users.tsv header.tsv
    [ "$output" = "$(head -1 cand.tsv)"$'\tp_click\tp_booking' ]
    run -1 --separate-stderr rs-rank train -c "$CFG" --items items.tsv --users users.tsv -o m.rsm header.tsv
    assert_stderr_has "no training examples"
    [ ! -e m.rsm ]
}

@test "score and eval: a model column found nowhere is an error, unless --allow-missing" {
    world
    run -1 --separate-stderr rs-rank score -m model.rsm --items items.tsv -o out.tsv cand.tsv
    assert_stderr_has "'cand.tsv': columns of the model neither in the input nor in the users or items table: region, age"
    [ ! -e out.tsv ]
    run -1 --separate-stderr rs-rank eval -m model.rsm --items items.tsv -o out.tsv cand.tsv
    [ ! -e out.tsv ]
    run -0 --separate-stderr rs-rank score -m model.rsm --items items.tsv --allow-missing -o out.tsv cand.tsv
    assert_stderr_has "read as missing: region, age"
    [ "$(wc -l < out.tsv)" -eq "$(wc -l < cand.tsv)" ]
}

@test "bad input exits 1 naming file, line and column; no model is left" {
    world
    printf 'user_id\titem_id\tclick\tbooking\tdistance\nu1\ti1\t1\t0\t3\nu1\ti2\tyes\t0\t3\n' > bad.tsv
    run -1 --separate-stderr rs-rank train -c "$CFG" --items items.tsv --users users.tsv -o m.rsm bad.tsv
    assert_stderr_has "'bad.tsv' line 3: column 'click'"
    [ ! -e m.rsm ]
    printf 'user_id\titem_id\tclick\tbooking\tdistance\nu1\ti1\t1\t0\tfar\n' > bad2.tsv
    run -1 --separate-stderr rs-rank eval -m model.rsm --items items.tsv --users users.tsv bad2.tsv
    assert_stderr_has "'bad2.tsv' line 2: column 'distance'"
    config_fails '{"numeric": ["distance"], "bogus": 1}' "'cfg.json': top level: unknown key \"bogus\""
    config_fails '{"numeric": ["nowhere"]}' "column 'nowhere' is neither in the input"
    sed '2s/\t[0-9.]*$/\tlots/' items.tsv > bad-items.tsv
    run -1 --separate-stderr rs-rank score -m model.rsm --items bad-items.tsv cand.tsv
    assert_stderr_has "'bad-items.tsv' line 2: column 'ctr'"
    awk 'NR == 1 || NR == 2 || NR > 40' cand.tsv > split.tsv
    head -2 cand.tsv | tail -1 >> split.tsv
    run -1 --separate-stderr rs-rank score -m model.rsm split.tsv
    assert_stderr_has "are not contiguous"
    [ ! -e m.rsm ]
}

@test "embedding_size \"64\" or 64.5 is refused (exit 1), naming the key's path; no model is left" {
    world
    config_fails '{"numeric": ["distance"], "embedding_size": "64"}' \
        "'cfg.json': embedding_size: expected an integer in 1..1024, got \"64\""
    config_fails '{"numeric": ["distance"], "embedding_size": 64.5}' \
        "'cfg.json': embedding_size: expected an integer in 1..1024, got 64.5"
    config_fails '{"categorical": ["user_id", {"name": "item_id", "embedding_size": "64"}]}' \
        "'cfg.json': categorical[1].embedding_size: expected an integer in 1..1024, got \"64\""
    config_fails '{"categorical": ["user_id", {"name": "item_id", "embedding_size": 64.5}]}' \
        "'cfg.json': categorical[1].embedding_size: expected an integer in 1..1024, got 64.5"
}

@test "-o /dev/full fails with exit 1" {
    world
    run -1 --separate-stderr rs-rank score -m model.rsm -o /dev/full cand.tsv
    [ -n "$stderr" ]
    run -1 --separate-stderr rs-rank eval -m model.rsm -o /dev/full cand.tsv
}

@test "same seed: byte-identical model and scores on 1, 2 and 3 threads; another seed differs" {
    world
    head -20001 train.tsv > small.tsv
    local a=(train -q -c "$CFG" --items items.tsv --users users.tsv --epochs 2 small.tsv)
    rs-rank "${a[@]}" -j 1 -o a.rsm
    rs-rank "${a[@]}" -j 1 -o b.rsm
    assert_same a.rsm b.rsm
    rs-rank "${a[@]}" -j 1 -s 7 -o c.rsm
    assert_differ a.rsm c.rsm
    # workers run fixed micro-batches and add them in order: the thread count,
    # OpenBLAS's included, changes no byte
    OPENBLAS_NUM_THREADS=2 rs-rank "${a[@]}" -j 2 -o d.rsm
    rs-rank "${a[@]}" -j 3 --batch 700 -o e.rsm
    rs-rank "${a[@]}" -j 1 --batch 700 -o f.rsm
    assert_same a.rsm d.rsm
    assert_same e.rsm f.rsm
    rs-rank score -j 1 -m a.rsm --items items.tsv --users users.tsv cand.tsv > s1
    OPENBLAS_NUM_THREADS=3 rs-rank score -j 3 -m b.rsm --items items.tsv --users users.tsv cand.tsv > s2
    assert_same s1 s2
    run -0 rs-cat --schema a.rsm
    [[ "$output" == *'"kind":"rank"'* ]]
}

@test "config, tables, model and input through process substitutions: the same model and scores" {
    world
    head -20001 train.tsv > small.tsv
    rs-rank train -q -j 1 -c "$CFG" --items items.tsv --users users.tsv --epochs 1 -o a.rsm small.tsv
    rs-rank train -q -j 1 -c <(cat "$CFG") --items <(cat items.tsv) --users <(cat users.tsv) --epochs 1 \
        -o b.rsm <(cat small.tsv)
    assert_same a.rsm b.rsm
    rs-rank score -j 1 -m a.rsm --items items.tsv --users users.tsv cand.tsv > s1
    rs-rank score -j 1 -m <(cat a.rsm) --items <(cat items.tsv) --users <(cat users.tsv) <(cat cand.tsv) > s2
    assert_same s1 s2
}

@test "pipe: rs-synth | rs-rank train, then rs-rank score | rs-cat" {
    world
    rs-synth -q --users 50 --items 40 --events 5000 --events-out - -o synth |
        rs-rank train -q -j 1 -c "$CFG" --items items.tsv --users users.tsv --epochs 1 -o p.rsm -
    [ -s p.rsm ]
    rs-rank score -m p.rsm --items items.tsv --users users.tsv cand.tsv -z | rs-cat > piped.tsv
    [ "$(wc -l < piped.tsv)" -eq "$(wc -l < cand.tsv)" ]
}

@test "labelled stream with a validation file, --log; class weights shift p_click up" {
    world
    awk -F'\t' 'NR == 1 || NR % 2 == 0' cand.tsv > c-train.tsv
    awk -F'\t' 'NR == 1 || NR % 2 == 1' cand.tsv > c-valid.tsv
    local a=(train -j 1 -c "$CFG" --items items.tsv --users users.tsv --epochs 2 --valid c-valid.tsv c-train.tsv)
    run -0 --separate-stderr rs-rank "${a[@]}" --log log.tsv -o w1.rsm
    assert_stderr_has "validation examples"
    head -1 log.tsv | grep -q $'^epoch\ttrain_loss\tvalid_loss\tauc_click\tauc_booking\t.*\tbest_click\tbest_booking$'
    [ "$(wc -l < log.tsv)" -eq 3 ]
    awk -F'\t' 'NR == 2 && !($9 == 1 && $10 == 1) { exit 1 }' log.tsv # epoch 1 is best for both
    rs-rank "${a[@]}" -q --pos-weight-click 5 -o w5.rsm
    rs-rank score -m w1.rsm --items items.tsv --users users.tsv cand.tsv | awk -F'\t' 'NR > 1 { s += $9 } END { print s / (NR - 1) }' > p1
    rs-rank score -m w5.rsm --items items.tsv --users users.tsv cand.tsv | awk -F'\t' 'NR > 1 { s += $9 } END { print s / (NR - 1) }' > p5
    awk -v a="$(cat p1)" -v b="$(cat p5)" 'BEGIN { exit !(b > 1.5 * a) }'
}

@test "--user-emb/--item-emb: the tower_score feature is the embeddings' dot product" {
    "$PYTHON" - <<'PY'
import numpy as np
r = np.random.default_rng(0)
U = r.normal(size=(50, 3)); I = r.normal(size=(40, 3))
def tsv(p, pre, m):
    with open(p, "w") as f:
        f.write("id\tv0\tv1\tv2\n")
        for k, row in enumerate(m): f.write(f"{pre}{k}\t" + "\t".join("%.6g" % x for x in row) + "\n")
tsv("u.tsv", "u", U); tsv("i.tsv", "i", I)
with open("train.tsv", "w") as f:
    f.write("user_id\titem_id\tclick\tbooking\n")
    for _ in range(4000):
        u = r.integers(50); i = r.integers(40)
        f.write(f"u{u}\ti{i}\t{int(U[u] @ I[i] + 0.3 * r.normal() > 0.5)}\t0\n")
PY
    rs-cat --to rsb -o u.rsb u.tsv
    rs-cat --to rsb -o i.rsb i.tsv
    echo '{"numeric": ["tower_score"], "hidden": [8]}' > c.json
    run -1 --separate-stderr rs-rank train -c c.json -o m.rsm train.tsv
    assert_stderr_has "column 'tower_score' is neither in the input"
    rs-rank train -q -c c.json --user-emb u.rsb --item-emb i.rsb -o m.rsm train.tsv
    run -0 rs-rank eval -m m.rsm --user-emb u.rsb --item-emb i.rsb train.tsv
    auc=$(printf '%s\n' "$output" | awk -F'\t' '$2 == "auc_click" { print $4 }')
    awk -v a="$auc" 'BEGIN { exit !(a > 0.95) }'
    run -2 --separate-stderr rs-rank train -c c.json --user-emb u.rsb -o m.rsm train.tsv
    assert_stderr_has "--user-emb and --item-emb go together"
}

@test "numeric buckets: trained, scored, deterministic; bin edges in the model; bad buckets name the key" {
    world
    head -20001 train.tsv > small.tsv
    sed 's/"numeric": \[/"numeric_buckets": 16, "numeric": [{"name": "hour", "buckets": 4, "embedding_size": 3}, /' \
        "$CFG" > b.json
    local a=(train -q -j 1 -c b.json --items items.tsv --users users.tsv --epochs 2 small.tsv)
    rs-rank "${a[@]}" -o a.rsm
    rs-rank "${a[@]}" -o b.rsm
    assert_same a.rsm b.rsm
    rs-cat --schema a.rsm > schema
    grep -q 'num0.edges' schema
    grep -q 'num0.emb' schema
    grep -q 'num4.edges' schema
    rs-rank score -j 1 -m a.rsm --items items.tsv --users users.tsv cand.tsv > s1
    [ "$(wc -l < s1)" -eq "$(wc -l < cand.tsv)" ]
    rs-rank eval -j 1 -m a.rsm --items items.tsv --users users.tsv -o ev.tsv cand.tsv
    awk -v a="$(value ev.tsv rs-rank auc_click "")" 'BEGIN { exit !(a > 0.55) }'
    sed 's/"buckets": 4/"buckets": 1/' b.json > bad.json
    run -1 --separate-stderr rs-rank train -c bad.json -o m.rsm small.tsv
    assert_stderr_has "'bad.json': numeric[0].buckets: expected 0 (none) or an integer in 2..65536, got 1"
    [ ! -e m.rsm ]
}

@test "the softmax objective: lists of a user, same bytes on 1 and 3 threads, beats the input order" {
    world
    $PYTHON -c 'import json, sys; c = json.load(open(sys.argv[1])); c["objective"] = "softmax"; json.dump(c, sys.stdout)' \
        "$CFG" > sm.json
    local a=(train -q -c sm.json --items items.tsv --users users.tsv --batch 256 --lr 0.005 train.tsv)
    rs-rank "${a[@]}" -j 1 -o a.rsm
    rs-rank "${a[@]}" -j 3 -o b.rsm
    assert_same a.rsm b.rsm
    rs-cat --schema a.rsm | grep -q '"objective": *"softmax"'
    rs-rank eval -j 1 -m a.rsm --items items.tsv --users users.tsv -o ev.tsv cand.tsv
    local m10 i10
    m10=$(value ev.tsv rs-rank ndcg 10); i10=$(value ev.tsv input ndcg 10)
    echo "softmax ndcg@10 $m10 vs input $i10"
    awk -v a="$m10" -v b="$i10" 'BEGIN { exit !(a > b + 0.04) }'
    # the intercepts are calibrated: mean P(click) near the click rate of the scored rows' labels
    rs-rank score -j 1 -m a.rsm --items items.tsv --users users.tsv cand.tsv > s.tsv
    awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        { p += $c["p_click"]; n++ } END { m = p / n; print "mean p_click " m; exit !(m > 0.005 && m < 0.5) }' s.tsv
    config_fails '{"numeric": ["price"], "objective": "listnet"}' "objective: expected one of pointwise, softmax"
}
