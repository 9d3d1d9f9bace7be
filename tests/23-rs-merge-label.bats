#!/usr/bin/env bats
# rs-merge (candidate sources in one list) and rs-label (a ranker's training
# rows from candidates and a later window), on hand-written fixtures.
load helpers

fixtures() {
    printf 'user_id\titem_id\trank\tscore\n'                 > a.tsv
    printf 'u1\ti1\t1\t0.9\nu1\ti2\t2\t0.8\nu1\ti3\t3\t0.7\n' >> a.tsv
    printf 'u2\ti4\t1\t0.5\n'                                 >> a.tsv
    printf 'user_id\titem_id\trank\tscore\n'                 > b.tsv
    printf 'u1\ti3\t1\t12\nu1\ti5\t2\t7\nu3\ti1\t1\t4\n'      >> b.tsv
    printf 'user_id\titem_id\tevent\ttimestamp\n'             > hist.tsv
    printf 'u1\ti9\tclick\t100\nu2\ti9\tbooking\t200\n'       >> hist.tsv
    printf 'user_id\titem_id\tevent\ttimestamp\n'             > win.tsv
    printf 'u1\ti3\tclick\t300\nu1\ti3\tbooking\t310\n'       >> win.tsv
    printf 'u1\ti7\timpression\t305\nu1\ti2\timpression\t306\nu3\ti8\tclick\t320\n' >> win.tsv
}

@test "rs-merge and rs-label --help list options and examples" {
    for t in rs-merge rs-label; do
        run -0 --separate-stderr $t --help
        [[ "$output" == *"Usage: $t"* ]]
        [[ "$output" == *"Examples:"* ]]
        [ -z "$stderr" ]
    done
}

@test "rs-merge: the union per user, each source's rank and score, reciprocal rank fusion order" {
    fixtures
    run -0 rs-merge -q tower=a.tsv als=b.tsv
    expected=$(printf '%s\n' \
        'user_id	item_id	rank	score	sources	tower_rank	tower_score	als_rank	als_score' \
        'u1	i3	1	0.0322664585	2	3	0.699999988	1	12' \
        'u1	i1	2	0.0163934426	1	1	0.899999976		' \
        'u1	i2	3	0.0161290323	1	2	0.800000012		' \
        'u1	i5	4	0.0161290323	1			2	7' \
        'u2	i4	1	0.0163934426	1	1	0.5		' \
        'u3	i1	1	0.0163934426	1			1	4')
    [ "$output" = "$expected" ]
}

@test "rs-merge --per-source, --keep, --users-from and --rrf-k" {
    fixtures
    run -0 rs-merge -q -k 1 tower=a.tsv als=b.tsv
    [ "$(cut -f1,2 <<<"$output" | tr '\t\n' ' ;')" = "user_id item_id;u1 i1;u1 i3;u2 i4;u3 i1;" ]
    run -0 rs-merge -q --keep 2 tower=a.tsv als=b.tsv
    [ "$(grep -c '^u1' <<<"$output")" = 2 ]
    printf 'user_id\nu3\nu9\nu1\n' > users.tsv
    run -0 rs-merge -q --users-from users.tsv tower=a.tsv als=b.tsv
    [ "$(cut -f1 <<<"$output" | uniq | tr '\n' ' ')" = "user_id u3 u1 " ]
    run -0 rs-merge -q --rrf-k 0 tower=a.tsv
    [ "$(sed -n 2p <<<"$output" | cut -f4)" = 1 ]
}

@test "rs-merge: bad sources are errors, nothing is written" {
    fixtures
    printf 'user_id\titem_id\trank\tscore\n' > empty.tsv
    run -1 --separate-stderr rs-merge tower=a.tsv pop=empty.tsv -o out.tsv
    assert_stderr_has "source 'pop' has no candidates"
    [ ! -e out.tsv ]
    printf 'user_id\titem_id\tscore\n' > norank.tsv
    run -1 --separate-stderr rs-merge tower=norank.tsv -o out.tsv
    assert_stderr_has "no column 'rank'"
    printf 'user_id\titem_id\trank\tscore\nu1\ti1\t0\t1\n' > rank0.tsv
    run -1 --separate-stderr rs-merge tower=rank0.tsv -o out.tsv
    assert_stderr_has "line 2: column 'rank': rank 0 out of range"
    printf 'user_id\titem_id\trank\tscore\nu1\ti1\t1\tnan\n' > nan.tsv
    run -1 --separate-stderr rs-merge tower=nan.tsv -o out.tsv
    assert_stderr_has "line 2: column 'score'"
    [ ! -e out.tsv ]
    run -2 --separate-stderr rs-merge a.tsv
    assert_stderr_has "expected NAME=FILE"
    run -2 --separate-stderr rs-merge x=a.tsv x=b.tsv
    assert_stderr_has "given twice"
    run -2 --separate-stderr rs-merge
    assert_stderr_has "no source"
}

@test "rs-label: click and booking columns from the window, active users only" {
    fixtures
    rs-merge -q tower=a.tsv als=b.tsv -o m.tsv
    run -0 rs-label -q --events win.tsv --history hist.tsv m.tsv
    expected=$(printf '%s\n' \
        'user_id	item_id	rank	score	sources	tower_rank	tower_score	als_rank	als_score	click	booking' \
        'u1	i3	1	0.0322664585	2	3	0.699999988	1	12	1	1' \
        'u1	i1	2	0.0163934426	1	1	0.899999976			0	0' \
        'u1	i2	3	0.0161290323	1	2	0.800000012			0	0' \
        'u1	i5	4	0.0161290323	1			2	7	0	0' \
        'u3	i1	1	0.0163934426	1			1	4	0	0')
    [ "$output" = "$expected" ]
}

@test "rs-label --users, --label and --impressions" {
    fixtures
    run -0 rs-label -q --events win.tsv --users positive a.tsv
    [ "$(cut -f1 <<<"$output" | sort -u | tr '\n' ' ')" = "u1 user_id " ]
    run -0 rs-label -q --events win.tsv --users all a.tsv
    [ "$(wc -l <<<"$output")" = 5 ]
    run -0 rs-label -q --events win.tsv --label seen=impression,click a.tsv
    [ "$(head -1 <<<"$output" | cut -f5)" = seen ]
    [ "$(cut -f2,5 <<<"$output" | tr '\t\n' ' ;')" = "item_id seen;i1 0;i2 1;i3 1;" ]
    run -0 rs-label -q --events win.tsv --impressions impression a.tsv
    [ "$(head -1 <<<"$output" | cut -f5-)" = "click	booking	impressed" ]
    [ "$(sed -n '2,$p' <<<"$output" | cut -f1-3,5- | tr '\t\n' ' ;')" = "u1 i1 1 0 0 0;u1 i2 2 0 0 1;u1 i3 3 1 1 0;u1 i7  0 0 1;" ]
}

@test "rs-label: leakage, missing columns, scattered users and clashing names are errors" {
    fixtures
    run -1 --separate-stderr rs-label --events hist.tsv --history win.tsv -o out.tsv a.tsv
    assert_stderr_has "'hist.tsv' line 2: column 'timestamp': 100 is not after the last event of 'win.tsv' (320)"
    assert_stderr_has "leakage"
    [ ! -e out.tsv ]
    printf 'user_id\titem_id\nu1\ti1\n' > noevent.tsv
    run -1 --separate-stderr rs-label --events noevent.tsv --event-col event -o out.tsv a.tsv
    assert_stderr_has "no column 'event'"
    printf 'user_id\titem_id\trank\tscore\nu1\ti1\t1\t1\nu2\ti1\t1\t1\nu1\ti2\t2\t1\n' > scattered.tsv
    run -1 --separate-stderr rs-label --events win.tsv --users all -o out.tsv scattered.tsv
    assert_stderr_has "line 4: column 'user_id': rows of user 'u1' are not contiguous"
    printf 'user_id\titem_id\trank\tscore\tclick\nu1\ti1\t1\t1\t0\n' > clash.tsv
    run -1 --separate-stderr rs-label --events win.tsv -o out.tsv clash.tsv
    assert_stderr_has "already has a column 'click'"
    [ ! -e out.tsv ]
    run -2 --separate-stderr rs-label a.tsv
    assert_stderr_has "--events FILE is required"
    run -2 --separate-stderr rs-label --events win.tsv --label bad a.tsv
    assert_stderr_has "expected NAME=EVENT"
}

@test "rs-merge | rs-label | rs-rank train compose through pipes, same bytes twice" {
    rs-synth -q --users 300 --items 200 --events 40000 -o d
    rs-split -q --windows 'train=old|valid=1w' -o s d/events.tsv
    rs-retrieve -q --popular s/train.tsv --users-from d/users.tsv -k 30 -o pop.tsv
    rs-als -q -f 8 -i 4 --candidates 30 --exclude-seen --users-from d/users.tsv -o als.tsv s/train.tsv
    rs-merge -q pop=pop.tsv als=<(cat als.tsv) | rs-label -q --events s/valid.tsv --history s/train.tsv -o l1.tsv
    rs-merge -q pop=pop.tsv als=als.tsv | rs-label -q --events s/valid.tsv --history s/train.tsv -o l2.tsv
    assert_same l1.tsv l2.tsv
    [ "$(awk -F'\t' 'NR > 1 { s += $(NF - 1) } END { print (s > 0) }' l1.tsv)" = 1 ]
    printf '{"numeric": [{"name": "pop_rank", "log1p": true}, {"name": "als_rank", "log1p": true}, "sources"], "hidden": [8]}' > c.json
    run -0 rs-rank train -q -c c.json --epochs 2 -o r.rsm l1.tsv
}
