#!/usr/bin/env bats
# Hostile inputs across the tools (issue 14): every malformed input gives
# exit 1 (2 for usage) with a message naming the file (and line and column
# where the data has them), and leaves nothing at -o: no output, no
# temporary *.tmp.* file. Inputs are tiny and hand-written, except one
# 50 MB line.
load helpers

EV_HDR='user_id\titem_id\ttimestamp\tevent\n'

# hostile TEXT CMD...: CMD exits 1, stderr has TEXT, no out* or *.tmp.* left.
hostile() {
    local text=$1
    shift
    run -1 --separate-stderr "$@"
    assert_stderr_has "$text"
    no_leftovers
}

no_leftovers() {
    local left
    left=$(find . -name 'out*' -o -name '*.tmp.*')
    [ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

events() { # a small valid event log: 4 users x 3 items
    printf "$EV_HDR"
    for u in 1 2 3 4; do
        for i in 1 2 3; do printf 'u%s\ti%s\t%s\tclick\n' "$u" "$i" "$((u * 10 + i))"; done
    done
}

vectors() { # vectors NAME IDS...: an RSB of 2-d vectors
    local name=$1
    shift
    { printf 'id\tv0\tv1\n'; local n=1
      for id in "$@"; do printf '%s\t%s\t%s\n' "$id" "$n" "$((n % 3))"; n=$((n + 1)); done; } > "$name.tsv"
    rs-cat --to rsb -o "$name.rsb" "$name.tsv"
    rm "$name.tsv"
}

@test "missing columns: each stream tool names the file and the column" {
    printf 'user_id\titem_id\nu1\ti1\n' > notime.tsv
    hostile "'notime.tsv' line 1: no column 'timestamp'" rs-split --cutoff 3 -o out notime.tsv
    printf 'user_id\ttimestamp\nu1\t5\n' > noitem.tsv
    hostile "'noitem.tsv' line 1" rs-vocab build -c item_id -o out.tsv noitem.tsv
    hostile "'noitem.tsv'" rs-features --side item -o out.tsv noitem.tsv
    assert_stderr_has "item_id"
    hostile "'noitem.tsv'" rs-negsample -k 1 -o out.tsv noitem.tsv
    assert_stderr_has "item_id"
    hostile "'noitem.tsv'" rs-als -f 2 -i 1 --item-factors out.rsb noitem.tsv
    hostile "'noitem.tsv'" rs-prefilter --min-user-interactions 1 -o out.tsv noitem.tsv
    events > truth.tsv
    hostile "'noitem.tsv'" rs-metrics --truth truth.tsv --pred noitem.tsv -o out.tsv
}

@test "ragged rows (missing fields) name file and line" {
    { events; printf 'u9\ti9\n'; } > ragged.tsv
    for tool in "rs-cat" "rs-split --cutoff 12" "rs-vocab build -c item_id" "rs-features --side user" \
        "rs-negsample -k 1" "rs-prefilter --min-user-interactions 1"; do
        if [[ $tool == rs-split* ]]; then out=out; else out=out.tsv; fi
        hostile "'ragged.tsv' line 14: expected 4 fields, got 2" $tool -o $out ragged.tsv
    done
}

@test "wrong types: timestamps, counts and labels name file, line and column" {
    { events; printf 'u9\ti9\tyesterday\tclick\n'; } > badts.tsv
    hostile "'badts.tsv' line 14: column 'timestamp'" rs-split --cutoff 12 -o out badts.tsv
    hostile "'badts.tsv' line 14: column 'timestamp'" rs-features --side user -o out.tsv badts.tsv
    { printf 'user_id\titem_id\tclick\tbooking\tprice\n'; printf 'u1\ti1\t1\t0\t3\nu2\ti2\tmaybe\t0\t4\n'; } > labels.tsv
    printf '{"numeric": ["price"], "categorical": ["item_id"], "hidden": [4]}' > r.json
    hostile "'labels.tsv' line 3: column 'click'" rs-rank train -c r.json -q -o out.rsm labels.tsv
    # A misspelt option in a config is an error, not silently ignored.
    printf '{"numeric": [{"name": "price", "log_1p": true}], "categorical": ["item_id"]}' > typo.json
    hostile "'typo.json': numeric[0]: unknown key \"log_1p\"" rs-rank train -c typo.json -q -o out.rsm labels.tsv
    printf 'user_id\titem_id\trank\tscore\nu1\ti1\tfirst\t0.5\n' > pred.tsv
    events > truth.tsv
    hostile "'pred.tsv' line 2: column 'rank'" rs-metrics --truth truth.tsv --pred pred.tsv -o out.tsv
}

@test "NaN and Inf are rejected where numbers are read" {
    printf 'id\tv0\tv1\na\t1\tnan\n' > vnan.tsv
    hostile "'vnan.tsv' line 2: column 'v1': expected a finite number, got 'nan'" rs-cat --to rsb -o out.rsb vnan.tsv
    printf 'id\tv0\tv1\na\t1\t-inf\n' > vinf.tsv
    hostile "'vinf.tsv' line 2: column 'v1'" rs-cat --to rsb -o out.rsb vinf.tsv
    printf 'user_id\titem_id\tw\nu1\ti1\t1\nu1\ti2\tNaN\n' > w.tsv
    hostile "'w.tsv' line 3: column 'w'" rs-als --weight-col w -f 2 -i 1 --item-factors out.rsb w.tsv
    printf 'user_id\titem_id\tclick\tbooking\tprice\nu1\ti1\t1\t0\tinf\nu2\ti2\t0\t0\t4\n' > labels.tsv
    printf '{"numeric": ["price"], "categorical": ["item_id"], "hidden": [4]}' > r.json
    hostile "'labels.tsv' line 2: column 'price'" rs-rank train -c r.json -q -o out.rsm labels.tsv
    printf 'user_id\titem_id\trank\tscore\nu1\ti1\t1\tnan\n' > ranked.tsv
    hostile "'ranked.tsv' line 2: column 'score'" rs-diversify -n 1 -o out.tsv ranked.tsv
}

@test "negative counts and weights are rejected" {
    printf 'user_id\titem_id\tw\nu1\ti1\t1\nu1\ti2\t-3\n' > w.tsv
    hostile "'w.tsv' line 3: column 'w': expected a weight >= 0" rs-als --weight-col w -f 2 -i 1 \
        --item-factors out.rsb w.tsv
    printf 'id\ttoken\tcount\n0\t\t0\n1\ta\t-2\n' > v.tsv
    events > e.tsv
    hostile "'v.tsv' line 3: column 'count'" rs-vocab apply -c item_id --vocab v.tsv -o out.tsv e.tsv
}

@test "empty and header-only inputs: clean output or a clear error, never a crash" {
    : > empty.tsv
    printf "$EV_HDR" > hdr.tsv
    printf '{"user_embedding_layers": {"user_id": {"type": "string"}},
             "item_embedding_layers": {"item_id": {"type": "string"}}}' > tower.json
    for f in empty.tsv hdr.tsv; do
        run -0 rs-cat "$f"
        run -0 --separate-stderr rs-vocab build -c item_id "$f"
        run -0 --separate-stderr rs-features --side user "$f"
    done
    # A model cannot be trained on no data: a clear error, no model left.
    hostile "'hdr.tsv': no training examples" rs-train-tower -c tower.json -q -o out.rsm hdr.tsv
    : > empty.rsb
    hostile "'empty.rsb'" rs-cluster -k 2 -o out.tsv empty.rsb
    hostile "'empty.tsv'" rs-vocab apply -c item_id --vocab empty.tsv -o out.tsv hdr.tsv
}

@test "a 50 MB line is read whole (or refused clearly), never crashes" {
    "$PYTHON" -c "
import sys
sys.stdout.write('user_id\titem_id\ttimestamp\tevent\nu1\t' + 'x' * 50_000_000 + '\t5\tclick\nu2\ti2\t6\tclick\n')" > big.tsv
    run -0 --separate-stderr rs-vocab build -c user_id big.tsv
    [[ "$output" == *$'\tu1\t1'* ]]
    run -0 --separate-stderr rs-split --cutoff 6 -o sp big.tsv
    [ "$(wc -c < sp/train.tsv)" -gt 50000000 ]
    # An id longer than RSB allows (65535 bytes) is a clear error.
    "$PYTHON" -c "print('id\tv0'); print('a' * 70000 + '\t1')" > longid.tsv
    hostile "'longid.tsv' line 2" rs-cat --to rsb -o out.rsb longid.tsv
}

@test "invalid UTF-8 passes through TSV as bytes; JSON output stays valid JSON" {
    printf "${EV_HDR}u\xff\xfe\ti1\t1\tclick\nu2\ti1\t2\tclick\n" > bad8.tsv
    run -0 rs-cat bad8.tsv
    rs-cat bad8.tsv | cmp - bad8.tsv
    run -0 --separate-stderr rs-vocab build -c user_id -o v.tsv bad8.tsv
    grep -q $'u\xff\xfe' v.tsv
    printf 'user_id\titem_id\trank\tscore\nu1\ti1\t1\t1\n' > pred.tsv
    printf 'user_id\titem_id\nu1\ti1\n' > truth.tsv
    rs-metrics -q --truth truth.tsv --pred "p$(printf '\xff')=pred.tsv" --json > m.json
    "$PYTHON" -c "import json; assert json.load(open('m.json'))['results'][0]['model'] == 'p\ufffd'"
    printf "user_id\titem_id\trank\tscore\nu\xff\ti\xc3\xa9\t1\t0.5\n" > ranked.tsv
    rs-cat --to json ranked.tsv > r.json
    "$PYTHON" -c "import json; print(json.dumps(json.load(open('r.json')), ensure_ascii=False))" > parsed.txt
    grep -q $'u\xef\xbf\xbd' parsed.txt
    grep -q $'i\xc3\xa9' parsed.txt
}

@test "duplicate ids: vocabularies, RSB sets and feature tables refuse them" {
    printf 'id\ttoken\tcount\n0\t\t0\n1\ta\t5\n2\ta\t3\n' > dup.tsv
    events > e.tsv
    hostile "'dup.tsv' line 4" rs-vocab apply -c item_id --vocab dup.tsv -o out.tsv e.tsv
    vectors users u1 u2
    vectors dupitems i1 i2 i1
    hostile "'dupitems.rsb': duplicate id 'i1'" rs-retrieve --users users.rsb --items dupitems.rsb -k 2 -o out.tsv
    hostile "'dupitems.rsb': duplicate id 'i1'" rs-cluster -k 2 -o out.tsv dupitems.rsb
}

@test "ids absent from a vocabulary map to 0 (or a bucket); invert refuses unknown ids" {
    printf 'id\ttoken\tcount\n0\t\t0\n1\ti1\t5\n' > v.tsv
    events > e.tsv
    run -0 --separate-stderr rs-vocab apply -c item_id --vocab v.tsv e.tsv
    [ "$(printf '%s\n' "$output" | cut -f2 | sort -u | tr '\n' ' ')" = "0 1 item_id " ]
    printf 'item_id\nx\n' > ids.tsv
    hostile "'ids.tsv' line 2: column 'item_id'" rs-vocab invert -c item_id --vocab v.tsv -o out.tsv ids.tsv
}

@test "zero-dimension and mismatched embeddings are refused" {
    printf 'id\na\n' > v0.tsv
    hostile "'v0.tsv' line 1: no vector columns" rs-cat --to rsb -o out.rsb v0.tsv
    printf 'id\tv0\tv1\na\t1\t2\nb\t3\n' > ragged.tsv
    hostile "'ragged.tsv' line 3" rs-cat --to rsb -o out.rsb ragged.tsv
    printf 'id\tv0\nu1\t1\n' > u1.tsv
    rs-cat --to rsb -o u1.rsb u1.tsv
    vectors items i1 i2 i3
    hostile "'u1.rsb' has 1 dims, the items 2" rs-retrieve --users u1.rsb --items items.rsb -k 2 -o out.tsv
    printf '{"user_embedding_layers": {"user_id": {"type": "string", "embedding_size": 0}},
             "item_embedding_layers": {"item_id": {"type": "string"}}}' > zero.json
    events > e.tsv
    hostile "'zero.json'" rs-train-tower -c zero.json -q -o out.rsm e.tsv
}

@test "truncated and corrupt compressed streams name the file" {
    events > e.tsv
    for i in $(seq 1 2000); do printf 'u%s\ti%s\t%s\tclick\n' "$i" "$((i % 97))" "$i"; done >> e.tsv
    zstd -q e.tsv -o e.tsv.zst
    head -c $(($(wc -c < e.tsv.zst) / 2)) e.tsv.zst > trunc.tsv.zst
    cp e.tsv.zst corrupt.tsv.zst
    printf '\x00\x01\x02\x03\x04\x05\x06\x07' | dd of=corrupt.tsv.zst bs=1 seek=200 conv=notrunc status=none
    for f in trunc corrupt; do
        hostile "'$f.tsv.zst'" rs-cat -o out.tsv $f.tsv.zst
        hostile "'$f.tsv.zst'" rs-split --cutoff 100 -o out $f.tsv.zst
        hostile "'$f.tsv.zst'" rs-vocab build -c item_id -o out.tsv $f.tsv.zst
        hostile "'$f.tsv.zst'" rs-negsample -k 1 -o out.tsv $f.tsv.zst
    done
    vectors items i1 i2 i3
    head -c 60 items.rsb > trunc.rsb
    hostile "'trunc.rsb': truncated RSB stream" rs-cluster -k 2 -o out.tsv trunc.rsb
}

@test "corrupt and truncated model files are refused by their readers" {
    "$PYTHON" "$FIXTURES/rs-train-tower/gen.py" . 12 8 > /dev/null
    rs-train-tower -c tower.json --users users.tsv --items items.tsv --batch 32 --epochs 1 -k 4 -j 1 -q \
        -o m.rsm train.tsv
    head -c 3000 m.rsm > trunc.rsm
    hostile "'trunc.rsm'" rs-embed -m trunc.rsm --items items.tsv -o out.rsb
    assert_stderr_has "truncated RSM file"
    cp m.rsm flip.rsm
    printf 'X' | dd of=flip.rsm bs=1 seek=5000 conv=notrunc status=none
    hostile "checksum mismatch" rs-embed -m flip.rsm --items items.tsv -o out.rsb
    # A feature table without a column the model needs.
    cut -f1 items.tsv > idonly.tsv
    hostile "'idonly.tsv'" rs-embed -m m.rsm --items idonly.tsv -o out.rsb
    # A config key that used to hang the parser (found by fuzz-featcfg).
    printf '{"user_embedding_layers": {"user_id": {"type": "string", "": 1}},
             "item_embedding_layers": {"item_id": {"type": "string"}}}' > emptykey.json
    hostile "unknown key \"\"" timeout 10 rs-train-tower -c emptykey.json -q -o out.rsm train.tsv
}

@test "feature tables: NaN numerics and duplicate ids are refused by the trainer" {
    "$PYTHON" "$FIXTURES/rs-train-tower/gen.py" . 12 8 > /dev/null
    awk -F'\t' 'NR == 3 { $4 = "nan" } 1' OFS='\t' items.tsv > nanitems.tsv
    hostile "'nanitems.tsv' line 3: column 'price'" rs-train-tower -c tower.json --users users.tsv \
        --items nanitems.tsv -q -o out.rsm train.tsv
    { cat users.tsv; sed -n 2p users.tsv; } > dupusers.tsv
    hostile "'dupusers.tsv' line $(($(wc -l < users.tsv) + 1)): column 'user_id': duplicate id '$(sed -n 2p users.tsv | cut -f1)' (first on line 2)" rs-train-tower -c tower.json \
        --users dupusers.tsv --items items.tsv -q -o out.rsm train.tsv
}

@test "--max-memory: a clear error and exit 1 instead of an abort, nothing left at -o" {
    run -2 --separate-stderr rs-split --cutoff 5 --max-memory 12x -o out ev.tsv
    assert_stderr_has "invalid value '12x' for --max-memory"
    # Without a limit, an allocation the machine refuses is the same clean error.
    printf 'user_id\titem_id\nu1\ti1\nu2\ti2\n' > pairs.tsv
    printf '{"user_embedding_layers": {"user_id": {"type": "string"}},
             "item_embedding_layers": {"item_id": {"type": "string"}}, "hidden_layers": [10000000000]}' > huge.json
    ASAN_OPTIONS=allocator_may_return_null=1 hostile "rs-train-tower: out of memory allocating" \
        rs-train-tower -c huge.json -q -o out.rsm pairs.tsv
    if ldd "$BIN/rs-split" | grep -q libasan; then
        return 0 # the sanitizers' shadow memory counts against the limit: usage only
    fi
    awk 'BEGIN { print "user_id\titem_id\ttimestamp"; for (i = 0; i < 1000000; i++) print "u" i % 50000 "\ti" i % 997 "\t" i }' > ev.tsv
    run -0 rs-split --cutoff 5 --max-memory 64M -q -o ok ev.tsv
    # Per-user modes hold the input: past the limit they stop cleanly.
    hostile "rs-split: --max-memory 24M exceeded" rs-split --per-user-last 1 --max-memory 24M -q -o out ev.tsv
    [ -z "$(find . -name 'out*')" ]
}

@test "impossible timestamps and overflowing durations are errors" {
    for t in 2020-02-30 2019-02-29 0000-01-01 '2019-10-01T24:30:00Z' '2019-10-01T10:60:00Z' \
        '2019-10-01T10:00:61Z' '2019-10-01T02:00:00+99:99'; do
        { events; printf 'u9\ti9\t%s\tclick\n' "$t"; } > badts.tsv
        hostile "'badts.tsv' line 14: column 'timestamp'" rs-split --cutoff 12 -o out badts.tsv
    done
    events > e.tsv
    run -2 --separate-stderr rs-split --windows 'a=old|b=30500568904944w' -o out e.tsv
    assert_stderr_has "invalid window length '30500568904944w'"
    no_leftovers
    run -2 --separate-stderr rs-prefilter --recency 99999999999999999999d -o out.tsv e.tsv
    no_leftovers
    # A recency window reaching past the earliest time keeps every row (no wrap).
    run -0 --separate-stderr rs-prefilter --now -9223372036854775000 --recency 1w e.tsv
    [ "$(printf '%s\n' "$output" | wc -l)" -eq 13 ]
}

@test "NUL bytes in text input are errors naming file, line and column" {
    printf 'user_id\titem\0_id\ttimestamp\nu1\ti1\t5\n' > hdr.tsv
    hostile "'hdr.tsv' line 1 column 13: NUL byte in text input" rs-cat -o out.tsv hdr.tsv
    { events; printf 'u9\ti\0\t5\tclick\n'; } > row.tsv
    hostile "'row.tsv' line 14 column 5: NUL byte" rs-split --cutoff 12 -o out row.tsv
    printf 'user_id,item_id\nu1,"i\0\n1"\n' > row.csv
    hostile "'row.csv' line 2 field 2: NUL byte" rs-vocab build -c item_id -o out.tsv row.csv
    # A stream of NULs is refused at its first byte, not read whole into one line.
    head -c 3000000 /dev/zero > zeros.tsv
    hostile "'zeros.tsv' line 1 column 1: NUL byte" rs-cat -o out.tsv zeros.tsv
    hostile "'zeros.tsv' line 1 field 1: NUL byte" rs-cat --csv -o out.tsv zeros.tsv
    zstd -q zeros.tsv -o zeros.tsv.zst
    hostile "'zeros.tsv.zst' line 1 column 1: NUL byte" rs-cat -o out.tsv zeros.tsv.zst
    # Vocabularies, id lists and JSON configs.
    printf 'id\ttoken\tcount\n0\t\t0\n1\ti\0\t5\n' > v.tsv
    events > e.tsv
    hostile "'v.tsv' line 3 column 4: NUL byte" rs-vocab apply -c item_id --vocab v.tsv -o out.tsv e.tsv
    printf 'user_id\nu1\nu\0\n' > users.tsv
    hostile "'users.tsv' line 3 column 2: NUL byte" rs-retrieve --popular e.tsv --users-from users.tsv -k 2 \
        -o out.tsv
    printf 'user_id\titem_id\tclick\tbooking\tprice\nu1\ti1\t1\t0\t3\n' > labels.tsv
    printf '{"numeric": ["price"],\n \0 "categorical": ["item_id"]}' > r.json
    hostile "'r.json' line 2 column 2: NUL byte" rs-rank train -c r.json -q -o out.rsm labels.tsv
}

@test "size limits of the stream formats: exit 1 naming file and line" {
    "$PYTHON" -c "
print('id\t' + '\t'.join('v%d' % i for i in range(65537)))
print('a\t' + '\t'.join('1' for i in range(65537)))" > wide.tsv
    hostile "'wide.tsv' line 1: 65537 vector columns (RSB allows at most 65536)" rs-cat --to rsb -o out.rsb wide.tsv
    # Ids too long for RSB are refused where they are read, not when written.
    "$PYTHON" -c "print('user_id\titem_id'); print('u1\tb'); print('u1\t' + 'a' * 70000)" > longitem.tsv
    hostile "'longitem.tsv' line 3: column 'item_id': id of 70000 bytes (at most 65535)" \
        rs-als -f 2 -i 1 --item-factors out.rsb longitem.tsv
}

@test "-o onto a symlink writes through it (as sort -o): the link stays, the target gets the output" {
    events > e.tsv
    mkdir d
    echo old > d/real.tsv
    ln -s d/real.tsv link.tsv
    rs-cat -o link.tsv e.tsv
    [ -L link.tsv ]
    assert_same e.tsv d/real.tsv
    ln -s real.tsv d/rel.tsv # relative to the link's own folder
    echo old > d/real.tsv
    rs-cat -o d/rel.tsv e.tsv
    [ -L d/rel.tsv ]
    assert_same e.tsv d/real.tsv
    run ! compgen -G '*.tmp.*'
    run ! compgen -G 'd/*.tmp.*'
    # A link to nowhere is refused (as cp does), not replaced.
    ln -s nowhere/x.tsv dangling.tsv
    run -1 --separate-stderr rs-cat -o dangling.tsv e.tsv
    assert_stderr_has "cannot open 'dangling.tsv' for writing"
    [ -L dangling.tsv ]
}

@test "every table option honours the .csv name, as the main inputs do" {
    printf 'user_id,item_id,timestamp\nu1,i1,1\nu2,i2,2\nu2,i1,3\n' > ev.csv
    printf 'user_id,note\nu1,"a,b"\nu2,c\n' > users.csv
    run -0 --separate-stderr rs-retrieve --popular ev.csv --users-from users.csv -k 1
    [ "$output" = "$(printf 'user_id\titem_id\trank\tscore\nu1\ti1\t1\t2\nu2\ti1\t1\t2')" ]
}

# Issue 20: ids. One id is one byte string everywhere: the TSV reader undoes
# \t \n \r \\ (a backslash before anything else is itself) and every writer
# escapes them again (schemas/tsv.md, "Escaping").

ids_csv() { # events whose ids hold a tab, a newline, a CR and a backslash (quoted CSV)
    printf 'user_id,item_id,timestamp,event\n'
    printf '"u\t1","i\n1",10,click\n"u\n2","i\\2",11,click\n"u\\3","i\r3",12,click\n"u\t1","i\\2",13,click\n'
}

# rows FILE N: FILE reads back as a TSV (every row with the header's field
# count) of N rows.
rows() {
    run -0 --separate-stderr rs-cat "$1"
    [ "${#lines[@]}" -eq "$(($2 + 1))" ] || { echo "$1: ${#lines[@]} lines, want $(($2 + 1))"; cat -A "$1"; return 1; }
}

@test "ids holding a tab, newline or CR (quoted CSV) are written escaped by every tool, never as a corrupt TSV" {
    ids_csv > ev.csv
    run -0 --separate-stderr rs-features --side user --history 2 -o f.tsv ev.csv
    rows f.tsv 3
    run -0 --separate-stderr rs-features --side item -o fi.tsv ev.csv
    rows fi.tsv 3
    run -0 --separate-stderr rs-negsample -k 1 -o n.tsv ev.csv
    rows n.tsv 4
    run -0 --separate-stderr rs-prefilter --min-user-interactions 1 -o p.tsv ev.csv
    rows p.tsv 4
    run -0 --separate-stderr rs-split --cutoff 12 -o split ev.csv
    rows split/train.tsv 2
    printf 'user_id,item_id,rank\n"u\t1","i\n1",1\n"u\n2","i\\2",1\n' > pred.csv
    run -0 --separate-stderr rs-metrics --truth ev.csv --pred pred.csv -k 1 --per-user pu.tsv -o m.tsv
    rows pu.tsv 3
    grep -q '^pred	hit_rate	1	0.666666667$' m.tsv
    # and the ids and the history list read back as the bytes they were
    rs-cat --to json -o f.json f.tsv
    run -0 "$PYTHON" -c "
import json; d = json.load(open('f.json'))
assert sorted(d) == ['u\t1', 'u\n2', 'u\\\\3'], sorted(d)
assert d['u\t1'][0]['history'] == 'i\\\\2,i\n1', d['u\t1'][0]['history']"
}

@test "an id with a comma cannot go in a list field: rs-features --history and rs-negsample refuse it" {
    printf 'user_id,item_id,timestamp,event\nu1,"i,1",10,click\nu1,i2,11,click\nu2,i2,12,click\n' > ev.csv
    hostile "'ev.csv' line 2: column 'item_id': an id in a history list may not contain a comma" \
        rs-features --side user --history 2 -o out.tsv ev.csv
    hostile "'ev.csv' line 2: column 'item_id': item id 'i,1' contains a comma" rs-negsample -k 1 -o out.tsv ev.csv
}

@test "an id is one byte string: TSV -> RSB -> TSV -> JSON keeps it, and rs-metrics counts the hit" {
    # as written in TSV: a lone backslash, \\, \t, \n, \r, quotes, UTF-8,
    # leading and trailing spaces
    local -a ids=('x\y' 'b\\s' 't\tab' 'n\nl' 'c\r' '"q" '"'q'" 'été' ' lead' 'trail ')
    printf 'id\tv0\tv1\ni1\t1\t0\ni2\t0\t1\n' > items.tsv
    { printf 'id\tv0\tv1\n'; for k in "${!ids[@]}"; do printf '%s\t%d\t%d\n' "${ids[k]}" $((k % 2)) $((1 - k % 2)); done; } > users.tsv
    { printf 'user_id\titem_id\n'; for k in "${!ids[@]}"; do printf '%s\ti%d\n' "${ids[k]}" $((2 - k % 2)); done; } > truth.tsv
    rs-cat --to rsb -o items.rsb items.tsv
    rs-cat --to rsb -o users.rsb users.tsv
    rs-cat users.rsb > back.tsv
    rs-cat --to rsb -o again.rsb back.tsv
    rs-cat again.rsb > back2.tsv
    assert_same back.tsv back2.tsv
    run -0 --separate-stderr rs-retrieve --users again.rsb --items items.rsb -k 1 -o cand.tsv
    rows cand.tsv ${#ids[@]}
    run -0 --separate-stderr rs-metrics --truth truth.tsv --pred cand.tsv -k 1 -o m.tsv
    grep -q '^cand	hit_rate	1	1$' m.tsv
    # a vocabulary holds the ids themselves: apply then invert gives them back
    rs-vocab build -c user_id -o v.tsv truth.tsv
    rs-vocab apply --vocab v.tsv -c user_id truth.tsv | rs-vocab invert --vocab v.tsv -c user_id > inv.tsv
    rs-cat truth.tsv | assert_same - inv.tsv
    [ "$(grep -c . v.tsv)" -eq $((${#ids[@]} + 2)) ]
    rs-cat --to json -o cand.json cand.tsv
    run -0 "$PYTHON" -c "
import json; d = json.load(open('cand.json'))
want = ['x\\\\y', 'b\\\\s', 't\tab', 'n\nl', 'c\r', '\"q\" \'q\'', 'été', ' lead', 'trail ']
assert sorted(d) == sorted(want), sorted(d)"
}

@test "a side table keyed by id refuses an id twice, naming both lines" {
    events > e.tsv
    printf 'user_id\tage\nu1\t30\nu2\t40\nu1\t50\n' > users.tsv
    hostile "'users.tsv' line 4: column 'user_id': duplicate id 'u1' (first on line 2)" \
        rs-features --side user --users users.tsv -o out.tsv e.tsv
    printf 'item_id\tcategory\ni1\ta\ni2\tb\ni3\tc\ni2\tb\n' > items.tsv
    hostile "'items.tsv' line 5: column 'item_id': duplicate id 'i2' (first on line 3)" \
        rs-features --side item --items items.tsv -o out.tsv e.tsv
    printf 'user_id\titem_id\trank\tscore\nu1\ti1\t1\t0.9\nu1\ti2\t2\t0.8\n' > ranked.tsv
    hostile "'items.tsv' line 5: column 'item_id': duplicate id 'i2' (first on line 3)" \
        rs-diversify --items items.tsv --by category -n 2 -o out.tsv ranked.tsv
    hostile "'items.tsv' line 5: column 'item_id': duplicate id 'i2' (first on line 3)" \
        rs-metrics --truth e.tsv --pred ranked.tsv --item-features items.tsv -o out.tsv
    # segment tables: which of two rows would give the user's segment?
    printf 'user_id\tregion\nu1\tnorth\nu2\tsouth\nu1\tsouth\n' > seg.tsv
    hostile "'seg.tsv' line 4: column 'user_id': duplicate id 'u1' (first on line 2)" \
        rs-metrics --truth e.tsv --pred ranked.tsv --user-features seg.tsv --by region -o out.tsv
    hostile "'seg.tsv' line 4: column 'user_id': duplicate id 'u1' (first on line 2)" \
        rs-retrieve --popular e.tsv --segment-col region --users-from seg.tsv -k 2 -o out.tsv
}

# Issue 20: non-finite and huge numbers, one checked numeric path.

@test "text numbers: 1e999, hexadecimal and vector values beyond +-1e16 are refused with line and column" {
    printf 'id\tv0\tv1\na\t1\t2\nb\t1e20\t1\n' > big.tsv
    hostile "'big.tsv' line 3: column 'v0': expected a finite number within +-1e16, got '1e20'" \
        rs-cat --to rsb -o out.rsb big.tsv
    printf 'id\tv0\tv1\na\t1\t1e999\n' > over.tsv
    hostile "'over.tsv' line 2: column 'v1': expected a finite number, got '1e999'" rs-cat --to rsb -o out.rsb over.tsv
    printf 'id\tv0\tv1\na\t0x1p3\t1\n' > hex.tsv
    hostile "'hex.tsv' line 2: column 'v0': expected a decimal number, got '0x1p3'" rs-cat --to rsb -o out.rsb hex.tsv
    printf 'id\tv0\tv1\na\t1\t70000\n' > h.tsv
    hostile "'h.tsv' line 2: column 'id': id 'a': value 70000 beyond f16's range (+-65504)" \
        rs-cat --to rsb --dtype f16 -o out.rsb h.tsv
    printf 'user_id\titem_id\tw\nu1\ti1\t1e999\n' > w.tsv
    hostile "'w.tsv' line 2: column 'w': expected a finite number, got '1e999'" rs-als --weight-col w -f 2 -i 1 \
        --item-factors out.rsb w.tsv
    printf 'user_id\titem_id\tclick\tbooking\tprice\nu1\ti1\t1\t0\t1e300\nu2\ti2\t0\t0\t4\n' > labels.tsv
    printf '{"numeric": ["price"], "categorical": ["item_id"], "hidden": [4]}' > r.json
    hostile "'labels.tsv' line 2: column 'price': expected a finite number within +-1e16, got '1e300'" \
        rs-rank train -c r.json -q -o out.rsm labels.tsv
    "$PYTHON" "$FIXTURES/rs-train-tower/gen.py" . 12 8 > /dev/null
    awk -F'\t' 'NR == 3 { $4 = "1e20" } 1' OFS='\t' items.tsv > bigitems.tsv
    hostile "'bigitems.tsv' line 3: column 'price': expected a number within +-1e16, got '1e20'" \
        rs-train-tower -c tower.json --users users.tsv --items bigitems.tsv -q -o out.rsm train.tsv
    printf 'user_id\titem_id\trank\tscore\nu1\ti1\t1\t1e300\n' > ranked.tsv
    hostile "'ranked.tsv' line 2: column 'score': expected a number within float's range (+-3.4e38), got '1e300'" \
        rs-diversify -n 1 -o out.tsv ranked.tsv
    printf 'user_id\titem_id\trank\tscore\nu1\ti1\t0x10\t1\n' > pred.tsv
    events > truth.tsv
    hostile "'pred.tsv' line 2: column 'rank': expected a decimal number, got '0x10'" \
        rs-metrics --truth truth.tsv --pred pred.tsv -o out.tsv
}

@test "RSB records holding NaN or 1e20 are refused by every reader, naming file, record and id" {
    vectors v a b c d e f
    "$BATS_TEST_DIRNAME/forge-rsb" v.rsb nan.rsb c 2 nan
    "$BATS_TEST_DIRNAME/forge-rsb" v.rsb big.rsb e 1 1e20
    hostile "'nan.rsb': RSB row 3 (id 'c'): dimension 2 is nan, not a finite value within +-1e+16" \
        rs-cat -o out.tsv nan.rsb
    hostile "'big.rsb': RSB row 5 (id 'e'): dimension 1 is 1e+20" rs-cluster -k 2 -o out.tsv big.rsb
    hostile "'nan.rsb': RSB row 3 (id 'c')" rs-cluster --pca 1 -o out.tsv nan.rsb
    hostile "'big.rsb': RSB row 5 (id 'e')" rs-retrieve index build --items big.rsb -o out.idx
    hostile "'nan.rsb': RSB row 3 (id 'c')" rs-retrieve --users v.rsb --items nan.rsb -k 2 -o out.tsv
    hostile "'big.rsb': RSB row 5 (id 'e')" rs-retrieve --users big.rsb --items v.rsb -k 2 -o out.tsv
}

# bigvec NAME: 40 2-d vectors near the edge of the range (+-1e16) in 3 groups.
bigvec() {
    awk 'BEGIN { print "id\tv0\tv1"; for (i = 0; i < 40; i++) { g = i % 3
        printf "x%d\t%.17g\t%.17g\n", i, (g - 1) * 9e15 + i * 1e13, (g == 2 ? -9e15 : 9e15) - i * 1e13 } }' > "$1.tsv"
    rs-cat --to rsb -o "$1.rsb" "$1.tsv"
}

@test "vectors of +-1e16: k-means ids in range, finite inertia and PCA, the same index whatever the threads" {
    bigvec big
    run -0 --separate-stderr rs-cluster -k 3 -o c.tsv big.rsb
    [[ $stderr == *"inertia "[0-9]* ]]
    [[ $stderr != *nan* ]]
    run -0 awk -F'\t' 'NR > 1 && !($2 == 0 || $2 == 1 || $2 == 2) { print "bad id: " $0 }' c.tsv
    [ -z "$output" ]
    [ "$(wc -l < c.tsv)" -eq 41 ]
    run -0 rs-cluster --pca 2 -o p.tsv big.rsb
    run -1 grep -i nan p.tsv
    run -0 rs-retrieve index build --items big.rsb --partitions 3 -j 1 -q -o i1.idx
    run -0 rs-retrieve index build --items big.rsb --partitions 3 -j 2 -q -o i2.idx
    run -0 rs-retrieve index build --items big.rsb --partitions 3 -j 2 -q -o i3.idx
    assert_same i1.idx i2.idx
    assert_same i1.idx i3.idx
}

@test "count options size work by the data: -k above the rows is refused, --candidates and --batch are capped" {
    vectors v $(seq -f 'i%g' 1 50)
    # Checked before -k sizes anything: without that, 2^31 centroids run out of memory.
    hostile "'v.rsb': 50 rows, fewer than -k 2147483647" rs-cluster -k 2147483647 -o out.tsv v.rsb
    events > e.tsv
    run -0 --separate-stderr rs-als -f 2 -i 2 --candidates 1000000 -o all.tsv e.tsv
    assert_stderr_has "rs-als: --candidates 1000000 capped to the 3 items"
    run -0 rs-als -f 2 -i 2 --candidates 3 -q -o three.tsv e.tsv
    assert_same all.tsv three.tsv
    # The batch buffers grow with the queries read (ulimit -v 3000000 showed the
    # old 3 GB allocation; --max-memory is no probe here: OpenBLAS waits forever
    # for memory an RLIMIT_DATA refuses).
    run -0 rs-retrieve --users v.rsb --items v.rsb -k 1048576 --batch 16777216 -q -o wide.tsv
    run -0 rs-retrieve --users v.rsb --items v.rsb -k 50 -q -o fifty.tsv
    assert_same wide.tsv fifty.tsv
    if ldd "$BIN/rs-cluster" | grep -q libasan; then
        return 0 # --max-memory is not usable under the sanitizers
    fi
    hostile "'v.rsb': 50 rows, fewer than -k 2147483647" rs-cluster -k 2147483647 --max-memory 256M -o out.tsv v.rsb
}
