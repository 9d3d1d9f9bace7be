#!/usr/bin/env bats
# rs-cat: printing, schema, RSB conversion, and the conventions of every tool.
load helpers

@test "rs-cat --help prints usage with options and examples to stdout" {
    run -0 --separate-stderr rs-cat --help
    [[ "$output" == *"Usage: rs-cat"* ]]
    [[ "$output" == *"--head N"* ]]
    [[ "$output" == *"Examples:"* ]]
    [ -z "$stderr" ]
}

@test "rs-cat --version names the build features" {
    run -0 rs-cat --version
    [[ "$output" == *"recsys-pipes"* ]]
    [[ "$output" == *"openblas=yes"* ]]
    [[ "$output" == *"cuda="* ]]
}

@test "unknown flag is a usage error (exit 2) with a synopsis" {
    run -2 --separate-stderr rs-cat --bogus
    assert_stderr_has "invalid option '--bogus'"
    assert_stderr_has "Try 'rs-cat --help'"
}

@test "missing file exits 1 naming the file" {
    run -1 --separate-stderr rs-cat nope.tsv
    assert_stderr_has "rs-cat: cannot open 'nope.tsv': No such file or directory"
}

@test "stdin, file and .zst input give the same output" {
    printf 'user_id\titem_id\n1\ta\n2\tb\n' > in.tsv
    zstd -q in.tsv -o in.tsv.zst
    rs-cat in.tsv > a
    rs-cat < in.tsv > b
    rs-cat in.tsv.zst > c
    cat in.tsv.zst | rs-cat - > d
    assert_same a in.tsv
    assert_same a b
    assert_same a c
    assert_same a d
}

@test "empty and header-only inputs" {
    : > empty.tsv
    run -0 rs-cat empty.tsv
    [ -z "$output" ]
    printf 'a\tb\n' > h.tsv
    run -0 rs-cat h.tsv
    [ "$output" = "$(printf 'a\tb')" ]
}

@test "--head N keeps the header and N rows" {
    seq 0 100 | sed '1s/.*/n/' > n.tsv
    run -0 rs-cat --head 3 n.tsv
    [ "$output" = "$(printf 'n\n1\n2\n3')" ]
}

@test "a row with the wrong number of fields names file and line" {
    printf 'a\tb\n1\t2\n3\n' > bad.tsv
    run -1 --separate-stderr rs-cat bad.tsv
    assert_stderr_has "'bad.tsv' line 3: expected 2 fields, got 1"
}

@test "CSV input: quoting honoured, tabs and newlines escaped on output" {
    printf 'id,title\n1,"a, b"\n2,"x\ty"\n3,"two\nlines"\n' > q.csv
    run -0 rs-cat q.csv
    [ "${lines[1]}" = "$(printf '1\ta, b')" ]
    [ "${lines[2]}" = "$(printf '2\tx\\ty')" ]
    [ "${lines[3]}" = "$(printf '3\ttwo\\nlines')" ]
    run -0 rs-cat --csv < q.csv
    [ "${lines[1]}" = "$(printf '1\ta, b')" ]
}

@test "--schema infers column types" {
    printf 'user_id\tprice\twhen\ttitle\tnote\nu1\t3\t2019-10-01 00:00:00 UTC\thello\t\nu2\t4.5\t2019-10-02\tworld\t\n' > s.tsv
    run -0 rs-cat --schema s.tsv
    [[ "$output" == *"price	float	2	2"* ]]
    [[ "$output" == *"when	time	2	2"* ]]
    [[ "$output" == *"title	string"* ]]
    [[ "$output" == *"note	empty	0	2"* ]]
}

@test "TSV -> RSB -> TSV round trip, every dtype, compressed or not" {
    printf 'id\tx\ty\tz\n' > v.tsv
    for i in $(seq 1 500); do printf 'item%d\t%d.25\t-%d\t0.5\n' $i $i $i >> v.tsv; done
    rs-cat --to rsb -o v.rsb v.tsv
    rs-cat v.rsb | sed '1s/.*/id\tx\ty\tz/' > back.tsv
    assert_same v.tsv back.tsv
    rs-cat --to rsb -o v.rsb.zst v.tsv
    run -0 rs-cat --schema v.rsb.zst
    [[ "$output" == *"compressed	zstd"* ]]
    [[ "$output" == *"rows	500"* ]]
    rs-cat --to rsb --dtype f16 --meta model=m7 -o v16.rsb v.tsv
    run -0 rs-cat --schema v16.rsb
    [[ "$output" == *"dtype	f16"* ]]
    [[ "$output" == *"model	m7"* ]]
    rs-cat --to rsb --dtype i8 -o v8.rsb v.tsv
    run -0 rs-cat --head 1 v8.rsb
    [ "${lines[0]}" = "$(printf 'id\tv1\tv2\tv3')" ]
}

@test "--to rsb rejects non-numeric vectors with file, line and column" {
    printf 'id\tx\nitem1\t1\nitem2\tabc\n' > v.tsv
    run -1 --separate-stderr rs-cat --to rsb -o v.rsb v.tsv
    assert_stderr_has "'v.tsv' line 3: column 'x': expected a number, got 'abc'"
    [ ! -e v.rsb ]
    ls | grep -v tmp
    [ -z "$(ls | grep tmp)" ]
}

@test "corrupt RSB: flipped bit and truncation are detected, exit 1" {
    printf 'id\tx\n' > v.tsv
    for i in $(seq 1 200); do printf 'i%d\t%d\n' $i $i >> v.tsv; done
    rs-cat --to rsb -o v.rsb v.tsv
    size=$(stat -c %s v.rsb)
    head -c $((size - 30)) v.rsb > cut.rsb
    run -1 --separate-stderr rs-cat cut.rsb
    assert_stderr_has "truncated RSB stream"
    $PYTHON -c "import sys; b=bytearray(open('v.rsb','rb').read()); b[len(b)//2]^=4; open('flip.rsb','wb').write(b)"
    run -1 --separate-stderr rs-cat flip.rsb
    assert_stderr_has "checksum mismatch"
    run -1 --separate-stderr bash -c "head -c $((size - 30)) v.rsb | rs-cat"
    assert_stderr_has "truncated"
}

@test "truncated zstd stream is a clean error" {
    seq 1 100000 | sed '1s/.*/n/' | zstd -q > s.tsv.zst
    head -c 2000 s.tsv.zst > cut.tsv.zst
    run -1 --separate-stderr rs-cat cut.tsv.zst
    assert_stderr_has "truncated zstd stream"
}

@test "concatenated zstd frames read as one stream" {
    printf 'n\n1\n' | zstd -q > cat.zst
    printf '2\n3\n' | zstd -q >> cat.zst
    run -0 rs-cat cat.zst
    [ "$output" = "$(printf 'n\n1\n2\n3')" ]
}

@test "-o is never left half-written: failure keeps the old file" {
    printf 'a\n1\n' > good.tsv
    printf 'a\n1\n2\textra\n' > bad.tsv
    echo previous > out.tsv
    run -1 rs-cat -o out.tsv good.tsv bad.tsv
    [ "$(cat out.tsv)" = previous ]
    [ -z "$(ls | grep tmp)" ]
    run -1 rs-cat -o new.tsv bad.tsv
    [ ! -e new.tsv ]
}

@test "-o /dev/full is a write error, exit 1" {
    seq 1 10000 | sed '1s/.*/n/' > n.tsv
    run -1 --separate-stderr rs-cat -o /dev/full n.tsv
    assert_stderr_has "No space left on device"
}

@test "-z and .zst names compress; output decompresses to the input" {
    printf 'a\tb\n1\t2\n' > in.tsv
    rs-cat -o out.tsv.zst in.tsv
    rs-cat -z in.tsv > out2.zst
    [ "$(zstd -dc out.tsv.zst)" = "$(cat in.tsv)" ]
    [ "$(zstd -dc out2.zst)" = "$(cat in.tsv)" ]
}

@test "several inputs: one header; a different header is an error" {
    printf 'a\n1\n' > x.tsv
    printf 'a\n2\n' > y.tsv
    printf 'b\n3\n' > z.tsv
    run -0 rs-cat x.tsv y.tsv
    [ "$output" = "$(printf 'a\n1\n2')" ]
    run -1 --separate-stderr rs-cat x.tsv z.tsv
    assert_stderr_has "header differs"
}

@test "two runs are byte-identical, and rs-cat | head ends quietly" {
    printf 'id\tx\n' > v.tsv
    for i in $(seq 1 300); do printf 'i%d\t%d\n' $i $i >> v.tsv; done
    rs-cat --to rsb -o a.rsb v.tsv
    rs-cat --to rsb -o b.rsb v.tsv
    assert_same a.rsb b.rsb
    seq 1 200000 | sed '1s/.*/n/' > big.tsv
    # rs-cat ends with status 0 or by SIGPIPE (141), without a word
    run -0 --separate-stderr bash -c 'rs-cat big.tsv | head -1; st=${PIPESTATUS[0]}; [ $st = 141 ] && st=0; exit $st'
    [ "$output" = n ]
    [ -z "$stderr" ]
}

@test "--to json groups a ranked stream by user into valid JSON" {
    printf 'user_id\titem_id\trank\tscore\tnote\nu1\t12\t1\t0.9\t.5\nu1\ti"2\t2\t-1e-3\tx\nu2\t7\t1\t3\t\n' > r.tsv
    run -0 rs-cat --to json -o rec.json r.tsv
    $PYTHON -c "
import json; d = json.load(open('rec.json'))
assert list(d) == ['u1', 'u2'], d
assert d['u1'] == [{'item_id': '12', 'score': 0.9, 'note': '.5'}, {'item_id': 'i\"2', 'score': -0.001, 'note': 'x'}], d
assert d['u2'] == [{'item_id': '7', 'score': 3, 'note': ''}], d"
    printf 'user_id\titem_id\nu1\ta\nu2\tb\nu1\tc\n' > split.tsv
    run -1 --separate-stderr rs-cat --to json -o bad.json split.tsv
    assert_stderr_has "line 4: column 'user_id': rows of 'u1' are not contiguous"
    [ ! -e bad.json ]
}
