#!/usr/bin/env bats
# pipelines/yourdata.mk end to end on a small generated CSV in unusual column
# names, with ratings and millisecond times: the columns found by name, kept
# through every stage, the metrics against the popular and random baselines,
# recommendations.json and the report; a headerless file named by COLUMNS.
load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

yd_make() { env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -C "$ROOT" -f pipelines/yourdata.mk BIN="$BIN" OUT="$PWD/out" "$@"; }

# odd.csv: rs-synth's clicks and bookings as visitorId,sku,stars,when (ms).
odd_csv() {
    rs-synth -q -o syn --users 60 --items 40 --events 12000
    awk -F'\t' 'NR == 1 { print "visitorId,sku,stars,when"; next }
        $3 != "impression" { printf "%s,%s,%d,%d%03d\n", $1, $2, 1 + NR % 5, $4, NR % 1000 }' syn/events.tsv > odd.csv
}

@test "yourdata.mk: visitorId,sku,stars,when (ms) to metrics against popular and random, recommendations.json, a report" {
    odd_csv
    run -0 yd_make EVENTS="$PWD/odd.csv" EPOCHS=2
    [[ $output == *"user visitorId, item sku, time when rating stars"* ]]
    [ "$(head -1 out/metrics.tsv)" = "$(printf 'metric\tk\ttwo-tower\tals\tmerged\tranked\tfinal\tpopular\trandom')" ]
    [ "$(rs-cat out/full/test.tsv.zst | head -1)" = "$(printf 'visitorId\tsku\tstars\twhen')" ]
    [ "$(rs-cat out/final.tsv.zst | head -1 | cut -f1-2)" = "$(printf 'visitorId\tsku')" ]
    grep -q '"sku"' out/recommendations.json
    [ -s out/report/index.html ]
    # milliseconds were read as such: recency in days within the data's span
    [ "$(rs-cat out/full/user_features.tsv.zst | awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "days_since_last") c = i; next }
        $c != "" && $c > 366 { bad++ } END { print bad + 0 }')" = 0 ]
    # the test users get K rows each from the final list
    [ "$(rs-cat out/final.tsv.zst | awk -F'\t' 'NR > 1 { n[$1]++ } END { for (u in n) if (n[u] > 20) bad++; print bad + 0 }')" = 0 ]
    # a second run does nothing but the summary
    run -0 yd_make EVENTS="$PWD/odd.csv" EPOCHS=2
    [[ $output != *"$BIN/rs-"* ]]
}

@test "yourdata.mk: MIN_RATING keeps the ratings above it; COLUMNS names a headerless file; missing columns are named" {
    odd_csv
    run -0 yd_make EVENTS="$PWD/odd.csv" EPOCHS=1 MIN_RATING=4 "$PWD/out/data/events.tsv.zst"
    [ "$(rs-cat out/data/events.tsv.zst | awk -F'\t' 'NR > 1 && $3 < 4' | wc -l)" = 0 ]
    [ "$(rs-cat out/data/events.tsv.zst | awk -F'\t' 'NR > 1 && $3 >= 4' | wc -l)" -gt 0 ]
    tail -n +2 odd.csv | tr ',' '\t' > u.data
    run -0 yd_make EVENTS="$PWD/u.data" COLUMNS=user_id,item_id,rating,timestamp OUT="$PWD/out2" "$PWD/out2/full/train.tsv.zst"
    [ "$(rs-cat out2/full/train.tsv.zst | head -1)" = "$(printf 'user_id\titem_id\trating\ttimestamp')" ]
    printf 'a,b,c\n1,2,3\n' > plain.csv
    run -2 --separate-stderr yd_make EVENTS="$PWD/plain.csv"
    assert_stderr_has "no user column in 'a	b	c': set USER_COL=NAME"
    run -2 --separate-stderr yd_make EVENTS="$PWD/plain.csv" USER_COL=a ITEM_COL=b
    assert_stderr_has "no time column in 'a	b	c': set TIME_COL=NAME"
}
