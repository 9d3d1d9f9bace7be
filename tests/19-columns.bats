#!/usr/bin/env bats
# The column flags every tool shares (src/cli.h, struct rs_cols): each tool
# takes --user-col and --item-col (one pair serves every stage), and
# --event-col, --time-col, --session-col for the columns it reads, lists
# exactly those in --help with their defaults, refuses the others as usage
# errors, reads renamed columns as it reads the default ones and writes the
# id columns under the names it read.
load helpers
load serve-helpers

# tool: the flags it reads.
COLS=(
    "rs-als:user item event"
    "rs-cluster:user item"
    "rs-diversify:user item"
    "rs-ease:user item event"
    "rs-itemknn:user item event"
    "rs-features:user item event time"
    "rs-label:user item event time"
    "rs-merge:user item"
    "rs-metrics:user item"
    "rs-negsample:user item event time session"
    "rs-prefilter:user item event time"
    "rs-rank:user item event session"
    "rs-retrieve:user item time"
    "rs-split:user item event time"
    "rs-train-tower:user item"
    "rs-serve:user item"
)

declare -gA DEFAULT=([user]=user_id [item]=item_id [event]=event [time]=timestamp [session]=session_id)

@test "each tool lists the column flags it reads with their defaults, and refuses the others (exit 2)" {
    for entry in "${COLS[@]}"; do
        tool=${entry%%:*} reads=" ${entry#*:} "
        help=$($tool --help)
        for c in user item event time session; do
            if [[ $reads == *" $c "* ]]; then
                [[ $help == *"--$c-col NAME"*"(default ${DEFAULT[$c]})"* ]] || { echo "$tool --help lacks --$c-col"; false; }
            else
                [[ $help != *"--$c-col"* ]] || { echo "$tool --help lists --$c-col"; false; }
                run -2 --separate-stderr $tool --$c-col x
                assert_stderr_has "$tool: --$c-col does not apply"
            fi
        done
    done
}

@test "an empty column name is a usage error naming the flag" {
    run -2 --separate-stderr rs-split --user-col '' --cutoff 5 -o d x.tsv
    assert_stderr_has "invalid value '' for --user-col: expected a column name"
}

@test "renamed columns: the same output as the default names" {
    rs-synth -q -o syn --users 40 --items 30 --events 3000
    # ren: the header with other names; back: the other names back in an output's header
    ren() { sed -E '1s/(^|\t)user_id/\1uid/; 1s/\titem_id/\tiid/; 1s/\tevent/\tkind/; 1s/\ttimestamp/\tts/; 1s/\tsession_id/\tsid/' "$@"; }
    back() { sed -E '1s/(^|\t)uid/\1user_id/; 1s/\tiid/\titem_id/; 1s/\tkind/\tevent/; 1s/\tts(\t|$)/\ttimestamp\1/; 1s/\tsid/\tsession_id/' "$@"; }
    ren syn/events.tsv > ev.tsv
    [ "$(head -1 ev.tsv | cut -f1-4)" = "$(printf 'uid\tiid\tkind\tts')" ]
    rs-als -q -f 4 -i 2 --candidates 5 --user-col uid --item-col iid --event-col kind --positive click ev.tsv > b
    rs-als -q -f 4 -i 2 --candidates 5 --positive click syn/events.tsv > c
    [ "$(head -1 b | cut -f1,2)" = "$(printf 'uid\tiid')" ]
    back b > bb
    assert_same bb c
    rs-als -q -f 4 -i 2 --item-factors if.rsb --user-factors uf.rsb syn/events.tsv
    rs-negsample -q -k 3 --strategy popularity,impressions --impressions syn/events.tsv syn/events.tsv > na
    rs-negsample -q -k 3 --strategy popularity,impressions --impressions ev.tsv --user-col uid --item-col iid \
        --event-col kind --time-col ts --session-col sid ev.tsv | back > nb
    assert_same na nb
    rs-retrieve -k 5 --users uf.rsb --items if.rsb --exclude syn/events.tsv 2> /dev/null > a
    rs-retrieve -k 5 --users uf.rsb --items if.rsb --exclude ev.tsv --user-col uid --item-col iid 2> /dev/null | back > b
    assert_same a b
    ren a > ra
    rs-diversify -n 3 --seen syn/events.tsv a > da
    rs-diversify -n 3 --seen ev.tsv --user-col uid --item-col iid ra | back > db
    assert_same da db
    rs-metrics -q --truth syn/events.tsv --pred a > ma
    rs-metrics -q --truth ev.tsv --pred a=ra --user-col uid --item-col iid > mb
    assert_same ma mb
    rs-cluster -q -k 3 --item-col iid if.rsb > cl
    [ "$(head -1 cl)" = "$(printf 'iid\tcluster')" ]
    rs-retrieve -q --similar --items if.rsb -k 2 --item-col iid > sim
    [ "$(head -1 sim)" = "$(printf 'query_iid\tiid\trank\tscore')" ]
}

# own_data: syn/ (rs-synth), and ev.csv: its clicks and bookings as a ratings
# CSV in other names, customer,product,stars,when, the time in milliseconds;
# users.tsv and items.tsv keyed by customer and product.
own_data() {
    rs-synth -q -o syn --users 60 --items 40 --events 12000
    awk -F'\t' 'NR == 1 { print "customer,product,stars,when"; next }
        $3 != "impression" { printf "%s,%s,%d,%d%03d\n", $1, $2, 1 + NR % 5, $4, NR % 1000 }' syn/events.tsv > ev.csv
    sed '1s/^user_id/customer/' syn/users.tsv > users.tsv
    sed '1s/^item_id/product/' syn/items.tsv > items.tsv
    sed 's/"user_id"/"customer"/; s/"item_id"/"product"/' "$BATS_TEST_DIRNAME/../examples/synth-tower.json" > tower.json
}

# head1 FILE: its header's first two names, tab-separated.
head1() { rs-cat "$1" | head -1 | cut -f1,2; }

@test "the whole pipeline on customer,product,stars,when: one --user-col/--item-col pair for every tool, the names kept" {
    own_data
    C=(--user-col customer --item-col product)
    T=(--time-col when)
    ids=$(printf 'customer\tproduct')
    rs-prefilter -q "${C[@]}" "${T[@]}" --min-item-interactions 2 -o ev.tsv ev.csv
    rs-split -q "${C[@]}" "${T[@]}" --per-user-frac 0.2 -o s ev.tsv
    [ "$(head1 s/train.tsv)" = "$ids" ]
    rs-features -q "${C[@]}" "${T[@]}" --side user --users users.tsv --history 10 -o uf.tsv s/train.tsv
    rs-features -q "${C[@]}" "${T[@]}" --side item --items items.tsv -o if.tsv s/train.tsv
    [ "$(head1 uf.tsv | cut -f1)" = customer ]
    [ "$(head1 if.tsv | cut -f1)" = product ]
    # no event column: every row is a click
    [ "$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { n += $c["click_cnt"] } END { print n }' uf.tsv)" = \
      "$(($(wc -l < s/train.tsv) - 1))" ]
    rs-negsample -q "${C[@]}" "${T[@]}" -k 3 --strategy loguniform -o ex.tsv s/train.tsv
    [ "$(head1 ex.tsv)" = "$ids" ]
    rs-train-tower -q "${C[@]}" -c tower.json --users uf.tsv --items if.tsv --epochs 2 -o tower.rsm ex.tsv
    rs-embed -q -m tower.rsm --users uf.tsv -o ue.rsb
    rs-embed -q -m tower.rsm --items if.tsv -o ie.rsb
    rs-als -q "${C[@]}" -f 4 -i 2 --candidates 10 --exclude-seen --users-from s/test.tsv -o als.tsv s/train.tsv
    rs-retrieve -q "${C[@]}" -k 10 --users ue.rsb --items ie.rsb --exclude s/train.tsv -o tower.tsv
    rs-retrieve -q "${C[@]}" -k 10 --popular s/train.tsv --users-from s/test.tsv --exclude s/train.tsv -o pop.tsv
    rs-retrieve -q "${C[@]}" -k 10 --random --items ie.rsb --users-from s/test.tsv --exclude s/train.tsv -o rand.tsv
    for f in als tower pop rand; do [ "$(head1 $f.tsv)" = "$ids" ] || { echo "$f.tsv: $(head1 $f.tsv)"; false; }; done
    rs-merge -q "${C[@]}" --users-from s/test.tsv tower=tower.tsv als=als.tsv pop=pop.tsv -o merged.tsv
    rs-label -q "${C[@]}" --events s/test.tsv -o labelled.tsv merged.tsv
    [ "$(head1 labelled.tsv)" = "$ids" ]
    [ "$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "click") c = i; next } { n += $c } END { print (n > 0) }' labelled.tsv)" = 1 ]
    rs-rank train -q "${C[@]}" -c "$BATS_TEST_DIRNAME/../examples/yourdata-rank.json" --users uf.tsv --items if.tsv \
        --epochs 2 -o rank.rsm labelled.tsv
    rs-rank score -q "${C[@]}" -m rank.rsm --users uf.tsv --items if.tsv -o ranked.tsv merged.tsv
    rs-cluster -q "${C[@]}" -k 3 -o clusters.tsv ie.rsb
    [ "$(head1 clusters.tsv)" = "$(printf 'product\tcluster')" ]
    rs-diversify -q "${C[@]}" -n 5 --items clusters.tsv --by cluster --max-per-group 2 -o final.tsv ranked.tsv
    [ "$(head1 final.tsv)" = "$ids" ]
    rs-metrics -q "${C[@]}" --truth s/test.tsv --train s/train.tsv -k 10 --wide \
        --pred tower=tower.tsv --pred final=final.tsv --pred random=rand.tsv -o metrics.tsv
    [ "$(awk -F'\t' '$1 == "users" { print ($3 > 0) }' metrics.tsv)" = 1 ]
    rs-cat --to json --group-col customer -o recs.json final.tsv
    grep -q '"product"' recs.json
    serve --items-emb ie.rsb --users-emb ue.rsb --seen s/train.tsv --items clusters.tsv --group-col cluster \
        --max-per-group 2 --source als=als.tsv --source pop=pop.tsv --ranker rank.rsm --rank-users uf.tsv \
        --rank-items if.tsv "${C[@]}"
    u=$(sed -n 2p als.tsv | cut -f1)
    [ "$(get "/recommend?user_id=$u&k=3")" = 200 ] || { cat body server.log; false; }
    [[ $(cat body) == *'"source": "embedding"'* || $(cat body) == *'"source":"embedding"'* ]]
    # the user's train items are excluded: --seen was read by its customer, product columns
    for i in $("$PYTHON" -c 'import json,sys; print(" ".join(x["item_id"] for x in json.load(open("body"))["items"]))'); do
        if grep -q "^$u	$i	" s/train.tsv; then echo "seen item $i served"; false; fi
    done
}

@test "--time-unit: milliseconds read as seconds by magnitude or declared; a wrong unit, mixed units, times outside 1970-2099 refused with file and line, nothing written" {
    printf 'user_id\titem_id\ttimestamp\nu1\ta\t1704448800\nu1\tb\t1704535200\nu2\ta\t1704621600\n' > s.tsv
    awk -F'\t' -v OFS='\t' 'NR > 1 { $3 = $3 "000" } 1' s.tsv > ms.tsv
    awk -F'\t' -v OFS='\t' 'NR > 1 { $3 = $3 "000000" } 1' s.tsv > us.tsv
    rs-features -q --side user -o a.tsv s.tsv
    rs-features -q --side user -o b.tsv ms.tsv
    rs-features -q --side user --time-unit ms -o c.tsv ms.tsv
    rs-features -q --side user -o d.tsv us.tsv
    assert_same a.tsv b.tsv
    assert_same a.tsv c.tsv
    assert_same a.tsv d.tsv
    run -1 --separate-stderr rs-features --side user --time-unit s -o out.tsv ms.tsv
    assert_stderr_has "'ms.tsv' line 2: column 'timestamp': time '1704448800000' read in seconds is"
    assert_stderr_has "outside 1970 to 2099"
    sed '3s/1704535200000/1704535200/' ms.tsv > mixed.tsv
    for tool in "rs-features --side user" "rs-split --per-user-frac 0.5" "rs-label --events mixed.tsv --history mixed.tsv"; do
        run -1 --separate-stderr $tool -o out mixed.tsv
        assert_stderr_has "'mixed.tsv' line 3: column 'timestamp': time '1704535200' is in seconds, line 2's in milliseconds"
        [ ! -e out ]
    done
    sed '3s/1704535200/-5/' s.tsv > old.tsv
    run -1 --separate-stderr rs-split --cutoff 2024-01-06 -o out old.tsv
    assert_stderr_has "'old.tsv' line 3: column 'timestamp': time '-5' read in seconds is 1969-12-31 23:59:55 UTC"
    [ ! -e out ]
    run -2 --separate-stderr rs-split --time-unit sec --cutoff 2024-01-06 -o out s.tsv
    assert_stderr_has "invalid value 'sec' for --time-unit: expected s, ms, us, iso or auto"
    run -2 --separate-stderr rs-merge --time-unit ms a=s.tsv
    assert_stderr_has "--time-unit does not apply"
}

@test "no event column: a stream of clicks for rs-features, rs-label, rs-als, rs-split --by-event; a named --event-col must exist" {
    printf 'user_id\titem_id\ttimestamp\nu1\ta\t100\nu1\tb\t200\nu2\ta\t300\n' > ev.tsv
    run -0 rs-features -q --side item ev.tsv
    [ "$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $1 == "a" { print $c["item_click_cnt"] }' <<<"$output")" = 2 ]
    printf 'user_id\titem_id\trank\tscore\nu1\ta\t1\t1\nu1\tc\t2\t1\n' > cands.tsv
    run -0 rs-label -q --events ev.tsv cands.tsv
    [ "$(cut -f1,2,5 <<<"$output" | tr '\t\n' ' ;')" = "user_id item_id click;u1 a 1;u1 c 0;" ]
    run -0 rs-als -q -f 2 -i 1 --positive click --candidates 1 ev.tsv
    [ "$(wc -l <<<"$output")" = 3 ]
    rs-split -q --by-event 'pos=click' -o w ev.tsv
    assert_same <(cut -f1,2 ev.tsv) <(cut -f1,2 w/pos.tsv)
    for tool in "rs-features --side item" "rs-label --events ev.tsv" "rs-als --positive click --candidates 1" "rs-split --by-event pos=click" \
                "rs-prefilter --min-item-interactions 1" "rs-negsample -k 1"; do
        run -1 --separate-stderr $tool --event-col kind -o out ev.tsv
        assert_stderr_has "'ev.tsv' line 1: no column 'kind'"
        [ ! -e out ]
    done
}

@test "a column named twice, a mapping to a missing column: an error naming the file and line, nothing written" {
    printf 'user_id\titem_id\tuser_id\ttimestamp\nu1\ta\tu2\t100\n' > twice.tsv
    for tool in "rs-features --side user" "rs-split --per-user-frac 0.5" "rs-prefilter --min-item-interactions 1" \
                "rs-als --candidates 1" "rs-negsample -k 1"; do
        run -1 --separate-stderr $tool -o out twice.tsv
        assert_stderr_has "'twice.tsv' line 1: column 'user_id' named twice (columns 1 and 3)"
        [ ! -e out ]
    done
    printf 'user_id\titem_id\ttimestamp\nu1\ta\t100\n' > ev.tsv
    for tool in "rs-features --side user" "rs-split --per-user-frac 0.5" "rs-prefilter --min-item-interactions 1" \
                "rs-als --candidates 1" "rs-negsample -k 1"; do
        run -1 --separate-stderr $tool --user-col customer -o out ev.tsv
        assert_stderr_has "'ev.tsv' line 1: no column 'customer'"
        [ ! -e out ]
    done
}

@test "every input a tool reads twice may be a pipe: the same bytes as from the file" {
    own_data
    C=(--user-col customer --item-col product --time-col when)
    rs-split -q "${C[@]}" --per-user-frac 0.2 -o a ev.csv
    rs-split -q "${C[@]}" --csv --per-user-frac 0.2 -o b <(cat ev.csv)
    assert_same a/train.tsv b/train.tsv
    rs-prefilter -q "${C[@]}" --min-user-interactions 3 -o p1.tsv ev.csv
    rs-prefilter -q "${C[@]}" --csv --min-user-interactions 3 -o p2.tsv <(cat ev.csv)
    assert_same p1.tsv p2.tsv
    rs-negsample -q "${C[@]}" -k 2 -o n1.tsv a/train.tsv
    rs-negsample -q "${C[@]}" -k 2 -o n2.tsv <(cat a/train.tsv)
    assert_same n1.tsv n2.tsv
    rs-features -q "${C[@]}" --side user --users users.tsv -o uf.tsv a/train.tsv
    rs-features -q "${C[@]}" --side item --items items.tsv -o if.tsv a/train.tsv
    rs-train-tower -q "${C[@]:0:4}" -c tower.json --users uf.tsv --items if.tsv --epochs 1 -o t1.rsm n1.tsv
    rs-train-tower -q "${C[@]:0:4}" -c tower.json --users <(cat uf.tsv) --items <(cat if.tsv) --epochs 1 -o t2.rsm <(cat n1.tsv)
    rs-embed -q -m t1.rsm --items if.tsv -f tsv -o e1.tsv
    rs-embed -q -m t2.rsm --items <(cat if.tsv) -f tsv -o e2.tsv
    assert_same e1.tsv e2.tsv
}
