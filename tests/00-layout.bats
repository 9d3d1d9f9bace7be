#!/usr/bin/env bats
# The repository's own rules: library layers (lib/README.md), text written
# only through the escaping writer (tests/check-writers), numbers parsed
# through core/num.h only (tests/check-numparse), and tests that can fail
# (tests/check-bats; the fuzz replays and counts of tests/run).

bats_require_minimum_version 1.5.0

setup() {
    cd "$BATS_TEST_DIRNAME/.." || return 1
}

@test "lib/ includes follow the layer table of lib/README.md" {
    run -0 tests/check-layers
    [ -z "$output" ]
}

@test "check-layers rejects an upward include, an unknown folder and a bare include" {
    tmp=$(mktemp -d)
    cp -r lib "$tmp/lib"
    echo '#include "serve/reco.h"' >> "$tmp/lib/core/rng.c"
    run -1 tests/check-layers "$tmp/lib"
    [[ $output == *"core/rng.c:"*": core/ may not include serve/"* ]]
    rm -rf "$tmp/lib"
    cp -r lib "$tmp/lib"
    mkdir "$tmp/lib/extra"
    touch "$tmp/lib/extra/x.c"
    run -1 tests/check-layers "$tmp/lib"
    [[ $output == *"lib/extra/ is not in the layer table"* ]]
    rm -rf "$tmp/lib"
    cp -r lib "$tmp/lib"
    echo '#include "err.h"' >> "$tmp/lib/io/io.c"
    run -1 tests/check-layers "$tmp/lib"
    [[ $output == *'io/io.c:'*'#include "err.h"'* ]]
    rm -rf "$tmp"
}

@test "every text field in src/ and lib/ goes out through the escaping writer" {
    run -0 tests/check-writers
    [ -z "$output" ]
}

@test "check-writers rejects %s in rs_writer_printf, a raw rs_writer_write and stdout printf, and only those" {
    t=$BATS_TEST_TMPDIR
    mkdir -p "$t/src"
    # an id field written raw three ways, each where the tool writes its rows
    cat > "$t/src/rs-x.c" <<'EOF'
static void help(void)
{
    printf("Usage: rs-x\n");
}

static int put_row(struct rs_writer *w, const char *id, size_t n, int k)
{
    int rc = rs_writer_printf(w, "%d\t", k) | rs_writer_printf(w, "%%s is fine\n");
    rc |= rs_writer_printf(w, k ? "%.*s\t" : "\t", (int)n, id);
    rc |= rs_writer_write(w, id,
                          n);
    fprintf(stderr, "%s\n", id); /* stderr: a message */
    /* rs_writer_printf(w, "%s", id) in a comment */
    printf("%s\n", id);
    return rc | rs_writer_put_field(w, id, n);
}
EOF
    run -1 tests/check-writers "$t/src/rs-x.c"
    [ "${#lines[@]}" -eq 3 ]
    [[ ${lines[0]} == "$t/src/rs-x.c:9: a string written with rs_writer_printf"* ]]
    [[ ${lines[1]} == "$t/src/rs-x.c:10: raw rs_writer_write outside"* ]]
    [[ ${lines[2]} == "$t/src/rs-x.c:14: printf writes outside the escaping writer"* ]]
    # the allow-list names files and functions: rs-cat's JSON numbers pass
    run -0 tests/check-writers src/rs-cat.c
}

@test "numbers are parsed only through core/num.h (tests/check-numparse)" {
    run -0 tests/check-numparse
    [ -z "$output" ]
}

@test "check-numparse rejects strtod, atoi and sscanf outside lib/core/num.c" {
    tmp=$(mktemp -d)
    cp -r lib src "$tmp/"
    echo 'static double f(const char *s) { return strtod(s, 0); }' >> "$tmp/lib/io/tsv.c"
    echo 'static int g(const char *s) { return atoi (s); }' >> "$tmp/src/rs-cat.c"
    echo 'static int h(const char *s, int *v) { return sscanf(s, "%d", v); }' >> "$tmp/lib/core/num.h"
    run -1 tests/check-numparse "$tmp"
    [[ $output == *"lib/io/tsv.c:"*"strtod(s, 0)"* ]]
    [[ $output == *"src/rs-cat.c:"*"atoi (s)"* ]]
    [[ $output == *"lib/core/num.h:"*"sscanf("* ]]
    rm -rf "$tmp"
}

@test "check-bats passes the repository's tests" {
    run -0 tests/check-bats
    [ -z "$output" ]
}

@test "check-bats rejects a bare '!' or a chain of tests before a test's last line, and only those" {
    t=$BATS_TEST_TMPDIR
    cp tests/02-rs-synth.bats "$t/copy.bats"
    first=$(grep -n -m1 '^@test ' "$t/copy.bats" | cut -d: -f1)
    sed -i "${first}a\\    ! cmp -s a b" "$t/copy.bats"
    run -1 tests/check-bats "$t/copy.bats"
    [ "$output" = "$t/copy.bats:$((first + 1)): bare '!' assertion never fails in bats; write 'run ! cmd' or '! cmd || false'" ]
    # the same inside a function after a here-string, on a line continued
    # with a backslash, and with "|| true"; and a chain of tests
    printf 'f() {\n    cat <<< word\n    ! cmp -s a \\\n        b\n    ! cmp -s a b || true\n    [ -e a ] && [[ -e b ]]\n    true\n}\n' > "$t/f.bats"
    run -1 tests/check-bats "$t/f.bats"
    [ "${#lines[@]}" -eq 3 ]
    [ "${lines[0]}" = "$t/f.bats:3: bare '!' assertion never fails in bats; write 'run ! cmd' or '! cmd || false'" ]
    [ "${lines[1]}" = "$t/f.bats:5: bare '!' assertion never fails in bats; write 'run ! cmd' or '! cmd || false'" ]
    [ "${lines[2]}" = "$t/f.bats:6: in bats only the last test of '[ a ] && [ b ]' can fail; write one test a line" ]
    # accepted: '!' as the last command (continued, then a comment and a blank
    # line), inside [ ], after run, with || false, and in a here-document; a
    # chain of tests as the last command, a test that guards an assignment
    run -0 tests/check-bats tests/fixtures/check-bats/ok.bats
    [ -z "$output" ]
}

# mini_repo LINE: a scratch tree with copies of tests/run and tests/check-bats
# and one bats test whose first line is LINE; sets r to its root.
mini_repo() {
    r=$BATS_TEST_TMPDIR/repo
    mkdir -p "$r/tests" "$r/build/tests"
    cp tests/run tests/check-bats "$r/tests/"
    : > "$r/tests/helpers.bash"
    printf '@test "t" {\n    %s\n    true\n}\n' "$1" > "$r/tests/t.bats"
}

@test "tests/run refuses a suite with a bare '!' assertion" {
    mini_repo '! false'
    run -1 "$r/tests/run" cli
    [[ $output == *"tests/t.bats:2: bare '!' assertion never fails in bats"* ]]
    [[ $output == *"not ok - tests/check-bats"* ]]
    [[ $output == *"0 passed, 1 failed, 0 skipped" ]]
    mini_repo 'run ! false'
    run -0 "$r/tests/run" cli
    [[ $output == *"1 passed, 0 failed, 0 skipped" ]]
}

@test "a fuzz replay over a missing or empty corpus fails, in replay and in tests/run; so do unit tests that assert nothing" {
    t=$BATS_TEST_TMPDIR
    mini_repo true
    printf '#include <stdint.h>\n#include <stdio.h>\n%s\n' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; printf("%zu\n", n); return 0; }' > "$t/stub.c"
    replay=$r/build/tests/replay-x
    ${CC:-cc} -std=c11 -o "$replay" tests/fuzz/replay.c "$t/stub.c"
    mkdir -p "$t/empty" "$t/two"
    printf a > "$t/two/1"
    printf bb > "$t/two/2"
    run -0 "$replay" "$t/two"
    [ "$(sort <<< "$output")" = "$(printf '1\n2\nreplayed 2 inputs')" ]
    run -2 --separate-stderr "$replay" "$t/empty"
    [ "$stderr" = "replay: $t/empty holds no inputs" ]
    run -2 --separate-stderr "$replay" "$t/two" "$t/empty"
    [ "$stderr" = "replay: $t/empty holds no inputs" ]
    run -2 --separate-stderr "$replay" "$t/missing"
    [ "$stderr" = "replay: cannot read $t/missing" ]
    # tests/run (with one passing unit test): a missing corpus, then an empty
    # one, fail the run; one input passes
    printf '#!/bin/sh\necho "ok 1 - fine"\necho 1..1\n' > "$r/build/tests/test-x"
    chmod +x "$r/build/tests/test-x"
    run -1 env BUILD=build "$r/tests/run" unit
    [[ $output == *"replay: cannot read tests/fuzz/corpus/x"* ]]
    [[ $output == *"not ok - fuzz target x: a corpus or regression directory is missing or empty"* ]]
    mkdir -p "$r/tests/fuzz/corpus/x"
    run -1 env BUILD=build "$r/tests/run" unit
    [[ $output == *"replay: tests/fuzz/corpus/x holds no inputs"* ]]
    [[ $output == *"1 passed, 1 failed, 0 skipped" ]]
    printf a > "$r/tests/fuzz/corpus/x/1"
    run -0 env BUILD=build "$r/tests/run" unit
    [[ $output == *"ok - fuzz target x survives its corpus and regressions (1 inputs)"* ]]
    [[ $output == *"2 passed, 0 failed, 0 skipped" ]]
    # and so do a unit test that asserts nothing, and no unit test at all
    printf '#!/bin/sh\necho 1..0\n' > "$r/build/tests/test-x"
    run -1 env BUILD=build "$r/tests/run" unit
    [[ $output == *"not ok - test-x ran no assertions"* ]]
    rm "$r/build/tests/test-x"
    run -1 env BUILD=build "$r/tests/run" unit
    [[ $output == *"not ok - no unit tests in build/tests/"* ]]
}
