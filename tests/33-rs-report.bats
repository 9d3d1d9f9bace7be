#!/usr/bin/env bats
# rs-report: the HTML report of a run group, from the run store. The page is
# parsed (tests/ref/report_parse.py), not grepped: its sections, the metrics
# table's values and directions, the "best" only where higher is better.
load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

# One tiny tracked demo, whose report the tests read.
setup_file() {
    export DEMO=$BATS_FILE_TMPDIR/demo
    env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u RS_RUN_GROUP make -s -C "$ROOT" -f pipelines/demo.mk BIN="$BIN" \
        OUT="$DEMO" USERS=300 ITEMS=150 EVENTS=20000 THREADS=1 EPOCHS=3 demo > "$BATS_FILE_TMPDIR/demo.log" 2>&1
}

# page HTML QUERY: tests/ref/report_parse.py's answer about the page.
page() {
    "$PYTHON" "$BATS_TEST_DIRNAME/ref/report_parse.py" "$@"
}

# Hand-written truth and predictions: good finds 3 of 3, bad 1.
metrics_fixture() {
    printf 'user_id\titem_id\nu1\ti1\nu1\ti2\nu2\ti3\n' > truth.tsv
    printf 'user_id\titem_id\trank\nu1\ti1\t1\nu1\ti2\t2\nu2\ti3\t1\n' > good.tsv
    printf 'user_id\titem_id\trank\nu1\ti9\t1\nu1\ti8\t2\nu2\ti3\t1\n' > bad.tsv
}

@test "rs-report: --help, --version, usage and store errors" {
    run -0 rs-report --help
    [[ "$output" == *"--group-of FILE"* ]]
    run -0 rs-report --version
    run -2 --separate-stderr rs-report --bogus
    run -2 --separate-stderr rs-report --track "$DEMO/runs.db"
    assert_stderr_has "give one of --group and --group-of"
    run -2 --separate-stderr env -u RS_TRACK rs-report --group g
    assert_stderr_has "--track (or RS_TRACK) is required"
    run -1 --separate-stderr rs-report --track "$DEMO/runs.db" --group no-such-group -o r.html
    assert_stderr_has "run group 'no-such-group': no run in the store"
    [ ! -e r.html ]
    head -c 4096 /dev/urandom > junk.db
    run -1 --separate-stderr rs-report --track junk.db --group g -o r.html
    [ ! -e r.html ]
    run -1 --separate-stderr rs-report --track "$DEMO/runs.db" --group-of "$DEMO/metrics.tsv" -o /dev/full
}

@test "rs-report: the demo's report has every section, the metrics of metrics.tsv and their directions" {
    [ -s "$DEMO/report/index.html" ]
    r=$DEMO/report/index.html
    [ "$(page "$r" sections)" = "metrics training embeddings runs" ]
    # no script and nothing fetched: one self-contained file
    [ "$(page "$r" external)" = 0 ]
    # the table of metrics.tsv holds its values (printed with 4 digits)
    for m in retrieval diversified popular random; do
        for c in recall@10 ndcg@20 novelty@10 ild_category@10; do
            want=$(awk -F'\t' -v m="$m" -v c="$c" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
                $1 "@" $2 == c { print $col[m] }' "$DEMO/metrics.tsv")
            got=$(page "$r" cell metrics.tsv "$m" "$c")
            # four significant digits: within 5e-4 of the value, relatively
            awk -v a="$want" -v b="$got" 'BEGIN { d = a - b; t = 5e-4 * (a < 0 ? -a : a) + 1e-9; exit !(d <= t && -d <= t) }' ||
                { echo "$m $c: report $got, metrics.tsv $want"; return 1; }
        done
    done
    [ "$(page "$r" direction metrics.tsv recall@10)" = "higher is better" ]
    [ "$(page "$r" direction metrics.tsv precision@5)" = "higher is better" ]
    for c in novelty@10 catalog_coverage@20 ild_category@10 gini@10 users; do
        [ "$(page "$r" direction metrics.tsv "$c")" = descriptive ]
        # no "best" on a metric that only describes the lists
        [ "$(page "$r" best metrics.tsv "$c")" = "" ]
    done
    # the best on recall@10 is the highest value of its column
    best=$(page "$r" best metrics.tsv recall@10)
    top=$(awk -F'\t' 'NR == 1 { next } $1 == "recall" && $2 == 10 { m = $3; for (i = 4; i <= NF; i++) if ($i > m) m = $i; print m }' \
        "$DEMO/metrics.tsv")
    awk -v a="$best" -v b="$top" 'BEGIN { d = a - b; t = 5e-4 * b; exit !(b > 0 && d <= t && -d <= t) }'
}

@test "rs-report: training curves mark the kept epoch; the map is coloured by category; the runs' real parameters" {
    r=$DEMO/report/index.html
    page "$r" plots training | grep -qx "two-tower: training loss|kept epoch"
    page "$r" plots training | grep -qx "ranker: validation AUC|kept (click)|kept (booking)"
    page "$r" plots training | grep -q "^ALS: loss|kept: last iteration"
    page "$r" plots embeddings | grep -q "coloured by category"
    # rs-diversify's parameters as it ran (the old report said "at most 2 items per cluster")
    page "$r" params rs-diversify | grep -qx "max-per-group=5"
    page "$r" params rs-diversify | grep -qx "by=category"
}

@test "rs-report: an items table without the category column gives one colour, not an error" {
    run -0 --separate-stderr rs-report --track "$DEMO/runs.db" --group-of "$DEMO/metrics.tsv" \
        --category-col no_such_column -o r.html
    page r.html plots embeddings | grep -q "(no category column)"
    [ "$(page r.html sections)" = "metrics training embeddings runs" ]
}

@test "rs-report: tuning plots of an rs-tune study; two groups compared with deltas" {
    cp "$FIXTURES/tune/space.json" "$FIXTURES/tune/objective.sh" .
    RS_RUN_GROUP=study rs-tune -q --space space.json --metric recall@20 --track runs.db -n 5 --sampler random \
        -- ./objective.sh {x} {y} > /dev/null
    rs-report --track runs.db --group study -o tune.html
    [ "$(page tune.html sections)" = "tuning runs" ]
    [ "$(page tune.html plots tuning | cut -d'|' -f1 | tr '\n' ' ')" = "objective by trial x y " ]
    [ "$(page tune.html points tuning 'objective by trial')" = 5 ]

    metrics_fixture
    RS_RUN_GROUP=week1 rs-metrics -q --track runs.db --truth truth.tsv --pred m=bad.tsv -k 2 -o m.tsv
    RS_RUN_GROUP=week2 rs-metrics -q --track runs.db --truth truth.tsv --pred m=good.tsv -k 2 -o m.tsv
    rs-report --track runs.db --group week1 --compare week2 -o cmp.html
    # recall@2: bad finds none of u1's 2 and u2's 1 (0.5), good all (1)
    [ "$(page cmp.html compare recall@2)" = "higher is better|0.5|1|+0.5|up" ]
    [ "$(page cmp.html compare users)" = "descriptive|2|2|+0|" ]
}

@test "rs-report: rs-metrics --by gives a table per segment" {
    metrics_fixture
    printf 'user_id\titem_id\tplan\nu1\ti1\tfree\nu1\ti2\tfree\nu2\ti3\tpaid\n' > truth.tsv
    RS_RUN_GROUP=seg rs-metrics -q --track runs.db --truth truth.tsv --pred good=good.tsv --pred bad=bad.tsv \
        --by plan -k 2 -o by.tsv
    rs-report --track runs.db --group seg -o seg.html
    [ "$(page seg.html segments by.tsv)" = "all free paid" ]
    # recall@2 of bad: 0 for u1 (plan free), 1 for u2 (paid); good finds everything
    [ "$(page seg.html segcell by.tsv free bad recall@2)" = 0 ]
    [ "$(page seg.html segcell by.tsv paid bad recall@2)" = 1 ]
    [ "$(page seg.html segcell by.tsv free good recall@2)" = 1 ]
    "$PYTHON" "$BATS_TEST_DIRNAME/ref/report_parse.py" seg.html sections | grep -qx "metrics runs"
}
