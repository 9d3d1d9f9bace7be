# Shared setup of the MPI suite (tests/mpi/*.bats, run by `make test-mpi`):
# the bats helpers, Open MPI's settings for loopback in a container, and
# the skip when the tools were not built with MPI=1.
load ../helpers

# As root, Open MPI refuses to start without these; TCP on loopback only
# (no shared-memory or InfiniBand probing in containers); more ranks than
# cores (CI has 2).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
# The sanitizer build (make test-mpi SANITIZE=1): Open MPI keeps memory until
# exit in plugins it has unloaded, which LeakSanitizer reports from frames it
# cannot name (so no suppression matches them). Leaks of our own code are
# checked by `make SANITIZE=1 test`, on the same library with one rank.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
    command -v mpirun > /dev/null || skip "mpirun not installed (make deps MPI=1)"
    rs-cat --version | grep -q 'mpi=yes' || skip "$BIN was not built with MPI=1 (make test-mpi)"
}

# mpi N TOOL ARGS...: TOOL from $BIN on N ranks.
mpi() {
    local n=$1
    shift
    mpirun -np "$n" "$BIN/$@"
}

# close_tsv A B COLS TOL: the numeric columns COLS (comma list) of the two
# TSV files agree within TOL relative (absolute below 1), line by line.
close_tsv() {
    paste "$1" "$2" | awk -F'\t' -v cols="$3" -v tol="$4" -v w="$(head -1 "$1" | awk -F'\t' '{ print NF }')" '
        NR == 1 { next }
        { n = split(cols, c, ","); for (k = 1; k <= n; k++) {
            a = $c[k]; b = $(c[k] + w); d = a - b; if (d < 0) d = -d
            s = a < 0 ? -a : a; if (s < 1) s = 1
            if (d > tol * s) { printf "line %d column %d: %s vs %s\n", NR, c[k], a, b; bad = 1 } } }
        END { exit bad }'
}
