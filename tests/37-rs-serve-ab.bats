#!/usr/bin/env bats
# rs-serve experiments: arms side by side, stable assignment, rollout,
# forced arms, reloads that change the shares under load.
load helpers
load serve-helpers

AB="$BATS_TEST_DIRNAME/serve-ab.py"

# experiment SHARE_B ROLLOUT [SALT]: exp.json with arms a (the command line's
# bundle) and b (another user embedding file), written by a rename.
experiment() {
    cat > exp.new <<JSON
{"name": "t1", "salt": "${3:-s1}", "rollout": $2,
 "arms": [{"name": "a", "share": $(awk -v s="$1" 'BEGIN { printf "%.10g", 1 - s }')},
          {"name": "b", "share": $1, "users_emb": "users_b.rsb"}]}
JSON
    mv exp.new exp.json
}

ab_world() {
    make_bundle 1
    cp users.rsb users_b.rsb
    experiment 0.5 1
}

# share ARM MAP.tsv: the share of ARM among the users of MAP.
share() { awk -v a="$1" 'NR > 1 { n++; k += $2 == a } END { printf "%.4f\n", k / n }' "$2"; }

within() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x >= lo && x <= hi) }'; }

@test "two arms at 50/50 over 20,000 users: each within 1% of its share, the same after a restart and a reload" {
    ab_world
    start_server --experiment exp.json
    run -0 "$PYTHON" "$AB" "$URL" 20000 m1.tsv
    echo "# $output" | tr '\n' ' ' >&3; echo >&3
    [[ "$output" == *"errors 0"* ]]
    within "$(share a m1.tsv)" 0.49 0.51
    within "$(share b m1.tsv)" 0.49 0.51
    teardown
    head -5001 m1.tsv > m1.5k
    start_server --experiment exp.json                       # restart
    run -0 "$PYTHON" "$AB" "$URL" 5000 m2.tsv
    cmp m1.5k m2.tsv
    v=$(version); experiment 0.5 1; wait_version_above "$v"  # reload of the same experiment
    run -0 "$PYTHON" "$AB" "$URL" 5000 m3.tsv
    cmp m1.5k m3.tsv
    grep -q "experiment t1: rollout 1, arms a 0.5, b 0.5" server.log
    experiment 0.5 1 s2; wait_version_above "$((v + 1))"   # a new salt reshuffles
    run -0 "$PYTHON" "$AB" "$URL" 5000 m4.tsv
    run ! cmp -s m1.5k m4.tsv
}

@test "a reload that changes the shares under load: no error, the new shares served after it" {
    ab_world
    start_server --experiment exp.json
    "$PYTHON" "$AB" "$URL" 60000 during.tsv 4 > during.out &
    HAMMER=$!
    sleep 0.5
    experiment 0.7 1
    wait_version_above 1
    kill -0 "$HAMMER"                  # the reload happened under the load
    wait "$HAMMER"; HAMMER=
    cat during.out
    grep -q "errors 0" during.out
    [ "$(version)" = 2 ]
    run -0 "$PYTHON" "$AB" "$URL" 20000 after.tsv
    [[ "$output" == *"errors 0"* ]]
    within "$(share b after.tsv)" 0.69 0.71
}

@test "a growing rollout adds users to the arms without moving those already in" {
    ab_world
    experiment 0.5 0.3
    start_server --experiment exp.json
    "$PYTHON" "$AB" "$URL" 20000 r30.tsv > /dev/null
    v=$(version); experiment 0.5 0.6; wait_version_above "$v"
    "$PYTHON" "$AB" "$URL" 20000 r60.tsv > /dev/null
    within "$(share b r30.tsv)" 0.14 0.16
    within "$(share b r60.tsv)" 0.29 0.31
    # every user of b at 30% is still in b at 60%
    [ "$(join -t $'\t' <(awk '$2 == "b"' r30.tsv | sort) <(sort r60.tsv) | awk '$3 != "b"' | wc -l)" = 0 ]
}

@test "X-RS-Arm or &arm= forces an arm; an unknown one is 400; a bad experiment is refused at start and on reload" {
    ab_world
    start_server --experiment exp.json
    for arm in a b; do
        [ "$(curl -s -o body -w '%{http_code}' -H "X-RS-Arm: $arm" "$URL/recommend?user_id=u1&k=2")" = 200 ]
        grep -q "\"arm\":\"$arm\"" body
        [ "$(get "/recommend?user_id=u1&k=2&arm=$arm")" = 200 ]
        grep -q "\"arm\":\"$arm\"" body
    done
    [ "$(get "/recommend?user_id=u1&k=2&arm=zz")" = 400 ]
    grep -q "unknown arm" body
    printf '{"name": "t1", "arms": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.6}]}' > exp.new
    mv exp.new exp.json
    for _ in $(seq 50); do grep -q "reload failed" server.log && break; sleep 0.1; done
    grep -q "reload failed, keeping version 1: 'exp.json': arms: the shares sum to 1.1" server.log
    [ "$(get "/recommend?user_id=u1&k=2&arm=b")" = 200 ]
    teardown
    run -1 --separate-stderr rs-serve --items-emb items.rsb --experiment exp.json --port 0
    assert_stderr_has "the shares sum to 1.1"
    printf '{"name": "t1", "arms": [{"name": "a", "share": 1, "ranker": "nope.rsm"}], "x": 1}' > bad.json
    run -1 --separate-stderr rs-serve --items-emb items.rsb --experiment bad.json --port 0
    assert_stderr_has "'bad.json'"
    printf '{"name": "t1", "arms": [{"name": "a", "share": 1, "ranker": "nope.rsm"}]}' > bad.json
    run -1 --separate-stderr rs-serve --items-emb items.rsb --experiment bad.json --port 0
    assert_stderr_has "nope.rsm"
}
