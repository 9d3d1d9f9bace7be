#!/usr/bin/env bats
# pipelines/movielens.mk, retail.mk, events.mk and passculture.mk end to end on tiny inputs: a
# fake MovieLens directory in the real formats (never the real data) and small
# rs-synth sizes. Files produced, metrics rows, the protocol, and that a second
# make does nothing.
load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

# fake_movielens DIR: u.data (tab, no header), u.user, u.item (Latin-1, '|',
# 19 genre flags), u.genre (with MovieLens' trailing empty line) for 40 users
# and 60 movies: users like movies of their own group of 3 genres, so there is
# something to learn.
fake_movielens() {
    mkdir -p "$1"
    awk 'BEGIN { srand(7)
        for (u = 1; u <= 40; u++) {
            n = 8 + (u % 7); t = 880000000 + u * 1000
            for (k = 0; k < n; k++) {
                i = 1 + (u % 3) * 20 + int(rand() * 20)
                if (seen[u, i]++) continue
                printf "%d\t%d\t%d\t%d\n", u, i, 1 + int(rand() * 5), t + int(rand() * 500)
            }
        } }' > "$1/u.data"
    awk 'BEGIN { split("student|writer|other|engineer", occ, "|")
        for (u = 1; u <= 40; u++)
            printf "%d|%d|%s|%s|%05d\n", u, 18 + u, (u % 2 ? "M" : "F"), occ[1 + u % 4], 10000 + u }' > "$1/u.user"
    awk 'BEGIN { for (i = 1; i <= 60; i++) {
            g = ""; for (k = 0; k < 19; k++) g = g "|" ((k == 1 + int((i - 1) / 20) || k == 10 + i % 3) ? 1 : 0)
            # a Latin-1 title (octal 351 = e acute) and one with a backslash
            t = (i == 5 ? "Caf\351 5" : i == 6 ? "Back\\slash 6" : "Movie " i)
            printf "%d|%s (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Movie%%20%d%s\n", i, t, i, g
        } }' > "$1/u.item"
    printf '%s\n' 'unknown|0' 'Action|1' 'Adventure|2' 'Animation|3' "Children's|4" 'Comedy|5' \
        'Crime|6' 'Documentary|7' 'Drama|8' 'Fantasy|9' 'Film-Noir|10' 'Horror|11' 'Musical|12' \
        'Mystery|13' 'Romance|14' 'Sci-Fi|15' 'Thriller|16' 'War|17' 'Western|18' '' > "$1/u.genre"
}

ml_make() { env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -C "$ROOT" -f pipelines/movielens.mk BIN="$BIN" DATA_ML100K="$PWD/ml" OUT="$PWD/out" EPOCHS=3 "$@"; }
retail_make() {
    env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -C "$ROOT" -f pipelines/retail.mk BIN="$BIN" OUT="$PWD/out" USERS=300 ITEMS=200 EVENTS=80000 \
        DAYS=120 TOP_N=80 CANDIDATES=20 "$@"
}
# value MODEL METRIC K: one cell of the wide metrics table out/metrics.tsv.
value() {
    awk -F'\t' -v m="$1" -v r="$2" -v k="$3" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $1 == r && $2 == k { print $c[m] }' out/metrics.tsv
}

@test "movielens.mk: converts, trains, retrieves, ranks and compares with the baselines, ALS and EASE" {
    fake_movielens ml
    run -0 ml_make
    for f in data/events.tsv.zst data/users.tsv.zst data/items.tsv.zst split/train.tsv.zst split/test.tsv.zst \
             user_features.tsv.zst item_features.tsv.zst tower.rsm user_emb.rsb item_emb.rsb tower.tsv.zst \
             als.tsv.zst popular.tsv.zst random.tsv.zst ease_tuning.tsv ease.tsv.zst ease_head.rsm \
             merged_label.tsv.zst merged_serve.tsv.zst rank_train.tsv.zst rank.rsm ranked.tsv.zst \
             metrics.tsv recommendations.json; do
        [ -s "out/$f" ] || { echo "missing out/$f"; return 1; }
    done
    [[ "$output" == *"MovieLens 100K"* ]]
    [ "$(head -1 out/metrics.tsv)" = "$(printf 'metric\tk\ttwo-tower\tals\tease\tmerged\tranked\tpopular\trandom')" ]
    # EASE's lambda is the grid's best NDCG@10 on the inner split
    [ "$(wc -l < out/ease_tuning.tsv)" = 8 ]
    best=$(awk -F'\t' 'NR > 1 && $3 > b { b = $3; l = $1 } END { print l }' out/ease_tuning.tsv)
    [[ "$output" == *"EASE: lambda $best, the best NDCG@10"* ]]
    # the ranker learns from the inner tail's labels: every row labelled, some positive
    rs-cat out/rank_train.tsv.zst > rank_train.tsv
    awk -F'\t' 'NR == 1 { bad = ($(NF - 1) != "click" || $NF != "booking"); next }
        { ones += $NF; if ($NF != 0 && $NF != 1) bad = 1 } END { exit bad || !(ones > 0) }' rank_train.tsv
    for m in two-tower als ease merged ranked popular random; do
        r=$(value "$m" recall 20); n=$(value "$m" ndcg 10)
        awk -v r="$r" -v n="$n" 'BEGIN { exit !(r != "" && n != "" && r >= 0 && r <= 1 && n >= 0 && n <= 1) }'
    done
    [ "$(value two-tower users '')" = 40 ]
    # Every rating is an event, in the canonical columns; users and items converted.
    [ "$(rs-cat out/data/events.tsv.zst | wc -l)" = "$(($(wc -l < ml/u.data) + 1))" ]
    [ "$(rs-cat out/data/events.tsv.zst | head -1)" = "$(printf 'user_id\titem_id\tevent\ttimestamp\tweight')" ]
    [ "$(rs-cat out/data/users.tsv.zst | wc -l)" = 41 ]
    rs-cat out/data/items.tsv.zst > items.tsv
    [ "$(grep -c . items.tsv)" = 61 ]
    grep -q "$(printf '^5\tCaf\xc3\xa9 5 (1995)\tAction,Musical\t1995$')" items.tsv
    grep -qxF "$(printf '6\tBack\\\\slash 6 (1995)\tAction,Film-Noir\t1995')" items.tsv
    grep -q "$(printf '^60\tMovie 60 (1995)\tAnimation,Film-Noir\t1995$')" items.tsv
    [ "$("$PYTHON" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' out/recommendations.json)" = 40 ]
    # the run's report (rs-report): trained without validation, the tower keeps its last epoch
    "$PYTHON" "$BATS_TEST_DIRNAME/ref/report_parse.py" out/report.html plots training |
        grep -qx "two-tower: training loss|kept: last epoch"
}

@test "movielens.mk: per user the last 20% by time are test, and nothing seen is recommended" {
    fake_movielens ml
    run -0 ml_make
    rs-cat out/split/train.tsv.zst > train.tsv
    rs-cat out/split/test.tsv.zst > test.tsv
    # test count = max(1, floor(0.2 n)), and every test rating is no older than the user's train ones
    awk -F'\t' 'FNR == 1 { f++; next }
        f == 1 { n[$1]++; if ($4 > last[$1]) last[$1] = $4; next }
        f == 2 { m[$1]++; n[$1]++; if ($4 < last[$1]) { print "test older than train: " $0; bad = 1 } }
        END { for (u in n) { want = int(0.2 * n[u]); if (want < 1) want = 1
                             if (m[u] != want) { print "user " u ": " m[u] " test, want " want; bad = 1 } }
              exit bad }' train.tsv test.tsv
    for p in tower als ease ranked popular random; do
        rs-cat "out/$p.tsv.zst" > "$p.tsv"
        awk -F'\t' 'FNR == NR { seen[$1, $2] = 1; next }
            FNR > 1 { n[$1]++; if (($1, $2) in seen) { print "seen item recommended: " $0; bad = 1 } }
            END { for (u in n) if (n[u] > 20) bad = 1; exit bad || length(n) == 0 }' train.tsv "$p.tsv"
    done
}

@test "movielens.mk: a second run does nothing; a changed input redoes only what depends on it" {
    fake_movielens ml
    run -0 ml_make
    run -0 ml_make -q "$PWD/out/metrics.tsv" "$PWD/out/recommendations.json"
    run -0 ml_make
    [[ "$output" != *"$BIN/rs-"* ]]
    [[ "$output" == *"two-tower"* ]]
    touch ml/u.item
    run -0 ml_make
    [[ "$output" == *"rs-train-tower"* ]]
    [[ "$output" == *"rs-metrics"* ]]
    [[ "$output" != *"rs-split"* ]]
    [[ "$output" != *"rs-als"* ]]
}

@test "movielens.mk: a bad rating fails the run and leaves no split behind" {
    fake_movielens ml
    printf '3\t7\t4\tyesterday\n' >> ml/u.data
    run -2 ml_make
    [[ "$output" == *"timestamp"* ]]
    [ ! -e out/split/train.tsv.zst ]
    [ ! -e out/metrics.tsv ]
}

@test "retail.mk: prefilter, ALS, popular and history merged, ranker and Precision@5 against each source" {
    run -0 retail_make
    for f in data/events.tsv.zst win/old.tsv.zst win/train.tsv.zst win/test.tsv.zst old/purchases.tsv.zst \
             train/purchases.tsv.zst test/purchases.tsv.zst old_top.tsv.zst prefilter_report.tsv \
             als_train.tsv.zst als_test.tsv.zst popular_test.tsv.zst history_test.tsv.zst \
             merged_train.tsv.zst merged_test.tsv.zst user_features.tsv.zst item_features.tsv.zst \
             rank_train.tsv.zst rank.rsm ranked.tsv.zst final.tsv.zst metrics.tsv recommendations.json; do
        [ -s "out/$f" ] || { echo "missing out/$f"; return 1; }
    done
    [[ "$output" == *"retail two-stage"* ]]
    [ "$(head -1 out/metrics.tsv)" = "$(printf 'metric\tk\tals\tpopular\thistory\tmerged\tranked\tfinal')" ]
    for m in als popular history merged ranked final; do
        p=$(value "$m" precision 5)
        awk -v p="$p" 'BEGIN { exit !(p != "" && p >= 0 && p <= 1) }'
    done
    # Purchases are bookings only; the prefilter keeps every row, with the placeholder.
    [ "$(rs-cat out/old/purchases.tsv.zst | awk -F'\t' 'NR > 1 && $3 != "booking"' | wc -l)" = 0 ]
    [ "$(rs-cat out/old_top.tsv.zst | wc -l)" = "$(rs-cat out/old/purchases.tsv.zst | wc -l)" ]
    rs-cat out/old_top.tsv.zst | grep -q "$(printf '\t999999\t')"
    [ "$(rs-cat out/old_top.tsv.zst | awk -F'\t' 'NR > 1 && $2 != 999999 { i[$2] } END { print length(i) }')" -le 80 ]
    # Candidates: no placeholder, at most 20 per user, ranks 1..n; labels 0/1 with some 1s.
    for c in als_train als_test; do
        rs-cat "out/$c.tsv.zst" > "$c.tsv"
        awk -F'\t' 'NR == 1 { if ($1 != "user_id" || $2 != "item_id" || $3 != "rank") exit 1; next }
            $2 == 999999 { print "placeholder: " $0; exit 1 }
            { if ($1 != u) { u = $1; n = 0 } if ($3 != ++n || n > 20) { print "rank: " $0; exit 1 } }
            END { if (NR < 2) { print "no candidates"; exit 1 } }' "$c.tsv"
    done
    rs-cat out/rank_train.tsv.zst > rank_train.tsv
    awk -F'\t' 'NR == 1 { bad = ($NF != "booking" || $(NF - 1) != "click"); next } $NF != 0 && $NF != 1 { bad = 1 }
        { ones += $NF } END { exit bad || !(ones > 0) }' rank_train.tsv
    # every buyer of the 6 weeks has candidates, so every merged row is labelled
    [ "$(wc -l < rank_train.tsv)" = "$(rs-cat out/merged_train.tsv.zst | wc -l)" ]
    # The ranker reorders the same merged test candidates; the final list keeps 5 of them per user.
    diff <(rs-cat out/merged_test.tsv.zst | cut -f1,2 | sort) <(rs-cat out/ranked.tsv.zst | cut -f1,2 | sort)
    rs-cat out/final.tsv.zst > final.tsv
    awk -F'\t' 'NR > 1 { n[$1]++ } END { for (u in n) if (n[u] > 5) exit 1; exit length(n) == 0 }' final.tsv
}

@test "retail.mk: a second run does nothing, and the same seed gives the same metrics" {
    run -0 retail_make
    cp out/metrics.tsv first.tsv
    run -0 retail_make -q "$PWD/out/metrics.tsv" "$PWD/out/recommendations.json"
    run -0 retail_make
    [[ "$output" != *"$BIN/rs-"* ]]
    rm -r out
    run -0 retail_make "$PWD/out/metrics.tsv"
    assert_same first.tsv out/metrics.tsv
}

# events_make: pipelines/events.mk on a small rs-synth log (canonical columns,
# impressions among the events) with its items table.
events_make() {
    env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -C "$ROOT" -f pipelines/events.mk BIN="$BIN" OUT="$PWD/out" \
        EVENTS="$PWD/data/events.tsv.zst" ITEMS="$PWD/data/items.tsv.zst" WINDOWS='train=old|label=2w|test=1w' \
        CANDIDATES=20 "$@"
}
# first_last FILE: the first and last timestamp of an events stream.
first_last() {
    rs-cat "$1" | awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "timestamp") c = i; next }
        NR == 2 || $c < lo { lo = $c } $c > hi { hi = $c } END { print lo, hi }'
}

@test "events.mk: windows, four sources merged, labelled by the label window, ranked, measured on the test window" {
    rs-synth -q --users 300 --items 200 --events 40000 --days 60 -z -o data
    run -0 events_make SOURCES='als ease pop hist'
    for f in win/train.tsv.zst win/label.tsv.zst win/test.tsv.zst train/pos.tsv.zst label/pos.tsv.zst \
             test/pos.tsv.zst label_users.tsv test_users.tsv train_fit.tsv.zst prefilter_report.tsv ease.rsm \
             stage1/als_test.tsv.zst stage1/ease_label.tsv.zst stage1/pop_test.tsv.zst stage1/hist_label.tsv.zst \
             merged_label.tsv.zst merged_test.tsv.zst user_features.tsv.zst item_features.tsv.zst \
             rank_train.tsv.zst rank.rsm ranked.tsv.zst metrics.tsv; do
        [ -s "out/$f" ] || { echo "missing out/$f"; return 1; }
    done
    [[ "$output" == *"two stages on $PWD/data/events.tsv.zst"* ]]
    [[ "$output" == *"label window: "*" users"* ]]
    [ "$(head -1 out/metrics.tsv)" = "$(printf 'metric\tk\tals\tease\tpop\thist\tmerged\tranked')" ]
    # windows in order: train < label < test
    read -r _ train_hi <<< "$(first_last out/win/train.tsv.zst)"
    read -r label_lo label_hi <<< "$(first_last out/win/label.tsv.zst)"
    read -r test_lo _ <<< "$(first_last out/win/test.tsv.zst)"
    [ "$train_hi" -lt "$label_lo" ]
    [ "$label_hi" -lt "$test_lo" ]
    # positives are clicks and bookings only
    [ "$(rs-cat out/test/pos.tsv.zst | awk -F'\t' 'NR > 1 && $3 != "click" && $3 != "booking"' | wc -l)" = 0 ]
    # every source's candidates: the window's users, at most 20 each
    rs-cat out/test/pos.tsv.zst | awk -F'\t' 'NR > 1 { print $1 }' | sort -u > test_users
    for s in als ease pop hist; do
        rs-cat "out/stage1/${s}_test.tsv.zst" > "$s.tsv"
        awk -F'\t' 'NR > 1 { n[$1]++ } END { for (u in n) if (n[u] > 20) exit 1; exit length(n) == 0 }' "$s.tsv"
        awk -F'\t' 'NR > 1 { print $1 }' "$s.tsv" | sort -u | comm -13 test_users - > extra
        [ ! -s extra ] || { echo "$s: candidates for users outside the test window"; return 1; }
    done
    # labelled rows: every label user's merged candidates, 0/1 labels with some 1s
    rs-cat out/rank_train.tsv.zst > rank_train.tsv
    [ "$(head -1 rank_train.tsv | awk -F'\t' '{ print $(NF - 1), $NF }')" = "click booking" ]
    awk -F'\t' 'NR > 1 { ones += $(NF - 1); if ($(NF - 1) !~ /^[01]$/ || $NF !~ /^[01]$/) bad = 1 } END { exit bad || !(ones > 0) }' \
        rank_train.tsv
    [ "$(wc -l < rank_train.tsv)" = "$(rs-cat out/merged_label.tsv.zst | wc -l)" ]
    # the ranker reorders the merged test candidates
    diff <(rs-cat out/merged_test.tsv.zst | cut -f1,2 | sort) <(rs-cat out/ranked.tsv.zst | cut -f1,2 | sort)
}

@test "events.mk: a second run does nothing; a missing EVENTS or an unknown source stops with a message" {
    rs-synth -q --users 200 --items 100 --events 20000 --days 60 -z -o data
    run -0 events_make
    [ "$(head -1 out/metrics.tsv)" = "$(printf 'metric\tk\tals\tpop\thist\tmerged\tranked')" ]
    run -0 events_make
    [[ "$output" != *"$BIN/rs-"* ]]
    run -2 env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -C "$ROOT" -f pipelines/events.mk BIN="$BIN" OUT="$PWD/o2"
    [[ "$output" == *"EVENTS is not set"* ]]
    run -2 events_make SOURCES='als tower'
    [[ "$output" == *"unknown tower"* ]]
    [ ! -e o2 ]
}

@test "passculture.mk: the seed's protocol end to end, both rankers, clusters in post-ranking" {
    run -0 env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -C "$ROOT" -f pipelines/passculture.mk BIN="$BIN" \
        OUT="$PWD/out" USERS=400 ITEMS=200 EVENTS=60000 EPOCHS=2 CLUSTERS=8
    [[ "$output" == *"Pass Culture protocol"* ]]
    [ "$(head -1 out/metrics.tsv)" = "$(printf 'metric\tk\tretrieval\tranked_impressions\tfinal_impressions\tranked_candidates\tfinal_candidates\tpopular')" ]
    [ -s out/metrics_booking.tsv ]
    # retrieval learns from six months of bookings and three of clicks, nothing else
    rs-cat out/train_pos.tsv.zst > pos.tsv
    awk -F'\t' 'NR > 1 { n[$3]++ } END { exit !(n["booking"] > 0 && n["click"] > 0 && length(n) == 2) }' pos.tsv
    rs-cat out/win/c.tsv.zst > c.tsv
    first_c=$(awk -F'\t' 'NR == 2 { print $4 }' c.tsv)
    awk -F'\t' -v t="$first_c" 'NR > 1 && $3 == "click" && $4 < t { exit 1 }' pos.tsv
    # the seed's ranker reads impressions; the other, labelled candidates with impressions mixed in
    [ "$(rs-cat out/rank_train.tsv.zst | head -1 | awk -F'\t' '{ print $(NF - 2), $(NF - 1), $NF }')" = "click booking impressed" ]
    # post-ranking: at most 5 per cluster
    rs-cat out/final_cands.tsv.zst > final.tsv
    awk -F'\t' 'FNR == NR { if (FNR > 1) c[$1] = $2; next } FNR > 1 { if (++n[$1, c[$2]] > 5) exit 1 }' \
        out/clusters.tsv final.tsv
}
