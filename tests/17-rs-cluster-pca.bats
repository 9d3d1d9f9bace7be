#!/usr/bin/env bats
# rs-cluster --pca: projections equal numpy's (up to each component's sign).
load helpers

@test "--pca 2 projects like numpy's eigen-decomposition of the covariance" {
    $PYTHON - <<'PY'
import numpy as np
r = np.random.default_rng(3)
x = r.normal(size=(400, 6)) @ np.diag([5, 3, 1, 0.5, 0.2, 0.1]) @ np.linalg.qr(r.normal(size=(6, 6)))[0] + 2
with open("v.tsv", "w") as f:
    f.write("id\t" + "\t".join(f"v{j}" for j in range(6)) + "\n")
    for i, row in enumerate(x.astype(np.float32)):
        f.write(f"i{i}\t" + "\t".join("%.9g" % v for v in row) + "\n")
PY
    rs-cat --to rsb -o v.rsb v.tsv
    run -0 --separate-stderr rs-cluster --pca 2 -o map.tsv v.rsb
    assert_stderr_has "pc1: variance"
    $PYTHON - <<'PY'
import numpy as np
rows = [l.rstrip("\n").split("\t") for l in open("v.tsv")][1:]
x = np.array([[float(v) for v in r[1:]] for r in rows])
got = [l.rstrip("\n").split("\t") for l in open("map.tsv")]
assert got[0] == ["item_id", "pc1", "pc2"], got[0]
y = np.array([[float(v) for v in r[1:]] for r in got[1:]])
xc = x - x.mean(0)
w, v = np.linalg.eigh(np.cov(xc.T, bias=True))
ref = xc @ v[:, ::-1][:, :2]
for c in range(2):
    s = np.sign(ref[:, c] @ y[:, c])
    err = np.abs(s * ref[:, c] - y[:, c]).max()
    assert err < 1e-3 * np.abs(ref[:, c]).max(), (c, err)
PY
}

@test "--pca beyond the dimensions is an error; output is not left behind" {
    printf 'id\tx\ty\na\t1\t2\nb\t3\t5\n' | rs-cat --to rsb -o v.rsb
    run -1 --separate-stderr rs-cluster --pca 3 -o map.tsv v.rsb
    assert_stderr_has "has 2 dims, fewer than --pca 3"
    [ ! -e map.tsv ]
    run -2 --separate-stderr rs-cluster --pca 0 v.rsb
}
