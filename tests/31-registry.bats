#!/usr/bin/env bats
# The model registry (issue 23): versions registered from recorded runs,
# promoted to production only through a gate, the production link that
# rs-serve follows; pipelines/retrain.sh, refused or killed, never changes
# what is served.
load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

# retrain WEEK [VAR=VALUE...]: pipelines/retrain.sh on a small world in ./work.
retrain() {
    env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u RS_RUN_GROUP -u RS_TRACK WORK="$PWD/work" BIN="$BIN" WEEK="$1" \
        USERS=300 ITEMS=150 EVENTS=20000 THREADS=1 "${@:2}" "$ROOT/pipelines/retrain.sh"
}

link() { readlink work/registry/two-tower/production; }

start_server() {
    local p=work/registry/two-tower/production
    rs-serve --items-emb "$p/item_emb.rsb" --users-emb "$p/user_emb.rsb" --port 0 --port-file port --watch 1 \
        -j 1 2> server.log &
    SERVER=$!
    for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
    URL=http://127.0.0.1:$(cat port)
}

teardown() {
    [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    return 0
}

served_version() { curl -s "$URL/healthz" | sed 's/.*"version":\([0-9]*\).*/\1/'; }

@test "register: a file no recorded run wrote is refused; versions count up; stages follow promotions" {
    printf 'id\tv1\tv2\nx\t1\t2\n' > e.tsv
    rs-cat --track runs.db -q --to rsb -o a.rsb e.tsv
    printf 'id\tv1\tv2\nx\t3\t4\n' > e.tsv
    rs-cat --track runs.db -q --to rsb -o b.rsb e.tsv
    echo stray > stray.rsb
    run -1 rs-runs register m --track runs.db stray.rsb
    [[ "$output" == *"'stray.rsb' was written by no recorded run"* ]]
    [ ! -e registry/m/v1 ]
    run -2 rs-runs register ../m --track runs.db a.rsb
    run -0 rs-runs register m --track runs.db a.rsb
    run -0 rs-runs register m --track runs.db b.rsb
    assert_same registry/m/v1/a.rsb a.rsb
    assert_same registry/m/v2/b.rsb b.rsb
    run -0 rs-runs promote m 1 --track runs.db
    [ "$(readlink registry/m/production)" = v1 ]
    # a production exists: no promotion without a gate
    run -2 rs-runs promote m 2 --track runs.db
    [ "$(readlink registry/m/production)" = v1 ]
    run -1 rs-runs promote m 7 --track runs.db --gate 'recall@10>=0' --eval 1
    run -2 rs-runs promote m 2 --track runs.db --gate 'recall@10' --eval 1
    run -0 rs-runs models m --track runs.db --tsv
    [ "$(tail -n +2 <<<"$output" | cut -f2,3 | paste -sd' ')" = "$(printf '1\tproduction 2\tcandidate')" ]
    [ "$(sed -n 2p <<<"$output" | cut -f4)" = 1 ]
}

@test "the gate: refused leaves production and rs-serve on it; passed swaps the link and rs-serve follows" {
    retrain 1
    [ "$(link)" = v1 ]
    start_server
    [ "$(served_version)" = 1 ]
    curl -s "$URL/recommend?user_id=u0&k=5" | sed "s/,\"request_id\":\"[0-9a-f]*\"//" > before.json
    grep -q item_id before.json
    # the candidate would have to beat production's recall@10 by 0.5: refused
    run -1 retrain 2 GATE='recall@10>=0.5'
    [[ "$output" == *"gate 'recall@10>=0.5' refused model 'two-tower' version 2"* ]]
    [[ "$output" == *"production stays version 1"* ]]
    [ "$(link)" = v1 ]
    sleep 2.5 # more than --watch: nothing to reload
    [ "$(served_version)" = 1 ]
    curl -s "$URL/recommend?user_id=u0&k=5" | sed "s/,\"request_id\":\"[0-9a-f]*\"//" > after.json
    assert_same before.json after.json
    run -0 rs-runs models two-tower --track work/runs.db --tsv
    [ "$(tail -n +2 <<<"$output" | cut -f3 | paste -sd' ')" = "production candidate" ]
    # a margin the candidate meets: promoted, and the server swaps to it
    run -0 retrain 3 GATE='recall@10>=-1'
    [ "$(link)" = v3 ]
    for _ in $(seq 50); do [ "$(served_version)" -gt 1 ] && break; sleep 0.1; done
    [ "$(served_version)" = 2 ]
    curl -s "$URL/recommend?user_id=u0&k=5" | sed "s/,\"request_id\":\"[0-9a-f]*\"//" > new.json
    assert_differ before.json new.json
    # every attempt is on record
    [ "$(sqlite3 work/runs.db 'SELECT group_concat(version || ":" || passed) FROM promotions')" = "1:1,2:0,3:1" ]
}

@test "a retraining killed mid-pipeline changes nothing served" {
    retrain 1
    start_server
    curl -s "$URL/recommend?user_id=u0&k=5" | sed "s/,\"request_id\":\"[0-9a-f]*\"//" > before.json
    setsid bash -c "$(declare -f retrain); ROOT='$ROOT' BIN='$BIN'; retrain 2" > killed.log 2>&1 &
    pid=$!
    for _ in $(seq 200); do [ -e work/weeks/2/examples.tsv.zst ] && break; sleep 0.05; done
    kill -KILL -- -"$pid"
    wait "$pid" || true
    [ "$(link)" = v1 ]
    run -0 rs-runs models two-tower --track work/runs.db --tsv
    [ "$(tail -n +2 <<<"$output" | wc -l)" -eq 1 ]
    sleep 2.5
    [ "$(served_version)" = 1 ]
    curl -s "$URL/recommend?user_id=u0&k=5" | sed "s/,\"request_id\":\"[0-9a-f]*\"//" > after.json
    assert_same before.json after.json
    # the next run of the schedule picks up where the data is and promotes
    run -0 retrain 2 GATE='recall@10>=-1'
    [ "$(link)" = v2 ]
}
