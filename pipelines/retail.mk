# pipelines/retail.mk - the retail seed's two-stage recommender on rs-synth
# data: 5 products per user, measured by Precision@5.
#
#   rs-synth → rs-split --windows 'old|6w|3w' → purchases (booking events)
#   first stages on the old purchases, for each window's buyers:
#       rs-als (top TOP_N items, placeholder 999999), rs-retrieve --popular,
#       rs-retrieve --history (repeat purchases) → rs-merge
#   6 weeks: merged candidates labelled by the window's purchases (rs-label)
#       → rs-rank train (features: rs-features on the old events and each
#       source's rank and score, examples/retail-rank.json)
#   3 weeks: merged candidates → rs-rank score → rs-diversify (in stock, top 5)
#       → rs-metrics -k 5: each source alone, merged, ranked, final
#
#   make -f pipelines/retail.mk [OUT=out/retail] [USERS=... ITEMS=... EVENTS=... DAYS=... SEED=...]
#
# (from the repository root). ALS uses 16 factors: on this sparse purchase
# data 64 factors fit the old purchases too closely. Both stages see only what
# was known when they start: the first stages and the features use the old
# window; the ranker learns from the 6-week window; the test is the last 3
# weeks, whose candidates come from the same first-stage models and features,
# so the ranker ranks at test time what it was trained on. As in the seed, a
# user's earlier purchases may be recommended again (about 30% of the test
# weeks' purchases repeat an old one): the history source proposes them, and
# the ranker learns how far to trust it. The placeholder is never
# recommended. Every stage is a target with real file dependencies, so a
# second run does nothing.

BIN         ?= bin
OUT         ?= out/retail
USERS       ?= 5000
ITEMS       ?= 3000
EVENTS      ?= 3000000
DAYS        ?= 182
SEED        ?= 42
THREADS     ?= 2
PURCHASE    ?= booking
TOP_N       ?= 1000
PLACEHOLDER ?= 999999
CANDIDATES  ?= 50
ALS         ?= -f 16 -l 0.1 -a 20 -i 15
HALF_LIFE   ?= 90
RANK_CONFIG ?= examples/retail-rank.json
SELF := $(lastword $(MAKEFILE_LIST))
include $(dir $(SELF))common.mk
.SECONDARY:

# awk glue, columns addressed by name. CUT: drop the placeholder from a
# candidates stream, keep the first k of each user and renumber the ranks.
CUT = awk -F'\t' -v OFS='\t' -v ph=$(PLACEHOLDER) -v k=$(CANDIDATES) ' \
    NR == 1 { for (i = 1; i <= NF; i++) c[$$i] = i; print; next } \
    $$c["item_id"] != ph { \
        if ($$c["user_id"] != u) { u = $$c["user_id"]; n = 0 } \
        if (++n <= k) { $$c["rank"] = n; print } }'
.PHONY: all summary

all: $(D)/metrics.tsv $(D)/recommendations.json $(if $(TRACK),$(D)/report.html)
	@$(MAKE) --no-print-directory -f $(SELF) summary

summary:
	@echo
	@echo "== retail two-stage: $(USERS) users, $(ITEMS) items, $(EVENTS) events over $(DAYS) days (seed $(SEED)); $(CANDIDATES) candidates per source"
	@$(BIN)/rs-cat $(D)/metrics.tsv | awk -F'\t' 'NR == 1 || ($$1 ~ /^(precision|recall|ndcg|hit_rate)$$/ && $$2 == 5) || ($$1 == "recall" && $$2 == $(CANDIDATES)) || $$1 == "users"' | column -t -s "$$(printf '\t')"
	@echo
	@echo "metrics: $(D)/metrics.tsv; 5 products per test user: $(D)/recommendations.json"

# 1. Data: catalogue, users and a time-ordered event log; purchases = $(PURCHASE).
$(D)/data/events.tsv.zst:
	@mkdir -p $(D)
	$(BIN)/rs-synth $(Q) --users $(USERS) --items $(ITEMS) --events $(EVENTS) --days $(DAYS) -z -o $(D)/data
$(D)/data/items.tsv.zst $(D)/data/users.tsv.zst: $(D)/data/events.tsv.zst

# 2. Windows: old (first stage and features) | 6 weeks (ranker) | 3 weeks (test),
#    then each window's purchases.
$(D)/win/old.tsv.zst $(D)/win/train.tsv.zst $(D)/win/test.tsv.zst &: $(D)/data/events.tsv.zst
	$(BIN)/rs-split $(Q) --windows 'old=old|train=6w|test=3w' -z -o $(D)/win $<
$(D)/%/purchases.tsv.zst: $(D)/win/%.tsv.zst
	$(BIN)/rs-split $(Q) --by-event 'purchases=$(PURCHASE)' -z -o $(D)/$* $<

# 3. Prefilter: the TOP_N most bought items; every other item becomes the
#    placeholder, so the users' histories stay complete.
$(D)/old_top.tsv.zst: $(D)/old/purchases.tsv.zst
	$(BIN)/rs-prefilter $(Q) --top-n $(TOP_N) --placeholder $(PLACEHOLDER) --map $(D)/top_map.tsv \
	    --report $(D)/prefilter_report.tsv -o $@ $<

# 4. First stages, fitted on the old window, for the users of a window (its
#    buyers): ALS on the top items (one more candidate is asked for: the
#    placeholder is cut out), the most bought items, and each user's own
#    purchases (repeat purchases, recent and frequent first).
$(D)/%_users.tsv: $(D)/%/purchases.tsv.zst
	$(BIN)/rs-cat $< | awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($$i == "user_id") c = i; print "user_id"; next } \
	    !seen[$$c]++ { print $$c }' > $@
$(D)/als_%.tsv.zst: $(D)/old_top.tsv.zst $(D)/%_users.tsv
	$(BIN)/rs-als $(Q) $(ALS) --candidates $$(($(CANDIDATES) + 1)) --users-from $(D)/$*_users.tsv $< | \
	    $(CUT) | $(BIN)/rs-cat -q -o $@ -
$(D)/popular_%.tsv.zst: $(D)/old/purchases.tsv.zst $(D)/%_users.tsv
	$(BIN)/rs-retrieve $(Q) --popular $< --users-from $(D)/$*_users.tsv -k $(CANDIDATES) -o $@
$(D)/history_%.tsv.zst: $(D)/old/purchases.tsv.zst $(D)/%_users.tsv
	$(BIN)/rs-retrieve $(Q) --history $< --half-life $(HALF_LIFE) --users-from $(D)/$*_users.tsv \
	    -k $(CANDIDATES) -o $@

# 5. The three sources in one list per user, each source's rank and score kept.
$(D)/merged_%.tsv.zst: $(D)/als_%.tsv.zst $(D)/popular_%.tsv.zst $(D)/history_%.tsv.zst
	$(BIN)/rs-merge $(Q) als=$(D)/als_$*.tsv.zst pop=$(D)/popular_$*.tsv.zst hist=$(D)/history_$*.tsv.zst -o $@

# 6. Features of the users and items from all the old window's events.
$(D)/user_features.tsv.zst: $(D)/win/old.tsv.zst $(D)/data/users.tsv.zst
	$(BIN)/rs-features $(Q) --side user --users $(D)/data/users.tsv.zst -o $@ $<
$(D)/item_features.tsv.zst: $(D)/win/old.tsv.zst $(D)/data/items.tsv.zst
	$(BIN)/rs-features $(Q) --side item --items $(D)/data/items.tsv.zst -o $@ $<

# 7. Second stage: the 6-week buyers' merged candidates labelled by their
#    purchases in those 6 weeks (rs-label; both heads learn the purchase), then
#    the test buyers' merged candidates scored; post-ranking keeps the top 5
#    in stock.
RANK_IO = --users $(D)/user_features.tsv.zst --items $(D)/item_features.tsv.zst
$(D)/rank_train.tsv.zst: $(D)/merged_train.tsv.zst $(D)/train/purchases.tsv.zst $(D)/old/purchases.tsv.zst
	$(BIN)/rs-label $(Q) --events $(D)/train/purchases.tsv.zst --history $(D)/old/purchases.tsv.zst \
	    --label click=$(PURCHASE) --label booking=$(PURCHASE) -o $@ $<
$(D)/rank.rsm: $(D)/rank_train.tsv.zst $(D)/user_features.tsv.zst $(D)/item_features.tsv.zst $(RANK_CONFIG)
	$(BIN)/rs-rank train $(Q) -c $(RANK_CONFIG) $(RANK_IO) --log $(D)/rank_log.tsv -o $@ $<
$(D)/ranked.tsv.zst: $(D)/merged_test.tsv.zst $(D)/rank.rsm $(D)/user_features.tsv.zst $(D)/item_features.tsv.zst
	$(BIN)/rs-rank score $(Q) -m $(D)/rank.rsm $(RANK_IO) -z -o $@ $<
$(D)/final.tsv.zst: $(D)/ranked.tsv.zst $(D)/data/items.tsv.zst
	$(BIN)/rs-diversify $(Q) --items $(D)/data/items.tsv.zst --stock-col in_stock -n 5 -o $@ $<

# 8. Precision@5 (and more) on the test weeks' purchases: each source alone,
#    merged, ranked, and the final 5 in stock; the final 5 per user as JSON.
$(D)/metrics.tsv: $(D)/test/purchases.tsv.zst $(D)/old/purchases.tsv.zst $(D)/als_test.tsv.zst \
                  $(D)/popular_test.tsv.zst $(D)/history_test.tsv.zst $(D)/merged_test.tsv.zst \
                  $(D)/ranked.tsv.zst $(D)/final.tsv.zst
	$(BIN)/rs-metrics $(Q) --truth $< --train $(D)/old/purchases.tsv.zst -k 5,10,$(CANDIDATES) --wide \
	    --pred als=$(D)/als_test.tsv.zst --pred popular=$(D)/popular_test.tsv.zst \
	    --pred history=$(D)/history_test.tsv.zst --pred merged=$(D)/merged_test.tsv.zst \
	    --pred ranked=$(D)/ranked.tsv.zst --pred final=$(D)/final.tsv.zst -o $@
$(D)/recommendations.json: $(D)/final.tsv.zst
	$(BIN)/rs-cat --to json -o $@ $<

# The report (rs-report) of the invocation that wrote metrics.tsv, from the
# run store TRACK (none with TRACK=): metrics with their directions, training curves.
$(D)/report.html: $(D)/metrics.tsv
	$(BIN)/rs-report -q --track $(TRACK) --group-of $< --category-col category --title "retail" -o $@
