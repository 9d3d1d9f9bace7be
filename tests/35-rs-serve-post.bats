#!/usr/bin/env bats
# rs-serve's post-ranking: rs-diversify's rules per request, through the
# same library code, with the same result as the batch tool.
load helpers
load serve-helpers

POST="$BATS_TEST_DIRNAME/serve-post.py"

# The world of make_world, a second item table (venue, new) and a deny list.
post_world() {
    make_world
    printf 'item_id\tvenue\tnew\n' > more.tsv
    for i in $(seq 0 39); do printf 'i%d\tv%d\t%d\n' $i $((i % 5)) $((i % 3 == 0)); done >> more.tsv
    printf 'item_id\ni5\ni18\n' > deny.tsv
}

ranked_server() {
    serve --items-emb items.rsb --model m.rsm --users users.tsv --seen seen.tsv --items attrs.tsv \
        --candidates 30 --ranker rank.rsm --rank-users users.tsv --rank-items items.tsv "$@"
}

@test "1,000 random requests: the served lists equal rs-diversify on the candidates, byte for byte" {
    post_world
    # caps, quotas, boosts (x and +), stock and deny filters; round-robin; MMR
    A=(--by category --max-per-group 2 --boost new=1:1.3 --min-share venue=v2:0.3 --stock-col in_stock
       --deny deny.tsv)
    B=(--by venue --boost new=1:+0.2 --boost category=2:0.5)
    C=(--mmr 0.6 --min-share category=1:0.4)
    ranked_server --div-items more.tsv "${A[@]}"
    run -0 "$PYTHON" "$POST" "$URL" 400 1 -- --items attrs.tsv --items more.tsv "${A[@]}"
    echo "# $output" >&3; read -r n moved <<< "$output"
    [ "$n" = 400 ]
    [ "$moved" -gt 40 ]     # the rules changed many lists
    teardown
    ranked_server --div-items more.tsv "${B[@]}"
    run -0 "$PYTHON" "$POST" "$URL" 300 2 -- --items attrs.tsv --items more.tsv "${B[@]}"
    echo "# $output" >&3; read -r n moved <<< "$output"
    [ "$moved" -gt 30 ]
    teardown
    ranked_server --div-items items.rsb "${C[@]}"
    run -0 "$PYTHON" "$POST" "$URL" 300 3 -- --items attrs.tsv --items items.rsb "${C[@]}"
    echo "# $output" >&3; read -r n moved <<< "$output"
    [ "$moved" -gt 30 ]
}

# Positions for the geolocation filter: items (lat, lon in more.tsv; i39
# without), users (geo.tsv; u7 without), over about 2 degrees.
geo_world() {
    post_world
    printf 'item_id\tvenue\tnew\tlat\tlon\n' > more.tsv
    for i in $(seq 0 39); do
        if [ $i = 39 ]; then printf 'i39\tv4\t1\t\t\n'; continue; fi
        printf 'i%d\tv%d\t%d\t%s\t%s\n' $i $((i % 5)) $((i % 3 == 0)) 48.$((i * 7 % 20 / 2)) 2.$((i * 3 % 20 / 2))
    done >> more.tsv
    printf 'user_id\tlat\tlon\n' > geo.tsv
    for u in $(seq 0 89); do [ $u = 7 ] || printf 'u%d\t48.%d\t2.%d\n' $u $((u * 11 % 10)) $((u * 13 % 10)); done >> geo.tsv
}

@test "geolocation: --radius-km drops the items farther than R km from the user, as rs-diversify --radius-km does" {
    geo_world
    ranked_server --div-items more.tsv --geo-users geo.tsv --radius-km 40
    GEO=geo.tsv run -0 "$PYTHON" "$POST" "$URL" 300 4 -- --items attrs.tsv --items more.tsv --radius-km 40
    echo "# $output" >&3; read -r n moved <<< "$output"
    [ "$moved" -gt 30 ]
    # a request's own radius and position: exactly the candidates within it, by an independent haversine
    curl -s "$URL/recommend?user_id=u7&k=8&radius_km=25&lat=48.3&lon=2.6&debug=candidates" > near.json
    "$PYTHON" - <<'PY'
import json, math
got = json.load(open("near.json"))
pos = {}
for l in list(open("more.tsv"))[1:]:
    f = l.rstrip("\n").split("\t")
    if f[3]:
        pos[f[0]] = (float(f[3]), float(f[4]))
def km(a, b):
    (p1, l1), (p2, l2) = [(math.radians(x), math.radians(y)) for x, y in (a, b)]
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin((l2 - l1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))
near = [c["item_id"] for c in sorted(got["candidates"], key=lambda c: -c["score"])
        if c["item_id"] not in pos or km((48.3, 2.6), pos[c["item_id"]]) <= 25]
far = [c for c in got["candidates"] if c["item_id"] in pos and km((48.3, 2.6), pos[c["item_id"]]) > 25]
assert far and [x["item_id"] for x in got["items"]] == near[:8], (got["items"], near)
PY
    [ "$(get "/recommend?user_id=u7&k=8&radius_km=-1")" = 400 ]
    grep -q "parameter 'radius_km' must be a number in 0..40075" body
    [ "$(get "/recommend?user_id=u7&k=8&lat=48")" = 400 ]
    grep -q "'lat' and 'lon' go together" body
}

@test "post-ranking options are checked as rs-diversify checks them" {
    make_bundle 1
    run -2 --separate-stderr rs-serve --items-emb items.rsb --round-robin
    assert_stderr_has "--max-per-group and --round-robin need --by"
    run -2 --separate-stderr rs-serve --items-emb items.rsb --by category
    assert_stderr_has "need an item table in --items"
    run -2 --separate-stderr rs-serve --items-emb items.rsb --items attrs.tsv --boost category
    assert_stderr_has "invalid --boost 'category'"
    run -2 --separate-stderr rs-serve --items-emb items.rsb --items attrs.tsv --mmr 2
    assert_stderr_has "invalid value '2' for --mmr"
    run -1 --separate-stderr rs-serve --items-emb items.rsb --items attrs.tsv --mmr 0.5 --port 0
    assert_stderr_has "--mmr needs item embeddings"
}

@test "/score: the two-tower score of a pair, and the ranker's as rs-rank score gives it for the one-row list" {
    make_world
    ranked_server
    [ "$(curl -s -o pair.json -w '%{http_code}' "$URL/score?user_id=u3&item_id=i7&hour=14")" = 200 ]
    "$PYTHON" - <<'PY'
import json, subprocess
got = json.load(open("pair.json"))
def vec(path, id):
    rows = subprocess.run(["rs-cat", path], capture_output=True, text=True, check=True).stdout.splitlines()
    return next([float(x) for x in r.split("\t")[1:]] for r in rows[1:] if r.split("\t")[0] == id)
dot = sum(a * b for a, b in zip(vec("users.rsb", "u3"), vec("items.rsb", "i7")))
assert abs(got["tower_score"] - dot) < 1e-5 * max(1, abs(dot)), (got, dot)
assert got["source"] == "tower" and got["arm"] == "default" and len(got["request_id"]) == 32, got
with open("pair.tsv", "w") as f:
    f.write("user_id\titem_id\trank\tscore\thour\n")
    f.write("u3\ti7\t1\t%.9g\t14\n" % got["tower_score"])
PY
    OPENBLAS_NUM_THREADS=1 rs-rank score -q -j 1 -m rank.rsm --users users.tsv --items items.tsv \
        --user-emb users.rsb --item-emb items.rsb pair.tsv > batch.tsv
    "$PYTHON" - <<'PY'
import json
got = json.load(open("pair.json"))
rows = [l.rstrip("\n").split("\t") for l in open("batch.tsv")]
row = dict(zip(rows[0], rows[1]))
for k in ("score", "p_click", "p_booking"):
    assert "%.9g" % got[k] == row[k], (k, got, row)
PY
    [ "$(get "/score?user_id=u3&item_id=nope")" = 404 ]
    grep -q "unknown item 'nope'" body
    [ "$(get "/score?user_id=u3")" = 400 ]
    [ "$(get "/score?user_id=u3&item_id=i7&arm=zz")" = 400 ]
    curl -s "$URL/metrics" | grep -q 'rs_serve_request_duration_seconds_count{endpoint="score"} 4'
}
