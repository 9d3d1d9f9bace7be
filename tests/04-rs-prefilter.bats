#!/usr/bin/env bats
# rs-prefilter: each rule's exact output on a hand-made table, the report,
# top-N placeholder mapping, and the conventions of every tool.
load helpers

F="$FIXTURES/rs-prefilter"

# kept: the note column (r1..r10) of the rows a run kept, space-separated
kept() {
    tail -n +2 "$1" | cut -f5 | tr '\n' ' ' | sed 's/ $//'
}

@test "rs-prefilter --help lists the rules in order, options and examples" {
    run -0 --separate-stderr rs-prefilter --help
    [[ "$output" == *"Usage: rs-prefilter"* ]]
    [[ "$output" == *"1 price"*"2 category"*"3 recency"*"4 popular"*"5 unpopular"*"6 kcore"*"7 top-n"* ]]
    [[ "$output" == *"--placeholder ID"*"default 999999"* ]]
    [[ "$output" == *"Examples:"* ]]
    [ -z "$stderr" ]
}

@test "rs-prefilter --version, unknown flag (2), missing file (1)" {
    run -0 rs-prefilter --version
    [[ "$output" == *"recsys-pipes"* ]]
    run -2 --separate-stderr rs-prefilter --bogus
    assert_stderr_has "Try 'rs-prefilter --help'"
    run -2 --separate-stderr rs-prefilter --min-price 3 "$F/events.tsv"
    assert_stderr_has "need --items FILE"
    run -2 --separate-stderr rs-prefilter --drop-top 120% "$F/events.tsv"
    assert_stderr_has "--drop-top"
    run -1 --separate-stderr rs-prefilter nope.tsv
    assert_stderr_has "cannot open 'nope.tsv'"
}

@test "no rule: every row passes through unchanged" {
    run -0 --separate-stderr rs-prefilter "$F/events.tsv"
    [ "$output" = "$(cat "$F/events.tsv")" ]
    assert_stderr_has "input     removed 0 rows, 0 users, 0 items; left 10 rows, 4 users, 7 items"
}

@test "price bounds drop too cheap and too expensive items; unpriced items stay" {
    rs-prefilter -q --items "$F/items.tsv" --min-price 1 --max-price 500 "$F/events.tsv" > out.tsv
    [ "$(kept out.tsv)" = "r1 r2 r4 r6 r7 r8 r9 r10" ]
    rs-prefilter -q --items "$F/items.tsv" --max-price 9 "$F/events.tsv" > out.tsv
    [ "$(kept out.tsv)" = "r1 r3 r4 r7 r10" ]
}

@test "category assortment: categories with fewer than M items go" {
    rs-prefilter -q --items "$F/items.tsv" --min-category-items 2 "$F/events.tsv" > out.tsv
    [ "$(kept out.tsv)" = "r1 r2 r3 r4 r5 r7 r8 r9 r10" ]
    rs-prefilter -q --items "$F/items.tsv" --min-category-items 3 "$F/events.tsv" > out.tsv
    [ "$(kept out.tsv)" = "r1 r2 r4 r7 r8 r9 r10" ]
}

@test "recency window from the latest event, or from --now and only some events" {
    rs-prefilter -q --recency 30d "$F/events.tsv" > out.tsv
    [ "$(kept out.tsv)" = "r1 r4 r6 r7 r8 r10" ]
    # bookings in the 300 days before day 365: i2 (day 100) yes, i4 (day 10) no
    rs-prefilter -q --recency 300d --now 1531536000 --recency-events booking "$F/events.tsv" > out.tsv
    [ "$(kept out.tsv)" = "r2 r9" ]
    rs-prefilter -q --recency 1d --now 2030-01-01 "$F/events.tsv" > out.tsv
    [ "$(kept out.tsv)" = "" ]
}

@test "popularity: top N, bottom N, percentages; ties by first appearance" {
    rs-prefilter -q --drop-top 1 "$F/events.tsv" > out.tsv
    [ "$(kept out.tsv)" = "r2 r3 r5 r6 r8 r9 r10" ]
    rs-prefilter -q --drop-bottom 2 "$F/events.tsv" > out.tsv
    [ "$(kept out.tsv)" = "r1 r2 r3 r4 r5 r6 r7 r9" ]
    rs-prefilter -q --drop-top 30% --drop-bottom 50% "$F/events.tsv" > out.tsv
    [ "$(kept out.tsv)" = "r3 r5" ]
    rs-prefilter -q --drop-top 1 --popularity users "$F/events.tsv" > out.tsv
    [ "$(kept out.tsv)" = "r2 r3 r5 r6 r8 r9 r10" ]
}

@test "k-core: min interactions per user and item, iterated until stable" {
    rs-prefilter -q --min-user-interactions 2 "$F/events.tsv" > out.tsv
    [ "$(kept out.tsv)" = "r1 r2 r3 r4 r5 r6 r7 r8 r10" ]
    rs-prefilter -q --min-item-interactions 2 "$F/events.tsv" > out.tsv
    [ "$(kept out.tsv)" = "r1 r2 r4 r7 r9" ]
    # both: u4 goes, then i2 has one row, then u1, u2, u3 fall under 2: nothing is left
    run -0 --separate-stderr rs-prefilter --min-user-interactions 2 --min-item-interactions 2 "$F/events.tsv"
    [ "$output" = "$(head -1 "$F/events.tsv")" ]
    assert_stderr_has "kcore     removed 10 rows, 4 users, 7 items; left 0 rows, 0 users, 0 items"
}

@test "k-core on a 2-core with a cascade keeps exactly the core" {
    printf 'user_id\titem_id\n' > e.tsv
    printf 'a\tx\na\ty\nb\tx\nb\ty\nc\tx\nc\tz\nd\tz\n' >> e.tsv
    run -0 rs-prefilter -q --min-user-interactions 2 --min-item-interactions 2 e.tsv
    [ "$output" = "$(printf 'user_id\titem_id\na\tx\na\ty\nb\tx\nb\ty')" ]
}

@test "top-n maps the other items to the placeholder, keeps every row, writes the map" {
    rs-prefilter -q --top-n 2 --map map.tsv "$F/events.tsv" > out.tsv
    [ "$(cut -f2 out.tsv | tr '\n' ' ')" = "item_id i1 i2 999999 i1 999999 999999 i1 999999 i2 999999 " ]
    [ "$(cut -f1,3- out.tsv)" = "$(cut -f1,3- "$F/events.tsv")" ]
    [ "$(sed -n '1p;2p;3p;4p' map.tsv)" = "$(printf 'item_id\tmapped_id\tpopularity\ni1\ti1\t3\ni2\ti2\t2\ni3\t999999\t1')" ]
    [ "$(wc -l < map.tsv)" -eq 8 ]
    rs-prefilter -q --top-n 1 --placeholder OTHER "$F/events.tsv" > out.tsv
    [ "$(cut -f2 out.tsv | LC_ALL=C sort -u | tr '\n' ' ')" = "OTHER i1 item_id " ]
    run -1 --separate-stderr rs-prefilter --top-n 2 --placeholder i2 "$F/events.tsv"
    assert_stderr_has "placeholder 'i2' is an item among the top 2"
}

@test "rules combine in the documented order, with a report per rule" {
    rs-prefilter --items "$F/items.tsv" --max-price 500 --min-category-items 2 --recency 200d \
        --drop-bottom 1 --min-user-interactions 2 --top-n 1 --report rep.tsv "$F/events.tsv" > out.tsv 2> log
    # price drops i4 (r5); category drops i5 (r6); recency (since day 165) drops i2 (r2, r9);
    # unpopular drops i7 (r10, last of the ties i3 i6 i7); kcore: u1 r1 r3, u3 r7 r8 stay
    # (u2 has only r4, u4 nothing); top-n 1 keeps i1
    [ "$(kept out.tsv)" = "r1 r3 r7 r8" ]
    [ "$(cut -f2 out.tsv | tr '\n' ' ')" = "item_id i1 999999 i1 999999 " ]
    cat > want.tsv <<'EOF'
rule	rows_removed	users_removed	items_removed	rows	users	items
input	0	0	0	10	4	7
price	1	0	1	9	4	6
category	1	0	1	8	4	5
recency	2	1	1	6	3	4
unpopular	1	0	1	5	3	3
kcore	1	1	0	4	2	3
top-n	0	0	2	4	2	2
EOF
    assert_same rep.tsv want.tsv
    grep -q "recency   removed 2 rows, 1 users, 1 items" log
}

@test "stdin (spooled), file and .zst input give the same output; the spool is removed" {
    zstd -q "$F/events.tsv" -o ev.tsv.zst
    mkdir tmp
    args=(--min-item-interactions 2 --top-n 1)
    rs-prefilter -q "${args[@]}" "$F/events.tsv" > a
    TMPDIR=$PWD/tmp rs-prefilter -q "${args[@]}" < "$F/events.tsv" > b
    rs-prefilter -q "${args[@]}" ev.tsv.zst > c
    cat ev.tsv.zst | TMPDIR=$PWD/tmp rs-prefilter -q "${args[@]}" - > d
    assert_same a b
    assert_same a c
    assert_same a d
    [ -z "$(ls tmp)" ]
    [ "$(kept a)" = "r1 r2 r4 r7 r9" ]
}

@test "CSV input is read with quoting and written as TSV" {
    printf 'user_id,item_id,note\nu1,"x, y",r1\nu2,z,r2\nu3,z,r3\n' > e.csv
    run -0 rs-prefilter -q --min-item-interactions 2 e.csv
    [ "$output" = "$(printf 'user_id\titem_id\tnote\nu2\tz\tr2\nu3\tz\tr3')" ]
}

@test "CSV on a pipe: the second pass reads the same quoted fields as the first" {
    printf 'user_id,item_id,note\nu1,"x, y","a\tb"\nu2,z,r2\nu3,z,r3\nu4,"x, y",r4\n' > e.csv
    rs-prefilter -q --min-item-interactions 2 e.csv > a
    cat e.csv | rs-prefilter -q --csv --min-item-interactions 2 > b
    rs-prefilter -q --min-item-interactions 2 --csv <(cat e.csv) > c
    assert_same a b
    assert_same a c
    [ "$(wc -l < a)" -eq 5 ]
}

@test "empty and header-only inputs" {
    : > empty.tsv
    run -0 --separate-stderr rs-prefilter --min-user-interactions 3 empty.tsv
    [ -z "$output" ]
    printf 'user_id\titem_id\n' > h.tsv
    run -0 --separate-stderr rs-prefilter --min-user-interactions 3 --top-n 2 h.tsv
    [ "$output" = "$(printf 'user_id\titem_id')" ]
    run -0 --separate-stderr bash -c 'printf "user_id\titem_id\n" | rs-prefilter --top-n 2'
    [ "$output" = "$(printf 'user_id\titem_id')" ]
}

@test "bad input names file, line and column; nothing is left at -o" {
    printf 'user_id\titem_id\ttimestamp\nu1\ti1\t100\nu2\t\t200\n' > bad.tsv
    echo previous > out.tsv
    run -1 --separate-stderr rs-prefilter -o out.tsv bad.tsv
    assert_stderr_has "'bad.tsv' line 3: column 'item_id': empty id"
    [ "$(cat out.tsv)" = previous ]
    printf 'user_id\titem_id\ttimestamp\nu1\ti1\t100\nu2\ti2\tsoon\n' > bad2.tsv
    run -1 --separate-stderr rs-prefilter --recency 3d -o new.tsv bad2.tsv
    assert_stderr_has "'bad2.tsv' line 3: column 'timestamp'"
    [ ! -e new.tsv ]
    run -1 --separate-stderr rs-prefilter --user-col uid "$F/events.tsv"
    assert_stderr_has "'uid'"
    printf 'item_id\tprice\ni1\tcheap\n' > items.tsv
    run -1 --separate-stderr rs-prefilter --items items.tsv --min-price 1 -o new.tsv --report rep.tsv "$F/events.tsv"
    assert_stderr_has "'items.tsv' line 2: column 'price'"
    [ ! -e new.tsv ]
    [ ! -e rep.tsv ]
    [ -z "$(ls | grep tmp)" ]
}

@test "-o /dev/full is a write error, exit 1" {
    run -1 --separate-stderr rs-prefilter -o /dev/full "$F/events.tsv"
    assert_stderr_has "No space left on device"
}

@test "column mapping: --user-col/--item-col/--time-col/--event-col" {
    sed '1s/.*/uid\tmovieId\tkind\twhen\tnote/' "$F/events.tsv" > m.tsv
    rs-prefilter -q --user-col uid --item-col movieId --time-col when --event-col kind \
        --recency 300d --now 1531536000 --recency-events booking m.tsv > out.tsv
    [ "$(kept out.tsv)" = "r2 r9" ]
}

@test "two runs are byte-identical; composes with rs-vocab in a pipe" {
    awk 'BEGIN { srand(3); print "user_id\titem_id\tevent\ttimestamp";
                 for (k = 0; k < 20000; k++) printf "u%d\ti%d\tclick\t%d\n", int(rand()*500), int(rand()*rand()*300), 1000+k }' > big.tsv
    rs-prefilter -q --min-user-interactions 5 --min-item-interactions 5 --top-n 50 -o a.tsv.zst big.tsv
    rs-prefilter -q --min-user-interactions 5 --min-item-interactions 5 --top-n 50 -o b.tsv.zst big.tsv
    assert_same a.tsv.zst b.tsv.zst
    run -0 bash -c 'set -o pipefail; rs-cat big.tsv | rs-prefilter -q --top-n 50 | rs-vocab build -q -c item_id | wc -l'
    [ "$output" -eq 53 ]   # header, OOV row, 50 items, the placeholder
}
