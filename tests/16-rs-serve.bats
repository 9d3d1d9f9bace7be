#!/usr/bin/env bats
# rs-serve: HTTP answers, errors, hot swap, refusal of a corrupt bundle.
load helpers

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
    rs-cat --to rsb -o items.rsb.new items.tsv && mv items.rsb.new items.rsb
    rs-cat --to rsb -o users.rsb users.tsv
}

start_server() {
    rs-serve --items-emb items.rsb --users-emb users.rsb --seen seen.tsv --items attrs.tsv \
        --port 0 --port-file port --watch 1 -j 2 "$@" 2> server.log &
    SERVER=$!
    for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
    URL=http://127.0.0.1:$(cat port)
}

teardown() {
    [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    return 0
}

get() { curl -s -o body -w '%{http_code}' "$URL$1"; }

# The version the server reports now.
version() { curl -s "$URL/healthz" | sed 's/.*"version":\([0-9]*\).*/\1/'; }

# Waits (up to 5 s) until the version is above $1.
wait_version_above() {
    for _ in $(seq 50); do [ "$(version)" -gt "$1" ] && return 0; sleep 0.1; done
    echo "version stayed at $(version), expected above $1"; return 1
}

@test "rs-serve --help and --version" {
    run -0 rs-serve --help
    [[ "$output" == *"GET /recommend?user_id=U&k=10"* ]]
    [[ "$output" == *"Examples:"* ]]
    run -0 rs-serve --version
    [[ "$output" == *"recsys-pipes"* ]]
}

@test "usage errors exit 2; a corrupt bundle at start exits 1" {
    run -2 --separate-stderr rs-serve
    assert_stderr_has "--items-emb is required"
    run -2 --separate-stderr rs-serve --items-emb x --bogus
    echo junk > bad.rsb
    run -1 --separate-stderr rs-serve --items-emb bad.rsb --port 0
    assert_stderr_has "'bad.rsb': not an RSB stream"
}

@test "/recommend equals an exact numpy top-k excluding seen and out-of-stock items" {
    make_bundle 1
    start_server
    for u in 0 3 5; do
        [ "$(get "/recommend?user_id=u$u&k=7")" = 200 ]
        $PYTHON - "$u" <<'PY'
import json, sys, numpy as np
u = int(sys.argv[1]); I = np.load("I.npy"); U = np.load("U.npy")
s = I @ U[u]
seen = set(range(u, 60, 7)); out = {k for k in range(60) if k % 10 == 3}
order = sorted((k for k in range(60) if k not in seen and k not in out), key=lambda k: (-s[k], k))[:7]
got = json.load(open("body"))
assert got["fallback"] is None, got
assert [it["item_id"] for it in got["items"]] == [f"i{k}" for k in order], (got, order)
assert all(abs(it["score"] - s[k]) < 1e-4 for it, k in zip(got["items"], order))
assert [it["rank"] for it in got["items"]] == list(range(1, 8))
PY
    done
}

@test "/similar excludes the item itself; unknown user gets the popular fallback" {
    make_bundle 1
    start_server
    [ "$(get "/similar?item_id=i4&k=5")" = 200 ]
    $PYTHON -c "
import json, numpy as np
I = np.load('I.npy'); s = I @ I[4]
order = sorted((k for k in range(60) if k != 4 and k % 10 != 3), key=lambda k: (-s[k], k))[:5]
got = [it['item_id'] for it in json.load(open('body'))['items']]
assert got == ['i%d' % k for k in order], (got, order)"
    [ "$(get "/recommend?user_id=stranger&k=3")" = 200 ]
    grep -q '"fallback":"popular"' body
    [ "$(jq -r '.items | length' body 2>/dev/null || $PYTHON -c "import json; print(len(json.load(open('body'))['items']))")" = 3 ]
}

@test "malformed requests get JSON 4xx errors, never a crash" {
    make_bundle 1
    start_server
    [ "$(get "/recommend?k=3")" = 400 ]
    grep -q "missing parameter 'user_id'" body
    for k in 0 -1 abc 1001 99999999999999999999 ''; do
        [ "$(get "/recommend?user_id=u1&k=$k")" = 400 ]
    done
    [ "$(get "/similar?item_id=nope")" = 404 ]
    [ "$(get "/nowhere")" = 404 ]
    [ "$(curl -s -o body -w '%{http_code}' -X POST -d 'x=1' "$URL/recommend")" = 405 ]
    [ "$(get "/recommend?user_id=%ff%fe&k=2")" = 400 ]
    grep -q "UTF-8" body
    [ "$(get "/recommend?user_id=%00&k=2")" = 400 ]
    [ "$(get "/healthz")" = 200 ]
    [ "$(get "/metrics")" = 200 ]
    grep -q '"4xx":12' body
}

@test "hot swap: a replaced index is served, a corrupt one refused, SIGHUP reloads" {
    make_bundle 1
    start_server
    [ "$(get "/similar?item_id=i1&k=3")" = 200 ]
    grep -q '"version":1' body
    make_bundle 2                       # new catalogue: items n0..n59, renamed into place
    for _ in $(seq 50); do
        get "/healthz" > /dev/null; grep -q '"version":2' body && break; sleep 0.1
    done
    grep -q '"version":2' body
    [ "$(get "/similar?item_id=n1&k=3")" = 200 ]
    [ "$(get "/similar?item_id=i1&k=3")" = 404 ]
    head -c 100 items.rsb > cut.rsb && mv cut.rsb items.rsb    # truncated file: refused
    sleep 2.5
    [ "$(get "/similar?item_id=n1&k=3")" = 200 ]
    grep -q '"version":2' body
    [ "$(get "/metrics")" = 200 ]
    grep -q '"reload_failures":1' body
    grep -q "reload failed, keeping version 2" server.log
    make_bundle 2                       # a good file again: picked up
    wait_version_above 2
    sleep 1.5                           # let the watcher see every replaced file
    v=$(version)
    kill -HUP "$SERVER"                 # SIGHUP reloads even when nothing changed
    wait_version_above "$v"
}

@test "SIGTERM stops the server cleanly" {
    make_bundle 1
    start_server
    kill -TERM "$SERVER"
    wait "$SERVER"
    SERVER=
    grep -q stopped server.log
}

@test "--index: an ANN index probed fully answers like exact search; a mismatched index is refused" {
    make_bundle 1
    rs-retrieve index build -q --items items.rsb --partitions 4 -o items.idx
    start_server
    for u in 1 4; do get "/recommend?user_id=u$u&k=6" > /dev/null; cp body exact$u.json; done
    get "/similar?item_id=i7&k=5" > /dev/null; cp body sim_exact.json
    kill "$SERVER"; wait "$SERVER" 2>/dev/null; SERVER=; rm -f port
    start_server --index items.idx --nprobe 4 --rerank 60
    for u in 1 4; do
        [ "$(get "/recommend?user_id=u$u&k=6")" = 200 ]
        $PYTHON -c "
import json, sys
a = json.load(open('exact$u.json'))['items']; b = json.load(open('body'))['items']
assert [x['item_id'] for x in a] == [x['item_id'] for x in b], (a, b)"
    done
    [ "$(get "/similar?item_id=i7&k=5")" = 200 ]
    $PYTHON -c "
import json
a = json.load(open('sim_exact.json'))['items']; b = json.load(open('body'))['items']
assert [x['item_id'] for x in a] == [x['item_id'] for x in b], (a, b)"
    kill "$SERVER"; wait "$SERVER" 2>/dev/null; SERVER=
    head -5 items.tsv | rs-cat --to rsb -o few.rsb
    rs-retrieve index build -q --items few.rsb --partitions 2 -o few.idx
    run -1 --separate-stderr rs-serve --items-emb items.rsb --index few.idx --port 0
    assert_stderr_has "'few.idx' holds 4 items"
}

@test "--model + --users: the user tower runs at load; lists equal those from rs-embed's vectors" {
    "$PYTHON" "$FIXTURES/rs-train-tower/gen.py" .
    rs-train-tower -c tower.json --users users.tsv --items items.tsv --batch 32 --epochs 2 \
        --lr 0.02 -j 1 -q -o m.rsm train.tsv
    rs-embed -q -m m.rsm --users users.tsv -o users.rsb
    rs-embed -q -m m.rsm --items items.tsv -o items.rsb
    printf 'user_id\titem_id\n' > seen.tsv; printf 'item_id\tin_stock\n' > attrs.tsv
    start_server
    get "/recommend?user_id=$(sed -n 2p users.tsv | cut -f1)&k=5" > /dev/null; cp body a.json
    kill "$SERVER"; wait "$SERVER" 2>/dev/null; SERVER=; rm -f port
    rs-serve --items-emb items.rsb --model m.rsm --users users.tsv --seen seen.tsv --port 0 \
        --port-file port --watch 0 -j 2 2> server.log &
    SERVER=$!
    for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
    URL=http://127.0.0.1:$(cat port)
    [ "$(get "/recommend?user_id=$(sed -n 2p users.tsv | cut -f1)&k=5")" = 200 ]
    $PYTHON -c "
import json
a = json.load(open('a.json')); b = json.load(open('body'))
assert a['fallback'] is None and b['fallback'] is None, (a, b)
assert [x['item_id'] for x in a['items']] == [x['item_id'] for x in b['items']], (a, b)"
    run -2 --separate-stderr rs-serve --items-emb items.rsb --model m.rsm
    assert_stderr_has "--model and --users go together"
}

@test "/recommend equals the batch tools: rs-retrieve with the same exclusions and stock filter" {
    make_bundle 1
    awk -F'\t' 'NR == 1 || $2 == 0 { print $1 }' attrs.tsv > deny.tsv
    rs-retrieve -q --users users.rsb --items items.rsb -k 5 --exclude seen.tsv --deny deny.tsv -o batch.tsv
    start_server
    for u in 0 1 2 3 4 5; do
        get "/recommend?user_id=u$u&k=5" > /dev/null
        $PYTHON -c "
import json
got = [x['item_id'] for x in json.load(open('body'))['items']]
want = [l.split('\t')[1] for l in open('batch.tsv') if l.startswith('u$u\t')]
assert got == want, (got, want)"
    done
}
