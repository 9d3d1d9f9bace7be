# recsys-pipes: `make help` lists the targets.

PREFIX  ?= /usr/local
CC      ?= cc
PYTHON  ?= /usr/bin/python3
CFLAGS  ?= -O2 -g
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers
CPPFLAGS += -Ilib -D_GNU_SOURCE
ALL_CFLAGS = -std=c11 $(WARN) -pthread $(CFLAGS)
LDLIBS   = -lopenblas -lzstd -lxxhash -lcsv -ljansson -lm -pthread

ifeq ($(SANITIZE),1)
  ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS    += -fsanitize=address,undefined
  BUILD ?= build/asan
  BIN   ?= build/asan/bin
else
  BUILD ?= build/release
  BIN   ?= bin
endif

LIB_SRC   := $(sort $(wildcard lib/*.c))
LIB_OBJ   := $(LIB_SRC:lib/%.c=$(BUILD)/lib/%.o)
TOOL_SRC  := $(sort $(wildcard src/rs-*.c))
TOOLS     := $(TOOL_SRC:src/%.c=$(BIN)/%)
UNIT_SRC  := $(sort $(wildcard tests/unit/test-*.c))
UNITS     := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
LIBRS     := $(BUILD)/librs.a

# Libraries some tools need beyond the common ones.
LDLIBS_rs-serve = -lmicrohttpd

# Debian packages the product needs (build and test); `make deps` installs them.
DEB_PKGS = build-essential pkg-config libopenblas-dev libzstd-dev zstd libxxhash-dev \
           libcsv-dev libjansson-dev libmicrohttpd-dev bats python3-numpy gnuplot-nox

.PHONY: all deps test test-unit test-cli bench install clean help golden-update

all: $(TOOLS)

help:
	@echo "recsys-pipes targets:"
	@echo "  all            build every tool into $(BIN)/ (default)"
	@echo "  deps           install the Debian packages the project needs (apt-get as root)"
	@echo "  test           C unit tests + bats CLI tests (SANITIZE=1: under ASan+UBSan)"
	@echo "  test-unit      C unit tests only"
	@echo "  test-cli       bats CLI tests only"
	@echo "  bench          benchmarks (bench/; see bench/README.md)"
	@echo "  install        copy tools to \$$(PREFIX)/bin (PREFIX=$(PREFIX))"
	@echo "  clean          remove bin/ and build/"
	@echo "variables: SANITIZE=1 (ASan+UBSan build in build/asan), CFLAGS, PREFIX, PYTHON"

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

$(BUILD)/lib/%.o: lib/%.c lib/*.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIBRS): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN)/rs-%: src/rs-%.c $(LIBRS) lib/*.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBRS) $(LDLIBS_rs-$*) $(LDLIBS)

$(BUILD)/tests/test-%: tests/unit/test-%.c tests/unit/tap.h $(LIBRS) lib/*.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBRS) $(LDLIBS)

test: deps
	@$(MAKE) --no-print-directory all $(UNITS)
	@BIN=$(BIN) BUILD=$(BUILD) PYTHON=$(PYTHON) tests/run

test-unit: $(UNITS)
	@BUILD=$(BUILD) tests/run unit

test-cli: all
	@BIN=$(BIN) PYTHON=$(PYTHON) tests/run cli

bench: deps all
	@BIN=$(BIN) PYTHON=$(PYTHON) bench/run

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf bin build
