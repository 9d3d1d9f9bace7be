# pipelines/passculture.mk - the Pass Culture engine's own protocol on rs-synth
# data, beside the demo's (pipelines/demo.mk):
#
#   retrieval: the two-tower trained on the last six months of bookings and the
#       last three months of clicks, validated on the next week's bookings;
#   ranking: P(click) + P(booking) trained on the home-page impressions of the
#       last three months (what the user was shown, and clicked or booked);
#   post-ranking: at most MAX_PER_CLUSTER items per k-means cluster of the
#       item embeddings (the seed's default grouping);
#   and, beside the seed's ranker, the one the demo uses: trained on the
#   retrieval's own candidates labelled by the validation week (rs-label),
#   with that week's impressions mixed in (--impressions).
#
#   rs-synth --days 224 → rs-split 'old|b=13w|c=13w|valid=1w|test=2w'
#   → bookings of b + c and clicks of c → rs-prefilter → rs-features
#   → rs-negsample → rs-train-tower --valid (valid's bookings) → rs-embed
#   → rs-retrieve (ANN) → rs-rank (c's impressions | rs-label on valid)
#   → rs-cluster → rs-diversify --by cluster → rs-metrics (test: clicks, bookings)
#
#   make -f pipelines/passculture.mk [OUT=out/passculture] [SEED=...]

BIN     ?= bin
OUT     ?= out/passculture
USERS   ?= 10000
ITEMS   ?= 5000
EVENTS  ?= 4000000
DAYS    ?= 224
SEED    ?= 42
THREADS ?= 2
EPOCHS  ?= 15
K       ?= 20
CANDIDATES ?= 200
CLUSTERS   ?= 50
MAX_PER_CLUSTER ?= 5
TOWER_OPTS ?= --lr 0.005
RANK_OPTS  ?= --epochs 10 --patience 10 --stop-metric logloss
SELF := $(lastword $(MAKEFILE_LIST))
include $(dir $(SELF))common.mk

.PHONY: all summary

all: $(D)/metrics.tsv
	@$(MAKE) --no-print-directory -f $(SELF) summary

summary:
	@echo
	@echo "== Pass Culture protocol: $(USERS) users, $(ITEMS) items, $(EVENTS) events over $(DAYS) days (seed $(SEED))"
	@$(BIN)/rs-cat $(D)/metrics.tsv | awk -F'\t' 'NR == 1 || ($$1 ~ /^(precision|recall|ndcg|hit_rate|catalog_coverage|novelty|ild_category)$$/ && $$2 != 20)' | column -t -s "$$(printf '\t')"
	@echo
	@echo "metrics: $(D)/metrics.tsv; the booking-only view: $(D)/metrics_booking.tsv"

# 1. Data: 32 weeks of events (impressions, clicks, bookings, favourites).
$(D)/data/events.tsv.zst:
	@mkdir -p $(D)
	$(BIN)/rs-synth $(Q) --users $(USERS) --items $(ITEMS) --events $(EVENTS) --days $(DAYS) \
	    --recommended 0.5 -z -o $(D)/data
$(D)/data/items.tsv.zst $(D)/data/users.tsv.zst: $(D)/data/events.tsv.zst

# 2. Windows, oldest first: b and c are the six months before the validation
#    week (c the last three of them), then a validation week and two test weeks.
$(D)/win/b.tsv.zst $(D)/win/c.tsv.zst $(D)/win/valid.tsv.zst $(D)/win/test.tsv.zst &: $(D)/data/events.tsv.zst
	$(BIN)/rs-split $(Q) --windows 'b=13w|c=13w|valid=1w|test=2w' -z -o $(D)/win $<
$(D)/b/booking.tsv.zst: $(D)/win/b.tsv.zst
	$(BIN)/rs-split $(Q) --by-event 'booking=booking' -z -o $(D)/b $<
$(D)/c/booking.tsv.zst $(D)/c/click.tsv.zst &: $(D)/win/c.tsv.zst
	$(BIN)/rs-split $(Q) --by-event 'booking=booking|click=click' -z -o $(D)/c $<
$(D)/valid/booking.tsv.zst: $(D)/win/valid.tsv.zst
	$(BIN)/rs-split $(Q) --by-event 'booking=booking' -z -o $(D)/valid $<
$(D)/test/pos.tsv.zst: $(D)/win/test.tsv.zst
	$(BIN)/rs-split $(Q) --by-event 'pos=click,booking' -z -o $(D)/test $<
$(D)/test_booking/booking.tsv.zst: $(D)/win/test.tsv.zst
	$(BIN)/rs-split $(Q) --by-event 'booking=booking' -z -o $(D)/test_booking $<

# 3. The retrieval's positives: six months of bookings and three of clicks,
#    in time order, then the 2-core of users and items.
$(D)/train_pos.tsv.zst: $(D)/b/booking.tsv.zst $(D)/c/booking.tsv.zst $(D)/c/click.tsv.zst
	$(BIN)/rs-cat $^ | sort -t "$$(printf '\t')" -k4,4n -s | $(BIN)/rs-cat -q -o $@ -
$(D)/pos.tsv.zst: $(D)/train_pos.tsv.zst
	$(BIN)/rs-prefilter $(Q) --min-user-interactions 2 --min-item-interactions 2 -o $@ $<

# 4. Features and training examples, as in the demo.
$(D)/user_features.tsv.zst: $(D)/pos.tsv.zst $(D)/data/users.tsv.zst
	$(BIN)/rs-features $(Q) --side user --users $(D)/data/users.tsv.zst --history 20 -o $@ $<
$(D)/item_features.tsv.zst: $(D)/pos.tsv.zst $(D)/data/items.tsv.zst
	$(BIN)/rs-features $(Q) --side item --items $(D)/data/items.tsv.zst -o $@ $<
$(D)/examples.tsv.zst: $(D)/pos.tsv.zst
	$(BIN)/rs-negsample $(Q) -k 4 --strategy loguniform -o $@ $<

# 5. The two-tower, validated on the next week's bookings (recall of booked
#    items), its embeddings, the ANN index and CANDIDATES per user.
$(D)/tower.rsm: $(D)/examples.tsv.zst $(D)/user_features.tsv.zst $(D)/item_features.tsv.zst \
                $(D)/valid/booking.tsv.zst examples/synth-tower.json
	$(BIN)/rs-train-tower $(Q) -c examples/synth-tower.json --users $(D)/user_features.tsv.zst \
	    --items $(D)/item_features.tsv.zst --valid $(D)/valid/booking.tsv.zst --epochs $(EPOCHS) \
	    $(TOWER_OPTS) --log $(D)/tower_log.tsv -o $@ $<
$(D)/user_emb.rsb: $(D)/tower.rsm $(D)/user_features.tsv.zst
	$(BIN)/rs-embed $(Q) -m $< --users $(D)/user_features.tsv.zst -o $@
$(D)/item_emb.rsb: $(D)/tower.rsm $(D)/item_features.tsv.zst
	$(BIN)/rs-embed $(Q) -m $< --items $(D)/item_features.tsv.zst -o $@
$(D)/items.idx: $(D)/item_emb.rsb
	$(BIN)/rs-retrieve index build $(Q) --items $< -o $@
$(D)/candidates.tsv.zst: $(D)/user_emb.rsb $(D)/items.idx $(D)/pos.tsv.zst
	$(BIN)/rs-retrieve $(Q) --users $< --index $(D)/items.idx --nprobe 16 -k $(CANDIDATES) \
	    --exclude $(D)/pos.tsv.zst -o $@
$(D)/popular.tsv.zst: $(D)/pos.tsv.zst $(D)/user_features.tsv.zst
	$(BIN)/rs-retrieve $(Q) --popular $< --users-from $(D)/user_features.tsv.zst -k 100 --exclude $< -o $@

# 6. Ranking. The seed's: trained on the home-page impressions of the last
#    three months, each labelled by its click and booking (rs-rank's event-log
#    input). The demo's: trained on the candidates themselves, labelled by the
#    validation week's clicks and bookings, with that week's impressions too.
RANK_IO = --users $(D)/user_features.tsv.zst --items $(D)/item_features.tsv.zst \
          --user-emb $(D)/user_emb.rsb --item-emb $(D)/item_emb.rsb
RANK_CONFIG = examples/passculture-rank.json
$(D)/rank_seed.rsm: $(D)/win/c.tsv.zst $(D)/user_emb.rsb $(D)/item_emb.rsb $(RANK_CONFIG)
	$(BIN)/rs-rank train $(Q) -c $(RANK_CONFIG) $(RANK_IO) $(RANK_OPTS) -o $@ $<
$(D)/rank_train.tsv.zst: $(D)/candidates.tsv.zst $(D)/win/valid.tsv.zst $(D)/train_pos.tsv.zst
	$(BIN)/rs-label $(Q) --events $(D)/win/valid.tsv.zst --history $(D)/train_pos.tsv.zst \
	    --impressions impression -o $@ $<
$(D)/rank_cands.rsm: $(D)/rank_train.tsv.zst $(D)/user_emb.rsb $(D)/item_emb.rsb $(RANK_CONFIG)
	$(BIN)/rs-rank train $(Q) -c $(RANK_CONFIG) $(RANK_IO) $(RANK_OPTS) -o $@ $<
$(D)/ranked_%.tsv.zst: $(D)/candidates.tsv.zst $(D)/rank_%.rsm
	$(BIN)/rs-rank score $(Q) -m $(D)/rank_$*.rsm $(RANK_IO) --keep 100 -o $@ $<

# 7. Post-ranking by the k-means clusters of the item embeddings (first, so
#    that their `cluster` column is read before the one rs-synth's items carry).
$(D)/clusters.tsv: $(D)/item_emb.rsb
	$(BIN)/rs-cluster $(Q) -k $(CLUSTERS) -o $@ $<
$(D)/final_%.tsv.zst: $(D)/ranked_%.tsv.zst $(D)/clusters.tsv $(D)/data/items.tsv.zst
	$(BIN)/rs-diversify $(Q) --items $(D)/clusters.tsv --items $(D)/data/items.tsv.zst --by cluster \
	    --max-per-group $(MAX_PER_CLUSTER) --stock-col in_stock -n $(K) -o $@ $<

# 8. The test weeks' clicks and bookings (and bookings alone).
PREDS = $(D)/candidates.tsv.zst $(D)/ranked_seed.tsv.zst $(D)/final_seed.tsv.zst \
        $(D)/ranked_cands.tsv.zst $(D)/final_cands.tsv.zst $(D)/popular.tsv.zst
PRED_FLAGS = --pred retrieval=$(D)/candidates.tsv.zst \
    --pred ranked_impressions=$(D)/ranked_seed.tsv.zst --pred final_impressions=$(D)/final_seed.tsv.zst \
    --pred ranked_candidates=$(D)/ranked_cands.tsv.zst --pred final_candidates=$(D)/final_cands.tsv.zst \
    --pred popular=$(D)/popular.tsv.zst
$(D)/metrics.tsv: $(D)/test/pos.tsv.zst $(PREDS)
	$(BIN)/rs-metrics $(Q) --truth $< --train $(D)/pos.tsv.zst --item-features $(D)/data/items.tsv.zst \
	    -k 5,10,20 --wide $(PRED_FLAGS) -o $@
$(D)/metrics_booking.tsv: $(D)/test_booking/booking.tsv.zst $(PREDS)
	$(BIN)/rs-metrics $(Q) --truth $< --train $(D)/pos.tsv.zst -k 5,10,20 --wide $(PRED_FLAGS) -o $@
all: $(D)/metrics_booking.tsv
