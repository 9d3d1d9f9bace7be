#!/usr/bin/env bats
# rs-retrieve: exact search against numpy, exclude/allow/deny, similar items,
# baselines, the IVF index, and the conventions of every tool.
load helpers

REF="$BATS_TEST_DIRNAME/ref/knn_ref.py"

# mkvec FILE PREFIX N DIMS SEED [gauss]: integer vectors (exact dot
# products, real ties) in shuffled id order, as RSB; with gauss, gaussian
# ones in id order (scores rounded by sgemm, whose last bit a tile cut
# elsewhere could change).
mkvec() {
    "$PYTHON" - "$@" <<'EOF'
import sys
import numpy as np
path, prefix, n, d, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
gauss = sys.argv[6:] == ["gauss"]
r = np.random.default_rng(seed)
with open(path + ".tsv", "w") as f:
    f.write("id\t" + "\t".join("v%d" % (j + 1) for j in range(d)) + "\n")
    for i in range(n) if gauss else r.permutation(n):
        v = ("%.7f" % x for x in r.standard_normal(d)) if gauss else (str(x) for x in r.integers(-3, 4, d))
        f.write(prefix + str(i) + "\t" + "\t".join(v) + "\n")
EOF
    rs-cat --to rsb -o "$1" "$1.tsv"
}

setup_data() {
    mkvec users.rsb u 40 6 1
    mkvec items.rsb i 600 6 2
    rs-cat users.rsb > users.view.tsv
    rs-cat items.rsb > items.view.tsv
    "$PYTHON" - <<'EOF'
import numpy as np
r = np.random.default_rng(3)
with open("seen.tsv", "w") as f:
    f.write("user_id\titem_id\tevent\n")
    for _ in range(400):
        f.write("u%d\ti%d\tclick\n" % (r.integers(40), r.integers(600)))
with open("deny.tsv", "w") as f:
    f.write("item_id\n" + "".join("i%d\n" % i for i in r.integers(0, 600, 60)))
with open("allow.tsv", "w") as f:
    f.write("item_id\n" + "".join("i%d\n" % i for i in r.integers(0, 600, 80)))
EOF
}

@test "rs-retrieve --help lists options and examples" {
    run -0 --separate-stderr rs-retrieve --help
    [[ "$output" == *"Usage: rs-retrieve"* ]]
    [[ "$output" == *"--exclude FILE"* ]]
    [[ "$output" == *"--nprobe N"* ]]
    [[ "$output" == *"Examples:"* ]]
    [ -z "$stderr" ]
    run -0 rs-retrieve --version
    [[ "$output" == *"openblas=yes"* ]]
}

@test "usage errors exit 2" {
    run -2 --separate-stderr rs-retrieve --bogus
    assert_stderr_has "Try 'rs-retrieve --help'"
    run -2 --separate-stderr rs-retrieve --items x.rsb
    assert_stderr_has "exactly one of --users, --similar, --popular, --random"
    run -2 --separate-stderr rs-retrieve --users u.rsb
    assert_stderr_has "needs --items FILE or --index FILE"
    run -2 --separate-stderr rs-retrieve --popular ev.tsv
    assert_stderr_has "--users-from"
    run -2 --separate-stderr rs-retrieve --users u.rsb --items i.rsb -k 0
    run -2 --separate-stderr rs-retrieve index frobnicate
    run -2 --separate-stderr rs-retrieve index build --items i.rsb
    run -2 --separate-stderr rs-retrieve index build --items i.rsb -o x.idx --quant pq
    run -2 --separate-stderr rs-retrieve index build --items i.rsb -o x.idx.zst
    assert_stderr_has "cannot be zstd-compressed"
}

@test "missing file exits 1 naming it" {
    run -1 --separate-stderr rs-retrieve --users nope.rsb --items nope2.rsb
    assert_stderr_has "cannot open 'nope2.rsb'"
}

@test "exact search equals the numpy reference (ids, order, ties by item id, scores)" {
    setup_data
    rs-retrieve -q --users users.rsb --items items.rsb -k 25 > got.tsv
    "$PYTHON" "$REF" users.view.tsv items.view.tsv 25 > want.tsv
    assert_same got.tsv want.tsv
    [ "$(wc -l < got.tsv)" -eq $((40 * 25 + 1)) ]
}

@test "--exclude and --deny drop items without losing K; matches numpy" {
    setup_data
    rs-retrieve -q --users users.rsb --items items.rsb -k 30 --exclude seen.tsv --deny deny.tsv -j 3 --batch 7 > got.tsv
    "$PYTHON" "$REF" users.view.tsv items.view.tsv 30 --exclude seen.tsv --deny deny.tsv > want.tsv
    assert_same got.tsv want.tsv
    [ "$(wc -l < got.tsv)" -eq $((40 * 30 + 1)) ]
    # nothing seen or denied comes back
    run -0 awk -F'\t' 'FNR == 1 { next } FILENAME == "seen.tsv" { s[$1 FS $2] = 1; next }
                       FILENAME == "deny.tsv" { d[$1] = 1; next }
                       ($1 FS $2) in s || $2 in d { bad++ } END { print bad + 0 }' seen.tsv deny.tsv got.tsv
    [ "$output" = 0 ]
}

@test "--allow keeps only listed items; matches numpy" {
    setup_data
    rs-retrieve -q --users users.rsb --items items.rsb -k 10 --allow allow.tsv > got.tsv
    "$PYTHON" "$REF" users.view.tsv items.view.tsv 10 --allow allow.tsv > want.tsv
    assert_same got.tsv want.tsv
}

@test "--similar: item to other items, itself excluded; matches numpy" {
    setup_data
    rs-retrieve -q --similar --items items.rsb -k 8 > got.tsv
    "$PYTHON" "$REF" - items.view.tsv 8 --similar > want.tsv
    assert_same got.tsv want.tsv
    head -1 got.tsv | grep -q '^query_item_id	item_id	rank	score$'
    run -0 awk -F'\t' 'NR > 1 && $1 == $2' got.tsv
    [ -z "$output" ]
    rs-retrieve -q --similar --items items.rsb -k 2 --query-col item > renamed.tsv
    head -1 renamed.tsv | grep -q '^item	item_id'
}

@test "stdin, file and .zst users give the same output; a pipe from rs-cat composes" {
    setup_data
    rs-retrieve -q --users users.rsb --items items.rsb -k 5 > a.tsv
    rs-retrieve -q --users - --items items.rsb -k 5 < users.rsb > b.tsv
    zstd -q users.rsb -o users.rsb.zst
    rs-retrieve -q --users users.rsb.zst --items items.rsb -k 5 -o c.tsv.zst
    zstd -dcq c.tsv.zst > c.tsv
    assert_same a.tsv b.tsv
    assert_same a.tsv c.tsv
    rs-cat users.rsb | rs-cat --to rsb | rs-retrieve -q --users - --items items.rsb -k 5 | rs-cat > d.tsv
    assert_same a.tsv d.tsv
}

@test "two runs byte-identical; thread counts agree" {
    setup_data
    rs-retrieve -q --users users.rsb --items items.rsb -k 50 -j 2 > a.tsv
    rs-retrieve -q --users users.rsb --items items.rsb -k 50 -j 2 > b.tsv
    rs-retrieve -q --users users.rsb --items items.rsb -k 50 -j 1 > c.tsv
    assert_same a.tsv b.tsv
    assert_same a.tsv c.tsv
}

@test "real-valued scores: 1, 2 and 3 threads, batches of whole tiles, items split: the same bytes" {
    mkvec users.rsb u 1300 24 5 gauss
    mkvec items.rsb i 1700 24 6 gauss
    rs-retrieve -q --users users.rsb --items items.rsb -k 20 -j 1 > one.tsv
    OPENBLAS_NUM_THREADS=3 rs-retrieve -q --users users.rsb --items items.rsb -k 20 -j 2 > two.tsv
    rs-retrieve -q --users users.rsb --items items.rsb -k 20 -j 3 --batch 512 > three.tsv
    assert_same one.tsv two.tsv
    assert_same one.tsv three.tsv
    # one tile of queries (256) on 3 threads splits the items instead: the
    # same tiles, the same bytes
    head -257 users.rsb.tsv | rs-cat --to rsb -o few.rsb
    rs-retrieve -q --users few.rsb --items items.rsb -k 20 -j 3 > few.tsv
    head -n $((256 * 20 + 1)) one.tsv > first.tsv
    assert_same first.tsv few.tsv
    # the IVF index: built, and searched (two blocks of queries), on 1 and 3 threads
    rs-retrieve -q -j 1 index build --items items.rsb -o one.idx --partitions 20
    rs-retrieve -q -j 3 index build --items items.rsb -o three.idx --partitions 20
    assert_same one.idx three.idx
    rs-retrieve -q -j 1 --users users.rsb --index one.idx -k 10 --nprobe 4 --rerank 20 > ann1.tsv
    rs-retrieve -q -j 3 --users users.rsb --index one.idx -k 10 --nprobe 4 --rerank 20 > ann3.tsv
    assert_same ann1.tsv ann3.tsv
}

@test "empty and header-only inputs" {
    setup_data
    printf 'id\tv1\tv2\tv3\tv4\tv5\tv6\n' | rs-cat --to rsb -o none.rsb
    run -0 rs-retrieve -q --users none.rsb --items items.rsb -k 5
    [ "$output" = "$(printf 'user_id\titem_id\trank\tscore')" ]
    printf 'user_id\n' > hdr.tsv
    printf 'user_id\titem_id\n' > ev.tsv
    run -0 rs-retrieve -q --popular ev.tsv --users-from hdr.tsv -k 5
    [ "$output" = "$(printf 'user_id\titem_id\trank\tscore')" ]
    : > empty.tsv
    run -0 rs-retrieve -q --random --items items.rsb --users-from empty.tsv -k 5
    [ "$output" = "$(printf 'user_id\titem_id\trank\tscore')" ]
}

@test "bad inputs exit 1 naming file, line, column" {
    setup_data
    head -c 300 users.rsb > cut.rsb
    run -1 --separate-stderr rs-retrieve --users cut.rsb --items items.rsb
    assert_stderr_has "truncated"
    printf 'user\titem_id\nu1\ti1\n' > nocol.tsv
    run -1 --separate-stderr rs-retrieve --users users.rsb --items items.rsb --exclude nocol.tsv
    assert_stderr_has "'nocol.tsv'"
    assert_stderr_has "user_id"
    printf 'user_id\titem_id\nu1\ti1\nu2\n' > short.tsv
    run -1 --separate-stderr rs-retrieve --users users.rsb --items items.rsb --exclude short.tsv
    assert_stderr_has "'short.tsv' line 3"
    mkvec d4.rsb u 3 4 9
    run -1 --separate-stderr rs-retrieve --users d4.rsb --items items.rsb
    assert_stderr_has "4 dims"
    printf 'item_id\n\n' > noid.tsv
    run -1 --separate-stderr rs-retrieve --popular noid.tsv --users-from users.rsb
    assert_stderr_has "'noid.tsv' line 2: column 'item_id'"
}

@test "-o /dev/full fails; a failed run leaves no output" {
    setup_data
    run -1 --separate-stderr rs-retrieve -q --users users.rsb --items items.rsb -o /dev/full
    head -c 300 users.rsb > cut.rsb
    run -1 --separate-stderr rs-retrieve --users cut.rsb --items items.rsb -o out.tsv
    [ ! -e out.tsv ]
    [ -z "$(ls | grep 'out.tsv')" ]
}

@test "--popular ranks by event count, ties by item id; --quantile keeps the head" {
    printf 'user_id\titem_id\tevent\n' > ev.tsv
    printf 'u1\tb\tclick\nu2\tb\tclick\nu3\tb\tclick\nu1\ta\tclick\nu2\ta\tclick\nu1\tc\tclick\nu2\td\tclick\nu3\td\tclick\nu3\te\tclick\n' >> ev.tsv
    printf 'user_id\nu1\nu3\nnew\n' > who.tsv
    run -0 rs-retrieve -q --popular ev.tsv --users-from who.tsv -k 3 --exclude ev.tsv
    [ "${lines[0]}" = "$(printf 'user_id\titem_id\trank\tscore')" ]
    [ "${lines[1]}" = "$(printf 'u1\td\t1\t2')" ]
    [ "${lines[2]}" = "$(printf 'u1\te\t2\t1')" ]
    [ "${lines[3]}" = "$(printf 'u3\ta\t1\t2')" ]
    [ "${lines[4]}" = "$(printf 'u3\tc\t2\t1')" ]
    [ "${lines[5]}" = "$(printf 'new\tb\t1\t3')" ]
    [ "${lines[6]}" = "$(printf 'new\ta\t2\t2')" ]
    [ "${lines[7]}" = "$(printf 'new\td\t3\t2')" ]
    # an --items catalogue does not change what --popular recommends
    printf 'id\tv1\nzz\t1\n' | rs-cat --to rsb -o other.rsb
    rs-retrieve -q --popular ev.tsv --users-from who.tsv -k 3 --exclude ev.tsv > a.tsv
    rs-retrieve -q --popular ev.tsv --users-from who.tsv -k 3 --exclude ev.tsv --items other.rsb > b.tsv
    assert_same a.tsv b.tsv
    # counts 3,2,2,1,1: the 0.5-quantile is 2, so the pool is b, a, d
    run -0 rs-retrieve -q --popular ev.tsv --quantile 0.5 --users-from who.tsv -k 5
    [ "${#lines[@]}" -eq 10 ]
    [[ "$output" != *"	c	"* ]]
}

@test "--random: seeded, distinct items, respects --exclude" {
    setup_data
    rs-retrieve -q --random --items items.rsb --users-from users.rsb -k 20 --exclude seen.tsv -s 7 > a.tsv
    rs-retrieve -q --random --items items.rsb --users-from users.rsb -k 20 --exclude seen.tsv -s 7 > b.tsv
    rs-retrieve -q --random --items items.rsb --users-from users.rsb -k 20 --exclude seen.tsv -s 8 > c.tsv
    assert_same a.tsv b.tsv
    run ! cmp -s a.tsv c.tsv
    [ "$(wc -l < a.tsv)" -eq $((40 * 20 + 1)) ]
    run -0 awk -F'\t' 'NR > 1 { if (seen[$1 FS $2]++) d++ } END { print d + 0 }' a.tsv
    [ "$output" = 0 ]
    run -0 awk -F'\t' 'FNR == 1 { next } FILENAME == "seen.tsv" { s[$1 FS $2] = 1; next }
                       ($1 FS $2) in s { bad++ } END { print bad + 0 }' seen.tsv a.tsv
    [ "$output" = 0 ]
    # all but 3 items denied: only those 3 come back
    tail -n +2 items.view.tsv | cut -f1 | sed 1,3d | sed '1i item_id' > most.tsv
    rs-retrieve -q --random --items items.rsb --users-from users.rsb -k 20 --deny most.tsv > d.tsv
    [ "$(wc -l < d.tsv)" -eq $((40 * 3 + 1)) ]
}

@test "index build + search: all partitions probed = exact; fewer still good" {
    setup_data
    rs-retrieve -q index build --items items.rsb -o items.idx --partitions 12
    [ -s items.idx ]
    rs-retrieve -q --users users.rsb --items items.rsb -k 10 --exclude seen.tsv > exact.tsv
    rs-retrieve -q --users users.rsb --index items.idx -k 10 --nprobe 12 --rerank 600 --exclude seen.tsv > ann.tsv
    assert_same exact.tsv ann.tsv
    rs-retrieve -q --users users.rsb --index items.idx -k 10 --nprobe 6 --rerank 100 > ann6.tsv
    [ "$(wc -l < ann6.tsv)" -eq 401 ]
    rs-retrieve -q index build --items items.rsb -o again.idx --partitions 12
    assert_same items.idx again.idx
}

@test "a damaged index is refused; a failed build leaves nothing" {
    setup_data
    rs-retrieve -q index build --items items.rsb -o items.idx --partitions 4
    head -c 1000 items.idx > cut.idx
    run -1 --separate-stderr rs-retrieve --users users.rsb --index cut.idx
    assert_stderr_has "'cut.idx'"
    printf 'not an index at all, just some text padding it out to 128 bytes or so....................................................\n' > text.idx
    run -1 --separate-stderr rs-retrieve --users users.rsb --index text.idx
    assert_stderr_has "not an ann index"
    head -c 300 items.rsb > cut.rsb
    run -1 --separate-stderr rs-retrieve index build --items cut.rsb -o new.idx
    [ ! -e new.idx ]
}

@test "--users-from with a user on several rows gives that user one list" {
    printf 'user_id\titem_id\nu1\ta\nu2\tb\nu1\tc\nu1\ta\nu3\tb\n' > ev.tsv
    run -0 --separate-stderr rs-retrieve --popular ev.tsv --users-from ev.tsv -k 2
    [ "$(printf '%s\n' "$output" | cut -f1 | tail -n +2 | uniq | tr '\n' ' ')" = "u1 u2 u3 " ]
    [ "${#lines[@]}" -eq 7 ]
}
