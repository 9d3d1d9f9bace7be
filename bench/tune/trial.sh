#!/usr/bin/env bash
# bench/tune/trial.sh DATA DIR - one trial of bench/tune: the two-tower
# trained on DATA/inner/train (each user's first 80% of training ratings by
# time) with the hyper-parameters in the environment (lr, temperature, dim,
# dropout, batch; EPOCHS, SEED, THREADS), its top 20 unseen items scored
# against DATA/inner/test (the last 20%: a validation slice, never the test
# split). Writes DIR/metrics.tsv (rs-metrics' stream; recall@20 is the
# objective), and records every stage in $RS_TRACK when set.
set -euo pipefail
DATA=$1 DIR=$2
BIN=${BIN:-bin}
Q=(-q -j "${THREADS:-2}" -s "${SEED:-42}")
mkdir -p "$DIR"
"$BIN/rs-train-tower" "${Q[@]}" -c examples/ml100k-tower.json --users "$DATA/inner_users.tsv.zst" \
    --items "$DATA/inner_items.tsv.zst" --batch "$batch" --lr "$lr" --temperature "$temperature" \
    --feature-dropout "$dropout" -d "$dim" --epochs "${EPOCHS:-4}" -o "$DIR/tower.rsm" "$DATA/inner/train.tsv.zst"
"$BIN/rs-embed" "${Q[@]}" -m "$DIR/tower.rsm" --users "$DATA/inner_users.tsv.zst" -o "$DIR/users.rsb"
"$BIN/rs-embed" "${Q[@]}" -m "$DIR/tower.rsm" --items "$DATA/inner_items.tsv.zst" -o "$DIR/items.rsb"
"$BIN/rs-retrieve" "${Q[@]}" --users "$DIR/users.rsb" --items "$DIR/items.rsb" -k 20 \
    --exclude "$DATA/inner/train.tsv.zst" -o "$DIR/top20.tsv"
"$BIN/rs-metrics" "${Q[@]}" --truth "$DATA/inner/test.tsv.zst" --train "$DATA/inner/train.tsv.zst" -k 20 \
    --pred "$DIR/top20.tsv" -o "$DIR/metrics.tsv"
rm -f "$DIR/tower.rsm" "$DIR/users.rsb" "$DIR/items.rsb"
