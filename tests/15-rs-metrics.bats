#!/usr/bin/env bats
# rs-metrics: every metric against hand-computed fixtures (tests/fixtures/metrics,
# derivations in its README.md), and the conventions of every tool.
load helpers

M="$FIXTURES/metrics"

# same_metrics EXPECTED ACTUAL: the (metric, k, value) rows of ACTUAL (model
# column dropped) equal EXPECTED's, values within 1e-9, empty = empty.
same_metrics() {
    cut -f2- "$2" > actual.tsv
    awk -F'\t' 'NR == FNR { want[$1 "@" $2] = $3; n++; next }
        FNR > 1 { key = $1 "@" $2; seen++
                  if (!(key in want)) { print "unexpected " key; bad = 1; next }
                  w = want[key]; g = $3
                  if ((w == "") != (g == "") || (w != "" && (w - g > 1e-9 || g - w > 1e-9))) {
                      print key ": got " g ", want " w; bad = 1 } }
        END { if (seen != n - 1) { print "got " seen " rows, want " n - 1; bad = 1 }; exit bad }' \
        "$1" actual.tsv
}

# value FILE MODEL METRIC K: the value column of one row of a long summary.
value() {
    awk -F'\t' -v m="$2" -v x="$3" -v k="$4" '$1 == m && $2 == x && $3 == k { print $4 }' "$1"
}

@test "rs-metrics --help prints usage with options and examples to stdout" {
    run -0 --separate-stderr rs-metrics --help
    [[ "$output" == *"Usage: rs-metrics"* ]]
    [[ "$output" == *"--per-user FILE"* ]]
    [[ "$output" == *"default 5,10,20"* ]]
    [[ "$output" == *"Examples:"* ]]
    [ -z "$stderr" ]
}

@test "rs-metrics --version names the build features" {
    run -0 rs-metrics --version
    [[ "$output" == *"recsys-pipes"* ]]
}

@test "usage errors exit 2: unknown flag, missing --truth, bad -k, duplicate model names" {
    run -2 --separate-stderr rs-metrics --bogus
    assert_stderr_has "Try 'rs-metrics --help'"
    run -2 --separate-stderr rs-metrics --pred "$M/pred.tsv"
    assert_stderr_has "--truth and at least one --pred are required"
    run -2 --separate-stderr rs-metrics --truth "$M/truth.tsv" --pred "$M/pred.tsv" -k 10,5
    assert_stderr_has "invalid -k '10,5'"
    run -2 --separate-stderr rs-metrics --truth "$M/truth.tsv" --pred "$M/pred.tsv" --pred "$M/pred.tsv"
    assert_stderr_has "two predictions named 'pred'"
    run -2 --separate-stderr rs-metrics --truth "$M/truth.tsv" --pred "$M/pred.tsv" --gain exp
    assert_stderr_has "need --relevance-col"
}

@test "missing file exits 1 naming the file" {
    run -1 --separate-stderr rs-metrics --truth nope.tsv --pred "$M/pred.tsv"
    assert_stderr_has "rs-metrics: cannot open 'nope.tsv': No such file or directory"
    run -1 --separate-stderr rs-metrics --truth "$M/truth.tsv" --pred nope.tsv
    assert_stderr_has "cannot open 'nope.tsv'"
}

@test "every metric equals the hand-computed fixture (ties, duplicates, short lists, absent users)" {
    rs-cat --to rsb -o emb.rsb "$M/emb.tsv"
    rs-metrics -q --truth "$M/truth.tsv" --pred "$M/pred.tsv" -k 1,2,4 --relevance-col rating \
        --train "$M/train.tsv" --item-features "$M/items.tsv" --items emb.rsb > out.tsv
    [ "$(head -1 out.tsv)" = "$(printf 'model\tmetric\tk\tvalue')" ]
    same_metrics "$M/expected-full.tsv" out.tsv
}

@test "--users common averages over users with predictions (Microsoft recommenders)" {
    rs-metrics -q --truth "$M/truth.tsv" --pred "$M/pred.tsv" -k 1,2,4 --users common > out.tsv
    same_metrics "$M/expected-common.tsv" out.tsv
}

@test "a fixture check can fail: one wrong prediction changes the figures" {
    sed 's/^u4\tf/u4\tg/' "$M/pred.tsv" > wrong.tsv
    rs-metrics -q --truth "$M/truth.tsv" --pred wrong.tsv -k 1,2,4 --users common > out.tsv
    run -1 same_metrics "$M/expected-common.tsv" out.tsv
    [[ "$output" == *"precision@1: got 0.333333333, want 0.666666667"* ]]
}

@test "rank is used when present: ascending, ties by item id, gaps ignored" {
    printf 'user_id\titem_id\nu1\tb\n' > t.tsv
    printf 'user_id\titem_id\trank\tscore\nu1\tc\t7\t0\nu1\tb\t3\t0\nu1\ta\t3\t9\n' > p.tsv
    rs-metrics -q --truth t.tsv --pred p.tsv -k 1,2 > out.tsv
    [ "$(value out.tsv p mrr 2)" = 0.5 ]
    [ "$(value out.tsv p precision 1)" = 0 ]
    cut -f1,2,4 p.tsv > s.tsv
    rs-metrics -q --truth t.tsv --pred s.tsv -k 1 > out.tsv
    [ "$(value out.tsv s mrr 1)" = 0 ]
    rs-metrics -q --truth t.tsv --pred s.tsv -k 1 --score-col score > /dev/null
}

@test "graded gains: --gain exp and --min-relevance" {
    rs-metrics -q --truth "$M/truth.tsv" --pred "$M/pred.tsv" -k 1,4 --relevance-col rating --gain exp > out.tsv
    # u1: (2^3-1)/(2^5-1), u4: 1, u2 and u3: 0
    awk -v v="$(value out.tsv pred ndcg_graded 1)" 'BEGIN { d = v - (7/31 + 1)/4; exit (d > 1e-9 || d < -1e-9) }'
    rs-metrics -q --truth "$M/truth.tsv" --pred "$M/pred.tsv" -k 1,4 --relevance-col rating --min-relevance 2 > out.tsv
    [ "$(value out.tsv pred recall 4)" = 0.75 ]
    [ "$(value out.tsv pred recall 1)" = 0.375 ]
}

@test "--by breaks the figures down by a users-table column or a truth column" {
    rs-metrics -q --truth "$M/truth.tsv" --pred "$M/pred.tsv" -k 1,2,4 --by cohort --user-features "$M/users.tsv" > out.tsv
    [ "$(head -1 out.tsv)" = "$(printf 'model\tcohort\tmetric\tk\tvalue')" ]
    seg() { awk -F'\t' -v s="$1" -v x="$2" -v k="$3" '$2 == s && $3 == x && $4 == k { print $5 }' out.tsv; }
    [ "$(seg all precision 2)" = 0.375 ]
    [ "$(seg warm ndcg 4)" = 0.733733992 ]
    [ "$(seg cold precision 2)" = 0.25 ]
    [ "$(seg cold user_coverage '')" = 0.5 ]
    [ "$(seg warm users '')" = 2 ]
    awk -F'\t' 'NR == FNR { c[$1] = $2; next } FNR == 1 { print $0 "\tcohort"; next } { print $0 "\t" c[$1] }' \
        "$M/users.tsv" "$M/truth.tsv" > truth2.tsv
    rs-metrics -q --truth truth2.tsv --pred "$M/pred.tsv" -k 1,2,4 --by cohort > out2.tsv
    assert_same out.tsv out2.tsv
    run -1 --separate-stderr rs-metrics --truth "$M/truth.tsv" --pred "$M/pred.tsv" --by cohort
    assert_stderr_has "no column 'cohort'"
}

@test "several predictions: --wide puts one column per model" {
    awk -F'\t' 'NR == 1 || $1 != "u2"' "$M/pred.tsv" > nou2.tsv
    rs-metrics -q --truth "$M/truth.tsv" --pred model="$M/pred.tsv" --pred nou2.tsv -k 1,2,4 --wide > w.tsv
    [ "$(head -1 w.tsv)" = "$(printf 'metric\tk\tmodel\tnou2')" ]
    grep -q "^precision	4	0.3125	0.25$" w.tsv
    grep -q "^user_coverage		0.75	0.5$" w.tsv
    rs-metrics -q --truth "$M/truth.tsv" --pred model="$M/pred.tsv" --pred nou2.tsv -k 1,2,4 > long.tsv
    [ "$(grep -c . long.tsv)" = $((2 * ($(grep -c . w.tsv) - 1) + 1)) ]
}

@test "--json holds the same figures, undefined ones as null" {
    rs-cat --to rsb -o emb.rsb "$M/emb.tsv"
    rs-metrics -q --json --truth "$M/truth.tsv" --pred "$M/pred.tsv" -k 1,2,4 --items emb.rsb > out.json
    $PYTHON - <<'EOF'
import json
d = json.load(open("out.json"))
assert d["k"] == [1, 2, 4], d["k"]
r = d["results"][0]
assert r["model"] == "pred"
m = r["metrics"]
assert m["users"] == 4 and m["excluded_users"] == 1
assert abs(m["ndcg@4"] - 0.520153794) < 1e-9
assert m["ild_embedding@1"] is None and m["ild_embedding@4"] == 1
EOF
}

@test "--per-user writes one row per evaluated user, absent users with zeros" {
    rs-metrics -q --truth "$M/truth.tsv" --pred "$M/pred.tsv" -k 1,4 --train "$M/train.tsv" --per-user pu.tsv > /dev/null
    [ "$(head -1 pu.tsv | cut -f1-7)" = "$(printf 'user_id\tmodel\tn_truth\tn_pred\tprecision@1\tprecision@4\trecall@1')" ]
    [ "$(grep -c . pu.tsv)" = 5 ]
    [ "$(grep '^u1' pu.tsv | cut -f1-6)" = "$(printf 'u1\tpred\t3\t4\t1\t0.75')" ]
    [ "$(grep '^u3' pu.tsv | cut -f3-6)" = "$(printf '1\t0\t0\t0')" ]
    [ "$(grep '^u3' pu.tsv | awk -F'\t' '{ print $NF }')" = "" ]
    run -1 grep -q '^u5' pu.tsv
}

@test "stdin, file and .zst inputs give the same output; pipe from rs-cat" {
    zstd -q "$M/pred.tsv" -o pred.tsv.zst
    zstd -q "$M/truth.tsv" -o truth.tsv.zst
    rs-metrics -q --truth "$M/truth.tsv" --pred p="$M/pred.tsv" > a
    rs-metrics -q --truth "$M/truth.tsv" --pred p=- < "$M/pred.tsv" > b
    rs-metrics -q --truth truth.tsv.zst --pred p=pred.tsv.zst > c
    rs-cat pred.tsv.zst | rs-metrics -q --truth "$M/truth.tsv" --pred p=- > d
    assert_same a b
    assert_same a c
    assert_same a d
    run -2 --separate-stderr rs-metrics --truth - --pred -
    assert_stderr_has "stdin ('-') given more than once"
}

@test "empty and header-only predictions" {
    : > empty.tsv
    run -1 --separate-stderr rs-metrics --truth "$M/truth.tsv" --pred empty.tsv
    assert_stderr_has "'empty.tsv': empty input, no header line"
    printf 'user_id\titem_id\trank\n' > h.tsv
    rs-metrics -q --truth "$M/truth.tsv" --pred h.tsv -k 1 > out.tsv
    [ "$(value out.tsv h user_coverage '')" = 0 ]
    [ "$(value out.tsv h precision 1)" = 0 ]
    [ "$(value out.tsv h users '')" = 4 ]
}

@test "bad input exits 1 naming file, line and column" {
    printf 'user_id\titem_id\tscore\nu1\ta\t0.5\nu1\tb\tx\n' > bad.tsv
    run -1 --separate-stderr rs-metrics --truth "$M/truth.tsv" --pred bad.tsv
    assert_stderr_has "'bad.tsv' line 3: column 'score': expected a number, got 'x'"
    printf 'user_id\titem_id\tscore\nu1\ta\tnan\n' > nan.tsv
    run -1 --separate-stderr rs-metrics --truth "$M/truth.tsv" --pred nan.tsv
    assert_stderr_has "'nan.tsv' line 2: column 'score': expected a finite number"
    printf 'user_id\titem_id\trank\nu1\ta\t1\nu2\ta\t1\nu1\tb\t2\n' > split.tsv
    run -1 --separate-stderr rs-metrics --truth "$M/truth.tsv" --pred split.tsv
    assert_stderr_has "'split.tsv' line 4: column 'user_id': user 'u1' appears again after other users"
    printf 'user_id\titem_id\n' > norank.tsv
    run -1 --separate-stderr rs-metrics --truth "$M/truth.tsv" --pred norank.tsv
    assert_stderr_has "no column 'rank' or 'score'"
    printf 'user_id\titem_id\trating\nu1\ta\tgood\n' > badrel.tsv
    run -1 --separate-stderr rs-metrics --truth badrel.tsv --pred "$M/pred.tsv" --relevance-col rating
    assert_stderr_has "'badrel.tsv' line 2: column 'rating': expected a number, got 'good'"
    printf 'user_id\titem_id\nu1\ta\nu2\n' > short.tsv
    run -1 --separate-stderr rs-metrics --truth short.tsv --pred "$M/pred.tsv"
    assert_stderr_has "'short.tsv' line 3: expected 2 fields, got 1"
}

@test "-o /dev/full is a write error; failed runs leave no -o or --per-user file" {
    run -1 --separate-stderr rs-metrics --truth "$M/truth.tsv" --pred "$M/pred.tsv" -o /dev/full
    assert_stderr_has "No space left on device"
    printf 'user_id\titem_id\trank\nu1\ta\t1\nu2\ta\t1\nu1\tb\t2\n' > split.tsv
    echo previous > out.tsv
    run -1 rs-metrics --truth "$M/truth.tsv" --pred "$M/pred.tsv" --pred split.tsv -o out.tsv --per-user pu.tsv
    [ "$(cat out.tsv)" = previous ]
    [ ! -e pu.tsv ]
    [ -z "$(ls | grep tmp)" ]
}

@test "two runs are byte-identical; duplicate truth rows count once" {
    rs-metrics -q --truth "$M/truth.tsv" --pred "$M/pred.tsv" --train "$M/train.tsv" --json > a
    rs-metrics -q --truth "$M/truth.tsv" --pred "$M/pred.tsv" --train "$M/train.tsv" --json > b
    assert_same a b
    (cat "$M/truth.tsv"; tail -n +2 "$M/truth.tsv") > dup.tsv
    rs-metrics -q --truth dup.tsv --pred p="$M/pred.tsv" --train "$M/train.tsv" > c
    rs-metrics -q --truth "$M/truth.tsv" --pred p="$M/pred.tsv" --train "$M/train.tsv" > d
    assert_same c d
}

@test "streams 20000 users x 50 predictions with a known answer" {
    awk 'BEGIN { print "user_id\titem_id"; for (u = 0; u < 20000; u++) print "u" u "\ti" (u % 997) }' > t.tsv
    awk 'BEGIN { print "user_id\titem_id\trank"
                 for (u = 0; u < 20000; u++) for (r = 1; r <= 50; r++)
                     print "u" u "\ti" ((u + (u % 2) * (r - 1) + (1 - u % 2) * (r + 1000)) % 997 + (r > 1) * 1000 * (u % 2 == 0)) "\t" r }' > p.tsv
    # odd users: truth item at rank 1; even users: truth never recommended
    rs-metrics -q --truth t.tsv --pred p.tsv -k 1,50 > out.tsv
    [ "$(value out.tsv p users '')" = 20000 ]
    [ "$(value out.tsv p hit_rate 50)" = 0.5 ]
    [ "$(value out.tsv p mrr 1)" = 0.5 ]
    [ "$(value out.tsv p precision 50)" = 0.01 ]
}

@test "pipe: rs-retrieve --popular baseline straight into rs-metrics" {
    rs-retrieve -q --popular "$M/train.tsv" --users-from "$M/users.tsv" --exclude "$M/train.tsv" -k 2 |
        rs-metrics -q --truth "$M/truth.tsv" --pred pop=- -k 2 > out.tsv
    # popularity x (4 events) then a b c d; seen items excluded:
    # u1 a b (2 hits), u2 b c, u3 x a (hit at 2), u4 x a
    [ "$(value out.tsv pop precision 2)" = 0.375 ]
    [ "$(value out.tsv pop mrr 2)" = 0.375 ]
    [ "$(value out.tsv pop user_coverage '')" = 1 ]
}
