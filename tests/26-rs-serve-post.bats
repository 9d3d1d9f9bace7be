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
    [ "$n" = 400 ] && [ "$moved" -gt 40 ]     # the rules changed many lists
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
