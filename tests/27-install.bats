#!/usr/bin/env bats
# Installing like a Unix toolkit: man pages from --help (help2man), bash
# completion from --help, make install / uninstall with PREFIX and DESTDIR.
# (The Debian package is checked by packaging/check-deb, a step of .ci/run.)
load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

# install_to DIR: make install DESTDIR=DIR PREFIX=/usr, quietly.
install_to() {
    make -s -C "$ROOT" install DESTDIR="$1" PREFIX=/usr > install.log 2>&1 || { cat install.log; return 1; }
}

@test "make install DESTDIR PREFIX=/usr: tools, man pages, completion, schemas, docs, examples" {
    install_to "$PWD/root"
    for src in "$ROOT"/src/rs-*.c; do
        t=$(basename "$src" .c)
        [ -x "root/usr/bin/$t" ] || { echo "no root/usr/bin/$t"; false; }
        [ -s "root/usr/share/man/man1/$t.1" ] || { echo "no man page for $t"; false; }
        [ -e "root/usr/share/bash-completion/completions/$t" ] || { echo "no completion for $t"; false; }
    done
    for f in "$ROOT"/schemas/*.md; do
        assert_same "$f" "root/usr/share/doc/recsys-pipes/schemas/$(basename "$f")"
    done
    assert_same "$ROOT/README.md" root/usr/share/doc/recsys-pipes/README.md
    [ -x root/usr/share/recsys-pipes/examples/tower-numpy.py ]
    [ -s root/usr/share/recsys-pipes/examples/synth-tower.json ]
    [ -s root/usr/share/recsys-pipes/pipelines/demo.mk ]
    [ -s root/usr/share/recsys-pipes/python/recsys_pipes_io.py ]
}

@test "man rs-retrieve from the installed tree renders without warnings; NAME, SYNOPSIS, FILES name /usr" {
    install_to "$PWD/root"
    run -0 --separate-stderr env MANPATH="$PWD/root/usr/share/man" MANWIDTH=80 man --warnings rs-retrieve
    [ -z "$stderr" ] || { echo "$stderr"; false; }
    [[ "$output" == *"rs-retrieve - top-K retrieval"* ]]
    [[ "$output" == *"SYNOPSIS"*"rs-retrieve [OPTIONS] --users FILE"*"rs-retrieve index tune"*"DESCRIPTION"* ]]
    [[ "$output" != *"features: openblas"* ]] # --version's first line only
    [[ "$output" == *"/usr/share/doc/recsys-pipes/schemas/"* ]]
    [[ "$output" == *"--nprobe"* ]]
    for page in root/usr/share/man/man1/*.1; do
        run -0 --separate-stderr env MANWIDTH=80 man --warnings -l "$page"
        [ -z "$stderr" ] || { echo "$page: $stderr"; false; }
        [[ "$output" == *"NAME"*"SYNOPSIS"*"DESCRIPTION"* ]] || { echo "$page lacks a section"; false; }
    done
    run -0 lexgrog root/usr/share/man/man1/rs-cat.1
    [[ "$output" == *'"rs-cat - print, inspect, convert and export'* ]]
}

@test "a man page follows its tool's --help, and PREFIX names the schemas' folder" {
    make -s -C "$ROOT" install DESTDIR="$PWD/root" PREFIX=/opt/rs > make.log 2>&1 || { cat make.log; false; }
    run -0 env MANWIDTH=200 man -l root/opt/rs/share/man/man1/rs-cat.1
    [[ "$output" == *"/opt/rs/share/doc/recsys-pipes/schemas/"* ]]
    # every long option of the help is in the page
    for o in $(root/opt/rs/bin/rs-cat --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
        [[ "$output" == *"$o"* ]] || { echo "man page lacks $o"; false; }
    done
}

@test "make uninstall removes exactly what install put there" {
    mkdir -p root/usr/bin root/usr/share/doc
    echo mine > root/usr/bin/other-tool
    echo mine > root/usr/share/doc/other.md
    install_to "$PWD/root"
    [ "$(find root -type f -o -type l | wc -l)" -gt 60 ]
    make -s -C "$ROOT" uninstall DESTDIR="$PWD/root" PREFIX=/usr > un.log 2>&1 || { cat un.log; false; }
    run -0 bash -c 'find root -type f -o -type l | sort'
    [ "$output" = "$(printf 'root/usr/bin/other-tool\nroot/usr/share/doc/other.md')" ]
    [ ! -e root/usr/share/recsys-pipes ] && [ ! -e root/usr/share/doc/recsys-pipes ]
}

# complete WORD...: the completions of the last word after WORD... (bash-completion's protocol).
complete_words() {
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _rs_complete
             printf "%s\n" "${COMPREPLY[@]}"' _ "$ROOT/completion/rs.bash" "$@"
}

@test "bash completion: options and subcommands from each tool's --help" {
    run -0 complete_words rs-cat --sch
    [ "$output" = "--schema" ]
    run -0 complete_words rs-cat --to
    [ "$output" = "--to" ]
    run -0 complete_words rs-retrieve in
    [ "$output" = "index" ]
    run -0 complete_words rs-retrieve index ""
    [ "$output" = "$(printf 'build\ntune')" ]
    run -0 complete_words rs-embed --mod
    [ "$output" = "$(printf -- '--model\n--model-id')" ]
    touch users.tsv
    run -0 complete_words rs-embed --users us
    [ "$output" = "users.tsv" ]
    run -0 bash -c 'source "$1"; complete -p rs-train-tower rs-synth' _ "$ROOT/completion/rs.bash"
    [[ "$output" == *"complete -F _rs_complete rs-train-tower"* ]]
}
