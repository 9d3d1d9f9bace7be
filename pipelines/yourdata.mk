# pipelines/yourdata.mk - your interactions to recommendations, metrics and a
# report in one command:
#
#   make -f pipelines/yourdata.mk EVENTS=my.csv [USERS=users.csv] [ITEMS=items.csv] [OUT=out/yourdata]
#
# (from the repository root). EVENTS is any interactions table, CSV or TSV
# (zstd or not), one row per interaction, in your own column names: the
# columns of user, item and time are found by name (pipelines/columns.sh:
# user/customer/visitor..., item/product/movie..., time/timestamp/when...,
# event/action/type..., rating/stars...) or given as USER_COL, ITEM_COL,
# TIME_COL, EVENT_COL, RATING_COL, and keep their names through every stage
# (docs/design.md, "Column names"). A file without a header line names its
# columns with COLUMNS=user_id,item_id,rating,timestamp (MovieLens' u.data).
# Timestamps: Unix seconds, milliseconds, microseconds or ISO 8601, told
# apart by magnitude or declared with TIME_UNIT=s|ms|us|iso. Without an event
# column every row is a positive; with one, POSITIVE lists the events that
# are (default: every event). With a rating column, MIN_RATING=4 keeps the
# ratings of 4 and more as the positives (default: every rating). USERS and
# ITEMS (keyed by the same id columns) add their columns to the features;
# CATEGORY_COL names the ITEMS column that colours the report's item map.
#
#   EVENTS → [MIN_RATING, POSITIVE] → rs-prefilter (k-core) → rs-split: each
#   user's last 20% by time = test (full); the rest split again the same way
#   (head: its last 20% labels the ranker's training candidates)
#   for head and full: rs-features → rs-train-tower (ids + history) → rs-embed
#       → rs-retrieve (two-tower), rs-als, rs-retrieve --popular → rs-merge
#   head: merged candidates labelled by the head's test (rs-label) → rs-rank train
#   full: merged → rs-rank score → rs-diversify (a cap per cluster of items)
#       → recommendations.json; rs-metrics on the test users against the
#       popular and random baselines → metrics.tsv; rs-report → report/
#
# Sizes follow the data (ROWS, its row count): k-core thresholds, epochs,
# dimensions and ALS factors are set below from ROWS and may each be given.
# Every stage is a target with real file dependencies: a second run does
# nothing.

BIN         ?= bin
EVENTS      ?=
USERS       ?=
ITEMS       ?=
OUT         ?= out/yourdata
COLUMNS     ?=
TIME_UNIT   ?= auto
POSITIVE    ?=
MIN_RATING  ?=
K           ?= 20
CANDIDATES  ?= 100
HISTORY     ?= 50
CLUSTERS    ?= 20
PER_CLUSTER ?= 5
RANK_CONFIG ?= examples/yourdata-rank.json
RANK_OPTS   ?= --epochs 10 --patience 3
SEED        ?= 42
THREADS     ?= 2
SELF := $(lastword $(MAKEFILE_LIST))
include $(dir $(SELF))common.mk
.SECONDARY:

ifeq ($(strip $(EVENTS)),)
$(error EVENTS is not set: make -f pipelines/yourdata.mk EVENTS=path/to/interactions.csv (see the header of pipelines/yourdata.mk))
endif
ifeq ($(wildcard $(EVENTS)),)
$(error EVENTS='$(EVENTS)': no such file)
endif

# CSV by name, as every tool reads it; a header from COLUMNS in the file's separator.
CSV := $(if $(filter %.csv %.csv.zst,$(EVENTS)),--csv)
COMMA := ,
HEADER := $(if $(COLUMNS),$(subst $(COMMA),$(if $(CSV),$(COMMA),	),$(COLUMNS)))
HEADER_TSV := $(if $(COLUMNS),$(subst $(COMMA),	,$(COLUMNS)),$(shell $(BIN)/rs-cat -q $(CSV) $(EVENTS) | head -1))
detect = $(shell $(dir $(SELF))columns.sh $(1) '$(HEADER_TSV)')
USER_COL   ?= $(call detect,user)
ITEM_COL   ?= $(call detect,item)
TIME_COL   ?= $(call detect,time)
EVENT_COL  ?= $(call detect,event)
RATING_COL ?= $(call detect,rating)
ifeq ($(strip $(USER_COL)),)
$(error no user column in '$(HEADER_TSV)': set USER_COL=NAME)
endif
ifeq ($(strip $(ITEM_COL)),)
$(error no item column in '$(HEADER_TSV)': set ITEM_COL=NAME)
endif
ifeq ($(strip $(TIME_COL)),)
$(error no time column in '$(HEADER_TSV)': set TIME_COL=NAME (the test set is each user's latest interactions))
endif

# Sizes from the row count: larger data, stricter k-core, fewer epochs, wider embeddings.
ROWS := $(shell { $(if $(COLUMNS),cat $(EVENTS),$(BIN)/rs-cat -q $(CSV) $(EVENTS) | tail -n +2); } | wc -l)
size = $(if $(shell [ $(ROWS) -lt 200000 ] && echo 1),$(1),$(if $(shell [ $(ROWS) -lt 2000000 ] && echo 1),$(2),$(3)))
MIN_USER    ?= $(call size,3,5,5)
MIN_ITEM    ?= $(call size,2,5,10)
EPOCHS      ?= $(call size,16,8,4)
DIM         ?= $(call size,32,64,64)
ALS         ?= -f $(call size,32,64,64) -l 0.1 -a 20 -i 15

COLS = --user-col $(USER_COL) --item-col $(ITEM_COL)
TCOLS = $(COLS) --time-col $(TIME_COL) --time-unit $(TIME_UNIT)
POS_OPT = $(if $(and $(EVENT_COL),$(POSITIVE)),--positive $(POSITIVE))

.PHONY: all summary

all: $(D)/metrics.tsv $(D)/recommendations.json $(if $(TRACK),$(D)/report/index.html)
	@$(MAKE) --no-print-directory -f $(SELF) summary

summary:
	@echo
	@echo "== $(EVENTS): $(ROWS) rows; user $(USER_COL), item $(ITEM_COL), time $(TIME_COL)$(if $(EVENT_COL), event $(EVENT_COL))$(if $(RATING_COL), rating $(RATING_COL)); each user's last 20% = test"
	@$(BIN)/rs-cat $(D)/metrics.tsv | awk -F'\t' 'NR == 1 || ($$1 ~ /^(recall|ndcg|precision|hit_rate)$$/ && ($$2 == 10 || $$2 == 20)) || $$1 ~ /^(catalog_coverage|users)$$/' | column -t -s "$$(printf '\t')"
	@echo
	@echo "metrics: $(D)/metrics.tsv; recommendations: $(D)/recommendations.json; report: $(D)/report/index.html"

# 1. The interactions: a header from COLUMNS, ratings below MIN_RATING and
#    events outside POSITIVE dropped, then k-core (every user keeps rows for
#    train and test).
$(D)/data/events.tsv.zst: $(EVENTS)
	@mkdir -p $(@D)
	{ $(if $(COLUMNS),printf '%s\n' '$(HEADER)'; cat $<,cat $<); } | $(BIN)/rs-cat -q $(CSV) - | \
	  awk -F'\t' -v r='$(if $(MIN_RATING),$(RATING_COL))' -v min='$(MIN_RATING)' -v e='$(EVENT_COL)' -v pos='$(POSITIVE)' \
	    'NR == 1 { for (i = 1; i <= NF; i++) { if ($$i == r) rc = i; if ($$i == e) ec = i }; n = split(pos, p, ","); \
	               for (i = 1; i <= n; i++) keep[p[i]]; print; next } \
	     (!rc || $$rc + 0 >= min) && (!ec || !n || ($$ec in keep))' | \
	  $(BIN)/rs-prefilter $(Q) $(COLS) --min-user-interactions $(MIN_USER) --min-item-interactions $(MIN_ITEM) \
	    --report $(D)/prefilter_report.tsv -z -o $@ -

# 2. Test: each user's last 20% by time; head: the same split of the rest.
$(D)/full/train.tsv.zst $(D)/full/test.tsv.zst &: $(D)/data/events.tsv.zst
	$(BIN)/rs-split $(Q) $(TCOLS) --per-user-frac 0.2 -z -o $(D)/full $<
$(D)/head/train.tsv.zst $(D)/head/test.tsv.zst &: $(D)/full/train.tsv.zst
	$(BIN)/rs-split $(Q) $(TCOLS) --per-user-frac 0.2 -z -o $(D)/head $<
# the users each stage recommends to: those of its test rows
$(D)/%/users.tsv: $(D)/%/test.tsv.zst
	$(BIN)/rs-cat $< | awk -F'\t' -v u='$(USER_COL)' 'NR == 1 { for (i = 1; i <= NF; i++) if ($$i == u) c = i; print u; next } \
	    !seen[$$c]++ { print $$c }' > $@

# 3. Features of each stage's train rows (and USERS, ITEMS).
$(D)/%/user_features.tsv.zst: $(D)/%/train.tsv.zst $(USERS)
	$(BIN)/rs-features $(Q) $(TCOLS) --side user $(if $(USERS),--users $(USERS)) --history $(HISTORY) -o $@ $<
$(D)/%/item_features.tsv.zst: $(D)/%/train.tsv.zst $(ITEMS)
	$(BIN)/rs-features $(Q) $(TCOLS) --side item $(if $(ITEMS),--items $(ITEMS)) -o $@ $<

# 4. The two-tower model on the ids and each user's history (in-batch
#    negatives), its embeddings, and its top CANDIDATES unseen items. No
#    feature dropout: every feature here is behavioural, and a user row with
#    all of them zeroed gives the tower a zero vector to normalise.
$(D)/tower.json:
	@mkdir -p $(@D)
	printf '{\n  "embedding_size": %s,\n  "user_embedding_layers": {\n    "%s": {"type": "string", "embedding_size": %s},\n    "history": {"type": "sequence", "shares": "%s"}\n  },\n  "item_embedding_layers": {\n    "%s": {"type": "string", "embedding_size": %s}\n  }\n}\n' \
	    $(DIM) '$(USER_COL)' $(DIM) '$(ITEM_COL)' '$(ITEM_COL)' $(DIM) > $@
#    The head's model is validated (recall@20 per epoch, early stopping) on
#    the head's test rows; the full model trains for the head's best epochs.
BEST_EPOCH = $$(awk -F'\t' 'NR > 1 && $$5 > best { best = $$5; e = $$1 } END { print e ? e : 1 }' $(D)/head/tower_log.tsv)
$(D)/%/tower.rsm: $(D)/%/train.tsv.zst $(D)/%/user_features.tsv.zst $(D)/%/item_features.tsv.zst $(D)/tower.json \
                  $(D)/%/test.tsv.zst
	$(BIN)/rs-train-tower $(Q) $(COLS) -c $(D)/tower.json --users $(D)/$*/user_features.tsv.zst \
	    $(if $(filter head,$*),--valid $(D)/head/test.tsv.zst --patience 3 --epochs $(EPOCHS),--epochs $(BEST_EPOCH)) \
	    --items $(D)/$*/item_features.tsv.zst --batch 512 --lr 0.01 --temperature 0.1 --feature-dropout 0 \
	    --log $(D)/$*/tower_log.tsv -o $@ $<
$(D)/full/tower.rsm: $(D)/head/tower.rsm
$(D)/%/user_emb.rsb: $(D)/%/tower.rsm $(D)/%/user_features.tsv.zst
	$(BIN)/rs-embed $(Q) -m $< --users $(D)/$*/user_features.tsv.zst -o $@
$(D)/%/item_emb.rsb: $(D)/%/tower.rsm $(D)/%/item_features.tsv.zst
	$(BIN)/rs-embed $(Q) -m $< --items $(D)/$*/item_features.tsv.zst -o $@
$(D)/%/tower.tsv.zst: $(D)/%/user_emb.rsb $(D)/%/item_emb.rsb $(D)/%/train.tsv.zst
	$(BIN)/rs-retrieve $(Q) $(COLS) --users $< --items $(D)/$*/item_emb.rsb -k $(CANDIDATES) \
	    --exclude $(D)/$*/train.tsv.zst -o $@

# 5. ALS and popularity, and the three in one list per user (RRF order).
$(D)/%/als.tsv.zst: $(D)/%/train.tsv.zst $(D)/%/users.tsv
	$(BIN)/rs-als $(Q) $(COLS) $(ALS) --candidates $(CANDIDATES) --exclude-seen --users-from $(D)/$*/users.tsv -o $@ $<
$(D)/%/popular.tsv.zst: $(D)/%/train.tsv.zst $(D)/%/users.tsv
	$(BIN)/rs-retrieve $(Q) $(COLS) --popular $< --users-from $(D)/$*/users.tsv -k $(CANDIDATES) --exclude $< -o $@
$(D)/%/merged.tsv.zst: $(D)/%/tower.tsv.zst $(D)/%/als.tsv.zst $(D)/%/popular.tsv.zst $(D)/%/users.tsv
	$(BIN)/rs-merge $(Q) $(COLS) --users-from $(D)/$*/users.tsv tower=$(D)/$*/tower.tsv.zst \
	    als=$(D)/$*/als.tsv.zst pop=$(D)/$*/popular.tsv.zst -o $@

# 6. The ranker: the head's candidates labelled by the head's test rows
#    (every row a positive), features of the head; it ranks the full stage's
#    candidates with the full stage's features.
$(D)/rank_train.tsv.zst: $(D)/head/merged.tsv.zst $(D)/head/test.tsv.zst
	ev=$$($(BIN)/rs-cat $(D)/head/test.tsv.zst | awk -F'\t' -v e='$(EVENT_COL)' \
	    'NR == 1 { for (i = 1; i <= NF; i++) if ($$i == e) c = i; next } { w[c ? $$c : "click"] } \
	     END { for (x in w) s = s (s == "" ? "" : ",") x; print s }'); \
	$(BIN)/rs-label $(Q) $(COLS) $(if $(EVENT_COL),--event-col $(EVENT_COL)) --events $(D)/head/test.tsv.zst \
	    --label click=$$ev --label booking=$$ev -o $@ $<
$(D)/rank.rsm: $(D)/rank_train.tsv.zst $(D)/head/user_features.tsv.zst $(D)/head/item_features.tsv.zst $(RANK_CONFIG)
	$(BIN)/rs-rank train $(Q) $(COLS) -c $(RANK_CONFIG) --users $(D)/head/user_features.tsv.zst \
	    --items $(D)/head/item_features.tsv.zst $(RANK_OPTS) --log $(D)/rank_log.tsv -o $@ $<
$(D)/ranked.tsv.zst: $(D)/full/merged.tsv.zst $(D)/rank.rsm $(D)/full/user_features.tsv.zst $(D)/full/item_features.tsv.zst
	$(BIN)/rs-rank score $(Q) $(COLS) -m $(D)/rank.rsm --users $(D)/full/user_features.tsv.zst \
	    --items $(D)/full/item_features.tsv.zst --keep $(CANDIDATES) -o $@ $<

# 7. Post-ranking: the top K with at most PER_CLUSTER items of one of
#    CLUSTERS k-means clusters of the two-tower item embeddings (a cap needs
#    no common scale of score and similarity, as MMR would).
$(D)/full/clusters.tsv: $(D)/full/item_emb.rsb
	$(BIN)/rs-cluster $(Q) $(COLS) -k $(CLUSTERS) -o $@ $<
$(D)/final.tsv.zst: $(D)/ranked.tsv.zst $(D)/full/clusters.tsv
	$(BIN)/rs-diversify $(Q) $(COLS) -n $(K) --items $(D)/full/clusters.tsv --by cluster --max-per-group $(PER_CLUSTER) \
	    -o $@ $<
$(D)/recommendations.json: $(D)/final.tsv.zst
	$(BIN)/rs-cat --to json --group-col $(USER_COL) -o $@ $<

# 8. Every stage and the baselines on the test users' last 20%.
$(D)/full/random.tsv.zst: $(D)/full/item_emb.rsb $(D)/full/users.tsv $(D)/full/train.tsv.zst
	$(BIN)/rs-retrieve $(Q) $(COLS) --random --items $< --users-from $(D)/full/users.tsv -k $(K) \
	    --exclude $(D)/full/train.tsv.zst -o $@
$(D)/metrics.tsv: $(D)/full/test.tsv.zst $(D)/full/train.tsv.zst $(D)/full/tower.tsv.zst $(D)/full/als.tsv.zst \
                  $(D)/full/popular.tsv.zst $(D)/full/random.tsv.zst $(D)/full/merged.tsv.zst $(D)/ranked.tsv.zst \
                  $(D)/final.tsv.zst
	$(BIN)/rs-metrics $(Q) $(COLS) --truth $< --train $(D)/full/train.tsv.zst -k 5,10,20 --wide \
	    --pred two-tower=$(D)/full/tower.tsv.zst --pred als=$(D)/full/als.tsv.zst \
	    --pred merged=$(D)/full/merged.tsv.zst --pred ranked=$(D)/ranked.tsv.zst --pred final=$(D)/final.tsv.zst \
	    --pred popular=$(D)/full/popular.tsv.zst --pred random=$(D)/full/random.tsv.zst -o $@

# 9. The report (rs-report): the runs of the invocation that wrote metrics.tsv,
#    from the run store (TRACK, common.mk): metrics with their directions,
#    training curves, the item map (coloured by CATEGORY_COL of ITEMS, if any).
$(D)/report/index.html: $(D)/metrics.tsv
	@mkdir -p $(@D)
	$(BIN)/rs-report -q --track $(TRACK) --group-of $< $(if $(CATEGORY_COL),--category-col $(CATEGORY_COL)) \
	    --title "$(notdir $(EVENTS))" -o $@
