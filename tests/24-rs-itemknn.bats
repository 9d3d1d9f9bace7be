#!/usr/bin/env bats
# rs-itemknn: item-item kNN on rs-synth positives; scores against a float64
# numpy reference, the planted taste clusters recovered, the model file, the
# candidates conventions shared with rs-ease, and the conventions of every tool.
load helpers

REF="$BATS_TEST_DIRNAME/ref/itemknn_ref.py"

# synth DIR [rs-synth options]: DIR/pos.tsv, the click, booking and favourite
# rows of a small rs-synth world.
synth() {
    local d=$1
    shift
    rs-synth -q --users 120 --items 60 --events 12000 -o "$d" "$@"
    rs-split -q --by-event 'pos=click,booking,favourite' -o "$d/split" "$d/events.tsv"
    mv "$d/split/pos.tsv" "$d/pos.tsv"
}

@test "rs-itemknn --help prints usage, formulas, defaults and examples to stdout" {
    run -0 --separate-stderr rs-itemknn --help
    [[ "$output" == *"Usage: rs-itemknn"* ]]
    [[ "$output" == *"s_ij = c_ij / (sqrt(n_i n_j) + shrink)"* ]]
    [[ "$output" == *"--neighbours N"*"(default 100)"* ]]
    [[ "$output" == *"--shrink X"*"(default 10"* ]]
    [[ "$output" == *"--max-history H"*"(default 500"* ]]
    [[ "$output" == *"-k, --candidates N"* ]]
    [[ "$output" == *"--exclude-seen"* ]]
    [[ "$output" == *"Examples:"* ]]
    [ -z "$stderr" ]
}

@test "rs-itemknn usage errors exit 2" {
    run -2 --separate-stderr rs-itemknn --bogus
    assert_stderr_has "invalid option '--bogus'"
    assert_stderr_has "Try 'rs-itemknn --help'"
    run -2 --separate-stderr rs-itemknn ev.tsv
    assert_stderr_has "nothing to write"
    run -2 --separate-stderr rs-itemknn -M 0 -k 5 ev.tsv
    assert_stderr_has "--neighbours"
    run -2 --separate-stderr rs-itemknn --shrink -1 -k 5 ev.tsv
    assert_stderr_has "--shrink"
    run -2 --separate-stderr rs-itemknn --max-history x -k 5 ev.tsv
    run -2 --separate-stderr rs-itemknn -k 0 ev.tsv
    run -2 --separate-stderr rs-itemknn --save-model m.rsm --users-from u.tsv ev.tsv
    assert_stderr_has "need --candidates"
    run -2 --separate-stderr rs-itemknn -m m.rsm -M 5 -k 5 ev.tsv
    assert_stderr_has "--model scores a saved model"
    run -2 --separate-stderr rs-itemknn -m m.rsm --save-model n.rsm -k 5 ev.tsv
    assert_stderr_has "--model scores a saved model"
}

@test "missing file, bad rows and a bad model: exit 1 naming them, no output left" {
    run -1 --separate-stderr rs-itemknn -k 5 -o c.tsv --save-model m.rsm nope.tsv
    assert_stderr_has "rs-itemknn: cannot open 'nope.tsv': No such file or directory"
    synth d
    awk -F'\t' -v OFS='\t' 'NR == 5 { $2 = "" } { print }' d/pos.tsv > bad.tsv
    run -1 --separate-stderr rs-itemknn -k 3 -o c.tsv --save-model m.rsm bad.tsv
    assert_stderr_has "'bad.tsv' line 5: column 'item_id': empty id"
    [ ! -e c.tsv ]
    [ ! -e m.rsm ]
    [ -z "$(ls | grep tmp)" ]
    rs-ease -q --save-model ease.rsm d/pos.tsv
    run -1 --separate-stderr rs-itemknn -m ease.rsm -k 3 -o c.tsv d/pos.tsv
    assert_stderr_has "'ease.rsm' is not an rs-itemknn model (model kind 'ease')"
    rs-itemknn -q --save-model m.rsm d/pos.tsv
    head -c 2000 m.rsm > cut.rsm
    run -1 --separate-stderr rs-itemknn -m cut.rsm -k 3 -o c.tsv d/pos.tsv
    assert_stderr_has "'cut.rsm': truncated RSM file"
    [ ! -e c.tsv ]
    run -1 --separate-stderr rs-itemknn -k 20 -o /dev/full d/pos.tsv
    assert_stderr_has "No space left on device"
}

@test "-j1, -j2 and -j3 give byte-identical candidates and models" {
    synth d --users 300 --items 150 --events 30000
    for j in 1 2 3; do
        rs-itemknn -q -j$j -M 20 -k 15 --exclude-seen --save-model m$j.rsm -o c$j.tsv d/pos.tsv
    done
    assert_same c1.tsv c2.tsv
    assert_same c1.tsv c3.tsv
    assert_same m1.rsm m2.rsm
    assert_same m1.rsm m3.rsm
    [ "$(wc -l < c1.tsv)" -gt 1000 ]
}

@test "stdin, file, .zst and a pipe give the same bytes" {
    synth d
    zstd -q d/pos.tsv -o pos.tsv.zst
    rs-itemknn -q -k 5 -o a.tsv d/pos.tsv
    rs-itemknn -q -k 5 -o b.tsv < d/pos.tsv
    rs-itemknn -q -k 5 -o c.tsv pos.tsv.zst
    rs-cat pos.tsv.zst | rs-itemknn -q -k 5 - > d.tsv
    assert_same a.tsv b.tsv
    assert_same a.tsv c.tsv
    assert_same a.tsv d.tsv
    rs-itemknn -q -k 5 -z -o e.tsv.zst d/pos.tsv
    [ "$(rs-cat e.tsv.zst)" = "$(cat a.tsv)" ]
    run -2 --separate-stderr rs-itemknn -q -k 3 - - < d/pos.tsv
    assert_stderr_has "stdin named twice"
}

@test "scores match a float64 numpy item kNN within 1e-5 of the largest score" {
    synth d
    for mb in "100 10" "8 0" "3 2.5"; do
        set -- $mb
        rs-itemknn -q -M $1 --shrink $2 -k 12 -o c.tsv d/pos.tsv
        run -0 "$PYTHON" "$REF" d/pos.tsv c.tsv 12 $1 $2 --tol 1e-5
        echo "$output"
        rs-itemknn -q -M $1 --shrink $2 -k 12 --exclude-seen -o x.tsv d/pos.tsv
        run -0 "$PYTHON" "$REF" d/pos.tsv x.tsv 12 $1 $2 --exclude-seen --tol 1e-5
    done
}

@test "--exclude-seen: no training item comes back; without it they do" {
    synth d
    rs-itemknn -q -k 10 --exclude-seen -o x.tsv d/pos.tsv
    rs-itemknn -q -k 10 -o all.tsv d/pos.tsv
    seen_in() { awk -F'\t' 'FNR == 1 { next } NR == FNR { s[$1 SUBSEP $2] = 1; next } ($1 SUBSEP $2) in s { n++ }
                             END { print n + 0 }' d/pos.tsv "$1"; }
    [ "$(seen_in x.tsv)" -eq 0 ]
    [ "$(seen_in all.tsv)" -gt 0 ]
    awk -F'\t' 'NR > 1 { n[$1]++; if ($3 != n[$1]) bad = 1 } END { for (u in n) if (n[u] != 10) bad = 1; exit bad }' x.tsv
}

@test "--max-history cuts the fit to each user's last items" {
    synth d
    rs-itemknn -q -k 5 --max-history 0 -o all.tsv d/pos.tsv
    rs-itemknn -q -k 5 -o def.tsv d/pos.tsv
    assert_same all.tsv def.tsv
    run -0 --separate-stderr rs-itemknn -k 5 --max-history 2 -o cut.tsv d/pos.tsv
    assert_stderr_has "histories cut to their last 2 items"
    assert_differ all.tsv cut.tsv
}

@test "recovers the planted taste clusters of rs-synth, beating popularity" {
    rs-synth -q --users 400 --items 200 --events 60000 --zipf 0.5 --recommended 0.5 --clusters 8 -o d
    rs-split -q --by-event 'pos=click,booking,favourite' -o p d/events.tsv
    rs-split -q --per-user-frac 0.2 --min-train 1 -o s p/pos.tsv
    rs-itemknn -q -k 10 --exclude-seen --users-from s/test.tsv -o knn.tsv s/train.tsv
    rs-retrieve -q --popular s/train.tsv --users-from s/test.tsv -k 10 --exclude s/train.tsv -o pop.tsv
    rs-metrics -q --truth s/test.tsv -k 10 --pred knn=knn.tsv --pred pop=pop.tsv > m.tsv
    knn=$(awk -F'\t' '$1 == "knn" && $2 == "recall" { print $4 }' m.tsv)
    pop=$(awk -F'\t' '$1 == "pop" && $2 == "recall" { print $4 }' m.tsv)
    echo "recall@10: itemknn $knn, popular $pop"
    awk -v e="$knn" -v p="$pop" 'BEGIN { exit !(e >= 1.5 * p && e > 0.08) }'
    share() { awk -F'\t' 'FNR == 1 { f++; next } f == 1 { c[$1] = $2; next } f == 2 { a[$1] = $2; b[$1] = $3; next }
                          $3 <= 5 { n++; g += c[$2] == a[$1] || c[$2] == b[$1] } END { printf "%.3f", g / n }' \
                     d/item_truth.tsv d/user_truth.tsv "$1"; }
    echo "in the user's taste clusters: itemknn $(share knn.tsv), popular $(share pop.tsv)"
    awk -v e="$(share knn.tsv)" -v p="$(share pop.tsv)" 'BEGIN { exit !(e >= 0.6 && e >= 2 * p) }'
}

@test "a saved model scores like the one-shot run; rs-cat describes it" {
    synth d
    rs-itemknn -q -M 30 --shrink 5 -k 8 --exclude-seen -o once.tsv --save-model m.rsm d/pos.tsv
    rs-itemknn -q -m m.rsm -k 8 --exclude-seen -o again.tsv d/pos.tsv
    assert_same once.tsv again.tsv
    rs-itemknn -q -M 30 --shrink 5 --save-model m2.rsm.zst d/pos.tsv
    rs-itemknn -q -m m2.rsm.zst -k 8 --exclude-seen -o zst.tsv d/pos.tsv
    assert_same once.tsv zst.tsv
    run -0 rs-cat --schema m.rsm
    [[ "$output" == *'"kind":"itemknn"'* ]]
    [[ "$output" == *'"neighbours":30'* ]]
    [[ "$output" == *"neighbour_ids	i32"* ]]
}

@test "a model scores other histories; unknown users and items fall back to popularity" {
    synth d
    rs-itemknn -q --save-model m.rsm d/pos.tsv
    i1=$(awk -F'\t' 'NR == 2 { print $2 }' d/pos.tsv)
    i2=$(awk -F'\t' 'NR == 3 { print $2 }' d/pos.tsv)
    printf 'user_id\titem_id\nnew1\t%s\nnew1\t%s\nnew1\tnever\nnew2\tnever\n' "$i1" "$i2" > h.tsv
    printf 'user_id\tcol\nnobody\tx\nnew2\tx\nnew1\tx\nnobody\tx\n' > who.tsv
    rs-itemknn -q -m m.rsm -k 4 --exclude-seen --users-from who.tsv -o c.tsv h.tsv
    [ "$(cut -f1 c.tsv | uniq | tr '\n' ' ')" = "user_id nobody new2 new1 " ]
    awk -F'\t' 'NR > 1 { u[$2 SUBSEP $1] } END { for (k in u) { split(k, p, SUBSEP); n[p[1]]++ }
                for (i in n) print n[i] "\t" i }' d/pos.tsv | LC_ALL=C sort -k1,1nr -k2,2 | head -4 > pop
    [ "$(awk -F'\t' '$1 == "nobody" { print $4 "\t" $2 }' c.tsv)" = "$(cat pop)" ]
    [ "$(awk -F'\t' '$1 == "new2" { print $4 "\t" $2 }' c.tsv)" = "$(cat pop)" ]
    [ "$(grep -c '^new1' c.tsv)" -eq 4 ]
    run -1 grep -qE "^new1	($i1|$i2)	" c.tsv
}

@test "--positive, column mapping, CSV, and empty input" {
    synth d
    rs-itemknn -q -k 5 -o a.tsv d/pos.tsv
    rs-itemknn -q -k 5 --positive click,booking,favourite -o b.tsv d/events.tsv
    assert_same a.tsv b.tsv
    sed '1s/user_id/uid/; 1s/item_id/movie/' d/pos.tsv | tr '\t' ',' > ev.csv
    rs-itemknn -q -k 5 --user-col uid --item-col movie -o e.tsv ev.csv
    [ "$(tail -n +2 e.tsv)" = "$(tail -n +2 a.tsv)" ]
    printf 'user_id\titem_id\n' > h.tsv
    run -0 --separate-stderr rs-itemknn -k 3 -o c.tsv --save-model m.rsm h.tsv
    [ "$(cat c.tsv)" = "$(printf 'user_id\titem_id\trank\tscore')" ]
    run -0 rs-itemknn -m m.rsm -k 3 --users-from h.tsv h.tsv
}
