#!/usr/bin/env bats
# rs-cluster: k-means on item embeddings -> item_id, cluster + centroids RSB.
load helpers

# blobs FILE N K SEED: N 4-dim points around K centres 50 apart, as RSB; the
# true blob of each id is in FILE.truth.tsv.
blobs() {
    "$PYTHON" - "$@" <<'EOF'
import sys
import numpy as np
path, n, k, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
r = np.random.default_rng(seed)
with open(path + ".tsv", "w") as f, open(path + ".truth.tsv", "w") as t:
    f.write("id\tv1\tv2\tv3\tv4\n")
    t.write("item_id\tblob\n")
    for i in range(n):
        b = i % k
        v = r.standard_normal(4) + np.array([50.0 * b, 0, 0, 0])
        f.write("it%d\t%s\n" % (i, "\t".join("%.6f" % x for x in v)))
        t.write("it%d\t%d\n" % (i, b))
EOF
    rs-cat --to rsb -o "$1" "$1.tsv"
}

@test "rs-cluster --help and --version" {
    run -0 --separate-stderr rs-cluster --help
    [[ "$output" == *"Usage: rs-cluster"* ]]
    [[ "$output" == *"--n-init N"* ]]
    [[ "$output" == *"Examples:"* ]]
    [ -z "$stderr" ]
    run -0 rs-cluster --version
    [[ "$output" == *"openblas=yes"* ]]
}

@test "usage errors exit 2, missing file exits 1" {
    run -2 --separate-stderr rs-cluster --bogus
    assert_stderr_has "Try 'rs-cluster --help'"
    run -2 --separate-stderr rs-cluster -k 0 x.rsb
    run -2 --separate-stderr rs-cluster a.rsb b.rsb
    run -1 --separate-stderr rs-cluster -k 2 nope.rsb
    assert_stderr_has "cannot open 'nope.rsb'"
}

@test "planted blobs are recovered; inertia logged per iteration and recomputable" {
    blobs b.rsb 600 5 1
    run -0 --separate-stderr rs-cluster -k 5 --centroids c.rsb -o out.tsv b.rsb
    assert_stderr_has "init 1 iteration 1: inertia"
    assert_stderr_has "after"
    head -1 out.tsv | grep -q '^item_id	cluster$'
    [ "$(wc -l < out.tsv)" -eq 601 ]
    # each blob maps to one cluster and the 5 clusters are distinct
    run -0 awk -F'\t' 'FNR == 1 { next } NR == FNR { t[$1] = $2; next }
                       { m[t[$1] FS $2] = 1; c[$2] = 1 } END { print length(m), length(c) }' b.rsb.truth.tsv out.tsv
    [ "$output" = "5 5" ]
    rs-cat c.rsb > c.tsv
    [ "$(wc -l < c.tsv)" -eq 6 ]
    rs-cat b.rsb > b.view.tsv
    # the final logged inertia equals sum ||x - c(x)||^2 computed in numpy
    final=$(printf '%s\n' "$stderr" | sed -n 's/.*: inertia \([^ ]*\) after.*/\1/p')
    "$PYTHON" - "$final" <<'EOF'
import sys
import numpy as np
rows = [l.rstrip("\n").split("\t") for l in open("b.view.tsv")][1:]
x = {r[0]: np.array(r[1:], float) for r in rows}
c = {r.split("\t")[0]: np.array(r.rstrip("\n").split("\t")[1:], float) for r in list(open("c.tsv"))[1:]}
a = [l.rstrip("\n").split("\t") for l in list(open("out.tsv"))[1:]]
inertia = sum(((x[i] - c[k]) ** 2).sum() for i, k in a)
assert abs(inertia - float(sys.argv[1])) < 1e-3 * inertia, (inertia, sys.argv[1])
EOF
}

@test "stdin, file and .zst input agree; a pipe composes with rs-cat" {
    blobs b.rsb 200 3 2
    rs-cluster -q -k 3 b.rsb > a.tsv
    rs-cluster -q -k 3 < b.rsb > b.tsv
    zstd -q b.rsb -o b.rsb.zst
    rs-cluster -q -k 3 b.rsb.zst > c.tsv
    assert_same a.tsv b.tsv
    assert_same a.tsv c.tsv
    rs-cat --to rsb b.rsb.tsv | rs-cluster -q -k 3 | rs-cat > d.tsv
    assert_same a.tsv d.tsv
}

@test "two runs byte-identical; --n-init and seeds" {
    blobs b.rsb 300 4 3
    rs-cluster -q -k 6 -j 2 --centroids c1.rsb b.rsb > a.tsv
    rs-cluster -q -k 6 -j 2 --centroids c2.rsb b.rsb > b.tsv
    assert_same a.tsv b.tsv
    assert_same c1.rsb c2.rsb
    run -0 --separate-stderr rs-cluster -k 6 --n-init 3 -s 9 -o n3.tsv b.rsb
    assert_stderr_has "init 3 iteration 1"
}

@test "1, 2 and 3 threads give the same bytes (blocks of 256 rows, sums in a fixed order)" {
    blobs b.rsb 1100 5 8
    rs-cluster -q -k 7 -j 1 --centroids c1.rsb b.rsb > a1.tsv
    OPENBLAS_NUM_THREADS=2 rs-cluster -q -k 7 -j 2 --centroids c2.rsb b.rsb > a2.tsv
    rs-cluster -q -k 7 -j 3 --centroids c3.rsb b.rsb > a3.tsv
    assert_same a1.tsv a2.tsv
    assert_same a1.tsv a3.tsv
    assert_same c1.rsb c2.rsb
    assert_same c1.rsb c3.rsb
}

@test "empty, header-only and bad inputs" {
    printf 'id\tv1\tv2\n' | rs-cat --to rsb -o none.rsb
    run -1 --separate-stderr rs-cluster -k 2 none.rsb
    assert_stderr_has "0 rows, fewer than -k 2"
    : > empty.rsb
    run -1 --separate-stderr rs-cluster -k 2 empty.rsb
    blobs b.rsb 100 2 4
    head -c 500 b.rsb > cut.rsb
    run -1 --separate-stderr rs-cluster -k 2 cut.rsb
    assert_stderr_has "truncated"
    printf 'id\tv1\n' > t.tsv
    run -1 --separate-stderr rs-cluster -k 2 t.tsv
}

@test "-o /dev/full fails; a failed run leaves no output" {
    blobs b.rsb 100 2 5
    run -1 --separate-stderr rs-cluster -q -k 2 -o /dev/full b.rsb
    run -1 --separate-stderr rs-cluster -q -k 200 -o out.tsv --centroids c.rsb b.rsb
    [ ! -e out.tsv ]
    [ ! -e c.rsb ]
    [ -z "$(ls | grep -v '^b\.rsb\|^separate-stderr-')" ]
}
