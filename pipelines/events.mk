# pipelines/events.mk - a two-stage recommender for any event log in the
# canonical columns: user_id, item_id, event, timestamp (Unix seconds or ISO
# 8601; other columns pass through), with optional item and user attribute
# tables keyed by item_id and user_id.
#
#   EVENTS → rs-split --windows 'train=old|label=...|test=...' → positives
#   first stages fitted on the train window, for each later window's users:
#       rs-als, rs-ease (a small enough catalogue), rs-retrieve --popular,
#       rs-retrieve --history (repeats) → rs-merge
#   label window: merged candidates labelled by its positives (rs-label)
#       → rs-rank train (features: rs-features on the train window's events,
#       each source's rank and score, the attribute tables)
#   test window: merged candidates of the same models → rs-rank score
#       → rs-metrics: each source alone, merged (RRF order), ranked
#
#   make -f pipelines/events.mk EVENTS=events.tsv.zst [ITEMS=items.tsv] [USERS=users.tsv] \
#       [WINDOWS='train=old|label=1w|test=1w'] [POSITIVE=click,booking] [SOURCES='als ease pop hist'] \
#       [OUT=out/events]
#
# (from the repository root). As in pipelines/retail.mk, both stages see only
# what was known when they start: the first stages and the feature tables use
# the train window alone; the ranker learns from the label window's users;
# the test window's users get candidates from the same first-stage models and
# features, so the ranker ranks at test time what it was trained on. A user
# of a later window with no train events gets what each source gives an
# unknown user (ALS, EASE, popular: the most popular items; history: none).
#
# Variables:
#   EVENTS      the event log (required); CSV or TSV, zstd or not
#   ITEMS       item attributes (item_id, any columns): joined by rs-features
#   USERS       user attributes (user_id, any columns): joined by rs-features;
#               with POPULAR='--segment-col COL', popularity per segment
#   WINDOWS     rs-split --windows spec; the windows must be named train, label
#               and test, oldest first ('train=old|...' keeps every older event)
#   POSITIVE    events that are positives: the first stages' input, the label
#               `click` (any positive) and the test truth
#   BOOKING     events of the ranker's second head, the label `booking`
#   SOURCES     first stages, any of: als ease pop hist (in merge order)
#   CANDIDATES  candidates per source and user
#   PREFILTER   rs-prefilter rules for ALS's and EASE's input (items seen once
#               teach an item-item or factor model nothing)
#   ALS, EASE_LAMBDA, POPULAR, HISTORY, FEATURES   options of each stage
#   RANK_CONFIG, RANK_OPTS   the ranker's config (schemas/rank.md) and options;
#               the default config fits the default SOURCES
# Every stage is a target with real file dependencies, so a second run does
# nothing.

BIN         ?= bin
EVENTS      ?=
ITEMS       ?=
USERS       ?=
OUT         ?= out/events
WINDOWS     ?= train=old|label=1w|test=1w
POSITIVE    ?= click,booking
BOOKING     ?= booking
SOURCES     ?= als pop hist
CANDIDATES  ?= 50
PREFILTER   ?= --min-item-interactions 2
ALS         ?= -f 32 -l 0.1 -a 20 -i 15
EASE_LAMBDA ?= 250
POPULAR     ?=
HISTORY     ?=
FEATURES    ?=
RANK_CONFIG ?= examples/events-rank.json
RANK_OPTS   ?=
SEED        ?= 42
THREADS     ?= 2
SELF := $(lastword $(MAKEFILE_LIST))
include $(dir $(SELF))common.mk
.SECONDARY:

ifeq ($(strip $(EVENTS)),)
$(error EVENTS is not set: make -f pipelines/events.mk EVENTS=path/to/events.tsv.zst (columns user_id, item_id, event, timestamp))
endif
UNKNOWN_SOURCES := $(filter-out als ease pop hist,$(SOURCES))
ifneq ($(UNKNOWN_SOURCES),)
$(error SOURCES='$(SOURCES)': unknown $(UNKNOWN_SOURCES) (known: als ease pop hist))
endif

# cutoffs of rs-metrics: 5, 10, 20 and the candidates' depth, ascending, once each
KS := $(shell printf '%s\n' 5 10 20 $(CANDIDATES) | sort -n -u | paste -sd, -)
ITEMS_OPT := $(if $(ITEMS),--items $(ITEMS))
USERS_OPT := $(if $(USERS),--users $(USERS))
SEGMENTS  := $(if $(and $(USERS),$(findstring --segment-col,$(POPULAR))),--segments $(USERS))

.PHONY: all summary

all: $(D)/metrics.tsv
	@$(MAKE) --no-print-directory -f $(SELF) summary

summary:
	@echo
	@echo "== two stages on $(EVENTS): windows '$(WINDOWS)', positives $(POSITIVE); sources $(SOURCES), $(CANDIDATES) candidates each"
	@for w in train label test; do $(BIN)/rs-cat $(D)/$$w/pos.tsv.zst | \
	    awk -F'\t' -v w=$$w 'NR == 1 { for (i = 1; i <= NF; i++) if ($$i == "user_id") c = i; next } \
	    { n++; if (!($$c in u)) { u[$$c]; m++ } } END { printf "  %-5s window: %d positives, %d users\n", w, n, m }'; done
	@$(BIN)/rs-cat $(D)/metrics.tsv | awk -F'\t' 'NR == 1 || ($$1 ~ /^(precision|recall|ndcg|hit_rate)$$/ && ($$2 == 10 || $$2 == 20)) || ($$1 == "recall" && $$2 == $(CANDIDATES)) || $$1 == "users"' | column -t -s "$$(printf '\t')"
	@echo
	@echo "metrics: $(D)/metrics.tsv; ranked test candidates: $(D)/ranked.tsv.zst"

# 1. Windows, then each window's positives.
$(D)/win/train.tsv.zst $(D)/win/label.tsv.zst $(D)/win/test.tsv.zst &: $(EVENTS)
	@mkdir -p $(D)
	$(BIN)/rs-split $(Q) --windows '$(WINDOWS)' -z -o $(D)/win $<
$(D)/%/pos.tsv.zst: $(D)/win/%.tsv.zst
	$(BIN)/rs-split $(Q) --by-event 'pos=$(POSITIVE)' -z -o $(D)/$* $<

# 2. The users of the label and test windows: those with a positive there.
$(D)/%_users.tsv: $(D)/%/pos.tsv.zst
	$(BIN)/rs-cat $< | awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($$i == "user_id") c = i; print "user_id"; next } \
	    !seen[$$c]++ { print $$c }' > $@

# 3. First stages, fitted on the train window's positives, for the users of a
#    window. ALS and EASE read them prefiltered (PREFILTER) and leave out each
#    user's train items (the history source proposes those); EASE is fitted
#    once and scores each window's users from their train histories.
$(D)/train_fit.tsv.zst: $(D)/train/pos.tsv.zst
	$(BIN)/rs-prefilter $(Q) $(PREFILTER) --report $(D)/prefilter_report.tsv -o $@ $<
$(D)/stage1/als_%.tsv.zst: $(D)/train_fit.tsv.zst $(D)/%_users.tsv
	@mkdir -p $(@D)
	$(BIN)/rs-als $(Q) $(ALS) --candidates $(CANDIDATES) --exclude-seen --users-from $(D)/$*_users.tsv -o $@ $<
$(D)/ease.rsm: $(D)/train_fit.tsv.zst
	$(BIN)/rs-ease $(Q) -l $(EASE_LAMBDA) --save-model $@ $<
$(D)/stage1/ease_%.tsv.zst: $(D)/ease.rsm $(D)/train_fit.tsv.zst $(D)/%_users.tsv
	@mkdir -p $(@D)
	$(BIN)/rs-ease $(Q) -m $< -k $(CANDIDATES) --exclude-seen --users-from $(D)/$*_users.tsv -o $@ \
	    $(D)/train_fit.tsv.zst
$(D)/stage1/pop_%.tsv.zst: $(D)/train/pos.tsv.zst $(D)/%_users.tsv $(USERS)
	@mkdir -p $(@D)
	$(BIN)/rs-retrieve $(Q) --popular $< $(POPULAR) $(SEGMENTS) --users-from $(D)/$*_users.tsv \
	    -k $(CANDIDATES) -o $@
$(D)/stage1/hist_%.tsv.zst: $(D)/train/pos.tsv.zst $(D)/%_users.tsv
	@mkdir -p $(@D)
	$(BIN)/rs-retrieve $(Q) --history $< $(HISTORY) --users-from $(D)/$*_users.tsv -k $(CANDIDATES) -o $@

# 4. The sources in one list per user (RRF order), each source's rank and score kept.
$(D)/merged_%.tsv.zst: $(foreach s,$(SOURCES),$(D)/stage1/$(s)_%.tsv.zst) $(D)/%_users.tsv
	$(BIN)/rs-merge $(Q) --users-from $(D)/$*_users.tsv \
	    $(foreach s,$(SOURCES),$(s)=$(D)/stage1/$(s)_$*.tsv.zst) -o $@

# 5. Features of users and items from every event of the train window.
$(D)/user_features.tsv.zst: $(D)/win/train.tsv.zst $(USERS)
	$(BIN)/rs-features $(Q) --side user $(USERS_OPT) $(ITEMS_OPT) $(FEATURES) -o $@ $<
$(D)/item_features.tsv.zst: $(D)/win/train.tsv.zst $(ITEMS)
	$(BIN)/rs-features $(Q) --side item $(ITEMS_OPT) $(FEATURES) -o $@ $<

# 6. Second stage: the label window's merged candidates labelled by its
#    positives (click) and BOOKING events (booking); the ranker trained on
#    them scores the test window's merged candidates.
RANK_IO = --users $(D)/user_features.tsv.zst --items $(D)/item_features.tsv.zst
$(D)/rank_train.tsv.zst: $(D)/merged_label.tsv.zst $(D)/win/label.tsv.zst $(D)/win/train.tsv.zst
	$(BIN)/rs-label $(Q) --events $(D)/win/label.tsv.zst --history $(D)/win/train.tsv.zst \
	    --label click=$(POSITIVE) --label booking=$(BOOKING) -o $@ $<
$(D)/rank.rsm: $(D)/rank_train.tsv.zst $(D)/user_features.tsv.zst $(D)/item_features.tsv.zst $(RANK_CONFIG)
	$(BIN)/rs-rank train $(Q) -c $(RANK_CONFIG) $(RANK_IO) $(RANK_OPTS) --log $(D)/rank_log.tsv -o $@ $<
$(D)/ranked.tsv.zst: $(D)/merged_test.tsv.zst $(D)/rank.rsm $(D)/user_features.tsv.zst $(D)/item_features.tsv.zst
	$(BIN)/rs-rank score $(Q) -m $(D)/rank.rsm $(RANK_IO) -z -o $@ $<

# 7. The test window's positives against each source, merged and ranked.
$(D)/metrics.tsv: $(D)/test/pos.tsv.zst $(D)/train/pos.tsv.zst $(foreach s,$(SOURCES),$(D)/stage1/$(s)_test.tsv.zst) \
                  $(D)/merged_test.tsv.zst $(D)/ranked.tsv.zst
	$(BIN)/rs-metrics $(Q) --truth $< --train $(D)/train/pos.tsv.zst -k $(KS) --wide \
	    $(foreach s,$(SOURCES),--pred $(s)=$(D)/stage1/$(s)_test.tsv.zst) \
	    --pred merged=$(D)/merged_test.tsv.zst --pred ranked=$(D)/ranked.tsv.zst -o $@
