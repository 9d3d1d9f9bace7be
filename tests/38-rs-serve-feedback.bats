#!/usr/bin/env bats
# rs-serve's POST /feedback: the guarded, durable log of impressions and
# events in the pipeline's events format.
load helpers
load serve-helpers

FB="$BATS_TEST_DIRNAME/serve-feedback.py"
TOKEN=0123456789abcdef-test-token

fb_server() {
    make_bundle 1
    printf '%s\n' "$TOKEN" > token
    start_server --feedback-dir fb --feedback-token-file token "$@"
}

# The rows of every log file, without headers, the timestamp blanked.
log_rows() {
    for f in fb/feedback-*.tsv.zst; do rs-cat "$f" | tail -n +2; done |
        awk -F'\t' -v OFS='\t' '{ $4 = ""; print }'
}

@test "accepted feedback is in the log, in the events format that rs-split and rs-rank read" {
    fb_server
    run -0 "$PYTHON" "$FB" "$URL" "$TOKEN" serve u1 5
    log_rows > got.tsv
    cmp want.tsv got.tsv
    f=$(ls fb/feedback-*.tsv.zst)
    [ "$(rs-cat "$f" | head -1)" = "$(printf 'user_id\titem_id\tevent\ttimestamp\tsession_id\tposition\tarm\tvalue')" ]
    now=$(date +%s)
    rs-cat "$f" | awk -F'\t' -v now="$now" 'NR > 1 && ($4 < now - 60 || $4 > now + 5) { exit 1 }'
    rs-split --cutoff "$((now - 3600))" -q -o split "$f"       # the pipeline reads it as events
    [ "$(rs-cat split/test.tsv | wc -l)" = 8 ]
    curl -s "$URL/metrics" > m.txt
    grep -q 'rs_serve_arm_impressions_total{arm="default"} 5' m.txt
    grep -q 'rs_serve_arm_clicks_total{arm="default"} 1' m.txt
    grep -q 'rs_serve_arm_conversions_total{arm="default"} 1' m.txt
    grep -q 'rs_serve_arm_revenue_total{arm="default"} 12.5' m.txt
    grep -q 'rs_serve_feedback_requests_total{result="accepted"} 1' m.txt
}

@test "without the token, with a forged request id, with any bad field: refused, and nothing reaches the log" {
    fb_server
    run -0 "$PYTHON" "$FB" "$URL" "$TOKEN" refusals
    [ "$output" = "refused 20" ]
    [ "$(log_rows | wc -l)" = 4 ]                        # the one good batch, once
    curl -s "$URL/metrics" > m.txt
    grep -q 'rs_serve_feedback_requests_total{result="unauthorized"} 2' m.txt
    grep -q 'rs_serve_feedback_requests_total{result="invalid"} 18' m.txt
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/feedback")" = 405 ]
    run -2 --separate-stderr rs-serve --items-emb items.rsb --feedback-dir fb
    assert_stderr_has "--feedback-dir and --feedback-token-file go together"
    printf 'short\n' > weak
    run -1 --separate-stderr rs-serve --items-emb items.rsb --feedback-dir fb --feedback-token-file weak --port 0
    assert_stderr_has "at least 16 bytes"
}

@test "past the rate limit a client gets 429, and its batch is not logged" {
    fb_server --feedback-rate 0.01 --feedback-burst 3
    run -0 "$PYTHON" "$FB" "$URL" "$TOKEN" batches 5
    [ "$(echo "$output" | tr '\n' ' ')" = "200 200 200 429 429 " ]
    log_rows > got.tsv
    cmp acked.tsv got.tsv
    curl -s "$URL/metrics" | grep -q 'rs_serve_feedback_requests_total{result="rate_limited"} 2'
}

@test "kill -9 loses no acknowledged event; a partial last frame is cut at the next start" {
    fb_server
    run -0 "$PYTHON" "$FB" "$URL" "$TOKEN" batches 30
    [ "$(echo "$output" | sort -u)" = 200 ]
    kill -9 "$SERVER"; wait "$SERVER" || true; SERVER=
    f=$(ls fb/feedback-*.tsv.zst)
    # a write cut by the kill: the first bytes of one more frame
    printf 'user_id\tx\n' | zstd -q -c | head -c 9 >> "$f"
    run -1 rs-cat "$f"                                    # as it was left, it does not decode
    start_server --feedback-dir fb --feedback-token-file token
    rs-cat "$f" > /dev/null                               # cut back to its last complete frame
    log_rows > got.tsv
    cmp acked.tsv got.tsv
    [ "$(wc -l < got.tsv)" = 300 ]
}

@test "a full disk (ulimit -f) is answered 503 and counted; what was acknowledged is whole" {
    make_bundle 1
    printf '%s\n' "$TOKEN" > token
    (ulimit -f 4; exec rs-serve --items-emb items.rsb --users-emb users.rsb --feedback-dir fb \
        --feedback-token-file token --port 0 --port-file port -j 2 2> server.log) &
    SERVER=$!
    for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
    URL=http://127.0.0.1:$(cat port)
    run -0 "$PYTHON" "$FB" "$URL" "$TOKEN" batches 60
    [[ "$output" == *503* ]]
    [[ "$output" == *200* ]]
    log_rows > got.tsv
    cmp acked.tsv got.tsv
    curl -s "$URL/metrics" | grep -q 'rs_serve_feedback_requests_total{result="write_failed"} [1-9]'
    grep -q "feedback refused: cannot write 'fb/feedback-" server.log
}
