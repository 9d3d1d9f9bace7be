#!/usr/bin/env bats
# The column flags every tool shares (src/cli.h, struct rs_cols): each tool
# takes --user-col and --item-col (one pair serves every stage), and
# --event-col, --time-col, --session-col for the columns it reads, lists
# exactly those in --help with their defaults, refuses the others as usage
# errors, reads renamed columns as it reads the default ones and writes the
# id columns under the names it read.
load helpers

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
}
