# common.mk - what every pipeline shares; included after the pipeline's
# variables (it uses THREADS, SEED and OUT).

# The tools run OpenBLAS on one thread whatever this says (README,
# "Reproducibility"); 1 also keeps it from starting threads that only sleep.
export OPENBLAS_NUM_THREADS = 1
export OMP_NUM_THREADS = 1
export LC_ALL = C
# A failing stage anywhere in a recipe's pipe fails the target (and deletes it).
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.DELETE_ON_ERROR:

# The run store (schemas/runs.md): every stage records its run in TRACK
# (TRACK= records nothing); the stages of one make invocation share a run
# group, unless RS_RUN_GROUP comes from outside (a sub-make, rs-tune).
TRACK ?= $(OUT)/runs.db
export RS_TRACK := $(TRACK)
ifndef RS_RUN_GROUP
RS_RUN_GROUP := $(shell date -u +%Y%m%dT%H%M%SZ)-$(shell od -An -N4 -tx4 /dev/urandom | tr -d ' ')
endif
export RS_RUN_GROUP

# The flags every stage gets, and the output directory.
Q = -q -j $(THREADS) -s $(SEED)
D := $(OUT)
