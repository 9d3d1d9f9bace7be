#!/usr/bin/env bash
# examples/closed-loop/run.sh - the loop of production serving on rs-synth
# data: serve -> feedback log -> retrain the ranker on the logged impressions
# -> promote (hot swap into an A/B experiment) -> the A/B measured online.
#
#   1. a world (rs-synth) and a first stage: ALS on its click and booking
#      events; rs-serve serves ALS's top 10 (experiment arm "old");
#   2. a week of simulated users (simulate.py, clicking by the planted model)
#      through /recommend and /feedback;
#   3. rs-rank train on the logged impressions (the feedback log is an event
#      log: impressions labelled by the clicks of the same list);
#   4. promotion: the experiment file now has two arms at 50/50, "control"
#      (ALS alone, as before) and "new" (ALS's top --candidates re-ranked by
#      the new ranker); rs-serve swaps it in without a restart;
#   5. a second week of simulated users; rs-abtest compares the arms on the
#      second week's feedback: CTR per arm with 95% intervals and the
#      always-valid mSPRT p-value.
#
# Usage: examples/closed-loop/run.sh [OUT]   (from the repository root, after make)
# Sizes: USERS, ITEMS, EVENTS (the world), REQUESTS (lists in week 1; twice as
# many in week 2, split between the arms). TAU: rs-abtest's --tau-ctr, the size
# of CTR difference the test is tuned to.
set -euo pipefail
OUT=${1:-out/closed-loop}
PYTHON=${PYTHON:-python3}
USERS=${USERS:-2000} ITEMS=${ITEMS:-500} EVENTS=${EVENTS:-100000} REQUESTS=${REQUESTS:-5000} TAU=${TAU:-0.01}
HERE=$(cd "$(dirname "$0")" && pwd)
# the tools: on PATH already (the tests put them there), else the repository's bin/
command -v rs-serve > /dev/null || PATH="$(cd "$HERE/../../bin" && pwd):$PATH"
export PATH OPENBLAS_NUM_THREADS=1
rm -rf "$OUT" && mkdir -p "$OUT" && cd "$OUT"

rs-synth -q -o world --users "$USERS" --items "$ITEMS" --events "$EVENTS" --recommended 0.3
rs-als -q -f 32 -i 10 --positive click,booking --user-factors users.rsb --item-factors items.rsb world/events.tsv
head -c 24 /dev/urandom | base64 | tr -d '/+=' > token
printf '{"name": "loop", "arms": [{"name": "old", "share": 1}]}\n' > exp.json
rs-serve --items-emb items.rsb --users-emb users.rsb --items world/items.tsv --seen world/events.tsv --candidates 100 \
    --experiment exp.json --feedback-dir feedback --feedback-token-file token --feedback-rate 100000 \
    --feedback-burst 100000 --port 0 --port-file port --watch 1 -j 2 2> server.log &
server=$!
trap 'kill $server 2> /dev/null || true' EXIT
for _ in $(seq 100); do [ -s port ] && break; sleep 0.1; done
url=http://127.0.0.1:$(cat port)

echo "== week 1: ALS alone"
"$PYTHON" "$HERE/simulate.py" "$url" "$(cat token)" world "$REQUESTS" 1 | tee week1.txt
ls feedback/feedback-*.tsv.zst > week1.files

echo "== the ranker, trained on the logged impressions"
{ rs-cat $(head -1 week1.files); for f in $(tail -n +2 week1.files); do rs-cat "$f" | tail -n +2; done; } > logged.tsv
rs-rank train -q -j 1 -c "$HERE/rank.json" --users world/users.tsv --items world/items.tsv \
    --user-emb users.rsb --item-emb items.rsb --epochs 6 -o rank.rsm logged.tsv
echo "$(awk -F'\t' '$3 == "impression"' logged.tsv | wc -l) impressions, $(awk -F'\t' '$3 == "click"' logged.tsv | wc -l) clicks"

echo "== promotion: control (ALS) vs new (ALS + ranker), 50/50, hot-swapped"
printf '{"name": "loop", "salt": "week2", "arms": [{"name": "control", "share": 0.5},
  {"name": "new", "share": 0.5, "ranker": "rank.rsm"}]}\n' > exp.new && mv exp.new exp.json
for _ in $(seq 100); do grep -q '"version":2' <(curl -s "$url/healthz") && break; sleep 0.1; done
grep "experiment loop" server.log | tail -1

echo "== week 2: the A/B"
"$PYTHON" "$HERE/simulate.py" "$url" "$(cat token)" world "$((2 * REQUESTS))" 2 | tee week2.txt
# (the log also holds week 1, served by arm "old": a third row, not in the test)
rs-abtest --control control --tau-ctr "$TAU" feedback/feedback-*.tsv.zst > abtest.tsv
awk -F'\t' 'NR == 1 || $2 == "ctr" { printf "%-8s %-4s %11s %-12s %-12s %-12s %-14s %-14s %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' abtest.tsv
