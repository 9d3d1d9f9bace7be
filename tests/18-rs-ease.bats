#!/usr/bin/env bats
# rs-ease: EASE on rs-synth positives; scores against a float64 numpy
# reference, the planted taste clusters recovered, the model file, the
# candidates conventions shared with rs-als, and the conventions of every tool.
load helpers

REF="$BATS_TEST_DIRNAME/ref/ease_ref.py"

# synth DIR [rs-synth options]: DIR/pos.tsv, the click, booking and favourite
# rows of a small rs-synth world (user_id item_id event timestamp ...).
synth() {
    local d=$1
    shift
    rs-synth -q --users 120 --items 60 --events 12000 -o "$d" "$@"
    rs-split -q --by-event 'pos=click,booking,favourite' -o "$d/split" "$d/events.tsv"
    mv "$d/split/pos.tsv" "$d/pos.tsv"
}

@test "rs-ease --help prints usage, formulas, defaults and examples to stdout" {
    run -0 --separate-stderr rs-ease --help
    [[ "$output" == *"Usage: rs-ease"* ]]
    [[ "$output" == *"B_ij = -P_ij / P_jj"* ]]
    [[ "$output" == *"--lambda X"*"(default 500"* ]]
    [[ "$output" == *"--max-items N"*"(default 30000"* ]]
    [[ "$output" == *"-k, --candidates N"* ]]
    [[ "$output" == *"--exclude-seen"* ]]
    [[ "$output" == *"--users-from F"* ]]
    [[ "$output" == *"Examples:"* ]]
    [ -z "$stderr" ]
}

@test "rs-ease --version; usage errors exit 2" {
    run -0 rs-ease --version
    [[ "$output" == *"openblas=yes"* ]]
    run -2 --separate-stderr rs-ease --bogus
    assert_stderr_has "invalid option '--bogus'"
    assert_stderr_has "Try 'rs-ease --help'"
    run -2 --separate-stderr rs-ease ev.tsv
    assert_stderr_has "nothing to write"
    run -2 --separate-stderr rs-ease --lambda 0 -k 5 ev.tsv
    assert_stderr_has "--lambda must be > 0"
    run -2 --separate-stderr rs-ease --lambda lots -k 5 ev.tsv
    run -2 --separate-stderr rs-ease -k 0 ev.tsv
    run -2 --separate-stderr rs-ease --save-model m.rsm --exclude-seen ev.tsv
    assert_stderr_has "need --candidates"
    run -2 --separate-stderr rs-ease -m m.rsm --lambda 5 -k 5 ev.tsv
    assert_stderr_has "--model scores a saved model"
    run -2 --separate-stderr rs-ease -m m.rsm --save-model n.rsm -k 5 ev.tsv
    assert_stderr_has "--model scores a saved model"
}

@test "missing file exits 1 naming it, and leaves no output" {
    run -1 --separate-stderr rs-ease -k 5 -o c.tsv --save-model m.rsm nope.tsv
    assert_stderr_has "rs-ease: cannot open 'nope.tsv': No such file or directory"
    [ ! -e c.tsv ]
    [ ! -e m.rsm ]
}

@test "bad input exits 1 naming file, line and column; no output left behind" {
    synth d
    awk -F'\t' -v OFS='\t' 'NR == 5 { $2 = "" } { print }' d/pos.tsv > bad.tsv
    run -1 --separate-stderr rs-ease -k 3 -o c.tsv --save-model m.rsm bad.tsv
    assert_stderr_has "'bad.tsv' line 5: column 'item_id': empty id"
    [ ! -e c.tsv ]
    [ ! -e m.rsm ]
    [ -z "$(ls | grep tmp)" ]
    printf 'user\titem_id\nu\ti\n' > nocol.tsv
    run -1 --separate-stderr rs-ease -k 3 nocol.tsv
    assert_stderr_has "user_id"
    printf 'user_id\nu1\n\n' > who.tsv
    run -1 --separate-stderr rs-ease -k 3 --users-from who.tsv -o c.tsv d/pos.tsv
    assert_stderr_has "'who.tsv' line 3: column 'user_id': empty id"
    [ ! -e c.tsv ]
}

@test "a bad model file exits 1 naming it" {
    synth d
    rs-ease -q --save-model m.rsm d/pos.tsv
    run -1 --separate-stderr rs-ease -m d/pos.tsv -k 3 d/pos.tsv
    assert_stderr_has "'d/pos.tsv': not an RSM file"
    head -c 2000 m.rsm > cut.rsm
    run -1 --separate-stderr rs-ease -m cut.rsm -k 3 -o c.tsv d/pos.tsv
    assert_stderr_has "'cut.rsm': truncated RSM file"
    [ ! -e c.tsv ]
    run -1 --separate-stderr rs-ease -m nope.rsm -k 3 d/pos.tsv
    assert_stderr_has "cannot open 'nope.rsm'"
}

@test "too many items: refused with the size and a way out, exit 1, no output" {
    synth d
    n=$(awk -F'\t' 'NR > 1 { i[$2] } END { print length(i) }' d/pos.tsv)
    run -1 --separate-stderr rs-ease --max-items $((n - 1)) -k 3 -o c.tsv --save-model m.rsm d/pos.tsv
    assert_stderr_has "rs-ease: $n items: more than the limit of $((n - 1)) for EASE"
    assert_stderr_has "rs-prefilter --top-n"
    assert_stderr_has "sparse model (rs-itemknn, rs-als)"
    [ ! -e c.tsv ]
    [ ! -e m.rsm ]
    rs-ease -q --max-items "$n" -k 3 -o c.tsv d/pos.tsv
    [ -s c.tsv ]
}

@test "a lambda too small for float precision: exit 1 asking for a larger one" {
    # three items every user has together: X'X is singular, 1e-30 vanishes next to it
    awk 'BEGIN { print "user_id\titem_id"; for (u = 0; u < 2; u++) print "u" u "\ta\nu" u "\tb\nu" u "\td"
                 print "x\tc" }' > sing.tsv
    run -1 --separate-stderr rs-ease -l 1e-30 -k 2 -o c.tsv --save-model m.rsm sing.tsv
    assert_stderr_has "is not positive definite in float precision at item 'd' (λ = 1e-30): raise λ"
    [ ! -e c.tsv ]
    [ ! -e m.rsm ]
    run -0 rs-ease -q -l 1 -k 2 sing.tsv
}

@test "-o /dev/full is a write error, exit 1" {
    synth d
    run -1 --separate-stderr rs-ease -k 20 -o /dev/full d/pos.tsv
    assert_stderr_has "No space left on device"
}

@test "-j1, -j2 and -j3 give byte-identical candidates and models" {
    synth d --users 300 --items 150 --events 30000
    rs-ease -q -j1 -k 15 --exclude-seen --save-model m1.rsm -o c1.tsv d/pos.tsv
    rs-ease -q -j2 -k 15 --exclude-seen --save-model m2.rsm -o c2.tsv d/pos.tsv
    rs-ease -q -j3 -k 15 --exclude-seen --save-model m3.rsm -o c3.tsv d/pos.tsv
    rs-ease -q -j2 -k 15 --exclude-seen --save-model m4.rsm -o c4.tsv d/pos.tsv
    assert_same c1.tsv c2.tsv
    assert_same c1.tsv c3.tsv
    assert_same c2.tsv c4.tsv
    assert_same m1.rsm m2.rsm
    assert_same m1.rsm m3.rsm
    [ "$(wc -l < c1.tsv)" -gt 1000 ]
}

@test "stdin, file, .zst and a pipe give the same bytes" {
    synth d
    zstd -q d/pos.tsv -o pos.tsv.zst
    rs-ease -q -k 5 -o a.tsv d/pos.tsv
    rs-ease -q -k 5 -o b.tsv < d/pos.tsv
    rs-ease -q -k 5 -o c.tsv pos.tsv.zst
    rs-cat pos.tsv.zst | rs-ease -q -k 5 - > d.tsv
    assert_same a.tsv b.tsv
    assert_same a.tsv c.tsv
    assert_same a.tsv d.tsv
    run -0 --separate-stderr bash -c 'set -o pipefail; rs-cat pos.tsv.zst | rs-ease -q -k 3 | rs-cat --head 2'
    [ "${lines[0]}" = "$(printf 'user_id\titem_id\trank\tscore')" ]
    [ "${#lines[@]}" -eq 3 ]
    run -2 --separate-stderr rs-ease -q -k 3 - - < d/pos.tsv
    assert_stderr_has "stdin named twice"
}

@test "scores match a float64 numpy EASE within 1e-5 of the largest score" {
    synth d
    for l in 500 10; do
        rs-ease -q -l $l -k 12 -o c.tsv d/pos.tsv
        run -0 "$PYTHON" "$REF" d/pos.tsv c.tsv 12 $l --tol 1e-5
        echo "$output"
        rs-ease -q -l $l -k 12 --exclude-seen -o x.tsv d/pos.tsv
        run -0 "$PYTHON" "$REF" d/pos.tsv x.tsv 12 $l --exclude-seen --tol 1e-5
    done
}

@test "--exclude-seen: no training item comes back; without it they do" {
    synth d
    rs-ease -q -k 10 --exclude-seen -o x.tsv d/pos.tsv
    rs-ease -q -k 10 -o all.tsv d/pos.tsv
    seen_in() { awk -F'\t' 'FNR == 1 { next } NR == FNR { s[$1 SUBSEP $2] = 1; next } ($1 SUBSEP $2) in s { n++ }
                             END { print n + 0 }' d/pos.tsv "$1"; }
    [ "$(seen_in x.tsv)" -eq 0 ]
    [ "$(seen_in all.tsv)" -gt 0 ]
    # every user gets 10 items, ranks 1..10, contiguous
    awk -F'\t' 'NR > 1 { n[$1]++; if ($3 != n[$1]) bad = 1 } END { for (u in n) if (n[u] != 10) bad = 1; exit bad }' x.tsv
}

@test "recovers the planted taste clusters of rs-synth, beating popularity" {
    rs-synth -q --users 400 --items 200 --events 60000 --zipf 0.5 --recommended 0.5 --clusters 8 -o d
    rs-split -q --by-event 'pos=click,booking,favourite' -o p d/events.tsv
    rs-split -q --per-user-frac 0.2 --min-train 1 -o s p/pos.tsv
    rs-ease -q -l 100 -k 10 --exclude-seen --users-from s/test.tsv -o ease.tsv s/train.tsv
    rs-retrieve -q --popular s/train.tsv --users-from s/test.tsv -k 10 --exclude s/train.tsv -o pop.tsv
    rs-metrics -q --truth s/test.tsv -k 10 --pred ease=ease.tsv --pred pop=pop.tsv > m.tsv
    ease=$(awk -F'\t' '$1 == "ease" && $2 == "recall" { print $4 }' m.tsv)
    pop=$(awk -F'\t' '$1 == "pop" && $2 == "recall" { print $4 }' m.tsv)
    echo "recall@10: ease $ease, popular $pop"
    awk -v e="$ease" -v p="$pop" 'BEGIN { exit !(e >= 1.5 * p && e > 0.08) }'
    # share of each user's top 5 in one of the user's two planted taste clusters
    share() { awk -F'\t' 'FNR == 1 { f++; next } f == 1 { c[$1] = $2; next } f == 2 { a[$1] = $2; b[$1] = $3; next }
                          $3 <= 5 { n++; g += c[$2] == a[$1] || c[$2] == b[$1] } END { printf "%.3f", g / n }' \
                     d/item_truth.tsv d/user_truth.tsv "$1"; }
    echo "in the user's taste clusters: ease $(share ease.tsv), popular $(share pop.tsv)"
    awk -v e="$(share ease.tsv)" -v p="$(share pop.tsv)" 'BEGIN { exit !(e >= 0.6 && e >= 2 * p) }'
}

@test "a saved model scores like the one-shot run; rs-cat describes it" {
    synth d
    rs-ease -q -l 250 -k 8 --exclude-seen -o once.tsv --save-model m.rsm d/pos.tsv
    rs-ease -q -m m.rsm -k 8 --exclude-seen -o again.tsv d/pos.tsv
    assert_same once.tsv again.tsv
    rs-ease -q -l 250 --save-model m2.rsm.zst d/pos.tsv
    rs-ease -q -m m2.rsm.zst -k 8 --exclude-seen -o zst.tsv d/pos.tsv
    assert_same once.tsv zst.tsv
    run -0 rs-cat --schema m.rsm
    [[ "$output" == *'"kind":"ease"'* ]]
    [[ "$output" == *'"lambda":250'* ]]
    [[ "$output" == *"B	f32"* ]]
}

@test "a model scores other histories; unknown users and items fall back to popularity" {
    synth d
    rs-ease -q --save-model m.rsm d/pos.tsv
    # u1 has two known items and one the model never saw; u2 only unknown ones
    i1=$(awk -F'\t' 'NR == 2 { print $2 }' d/pos.tsv)
    i2=$(awk -F'\t' 'NR == 3 { print $2 }' d/pos.tsv)
    printf 'user_id\titem_id\nnew1\t%s\nnew1\t%s\nnew1\tnever\nnew2\tnever\n' "$i1" "$i2" > h.tsv
    printf 'user_id\tcol\nnobody\tx\nnew2\tx\nnew1\tx\nnobody\tx\n' > who.tsv
    rs-ease -q -m m.rsm -k 4 --exclude-seen --users-from who.tsv -o c.tsv h.tsv
    [ "$(cut -f1 c.tsv | uniq | tr '\n' ' ')" = "user_id nobody new2 new1 " ]
    # nobody and new2: the 4 items with the most users, score = that count, ties to the lower id
    awk -F'\t' 'NR > 1 { u[$2 SUBSEP $1] } END { for (k in u) { split(k, p, SUBSEP); n[p[1]]++ }
                for (i in n) print n[i] "\t" i }' d/pos.tsv | LC_ALL=C sort -k1,1nr -k2,2 | head -4 > pop
    [ "$(awk -F'\t' '$1 == "nobody" { print $4 "\t" $2 }' c.tsv)" = "$(cat pop)" ]
    [ "$(awk -F'\t' '$1 == "new2" { print $4 "\t" $2 }' c.tsv)" = "$(cat pop)" ]
    # new1: ranked by its two known items, which are excluded
    [ "$(grep -c '^new1' c.tsv)" -eq 4 ]
    run -1 grep -qE "^new1	($i1|$i2)	" c.tsv
}

@test "--positive, column mapping and CSV input" {
    synth d
    rs-ease -q -k 5 -o a.tsv d/pos.tsv
    rs-ease -q -k 5 --positive click,booking,favourite -o b.tsv d/events.tsv
    assert_same a.tsv b.tsv
    rs-ease -q -k 5 --positive booking -o c.tsv d/events.tsv
    assert_differ a.tsv c.tsv
    sed '1s/user_id/uid/; 1s/item_id/movie/' d/pos.tsv | tr '\t' ',' > ev.csv
    printf 'uid\n' > who.csv
    cut -f1 d/pos.tsv | tail -n +2 >> who.csv
    rs-ease -q -k 5 --user-col uid --item-col movie --users-from who.csv -o e.tsv ev.csv
    [ "$(tail -n +2 e.tsv)" = "$(tail -n +2 a.tsv)" ]
}

@test "empty and header-only input: header-only candidates, an empty model" {
    : > empty.tsv
    printf 'user_id\titem_id\n' > h.tsv
    for f in empty.tsv h.tsv; do
        run -0 --separate-stderr rs-ease -k 3 -o c.tsv --save-model m.rsm $f
        [ "$(cat c.tsv)" = "$(printf 'user_id\titem_id\trank\tscore')" ]
        run -0 rs-ease -m m.rsm -k 3 --users-from h.tsv $f
    done
}
