#!/usr/bin/env bats
# rs-split: time cutoffs and relative windows without leakage, per-user
# splits that keep each user's order, random per-user splits by seed, splits
# by event type, column mapping, and the conventions of every tool.
load helpers

# ev: a small generated event log (rs-synth), 2019-10-01 .. 2019-12-31.
ev() {
    rs-synth -q --users 150 --items 80 --events "${1:-8000}" --events-out ev.tsv -o world
}

# check_subsequence OUT...: every output file's rows appear in ev.tsv in the
# same relative order, and together they are exactly ev.tsv's rows.
check_partition() {
    "$PYTHON" - ev.tsv "$@" <<'EOF'
import sys
rows = open(sys.argv[1]).read().splitlines()
pos = {}
for k, r in enumerate(rows[1:]):
    pos.setdefault(r, []).append(k)
used = []
for f in sys.argv[2:]:
    out = open(f).read().splitlines()
    assert out[0] == rows[0], f + ": header differs"
    last = -1
    for r in out[1:]:
        k = next(k for k in pos[r] if k > last)  # first occurrence after the previous row
        used.append(k)
        last = k
assert sorted(used) == list(range(len(rows) - 1)), "rows lost or duplicated"
EOF
}

@test "rs-split --help lists every mode, defaults and examples" {
    run -0 --separate-stderr rs-split --help
    [[ "$output" == *"Usage: rs-split -o DIR"* ]]
    for m in --cutoff --windows --last-days --per-user-last --per-user-frac --random-per-user --by-event; do
        [[ "$output" == *"$m"* ]]
    done
    [[ "$output" == *"'old|6w|3w'"* ]]
    [[ "$output" == *"--min-train K"*"(default 0)"* ]]
    [[ "$output" == *"Examples:"* ]]
    [ -z "$stderr" ]
}

@test "rs-split --version; usage errors exit 2" {
    run -0 rs-split --version
    [[ "$output" == *"recsys-pipes"* ]]
    run -2 --separate-stderr rs-split --bogus
    assert_stderr_has "invalid option '--bogus'"
    assert_stderr_has "Try 'rs-split --help'"
    run -2 --separate-stderr rs-split -o d x.tsv
    assert_stderr_has "no split mode given"
    run -2 --separate-stderr rs-split --cutoff 2019-12-01 x.tsv
    assert_stderr_has "no output directory"
    run -2 --separate-stderr rs-split --cutoff 2019-12-01 --per-user-last 1 -o d x.tsv
    assert_stderr_has "only one split mode"
    run -2 --separate-stderr rs-split --cutoff soon -o d x.tsv
    assert_stderr_has "invalid --cutoff 'soon'"
    run -2 --separate-stderr rs-split --windows '6w|old' -o d x.tsv
    assert_stderr_has "'old' can only be the first"
    run -2 --separate-stderr rs-split --per-user-frac 0 -o d x.tsv
    assert_stderr_has "fraction must be in (0, 1]"
    run -2 --separate-stderr rs-split --by-event 'a=click|b=click' -o d x.tsv
    assert_stderr_has "'click' is in two windows"
    run -2 --separate-stderr rs-split --per-user-frac 1.5 -o d x.tsv
    [ ! -e d ]
}

@test "missing input exits 1 naming it" {
    run -1 --separate-stderr rs-split --cutoff 2019-12-01 -o d nope.tsv
    assert_stderr_has "rs-split: cannot open 'nope.tsv': No such file or directory"
    [ ! -e d ]
}

@test "stdin, file and .zst input give the same windows; -z compresses" {
    ev 3000
    zstd -q ev.tsv -o ev.tsv.zst
    rs-split -q --cutoff 2019-12-01 -o a ev.tsv
    rs-split -q --cutoff 2019-12-01 -o b < ev.tsv
    rs-split -q --cutoff 2019-12-01 -o c ev.tsv.zst
    rs-split -q --cutoff 2019-12-01 -z -o z - < ev.tsv.zst
    for w in train test; do
        assert_same a/$w.tsv b/$w.tsv
        assert_same a/$w.tsv c/$w.tsv
        zstd -qdc z/$w.tsv.zst | cmp - a/$w.tsv
    done
}

@test "empty input is an error; header-only input gives header-only windows" {
    : > empty.tsv
    run -1 --separate-stderr rs-split --cutoff 2019-12-01 -o d empty.tsv
    assert_stderr_has "'empty.tsv': empty input, no header line"
    [ ! -e d ]
    printf 'user_id\titem_id\tevent\ttimestamp\n' > h.tsv
    run -0 --separate-stderr rs-split --per-user-last 1 -o d h.tsv
    assert_stderr_has "train: 0 events"
    assert_same d/train.tsv h.tsv
    assert_same d/test.tsv h.tsv
}

@test "bad input exits 1 naming file, line and column, and writes nothing" {
    printf 'user_id\titem_id\ttimestamp\nu1\ti1\t100\nu2\ti2\tlater\n' > bad.tsv
    run -1 --separate-stderr rs-split --cutoff 150 -o d bad.tsv
    assert_stderr_has "'bad.tsv' line 3: column 'timestamp'"
    assert_stderr_has "'later'"
    run -1 --separate-stderr rs-split --per-user-last 1 -o d bad.tsv
    assert_stderr_has "'bad.tsv' line 3: column 'timestamp'"
    printf 'user_id\titem_id\ttimestamp\nu1\ti1\n' > short.tsv
    run -1 --separate-stderr rs-split --cutoff 150 -o d short.tsv
    assert_stderr_has "'short.tsv' line 2"
    printf 'user\titem\ttimestamp\nu1\ti1\t1\n' > cols.tsv
    run -1 --separate-stderr rs-split --cutoff 150 -o d cols.tsv
    assert_stderr_has "no column 'user_id'"
    [ ! -e d ]
    [ -z "$(ls -d d.tmp.* 2>/dev/null)" ]
}

@test "-o /dev/full and unwritable targets exit 1; a failure keeps the old directory" {
    ev 500
    run -1 --separate-stderr rs-split --cutoff 2019-12-01 -o /dev/full ev.tsv
    assert_stderr_has "Not a directory"
    rs-split -q --cutoff 2019-12-01 -o d ev.tsv
    cp -r d before
    { cat ev.tsv; printf 'u1\ti1\timpression\tnever\t0\t1.0\ts1\t1\n'; } > bad.tsv
    run -1 rs-split --cutoff 2019-11-01 -o d bad.tsv
    diff -r before d
    [ -z "$(ls -d d.tmp.* 2>/dev/null)" ]
}

@test "cutoff: no test event precedes the cutoff, no train event reaches it; nothing lost" {
    ev 8000
    run -0 --separate-stderr rs-split --cutoff '2019-12-01 00:00:00 UTC' -o d ev.tsv
    assert_stderr_has "train: "
    assert_stderr_has "test: "
    cut=$(date -u -d '2019-12-01' +%s)
    [ "$(awk -F'\t' -v c=$cut 'NR > 1 && $4 < c' d/test.tsv | wc -l)" -eq 0 ]
    [ "$(awk -F'\t' -v c=$cut 'NR > 1 && $4 >= c' d/train.tsv | wc -l)" -eq 0 ]
    [ "$(wc -l < d/test.tsv)" -gt 100 ]
    [ "$(wc -l < d/train.tsv)" -gt 100 ]
    check_partition d/train.tsv d/test.tsv
    # The counts on stderr are the rows written.
    n=$(( $(wc -l < d/test.tsv) - 1 ))
    assert_stderr_has "test: $n events"
}

@test "windows 'old|6w|3w' are counted back from the newest event; named windows; --end" {
    ev 8000
    run -0 --separate-stderr rs-split --windows 'old|6w|3w' -o d ev.tsv
    end=$(( $(awk -F'\t' 'NR > 1 && $4 > m { m = $4 } END { print m }' ev.tsv) + 1 ))
    b2=$(( end - 21 * 86400 )) b1=$(( end - 63 * 86400 ))
    [ "$(awk -F'\t' -v b=$b2 'NR > 1 && $4 < b' d/3w.tsv | wc -l)" -eq 0 ]
    [ "$(awk -F'\t' -v a=$b1 -v b=$b2 'NR > 1 && ($4 < a || $4 >= b)' d/6w.tsv | wc -l)" -eq 0 ]
    [ "$(awk -F'\t' -v a=$b1 'NR > 1 && $4 >= a' d/old.tsv | wc -l)" -eq 0 ]
    [ "$(wc -l < d/old.tsv)" -gt 1 ]
    [ "$(wc -l < d/6w.tsv)" -gt 1 ]
    [ "$(wc -l < d/3w.tsv)" -gt 1 ]
    check_partition d/old.tsv d/6w.tsv d/3w.tsv
    # Named, without 'old' (older events dropped), and on stdin with --end.
    run -0 --separate-stderr rs-split --windows "valid=6w|test=3w" --end $end -o n < ev.tsv
    assert_stderr_has "dropped: $(( $(wc -l < d/old.tsv) - 1 )) events"
    assert_same n/valid.tsv d/6w.tsv
    assert_same n/test.tsv d/3w.tsv
    # --last-days N is 'train=old|test=Nd'.
    rs-split -q --last-days 21 -o l ev.tsv
    assert_same l/test.tsv d/3w.tsv
}

@test "windows counted back from the newest event of stdin or a pipe: the input is spooled" {
    ev 3000
    rs-split -q --windows 'old|6w|3w' -o d ev.tsv
    rs-split -q --windows 'old|6w|3w' -o s < ev.tsv
    rs-split -q --last-days 21 -o p <(cat ev.tsv)
    mkdir spool
    TMPDIR=$PWD/spool rs-split -q --windows 'old|6w|3w' -o z <(zstd -q -c ev.tsv)
    for w in old 6w 3w; do
        assert_same s/$w.tsv d/$w.tsv
        assert_same z/$w.tsv d/$w.tsv
    done
    assert_same p/test.tsv d/3w.tsv
    [ -z "$(ls spool)" ]
}

@test "per-user last N: each user's newest events, each user's order kept" {
    ev 6000
    rs-split -q --per-user-last 3 -o d ev.tsv
    check_partition d/train.tsv d/test.tsv
    # For every user: at most 3 test events, and none older than any train event.
    run -0 awk -F'\t' 'FNR == 1 { f++; next }
        f == 1 { if (!($1 in tmax) || $4 > tmax[$1]) tmax[$1] = $4 }
        f == 2 { n[$1]++; if (!($1 in tmin) || $4 < tmin[$1]) tmin[$1] = $4 }
        END { for (u in n) { if (n[u] > 3) bad++; if ((u in tmax) && tmin[u] < tmax[u]) bad++ } print bad + 0, length(n) }' d/train.tsv d/test.tsv
    [ "${lines[0]%% *}" = 0 ]
    [ "${lines[0]##* }" -gt 50 ]
}

@test "per-user ties keep input order; fraction rule max(1, floor(F n)); --min-train" {
    printf 'user_id\titem_id\ttimestamp\n' > t.tsv
    printf 'a\ti1\t5\nb\ti1\t1\na\ti2\t3\na\ti3\t9\nb\ti2\t1\nc\ti9\t4\n' >> t.tsv
    rs-split -q --per-user-last 1 -o d t.tsv
    [ "$(cat d/test.tsv)" = "$(printf 'user_id\titem_id\ttimestamp\na\ti3\t9\nb\ti2\t1\nc\ti9\t4')" ]
    rs-split -q --per-user-last 1 --min-train 1 -o m t.tsv
    [ "$(tail -n +2 m/test.tsv | cut -f1 | tr '\n' ' ')" = "a b " ]
    rs-split -q --per-user-frac 0.5 -o f t.tsv
    [ "$(tail -n +2 f/test.tsv | cut -f2 | tr '\n' ' ')" = "i3 i2 i9 " ]
    rs-split -q --per-user-frac 0.7 -o g t.tsv
    [ "$(tail -n +2 g/test.tsv | cut -f2 | tr '\n' ' ')" = "i1 i3 i2 i9 " ]
}

@test "random per user: exact counts, same seed same bytes, other seed differs" {
    ev 6000
    rs-split -q --random-per-user 0.25 --seed 5 -o a ev.tsv
    rs-split -q --random-per-user 0.25 --seed 5 -o b ev.tsv
    rs-split -q --random-per-user 0.25 --seed 6 -o c ev.tsv
    assert_same a/train.tsv b/train.tsv
    assert_same a/test.tsv b/test.tsv
    assert_differ a/test.tsv c/test.tsv
    check_partition a/train.tsv a/test.tsv
    run -0 awk -F'\t' 'FNR == 1 { f++; next } { n[$1]++ } f == 2 { t[$1]++ }
        END { for (u in n) { k = int(0.25 * n[u] + 1e-9); if (k < 1) k = 1; if (t[u] != k) bad++ } print bad + 0 }' a/train.tsv a/test.tsv
    [ "$output" = 0 ]
}

@test "by event type: train on clicks, validate on bookings; the rest dropped" {
    ev 8000
    run -0 --separate-stderr rs-split --by-event 'train=click,favourite|valid=booking' -o d ev.tsv
    [ "$(tail -n +2 d/train.tsv | cut -f3 | sort -u | tr '\n' ' ')" = "click favourite " ]
    [ "$(tail -n +2 d/valid.tsv | cut -f3 | sort -u)" = booking ]
    imp=$(awk -F'\t' '$3 == "impression"' ev.tsv | wc -l)
    assert_stderr_has "dropped: $imp events"
    [ "$(wc -l < d/valid.tsv)" -eq $(( $(awk -F'\t' '$3 == "booking"' ev.tsv | wc -l) + 1 )) ]
}

@test "column mapping and CSV input (MovieLens-style names, ISO timestamps)" {
    printf 'userId,movieId,kind,ts\n1,10,rating,2019-10-01T10:00:00Z\n1,"11",rating,2019-12-02 00:00:00\n2,12,rating,1575158400\n' > r.csv
    run -0 --separate-stderr rs-split --user-col userId --time-col ts --cutoff 2019-12-01 -o d r.csv
    [ "$(cat d/train.tsv)" = "$(printf 'userId\tmovieId\tkind\tts\n1\t10\trating\t2019-10-01T10:00:00Z')" ]
    [ "$(tail -n +2 d/test.tsv | cut -f2 | tr '\n' ' ')" = "11 12 " ]
    run -0 --separate-stderr rs-split --user-col userId --time-col ts --event-col kind --by-event 'all=rating' --csv -o e - < r.csv
    [ "$(wc -l < e/all.tsv)" -eq 4 ]
}

@test "two runs are byte-identical in every mode" {
    ev 3000
    for m in "--cutoff 2019-11-15" "--windows old|4w|2w" "--per-user-frac 0.2" "--random-per-user 0.3" "--by-event x=click"; do
        rs-split -q $m -o a ev.tsv
        rs-split -q $m -o b ev.tsv
        for f in a/*; do assert_same "$f" "b/${f#a/}"; done
        rm -rf a b
    done
}
