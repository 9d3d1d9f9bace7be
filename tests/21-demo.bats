#!/usr/bin/env bats
# pipelines/demo.mk on a small world: every product is made, the trained
# pipeline beats popularity, and a second run does nothing.
load helpers

demo() {
    make -s -C "$BATS_TEST_DIRNAME/.." -f pipelines/demo.mk BIN="$BIN" OUT="$BATS_TEST_TMPDIR/demo" \
        USERS=800 ITEMS=400 EVENTS=100000 THREADS=2 "$@"
}

# value of metric $1 at k $2 for model column $3 of metrics.tsv
metric() {
    awk -F'\t' -v m="$1" -v k="$2" -v col="$3" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
        $1 == m && $2 == k { print $c }' "$BATS_TEST_TMPDIR/demo/metrics.tsv"
}

@test "make demo: every stage runs, the products exist, the model beats popularity" {
    run -0 --separate-stderr demo demo
    [[ "$output" == *"recsys-pipes demo"* ]]
    [[ "$output" == *"report:"* ]]
    D=$BATS_TEST_TMPDIR/demo
    for f in final.tsv.zst recommendations.json similar.tsv.zst metrics.tsv report/index.html \
             tower.rsm rank.rsm items.idx; do
        [ -s "$D/$f" ] || { echo "missing $f"; return 1; }
    done
    $PYTHON -c "
import json; d = json.load(open('$D/recommendations.json'))
assert len(d) > 100 and all(1 <= len(v) <= 20 for v in d.values()), len(d)"
    retrieval=$(metric recall 10 retrieval) final=$(metric recall 10 diversified) popular=$(metric recall 10 popular)
    echo "recall@10: retrieval $retrieval, final $final, popular $popular"
    # the two-tower retrieval beats popularity by a wide margin, the full pipeline beats it too
    awk -v r="$retrieval" -v f="$final" -v p="$popular" 'BEGIN { exit !(r > 1.25 * p && f > p) }'
    # no recommendation of an item the user already interacted with
    rs-cat "$D/pos.tsv.zst" | tail -n +2 | cut -f1,2 | sort -u > seen
    rs-cat "$D/final.tsv.zst" | tail -n +2 | cut -f1,2 | sort -u > recs
    [ -s recs ]
    [ -z "$(comm -12 seen recs)" ]
    # a second run does nothing
    run -0 make -q -C "$BATS_TEST_DIRNAME/.." -f pipelines/demo.mk BIN="$BIN" OUT="$D" \
        USERS=800 ITEMS=400 EVENTS=100000 THREADS=2 "$D/metrics.tsv" "$D/report/index.html"
}
