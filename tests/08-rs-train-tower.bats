#!/usr/bin/env bats
# rs-train-tower: config checks, training on planted structure, determinism,
# resume, extra negatives, the conventions of every tool.
load helpers

gen() {
    "$PYTHON" "$FIXTURES/rs-train-tower/gen.py" . "$@"
}

# train ARGS...: a small fast run on the generated data.
train() {
    rs-train-tower -c tower.json --users users.tsv --items items.tsv --batch 32 --epochs 4 \
        --lr 0.02 -k 4 -j 1 -q "$@"
}

@test "rs-train-tower --help prints usage with defaults and examples" {
    run -0 --separate-stderr rs-train-tower --help
    [[ "$output" == *"Usage: rs-train-tower"* ]]
    [[ "$output" == *"--temperature X"*"(default 0.05)"* ]]
    [[ "$output" == *"--feature-dropout X"* ]]
    [[ "$output" == *"Examples:"* ]]
    [ -z "$stderr" ]
}

@test "rs-train-tower --version; unknown flag and missing -o/-c are usage errors" {
    run -0 rs-train-tower --version
    [[ "$output" == *"openblas=yes"* ]]
    run -2 --separate-stderr rs-train-tower --bogus
    assert_stderr_has "Try 'rs-train-tower --help'"
    run -2 --separate-stderr rs-train-tower -c x.json
    assert_stderr_has "no output"
    run -2 --separate-stderr rs-train-tower -o m.rsm
    assert_stderr_has "no feature config"
    run -2 --separate-stderr rs-train-tower -c x.json -o m.rsm --lr-schedule wavy
    assert_stderr_has "invalid --lr-schedule 'wavy'"
}

@test "missing examples file exits 1 naming it" {
    gen
    run -1 --separate-stderr train -o m.rsm nope.tsv
    assert_stderr_has "cannot open 'nope.tsv'"
    [ ! -e m.rsm ]
}

@test "unknown feature type is a clear error before training" {
    gen
    sed 's/"type": "text"/"type": "poem"/' tower.json > bad.json
    run -1 --separate-stderr rs-train-tower -c bad.json --users users.tsv --items items.tsv -o m.rsm train.tsv
    assert_stderr_has "'bad.json': item_embedding_layers.title.type: expected one of string, int, text, numeric, pretrained, sequence, got \"poem\""
    [[ "$stderr" != *epoch* ]]
    [ ! -e m.rsm ]
    sed 's/"buckets": 64/"bucket": 64/' tower.json > typo.json
    run -1 --separate-stderr rs-train-tower -c typo.json --users users.tsv --items items.tsv -o m.rsm train.tsv
    assert_stderr_has "'typo.json': item_embedding_layers.title: unknown key \"bucket\" (expected one of type,"
}

@test "embedding_size \"64\" or 64.5 is refused, naming the key's path" {
    gen
    sed 's/"embedding_size": 4,/"embedding_size": "64",/' tower.json > str.json
    run -1 --separate-stderr rs-train-tower -c str.json --users users.tsv --items items.tsv -o m.rsm train.tsv
    assert_stderr_has "'str.json': item_embedding_layers.title.embedding_size: expected an integer in 1..65536, got \"64\""
    [ ! -e m.rsm ]
    sed '2s/"embedding_size": 8/"embedding_size": 64.5/' tower.json > real.json
    run -1 --separate-stderr rs-train-tower -c real.json --users users.tsv --items items.tsv -o m.rsm train.tsv
    assert_stderr_has "'real.json': embedding_size: expected an integer in 1..65536, got 64.5"
    [ ! -e m.rsm ]
}

@test "a feature column missing from its table is an error naming feature, column and file" {
    gen
    cut -f1,2,4 items.tsv > items2.tsv
    run -1 --separate-stderr train --items items2.tsv -o m.rsm train.tsv
    assert_stderr_has "item feature 'title' (text) needs column 'title', which 'items2.tsv' lacks"
    [[ "$stderr" != *epoch* ]]
    run -1 --separate-stderr rs-train-tower -c tower.json --items items.tsv -o m.rsm train.tsv
    assert_stderr_has "user feature 'age' (numeric) needs column 'age'"
}

@test "a bad field names file, line and column" {
    gen
    awk -F'\t' 'NR == 5 { $2 = "old" } 1' OFS='\t' users.tsv > users2.tsv
    run -1 --separate-stderr train --users users2.tsv -o m.rsm train.tsv
    assert_stderr_has "'users2.tsv' line 5: column 'age': expected a finite number, got 'old'"
    awk -F'\t' 'NR == 3 { $2 = "x" } 1' OFS='\t' items.tsv > items2.tsv
    run -1 --separate-stderr train --items items2.tsv -o m.rsm train.tsv
    assert_stderr_has "'items2.tsv' line 3: column 'category': expected an integer, got 'x'"
}

@test "empty and header-only examples are errors; -o is not left behind" {
    gen
    : > empty.tsv
    run -1 --separate-stderr train -o m.rsm empty.tsv
    printf 'user_id\titem_id\n' > header.tsv
    run -1 --separate-stderr train -o m.rsm header.tsv
    assert_stderr_has "no training examples"
    [ ! -e m.rsm ]
    ! ls m.rsm.tmp.* 2>/dev/null
}

@test "learns the planted groups: validation recall@4 high, log TSV per epoch, model described by rs-cat" {
    gen
    run -0 --separate-stderr train --valid valid.tsv --epochs 6 --patience 0 --log log.tsv -o m.rsm train.tsv
    [ "$(wc -l < log.tsv)" -eq 7 ]
    head -1 log.tsv | grep -q "^epoch	step	loss	lr	recall	ndcg	k	examples_per_s	seconds$"
    # Random ranking gives recall@4 about 0.12; the groups give about 1.
    awk -F'\t' 'END { exit !($5 > 0.8) }' log.tsv
    # Loss goes down.
    awk -F'\t' 'NR == 2 { a = $3 } END { exit !($3 < a) }' log.tsv
    run -0 rs-cat --schema m.rsm
    [[ "$output" == *"format	RSM 1.0"* ]]
    [[ "$output" == *"section.model	{\"embedding_size\":8,\"kind\":\"two-tower\"}"* ]]
    [[ "$output" == *"item.title.emb	f32	64x4"* ]]
    [[ "$output" == *"user.dense0.w	f32	19x16"* ]]
    [[ "$output" == *"user.dense1.w	f32	16x8"* ]]
    run -2 --separate-stderr rs-cat m.rsm
    assert_stderr_has "is an RSM model file: use --schema"
}

@test "same seed and threads give a byte-identical model; another seed does not" {
    gen
    train --valid valid.tsv -o a.rsm train.tsv
    train --valid valid.tsv -o b.rsm train.tsv
    train --valid valid.tsv -o c.rsm --seed 7 train.tsv
    assert_same a.rsm b.rsm
    assert_differ a.rsm c.rsm
    # The towers run on their own threads with single-threaded BLAS: the
    # thread count does not change the bytes either.
    train --valid valid.tsv -o d.rsm -j 2 train.tsv
    assert_same a.rsm d.rsm
}

@test "batches of several in-batch softmax blocks: 1, 2 and 3 threads give the same bytes" {
    gen
    # 300 rows a batch: blocks of 128, 128 and 44 rows, dealt out to the threads
    train --valid valid.tsv --batch 300 -o a.rsm train.tsv
    OPENBLAS_NUM_THREADS=2 train --valid valid.tsv --batch 300 -j 2 -o b.rsm train.tsv
    train --valid valid.tsv --batch 300 -j 3 -o c.rsm train.tsv
    assert_same a.rsm b.rsm
    assert_same a.rsm c.rsm
}

@test "every table through a process substitution or a pipe: the same model bytes" {
    gen
    train --valid valid.tsv -o a.rsm train.tsv
    mkdir spool
    TMPDIR=$PWD/spool train --users <(cat users.tsv) --items <(zstd -q -c items.tsv) --valid <(cat valid.tsv) \
        -o b.rsm <(cat train.tsv)
    assert_same a.rsm b.rsm
    cat users.tsv | train --users - --valid valid.tsv -o c.rsm train.tsv
    assert_same a.rsm c.rsm
    rs-train-tower -c <(cat tower.json) --users <(cat users.tsv) --items items.tsv --batch 32 --epochs 4 --lr 0.02 \
        -k 4 -j 1 -q --valid valid.tsv -o d.rsm train.tsv
    assert_same a.rsm d.rsm
    [ -z "$(ls spool)" ]
}

@test "history pooled by attention: learns the groups, keeps its query, same bytes on 1 and 2 threads" {
    gen
    "$PYTHON" -c 'import json; c = json.load(open("tower.json"))
c["user_embedding_layers"]["history"]["pooling"] = "attention"; json.dump(c, open("tower.json", "w"))'
    train --valid valid.tsv --epochs 6 --patience 0 --log log.tsv -o a.rsm train.tsv
    awk -F'\t' 'END { exit !($5 > 0.8) }' log.tsv
    run -0 rs-cat --schema a.rsm
    [[ "$output" == *"user.history.query	f32	1x"* ]]
    train --valid valid.tsv --epochs 6 --patience 0 -j 2 -o b.rsm train.tsv
    assert_same a.rsm b.rsm
    run -0 rs-embed -m a.rsm --users users.tsv -f tsv
    [ "${#lines[@]}" -gt 2 ]
}

@test "--resume after --stop-after gives the same model as an uninterrupted run" {
    gen
    train --valid valid.tsv --epochs 5 --patience 0 -o full.rsm train.tsv
    train --valid valid.tsv --epochs 5 --patience 0 --stop-after 2 -o part.rsm --checkpoint ck.rsm train.tsv
    run -0 rs-cat --schema ck.rsm
    [[ "$output" == *'"epoch":2'* ]]
    assert_differ part.rsm full.rsm
    rs-train-tower --users users.tsv --items items.tsv --batch 32 --epochs 5 --patience 0 --lr 0.02 -k 4 -j 1 -q \
        --valid valid.tsv --resume --checkpoint ck.rsm -o resumed.rsm train.tsv
    assert_same full.rsm resumed.rsm
}

@test "--resume refuses a checkpoint of other data or other options" {
    gen
    train --epochs 4 --stop-after 1 -o part.rsm --checkpoint ck.rsm train.tsv
    resume() {
        rs-train-tower --users users.tsv --items items.tsv --lr 0.02 -k 4 -j 1 -q --resume --checkpoint ck.rsm \
            -o r.rsm "$@"
    }
    # Other examples (one row less), another feature table, other options.
    sed '$d' train.tsv > fewer.tsv
    run -1 --separate-stderr resume --batch 32 --epochs 4 fewer.tsv
    assert_stderr_has "'ck.rsm': checkpoint of other training data"
    awk -F'\t' 'NR == 2 { $4 = $4 + 1 } 1' OFS='\t' items.tsv > items2.tsv
    run -1 --separate-stderr resume --batch 32 --epochs 4 --items items2.tsv train.tsv
    assert_stderr_has "checkpoint of other training data"
    run -1 --separate-stderr resume --batch 64 --epochs 4 train.tsv
    assert_stderr_has "checkpoint of a run with other options (batch 32,"
    assert_stderr_has "this run: batch 64,"
    "$PYTHON" -c 'import json; c = json.load(open("tower.json")); c["embedding_size"] = 4; json.dump(c, open("other.json", "w"))'
    run -1 --separate-stderr resume -c other.json --batch 32 --epochs 4 train.tsv
    assert_stderr_has "'other.json' is not the feature config of checkpoint 'ck.rsm'"
    [ ! -e r.rsm ]
    # The same inputs, options and config resume.
    resume -c tower.json --batch 32 --epochs 4 train.tsv
    [ -s r.rsm ]
}

@test "a model file is not a checkpoint for --resume" {
    gen
    train -o m.rsm --checkpoint ck.rsm train.tsv
    run -1 --separate-stderr rs-train-tower --users users.tsv --items items.tsv --resume --checkpoint m.rsm -o r.rsm train.tsv
    assert_stderr_has "is a model, not a checkpoint"
}

@test "stdin, file and .zst examples give the same model; rs-cat pipes into it" {
    gen
    zstd -q train.tsv -o train.tsv.zst
    train -o a.rsm train.tsv
    train -o b.rsm < train.tsv
    train -o c.rsm train.tsv.zst
    rs-cat train.tsv.zst | train -o d.rsm -
    assert_same a.rsm b.rsm
    assert_same a.rsm c.rsm
    assert_same a.rsm d.rsm
}

@test "extra negatives from rs-negsample columns (logq, neg_items, neg_logq) train" {
    gen
    run -0 --separate-stderr train --valid valid.tsv --patience 0 --log log.tsv -o m.rsm negs.tsv
    [[ "$stderr" == "" ]]
    awk -F'\t' 'END { exit !($5 > 0.7) }' log.tsv
    # Without neg_logq the negatives' log q comes from the training frequency.
    cut -f1-4 negs.tsv > nolq.tsv
    run -0 --separate-stderr train -o m2.rsm nolq.tsv
}

@test "a tower of behavioural features only (ids; ids and history) trains with --feature-dropout 0.5 and saves" {
    # A row with every feature dropped is a zero vector: its normalisation
    # once sent 1e12 x its gradient to Adam and the checkpoint was refused.
    rs-synth -q -o syn --users 200 --items 80 --events 6000
    cat > ids.json <<'EOF'
{"embedding_size": 16, "user_embedding_layers": {"user_id": {"type": "string"}},
 "item_embedding_layers": {"item_id": {"type": "string"}}}
EOF
    run -0 --separate-stderr rs-train-tower -q -j 1 -c ids.json --users syn/users.tsv --items syn/items.tsv \
        --feature-dropout 0.5 --epochs 2 --batch 64 --checkpoint ck.rsm -o m.rsm syn/events.tsv
    [ -s m.rsm ]
    [ -s ck.rsm ]
    rs-embed -q -m m.rsm --users syn/users.tsv -o u.rsb
    gen
    cat > hist.json <<'EOF'
{"embedding_size": 8, "user_embedding_layers": {"user_id": {"type": "string"},
  "history": {"type": "sequence"}},
 "item_embedding_layers": {"item_id": {"type": "string"}}}
EOF
    run -0 --separate-stderr rs-train-tower -q -j 1 -c hist.json --users users.tsv --items items.tsv \
        --feature-dropout 0.5 --epochs 2 --batch 32 --checkpoint ck2.rsm -o m2.rsm train.tsv
    [ -s m2.rsm ]
    [ -s ck2.rsm ]
}

@test "a neg_logq list of the wrong length names line and column" {
    gen
    awk -F'\t' 'NR == 3 { $5 = "-1" } 1' OFS='\t' negs.tsv > bad.tsv
    run -1 --separate-stderr train -o m.rsm bad.tsv
    assert_stderr_has "'bad.tsv' line 3: column 'neg_logq': 1 values for 3 neg_items"
}

@test "pretrained features read an RSB keyed by id; a missing RSB is an error" {
    gen
    rs-cat --to rsb -o pre.rsb pre.tsv
    "$PYTHON" -c '
import json; c = json.load(open("tower.json"))
c["item_embedding_layers"]["img"] = {"type": "pretrained", "path": "pre.rsb", "embedding_size": 4}
json.dump(c, open("pre.json", "w"))'
    run -0 --separate-stderr rs-train-tower -c pre.json --users users.tsv --items items.tsv --batch 32 --epochs 2 -q -o m.rsm train.tsv
    run -0 rs-cat --schema m.rsm
    [[ "$output" == *"item.img.proj.w	f32	3x4"* ]]
    sed 's/pre.rsb/nope.rsb/' pre.json > nope.json
    run -1 --separate-stderr rs-train-tower -c nope.json --users users.tsv --items items.tsv -o m.rsm train.tsv
    assert_stderr_has "nope.rsb"
}

@test "-o /dev/full fails with exit 1" {
    gen
    run -1 --separate-stderr train -o /dev/full --checkpoint ck.rsm train.tsv
    assert_stderr_has "rs-train-tower:"
}
