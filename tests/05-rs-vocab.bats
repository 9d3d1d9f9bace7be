#!/usr/bin/env bats
# rs-vocab: build (counts, ties, min count, max size, list columns), apply
# (OOV 0 and hashed buckets), invert, round trips, and the conventions.
load helpers

events() {
    printf 'user_id\titem_id\thistory\tnote\n'
    printf 'u1\tb\ta,c\tn1\n'
    printf 'u2\ta\tb,b\tn2\n'
    printf 'u3\tc\t\tn3\n'
    printf 'u1\tb\td\tn4\n'
    printf 'u4\t\ta\tn5\n'
}

@test "rs-vocab --help, --version, usage errors exit 2" {
    run -0 --separate-stderr rs-vocab --help
    [[ "$output" == *"Usage: rs-vocab build|apply|invert"* ]]
    [[ "$output" == *"--buckets B"* ]]
    [[ "$output" == *"Examples:"* ]]
    [ -z "$stderr" ]
    run -0 rs-vocab --version
    [[ "$output" == *"recsys-pipes"* ]]
    run -2 --separate-stderr rs-vocab build --bogus -c x
    assert_stderr_has "Try 'rs-vocab --help'"
    run -2 --separate-stderr rs-vocab -c item_id
    assert_stderr_has "missing command"
    run -2 --separate-stderr rs-vocab count -c item_id
    assert_stderr_has "unknown command 'count'"
    run -2 --separate-stderr rs-vocab build
    assert_stderr_has "no columns"
    run -2 --separate-stderr rs-vocab apply -c item_id
    assert_stderr_has "apply needs --vocab FILE"
    run -2 --separate-stderr rs-vocab apply --vocab v.tsv -c item_id --min-count 3
    assert_stderr_has "are for build"
}

@test "missing input or vocabulary file exits 1 naming it" {
    run -1 --separate-stderr rs-vocab build -c item_id nope.tsv
    assert_stderr_has "cannot open 'nope.tsv'"
    events > e.tsv
    run -1 --separate-stderr rs-vocab apply --vocab nope.vocab -c item_id e.tsv
    assert_stderr_has "cannot open 'nope.vocab'"
    run -1 --separate-stderr rs-vocab build -c title e.tsv
    assert_stderr_has "'title'"
}

@test "build: counts over columns and lists, most frequent first, ties bytewise, empty fields skipped" {
    events > e.tsv
    run -0 --separate-stderr rs-vocab build -c item_id -l history e.tsv
    [ "$output" = "$(printf 'id\ttoken\tcount\n0\t\t0\n1\tb\t4\n2\ta\t3\n3\tc\t2\n4\td\t1')" ]
    assert_stderr_has "4 distinct tokens, 4 kept"
    run -0 rs-vocab build -q -c item_id e.tsv
    [ "$output" = "$(printf 'id\ttoken\tcount\n0\t\t0\n1\tb\t2\n2\ta\t1\n3\tc\t1')" ]
}

@test "build: --min-count and --max-size; the OOV row counts what they left out" {
    events > e.tsv
    run -0 rs-vocab build -q -c item_id -l history --min-count 2 e.tsv
    [ "$output" = "$(printf 'id\ttoken\tcount\n0\t\t1\n1\tb\t4\n2\ta\t3\n3\tc\t2')" ]
    run -0 rs-vocab build -q -c item_id -l history -n 2 e.tsv
    [ "$output" = "$(printf 'id\ttoken\tcount\n0\t\t3\n1\tb\t4\n2\ta\t3')" ]
}

@test "build over several files adds their counts" {
    events > e.tsv
    printf 'item_id\nd\nd\nd\nd\nd\n' > more.tsv
    run -0 rs-vocab build -q -c item_id e.tsv more.tsv
    [ "${lines[1]}" = "$(printf '0\t\t0')" ]
    [ "${lines[2]}" = "$(printf '1\td\t5')" ]
}

@test "apply: ids, OOV 0, empty field 0, lists mapped element-wise, other columns pass through" {
    events > e.tsv
    rs-vocab build -q -c item_id --min-count 2 -o v.tsv e.tsv
    run -0 rs-vocab apply --vocab v.tsv -c item_id -l history e.tsv
    [ "$output" = "$(printf 'user_id\titem_id\thistory\tnote\nu1\t1\t0,0\tn1\nu2\t0\t1,1\tn2\nu3\t0\t\tn3\nu1\t1\t0\tn4\nu4\t0\t0\tn5')" ]
}

@test "apply --buckets: unseen tokens go to V+1+XXH3_64(token) % B (known answers)" {
    printf 'item_id\na\na\nb\n' > train.tsv
    rs-vocab build -q -c item_id -o v.tsv train.tsv
    printf 'item_id\na\nnew1\nzz9\nq\n\n' > test.tsv
    rs-vocab apply --vocab v.tsv -c item_id -B 100 test.tsv > ids.tsv
    # V = 2: XXH3_64("new1") % 100 = 59, "zz9" -> 65, "q" -> 78 (python xxhash)
    printf 'item_id\n1\n62\n68\n81\n0\n' > want.tsv
    assert_same ids.tsv want.tsv
    rs-vocab invert --vocab v.tsv -c item_id -B 100 < ids.tsv > back.tsv
    printf 'item_id\na\n\n\n\n\n' > want.tsv
    assert_same back.tsv want.tsv
}

@test "round trip: build, apply, invert gives the input back" {
    awk 'BEGIN { srand(5); print "user_id\titem_id\thistory";
                 for (k = 0; k < 3000; k++) { h = ""; for (j = 0; j < k % 4; j++) h = h (j ? "," : "") "i" int(rand()*400);
                     printf "u%d\ti%d\t%s\n", k % 97, int(rand()*rand()*400), h } }' > e.tsv
    rs-vocab build -q -c user_id,item_id -l history -o v.tsv.zst e.tsv
    rs-vocab apply --vocab v.tsv.zst -c user_id,item_id -l history -o ids.tsv e.tsv
    run -1 grep -q 'i[0-9]' ids.tsv
    rs-vocab invert --vocab v.tsv.zst -c user_id,item_id -l history -o back.tsv ids.tsv
    assert_same e.tsv back.tsv
}

@test "invert: bad or out-of-range ids name file, line and column" {
    printf 'item_id\na\nb\n' > t.tsv
    rs-vocab build -q -c item_id -o v.tsv t.tsv
    printf 'item_id\n1\nx\n' > bad.tsv
    run -1 --separate-stderr rs-vocab invert --vocab v.tsv -c item_id bad.tsv
    assert_stderr_has "'bad.tsv' line 3: column 'item_id': expected an id, got 'x'"
    printf 'item_id\n3\n' > big.tsv
    run -1 --separate-stderr rs-vocab invert --vocab v.tsv -c item_id -o out.tsv big.tsv
    assert_stderr_has "'big.tsv' line 2: column 'item_id': id 3 out of range (the vocabulary has ids 0..2)"
    [ ! -e out.tsv ]
    run -0 rs-vocab invert --vocab v.tsv -c item_id -B 5 big.tsv
    [ "$output" = "$(printf 'item_id\n')" ]
}

@test "a malformed vocabulary file is rejected with its line" {
    printf 'id\ttoken\tcount\n0\t\t0\n1\ta\t2\n1\tb\t1\n' > v.tsv
    printf 'item_id\na\n' > t.tsv
    run -1 --separate-stderr rs-vocab apply --vocab v.tsv -c item_id t.tsv
    assert_stderr_has "'v.tsv' line 4: column 'id': expected id 2"
}

@test "stdin, file and .zst input give the same output" {
    events > e.tsv
    zstd -q e.tsv -o e.tsv.zst
    rs-vocab build -q -c item_id -l history e.tsv > a
    rs-vocab build -q -c item_id -l history < e.tsv > b
    rs-vocab build -q -c item_id -l history e.tsv.zst > c
    cat e.tsv.zst | rs-vocab build -q -c item_id -l history - > d
    assert_same a b
    assert_same a c
    assert_same a d
    rs-vocab apply --vocab a -c item_id e.tsv > x
    rs-vocab apply --vocab a -c item_id < e.tsv.zst > y
    assert_same x y
}

@test "empty and header-only inputs" {
    : > empty.tsv
    run -0 rs-vocab build -q -c item_id empty.tsv
    [ "$output" = "$(printf 'id\ttoken\tcount\n0\t\t0')" ]
    printf 'item_id\n' > h.tsv
    run -0 rs-vocab build -q -c item_id h.tsv
    [ "$output" = "$(printf 'id\ttoken\tcount\n0\t\t0')" ]
    rs-vocab build -q -c item_id -o v.tsv h.tsv
    run -0 rs-vocab apply --vocab v.tsv -c item_id empty.tsv
    [ -z "$output" ]
    run -0 rs-vocab apply --vocab v.tsv -c item_id h.tsv
    [ "$output" = item_id ]
}

@test "CSV input: quoted fields are tokens; output is TSV" {
    printf 'item_id,n\n"x, y",1\nz,2\n"x, y",3\n' > e.csv
    run -0 rs-vocab build -q -c item_id e.csv
    [ "${lines[2]}" = "$(printf '1\tx, y\t2')" ]
    rs-vocab build -q -c item_id -o v.tsv e.csv
    run -0 rs-vocab apply --vocab v.tsv -c item_id e.csv
    [ "$output" = "$(printf 'item_id\tn\n1\t1\n2\t2\n1\t3')" ]
}

@test "-o /dev/full is a write error; a failed apply leaves no output" {
    events > e.tsv
    run -1 --separate-stderr rs-vocab build -c item_id -o /dev/full e.tsv
    assert_stderr_has "No space left on device"
    printf 'id\ttoken\tcount\n0\t\t0\n1\ta\t2\n' > v.tsv
    printf 'item_id\tx\na\t1\nb\n' > bad.tsv
    echo previous > out.tsv
    run -1 rs-vocab apply --vocab v.tsv -c item_id -o out.tsv bad.tsv
    [ "$(cat out.tsv)" = previous ]
    [ -z "$(ls | grep tmp)" ]
}

@test "two runs are byte-identical; apply | invert composes in a pipe" {
    awk 'BEGIN { srand(9); print "item_id"; for (k = 0; k < 50000; k++) printf "t%d\n", int(rand()*rand()*5000) }' > t.tsv
    rs-vocab build -q -c item_id -m 2 -o a.tsv t.tsv
    rs-vocab build -q -c item_id -m 2 -o b.tsv t.tsv
    assert_same a.tsv b.tsv
    [ "$(awk -F'\t' 'NR > 2 && $3 < 2' a.tsv | wc -l)" -eq 0 ]
    [ "$(awk -F'\t' 'NR == 2 { print $3 }' a.tsv)" -gt 0 ]
    rs-vocab build -q -c item_id -o all.tsv t.tsv
    run -0 bash -c 'set -o pipefail; rs-vocab apply --vocab all.tsv -c item_id t.tsv |
        rs-vocab invert --vocab all.tsv -c item_id | rs-cat | cmp - t.tsv'
}
