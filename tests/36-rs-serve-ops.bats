#!/usr/bin/env bats
# rs-serve in operation: Prometheus exposition, liveness and readiness, the
# access log, graceful shutdown.
load helpers
load serve-helpers

PROM="$BATS_TEST_DIRNAME/prom-check.py"

@test "/metrics is Prometheus text 0.0.4 that a strict parser reads; its counts follow the requests" {
    make_bundle 1
    start_server
    for _ in 1 2 3 4 5; do [ "$(get "/recommend?user_id=u1&k=3")" = 200 ]; done
    [ "$(get "/similar?item_id=i1&k=3")" = 200 ]
    [ "$(get "/nowhere")" = 404 ]
    [ "$(curl -s -o m.txt -w '%{content_type}' "$URL/metrics")" = "text/plain; version=0.0.4; charset=utf-8" ]
    run -0 "$PYTHON" "$PROM" m.txt
    [[ "$output" == *'rs_serve_request_duration_seconds_count{endpoint="recommend"} 5.0'* ]]
    [[ "$output" == *'rs_serve_request_duration_seconds_bucket{endpoint="recommend",le="+Inf"} 5.0'* ]]
    [[ "$output" == *'rs_serve_request_duration_seconds_count{endpoint="similar"} 1.0'* ]]
    [[ "$output" == *'rs_serve_responses_total{code="2xx"} 6.0'* ]]
    [[ "$output" == *'rs_serve_responses_total{code="4xx"} 1.0'* ]]
    [[ "$output" == *'rs_serve_lists_total{source="embedding"} 5.0'* ]]
    [[ "$output" == *'rs_serve_reloads_total 1.0'* ]]
    [[ "$output" == *'rs_serve_ready 1.0'* ]]
    # the checker can fail: a bucket count above the next, a sample without its TYPE, a bad escape
    awk '/le="\+Inf"/ && !done { $NF = 0; done = 1 } 1' m.txt > bad1.txt
    run -1 "$PYTHON" "$PROM" bad1.txt
    { echo 'orphan_total 1'; cat m.txt; } > bad2.txt
    run -1 "$PYTHON" "$PROM" bad2.txt
    sed '0,/endpoint="other"/s//endpoint="ot\\her"/' m.txt > bad3.txt
    run -1 "$PYTHON" "$PROM" bad3.txt
    # JSON for the existing readers
    [ "$(get "/metrics.json")" = 200 ]
    grep -q '"reloads":1' body
    [ "$(get "/metrics?format=json")" = 200 ]
    grep -q '"reloads":1' body
}

@test "/healthz is liveness, /readyz readiness; every answer carries X-RS-Request-Id" {
    make_bundle 1
    start_server
    [ "$(get /healthz)" = 200 ]
    [ "$(get /readyz)" = 200 ]
    grep -q '"version":1' body
    a=$(curl -s -D - -o /dev/null "$URL/healthz" | tr -d '\r' | sed -n 's/^X-RS-Request-Id: //ip')
    b=$(curl -s -D - -o /dev/null "$URL/nowhere" | tr -d '\r' | sed -n 's/^X-RS-Request-Id: //ip')
    [[ "$a" =~ ^[0-9a-f]{32}$ ]]
    [[ "$b" =~ ^[0-9a-f]{32}$ ]]
    [ "$a" != "$b" ]
}

@test "--access-log: one JSON line per request with its id, path, status and latency; reopened on SIGHUP" {
    make_bundle 1
    start_server --access-log access.jsonl
    ids=()
    for path in "/recommend?user_id=u1&k=3" "/similar?item_id=zz" /healthz; do
        ids+=("$(curl -s -D - -o /dev/null "$URL$path" | tr -d '\r' | sed -n 's/^X-RS-Request-Id: //ip')")
    done
    "$PYTHON" - "${ids[@]}" <<'PY'
import json, sys
lines = [json.loads(l) for l in open("access.jsonl")]
assert [l["request_id"] for l in lines] == sys.argv[1:], lines
assert [(l["path"], l["status"], l["method"]) for l in lines] == [
    ("/recommend", 200, "GET"), ("/similar", 404, "GET"), ("/healthz", 200, "GET")], lines
assert all(0 <= l["latency_s"] < 5 and l["time"] > 1.6e9 for l in lines), lines
PY
    mv access.jsonl access.1
    kill -HUP "$SERVER"
    for _ in $(seq 50); do [ -e access.jsonl ] && break; sleep 0.1; done
    get /healthz > /dev/null
    [ "$(wc -l < access.jsonl)" = 1 ]
    [ "$(wc -l < access.1)" = 3 ]
}

@test "SIGTERM: no new connection, /readyz 503, the request in flight answered, exit 0" {
    make_bundle 1
    start_server
    run -0 "$PYTHON" "$BATS_TEST_DIRNAME/serve-drain.py" "$(cat port)" "$SERVER"
    [ "$output" = drained ]
    # not under `run`: a subshell cannot wait for the test's child (it gets 255
    # when the server is still draining)
    local rc=0
    wait "$SERVER" || rc=$?
    SERVER=
    [ "$rc" = 0 ]
    grep -q "stopping: no request in flight" server.log
}
