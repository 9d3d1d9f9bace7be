#!/usr/bin/env bats
# rs-abtest: per-arm online metrics and the mSPRT from a feedback log.
load helpers

# A log of two arms: a (4 impressions, 1 clicked and bought for 10), b (4
# impressions, 2 clicked, one booked for 3), and a click without impression.
small_log() {
    { printf 'user_id\titem_id\tevent\ttimestamp\tsession_id\tposition\tarm\tvalue\n'
      for i in 1 2 3 4; do printf 'u1\ti%d\timpression\t10\tr1\t%d\ta\t\n' $i $i; done
      for i in 1 2 3 4; do printf 'u2\ti%d\timpression\t10\tr2\t%d\tb\t\n' $i $i; done
      printf 'u1\ti2\tclick\t11\tr1\t2\ta\t\nu1\ti2\tpurchase\t12\tr1\t2\ta\t10\n'
      printf 'u2\ti1\tclick\t11\tr2\t1\tb\t\nu2\ti3\tclick\t11\tr2\t3\tb\t\nu2\ti3\tbooking\t13\tr2\t3\tb\t3\n'
      printf 'u2\ti4\tclick\t13\tr9\t4\tb\t\n'
    } > log.tsv
}

@test "rs-abtest --help, --version, usage errors" {
    run -0 rs-abtest --help
    [[ "$output" == *"Peeking at A/B tests"* ]]
    [[ "$output" == *"Examples:"* ]]
    run -0 rs-abtest --version
    run -2 --separate-stderr rs-abtest --bogus x
    run -2 --separate-stderr rs-abtest
    assert_stderr_has "no feedback log given"
    run -2 --separate-stderr rs-abtest --tau-ctr 0 x
    run -1 --separate-stderr rs-abtest nope.tsv
    assert_stderr_has "cannot open 'nope.tsv'"
}

@test "per arm: impressions, CTR, conversion, revenue per impression, intervals, diff to the control" {
    small_log
    run -0 --separate-stderr rs-abtest log.tsv
    assert_stderr_has "1 events without their impression in the log"
    echo "$output" > out.tsv
    "$PYTHON" - <<'PY'
import math
rows = [l.rstrip("\n").split("\t") for l in open("out.tsv")]
assert rows[0] == ["arm", "metric", "impressions", "mean", "ci_low", "ci_high", "diff", "p_always_valid", "significant"], rows[0]
got = {(r[0], r[1]): r for r in rows[1:]}
want = {("a", "ctr"): [0, 1, 0, 0], ("a", "conversion"): [0, 1, 0, 0], ("a", "revenue_per_impression"): [0, 10, 0, 0],
        ("b", "ctr"): [1, 1, 0, 0], ("b", "conversion"): [0, 0, 1, 0], ("b", "revenue_per_impression"): [0, 0, 3, 0]}
for (arm, m), xs in want.items():
    r = got[(arm, m)]
    assert r[2] == "4", r
    mean = sum(xs) / 4
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / 3)
    assert abs(float(r[3]) - mean) < 1e-9 and abs(float(r[5]) - (mean + 1.959963984540054 * sd / 2)) < 1e-6, r
    ctl = sum(want[("a", m)]) / 4
    assert abs(float(r[6]) - (mean - ctl)) < 1e-9, r
    assert (r[7] == "" and r[8] == "") if arm == "a" else (0 < float(r[7]) <= 1 and r[8] in "01"), r
PY
    run -0 rs-abtest --control b log.tsv
    [[ "$output" == *$'b\tctr\t4\t0.5\t'*$'\t0\t\t'* ]]
    run -2 --separate-stderr rs-abtest --control zz log.tsv
    assert_stderr_has "control arm 'zz' has no impression in the log"
}

@test "zstd and stdin agree with a file; two runs are byte-identical; -o /dev/full exits 1" {
    small_log
    rs-abtest log.tsv 2> /dev/null > a.tsv
    zstd -q log.tsv -o log.tsv.zst
    rs-abtest log.tsv.zst 2> /dev/null > b.tsv
    rs-abtest - < log.tsv 2> /dev/null > c.tsv
    cmp a.tsv b.tsv
    cmp a.tsv c.tsv
    run -1 --separate-stderr rs-abtest -o /dev/full log.tsv
    printf 'user_id\titem_id\tevent\n' > bad.tsv
    run -1 --separate-stderr rs-abtest bad.tsv
    assert_stderr_has "'bad.tsv'"
    { head -1 log.tsv; printf 'u\ti\timpression\t1\tr\t1\ta\t\n'; printf 'u\ti\tpurchase\t1\tr\t1\ta\tlots\n'; } > word.tsv
    run -1 --separate-stderr rs-abtest word.tsv
    assert_stderr_has "'word.tsv' line 3"
}
