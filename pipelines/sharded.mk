# pipelines/sharded.mk - the demo's batch scoring as N shards: embed the
# users, retrieve, merge the first stages, rank, diversify and evaluate, each
# shard a plain run with --shard I/N; then the shards merged back and
# checked against the unsharded run of pipelines/demo.mk, byte for byte.
#
#   make -f pipelines/sharded.mk -j4 N=4 check
#
# The shards share nothing but their inputs (the model, the index, the
# features, the other first stages), so any scheduler can run them, on one
# machine or many (a shared directory for OUT), and one node merges:
#
#   make -f pipelines/sharded.mk -j4 N=4 shards        # make runs them side by side
#   make -f pipelines/sharded.mk N=4 mpi-shards        # mpirun runs them, one rank each
#   make -f pipelines/sharded.mk N=4 merged            # then: rs-cat --unshard, rs-metrics merge
#
# A Slurm job array runs shard $SLURM_ARRAY_TASK_ID of N in each task:
#   sbatch --array=0-3 --wrap 'make -f pipelines/sharded.mk N=4 shard-$SLURM_ARRAY_TASK_ID'
# or, one tool at a time:
#   sbatch --array=0-3 --wrap 'rs-embed -m tower.rsm --users users.tsv \
#       --shard $SLURM_ARRAY_TASK_ID/4 -o user_emb.$SLURM_ARRAY_TASK_ID.rsb'
# (Kubernetes indexed jobs: $JOB_COMPLETION_INDEX; GNU parallel: {%}.)
#
# (Run the upstream stages once first, `make -f pipelines/demo.mk
# out/demo/tower.rsm ...`, or let the first shard's make do it: the shards
# of an array job must not all build them at once.)
#
# How each output merges (docs/design.md, "Sharded runs"): the streams of
# users come back in the order of the users' features table, the order
# every stage kept, by rs-cat --unshard; the metrics are partials (sums and
# counts) that rs-metrics merge adds up into the global figures.

N ?= 3
include $(dir $(lastword $(MAKEFILE_LIST)))demo.mk
.DEFAULT_GOAL := check

S := $(D)/shards
M := $(D)/sharded
SHARDS := $(shell seq 0 $$(($(N) - 1)))
ORDER := $(D)/user_features.tsv.zst
PER_SHARD := user_emb.rsb candidates.tsv merged.tsv ranked.tsv final.tsv
MERGED := $(addprefix $(M)/,$(PER_SHARD) metrics.tsv)

.PHONY: check shards merged mpi-shards
shards: $(addprefix shard-,$(SHARDS))
merged: $(MERGED)
# Open MPI's mpirun as the launcher: rank r runs shard r. The shards need no
# exchange, so the launcher's variables are cleared before make: each tool
# then runs alone (an MPI build of the tools too), on its --shard r/N.
mpi-shards:
	mpirun --oversubscribe -np $(N) sh -c 'r=$$OMPI_COMM_WORLD_RANK; \
	    unset $$(env | sed -n "s/^\(OMPI_[A-Za-z0-9_]*\|PMIX_[A-Za-z0-9_]*\)=.*/\1/p"); \
	    exec $(MAKE) -f pipelines/sharded.mk $(MAKEOVERRIDES) shard-$$r'

# One shard: every file of shard I (shard-I is no file: it is always run).
shard-%: $(S)/%/final.tsv $(S)/%/metrics.part.tsv
	@:

$(S)/%/user_emb.rsb: $(D)/tower.rsm $(D)/user_features.tsv.zst
	@mkdir -p $(@D)
	$(BIN)/rs-embed $(Q) --shard $*/$(N) -m $< --users $(D)/user_features.tsv.zst -o $@
$(S)/%/candidates.tsv: $(S)/%/user_emb.rsb $(D)/items.idx $(D)/pos.tsv.zst
	$(BIN)/rs-retrieve $(Q) --shard $*/$(N) --users $< --index $(D)/items.idx --nprobe 16 -k 200 \
	    --exclude $(D)/pos.tsv.zst -o $@
$(S)/%/merged.tsv: $(S)/%/candidates.tsv $(D)/als.tsv.zst $(D)/popular.tsv.zst
	$(BIN)/rs-merge $(Q) --shard $*/$(N) -k $(CANDIDATES) tower=$< als=$(D)/als.tsv.zst \
	    pop=$(D)/popular.tsv.zst -o $@
$(S)/%/ranked.tsv: $(S)/%/merged.tsv $(D)/rank.rsm
	$(BIN)/rs-rank score $(Q) --shard $*/$(N) -m $(D)/rank.rsm $(RANK_IO) --keep 100 -o $@ $<
$(S)/%/final.tsv: $(S)/%/ranked.tsv $(D)/clusters.tsv $(D)/data/items.tsv.zst
	$(BIN)/rs-diversify $(Q) --shard $*/$(N) --items $(D)/data/items.tsv.zst --items $(D)/clusters.tsv \
	    --by category --max-per-group 5 --stock-col in_stock --seen $(D)/pos.tsv.zst -n $(K) -o $@ $<
$(S)/%/metrics.part.tsv: $(S)/%/final.tsv $(D)/test/pos.tsv.zst $(D)/als.tsv.zst $(D)/popular.tsv.zst \
                         $(D)/random.tsv.zst $(D)/item_emb.rsb
	$(BIN)/rs-metrics $(Q) --shard $*/$(N) --partial --truth $(D)/test/pos.tsv.zst --train $(D)/pos.tsv.zst \
	    --item-features $(D)/data/items.tsv.zst --items $(D)/item_emb.rsb -k 5,10,20 \
	    --pred retrieval=$(S)/$*/candidates.tsv --pred als=$(D)/als.tsv.zst \
	    --pred merged=$(S)/$*/merged.tsv --pred ranked=$(S)/$*/ranked.tsv \
	    --pred diversified=$< --pred popular=$(D)/popular.tsv.zst \
	    --pred random=$(D)/random.tsv.zst -o $@

# The merge: each stream in the order of the users' table.
$(M)/%: $(foreach i,$(SHARDS),$(S)/$(i)/%) $(ORDER)
	@mkdir -p $(@D)
	$(BIN)/rs-cat --unshard $(ORDER) $(if $(filter %.rsb,$@),--order-col user_id) -o $@ \
	    $(foreach i,$(SHARDS),$(S)/$(i)/$*)
$(M)/metrics.tsv: $(foreach i,$(SHARDS),$(S)/$(i)/metrics.part.tsv)
	@mkdir -p $(@D)
	$(BIN)/rs-metrics merge $(Q) -k 5,10,20 --wide -o $@ $^

# The check: the merged streams are the unsharded ones byte for byte; the
# merged figures are the unsharded ones to 1e-9 of their value (sums added
# in another order: schemas/metrics.md, "Partials").
check: $(MERGED) $(D)/metrics.tsv
	cmp $(M)/user_emb.rsb $(D)/user_emb.rsb
	set -e; for f in candidates merged ranked final; do \
	    zstd -dcq $(D)/$$f.tsv.zst | cmp - $(M)/$$f.tsv; done
	paste $(M)/metrics.tsv $(D)/metrics.tsv | awk -F'\t' '{ n = NF / 2; for (i = 1; i <= n; i++) { \
	    a = $$i; b = $$(i + n); d = a - b; if (d < 0) d = -d; m = (a < 0 ? -a : a); if (m < 1) m = 1; \
	    if (a != b && (a "" != a + 0 "" || d > 1e-9 * m)) { print "differs: line " NR ": " a " vs " b; bad = 1 } } } \
	    END { exit bad }'
	@echo "$(N) shards merged: the same users' embeddings, candidates, merged, ranked and final lists, and metrics"
