#!/usr/bin/env bats
# The tools under mpirun (make test-mpi; docs/scaling.md): the same command
# line on 2 and 3 ranks gives the single-process result (the same bytes for
# rs-als and rs-cluster; within a stated tolerance for the trainers, whose
# gradients are summed in another order), only rank 0 writes, and a failed
# or killed rank fails the job with no output.
load mpi-helpers

gen_tower() {
    "$PYTHON" "$BATS_TEST_DIRNAME/../fixtures/rs-train-tower/gen.py" . "$@"
}

tower() { # tower RANKS ARGS... (the examples: $EXAMPLES, default train.tsv)
    local n=$1
    shift
    mpi "$n" rs-train-tower -c tower.json --users users.tsv --items items.tsv --batch 32 --epochs 4 \
        --lr 0.02 -k 4 -j 1 -q --valid valid.tsv "$@" "${EXAMPLES:-train.tsv}"
}

@test "--version says mpi=yes; a tool run without mpirun is a job of one rank" {
    run -0 rs-als --version
    [[ "$output" == *"mpi=yes"* ]]
    rs-synth -q -o syn --users 50 --items 30 --events 2000
    run -0 --separate-stderr rs-als -q -j 1 -f 4 -i 2 --user-factors u.rsb syn/events.tsv
    [ -s u.rsb ]
    [[ "$stderr" != *"mpi rank"* ]]
}

@test "a tool with nothing to share (rs-synth, a directory of outputs) runs whole on each rank; rank 0 writes" {
    mpi 1 rs-synth -q -o one --users 60 --items 30 --events 3000
    mpi 3 rs-synth -q -o three --users 60 --items 30 --events 3000
    diff -r one three
    [ -z "$(ls | grep '\.tmp\.')" ]
}

@test "rs-als on 2 and 3 ranks: factors and candidates byte-identical to one process; rank 0 writes" {
    rs-synth -q -o syn --users 400 --items 150 --events 20000
    als() { mpi "$1" rs-als -j 1 -f 8 -i 3 --user-factors u$1.rsb --item-factors i$1.rsb --candidates 5 \
        -o c$1.tsv syn/events.tsv; }
    run -0 --separate-stderr als 1
    run -0 --separate-stderr als 2
    assert_stderr_has "rs-als[0]: iteration 3/3"
    assert_stderr_has "rs-als[1]: mpi rank 1/2"
    [[ "$stderr" != *"rs-als[1]: iteration"* ]] # only rank 0 logs
    run -0 als 3
    for f in u i; do assert_same ${f}1.rsb ${f}2.rsb; assert_same ${f}1.rsb ${f}3.rsb; done
    assert_same c1.tsv c2.tsv
    assert_same c1.tsv c3.tsv
    [ -z "$(ls | grep '\.tmp\.')" ]
}

@test "rs-cluster on 2 and 3 ranks: the same assignment and centroids; a rank with no block of rows" {
    rs-synth -q -o syn --users 1200 --items 100 --events 30000
    rs-als -q -j 1 -f 8 -i 2 --user-factors uf.rsb syn/events.tsv
    for n in 1 2 3; do mpi $n rs-cluster -q -j 1 -k 12 --centroids c$n.rsb -o a$n.tsv uf.rsb; done
    [ "$(wc -l < a1.tsv)" -gt 512 ] # more than two blocks of 256 rows: every rank has work
    assert_same a1.tsv a2.tsv
    assert_same a1.tsv a3.tsv
    assert_same c1.rsb c2.rsb
    assert_same c1.rsb c3.rsb
    # 300 rows are two blocks: on 3 ranks the last one has none.
    rs-synth -q -o syn2 --users 300 --items 60 --events 8000
    rs-als -q -j 1 -f 4 -i 2 --user-factors few.rsb syn2/events.tsv
    mpi 1 rs-cluster -q -j 1 -k 5 -o f1.tsv few.rsb
    mpi 3 rs-cluster -q -j 1 -k 5 -o f3.tsv few.rsb
    assert_same f1.tsv f3.tsv
}

@test "rs-train-tower on 2 and 3 ranks: per-epoch loss within 1e-5 relative, recall and NDCG within 0.003" {
    gen_tower
    tower 1 --log l1.tsv -o m1.rsm
    tower 2 --log l2.tsv -o m2.rsm
    tower 3 --log l3.tsv -o m3.rsm # 32 rows on 3 ranks: 11, 11 and 10
    [ "$(wc -l < l1.tsv)" -eq 5 ]
    for n in 2 3; do
        close_tsv l1.tsv l$n.tsv 3 1e-5
        close_tsv l1.tsv l$n.tsv 5,6 0.003
        [ -s m$n.rsm ]
    done
    # The test can fail: another global batch is another model.
    tower 2 --log l4.tsv -o m4.rsm --batch 16
    run ! close_tsv l1.tsv l4.tsv 3 1e-5
}

@test "rs-train-tower, uneven shards: a batch that neither the ranks nor the rows divide; data smaller than a batch leaves a rank no rows" {
    gen_tower # 480 examples
    # --batch 37 on 3 ranks: lanes 13, 12 and 12; the last block of rows is 36 long.
    tower 1 --batch 37 --log l1.tsv -o m1.rsm
    tower 3 --batch 37 --log l3.tsv -o m3.rsm
    close_tsv l1.tsv l3.tsv 3 1e-5
    close_tsv l1.tsv l3.tsv 5,6 0.003
    # --batch 1000: one batch of all 480 rows; on 3 ranks the lanes are 0-333,
    # 334-666 and 667-999, so rank 2 holds no example and rank 1 only 146.
    tower 1 --batch 1000 --log b1.tsv -o b1.rsm
    tower 3 --batch 1000 --log b3.tsv -o b3.rsm
    [ "$(cut -f2 b3.tsv | tail -1)" -eq 4 ] # one step per epoch
    close_tsv b1.tsv b3.tsv 3 1e-5
    close_tsv b1.tsv b3.tsv 5,6 0.003
    [ -s b3.rsm ]
}

@test "rs-train-tower with extra negatives (logQ) on 3 ranks: within the same tolerances" {
    gen_tower
    EXAMPLES=negs.tsv tower 1 --log l1.tsv -o m1.rsm
    EXAMPLES=negs.tsv tower 3 --log l3.tsv -o m3.rsm
    close_tsv l1.tsv l3.tsv 3 1e-5
    close_tsv l1.tsv l3.tsv 5,6 0.003
}

@test "rs-train-tower with more ranks than rows in a batch: the empty ranks still take part" {
    gen_tower
    mpi 1 rs-train-tower -c tower.json --users users.tsv --items items.tsv --batch 2 --epochs 1 \
        --lr 0.02 -k 4 -j 1 -q --valid valid.tsv --log l1.tsv -o m1.rsm train.tsv
    mpi 3 rs-train-tower -c tower.json --users users.tsv --items items.tsv --batch 2 --epochs 1 \
        --lr 0.02 -k 4 -j 1 -q --valid valid.tsv --log l3.tsv -o m3.rsm train.tsv
    close_tsv l1.tsv l3.tsv 3 1e-5
    close_tsv l1.tsv l3.tsv 5,6 0.003
}

@test "rs-rank train on 2 and 3 ranks: per-epoch losses within 1e-5 relative, AUC within 1e-3" {
    rs-synth -q -o syn --users 200 --items 80 --events 15000
    "$PYTHON" "$BATS_TEST_DIRNAME/../fixtures/rs-rank/candidates.py" syn/events.tsv syn/events.tsv \
        syn/items.tsv cand.tsv items.tsv
    for n in 1 2 3; do
        mpi $n rs-rank train -q -j 1 -c "$BATS_TEST_DIRNAME/../fixtures/rs-rank/rank.json" --items items.tsv \
            --users syn/users.tsv --batch 256 --lr 0.005 --epochs 3 --log l$n.tsv -o m$n.rsm syn/events.tsv
    done
    [ "$(wc -l < l1.tsv)" -eq 4 ]
    for n in 2 3; do
        close_tsv l1.tsv l$n.tsv 2,3 1e-5
        close_tsv l1.tsv l$n.tsv 4,5 1e-3
        [ -s m$n.rsm ]
    done
}

@test "a rank killed mid-epoch fails the job: no model, no temporary left" {
    gen_tower 400 200
    mpirun -np 2 "$BIN"/rs-train-tower -c tower.json --users users.tsv --items items.tsv --batch 16 \
        --epochs 400 --lr 0.02 -k 4 -j 1 --valid valid.tsv --checkpoint ck.rsm -o m.rsm train.tsv \
        2> err.txt &
    local job=$!
    for _ in $(seq 300); do grep -q "epoch 2/" err.txt && break; sleep 0.1; done
    grep -q "epoch 2/" err.txt
    local ranks
    ranks=$(pgrep -P $job -f rs-train-tower)
    [ "$(echo "$ranks" | wc -w)" -eq 2 ]
    kill -KILL $(echo "$ranks" | tail -1)
    local rc=0
    wait $job || rc=$?
    [ $rc -ne 0 ]
    [ ! -e m.rsm ]
    [ -z "$(ls | grep '\.tmp\.')" ]
}

@test "an error on the ranks fails the job with the rank's message and no output" {
    gen_tower
    printf 'u1\ti1\nu2\n' > bad.tsv
    run ! --separate-stderr mpi 2 rs-train-tower -c tower.json --users users.tsv --items items.tsv \
        -j 1 -q -o m.rsm bad.tsv
    assert_stderr_has "rs-train-tower["
    assert_stderr_has "bad.tsv"
    [ ! -e m.rsm ]
}
