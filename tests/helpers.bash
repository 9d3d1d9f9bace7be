# Shared setup for the bats CLI tests: `load helpers` at the top of a file.
bats_require_minimum_version 1.5.0

: "${BIN:=bin}"
BIN=$(cd "$BATS_TEST_DIRNAME/.." && cd "$BIN" && pwd)
PATH="$BIN:$PATH"
: "${PYTHON:=/usr/bin/python3}"
FIXTURES="$BATS_TEST_DIRNAME/fixtures"

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
}

# assert_exit N: the last `run` exited with N (and printed its stderr if not).
assert_exit() {
    if [ "$status" -ne "$1" ]; then
        echo "expected exit $1, got $status"
        echo "stdout: $output"
        echo "stderr: ${stderr:-}"
        return 1
    fi
}

# assert_stderr_has TEXT: stderr of the last `run --separate-stderr` contains TEXT.
assert_stderr_has() {
    case "$stderr" in
        *"$1"*) ;;
        *) echo "stderr lacks '$1': $stderr"; return 1 ;;
    esac
}

# assert_same FILE1 FILE2: byte-identical.
assert_same() {
    cmp "$1" "$2" || { echo "$1 and $2 differ"; return 1; }
}

# assert_differ FILE1 FILE2: both exist and their bytes differ.
assert_differ() {
    local rc=0
    cmp -s "$1" "$2" || rc=$?
    case $rc in
        1) ;;
        0) echo "$1 and $2 are identical"; return 1 ;;
        *) echo "cannot compare $1 and $2 (cmp exit $rc)"; return 1 ;;
    esac
}
