#!/usr/bin/env bats
# rs-tune: the space refused clearly, the samplers on a synthetic objective
# recorded in the run store (fixtures/tune/objective.sh: recall@20 of 1 at
# x = 7, y = 0.3), resume after kill -9, the same seed the same sequence.

load helpers

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
    cp "$FIXTURES/tune/space.json" "$FIXTURES/tune/objective.sh" .
}

tune() {
    rs-tune -q --space space.json --metric recall@20 --track runs.db "$@"
}

# jsonq FILE EXPR: a Python expression over the JSON document d of FILE.
jsonq() {
    "$PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# done_trials STUDY: how many trials are done.
done_trials() {
    jsonq "$1" 'sum(t["state"] == "done" for t in d["trials"])'
}

# best_value LEADERBOARD: the first row's objective.
best_value() {
    awk -F'\t' 'NR == 2 { print $3 }' "$1"
}

@test "rs-tune: --help, --version, usage errors" {
    run -0 rs-tune --help
    [[ "$output" == *"--sampler S"* ]]
    run -0 rs-tune --version
    run -2 --separate-stderr rs-tune --bogus
    run -2 --separate-stderr tune
    assert_stderr_has "no COMMAND"
    run -2 --separate-stderr rs-tune --space space.json --metric m --track runs.db --sampler bayes -- true
    assert_stderr_has "--sampler is random, grid, tpe or asha"
    run -2 --separate-stderr env -u RS_TRACK rs-tune --space space.json --metric m -- true
    assert_stderr_has "--track (or RS_TRACK) is required"
}

@test "rs-tune: a space with errors is refused with the file and where, nothing run" {
    printf '{ "params": {\n  "x": { "type": "int" "low": 1 } } }\n' > bad.json
    run -1 --separate-stderr rs-tune --space bad.json --metric m --track runs.db -- touch ran
    assert_stderr_has "'bad.json'"
    assert_stderr_has "line 2"
    assert_stderr_has "column"
    printf '{ "params": { "lr": { "type": "float", "low": 0, "high": 1, "log": true } } }\n' > bad.json
    run -1 --separate-stderr rs-tune --space bad.json --metric m --track runs.db -- touch ran
    assert_stderr_has "params.lr.low: a log-scaled range needs low > 0"
    printf '{ "params": { "m": { "type": "float", "low": 0, "high": 1, "when": { "opt": ["sgd"] } },\n'\
'  "opt": { "type": "choice", "values": ["adam", "sgd"] } } }\n' > bad.json
    run -1 --separate-stderr rs-tune --space bad.json --metric m --track runs.db -- touch ran
    assert_stderr_has "'opt' is not a parameter listed before 'm'"
    printf '{ "params": { "x": { "type": "int", "low": 1, "high": 3, "stepp": 2 } } }\n' > bad.json
    run -1 --separate-stderr rs-tune --space bad.json --metric m --track runs.db -- touch ran
    assert_stderr_has "params.x"
    assert_stderr_has "stepp"
    [ ! -e ran ] && [ ! -e bad.study.json ]
}

@test "rs-tune: ASHA without a budget in the space is a usage error" {
    printf '{ "params": { "x": { "type": "int", "low": 1, "high": 3 } } }\n' > nobudget.json
    run -2 --separate-stderr rs-tune --space nobudget.json --metric m --track runs.db --sampler asha -- true
    assert_stderr_has "needs a \"budget\""
}

@test "rs-tune: grid finds the optimum, every point once, each trial a tracked run of its group" {
    run -0 --separate-stderr tune --sampler grid -n 1000 -j 2 --best best.json -- ./objective.sh {x} {y}
    echo "$output" > board.tsv
    [ "$(best_value board.tsv)" = 1 ]
    # 12 x values times 5 y points, then the grid is exhausted
    [ "$(done_trials space.study.json)" -eq 60 ]
    [ "$(jsonq space.study.json 'len({(t["params"]["x"], t["params"]["y"]) for t in d["trials"]})')" -eq 60 ]
    [ "$(jsonq best.json 'd["x"]')" = 7 ]
    # one rs-metrics run per trial, in the group space-tN, plus rs-tune's own
    [ "$(rs-runs list --track runs.db --tool rs-metrics --tsv | tail -n +2 | cut -f3 | sort -u | wc -l)" -eq 60 ]
    rs-runs list --track runs.db --tool rs-metrics --group space-t59 --tsv | grep -q rs-metrics
}

@test "rs-tune: TPE and random find the optimum region" {
    run -0 --separate-stderr tune --sampler tpe -n 30 --best best.mk -- ./objective.sh {x} {y}
    echo "$output" > tpe.tsv
    run -0 --separate-stderr tune --sampler random -n 30 --study random.study.json -- ./objective.sh {x} {y}
    echo "$output" > random.tsv
    awk -v t="$(best_value tpe.tsv)" -v r="$(best_value random.tsv)" 'BEGIN { exit !(t >= 0.9 && r >= 0.5) }'
    grep -qx 'x = 7' best.mk
    grep -q '^y = 0\.' best.mk
}

@test "rs-tune: ASHA promotes the best of each rung to a longer budget" {
    run -0 --separate-stderr tune --sampler asha -n 30 --best best.mk -- ./objective.sh {x} {y} {epochs}
    echo "$output" > board.tsv
    # the top of the board is a full-budget (9 epochs) trial at the optimum's x
    awk -F'\t' 'NR == 2 && $4 == 9 && $5 == 7 && $3 >= 0.9 { ok = 1 } END { exit !ok }' board.tsv
    grep -qx 'epochs = 9' best.mk
    # most configurations stop at the first rung (1 epoch)
    [ "$(jsonq space.study.json 'sum(t["rung"] == 0 for t in d["trials"])')" -gt 15 ]
    [ "$(jsonq space.study.json 'sum(t["rung"] == 2 for t in d["trials"])')" -ge 1 ]
    # a promoted trial runs its parent's configuration one rung up
    [ "$(jsonq space.study.json 'sum(t["params"] != d["trials"][t["parent"]]["params"] or
        t["rung"] != d["trials"][t["parent"]]["rung"] + 1 for t in d["trials"] if t["parent"] >= 0)')" -eq 0 ]
}

@test "rs-tune: the same seed gives the same sequence whatever the run times; another seed another" {
    tune -n 14 -j 3 --study a.study.json -- ./objective.sh {x} {y} > a.tsv
    tune -n 14 -j 3 --study b.study.json -- sh -c 'sleep 0.0$(( RS_TUNE_TRIAL % 3 )); ./objective.sh {x} {y}' > b.tsv
    assert_same a.study.json b.study.json
    tune -n 14 -j 3 -s 7 --study c.study.json -- ./objective.sh {x} {y} > c.tsv
    assert_differ a.study.json c.study.json
}

@test "rs-tune: after kill -9 a resumed study re-runs only the unfinished trial" {
    TUNE_LOG=$PWD/ran.txt TUNE_HANG=3 tune -n 6 -- ./objective.sh {x} {y} > /dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do grep -qx 3 ran.txt 2> /dev/null && break; sleep 0.1; done
    grep -qx 3 ran.txt
    kill -9 "$pid"
    wait "$pid" || true
    [ "$(done_trials space.study.json)" -eq 3 ]
    run -0 --separate-stderr env TUNE_LOG=$PWD/ran.txt rs-tune --space space.json --metric recall@20 \
        --track runs.db -n 6 -- ./objective.sh {x} {y}
    assert_stderr_has "resuming 'space.study.json': 4 trials recorded"
    [ "$(tr '\n' ' ' < ran.txt)" = "0 1 2 3 3 4 5 " ]
    [ "$(done_trials space.study.json)" -eq 6 ]
    # the same study as one never stopped
    tune -n 6 --study whole.study.json -- ./objective.sh {x} {y} > /dev/null
    assert_same space.study.json whole.study.json
}

@test "rs-tune: a resumed study with another sampler or seed is refused" {
    tune -n 2 -- ./objective.sh {x} {y} > /dev/null
    run -2 --separate-stderr tune -n 4 --sampler random -- ./objective.sh {x} {y}
    assert_stderr_has "sampler tpe, seed 42"
}

@test "rs-tune: failed trials and a misspelt metric are reported; none finished is exit 1" {
    run -0 --separate-stderr tune -n 3 -- sh -c '[ {trial} != 1 ] && ./objective.sh {x} {y}'
    assert_stderr_has "warning: trial 1 failed (exit status 1)"
    [ "$(jsonq space.study.json 'd["trials"][1]["state"]')" = failed ]
    run -1 --separate-stderr rs-tune --space space.json --metric recal@20 --track runs.db -n 2 \
        --study other.study.json -- ./objective.sh {x} {y}
    assert_stderr_has "warning: trial 0: run group 'other-t0' of 'runs.db' has no metric 'recal@20'; it has"
    assert_stderr_has "recall@20"
    assert_stderr_has "no trial of 'other.study.json' finished"
    [ -z "$output" ]
}

@test "rs-tune: parameters reach the command as {NAME} and in the environment; inactive ones are empty" {
    cat > cond.json <<'EOF'
{ "params": { "opt": { "type": "choice", "values": ["adam", "sgd"] },
              "momentum": { "type": "float", "low": 0.1, "high": 0.9, "grid_points": 2,
                            "when": { "opt": ["sgd"] } } } }
EOF
    run -0 --separate-stderr rs-tune -q --space cond.json --metric recall@20 --track runs.db --sampler grid \
        -- sh -c 'echo "{opt} [{momentum}] $opt [$momentum] {group} {nothing}" >> seen.txt; ./objective.sh 7 0.3'
    sort seen.txt > got.txt
    printf '%s\n' 'adam [] adam [] cond-t0 {nothing}' 'sgd [0.1] sgd [0.1] cond-t1 {nothing}' \
        'sgd [0.9] sgd [0.9] cond-t2 {nothing}' > want.txt
    assert_same got.txt want.txt
}

@test "rs-tune: a make target of a pipeline gets the parameters as variables and records into the tuning store" {
    printf 'OUT ?= out\ninclude %s/pipelines/common.mk\nall:\n\t./objective.sh $(x) $(y)\n' \
        "$(cd "$BATS_TEST_DIRNAME/.." && pwd)" > trial.mk
    run -0 --separate-stderr tune -n 3 --sampler grid -- env -u MAKEFLAGS -u MAKELEVEL make -s -f trial.mk OUT=out/{trial}
    [ "$(done_trials space.study.json)" -eq 3 ]
    # the pipeline's own store (TRACK ?= $(OUT)/runs.db) stayed unused
    [ ! -e out/0/runs.db ]
}
