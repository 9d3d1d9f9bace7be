#!/usr/bin/env bats
# Data sets the repository does not hold (MovieLens 100K, Taobao, REES46):
# pipelines/movielens.mk's message when DATA_ML100K lacks the files, and
# `make data-ml100k` (pipelines/fetch-ml100k.sh) without network, with a bad
# archive and with a good one, all from local file:// URLs or a closed local
# port: never the network, never the real data. The benchmarks skip with the
# same kind of message.
load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
OFFICIAL_SHA256=06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490

mk() { env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make --no-print-directory -C "$ROOT" "$@"; }
# fetch [VAR=VALUE...]: make data-ml100k into d/ml (d/ holds nothing else).
fetch() { mkdir -p d && mk data-ml100k PYTHON="$PYTHON" DATA_ML100K="$PWD/d/ml" "$@"; }

# fake_zip: ml-100k.zip holding ml-100k/u.data, u.item, u.user, u.genre (a
# few made-up rows), and its u.data's SHA-256 in $sum.
fake_zip() {
    mkdir -p src/ml-100k
    printf '1\t2\t3\t881250949\n2\t1\t5\t881250950\n' > src/ml-100k/u.data
    printf '1|A (1995)|01-Jan-1995||x|0|1\n2|B (1995)|01-Jan-1995||x|1|0\n' > src/ml-100k/u.item
    printf '1|24|M|writer|00001\n2|53|F|other|00002\n' > src/ml-100k/u.user
    printf 'unknown|0\nAction|1\n\n' > src/ml-100k/u.genre
    (cd src && "$PYTHON" -m zipfile -c ../ml-100k.zip ml-100k/)
    sum=$(sha256sum < src/ml-100k/u.data | cut -d' ' -f1)
}

@test "make help lists data-ml100k" {
    run -0 mk help
    [[ $output == *"data-ml100k"*"DATA_ML100K"* ]]
}

@test "movielens.mk: without the data, a message naming DATA_ML100K and make data-ml100k" {
    run -2 --separate-stderr mk -f pipelines/movielens.mk BIN="$BIN" DATA_ML100K="$PWD/none" OUT="$PWD/out"
    assert_stderr_has "MovieLens 100K not found: DATA_ML100K='$PWD/none' has no u.data u.user u.item u.genre"
    assert_stderr_has "make data-ml100k"
    assert_stderr_has "make -f pipelines/movielens.mk DATA_ML100K=path/to/ml-100k"
    [[ $stderr != *"No rule to make target"* ]]
    [ ! -e out ]
    mkdir part && : > part/u.data && : > part/u.user
    run -2 --separate-stderr mk -f pipelines/movielens.mk BIN="$BIN" DATA_ML100K="$PWD/part" OUT="$PWD/out"
    assert_stderr_has "DATA_ML100K='$PWD/part' has no u.item u.genre"
}

@test "data-ml100k: no network: the steps by hand, exit non-zero, nothing left behind" {
    run -2 --separate-stderr fetch ML100K_URL="file://$PWD/absent.zip"
    assert_stderr_has "data-ml100k: cannot download 'file://$PWD/absent.zip'"
    assert_stderr_has "download https://files.grouplens.org/datasets/movielens/ml-100k.zip"
    assert_stderr_has "in '$PWD/d/ml'"
    assert_stderr_has "sha256sum '$PWD/d/ml/u.data' must print"
    assert_stderr_has "$OFFICIAL_SHA256"
    [ -z "$(ls -A d)" ]
    # A closed port fails at once; --max-time bounds a silent one.
    SECONDS=0
    run -2 --separate-stderr fetch ML100K_URL="http://127.0.0.1:9/ml-100k.zip" ML100K_TIMEOUT=3
    assert_stderr_has "cannot download 'http://127.0.0.1:9/ml-100k.zip'"
    assert_stderr_has "MovieLens 100K by hand"
    [ "$SECONDS" -le 5 ]
    [ -z "$(ls -A d)" ]
}

@test "data-ml100k: checks u.data's checksum, unpacks, and a second run keeps what is there" {
    fake_zip
    # The release's checksum (the default) is not this u.data's.
    run -2 --separate-stderr fetch ML100K_URL="file://$PWD/ml-100k.zip"
    assert_stderr_has "checksum mismatch for u.data of 'file://$PWD/ml-100k.zip': got $sum, want $OFFICIAL_SHA256"
    [ -z "$(ls -A d)" ]
    run -0 fetch ML100K_URL="file://$PWD/ml-100k.zip" ML100K_SHA256="$sum"
    for f in u.data u.item u.user u.genre; do assert_same "src/ml-100k/$f" "d/ml/$f"; done
    [ "$(ls -A d)" = ml ]
    run -0 fetch ML100K_URL="file://$PWD/absent.zip" ML100K_SHA256="$sum"
    [[ $output == *"already holds MovieLens 100K"* ]]
    # Another u.data in the destination is never overwritten.
    run -2 --separate-stderr fetch ML100K_URL="file://$PWD/ml-100k.zip"
    assert_stderr_has "'$PWD/d/ml/u.data' exists with another checksum"
    assert_same src/ml-100k/u.data d/ml/u.data
    echo 'not a zip' > bad.zip
    run -2 --separate-stderr mk data-ml100k PYTHON="$PYTHON" DATA_ML100K="$PWD/ml2" ML100K_URL="file://$PWD/bad.zip"
    assert_stderr_has "'file://$PWD/bad.zip' is not a zip archive"
    [ ! -e ml2 ]
}

@test "benchmarks without their data skip with where it comes from" {
    run -0 --separate-stderr env DATA_ML100K="$PWD/none" BIN="$BIN" "$ROOT/bench/als/run"
    assert_stderr_has "bench/als: skipped MovieLens 100K: DATA_ML100K='$PWD/none' lacks"
    assert_stderr_has "make data-ml100k"
    run -0 --separate-stderr env -u DATA_TAOBAO DATA_REES46="$PWD/none.csv" SETS="taobao rees46" BIN="$BIN" \
        "$ROOT/bench/rank/run"
    assert_stderr_has "bench/rank: skipped Taobao: DATA_TAOBAO is not set"
    assert_stderr_has "Tianchi dataset 649"
    assert_stderr_has "bench/rank: skipped REES46: DATA_REES46='$PWD/none.csv' is not a file"
    assert_stderr_has "Kaggle"
}

@test "bench/two-stage skips the real data sets it lacks, and nothing runs when it lacks them all" {
    run -0 --separate-stderr env -u DATA_TAOBAO DATA_REES46="$PWD/none.csv" DATA_ML100K="$PWD/none" \
        SETS="ml100k taobao rees46" BIN="$BIN" "$ROOT/bench/two-stage/run"
    assert_stderr_has "bench/two-stage: skipped MovieLens 100K: DATA_ML100K='$PWD/none' lacks"
    assert_stderr_has "bench/two-stage: skipped Taobao: DATA_TAOBAO is not set"
    assert_stderr_has "bench/two-stage: skipped REES46: DATA_REES46='$PWD/none.csv' is not a file"
    [ -z "$output" ]
    run -2 --separate-stderr env SETS="nope" BIN="$BIN" "$ROOT/bench/two-stage/run"
    assert_stderr_has "unknown set 'nope'"
}
