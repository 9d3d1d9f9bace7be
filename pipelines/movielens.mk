# pipelines/movielens.mk - the two-tower system on MovieLens 100K, against the
# popularity and random baselines and implicit ALS, on the two-tower issue's
# protocol: every rating is an implicit positive; per user, the last 20% of
# the ratings by time (at least 1) are test, the rest train; each user gets
# the top K (default 20) items not rated in train; recall@20 and NDCG@10, averaged
# over users.
#
#   u.data/u.user/u.item (shell tools) → rs-split → rs-features → [rs-negsample]
#   → rs-train-tower → rs-embed → rs-retrieve ─┐
#   rs-retrieve --popular / --random ─────────┼→ rs-metrics --wide → metrics.tsv
#   rs-als ───────────────────────────────────┘
#
#   make data-ml100k      # once: GroupLens' ml-100k.zip into data/ml-100k
#   make -f pipelines/movielens.mk [DATA_ML100K=data/ml-100k] [OUT=out/movielens]
#
# (from the repository root). DATA_ML100K is the folder of u.data, u.item,
# u.user and u.genre; when they are missing the run stops with a message.
# The tower's hyper-parameters (TOWER, EPOCHS) are bench/two-tower's; ALS is
# f = 64, lambda = 0.1, alpha = 20, 15 iterations.
# The MovieLens files are read in place; the converted streams go under OUT
# (out/ is git-ignored): the data's terms forbid redistributing it. Every
# stage is a target with real file dependencies, so a second run does nothing.
# NEGATIVES=K > 0 trains on rs-negsample examples (K log-uniform negatives with
# logQ) instead of the plain training pairs (in-batch negatives only).

BIN         ?= bin
DATA_ML100K ?= data/ml-100k
OUT         ?= out/movielens
SEED        ?= 42
THREADS     ?= 2
EPOCHS      ?= 16
K           ?= 20
HISTORY     ?= 50
NEGATIVES   ?= 0
CONFIG      ?= examples/ml100k-tower.json
TOWER       ?= --batch 512 --lr 0.01 --temperature 0.1 --feature-dropout 0.2 -d 64
ALS         ?= -f 64 -l 0.1 -a 20 -i 15
EASE_LAMBDAS ?= 50 100 150 250 350 500 1000
CANDIDATES  ?= 100
RANK_CONFIG ?= examples/ml100k-rank.json
RANK_OPTS   ?= --epochs 10 --patience 10
SELF := $(lastword $(MAKEFILE_LIST))
include $(dir $(SELF))common.mk

# The MovieLens files, checked before anything runs.
ML := $(DATA_ML100K)
ML_FILES := $(ML)/u.data $(ML)/u.user $(ML)/u.item $(ML)/u.genre
ML_MISSING := $(notdir $(filter-out $(wildcard $(ML_FILES)),$(ML_FILES)))
ifneq ($(ML_MISSING),)
define ML100K_HELP
MovieLens 100K not found: DATA_ML100K='$(ML)' has no $(ML_MISSING).
  Download it with `make data-ml100k` (GroupLens' ml-100k.zip into DATA_ML100K,
  default data/ml-100k; without network it prints the steps to do by hand), or
  point DATA_ML100K at a folder holding u.data, u.item, u.user and u.genre:
  make -f pipelines/movielens.mk DATA_ML100K=path/to/ml-100k
endef
$(error $(ML100K_HELP))
endif

.PHONY: all summary

all: $(D)/metrics.tsv $(D)/recommendations.json $(if $(TRACK),$(D)/report.html)
	@$(MAKE) --no-print-directory -f $(SELF) summary

summary:
	@echo
	@echo "== MovieLens 100K ($(ML)): top $(K) unseen items per user, per-user last 20% by time = test"
	@$(BIN)/rs-cat $(D)/metrics.tsv | awk -F'\t' 'NR == 1 || ($$1 == "recall" && $$2 == 20) || ($$1 == "ndcg" && $$2 == 10) || $$1 ~ /^(precision|hit_rate|catalog_coverage|users)$$/' | column -t -s "$$(printf '\t')"
	@echo
	@echo "EASE's lambda, tuned on the inner split (each user's last 20% of training ratings):"
	@column -t -s "$$(printf '\t')" $(D)/ease_tuning.tsv
	@echo
	@echo "metrics: $(D)/metrics.tsv; recommendations (two stages): $(D)/recommendations.json"

# 1. Conversion with shell tools. Ratings: user_id item_id event timestamp
#    weight (the rating), sorted by user, time and item so that ties in time
#    split by item id. Users: '|' → tab. Items: Latin-1 → UTF-8, the 19 genre
#    flags → a comma list of u.genre's names, year from the release date; a
#    backslash in a title is escaped (schemas/tsv.md).
$(D)/data/events.tsv.zst: $(ML)/u.data
	@mkdir -p $(@D)
	{ printf 'user_id\titem_id\tevent\ttimestamp\tweight\n'; \
	  awk -F'\t' -v OFS='\t' 'NF == 4 { print $$1, $$2, "rating", $$4, $$3 }' $< | \
	  sort -t "$$(printf '\t')" -k1,1n -k4,4n -k2,2n; } | $(BIN)/rs-cat -q -o $@ -
$(D)/data/users.tsv.zst: $(ML)/u.user
	@mkdir -p $(@D)
	{ printf 'user_id\tage\tgender\toccupation\tzip\n'; \
	  awk -F'|' -v OFS='\t' 'NF == 5 { print $$1, $$2, $$3, $$4, $$5 }' $<; } | $(BIN)/rs-cat -q -o $@ -
$(D)/data/items.tsv.zst: $(ML)/u.item $(ML)/u.genre
	@mkdir -p $(@D)
	iconv -f LATIN1 -t UTF-8 $< | sed 's/\\/\\\\/g' | awk -F'|' -v OFS='\t' ' \
	    FNR == NR { if (NF == 2) genre[$$2] = $$1; next } \
	    FNR == 1 { print "item_id", "title", "genres", "year" } \
	    { g = ""; for (k = 0; k in genre; k++) if ($$(6 + k) == "1") g = g (g == "" ? "" : ",") genre[k]; \
	      t = $$2; gsub(/\t/, " ", t); \
	      print $$1, t, g, ($$3 == "" ? "" : substr($$3, length($$3) - 3)) }' $(ML)/u.genre - | \
	  $(BIN)/rs-cat -q -o $@ -

# 2. The protocol split: per user, the last 20% of the ratings by time.
$(D)/split/train.tsv.zst $(D)/split/test.tsv.zst &: $(D)/data/events.tsv.zst
	$(BIN)/rs-split $(Q) --per-user-frac 0.2 -z -o $(D)/split $<

# 3. Features: demographics + the last HISTORY training items of each user
#    (one row per user); genres, title and training counts of each item.
$(D)/user_features.tsv.zst: $(D)/split/train.tsv.zst $(D)/data/users.tsv.zst
	$(BIN)/rs-features $(Q) --side user --users $(D)/data/users.tsv.zst --history $(HISTORY) -o $@ $<
$(D)/item_features.tsv.zst: $(D)/split/train.tsv.zst $(D)/data/items.tsv.zst
	$(BIN)/rs-features $(Q) --side item --items $(D)/data/items.tsv.zst -o $@ $<

# 4. Training examples: the training pairs, or (NEGATIVES > 0) the pairs with
#    log-uniform negatives and logQ from rs-negsample.
ifeq ($(NEGATIVES),0)
EXAMPLES := $(D)/split/train.tsv.zst
else
EXAMPLES := $(D)/examples.tsv.zst
$(D)/examples.tsv.zst: $(D)/split/train.tsv.zst
	$(BIN)/rs-negsample $(Q) -k $(NEGATIVES) --strategy loguniform -o $@ $<
endif

# 5. The two-tower model (examples/ml100k-tower.json) and the embeddings.
$(D)/tower.rsm: $(EXAMPLES) $(D)/user_features.tsv.zst $(D)/item_features.tsv.zst $(CONFIG)
	$(BIN)/rs-train-tower $(Q) -c $(CONFIG) --users $(D)/user_features.tsv.zst \
	    --items $(D)/item_features.tsv.zst $(TOWER) --epochs $(EPOCHS) \
	    --log $(D)/tower_log.tsv -o $@ $<
$(D)/user_emb.rsb: $(D)/tower.rsm $(D)/user_features.tsv.zst
	$(BIN)/rs-embed $(Q) -m $< --users $(D)/user_features.tsv.zst -o $@
$(D)/item_emb.rsb: $(D)/tower.rsm $(D)/item_features.tsv.zst
	$(BIN)/rs-embed $(Q) -m $< --items $(D)/item_features.tsv.zst -o $@

# 6. Top K unseen items per user: the towers (exact search), the baselines
#    (for every user of the users table: one row per user) and ALS.
$(D)/tower.tsv.zst: $(D)/user_emb.rsb $(D)/item_emb.rsb $(D)/split/train.tsv.zst
	$(BIN)/rs-retrieve $(Q) --users $< --items $(D)/item_emb.rsb -k $(K) \
	    --exclude $(D)/split/train.tsv.zst -o $@
$(D)/popular.tsv.zst: $(D)/split/train.tsv.zst $(D)/data/users.tsv.zst
	$(BIN)/rs-retrieve $(Q) --popular $< --users-from $(D)/data/users.tsv.zst -k $(K) --exclude $< -o $@
$(D)/random.tsv.zst: $(D)/item_emb.rsb $(D)/data/users.tsv.zst $(D)/split/train.tsv.zst
	$(BIN)/rs-retrieve $(Q) --random --items $< --users-from $(D)/data/users.tsv.zst -k $(K) \
	    --exclude $(D)/split/train.tsv.zst -o $@
$(D)/als.tsv.zst: $(D)/split/train.tsv.zst $(D)/data/users.tsv.zst
	$(BIN)/rs-als $(Q) $(ALS) --candidates $(K) --exclude-seen --users-from $(D)/data/users.tsv.zst \
	    --log $(D)/als_log.tsv -o $@ $<

# 7. EASE (Steck 2019), the bar for the two-stage list, with its lambda tuned
#    honestly: each of EASE_LAMBDAS is fitted on the inner split's head (each
#    user's first 80% of training ratings) and scored on its tail; the best
#    NDCG@10 wins (ease_tuning.tsv), then EASE is fitted on all the training
#    ratings with it.
$(D)/inner/train.tsv.zst $(D)/inner/test.tsv.zst &: $(D)/split/train.tsv.zst
	$(BIN)/rs-split $(Q) --per-user-frac 0.2 -z -o $(D)/inner $<
$(D)/ease_tuning.tsv: $(D)/inner/train.tsv.zst $(D)/inner/test.tsv.zst
	printf 'lambda\trecall@20\tndcg@10\n' > $@.tmp
	for l in $(EASE_LAMBDAS); do \
	    $(BIN)/rs-ease $(Q) -l $$l -k $(K) --exclude-seen -o $(D)/inner/ease.tsv $<; \
	    $(BIN)/rs-metrics $(Q) --truth $(D)/inner/test.tsv.zst --train $< -k 10,20 --wide \
	        --pred ease=$(D)/inner/ease.tsv | awk -F'\t' -v l=$$l \
	        '$$1 == "recall" && $$2 == 20 { r = $$3 } $$1 == "ndcg" && $$2 == 10 { n = $$3 } END { print l "\t" r "\t" n }'; \
	done >> $@.tmp
	rm -f $(D)/inner/ease.tsv
	mv $@.tmp $@
EASE_BEST = $$(awk -F'\t' 'NR > 1 && $$3 > best { best = $$3; l = $$1 } END { print l }' $(D)/ease_tuning.tsv)
$(D)/ease.tsv.zst: $(D)/split/train.tsv.zst $(D)/ease_tuning.tsv
	@echo "EASE: lambda $(EASE_BEST), the best NDCG@10 of $(D)/ease_tuning.tsv"
	$(BIN)/rs-ease $(Q) -l $(EASE_BEST) -k $(K) --exclude-seen -o $@ $<

# 8. Two stages. The first stages are fitted on the inner head: EASE (the
#    tuned lambda) and popularity. Their candidates for the head's histories,
#    labelled by the tail's ratings (rs-label), train the ranker; at serving
#    the same EASE model scores each user's whole training history (an
#    item-item model needs no refit for a longer history), so the ranker meets
#    the first stage it was trained on. Features of users and items come from
#    the head too (examples/ml100k-rank.json).
$(D)/ease_head.rsm: $(D)/inner/train.tsv.zst $(D)/ease_tuning.tsv
	$(BIN)/rs-ease $(Q) -l $(EASE_BEST) --save-model $@ $<
$(D)/stage1/ease_label.tsv.zst: $(D)/ease_head.rsm $(D)/inner/train.tsv.zst
	@mkdir -p $(@D)
	$(BIN)/rs-ease $(Q) -m $< -k $(CANDIDATES) --exclude-seen -o $@ $(D)/inner/train.tsv.zst
$(D)/stage1/ease_serve.tsv.zst: $(D)/ease_head.rsm $(D)/split/train.tsv.zst
	@mkdir -p $(@D)
	$(BIN)/rs-ease $(Q) -m $< -k $(CANDIDATES) --exclude-seen -o $@ $(D)/split/train.tsv.zst
$(D)/stage1/pop_label.tsv.zst: $(D)/inner/train.tsv.zst
	@mkdir -p $(@D)
	$(BIN)/rs-retrieve $(Q) --popular $< --users-from $< -k $(CANDIDATES) --exclude $< -o $@
$(D)/stage1/pop_serve.tsv.zst: $(D)/split/train.tsv.zst
	@mkdir -p $(@D)
	$(BIN)/rs-retrieve $(Q) --popular $< --users-from $< -k $(CANDIDATES) --exclude $< -o $@
$(D)/merged_%.tsv.zst: $(D)/stage1/ease_%.tsv.zst $(D)/stage1/pop_%.tsv.zst
	$(BIN)/rs-merge $(Q) ease=$(D)/stage1/ease_$*.tsv.zst pop=$(D)/stage1/pop_$*.tsv.zst -o $@
$(D)/rank_user_features.tsv.zst: $(D)/inner/train.tsv.zst $(D)/data/users.tsv.zst
	$(BIN)/rs-features $(Q) --side user --users $(D)/data/users.tsv.zst -o $@ $<
$(D)/rank_item_features.tsv.zst: $(D)/inner/train.tsv.zst $(D)/data/items.tsv.zst
	$(BIN)/rs-features $(Q) --side item --items $(D)/data/items.tsv.zst -o $@ $<
RANK_IO = --users $(D)/rank_user_features.tsv.zst --items $(D)/rank_item_features.tsv.zst
$(D)/rank_train.tsv.zst: $(D)/merged_label.tsv.zst $(D)/inner/test.tsv.zst
	$(BIN)/rs-label $(Q) --events $(D)/inner/test.tsv.zst --label click=rating --label booking=rating -o $@ $<
$(D)/rank.rsm: $(D)/rank_train.tsv.zst $(D)/rank_user_features.tsv.zst $(D)/rank_item_features.tsv.zst \
               $(RANK_CONFIG)
	$(BIN)/rs-rank train $(Q) -c $(RANK_CONFIG) $(RANK_IO) $(RANK_OPTS) --log $(D)/rank_log.tsv -o $@ $<
$(D)/ranked.tsv.zst: $(D)/merged_serve.tsv.zst $(D)/rank.rsm
	$(BIN)/rs-rank score $(Q) -m $(D)/rank.rsm $(RANK_IO) --keep $(K) -o $@ $<

# 9. Evaluation side by side, and the two-stage recommendations as JSON.
$(D)/metrics.tsv: $(D)/split/test.tsv.zst $(D)/split/train.tsv.zst $(D)/tower.tsv.zst $(D)/als.tsv.zst \
                  $(D)/ease.tsv.zst $(D)/merged_serve.tsv.zst $(D)/ranked.tsv.zst \
                  $(D)/popular.tsv.zst $(D)/random.tsv.zst $(D)/data/items.tsv.zst
	$(BIN)/rs-metrics $(Q) --truth $< --train $(D)/split/train.tsv.zst -k 5,10,20 --wide \
	    --pred two-tower=$(D)/tower.tsv.zst --pred als=$(D)/als.tsv.zst --pred ease=$(D)/ease.tsv.zst \
	    --pred merged=$(D)/merged_serve.tsv.zst --pred ranked=$(D)/ranked.tsv.zst \
	    --pred popular=$(D)/popular.tsv.zst --pred random=$(D)/random.tsv.zst -o $@
$(D)/recommendations.json: $(D)/ranked.tsv.zst
	$(BIN)/rs-cat --to json -o $@ $<

# The report (rs-report) of the invocation that wrote metrics.tsv, from the
# run store TRACK (none with TRACK=): metrics with their directions, training curves, the item map coloured by first genre.
$(D)/report.html: $(D)/metrics.tsv
	$(BIN)/rs-report -q --track $(TRACK) --group-of $< --category-col genres --title "MovieLens 100K" -o $@
