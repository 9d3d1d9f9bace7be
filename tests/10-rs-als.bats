#!/usr/bin/env bats
# rs-als: implicit ALS on generated events with planted block structure;
# factors as RSB, loss log, candidates with popular fallback, and the
# conventions of every tool.
load helpers

# gen: two taste groups; users aN see 8 random items of A1..A25, users bN of
# B1..B25 (plus 2 views that --positive drops). Columns in canonical names.
gen() {
    awk -v seed="${1:-1}" 'BEGIN {
        srand(seed); print "user_id\titem_id\tevent\ttimestamp\tweight"
        t = 1000
        for (g = 0; g < 2; g++) {
            p = g ? "b" : "a"; P = g ? "B" : "A"
            for (u = 1; u <= 40; u++) {
                n = 0; delete seen
                while (n < 8) { i = int(rand() * 25) + 1; if (!(i in seen)) { seen[i] = 1; n++
                    printf "%s%d\t%s%d\tbuy\t%d\t%d\n", p, u, P, i, t++, 1 + int(rand() * 3) } }
                printf "%s%d\tZ%d\tview\t%d\t1\n", p, u, u % 3, t++
                printf "%s%d\tZ%d\tview\t%d\t1\n", p, u, u % 3, t++
            }
        }
    }'
}

@test "rs-als --help prints usage with options, defaults and examples to stdout" {
    run -0 --separate-stderr rs-als --help
    [[ "$output" == *"Usage: rs-als"* ]]
    [[ "$output" == *"--factors N"*"(default 64)"* ]]
    [[ "$output" == *"--lambda X"*"(default 0.1)"* ]]
    [[ "$output" == *"--candidates N"* ]]
    [[ "$output" == *"Examples:"* ]]
    [ -z "$stderr" ]
}

@test "rs-als --version; usage errors exit 2" {
    run -0 rs-als --version
    [[ "$output" == *"openblas=yes"* ]]
    run -2 --separate-stderr rs-als --bogus
    assert_stderr_has "invalid option '--bogus'"
    assert_stderr_has "Try 'rs-als --help'"
    run -2 --separate-stderr rs-als in.tsv
    assert_stderr_has "nothing to write"
    run -2 --separate-stderr rs-als --solver lu --user-factors u.rsb
    assert_stderr_has "invalid --solver 'lu'"
    run -2 --separate-stderr rs-als --factors 0 --user-factors u.rsb
    run -2 --separate-stderr rs-als --user-factors u.rsb --exclude-seen
    assert_stderr_has "need --candidates"
}

@test "missing file exits 1 naming it, and leaves no output" {
    run -1 --separate-stderr rs-als --user-factors u.rsb nope.tsv
    assert_stderr_has "rs-als: cannot open 'nope.tsv': No such file or directory"
    [ ! -e u.rsb ]
}

@test "stdin, file and .zst input give the same bytes" {
    gen > ev.tsv
    zstd -q ev.tsv -o ev.tsv.zst
    rs-als -q -j2 -f 8 -i 3 --user-factors a.rsb --candidates 5 -o a.tsv ev.tsv
    rs-als -q -j2 -f 8 -i 3 --user-factors b.rsb --candidates 5 -o b.tsv < ev.tsv
    rs-als -q -j2 -f 8 -i 3 --user-factors c.rsb --candidates 5 -o c.tsv ev.tsv.zst
    assert_same a.rsb b.rsb
    assert_same a.rsb c.rsb
    assert_same a.tsv b.tsv
    assert_same a.tsv c.tsv
}

@test "empty and header-only input: empty factor files and header-only candidates" {
    : > empty.tsv
    printf 'user_id\titem_id\n' > h.tsv
    for f in empty.tsv h.tsv; do
        run -0 --separate-stderr rs-als -f 4 --user-factors u.rsb --item-factors i.rsb --candidates 3 -o c.tsv $f
        run -0 rs-cat --schema u.rsb
        [[ "$output" == *"rows	0"* ]]
        [ "$(cat c.tsv)" = "$(printf 'user_id\titem_id\trank\tscore')" ]
    done
}

@test "bad input exits 1 naming file, line and column; no output left behind" {
    gen > ev.tsv
    sed '5s/\t[0-9]*$/\tlots/' ev.tsv > bad.tsv
    run -1 --separate-stderr rs-als --weight-col weight --user-factors u.rsb --candidates 3 -o c.tsv bad.tsv
    assert_stderr_has "'bad.tsv' line 5: column 'weight': expected a number, got 'lots'"
    [ ! -e u.rsb ] && [ ! -e c.tsv ]
    [ -z "$(ls | grep tmp)" ]
    printf 'user\titem_id\nu\ti\n' > nocol.tsv
    run -1 --separate-stderr rs-als --user-factors u.rsb nocol.tsv
    assert_stderr_has "user_id"
    printf 'user_id\titem_id\tweight\nu\ti\t-2\n' > neg.tsv
    run -1 --separate-stderr rs-als --weight-col weight --user-factors u.rsb neg.tsv
    assert_stderr_has "'neg.tsv' line 2: column 'weight': expected a weight >= 0, got '-2'"
}

@test "-o /dev/full is a write error, exit 1" {
    gen > ev.tsv
    run -1 --separate-stderr rs-als -f 4 -i 1 --candidates 20 -o /dev/full ev.tsv
    assert_stderr_has "No space left on device"
}

@test "two runs are byte-identical, and so are runs with other thread counts" {
    gen > ev.tsv
    rs-als -q -j1 -f 8 -i 4 --user-factors u1.rsb --item-factors i1.rsb --candidates 10 -o c1.tsv ev.tsv
    rs-als -q -j1 -f 8 -i 4 --user-factors u2.rsb --item-factors i2.rsb --candidates 10 -o c2.tsv ev.tsv
    rs-als -q -j3 -f 8 -i 4 --user-factors u3.rsb --item-factors i3.rsb --candidates 10 -o c3.tsv ev.tsv
    assert_same u1.rsb u2.rsb
    assert_same i1.rsb i2.rsb
    assert_same c1.tsv c2.tsv
    assert_same u1.rsb u3.rsb
    assert_same c1.tsv c3.tsv
    rs-als -q -j1 -s 7 -f 8 -i 4 --user-factors u4.rsb ev.tsv
    ! cmp -s u1.rsb u4.rsb
}

@test "factors are RSB that rs-cat reads: ids, dims, metadata" {
    gen > ev.tsv
    rs-als -q -f 6 -a 10 -l 0.5 -i 2 --dtype f16 --user-factors u.rsb --item-factors i.rsb.zst ev.tsv
    run -0 rs-cat --schema u.rsb
    [[ "$output" == *"dtype	f16"* ]]
    [[ "$output" == *"dims	6"* ]]
    [[ "$output" == *"rows	80"* ]]
    [[ "$output" == *"tool	rs-als"* ]]
    [[ "$output" == *"alpha	10"* ]]
    [[ "$output" == *"lambda	0.5"* ]]
    [[ "$output" == *"kind	user_factors"* ]]
    run -0 rs-cat --schema i.rsb.zst
    [[ "$output" == *"compressed	zstd"* ]]
    [[ "$output" == *"rows	53"* ]]
    rs-cat i.rsb.zst | cut -f1 | sort > ids
    grep -c '^A' ids | grep -qx 25
    grep -qx Z0 ids
}

@test "pipe composition: rs-cat events | rs-als | rs-cat" {
    gen > ev.tsv
    zstd -q ev.tsv -o ev.tsv.zst
    run -0 --separate-stderr bash -c 'set -o pipefail; rs-cat ev.tsv.zst | rs-als -q -f 4 -i 2 --candidates 3 | rs-cat --head 2'
    [ "${lines[0]}" = "$(printf 'user_id\titem_id\trank\tscore')" ]
    [ "${#lines[@]}" -eq 3 ]
    rs-cat ev.tsv.zst | rs-als -q -f 4 -i 2 --user-factors - | rs-cat > u.tsv
    [ "$(head -1 u.tsv)" = "$(printf 'id\tv1\tv2\tv3\tv4')" ]
    [ "$(wc -l < u.tsv)" -eq 81 ]
}

@test "rs-retrieve on the factor files gives the same candidates as --candidates" {
    command -v rs-retrieve > /dev/null || skip "rs-retrieve not built"
    gen > ev.tsv
    rs-als -q -f 8 -i 5 --user-factors u.rsb --item-factors i.rsb --candidates 10 --exclude-seen -o c.tsv ev.tsv
    rs-retrieve -q --users u.rsb --items i.rsb -k 10 --exclude ev.tsv -o r.tsv
    assert_same c.tsv r.tsv
}

@test "loss log: one row per iteration, monotone with exact solves, decreasing with CG" {
    gen > ev.tsv
    rs-als -q --solver cholesky -f 8 -i 12 --log chol.tsv --user-factors u.rsb ev.tsv
    rs-als -q -f 8 -i 12 --log cg.tsv --user-factors u.rsb ev.tsv
    [ "$(head -1 chol.tsv)" = "$(printf 'iteration\tloss\tseconds')" ]
    [ "$(wc -l < chol.tsv)" -eq 13 ]
    awk 'NR > 2 && $2 > prev { bad = 1 } NR > 1 { prev = $2 } END { exit bad }' chol.tsv
    awk 'NR == 2 { first = $2 } END { exit !($2 < 0.7 * first) }' cg.tsv
    run -0 --separate-stderr rs-als -f 4 -i 2 --user-factors u.rsb ev.tsv
    assert_stderr_has "iteration 2/2: loss"
    run -0 --separate-stderr rs-als -q -f 4 -i 2 --user-factors u.rsb ev.tsv
    [ -z "$stderr" ]
}

@test "candidates: planted groups are recovered, seen items excluded, ranks 1..N" {
    gen > ev.tsv
    rs-als -q -f 8 -i 15 --positive buy --candidates 10 --exclude-seen -o c.tsv ev.tsv
    # every user gets 10 items, ranks 1..10, contiguous
    awk -F'\t' 'NR > 1 { n[$1]++; if ($3 != n[$1]) bad = 1 } END { for (u in n) if (n[u] != 10) bad = 1; exit bad }' c.tsv
    # no candidate was seen in training
    awk -F'\t' 'FNR == 1 { next } NR == FNR { if ($3 == "buy") s[$1 SUBSEP $2] = 1; next } ($1 SUBSEP $2) in s { exit 1 }' ev.tsv c.tsv
    # --positive buy: the views (Z items) are not in the model
    run ! grep -q 'Z' c.tsv
    # the top 5 of each user come from the user's own group (A for aN, B for bN)
    awk -F'\t' 'NR > 1 && $3 <= 5 { total++; if (toupper(substr($1, 1, 1)) == substr($2, 1, 1)) good++ }
                END { print good "/" total; exit !(good >= 0.9 * total) }' c.tsv
}

@test "--exclude-seen also drops pairs whose weight is 0" {
    printf 'user_id\titem_id\tweight\nu1\ta\t1\nu1\tb\t0\nu2\tb\t3\nu2\ta\t1\nu2\tc\t2\nu3\tc\t1\n' > w.tsv
    rs-als -q -f 2 -i 3 --weight-col weight --candidates 5 --exclude-seen -o c.tsv w.tsv
    [ "$(awk -F'\t' '$1 == "u1" { print $2 }' c.tsv)" = c ]
    rs-als -q -f 2 -i 3 --weight-col weight --candidates 5 -o all.tsv w.tsv
    [ "$(awk -F'\t' '$1 == "u1"' all.tsv | wc -l)" -eq 3 ]
}

@test "candidates: --users-from in order, unknown users get the popular items" {
    gen > ev.tsv
    printf 'user_id\nnewbie\nb3\na1\nb3\n' > who.tsv
    rs-als -q -f 8 -i 5 --positive buy --weight-col weight --candidates 4 --users-from who.tsv -o c.tsv ev.tsv
    [ "$(cut -f1 c.tsv | uniq | tr '\n' ' ')" = "user_id newbie b3 a1 " ]
    # newbie: the 4 items with the highest summed weight, score = that sum
    awk -F'\t' 'NR > 1 && $3 == "buy" { w[$2] += $5 } END { for (i in w) print w[i] "\t" i }' ev.tsv |
        sort -k1,1nr -k2,2 | head -4 > pop
    grep '^newbie' c.tsv | awk -F'\t' '{ print $4 "\t" $2 }' > got
    [ "$(sort -k1,1nr got | cut -f1)" = "$(cut -f1 pop)" ]
}

@test "weighting and confidence options change the model; bad values are usage errors" {
    gen > ev.tsv
    rs-als -q -f 4 -i 3 --user-factors n.rsb ev.tsv
    rs-als -q -f 4 -i 3 --weighting bm25 --user-factors b.rsb ev.tsv
    rs-als -q -f 4 -i 3 --weighting tfidf --user-factors t.rsb ev.tsv
    rs-als -q -f 4 -i 3 --confidence log --epsilon 0.5 --user-factors l.rsb ev.tsv
    run ! cmp -s n.rsb b.rsb
    run ! cmp -s n.rsb t.rsb
    run ! cmp -s n.rsb l.rsb
    run -0 rs-cat --schema b.rsb
    [[ "$output" == *"weighting	bm25"* ]]
    run -2 --separate-stderr rs-als --weighting idf --user-factors x.rsb ev.tsv
    assert_stderr_has "invalid --weighting 'idf'"
    run -2 --separate-stderr rs-als --dtype i8 --user-factors x.rsb ev.tsv
}

@test "column mapping and CSV input" {
    gen | sed '1s/.*/uid\tmovie\tevent\ttimestamp\tweight/' | tr '\t' ',' > ev.csv
    gen > ev.tsv
    rs-als -q -f 4 -i 2 --user-col uid --item-col movie --user-factors a.rsb ev.csv
    rs-als -q -f 4 -i 2 --user-factors b.rsb ev.tsv
    assert_same a.rsb b.rsb
}
