#!/usr/bin/env bash
# pipelines/retrain.sh - one scheduled retraining (issue 23; examples/retrain/
# runs it weekly): builds this week's two-tower with pipelines/demo.mk,
# registers its embeddings as a candidate version of MODEL, evaluates the
# candidate and the production version on this week's test window (one
# rs-metrics run, --pred candidate= --pred production=), and promotes the
# candidate only through the gate. Every stage is recorded in TRACK under one
# run group. Whatever fails or is killed, REGISTRY/MODEL/production (what
# rs-serve reads) keeps pointing at the previous version: only the promotion
# moves it, by one atomic rename.
#
# Environment (defaults): WORK (out/retrain), BIN (bin), MODEL (two-tower),
# GATE ('recall@10>=-0.002': the candidate's recall@10 at most 0.002 below
# production's), WEEK (ISO year and week, the data's seed), USERS, ITEMS,
# EVENTS (the generated world's size), THREADS (2).
# Exit: 0 promoted, 1 refused by the gate or failed (the message says which).
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=${WORK:-out/retrain}
BIN=${BIN:-bin}
MODEL=${MODEL:-two-tower}
GATE=${GATE:-recall@10>=-0.002}
WEEK=${WEEK:-$(date -u +%G%V)}
THREADS=${THREADS:-2}
TRACK=$WORK/runs.db
REGISTRY=$WORK/registry
OUT=$WORK/weeks/$WEEK
export RS_TRACK=$TRACK
export RS_RUN_GROUP=retrain-$WEEK-$(date -u +%Y%m%dT%H%M%SZ)-$$

mkdir -p "$WORK"
# 1. This week's pipeline, as far as the embeddings and the test window.
env -u MAKEFLAGS -u MAKELEVEL make -s -f pipelines/demo.mk BIN="$BIN" OUT="$OUT" TRACK="$TRACK" SEED="$WEEK" \
    THREADS="$THREADS" ${USERS:+USERS=$USERS} ${ITEMS:+ITEMS=$ITEMS} ${EVENTS:+EVENTS=$EVENTS} \
    "$OUT/user_emb.rsb" "$OUT/item_emb.rsb" "$OUT/test/pos.tsv.zst" "$OUT/pos.tsv.zst"

# 2. The candidate version.
"$BIN/rs-runs" register "$MODEL" --registry "$REGISTRY" "$OUT/user_emb.rsb" "$OUT/item_emb.rsb"
version=$("$BIN/rs-runs" models "$MODEL" --registry "$REGISTRY" --tsv | tail -n 1 | cut -f2)

# 3. The gate: both versions on this week's test window, in one evaluation.
production=$REGISTRY/$MODEL/production
if [ ! -e "$production" ]; then
    exec "$BIN/rs-runs" promote "$MODEL" "$version" --registry "$REGISTRY"
fi
for side in candidate production; do
    dir=$OUT
    [ "$side" = production ] && dir=$production
    "$BIN/rs-retrieve" -q -j "$THREADS" --users "$dir/user_emb.rsb" --items "$dir/item_emb.rsb" -k 10 \
        --exclude "$OUT/pos.tsv.zst" -o "$OUT/gate_$side.tsv.zst"
done
"$BIN/rs-metrics" -q --truth "$OUT/test/pos.tsv.zst" -k 10 --pred candidate="$OUT/gate_candidate.tsv.zst" \
    --pred production="$OUT/gate_production.tsv.zst" -o "$OUT/gate.tsv"
eval_run=$("$BIN/rs-runs" list --group "$RS_RUN_GROUP" --tool rs-metrics --tsv | tail -n 1 | cut -f1)
exec "$BIN/rs-runs" promote "$MODEL" "$version" --registry "$REGISTRY" --gate "$GATE" --eval "$eval_run"
