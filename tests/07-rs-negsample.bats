#!/usr/bin/env bats
# rs-negsample: sampled and hard negatives with their log-probabilities;
# properties checked by tests/fixtures/rs-negsample/check.py.
load helpers

check() {
    run -0 $PYTHON "$FIXTURES/rs-negsample/check.py" "$@"
}

synth() { # small rs-synth world: events with impressions and sessions
    rs-synth -q -o syn --users 60 --items 80 --events 4000 --seed "${1:-1}"
}

zipf_events() { # events.tsv: Zipf item counts over 40 items; user h has 300 rows of item i0
    $PYTHON - <<'PY'
import random
r = random.Random(3)
with open("events.tsv", "w") as f:
    f.write("user_id\titem_id\tweight\n")
    for u in range(100):
        for _ in range(10):
            i = min(int(r.paretovariate(1.0)) - 1, 39)
            f.write(f"u{u}\ti{i}\t1\n")
    for _ in range(300):
        f.write("h\ti0\t2\n")
PY
}

@test "rs-negsample --help documents strategies, formulas, defaults and examples" {
    run -0 --separate-stderr rs-negsample --help
    [[ "$output" == *"Usage: rs-negsample"* ]]
    [[ "$output" == *"loguniform   ln((r+2)/(r+1)) / ln(n+1)"* ]]
    [[ "$output" == *"(default 10)"* ]]
    [[ "$output" == *"(default 0.75)"* ]]
    [[ "$output" == *"Examples:"* ]]
    [ -z "$stderr" ]
}

@test "--version; usage errors exit 2" {
    run -0 rs-negsample --version
    [[ "$output" == *"openblas=yes"* ]]
    run -2 --separate-stderr rs-negsample --bogus
    assert_stderr_has "Try 'rs-negsample --help'"
    run -2 --separate-stderr rs-negsample --strategy zipf
    assert_stderr_has "unknown strategy 'zipf'"
    run -2 --separate-stderr rs-negsample --strategy uniform:x
    assert_stderr_has "--strategy"
    run -2 --separate-stderr rs-negsample --strategy impressions x.tsv
    assert_stderr_has "needs --impressions"
    run -2 --separate-stderr rs-negsample --strategy nearest x.tsv
    assert_stderr_has "needs --emb"
}

@test "missing input exits 1 naming it" {
    run -1 --separate-stderr rs-negsample nope.tsv
    assert_stderr_has "cannot open 'nope.tsv'"
    printf 'user_id\titem_id\nu\ti\n' > e.tsv
    run -1 --separate-stderr rs-negsample --impressions nope2.tsv --strategy impressions e.tsv
    assert_stderr_has "cannot open 'nope2.tsv'"
}

@test "stdin, file and .zst input give the same output" {
    zipf_events
    rs-negsample -k 5 events.tsv > a
    rs-negsample -k 5 < events.tsv > b
    zstd -q events.tsv -o events.tsv.zst
    rs-negsample -k 5 events.tsv.zst > c
    cat events.tsv.zst | rs-negsample -k 5 > d
    assert_same a b
    assert_same a c
    assert_same a d
    [ "$(wc -l < a)" -eq 1301 ]
    [ "$(head -1 a)" = "$(printf 'user_id\titem_id\tlogq\tneg_items\tneg_logq\tweight')" ]
}

@test "process substitutions for the events, --impressions, --items and --emb: same output, no spool left" {
    synth 5
    cut -f2 syn/events.tsv > items.tsv
    args=(-k 4 --strategy popularity,impressions,nearest --emb syn/item_factors.rsb)
    rs-negsample "${args[@]}" --impressions syn/events.tsv --items items.tsv syn/events.tsv > a
    mkdir spool
    TMPDIR=$PWD/spool rs-negsample "${args[@]}" --impressions <(cat syn/events.tsv) --items <(cat items.tsv) \
        --emb <(cat syn/item_factors.rsb) <(cat syn/events.tsv) > b
    assert_same a b
    [ -z "$(ls spool)" ]
}

@test "empty and header-only inputs" {
    : > empty.tsv
    run -0 rs-negsample empty.tsv
    [ -z "$output" ]
    printf 'user_id\titem_id\tevent\n' > h.tsv
    run -0 rs-negsample h.tsv
    [ "$output" = "$(printf 'user_id\titem_id\tlogq\tneg_items\tneg_logq\tevent')" ]
}

@test "bad input exits 1 naming file, line and column" {
    printf 'user_id\titem_id\nu1\ta\nu2\tb,c\n' > comma.tsv
    run -1 --separate-stderr rs-negsample comma.tsv
    assert_stderr_has "'comma.tsv' line 3: column 'item_id': item id 'b,c' contains a comma"
    printf 'user\titem_id\nu1\ta\n' > nouser.tsv
    run -1 --separate-stderr rs-negsample nouser.tsv
    assert_stderr_has "'user_id'"
    run -0 rs-negsample --user-col user nouser.tsv
    printf 'user_id\titem_id\ttimestamp\tevent\nu1\ta\t5\tclick\nu1\tb\tyesterday\tclick\n' > t.tsv
    printf 'user_id\titem_id\ttimestamp\tevent\nu1\tc\t5\timpression\n' > imp.tsv
    run -1 --separate-stderr rs-negsample --impressions imp.tsv --strategy impressions t.tsv
    assert_stderr_has "'t.tsv' line 3: column 'timestamp'"
}

@test "-o /dev/full fails with exit 1; a failed run leaves no output" {
    zipf_events
    run -1 --separate-stderr rs-negsample -o /dev/full events.tsv
    assert_stderr_has "No space left on device"
    printf 'user_id\titem_id\nu1\ta\nu2\tb,c\n' > comma.tsv
    run -1 rs-negsample -o out.tsv comma.tsv
    [ ! -e out.tsv ]
    [ -z "$(ls | grep tmp)" ]
}

@test "same seed: byte-identical; another seed: different draws" {
    synth
    args=(-k 6 --impressions syn/events.tsv --strategy loguniform:0.5,impressions:0.3,popularity:0.2)
    rs-negsample "${args[@]}" -o a.tsv.zst syn/events.tsv
    rs-negsample "${args[@]}" -o b.tsv.zst syn/events.tsv
    assert_same a.tsv.zst b.tsv.zst
    rs-negsample "${args[@]}" --seed 7 -o c.tsv.zst syn/events.tsv
    assert_differ a.tsv.zst c.tsv.zst
}

@test "no negative is a positive of its user; logq = log(count / positives)" {
    zipf_events
    rs-negsample -k 20 --strategy uniform:1,popularity:1,loguniform:1 events.tsv > out.tsv
    check nopos events.tsv
    synth 2
    rs-negsample -k 20 --positive click,booking syn/events.tsv > out.tsv
    check nopos syn/events.tsv click,booking
}

@test "uniform, popularity^alpha, loguniform: each neg_logq is the formula; draws follow it" {
    zipf_events
    for kind in uniform popularity loguniform; do
        rs-negsample -k 200 --strategy $kind events.tsv > out.tsv
        check formula events.tsv $kind
    done
    rs-negsample -k 200 --strategy popularity --alpha 0.3 events.tsv > out.tsv
    check formula events.tsv popularity 0.3
    # the check can fail: popularity^0.3 draws are not popularity^0.75
    run -1 $PYTHON "$FIXTURES/rs-negsample/check.py" formula events.tsv popularity 0.75
}

@test "impression hard negatives: shown in the same session, not clicked, q = 1/|set|" {
    synth 3
    rs-negsample -k 5 --impressions syn/events.tsv --strategy impressions syn/events.tsv > out.tsv
    check impressions syn/events.tsv
    # every positive whose session showed something unclicked gets its negatives
    [ "$(awk -F'\t' 'NR > 1 && $4 != ""' out.tsv | wc -l)" -gt 200 ]
}

@test "nearest hard negatives: among the positive's k nearest by cosine, not positives" {
    synth 4
    rs-cat syn/item_factors.rsb > emb.tsv
    rs-negsample -k 5 --emb syn/item_factors.rsb --hard-k 7 --strategy nearest syn/events.tsv > out.tsv
    check nearest syn/events.tsv emb.tsv 7
    rs-negsample -k 5 --emb syn/item_factors.rsb --hard-k 7 --strategy nearest -j 1 syn/events.tsv > one.tsv
    assert_same out.tsv one.tsv
}

@test "pipe: rs-synth | rs-negsample | rs-cat" {
    rs-synth -q -o syn --users 30 --items 40 --events 2000 --events-out - |
        rs-negsample -k 3 --positive click -z | rs-cat > piped.tsv
    rs-synth -q -o syn2 --users 30 --items 40 --events 2000
    rs-negsample -k 3 --positive click syn2/events.tsv > direct.tsv
    assert_same piped.tsv direct.tsv
    [ "$(awk -F'\t' 'NR > 1 { n += split($4, a, ",") } END { print n }' piped.tsv)" -eq $((3 * ($(wc -l < piped.tsv) - 1))) ]
}
