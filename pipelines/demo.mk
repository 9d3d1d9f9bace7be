# pipelines/demo.mk - the whole system on data it generates: what `make demo` runs.
#
#   rs-synth → rs-split → rs-prefilter → rs-vocab → rs-features → rs-negsample
#   → rs-train-tower → rs-embed → rs-retrieve (ANN index) ┐
#     rs-als, rs-retrieve --popular ───────────────────────┴→ rs-merge
#   → rs-label (the validation week) → rs-rank train / score
#   → rs-cluster + rs-diversify → rs-metrics → report/
#
# Every stage is a target with real file dependencies: re-running after a
# change redoes only what is stale, and a second `make demo` does nothing.
# Intermediate streams are zstd-compressed. Run one stage by naming its file,
# e.g. `make -f pipelines/demo.mk out/demo/tower.rsm`.
#
# Sizes: USERS, ITEMS, EVENTS; SEED; THREADS. OUT is where everything goes.
# ENCODER=DIR (a sentence-transformers model directory, e.g. all-MiniLM-L6-v2)
# adds the items' generated descriptions, embedded by rs-encode, to the item
# tower (examples/synth-tower-text.json); OUT then defaults to out/demo-text.

BIN     ?= bin
ENCODER ?=
OUT     ?= $(if $(ENCODER),out/demo-text,out/demo)
USERS   ?= 10000
ITEMS   ?= 5000
EVENTS  ?= 2000000
SEED    ?= 42
THREADS ?= 2
EPOCHS  ?= 15
K       ?= 20
CANDIDATES ?= 200
MERGED     ?= 500
TOWER_OPTS ?= --lr 0.005
RANK_OPTS  ?= --epochs 10 --patience 10 --stop-metric logloss

include $(dir $(lastword $(MAKEFILE_LIST)))common.mk

TOOLS = $(wildcard $(BIN)/rs-*)

.PHONY: demo summary

# The report reads the run store: none with TRACK= (tracking off).
demo: $(D)/metrics.tsv $(D)/sources.tsv $(D)/recommendations.json $(D)/similar.tsv.zst $(if $(TRACK),$(D)/report/index.html)
	@$(MAKE) --no-print-directory -f pipelines/demo.mk summary

summary:
	@echo
	@echo "== recsys-pipes demo: $(USERS) users, $(ITEMS) items, $(EVENTS) events (seed $(SEED))"
	@$(BIN)/rs-cat $(D)/metrics.tsv | awk -F'\t' 'NR == 1 || $$1 ~ /^(precision|recall|ndcg|mrr|hit_rate|catalog_coverage|novelty|ild_category)$$/' | column -t -s "$$(printf '\t')"
	@echo
	@echo "recall of each first stage ($(CANDIDATES) candidates) and of their merged candidates (up to $(MERGED)):"
	@$(BIN)/rs-cat $(D)/sources.tsv | awk -F'\t' 'NR == 1 || $$1 == "recall"' | column -t -s "$$(printf '\t')"
	@echo
	@echo "home recommendations: $(D)/final.tsv.zst and $(D)/recommendations.json"
	@echo "similar items:        $(D)/similar.tsv.zst"
	@echo "report:               $(if $(TRACK),$(D)/report/index.html,none (TRACK= turned the run store off))"

# 1. Data: a catalogue, users and an event log with planted structure.
$(D)/data/events.tsv.zst:
	@mkdir -p $(D)
	$(BIN)/rs-synth $(Q) --users $(USERS) --items $(ITEMS) --events $(EVENTS) --recommended 0.5 -z -o $(D)/data

$(D)/data/items.tsv.zst $(D)/data/users.tsv.zst: $(D)/data/events.tsv.zst

# 2. Time windows: train | validation (1 week) | test (2 weeks), no leakage.
$(D)/split/train.tsv.zst $(D)/split/valid.tsv.zst $(D)/split/test.tsv.zst &: $(D)/data/events.tsv.zst
	$(BIN)/rs-split $(Q) --windows 'train=old|valid=1w|test=2w' -z -o $(D)/split $<

# Positives (click, booking, favourite) and the impressions they came from.
$(D)/train/pos.tsv.zst $(D)/train/imp.tsv.zst &: $(D)/split/train.tsv.zst
	$(BIN)/rs-split $(Q) --by-event 'pos=click,booking,favourite|imp=impression' -z -o $(D)/train $<
$(D)/valid/pos.tsv.zst: $(D)/split/valid.tsv.zst
	$(BIN)/rs-split $(Q) --by-event 'pos=click,booking,favourite' -z -o $(D)/valid $<
$(D)/test/pos.tsv.zst: $(D)/split/test.tsv.zst
	$(BIN)/rs-split $(Q) --by-event 'pos=click,booking' -z -o $(D)/test $<

# 3. Prefilter: 2-core of users and items, with a report of what each rule removed.
$(D)/pos.tsv.zst: $(D)/train/pos.tsv.zst
	$(BIN)/rs-prefilter $(Q) --min-user-interactions 2 --min-item-interactions 2 \
	    --report $(D)/prefilter_report.tsv -o $@ $<

# 4. Vocabularies of the categorical columns (an inspection artefact: the
#    models build theirs from the same data).
$(D)/vocab_category.tsv: $(D)/data/items.tsv.zst
	$(BIN)/rs-vocab build $(Q) -c category -o $@ $<

# 5. Features: user aggregates + last-20 history; item popularity and counts.
$(D)/user_features.tsv.zst: $(D)/pos.tsv.zst $(D)/data/users.tsv.zst
	$(BIN)/rs-features $(Q) --side user --users $(D)/data/users.tsv.zst --history 20 -o $@ $<
$(D)/item_features.tsv.zst: $(D)/pos.tsv.zst $(D)/data/items.tsv.zst
	$(BIN)/rs-features $(Q) --side item --items $(D)/data/items.tsv.zst -o $@ $<

# 6. Training examples: log-uniform negatives + impressions shown but not clicked.
$(D)/examples.tsv.zst: $(D)/pos.tsv.zst $(D)/train/imp.tsv.zst
	$(BIN)/rs-negsample $(Q) -k 4 --strategy loguniform:0.5,impressions:0.5 \
	    --impressions $(D)/train/imp.tsv.zst -o $@ $<

# 7. The two-tower model, validated on the next week's positives. With
#    ENCODER, the items' descriptions (the same world drawn again with
#    --descriptions and no events: items are identical) embedded by rs-encode.
TOWER_CFG = $(if $(ENCODER),$(D)/tower-text.json,examples/synth-tower.json)

$(D)/text/item_text.tsv.zst:
	$(BIN)/rs-synth $(Q) --users $(USERS) --items $(ITEMS) --events 0 --descriptions -z -o $(D)/text
$(D)/item_text.rsb: $(D)/text/item_text.tsv.zst
	$(BIN)/rs-encode $(Q) -m $(ENCODER) -o $@ $<
$(D)/tower-text.json: examples/synth-tower-text.json $(D)/item_text.rsb
	sed 's#@TEXT_RSB@#$(D)/item_text.rsb#' $< > $@

$(D)/tower.rsm: $(D)/examples.tsv.zst $(D)/user_features.tsv.zst $(D)/item_features.tsv.zst \
                $(D)/valid/pos.tsv.zst $(TOWER_CFG)
	$(BIN)/rs-train-tower $(Q) -c $(TOWER_CFG) --users $(D)/user_features.tsv.zst \
	    --items $(D)/item_features.tsv.zst --valid $(D)/valid/pos.tsv.zst --epochs $(EPOCHS) \
	    $(TOWER_OPTS) --log $(D)/tower_log.tsv -o $@ $<

# 8. Embeddings of every user (cold ones from their features) and item.
$(D)/user_emb.rsb: $(D)/tower.rsm $(D)/user_features.tsv.zst
	$(BIN)/rs-embed $(Q) -m $< --users $(D)/user_features.tsv.zst -o $@
$(D)/item_emb.rsb: $(D)/tower.rsm $(D)/item_features.tsv.zst
	$(BIN)/rs-embed $(Q) -m $< --items $(D)/item_features.tsv.zst -o $@

# 9. Retrieval: the ANN index, 200 candidates per user (seen items excluded),
#    similar items, and the popular and random baselines.
$(D)/items.idx: $(D)/item_emb.rsb
	$(BIN)/rs-retrieve index build $(Q) --items $< -o $@
$(D)/candidates.tsv.zst: $(D)/user_emb.rsb $(D)/items.idx $(D)/pos.tsv.zst
	$(BIN)/rs-retrieve $(Q) --users $< --index $(D)/items.idx --nprobe 16 -k 200 \
	    --exclude $(D)/pos.tsv.zst -o $@
$(D)/similar.tsv.zst: $(D)/item_emb.rsb
	$(BIN)/rs-retrieve $(Q) --similar --items $< -k $(K) -o $@
$(D)/popular.tsv.zst: $(D)/pos.tsv.zst $(D)/user_features.tsv.zst
	$(BIN)/rs-retrieve $(Q) --popular $< --users-from $(D)/user_features.tsv.zst -k 100 --exclude $< -o $@
$(D)/random.tsv.zst: $(D)/item_emb.rsb $(D)/user_features.tsv.zst $(D)/pos.tsv.zst
	$(BIN)/rs-retrieve $(Q) --random --items $< --users-from $(D)/user_features.tsv.zst -k 100 \
	    --exclude $(D)/pos.tsv.zst -o $@

# 10. More first stages: ALS on the same positives, and popularity (above).
$(D)/als.tsv.zst: $(D)/pos.tsv.zst $(D)/user_features.tsv.zst
	$(BIN)/rs-als $(Q) -f 64 --candidates $(CANDIDATES) --exclude-seen \
	    --users-from $(D)/user_features.tsv.zst -o $@ $<

# 11. Every source's candidates in one list per user, each source's rank and
#     score kept as the ranker's features.
$(D)/merged.tsv.zst: $(D)/candidates.tsv.zst $(D)/als.tsv.zst $(D)/popular.tsv.zst
	$(BIN)/rs-merge $(Q) -k $(CANDIDATES) tower=$(D)/candidates.tsv.zst als=$(D)/als.tsv.zst \
	    pop=$(D)/popular.tsv.zst -o $@

# 12. Ranking: P(click) + P(booking), trained on the merged candidates of the
#     first stages (fitted on the training window) labelled by the validation
#     week's clicks and bookings, which no first stage saw; then applied to
#     the same candidates. The ranker learns on the population it ranks, and
#     the first stages it learnt to trust are the ones that serve
#     (examples/synth-rank.json; schemas/rank.md, schemas/label.md).
RANK_IO = --users $(D)/user_features.tsv.zst --items $(D)/item_features.tsv.zst \
          --user-emb $(D)/user_emb.rsb --item-emb $(D)/item_emb.rsb
$(D)/rank_train.tsv.zst: $(D)/merged.tsv.zst $(D)/split/valid.tsv.zst $(D)/split/train.tsv.zst
	$(BIN)/rs-label $(Q) --events $(D)/split/valid.tsv.zst --history $(D)/split/train.tsv.zst -o $@ $<
$(D)/rank.rsm: $(D)/rank_train.tsv.zst $(D)/user_emb.rsb $(D)/item_emb.rsb examples/synth-rank.json
	$(BIN)/rs-rank train $(Q) -c examples/synth-rank.json $(RANK_IO) $(RANK_OPTS) \
	    --log $(D)/rank_log.tsv -o $@ $<
$(D)/ranked.tsv.zst: $(D)/merged.tsv.zst $(D)/rank.rsm
	$(BIN)/rs-rank score $(Q) -m $(D)/rank.rsm $(RANK_IO) --keep 100 -o $@ $<

# 13. Post-ranking: at most 5 items per category, in stock, not seen; the
#     semantic clusters (rs-cluster) travel along for inspection and rs-serve.
$(D)/clusters.tsv: $(D)/item_emb.rsb
	$(BIN)/rs-cluster $(Q) -k 50 --centroids $(D)/centroids.rsb -o $@ $<
$(D)/final.tsv.zst: $(D)/ranked.tsv.zst $(D)/clusters.tsv $(D)/data/items.tsv.zst
	$(BIN)/rs-diversify $(Q) --items $(D)/data/items.tsv.zst --items $(D)/clusters.tsv --by category \
	    --max-per-group 5 --stock-col in_stock --seen $(D)/pos.tsv.zst -n $(K) -o $@ $<
$(D)/recommendations.json: $(D)/final.tsv.zst
	$(BIN)/rs-cat --to json -o $@ $<

# 14. Evaluation: each stage against the baselines, on the test window; and
#     each source's share of the merged list (recall at the candidates' depth).
$(D)/metrics.tsv: $(D)/test/pos.tsv.zst $(D)/candidates.tsv.zst $(D)/als.tsv.zst $(D)/merged.tsv.zst \
                  $(D)/ranked.tsv.zst $(D)/final.tsv.zst $(D)/popular.tsv.zst $(D)/random.tsv.zst $(D)/item_emb.rsb
	$(BIN)/rs-metrics $(Q) --truth $< --train $(D)/pos.tsv.zst --item-features $(D)/data/items.tsv.zst \
	    --items $(D)/item_emb.rsb -k 5,10,20 --wide \
	    --pred retrieval=$(D)/candidates.tsv.zst --pred als=$(D)/als.tsv.zst \
	    --pred merged=$(D)/merged.tsv.zst --pred ranked=$(D)/ranked.tsv.zst \
	    --pred diversified=$(D)/final.tsv.zst --pred popular=$(D)/popular.tsv.zst \
	    --pred random=$(D)/random.tsv.zst -o $@
$(D)/sources.tsv: $(D)/test/pos.tsv.zst $(D)/candidates.tsv.zst $(D)/als.tsv.zst $(D)/popular.tsv.zst \
                  $(D)/merged.tsv.zst
	$(BIN)/rs-metrics $(Q) --truth $< --train $(D)/pos.tsv.zst -k $(CANDIDATES),$(MERGED) --wide \
	    --pred tower=$(D)/candidates.tsv.zst --pred als=$(D)/als.tsv.zst \
	    --pred popular=$(D)/popular.tsv.zst --pred merged=$(D)/merged.tsv.zst -o $@

# 15. The report (rs-report): the runs of the invocation that wrote
#     metrics.tsv, from the run store: metrics with their directions, training
#     curves, the item map coloured by category. Needs TRACK.
$(D)/report/index.html: $(D)/metrics.tsv $(D)/sources.tsv $(D)/item_emb.rsb $(D)/final.tsv.zst
	@mkdir -p $(@D)
	$(BIN)/rs-report -q --track $(TRACK) --group-of $< --title "recsys-pipes demo" -o $@
