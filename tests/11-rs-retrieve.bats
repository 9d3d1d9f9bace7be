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

# mkclustered FILE PREFIX N SEED: unit vectors of 16 dims around 40 shared
# centres (like a two-tower model's embeddings), as RSB.
mkclustered() {
    "$PYTHON" - "$@" <<'EOF'
import sys
import numpy as np
path, prefix, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = np.random.default_rng(0).standard_normal((40, 16))
r = np.random.default_rng(seed)
x = c[r.integers(0, 40, n)] + 0.35 * r.standard_normal((n, 16))
x /= np.linalg.norm(x, axis=1, keepdims=True)
with open(path + ".tsv", "w") as f:
    f.write("id\t" + "\t".join("v%d" % (j + 1) for j in range(16)) + "\n")
    for i in range(n):
        f.write(prefix + str(i) + "\t" + "\t".join("%.7f" % v for v in x[i]) + "\n")
EOF
    rs-cat --to rsb -o "$1" "$1.tsv"
}

# recall EXACT APPROX: recall@k of the approximate lists against the exact ones.
recall() {
    "$PYTHON" - "$1" "$2" <<'EOF'
import collections, sys
def load(p):
    d = collections.defaultdict(set)
    for line in list(open(p))[1:]:
        q, i = line.split("\t")[:2]
        d[q].add(i)
    return d
e, a = load(sys.argv[1]), load(sys.argv[2])
print("%.4f" % (sum(len(e[q] & a[q]) for q in e) / sum(len(e[q]) for q in e)))
EOF
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
    [[ "$output" == *"--history EVENTS"* ]]
    [[ "$output" == *"--segment-col COL"* ]]
    [[ "$output" == *"--half-life DAYS"* ]]
    [[ "$output" == *"Examples:"* ]]
    [ -z "$stderr" ]
    run -0 rs-retrieve --version
    [[ "$output" == *"openblas=yes"* ]]
}

@test "usage errors exit 2" {
    run -2 --separate-stderr rs-retrieve --bogus
    assert_stderr_has "Try 'rs-retrieve --help'"
    run -2 --separate-stderr rs-retrieve --items x.rsb
    assert_stderr_has "exactly one of --users, --similar, --popular, --history, --random"
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
    assert_differ a.tsv c.tsv
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
    # pq4 too: its codes only pick candidates, so re-ranking all is exact
    rs-retrieve -q index build --items items.rsb -o pq.idx --partitions 12 --quant pq4
    rs-retrieve -q --users users.rsb --index pq.idx -k 10 --nprobe 12 --rerank 600 --exclude seen.tsv > pq.tsv
    assert_same exact.tsv pq.tsv
}

@test "pq4 index: recall against exact search, the same bytes for any -j, every kernel the same results" {
    mkclustered items.rsb i 4000 1
    mkclustered users.rsb u 1500 2 # two blocks of queries
    rs-retrieve -q --users users.rsb --items items.rsb -k 10 > exact.tsv
    rs-retrieve -q -j 1 index build --items items.rsb -o one.idx --quant pq4 --partitions 60
    rs-retrieve -q -j 3 index build --items items.rsb -o three.idx --quant pq4 --partitions 60
    assert_same one.idx three.idx
    for j in 1 2 3; do
        rs-retrieve -q -j $j --users users.rsb --index one.idx -k 10 --nprobe 8 --rerank 100 > ann$j.tsv
    done
    assert_same ann1.tsv ann2.tsv
    assert_same ann1.tsv ann3.tsv
    r=$(recall exact.tsv ann1.tsv)
    echo "recall@10 $r"
    awk -v r="$r" 'BEGIN { exit !(r >= 0.95) }'
    # the codes alone rank (32 bits an item here): re-ranking only k of the
    # ~530 items probed still finds 0.47 of the top 10 (random codes: ~0.02)
    rs-retrieve -q --users users.rsb --index one.idx -k 10 --nprobe 8 --rerank 10 > codes.tsv
    r=$(recall exact.tsv codes.tsv)
    echo "recall@10, rerank 10: $r"
    awk -v r="$r" 'BEGIN { exit !(r >= 0.35) }'
    # each kernel this CPU runs, forced, gives the same bytes, and says which ran
    for k in scalar avx2 avx512bw; do
        RS_PQ4_KERNEL=$k rs-retrieve -j 2 --users users.rsb --index one.idx -k 10 --nprobe 8 --rerank 100 \
            > k-$k.tsv 2> k-$k.log
        assert_same ann1.tsv k-$k.tsv
        if [ $k = scalar ] || grep -qw $k /proc/cpuinfo; then grep -q "pq4 kernel $k" k-$k.log; fi
    done
    # other sub-spaces and plain PQ (T 0): another index, still searchable
    rs-retrieve -q index build --items items.rsb -o t0.idx --quant pq4 --partitions 60 --threshold 0 \
        --subspace-dims 4
    run ! cmp -s one.idx t0.idx
    rs-retrieve -q --users users.rsb --index t0.idx -k 10 --nprobe 8 --rerank 100 > t0.tsv
    r=$(recall exact.tsv t0.tsv)
    echo "T 0, 4 dims a sub-space: $r"
    awk -v r="$r" 'BEGIN { exit !(r >= 0.8) }'
    run -2 --separate-stderr rs-retrieve index build --items items.rsb -o x.idx --quant pq4 --subspace-dims 0
    run -2 --separate-stderr rs-retrieve index build --items items.rsb -o x.idx --quant pq4 --threshold -1
}

@test "index tune: the fewest partitions reaching the target recall, per rerank depth; the fastest logged" {
    mkclustered items.rsb i 4000 1
    mkclustered users.rsb u 1500 2
    rs-retrieve -q index build --items items.rsb -o pq.idx --quant pq4 --partitions 60
    run -0 --separate-stderr rs-retrieve -j 2 index tune --index pq.idx --users users.rsb -k 10 --target-recall 0.95
    [ "${lines[0]}" = "$(printf 'rerank\tnprobe\trecall\tqueries_per_s')" ]
    [ "${#lines[@]}" -eq 6 ]
    np=$(sed -n 's/.*tune: --nprobe \([0-9]*\) --rerank \([0-9]*\): recall@10 .*/\1/p' <<< "$stderr")
    rr=$(sed -n 's/.*tune: --nprobe \([0-9]*\) --rerank \([0-9]*\): recall@10 .*/\2/p' <<< "$stderr")
    [ -n "$np" ]
    [ -n "$rr" ]
    # the chosen options reach the target in a real search, one partition fewer does not
    rs-retrieve -q --users users.rsb --items items.rsb -k 10 > exact.tsv
    rs-retrieve -q --users users.rsb --index pq.idx -k 10 --nprobe "$np" --rerank "$rr" > ann.tsv
    r=$(recall exact.tsv ann.tsv)
    echo "nprobe $np rerank $rr: recall $r"
    awk -v r="$r" 'BEGIN { exit !(r >= 0.95) }'
    if [ "$np" -gt 1 ]; then
        rs-retrieve -q --users users.rsb --index pq.idx -k 10 --nprobe $((np - 1)) --rerank "$rr" > fewer.tsv
        r=$(recall exact.tsv fewer.tsv)
        awk -v r="$r" 'BEGIN { exit !(r < 0.95) }'
    fi
    run -2 --separate-stderr rs-retrieve index tune --index pq.idx
    assert_stderr_has "index tune needs --index INDEX and --users QUERIES"
    run -2 --separate-stderr rs-retrieve index tune --index pq.idx --users users.rsb --target-recall 2
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
    # a pq4 index: cut, or a byte of its codes changed
    rs-retrieve -q index build --items items.rsb -o pq.idx --partitions 4 --quant pq4
    head -c 5000 pq.idx > cutpq.idx
    run -1 --separate-stderr rs-retrieve --users users.rsb --index cutpq.idx
    assert_stderr_has "'cutpq.idx': ann index is 5000 bytes"
    "$PYTHON" -c "
b = bytearray(open('pq.idx', 'rb').read()); b[len(b) // 2] ^= 0x10; open('flip.idx', 'wb').write(b)"
    run -1 --separate-stderr rs-retrieve --users users.rsb --index flip.idx
    assert_stderr_has "'flip.idx': ann index payload checksum mismatch"
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

# Segment fixtures: north = u1, u3; south = u2; u4 has no region; u5 is in
# west, which has no events; ghost has events but no row. Counts: north a 3,
# b 1, c 1; south d 2, b 1; global e 4, a 3, b 2, d 2, f 2, c 1.
setup_segments() {
    printf 'user_id\tage\tregion\n' > users.tsv
    printf 'u1\tyoung\tnorth\nu2\tyoung\tsouth\nu3\told\tnorth\nu4\told\t\nu5\tyoung\twest\n' >> users.tsv
    printf 'user_id\titem_id\n' > ev.tsv
    printf 'u1\ta\nu1\ta\nu3\tb\nu3\ta\nu1\tc\nu2\td\nu2\td\nu2\tb\n' >> ev.tsv
    printf 'u4\te\nu4\te\nu4\te\nu4\te\nghost\tf\nghost\tf\n' >> ev.tsv
}

# want LINE...: the expected candidates, header first, as 'user item rank score'.
want() {
    printf 'user_id\titem_id\trank\tscore\n'
    printf '%s\n' "$@" | tr ' ' '\t'
}

@test "--popular --segment-col: the segment's top K, the global ranking fills in" {
    setup_segments
    rs-retrieve -q --popular ev.tsv --segment-col region --users-from users.tsv -k 4 > got.tsv
    # u4 (no region) gets the global counts; u5's west has no events: all
    # filled.
    want 'u1 a 1 3' 'u1 b 2 1' 'u1 c 3 1' 'u1 e 4 0' \
         'u2 d 1 2' 'u2 b 2 1' 'u2 e 3 0' 'u2 a 4 0' \
         'u3 a 1 3' 'u3 b 2 1' 'u3 c 3 1' 'u3 e 4 0' \
         'u4 e 1 4' 'u4 a 2 3' 'u4 b 3 2' 'u4 d 4 2' \
         'u5 e 1 0' 'u5 a 2 0' 'u5 b 3 0' 'u5 d 4 0' > want.tsv
    assert_same got.tsv want.tsv
    # seen items excluded inside the segment and in the fill, K kept
    rs-retrieve -q --popular ev.tsv --segment-col region --users-from users.tsv -k 4 --exclude ev.tsv > got.tsv
    run -0 sed -n 2,5p got.tsv
    [ "$output" = "$(printf 'u1\tb\t1\t1\nu1\te\t2\t0\nu1\td\t3\t0\nu1\tf\t4\t0')" ]
    # a user on two rows of the segments table: which segment? refused
    printf 'u1\told\tsouth\n' >> users.tsv
    run -1 --separate-stderr rs-retrieve -q --popular ev.tsv --segment-col region --users-from users.tsv -k 4 -o out.tsv
    assert_stderr_has "'users.tsv' line 7: column 'user_id': duplicate id 'u1' (first on line 2)"
    [ ! -e out.tsv ]
}

@test "--segments: queries from --users-from, segments from a users table" {
    setup_segments
    printf 'user_id\titem_id\nu4\tx\nu2\ty\nzz\tz\nu4\tw\n' > test.tsv
    rs-retrieve -q --popular ev.tsv --segment-col age --segments users.tsv --users-from test.tsv -k 3 > got.tsv
    # old = u3, u4: e 4, a 1, b 1; young = u1, u2, u5: a 2, d 2, b 1, c 1
    want 'u4 e 1 4' 'u4 a 2 1' 'u4 b 3 1' 'u2 a 1 2' 'u2 d 2 2' 'u2 b 3 1' \
         'zz e 1 4' 'zz a 2 3' 'zz b 3 2' > want.tsv
    assert_same got.tsv want.tsv
    # --quantile keeps the pool: counts 4,3,2,2,2,1 -> the 0.5-quantile is 2
    run -0 rs-retrieve -q --popular ev.tsv --quantile 0.5 --segment-col age --segments users.tsv \
        --users-from test.tsv -k 9
    [[ "$output" != *"	c	"* ]]
    [ "${#lines[@]}" -eq 16 ]
}

@test "--half-life weights events by 2^(-age/half-life), global and per segment" {
    printf 'user_id\titem_id\ttimestamp\n' > ev.tsv
    # newest event 2024-01-10: x once then (1); y 3 times 2 days before
    # (3 x 0.25); z twice 1 day before (2 x 0.5), tying x: x first by id.
    printf 'u1\ty\t2024-01-08\nu2\ty\t1704672000\nu1\tz\t2024-01-09T00:00:00Z\nu1\tx\t2024-01-10\n' >> ev.tsv
    printf 'u2\tz\t2024-01-09\nu3\ty\t2024-01-08 00:00:00 UTC\n' >> ev.tsv
    printf 'user_id\tregion\nu1\tn\nu2\ts\nu3\ts\n' > users.tsv
    run -0 rs-retrieve -q --popular ev.tsv --users-from users.tsv -k 3
    [ "${lines[1]}" = "$(printf 'u1\ty\t1\t3')" ]
    [ "${lines[3]}" = "$(printf 'u1\tx\t3\t1')" ]
    rs-retrieve -q --popular ev.tsv --half-life 1 --users-from users.tsv -k 3 > got.tsv
    want 'u1 x 1 1' 'u1 z 2 1' 'u1 y 3 0.75' 'u2 x 1 1' 'u2 z 2 1' 'u2 y 3 0.75' \
         'u3 x 1 1' 'u3 z 2 1' 'u3 y 3 0.75' > want.tsv
    assert_same got.tsv want.tsv
    # n = u1: x 1, z 0.5, y 0.25; s = u2, u3: y 0.5, z 0.5, then x fills
    rs-retrieve -q --popular ev.tsv --half-life 1 --segment-col region --users-from users.tsv -k 3 > got.tsv
    want 'u1 x 1 1' 'u1 z 2 0.5' 'u1 y 3 0.25' 'u2 y 1 0.5' 'u2 z 2 0.5' 'u2 x 3 0' \
         'u3 y 1 0.5' 'u3 z 2 0.5' 'u3 x 3 0' > want.tsv
    assert_same got.tsv want.tsv
    # a half-life of 12 hours: y 3/16 falls behind z 2/4
    run -0 rs-retrieve -q --popular ev.tsv --half-life 0.5 --users-from users.tsv -k 3 --time-col timestamp
    [ "${lines[2]}" = "$(printf 'u1\tz\t2\t0.5')" ]
    [ "${lines[3]}" = "$(printf 'u1\ty\t3\t0.1875')" ]
}

# History fixture, newest event 2024-01-10 (h2): h1 bought p 4 times (three
# 2 days before, once 3 days before), q and r once 1 day before.
setup_history() {
    printf 'user_id\titem_id\ttimestamp\tevent\n' > h.tsv
    printf 'h1\tp\t2024-01-08\tbuy\nh1\tq\t1704758400\tbuy\nh1\tp\t2024-01-08T00:00:00Z\tbuy\n' >> h.tsv
    printf 'h1\tr\t2024-01-09 00:00:00\tbuy\nh1\tp\t2024-01-07\tbuy\nh2\tq\t2024-01-10\tbuy\nh1\tp\t2024-01-08\tbuy\n' >> h.tsv
    printf 'user_id\nh1\nh2\nnobody\nh1\n' > who.tsv
}

@test "--history: a user's own items, most recent first, ties by item id" {
    setup_history
    rs-retrieve -q --history h.tsv --users-from who.tsv -k 5 > got.tsv
    # score: days from the last event with the item to the newest event;
    # a user with no events gets no rows; h1 listed twice gets one list
    want 'h1 q 1 -1' 'h1 r 2 -1' 'h1 p 3 -2' 'h2 q 1 0' > want.tsv
    assert_same got.tsv want.tsv
    run -0 rs-retrieve -q --history h.tsv --users-from who.tsv -k 2
    [ "$output" = "$(want 'h1 q 1 -1' 'h1 r 2 -1' 'h2 q 1 0')" ]
    # --deny applies; --allow too
    printf 'item_id\nq\n' > q.tsv
    run -0 rs-retrieve -q --history h.tsv --users-from who.tsv -k 5 --deny q.tsv
    [ "$output" = "$(want 'h1 r 1 -1' 'h1 p 2 -2')" ]
    run -0 rs-retrieve -q --history h.tsv --users-from who.tsv -k 5 --allow q.tsv
    [ "$output" = "$(want 'h1 q 1 -1' 'h2 q 1 0')" ]
}

@test "--history --half-life: recency-weighted counts (repeat purchases)" {
    setup_history
    # 1 day: p = 3/4 + 1/8 beats q = r = 1/2
    rs-retrieve -q --history h.tsv --half-life 1 --users-from who.tsv -k 5 > got.tsv
    want 'h1 p 1 0.875' 'h1 q 2 0.5' 'h1 r 3 0.5' 'h2 q 1 1' > want.tsv
    assert_same got.tsv want.tsv
    # 12 hours: p = 3/16 + 1/64 falls behind q = r = 1/4
    rs-retrieve -q --history h.tsv --half-life 0.5 --users-from who.tsv -k 5 > got.tsv
    want 'h1 q 1 0.25' 'h1 r 2 0.25' 'h1 p 3 0.203125' 'h2 q 1 1' > want.tsv
    assert_same got.tsv want.tsv
    # other column names
    sed '1s/.*/buyer\tsku\twhen\tevent/' h.tsv > h2.tsv
    sed '1s/.*/buyer/' who.tsv > who2.tsv
    rs-retrieve -q --history h2.tsv --half-life 0.5 --users-from who2.tsv -k 5 --user-col buyer \
        --item-col sku --time-col when > renamed.tsv
    [ "$(head -1 renamed.tsv)" = "$(printf 'buyer\tsku\trank\tscore')" ]
    sed '1s/.*/user_id\titem_id\trank\tscore/' renamed.tsv > back.tsv
    assert_same got.tsv back.tsv
}

@test "segment popularity and history: the same bytes for any -j and --batch; from a pipe" {
    "$PYTHON" - <<'EOF'
import numpy as np
r = np.random.default_rng(5)
with open("users.tsv", "w") as f:
    f.write("user_id\tregion\n")
    for u in range(300):
        f.write("u%d\t%s\n" % (u, "" if u % 17 == 0 else "r%d" % r.integers(6)))
with open("ev.tsv", "w") as f:
    f.write("user_id\titem_id\ttimestamp\n")
    for _ in range(5000):
        f.write("u%d\ti%d\t%d\n" % (r.integers(320), min(r.zipf(1.3), 400), 1700000000 + r.integers(0, 86400 * 60)))
EOF
    for src in "--popular ev.tsv --segment-col region --exclude ev.tsv" \
               "--popular ev.tsv --segment-col region --half-life 7" "--history ev.tsv" \
               "--history ev.tsv --half-life 3"; do
        rs-retrieve -q $src --users-from users.tsv -k 30 -j 1 > a.tsv
        rs-retrieve -q $src --users-from users.tsv -k 30 -j 3 --batch 7 > b.tsv
        assert_same a.tsv b.tsv
        [ "$(wc -l < a.tsv)" -gt 1000 ]
    done
    rs-retrieve -q --popular ev.tsv --segment-col region --users-from - -k 30 < users.tsv > c.tsv
    rs-retrieve -q --popular ev.tsv --segment-col region --users-from users.tsv -k 30 > d.tsv
    assert_same c.tsv d.tsv
    zstd -q ev.tsv -o ev.tsv.zst
    rs-retrieve -q --history ev.tsv.zst --users-from users.tsv -k 30 > e.tsv
    rs-retrieve -q --history - --users-from users.tsv -k 30 < ev.tsv > f.tsv
    assert_same e.tsv f.tsv
}

@test "segment popularity and history: usage errors exit 2" {
    run -2 --separate-stderr rs-retrieve --history h.tsv
    assert_stderr_has "--users-from"
    run -2 --separate-stderr rs-retrieve --history h.tsv --users-from w.tsv --exclude h.tsv
    assert_stderr_has "--exclude does not apply to --history"
    run -2 --separate-stderr rs-retrieve --history h.tsv --popular h.tsv --users-from w.tsv
    assert_stderr_has "exactly one of"
    run -2 --separate-stderr rs-retrieve --history h.tsv --segment-col region --users-from w.tsv
    assert_stderr_has "--segment-col applies to --popular"
    run -2 --separate-stderr rs-retrieve --popular h.tsv --segments u.tsv --users-from w.tsv
    assert_stderr_has "--segments needs --segment-col"
    run -2 --separate-stderr rs-retrieve --random --items i.rsb --half-life 3 --users-from w.tsv
    assert_stderr_has "--half-life applies to --popular and --history"
    run -2 --separate-stderr rs-retrieve --popular h.tsv --time-col t --users-from w.tsv
    assert_stderr_has "--time-col is read only"
    run -2 --separate-stderr rs-retrieve --history h.tsv --half-life 0 --users-from w.tsv
}

@test "segment popularity and history: bad inputs exit 1 naming file, line, column; no output" {
    setup_segments
    setup_history
    run -1 --separate-stderr rs-retrieve --popular ev.tsv --segment-col zone --users-from users.tsv -o out.tsv
    assert_stderr_has "'users.tsv' line 1: no column 'zone'"
    run -1 --separate-stderr rs-retrieve --popular ev.tsv --half-life 2 --users-from users.tsv -o out.tsv
    assert_stderr_has "'ev.tsv' line 1: no column 'timestamp'"
    run -1 --separate-stderr rs-retrieve --history ev.tsv --users-from who.tsv -o out.tsv
    assert_stderr_has "'ev.tsv' line 1: no column 'timestamp'"
    sed '3s/1704758400/yesterday/' h.tsv > bad.tsv
    run -1 --separate-stderr rs-retrieve --history bad.tsv --users-from who.tsv -o out.tsv
    assert_stderr_has "'bad.tsv' line 3: column 'timestamp': expected a time in Unix seconds, milliseconds, microseconds or ISO 8601, got 'yesterday'"
    run -1 --separate-stderr rs-retrieve --popular bad.tsv --half-life 1 --users-from who.tsv -o out.tsv
    assert_stderr_has "'bad.tsv' line 3: column 'timestamp'"
    printf 'user_id\titem_id\ttimestamp\nh1\tp\t1\n\tq\t2\n' > nouser.tsv
    run -1 --separate-stderr rs-retrieve --history nouser.tsv --users-from who.tsv -o out.tsv
    assert_stderr_has "'nouser.tsv' line 3: column 'user_id': empty user id"
    printf 'user_id\tregion\nu1\tn\n\tn\n' > blank.tsv
    run -1 --separate-stderr rs-retrieve --popular ev.tsv --segment-col region --users-from blank.tsv -o out.tsv
    assert_stderr_has "'blank.tsv' line 3: column 'user_id': empty user id"
    printf 'id\tv1\nu1\t1\n' | rs-cat --to rsb -o u.rsb
    run -1 --separate-stderr rs-retrieve --popular ev.tsv --segment-col region --users-from u.rsb -o out.tsv
    assert_stderr_has "'u.rsb' is RSB: --segment-col needs a users table (TSV), given by --segments FILE"
    printf 'user_id\titem_id\ttimestamp\nh1\tp\t1\nh1\tq\n' > short.tsv
    run -1 --separate-stderr rs-retrieve --history short.tsv --users-from who.tsv -o out.tsv
    assert_stderr_has "'short.tsv' line 3"
    [ ! -e out.tsv ]
}
