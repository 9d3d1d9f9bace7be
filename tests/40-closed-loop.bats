#!/usr/bin/env bats
# The closed loop of production serving, small: examples/closed-loop/run.sh
# (serve -> feedback log -> rs-rank train on the logged impressions ->
# promotion into an A/B experiment by hot swap -> rs-abtest).
load helpers

@test "closed loop: the ranker retrained on served impressions wins the online A/B on CTR, with the mSPRT" {
    USERS=1000 ITEMS=300 EVENTS=50000 REQUESTS=2500 run -0 "$BATS_TEST_DIRNAME/../examples/closed-loop/run.sh" loop
    echo "$output" | sed 's/^/# /' >&3
    cd loop
    grep -q "loaded version 2" server.log                          # promoted by hot swap, no restart
    [ "$(grep -c "listening on" server.log)" = 1 ]
    [ "$(awk -F'\t' 'NR > 1 { print $7 }' logged.tsv | sort -u)" = old ]   # week 1: the old model alone
    "$PYTHON" - <<'PY'
rows = [l.rstrip("\n").split("\t") for l in open("abtest.tsv")]
col = {c: j for j, c in enumerate(rows[0])}
ctr = {r[0]: r for r in rows[1:] if r[1] == "ctr"}
new, ctl = ctr["new"], ctr["control"]
assert float(new[col["mean"]]) > float(ctl[col["ci_high"]]), (new, ctl)     # above the control's interval
assert new[col["significant"]] == "1" and float(new[col["p_always_valid"]]) < 0.01, new
assert abs(int(new[col["impressions"]]) - int(ctl[col["impressions"]])) < 0.05 * 25000, (new, ctl)   # 50/50
PY
}
