#!/usr/bin/env bats
# rs-cluster --pca: projections equal numpy's, each component signed so its
# largest-magnitude entry is positive.
load helpers

# pca_vs_numpy D M: 400 vectors of D dims with decaying variances; rs-cluster
# --pca M must project them as numpy.linalg.eigh's top M eigenvectors do.
pca_vs_numpy() {
    $PYTHON - "$1" <<'PY'
import sys
import numpy as np
d = int(sys.argv[1])
r = np.random.default_rng(3)
x = r.normal(size=(400, d)) @ np.diag(5 * 0.7 ** np.arange(d)) @ np.linalg.qr(r.normal(size=(d, d)))[0] + 2
with open("v.tsv", "w") as f:
    f.write("id\t" + "\t".join(f"v{j}" for j in range(d)) + "\n")
    for i, row in enumerate(x.astype(np.float32)):
        f.write(f"i{i}\t" + "\t".join("%.9g" % v for v in row) + "\n")
PY
    rs-cat --to rsb -o v.rsb v.tsv
    run -0 --separate-stderr rs-cluster --pca "$2" -o map.tsv v.rsb
    assert_stderr_has "pc$2: variance"
    $PYTHON - "$2" <<'PY'
import sys
import numpy as np
m = int(sys.argv[1])
rows = [l.rstrip("\n").split("\t") for l in open("v.tsv")][1:]
x = np.array([[float(v) for v in r[1:]] for r in rows])
got = [l.rstrip("\n").split("\t") for l in open("map.tsv")]
assert got[0] == ["item_id"] + [f"pc{c + 1}" for c in range(m)], got[0]
y = np.array([[float(v) for v in r[1:]] for r in got[1:]])
xc = x - x.mean(0)
w, v = np.linalg.eigh(np.cov(xc.T, bias=True))
v = v[:, ::-1][:, :m]
v *= np.sign(v[np.abs(v).argmax(0), range(m)])  # the sign convention of rs_sym_eig
ref = xc @ v
for c in range(m):
    err = np.abs(ref[:, c] - y[:, c]).max()
    assert err < 1e-3 * np.abs(ref[:, c]).max(), (c, err)
PY
}

@test "--pca 2 of 6 dims projects like numpy's eigh of the covariance, signs fixed" {
    pca_vs_numpy 6 2
}

@test "--pca 5 of 32 dims (a subset of the spectrum) projects like numpy's eigh" {
    pca_vs_numpy 32 5
}

@test "--pca beyond the dimensions is an error; output is not left behind" {
    printf 'id\tx\ty\na\t1\t2\nb\t3\t5\n' | rs-cat --to rsb -o v.rsb
    run -1 --separate-stderr rs-cluster --pca 3 -o map.tsv v.rsb
    assert_stderr_has "has 2 dims, fewer than --pca 3"
    [ ! -e map.tsv ]
    run -2 --separate-stderr rs-cluster --pca 0 v.rsb
}
