#!/usr/bin/env bats
# The repository's own rules: library layers (lib/README.md).

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
    rm -rf "$tmp/lib" && cp -r lib "$tmp/lib"
    mkdir "$tmp/lib/extra" && touch "$tmp/lib/extra/x.c"
    run -1 tests/check-layers "$tmp/lib"
    [[ $output == *"lib/extra/ is not in the layer table"* ]]
    rm -rf "$tmp/lib" && cp -r lib "$tmp/lib"
    echo '#include "err.h"' >> "$tmp/lib/io/io.c"
    run -1 tests/check-layers "$tmp/lib"
    [[ $output == *'io/io.c:'*'#include "err.h"'* ]]
    rm -rf "$tmp"
}
