#!/usr/bin/env bats
# rs-synth: the files and their columns, determinism, the invariants of the
# event log (time order, cold-start users, new items), the planted model
# recovered from the output files alone (schemas/synth.md), streaming memory,
# and the conventions of every tool.
load helpers

TRUTH="$BATS_TEST_DIRNAME/fixtures/rs-synth/truth.py"

@test "rs-synth --help prints usage, defaults, the click formula and examples" {
    run -0 --separate-stderr rs-synth --help
    [[ "$output" == *"Usage: rs-synth -o DIR"* ]]
    [[ "$output" == *"--events N"*"(default 100000)"* ]]
    [[ "$output" == *"--zipf S"*"(default 1)"* ]]
    [[ "$output" == *"P(click) = sigmoid(s + noise N(0,1)) * pos^-eta"* ]]
    [[ "$output" == *"Examples:"* ]]
    [ -z "$stderr" ]
}

@test "rs-synth --version; usage errors exit 2" {
    run -0 rs-synth --version
    [[ "$output" == *"recsys-pipes"* ]]
    run -2 --separate-stderr rs-synth --bogus -o d
    assert_stderr_has "invalid option '--bogus'"
    assert_stderr_has "Try 'rs-synth --help'"
    run -2 --separate-stderr rs-synth
    assert_stderr_has "no output directory; use -o DIR"
    run -2 --separate-stderr rs-synth -o d --users 0
    assert_stderr_has "--users"
    run -2 --separate-stderr rs-synth -o d --cold-users 0.95
    run -2 --separate-stderr rs-synth -o d --start yesterday
    assert_stderr_has "invalid --start 'yesterday'"
    run -2 --separate-stderr rs-synth -o d extra
    assert_stderr_has "unexpected argument 'extra'"
    [ ! -e d ]
}

@test "writes the documented files with their headers and sizes" {
    run -0 --separate-stderr rs-synth --users 50 --items 40 --events 3000 -o d
    assert_stderr_has "events: 3000 in"
    for f in items.tsv users.tsv events.tsv params.tsv item_truth.tsv user_truth.tsv item_factors.rsb user_factors.rsb; do
        [ -s "d/$f" ]
    done
    [ "$(head -1 d/items.tsv)" = "$(printf 'item_id\tcategory\tsubcategory\tprice\ttitle\tvenue_id\tcreated_at\tin_stock\tcluster')" ]
    [ "$(head -1 d/users.tsv)" = "$(printf 'user_id\tage\tregion\tfavourite_categories\tsignup_at')" ]
    [ "$(head -1 d/events.tsv)" = "$(printf 'user_id\titem_id\tevent\ttimestamp\thour\tdistance\tsession_id\tposition')" ]
    [ "$(wc -l < d/items.tsv)" -eq 41 ]
    [ "$(wc -l < d/users.tsv)" -eq 51 ]
    [ "$(wc -l < d/events.tsv)" -eq 3001 ]
    run -0 rs-cat --schema d/user_factors.rsb
    [[ "$output" == *"rows	50"* ]]
    [[ "$output" == *"dims	16"* ]]
    [[ "$output" == *"kind	user_factors"* ]]
    # Every event's user and item exist in the tables.
    run -0 awk -F'\t' 'FNR == 1 { f++; next } f == 1 { it[$1] } f == 2 { us[$1] }
        f == 3 && (!($1 in us) || !($2 in it)) { bad++ } END { print bad + 0 }' d/items.tsv d/users.tsv d/events.tsv
    [ "$output" = 0 ]
}

@test "same seed: identical bytes; other seed differs; --events keeps the catalogue" {
    rs-synth -q --users 80 --items 60 --events 5000 -o a
    rs-synth -q --users 80 --items 60 --events 5000 -o b
    for f in a/*; do assert_same "$f" "b/${f#a/}"; done
    rs-synth -q --users 80 --items 60 --events 5000 --seed 43 -o c
    assert_differ a/events.tsv c/events.tsv
    assert_differ a/items.tsv c/items.tsv
    rs-synth -q --users 80 --items 60 --events 900 -o e
    assert_same a/items.tsv e/items.tsv
    assert_same a/users.tsv e/users.tsv
    assert_same a/item_factors.rsb e/item_factors.rsb
}

@test "-z compresses the TSV outputs; content equals the plain run" {
    rs-synth -q --users 30 --items 30 --events 2000 -o plain
    rs-synth -q --users 30 --items 30 --events 2000 -z --level 5 -o z
    [ -e z/events.tsv.zst ]
    [ -e z/items.tsv.zst ]
    [ ! -e z/events.tsv ]
    zstd -qdc z/events.tsv.zst | cmp - plain/events.tsv
    zstd -qdc z/users.tsv.zst | cmp - plain/users.tsv
    assert_same z/item_factors.rsb plain/item_factors.rsb
}

@test "events: time-ordered, hour from the timestamp, sane columns" {
    rs-synth -q --users 200 --items 100 --events 20000 --slate 8 -o d
    run -0 awk -F'\t' 'NR > 1 {
        if ($4 + 0 < prev) bad["order"]++; prev = $4 + 0
        if ($5 != int(($4 % 86400) / 3600)) bad["hour"]++
        if ($8 < 1 || $8 > 8) bad["position"]++
        if ($6 !~ /^[0-9]+\.[0-9]$/) bad["distance"]++
        if ($3 !~ /^(impression|click|booking|favourite)$/) bad["event"]++
        n[$3]++
    } END { for (k in bad) print "bad", k, bad[k]; print (n["impression"] > 0), (n["click"] > 0), (n["booking"] > 0), (n["favourite"] > 0) }' d/events.tsv
    [ "$output" = "1 1 1 1" ]
    # Evening hours are busier than the night.
    run -0 awk -F'\t' 'NR > 1 && $3 == "impression" { if ($5 >= 18 && $5 < 22) e++; if ($5 >= 2 && $5 < 6) n++ } END { print (e > 5 * n) }' d/events.tsv
    [ "$output" = 1 ]
}

@test "cold-start users and new items exist and have no event before signup / creation" {
    rs-synth -q --users 400 --items 200 --events 40000 --cold-users 0.2 --new-items 0.2 -o d
    run -0 "$PYTHON" - d <<'EOF'
import sys, calendar, time
d = sys.argv[1]
def when(s): return calendar.timegm(time.strptime(s, "%Y-%m-%d %H:%M:%S"))
start = int([l.split("\t")[1] for l in open(d + "/params.tsv") if l.startswith("start\t")][0])
signup = {r.split("\t")[0]: when(r.rstrip("\n").split("\t")[4]) for r in list(open(d + "/users.tsv"))[1:]}
created = {r.split("\t")[0]: when(r.rstrip("\n").split("\t")[6]) for r in list(open(d + "/items.tsv"))[1:]}
early_u = early_i = 0
active_cold, active_new = set(), set()
for r in list(open(d + "/events.tsv"))[1:]:
    u, i, e, t = r.split("\t")[:4]
    t = int(t)
    early_u += t < signup[u]
    early_i += t < created[i]
    if signup[u] > start: active_cold.add(u)
    if created[i] > start: active_new.add(i)
print(early_u, early_i, len(active_cold) > 20, len(active_new) > 10)
EOF
    [ "$output" = "0 0 True True" ]
}

@test "the planted model is recoverable: true-affinity items get a far higher click rate" {
    rs-synth -q --users 1000 --items 500 --events 60000 -o d
    run -0 "$PYTHON" "$TRUTH" d
    echo "$output"
    read -r n clicks ctr expected top bottom afftop z <<< "$output"
    # Best achievable ranking (true logit) vs random: the top decile of
    # impressions clicks at > 2.5x the overall rate and > 6x the bottom half;
    # the latent affinity alone at > 2x.
    awk -v t="$top" -v c="$ctr" -v b="$bottom" -v a="$afftop" 'BEGIN { exit !(t > 2.5 * c && t > 6 * b && a > 2 * c) }'
}

@test "with --noise 0 the documented click formula predicts the clicks (calibration)" {
    rs-synth -q --users 500 --items 300 --events 50000 --noise 0 -o d
    run -0 "$PYTHON" "$TRUTH" d
    echo "$output"
    read -r n clicks ctr expected top bottom afftop z <<< "$output"
    awk -v z="$z" 'BEGIN { exit !(z > -4 && z < 4) }'
    # Popularity skew: with --zipf 0 the exposure is flatter than with 1.5.
    rs-synth -q --users 200 --items 200 --events 20000 --zipf 0 -o flat
    rs-synth -q --users 200 --items 200 --events 20000 --zipf 1.5 -o skew
    top_share() { awk -F'\t' 'NR > 1 && $3 == "impression" { c[$2]++; n++ } END { m = 0; for (k in c) if (c[k] > m) m = c[k]; print m / n }' "$1"; }
    awk -v f="$(top_share flat/events.tsv)" -v s="$(top_share skew/events.tsv)" 'BEGIN { exit !(s > 4 * f) }'
}

@test "failures exit 1 and leave nothing behind" {
    mkdir w && cd w # bats keeps its own files in the test directory
    echo x > file
    run -1 --separate-stderr rs-synth --events 100 -o file
    assert_stderr_has "cannot write into 'file': Not a directory"
    run -1 --separate-stderr rs-synth --events 100 -o /dev/full
    assert_stderr_has "Not a directory"
    run -1 --separate-stderr rs-synth --events 100 -o no/such/dir
    assert_stderr_has "cannot create 'no/such/dir.tmp."
    run -1 --separate-stderr rs-synth --events 100000 --events-out /dev/full -o d
    assert_stderr_has "/dev/full"
    [ ! -e d ]
    [ "$(ls)" = file ]
    # A failed run into an existing directory leaves it as it was.
    rs-synth -q --events 100 -o d
    cp -r d before
    run -1 rs-synth --events 100000 --seed 9 --events-out /dev/full -o d
    diff -r before d
    [ "$(ls)" = "$(printf 'before\nd\nfile')" ]
}

@test "memory does not grow with the event count (streaming)" {
    /usr/bin/time -f %M -o small.rss rs-synth -q --users 2000 --items 1000 --events 10000 -o s
    /usr/bin/time -f %M -o big.rss rs-synth -q --users 2000 --items 1000 --events 1000000 --events-out /dev/null -o b
    echo "rss KiB: $(cat small.rss) vs $(cat big.rss)"
    [ "$(cat big.rss)" -lt $(( $(cat small.rss) + 16384 )) ]
}

@test "pipe: --events-out - into rs-split and rs-cat" {
    rs-synth -q --users 100 --items 50 --events 5000 --events-out - -o cat | rs-split -q --cutoff 2019-12-01 -o win
    [ -e cat/items.tsv ]
    [ ! -e cat/events.tsv ]
    [ $(( $(wc -l < win/train.tsv) + $(wc -l < win/test.tsv) )) -eq 5002 ]
    rs-synth -q --users 100 --items 50 --events 5000 -o full
    cat win/train.tsv <(tail -n +2 win/test.tsv) | cmp - full/events.tsv
    run -0 rs-cat --head 2 full/items.tsv
    [ "${#lines[@]}" -eq 3 ]
}

@test "--descriptions adds item_text.tsv (one English description per item) and changes no other file" {
    rs-synth -q --users 100 --items 80 --events 3000 -o plain
    rs-synth -q --users 100 --items 80 --events 3000 --descriptions -o text
    for f in plain/*; do assert_same "$f" "text/${f#plain/}"; done
    [ ! -e plain/item_text.tsv ]
    [ "$(head -1 text/item_text.tsv)" = "item_id	description" ]
    [ "$(wc -l < text/item_text.tsv)" -eq 81 ]
    cut -f1 text/item_text.tsv | tail -n +2 | cmp - <(cut -f1 text/items.tsv | tail -n +2)
    # every description names a price, and the sold-out items say so
    [ "$(grep -c -E 'free entry|about [0-9]+ euros' text/item_text.tsv)" -eq 80 ]
    [ "$(grep -c 'Sold out' text/item_text.tsv)" -eq "$(awk -F'\t' 'NR > 1 && $8 == 0' text/items.tsv | wc -l)" ]
    rs-synth -q --users 100 --items 80 --events 3000 --descriptions -o again
    assert_same text/item_text.tsv again/item_text.tsv
    rs-synth -q --users 100 --items 80 --events 3000 --descriptions --seed 7 -o other
    assert_differ text/item_text.tsv other/item_text.tsv
}
