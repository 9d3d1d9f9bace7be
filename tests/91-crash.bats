#!/usr/bin/env bats
# Crash consistency (issue 14): a training run killed with SIGKILL mid-epoch
# resumes from its last checkpoint to the same bytes as an uninterrupted run;
# a writer killed mid-output leaves the previous output intact.
load helpers

# wait_for FILE: polls up to 60 s for FILE to exist.
wait_for() {
    for _ in $(seq 600); do
        [ -e "$1" ] && return 0
        sleep 0.1
    done
    echo "timed out waiting for $1"
    return 1
}

# wait_glob PATTERN: polls up to 5 s for a file matching PATTERN (a writer's
# temporary output: the writer is then blocked in the middle of its input).
wait_glob() {
    for _ in $(seq 100); do
        compgen -G "$1" > /dev/null && return 0
        sleep 0.05
    done
}

# train ARGS...: the run every test below shares (same seed, one thread).
train() {
    rs-train-tower -c tower.json --users users.tsv --items items.tsv --batch 64 --epochs 4 --patience 0 \
        -k 4 -j 1 -q "$@" train.tsv
}

@test "kill -9 rs-train-tower mid-epoch, --resume: the same model as an uninterrupted run" {
    "$PYTHON" "$FIXTURES/rs-train-tower/gen.py" . 12000 600 > /dev/null
    # 20 epochs of about 0.05 s each: the kill below lands well before the end.
    train -o full.rsm --checkpoint full.ckpt --epochs 20
    # Not through train(): $! must be the trainer itself, not a subshell
    # whose death would leave the trainer running.
    rs-train-tower -c tower.json --users users.tsv --items items.tsv --batch 64 --epochs 20 --patience 0 \
        -k 4 -j 1 -q -o m.rsm --checkpoint ck.rsm train.tsv &
    pid=$!
    wait_for ck.rsm # epoch 1 is done: kill a few epochs later
    sleep 0.2
    kill -9 "$pid"
    st=0
    wait "$pid" || st=$?
    [ "$st" -eq 137 ] # it was still running: killed, not finished
    [ ! -e m.rsm ]
    run -0 rs-cat --schema ck.rsm
    [[ "$output" =~ \"epoch\":1?[0-9][^0-9] ]]
    # The killed run's temporary files (if any) are never mistaken for output.
    rs-train-tower --users users.tsv --items items.tsv --batch 64 --epochs 20 --patience 0 -k 4 -j 1 -q \
        --resume --checkpoint ck.rsm -o m.rsm train.tsv
    assert_same full.rsm m.rsm
}

@test "a half-written checkpoint temporary (what kill -9 leaves) does not disturb --resume" {
    "$PYTHON" "$FIXTURES/rs-train-tower/gen.py" . 2000 200 > /dev/null
    train -o m.rsm --checkpoint ck.rsm --stop-after 1
    cp ck.rsm ck1.rsm
    # A stale, half-written temporary next to it (what SIGKILL leaves) is ignored.
    head -c 1000 ck.rsm > ck.rsm.tmp.AAAAAA
    rs-train-tower --users users.tsv --items items.tsv --batch 64 --epochs 4 --patience 0 -k 4 -j 1 -q \
        --resume --checkpoint ck.rsm -o m.rsm train.tsv
    train -o full.rsm --checkpoint full.ckpt
    assert_same full.rsm m.rsm
}

# signal_mid_input SIG GLOB CMD...: runs CMD with stdin a FIFO fed a header
# and 20000 rows of user_id, item_id, timestamp, sends SIG once a file
# matches GLOB (CMD is then in the middle of its input) and checks that CMD
# died of SIG: it was still running, not finished.
signal_mid_input() {
    local sig=$1 glob=$2 pid st=0
    shift 2
    rm -f slow
    mkfifo slow
    "$@" < slow &
    pid=$!
    exec 8> slow
    printf 'user_id\titem_id\ttimestamp\n' >&8
    seq 20000 | awk '{ print "u" $1 "\ti" $1 "\t" $1 }' >&8
    wait_glob "$glob"
    kill -"$sig" "$pid"
    wait "$pid" || st=$?
    exec 8>&-
    [ "$st" -eq $((128 + $(kill -l "$sig"))) ]
}

@test "kill -9 a writer (rs-cat -o FILE): the previous FILE is intact" {
    printf 'user_id\titem_id\nu0\ti0\n' > old.tsv
    cp old.tsv out.tsv
    signal_mid_input KILL 'out.tsv.tmp.*' rs-cat -o out.tsv
    assert_same old.tsv out.tsv
}

@test "kill -9 rs-split -o DIR: the previous DIR's files are intact" {
    printf 'user_id\titem_id\ttimestamp\nu1\ti1\t1\nu2\ti2\t9\n' > ev.tsv
    rs-split --cutoff 5 -o sp ev.tsv
    cp -r sp before
    signal_mid_input KILL 'sp.tmp.*' rs-split --cutoff 5 -o sp
    diff -r before sp
}

@test "SIGTERM rs-split -o DIR: no staging directory is left" {
    signal_mid_input TERM 'sp.tmp.*/*' rs-split --cutoff 5 -o sp
    run ! compgen -G 'sp*'
}

@test "SIGTERM, SIGINT and SIGHUP a writer: the previous output is intact and no temporary file is left" {
    printf 'user_id\titem_id\nu0\ti0\n' > old.tsv
    cp old.tsv out.tsv
    for sig in TERM INT HUP; do
        signal_mid_input $sig 'out.tsv.tmp.*' rs-cat -o out.tsv
        assert_same old.tsv out.tsv
        run ! compgen -G '*.tmp.*'
    done
}

# big_tsv: about 400 KB of pairs, more than one write buffer.
big_tsv() {
    { printf 'user_id\titem_id\n'; seq 40000 | awk '{ print "user" $1 "\titem" $1 }'; } > big.tsv
}

@test "a file-size limit (ulimit -f, SIGXFSZ): exit 1 naming the file, no temporary, the previous output intact" {
    big_tsv
    printf 'user_id\titem_id\nu0\ti0\n' > old.tsv
    cp old.tsv out.tsv
    run -1 --separate-stderr bash -c 'ulimit -f 64 && rs-cat -o out.tsv big.tsv'
    assert_stderr_has "cannot write 'out.tsv"
    assert_stderr_has "File too large"
    assert_same old.tsv out.tsv
    run -1 --separate-stderr bash -c 'ulimit -f 64 && rs-split --cutoff 5 --time-col item_id -o sp big.tsv'
    run ! compgen -G '*.tmp.*'
    [ ! -e sp ]
}

@test "stdout a closed pipe: temporaries removed, then a quiet end by SIGPIPE" {
    big_tsv
    printf 'user_id\titem_id\nu0\ti0\n' > old.tsv
    cp old.tsv uf.rsb
    # rs-als writes its candidates to stdout and its user factors to a file.
    run --separate-stderr bash -c 'rs-als -q -f 2 -i 1 --candidates 50 --user-factors uf.rsb big.tsv | head -c 1 > /dev/null
        echo "${PIPESTATUS[0]}"'
    [ "$output" = 141 ]
    [ -z "$stderr" ]
    assert_same old.tsv uf.rsb
    run ! compgen -G '*.tmp.*'
}

# closed_stderr CMD...: runs CMD with stderr a pipe nobody reads any more.
closed_stderr() {
    "$PYTHON" -c '
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
rc = subprocess.call(sys.argv[1:], stderr=w)
sys.exit(128 - rc if rc < 0 else rc)' "$@"
}

@test "stderr a closed pipe: a quiet end by SIGPIPE, no temporary, the previous output intact" {
    { printf 'id\tv0\tv1\n'; seq 2000 | awk '{ print "u" $1 "\t" $1 % 7 "\t" $1 % 5 }'; } > u.tsv
    { printf 'id\tv0\tv1\n'; seq 300 | awk '{ print "i" $1 "\t" $1 % 3 "\t" $1 % 11 }'; } > i.tsv
    rs-cat --to rsb -o u.rsb u.tsv
    rs-cat --to rsb -o i.rsb i.tsv
    echo old > out.tsv
    run -141 closed_stderr rs-retrieve -v --users u.rsb --items i.rsb -k 50 -o out.tsv
    [ "$(cat out.tsv)" = old ]
    run ! compgen -G '*.tmp.*'
}

@test "SIGTERM a two-pass tool reading a pipe: no spool is left in TMPDIR" {
    mkdir tmp
    TMPDIR=$PWD/tmp signal_mid_input TERM 'tmp/rs-spool.*/*' rs-prefilter --min-user-interactions 1 -o out.tsv
    [ -z "$(ls -A tmp)" ]
    run ! compgen -G '*.tmp.*'
}
