# Shared by the rs-serve suites (16-rs-serve.bats, 25-rs-serve-load.bats):
# bundles, a server on a free port, requests.

# Writes items.rsb (N items × 4 dims), users.rsb, seen.tsv, attrs.tsv.
make_bundle() {
    $PYTHON - "$1" <<'PY'
import sys, numpy as np
seed = int(sys.argv[1]); r = np.random.default_rng(seed)
I = r.normal(size=(60, 4)).astype(np.float32); U = r.normal(size=(6, 4)).astype(np.float32)
def tsv(path, prefix, m):
    with open(path, "w") as f:
        f.write("id\tv1\tv2\tv3\tv4\n")
        for k, row in enumerate(m):
            f.write(f"{prefix}{k}\t" + "\t".join("%.9g" % x for x in row) + "\n")
tsv("items.tsv", "i" if seed == 1 else "n", I); tsv("users.tsv", "u", U)
np.save("I.npy", I); np.save("U.npy", U)
with open("seen.tsv", "w") as f:
    f.write("user_id\titem_id\n")
    for u in range(6):
        for i in range(u, 60, 7): f.write(f"u{u}\ti{i}\n")
with open("attrs.tsv", "w") as f:
    f.write("item_id\tin_stock\tcategory\n")
    for k in range(60): f.write(f"i{k}\t{int(k % 10 != 3)}\tc{k % 3}\n")
PY
    rs-cat --to rsb -o items.rsb.new items.tsv
    mv items.rsb.new items.rsb
    rs-cat --to rsb -o users.rsb users.tsv
}

# Writes the two-tower world of tests/fixtures/rs-train-tower (users.tsv with
# age, gender, history; items.tsv), its model m.rsm, users.rsb and items.rsb
# from rs-embed, seen.tsv, attrs.tsv (in_stock, category), and a ranker
# rank.rsm trained on planted clicks with the context column hour.
make_world() {
    "$PYTHON" "$FIXTURES/rs-train-tower/gen.py" .
    rs-train-tower -c tower.json --users users.tsv --items items.tsv --batch 32 --epochs 2 \
        --lr 0.02 -j 1 -q -o m.rsm train.tsv
    rs-embed -q -m m.rsm --users users.tsv -o users.rsb
    rs-embed -q -m m.rsm --items items.tsv -o items.rsb
    cp train.tsv seen.tsv
    "$PYTHON" - <<'PY'
import math, random
r = random.Random(3)
with open("attrs.tsv", "w") as f:
    f.write("item_id\tin_stock\tcategory\n")
    for i in range(40): f.write(f"i{i}\t{int(i % 10 != 3)}\t{i % 4}\n")
with open("rank_train.tsv", "w") as f:
    f.write("user_id\titem_id\trank\thour\tclick\tbooking\n")
    for _ in range(4000):
        u, i, h = r.randrange(80), r.randrange(40), r.randrange(24)
        z = 1.5 * (u % 4 == i % 4) - 1 + (0.8 if (h < 12) == (i % 2 == 0) else -0.8)
        c = int(r.random() < 1 / (1 + math.exp(-z)))
        f.write(f"u{u}\ti{i}\t{r.randint(1, 30)}\t{h}\t{c}\t{int(c and r.random() < 0.3)}\n")
PY
    cat > rank.json <<'JSON'
{"numeric": ["hour", "rank", "tower_score", {"name": "price", "log1p": true}],
 "categorical": ["user_id", "category", "gender"],
 "crosses": [["gender", "category"], ["hour", "category"]], "hidden": [16]}
JSON
    rs-rank train -q -j 1 -c rank.json --users users.tsv --items items.tsv --user-emb users.rsb \
        --item-emb items.rsb --epochs 3 -o rank.rsm rank_train.tsv
}

# serve ARGS...: rs-serve on a free port (no default bundle files).
serve() {
    rm -f port
    rs-serve --port 0 --port-file port --watch 1 -j 2 "$@" 2> server.log &
    SERVER=$!
    for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
    URL=http://127.0.0.1:$(cat port)
}

# get and post leave the answer in body without its request id, which
# differs from answer to answer, so that two answers compare.
post() { curl -s -o body -w '%{http_code}' -X POST --data-binary "$2" "$URL$1"; drop_request_id; }
drop_request_id() { sed -i 's/,"request_id":"[0-9a-f]*"//' body; }

start_server() {
    rm -f port
    rs-serve --items-emb items.rsb --users-emb users.rsb --seen seen.tsv --items attrs.tsv \
        --port 0 --port-file port --watch 1 -j 2 "$@" 2> server.log &
    SERVER=$!
    for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
    URL=http://127.0.0.1:$(cat port)
}

teardown() {
    [ -n "${HAMMER:-}" ] && kill "$HAMMER" 2>/dev/null # a load driver (25-rs-serve-load.bats)
    [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    return 0
}

get() { curl -s -o body -w '%{http_code}' "$URL$1"; drop_request_id; }

# The version the server reports now.
version() { curl -s "$URL/healthz" | sed 's/.*"version":\([0-9]*\).*/\1/'; }

# Waits (up to 5 s) until the version is above $1.
wait_version_above() {
    for _ in $(seq 50); do [ "$(version)" -gt "$1" ] && return 0; sleep 0.1; done
    echo "version stayed at $(version), expected above $1"; return 1
}
