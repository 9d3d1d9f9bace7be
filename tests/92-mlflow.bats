#!/usr/bin/env bats
# rs-runs export-mlflow against a real MLflow tracking server on loopback
# (issue 23): MLflow from PyPI in .venv (make bench-deps; .ci/run installs
# it), a sqlite backend in a temporary folder. The runs are read back through
# the REST API: params, metrics with their steps, tags. Skipped, saying so,
# when mlflow is not installed.
load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
: "${MLFLOW:=$ROOT/.venv/bin/mlflow}"

setup_file() {
    [ -x "$MLFLOW" ] || return 0
    local dir=$BATS_FILE_TMPDIR
    PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    setsid "$MLFLOW" server --backend-store-uri "sqlite:///$dir/mlflow.db" --default-artifact-root "$dir/artifacts" \
        --host 127.0.0.1 --port "$PORT" --workers 1 > "$dir/mlflow.log" 2>&1 &
    echo $! > "$dir/mlflow.pid"
    export MLFLOW_URL=http://127.0.0.1:$PORT
    for _ in $(seq 600); do
        curl -sf "$MLFLOW_URL/health" > /dev/null && return 0
        sleep 0.2
    done
    cat "$dir/mlflow.log" >&3
    return 1
}

teardown_file() {
    [ -e "$BATS_FILE_TMPDIR/mlflow.pid" ] || return 0
    # the server and the workers it started: its own process group (setsid)
    kill -TERM -- -"$(cat "$BATS_FILE_TMPDIR/mlflow.pid")" 2>/dev/null
    return 0
}

setup() {
    [ -x "$MLFLOW" ] || skip "mlflow is not installed ($MLFLOW): make bench-deps"
    cd "$BATS_TEST_TMPDIR" || return 1
}

# api ENDPOINT [JSON]: GET (no JSON) or POST to the MLflow REST API 2.0.
api() {
    if [ $# -eq 1 ]; then
        curl -sf "$MLFLOW_URL/api/2.0/mlflow/$1"
    else
        curl -sf -H 'Content-Type: application/json' -d "$2" "$MLFLOW_URL/api/2.0/mlflow/$1"
    fi
}

# A training run with epochs (steps) and an evaluation run with a table.
make_runs() {
    "$PYTHON" "$FIXTURES/rs-train-tower/gen.py" .
    rs-train-tower --track runs.db -c tower.json --users users.tsv --items items.tsv --batch 32 --epochs 3 \
        --patience 0 -j 1 -q -o m.rsm train.tsv
    printf 'user_id\titem_id\nu1\ti1\nu1\ti2\nu2\ti3\n' > truth.tsv
    printf 'user_id\titem_id\trank\nu1\ti1\t1\nu1\ti9\t2\nu2\ti3\t1\n' > pred.tsv
    rs-metrics --track runs.db -q --truth truth.tsv --pred pred.tsv -k 2 -o metrics.tsv
}

@test "export-mlflow: each run with its params, per-epoch metrics as steps and tags; a second export adds none" {
    make_runs
    run -0 --separate-stderr rs-runs export-mlflow --track runs.db --uri "$MLFLOW_URL" --experiment "e2e"
    assert_stderr_has "2 runs exported to experiment 'e2e'"
    exp=$(api "experiments/get-by-name?experiment_name=e2e" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["experiment"]["experiment_id"])')
    api runs/search "{\"experiment_ids\": [\"$exp\"]}" > runs.json
    uuid=$(rs-runs show --track runs.db 1 --tsv | awk -F'\t' '$1 == "run" && $2 == "uuid" { print $4 }')
    "$PYTHON" - "$uuid" <<'PY'
import json, sys
runs = json.load(open("runs.json"))["runs"]
assert len(runs) == 2, len(runs)
by_tool = {}
for r in runs:
    tags = {t["key"]: t["value"] for t in r["data"].get("tags", [])}
    by_tool[tags["rs.tool"]] = (r, tags)
r, tags = by_tool["rs-train-tower"]
params = {p["key"]: p["value"] for p in r["data"]["params"]}
assert params["epochs"] == "3" and params["batch"] == "32" and params["seed"] == "42", params
assert tags["rs.uuid"] == sys.argv[1], tags
assert tags["rs.status"] == "0" and r["info"]["status"] == "FINISHED", (tags, r["info"])
assert any(v.startswith("train.tsv@") for k, v in tags.items() if k.startswith("rs.in.")), tags
assert any(v.startswith("m.rsm@") for k, v in tags.items() if k.startswith("rs.out.")), tags
r, tags = by_tool["rs-metrics"]
metrics = {m["key"]: m["value"] for m in r["data"]["metrics"]}
assert abs(metrics["recall_at_2"] - 0.75) < 1e-9, metrics
open("tower_run", "w").write(by_tool["rs-train-tower"][0]["info"]["run_id"])
PY
    # the loss of every epoch, as steps 1..3, equal to what the store holds
    api "metrics/get-history?run_id=$(cat tower_run)&metric_key=loss" > loss.json
    rs-runs show --track runs.db 1 --tsv | awk -F'\t' '$1 == "metric" && $2 == "loss" { print $3 "\t" $4 }' > store.tsv
    "$PYTHON" - <<'PY'
import json
got = sorted((m["step"], m["value"]) for m in json.load(open("loss.json"))["metrics"])
want = [(int(s), float(v)) for s, v in (l.split("\t") for l in open("store.tsv").read().split("\n") if l)]
assert [s for s, _ in got] == [1, 2, 3], got
assert all(abs(a[1] - b[1]) <= 1e-6 * abs(b[1]) for a, b in zip(got, want)), (got, want)
PY
    run -0 --separate-stderr rs-runs export-mlflow --track runs.db --uri "$MLFLOW_URL" --experiment "e2e"
    assert_stderr_has "0 runs exported to experiment 'e2e' at $MLFLOW_URL (2 there already)"
    [ "$(api runs/search "{\"experiment_ids\": [\"$exp\"]}" | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["runs"]))')" = 2 ]
}

@test "export-mlflow: filters select the runs; an unreachable server or a bad URI fails clearly" {
    make_runs
    run -0 --separate-stderr rs-runs export-mlflow --track runs.db --uri "$MLFLOW_URL" --experiment only-metrics \
        --tool rs-metrics
    assert_stderr_has "1 runs exported"
    port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    run -1 --separate-stderr rs-runs export-mlflow --track runs.db --uri "http://127.0.0.1:$port"
    assert_stderr_has "MLflow server 'http://127.0.0.1:$port'"
    run -2 rs-runs export-mlflow --track runs.db --uri "ftp://x"
    run -2 rs-runs export-mlflow --track runs.db
}
