#!/usr/bin/env bats
# The run store (issue 23, schemas/runs.md): --track on every tool, rs-runs
# list/show/compare/best/lineage, a store that is locked, corrupt or foreign
# never changes a tool's result, concurrent pipelines lose no run.
load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

# A tiny demo world, one run of pipelines/demo.mk shared by the tests below.
setup_file() {
    export DEMO=$BATS_FILE_TMPDIR/demo
    demo_make "$DEMO" > "$BATS_FILE_TMPDIR/demo.log" 2>&1
}

demo_make() {
    env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u RS_RUN_GROUP make -s -C "$ROOT" -f pipelines/demo.mk BIN="$BIN" \
        OUT="$1" USERS=300 ITEMS=150 EVENTS=20000 THREADS=1 "${@:2}" demo
}

# Hand-written truth and two prediction lists: good finds 3 of 3, bad 1.
metrics_fixture() {
    printf 'user_id\titem_id\nu1\ti1\nu1\ti2\nu2\ti3\n' > truth.tsv
    printf 'user_id\titem_id\trank\nu1\ti1\t1\nu1\ti2\t2\nu2\ti3\t1\n' > good.tsv
    printf 'user_id\titem_id\trank\nu1\ti9\t1\nu1\ti8\t2\nu2\ti3\t1\n' > bad.tsv
}

@test "every tool records a run, even one that ends in a usage error, with its exit status" {
    n=0
    for tool in "$BIN"/rs-*; do
        name=$(basename "$tool")
        [ "$name" = rs-runs ] && continue
        run -2 "$tool" --track runs.db --no-such-option
        n=$((n + 1))
    done
    run -0 rs-runs list --track runs.db --tsv
    [ "$(tail -n +2 <<<"$output" | cut -f4 | sort -u | wc -l)" -eq "$n" ]
    [ "$(tail -n +2 <<<"$output" | cut -f5 | sort -u)" = 2 ]
    # help and version are not runs
    rs-cat --track runs.db --help > /dev/null
    RS_TRACK=runs.db rs-cat --version > /dev/null
    run -0 rs-runs list --track runs.db --tsv
    [ "$(tail -n +2 <<<"$output" | wc -l)" -eq "$n" ]
}

@test "a run records its options, inputs and outputs with size and XXH3, stdin unhashed" {
    rs-synth -q --users 40 --items 30 --events 3000 -o w
    RS_TRACK=runs.db RS_RUN_GROUP=g1 rs-split --track runs.db -q --by-event 'pos=click' -o s w/events.tsv
    rs-cat w/events.tsv | rs-cat --track runs.db -q -o copy.tsv -
    run -0 rs-runs show --track runs.db 1 --tsv
    grep -qxF "$(printf 'param\tby-event\t\tpos=click')" <<<"$output"
    grep -qxF "$(printf 'param\tseed\t\t42')" <<<"$output"
    grep -qxF "$(printf 'run\tgroup\t\tg1')" <<<"$output"
    grep -qxF "$(printf 'run\tstatus\t\t0')" <<<"$output"
    size=$(stat -c %s w/events.tsv) hash=$(xxhsum -H3 w/events.tsv | sed 's/.* = //')
    grep -qxF "$(printf 'in\tw/events.tsv\t%s\t%s' "$size" "$hash")" <<<"$output"
    hash=$(xxhsum -H3 s/pos.tsv | sed 's/.* = //')
    grep -qF "$(printf 'out\ts/pos.tsv\t%s\t%s' "$(stat -c %s s/pos.tsv)" "$hash")" <<<"$output"
    run -0 rs-runs show --track runs.db 2 --tsv
    grep -qxF "$(printf 'in\t-\t\t-')" <<<"$output"
    hash=$(xxhsum -H3 copy.tsv | sed 's/.* = //')
    grep -qF "$(printf 'out\tcopy.tsv\t%s\t%s' "$(stat -c %s copy.tsv)" "$hash")" <<<"$output"
}

@test "the command line is recorded shell-quoted: it parses back to the same words" {
    quotes=$(printf "'%.0s" $(seq 1000)) # each becomes four characters
    run -1 rs-cat --track runs.db -q "it's a \"file\"" 'tab	here' "$quotes"
    cmdline=$(sqlite3 runs.db 'SELECT cmdline FROM runs')
    eval "set -- $cmdline"
    [ $# -eq 7 ]
    [ "$5" = "it's a \"file\"" ]
    [ "$6" = 'tab	here' ]
    [ "$7" = "$quotes" ]
}

@test "a failed run is recorded with exit status 1 and no output" {
    run -1 rs-split --track runs.db -q --by-event 'pos=click' -o s missing.tsv
    [ ! -e s ]
    run -0 rs-runs list --track runs.db --tsv --status 1
    [ "$(tail -n +2 <<<"$output" | cut -f4)" = rs-split ]
    [ -z "$(tail -n +2 <<<"$output" | cut -f8)" ]
}

@test "make demo: every stage recorded in one group with its inputs' hashes; metrics of each trainer" {
    run -0 rs-runs list --track "$DEMO/runs.db" --tsv
    [ "$(tail -n +2 <<<"$output" | cut -f3 | sort -u | wc -l)" -eq 1 ]
    for tool in rs-synth rs-split rs-prefilter rs-negsample rs-features rs-train-tower rs-embed rs-retrieve \
                rs-als rs-merge rs-label rs-rank rs-cluster rs-diversify rs-metrics rs-cat; do
        tail -n +2 <<<"$output" | cut -f4 | grep -qx "$tool" || { echo "no run of $tool"; return 1; }
    done
    # the tower's inputs, with the hash of the examples as they are now
    tower=$(tail -n +2 <<<"$output" | awk -F'\t' '$4 == "rs-train-tower"')
    hash=$(xxhsum -H3 "$DEMO/examples.tsv.zst" | sed 's/.* = //')
    [[ "$tower" == *"$DEMO/examples.tsv.zst@$hash"* ]]
    # per-epoch training metrics as steps, rs-metrics' table, the ranker's AUC, the ALS loss
    id=$(cut -f1 <<<"$tower")
    run -0 rs-runs show --track "$DEMO/runs.db" "$id" --tsv
    steps=$(awk -F'\t' '$1 == "metric" && $2 == "loss" { print $3 }' <<<"$output" | paste -sd,)
    [ "$steps" = "$(seq -s, 1 "$(tr , '\n' <<<"$steps" | wc -l)")" ]
    [[ "$steps" == 1,2,* ]]
    run -0 rs-runs best --track "$DEMO/runs.db" --tool rs-metrics --metric diversified/recall@10 --tsv
    run -0 rs-runs list --track "$DEMO/runs.db" --tsv --tool rs-rank --metric val_auc_click
    [ "$(tail -n +2 <<<"$output" | wc -l)" -eq 1 ]
    run -0 rs-runs list --track "$DEMO/runs.db" --tsv --tool rs-rank --metric auc_click
    [ "$(tail -n +2 <<<"$output" | wc -l)" -eq 1 ]
    run -0 rs-runs list --track "$DEMO/runs.db" --tsv --tool rs-als --metric loss
    [ "$(tail -n +2 <<<"$output" | wc -l)" -eq 1 ]
}

@test "rs-runs lineage: recommendations.json back through the stages to the generated events" {
    run -0 rs-runs lineage --track "$DEMO/runs.db" --tsv "$DEMO/recommendations.json"
    [ "$(sed -n 2p <<<"$output" | cut -f5)" = rs-cat ]
    grep -q "$(printf '\t%s\t' "$DEMO/final.tsv.zst")" <<<"$output"
    grep -q "$(printf '\t%s\t' "$DEMO/tower.rsm")" <<<"$output"
    events=$(awk -F'\t' -v f="$DEMO/data/events.tsv.zst" '$2 == f' <<<"$output" | head -1)
    [ -n "$events" ]
    [[ "$(cut -f5 <<<"$events")" == rs-synth* ]]
    [ "$(cut -f3 <<<"$events")" = "$(xxhsum -H3 "$DEMO/data/events.tsv.zst" | sed 's/.* = //')" ]
    # a file no run wrote is a source; one whose content changed has no producer
    cp "$DEMO/recommendations.json" mine.json
    echo '{}' > other.json
    run -0 rs-runs lineage --track "$DEMO/runs.db" --tsv other.json
    [ "$(sed -n 2p <<<"$output" | cut -f5)" = "(source)" ]
    [ "$(wc -l <<<"$output")" -eq 2 ]
}

@test "rs-runs compare and best: parameters that differ, metric deltas, max and min" {
    metrics_fixture
    rs-metrics --track runs.db -q --truth truth.tsv --pred good.tsv -k 2 > /dev/null
    rs-metrics --track runs.db -q --truth truth.tsv --pred bad.tsv -k 2 > /dev/null
    run -0 rs-runs compare --track runs.db --tsv 1 2
    grep -qxF "$(printf 'param\tpred\tgood.tsv\tbad.tsv\t')" <<<"$output"
    ! grep -q "$(printf '^param\tk\t')" <<<"$output" || false
    # recall@2 per user, averaged: good 1, bad (0 of 2 + 1 of 1) / 2 = 0.5
    grep -qxF "$(printf 'metric\trecall@2\t1\t0.5\t-0.5')" <<<"$output"
    run -0 rs-runs best --track runs.db --metric recall@2 --tsv
    [ "$(sed -n 2p <<<"$output" | cut -f1,6)" = "$(printf '1\t1')" ]
    run -0 rs-runs best --track runs.db --metric recall@2 --min --tsv
    [ "$(sed -n 2p <<<"$output" | cut -f1)" = 2 ]
    run -0 rs-runs list --track runs.db --tsv --param pred=bad.tsv
    [ "$(tail -n +2 <<<"$output" | cut -f1)" = 2 ]
    run -1 rs-runs best --track runs.db --metric no_such --tsv
}

# run_both ARGS: the same rs-split run untracked (into plain/) and tracked
# with $STORE (into tracked/); both must exit 0 with identical bytes.
run_both() {
    rs-synth -q --users 40 --items 30 --events 2000 -o w
    rs-split -q --by-event 'pos=click' -o plain w/events.tsv
    run -0 --separate-stderr rs-split --track "$STORE" -q --by-event 'pos=click' -o tracked w/events.tsv
    assert_same plain/pos.tsv tracked/pos.tsv
}

@test "a corrupt store: one warning, the tool's output byte-identical, the file untouched" {
    head -c 5000 /dev/urandom > bad.db
    cp bad.db bad.before
    STORE=bad.db run_both
    assert_stderr_has "rs-split: warning: run store 'bad.db': "
    assert_stderr_has "; run not recorded"
    [ "$(grep -c warning <<<"$stderr")" -eq 1 ]
    assert_same bad.db bad.before
}

@test "a foreign SQLite database: refused with a warning, never modified" {
    sqlite3 other.db "CREATE TABLE customers (id INTEGER, name TEXT); INSERT INTO customers VALUES (1, 'a');"
    cp other.db other.before
    STORE=other.db run_both
    assert_stderr_has "not a run store"
    assert_same other.db other.before
    [ ! -e other.db-wal ]
    run -1 rs-runs list --track other.db
}

@test "a store of a newer schema version: refused with a warning" {
    rs-cat --track new.db -q /dev/null > /dev/null
    sqlite3 new.db "PRAGMA user_version = 99"
    STORE=new.db run_both
    assert_stderr_has "schema version 99 is newer"
}

@test "a locked store: the tool waits its busy timeout, warns, and its output is unaffected" {
    rs-cat --track locked.db -q /dev/null > /dev/null
    mkfifo hold
    (sqlite3 locked.db "BEGIN EXCLUSIVE; INSERT INTO params VALUES (1, 'lock', 'x');" ".shell cat hold" "COMMIT;" \
        > /dev/null 2>&1) &
    holder=$!
    for _ in $(seq 50); do [ -e locked.db-wal ] && [ "$(stat -c %s locked.db-wal)" -gt 0 ] && break; sleep 0.1; done
    RS_TRACK_BUSY_MS=300 STORE=locked.db run_both
    echo > hold
    wait "$holder"
    assert_stderr_has "rs-split: warning: run store 'locked.db': "
    assert_stderr_has "locked"
    run -0 rs-runs list --track locked.db --tsv
    [ "$(tail -n +2 <<<"$output" | wc -l)" -eq 1 ]
}

@test "a store in a folder that does not exist: a warning, exit 0" {
    STORE=no/such/dir/runs.db run_both
    assert_stderr_has "run store 'no/such/dir/runs.db'"
}

@test "make -j2 of two pipelines writing one store: no run lost, no warning" {
    solo=$(rs-runs list --track "$DEMO/runs.db" --tsv | tail -n +2 | wc -l)
    cat > two.mk <<EOF
all: a b
a b:
	@env -u RS_RUN_GROUP \$(MAKE) -s -C "$ROOT" -f pipelines/demo.mk BIN="$BIN" OUT="$PWD/\$@" TRACK="$PWD/runs.db" \\
	    USERS=300 ITEMS=150 EVENTS=20000 THREADS=1 demo > \$@.log 2>&1
EOF
    run -0 env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u RS_RUN_GROUP make -j2 -f two.mk
    ! grep -h "warning" a.log b.log || false
    run -0 rs-runs list --track runs.db --tsv
    [ "$(tail -n +2 <<<"$output" | cut -f3 | sort -u | wc -l)" -eq 2 ]
    for g in $(tail -n +2 <<<"$output" | cut -f3 | sort -u); do
        [ "$(tail -n +2 <<<"$output" | awk -F'\t' -v g="$g" '$3 == g' | wc -l)" -eq "$solo" ]
    done
    [ "$(sqlite3 runs.db 'PRAGMA integrity_check')" = ok ]
}

@test "writers that create the store together: each run recorded once, no warning" {
    printf 'user_id\titem_id\nu1\ti1\n' > tiny.tsv
    for trial in $(seq 40); do
        rm -f new.db new.db-wal new.db-shm
        for w in 1 2 3 4 5 6; do rs-cat -q --track new.db tiny.tsv > /dev/null 2> "w$w.err" & done
        wait
        [ "$(sqlite3 new.db 'SELECT count(*) FROM runs')" = 6 ] || { echo "trial $trial"; cat w*.err; return 1; }
        ! grep -h warning w*.err || false
    done
}

@test "rs-runs: usage errors and a missing store" {
    run -2 rs-runs
    run -2 rs-runs frobnicate --track x.db
    run -2 rs-runs list
    run -1 rs-runs list --track missing.db
    [[ "$output" == *"run store 'missing.db'"* ]]
    [ ! -s missing.db ]
    run -2 rs-runs show --track "$DEMO/runs.db"
    run -1 rs-runs show --track "$DEMO/runs.db" 99999
    run -2 rs-runs best --track "$DEMO/runs.db"
    run -2 rs-runs list --track "$DEMO/runs.db" --since yesterday
    run -2 rs-runs list --track "$DEMO/runs.db" --param novalue
}
