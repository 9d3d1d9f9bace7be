#!/usr/bin/env bats
# rs-features: exact user and item feature tables on a hand-made stream,
# joins, histories, --as-of (no later event ever leaks), and the conventions.
load helpers

F="$FIXTURES/rs-features"

@test "rs-features --help, --version, usage errors exit 2" {
    run -0 --separate-stderr rs-features --help
    [[ "$output" == *"Usage: rs-features --side user|item"* ]]
    [[ "$output" == *"--booking-events LIST   events counted as bookings (default booking,purchase)"* ]]
    [[ "$output" == *"Examples:"* ]]
    [ -z "$stderr" ]
    run -0 rs-features --version
    [[ "$output" == *"recsys-pipes"* ]]
    run -2 --separate-stderr rs-features --side user --bogus
    assert_stderr_has "Try 'rs-features --help'"
    run -2 --separate-stderr rs-features "$F/events.tsv"
    assert_stderr_has "missing --side"
    run -2 --separate-stderr rs-features --side item --history 3 "$F/events.tsv"
    assert_stderr_has "are for --side user"
    run -2 --separate-stderr rs-features --side user --as-of yesterday "$F/events.tsv"
    assert_stderr_has "invalid --as-of 'yesterday'"
}

@test "missing events or table file exits 1 naming it" {
    run -1 --separate-stderr rs-features --side user nope.tsv
    assert_stderr_has "cannot open 'nope.tsv'"
    run -1 --separate-stderr rs-features --side user --users nope-users.tsv "$F/events.tsv"
    assert_stderr_has "cannot open 'nope-users.tsv'"
}

@test "user features joined onto users.tsv, with histories, then users seen only in events" {
    rs-features --side user --users "$F/users.tsv" --items "$F/items.tsv" --history 2 \
        --history-events booking "$F/events.tsv" > out.tsv
    cat > want.tsv <<'EOF'
user_id	age	event_cnt	booking_cnt	click_cnt	favourite_cnt	consult_cnt	days_since_last	mean_booking_price	history	history_booking
u9	30	0	0	0	0	0				
u1	40	4	2	2	0	0	0	8.5	d,c	c,b
u2		3	1	0	1	1	0	7	c,a	
u3		1	1	0	0	0	1	30	b	b
EOF
    assert_same out.tsv want.tsv
}

@test "item features joined onto items.tsv: counts, popularity, mean price, recency" {
    rs-features --side item --items "$F/items.tsv" "$F/events.tsv" > out.tsv
    cat > want.tsv <<'EOF'
item_id	price	category	item_event_cnt	item_booking_cnt	item_click_cnt	item_favourite_cnt	item_consult_cnt	item_popularity	item_mean_stock_price	item_days_since_last
a	5	x	3	0	1	1	1	0.375	5	4
c	7	y	2	2	0	0	0	0.25	7	0
z	1	x	0	0	0	0	0	0		
b			2	2	0	0	0	0.25	20	1
d			1	0	1	0	0	0.125		0
EOF
    assert_same out.tsv want.tsv
}

@test "without a table: one row per id in first-seen order; event classes are configurable" {
    run -0 rs-features --side user --click-events click,view --consult-events consult "$F/events.tsv"
    [ "${lines[0]}" = "$(printf 'user_id\tevent_cnt\tbooking_cnt\tclick_cnt\tfavourite_cnt\tconsult_cnt\tdays_since_last\tmean_booking_price')" ]
    [ "${lines[1]}" = "$(printf 'u1\t4\t2\t2\t0\t0\t0\t10')" ]
    [ "${lines[2]}" = "$(printf 'u2\t3\t1\t1\t1\t0\t0\t')" ]
    [ "${lines[3]}" = "$(printf 'u3\t1\t1\t0\t0\t0\t1\t30')" ]
    [ "${#lines[@]}" -eq 4 ]
}

@test "--as-of: only earlier events count, recency is measured from the as-of time" {
    run -0 rs-features --side user --as-of 259200 --history 5 "$F/events.tsv"
    [ "$output" = "$(printf 'user_id\tevent_cnt\tbooking_cnt\tclick_cnt\tfavourite_cnt\tconsult_cnt\tdays_since_last\tmean_booking_price\thistory
u1\t2\t1\t1\t0\t0\t1\t10\tb,a
u2\t2\t0\t0\t1\t1\t2\t\ta,a')" ]
    run -0 rs-features --side item --as-of '1970-01-03 00:00:00 UTC' "$F/events.tsv"
    [ "${lines[1]}" = "$(printf 'a\t3\t0\t1\t1\t1\t1\t\t1')" ]
    [ "${#lines[@]}" -eq 2 ]
}

@test "--as-of never lets a later event in: same bytes as dropping later rows first" {
    awk 'BEGIN { srand(11); print "user_id\titem_id\tevent\ttimestamp\tprice"; split("click view booking favourite purchase", ev, " ");
                 for (k = 0; k < 5000; k++) printf "u%d\ti%d\t%s\t%d\t%s\n", int(rand()*200), int(rand()*300),
                     ev[1 + int(rand()*5)], 1000000 + int(rand()*1000000), rand() < 0.5 ? "" : int(rand()*100) }' > e.tsv
    cut=1500000
    awk -F'\t' -v c=$cut 'NR == 1 || $4 < c' e.tsv > early.tsv
    for side in user item; do
        extra=(); [ $side = user ] && extra=(--history 7 --history-events booking,click)
        rs-features --side $side "${extra[@]}" --as-of $cut e.tsv > a.tsv
        rs-features --side $side "${extra[@]}" --as-of $cut early.tsv > b.tsv
        assert_same a.tsv b.tsv
        rs-features --side $side "${extra[@]}" e.tsv > all.tsv
        assert_differ a.tsv all.tsv
    done
    # and no feature row carries a recency under 0 days (and some carry one)
    rs-features --side user --as-of $cut e.tsv > recency.tsv
    awk -F'\t' 'NR == 1 { ok = $7 == "days_since_last"; next } $7 != "" { n++; if ($7 < 0) bad = 1 }
        END { exit bad || !ok || !n }' recency.tsv
}

@test "stdin, file and .zst input give the same output" {
    zstd -q "$F/events.tsv" -o e.tsv.zst
    rs-features --side user --history 3 "$F/events.tsv" > a
    rs-features --side user --history 3 < "$F/events.tsv" > b
    rs-features --side user --history 3 e.tsv.zst > c
    cat e.tsv.zst | rs-features --side user --history 3 - > d
    assert_same a b
    assert_same a c
    assert_same a d
}

@test "empty and header-only inputs: the table with zero features" {
    : > empty.tsv
    run -0 rs-features --side user empty.tsv
    [ "$output" = "$(printf 'user_id\tevent_cnt\tbooking_cnt\tclick_cnt\tfavourite_cnt\tconsult_cnt\tdays_since_last\tmean_booking_price')" ]
    head -1 "$F/events.tsv" > h.tsv
    run -0 rs-features --side user --users "$F/users.tsv" h.tsv
    [ "${lines[1]}" = "$(printf 'u9\t30\t0\t0\t0\t0\t0\t\t')" ]
}

@test "bad input names file, line and column; nothing is left at -o" {
    printf 'user_id\titem_id\tevent\ttimestamp\nu1\ta\tclick\t100\nu2\tb\tclick\tlater\n' > bad.tsv
    echo previous > out.tsv
    run -1 --separate-stderr rs-features --side user -o out.tsv bad.tsv
    assert_stderr_has "'bad.tsv' line 3: column 'timestamp'"
    [ "$(cat out.tsv)" = previous ]
    printf 'user_id\titem_id\tevent\ttimestamp\nu1\ta,b\tclick\t100\n' > comma.tsv
    run -1 --separate-stderr rs-features --side user --history 2 -o new.tsv comma.tsv
    assert_stderr_has "'comma.tsv' line 2: column 'item_id': an id in a history list may not contain a comma"
    [ ! -e new.tsv ]
    printf 'user_id\titem_id\tevent\ttimestamp\tprice\nu1\ta\tbooking\t100\tfree\n' > price.tsv
    run -1 --separate-stderr rs-features --side user price.tsv
    assert_stderr_has "'price.tsv' line 2: column 'price'"
    printf 'user_id\tbooking_cnt\nu1\t3\n' > users.tsv
    run -1 --separate-stderr rs-features --side user --users users.tsv "$F/events.tsv"
    assert_stderr_has "'users.tsv' already has a column 'booking_cnt'"
    run -1 --separate-stderr rs-features --side user --event-col kind "$F/events.tsv"
    assert_stderr_has "'kind'"
    [ -z "$(ls | grep tmp)" ]
}

@test "-o /dev/full is a write error, exit 1" {
    run -1 --separate-stderr rs-features --side item -o /dev/full "$F/events.tsv"
    assert_stderr_has "No space left on device"
}

@test "column mapping and CSV input" {
    printf 'uid,movieId,kind,when\n1,10,click,100\n1,20,booking,200\n2,10,click,300\n' > r.csv
    run -0 rs-features --side item --user-col uid --item-col movieId --event-col kind --time-col when r.csv
    [ "${lines[0]}" = "$(printf 'movieId\titem_event_cnt\titem_booking_cnt\titem_click_cnt\titem_favourite_cnt\titem_consult_cnt\titem_popularity\titem_mean_stock_price\titem_days_since_last')" ]
    [ "${lines[1]}" = "$(printf '10\t2\t0\t2\t0\t0\t0.666666667\t\t0')" ]
}

@test "two runs are byte-identical; composes with rs-prefilter in a pipe" {
    awk 'BEGIN { srand(2); print "user_id\titem_id\tevent\ttimestamp";
                 for (k = 0; k < 20000; k++) printf "u%d\ti%d\tclick\t%d\n", int(rand()*300), int(rand()*rand()*500), k }' > e.tsv
    rs-features --side user --history 10 -o a.tsv.zst e.tsv
    rs-features --side user --history 10 -o b.tsv.zst e.tsv
    assert_same a.tsv.zst b.tsv.zst
    run -0 bash -c 'set -o pipefail; rs-prefilter -q --min-user-interactions 80 e.tsv |
        rs-features --side user | awk -F"\t" "NR > 1 && \$2 < 80 { bad = 1 } END { exit bad || NR < 2 }"'
}
