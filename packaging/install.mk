# install.mk - make man / install / uninstall / deb; included by the Makefile.
#
# Under $(DESTDIR)$(PREFIX):
#   bin/rs-*                                  the tools
#   share/man/man1/rs-*.1                     man pages: help2man on each tool's
#                                             --help and --version, with
#                                             docs/man/common.h2m and, if there,
#                                             docs/man/rs-<tool>.h2m
#   share/bash-completion/completions/rs-*    completion/rs.bash (rs-cat), a link
#                                             per other tool
#   share/doc/recsys-pipes/                   README.md, docs/*.md, schemas/*.md
#   share/recsys-pipes/                       examples/, pipelines/, python/
# Every list is a wildcard or follows src/rs-*.c, so a new tool, schema or
# example is installed (and gets its man page) without a change here.
# uninstall removes exactly these files, then the folders that are ours if
# they are empty.

DOCDIR   ?= $(PREFIX)/share/doc/recsys-pipes
DATADIR  ?= $(PREFIX)/share/recsys-pipes
MANDIR   ?= $(PREFIX)/share/man/man1
COMPDIR  ?= $(PREFIX)/share/bash-completion/completions

TOOL_NAMES := $(TOOL_SRC:src/%.c=%)
MANS       := $(TOOL_NAMES:%=$(BUILD)/man/%.1)
DOC_FILES  := README.md $(filter-out docs/contributing.md,$(wildcard docs/*.md))
DATA_DIRS  := examples pipelines python
DATA_FILES := $(foreach d,$(DATA_DIRS),$(wildcard $(d)/*.*))

# Man pages name DOCDIR (FILES): rebuilt when it changes, not on every run.
$(BUILD)/man/docdir: FORCE
	@mkdir -p $(@D)
	@echo '$(DOCDIR)' | cmp -s - $@ || echo '$(DOCDIR)' > $@

# SEE ALSO: every tool, "\fBrs-als\fR(1), \fBrs-cat\fR(1), ..."
SEE_ALSO = $(subst (1) ,(1)$(comma) ,$(foreach t,$(TOOL_NAMES),\\fB\\%$(t)\\fR(1)))
comma := ,

# Same sources, same page: the date is the last commit's.
MAN_DATE = $(shell git log -1 --format=%ct 2>/dev/null || echo 0)

# help2man runs packaging/man-help through a link named after the tool: the
# tool's usage lines as help2man reads them, its --version's first line.
# help2man joins the lines of a paragraph: the examples (one command a
# line) are kept as they are (.nf ... .fi).
# NAME: the one line of docs/man/rs-<tool>.h2m's [NAME], else the first
# sentence of the tool's header comment (src/rs-<tool>.c: "rs-x - what").
$(BUILD)/man/%.1: $(BIN)/% $(BUILD)/man/docdir docs/man/common.h2m $(wildcard docs/man/rs-*.h2m) packaging/man-help
	@sed 's|@DOCDIR@|$(DOCDIR)|g; s|@DATADIR@|$(DATADIR)|g; s|@TOOLS@|$(SEE_ALSO)|' docs/man/common.h2m > $@.h2m
	@mkdir -p $(@D)/wrap && ln -sf $(abspath packaging/man-help) $(@D)/wrap/$*
	RS_MAN_BIN=$(abspath $(BIN)) SOURCE_DATE_EPOCH=$(MAN_DATE) help2man --no-info --no-discard-stderr \
	    -o $@.tmp --source "recsys-pipes $(DEB_VERSION)" --include $@.h2m \
	    $(if $(wildcard docs/man/$*.h2m),--include docs/man/$*.h2m,--name "$$(sed -n '1,/\*\//p' src/$*.c | \
	        tr '\n' ' ' | sed 's|^/\* *$* - *||; s| *\*/.*||; s| \* | |g; s|  *| |g; s|\. .*||; s|\.$$||')") \
	    $(@D)/wrap/$*
	@sed -e '/^\.SH EXAMPLES/a .nf' -e '/^\.SH "SEE ALSO"/i .fi' $@.tmp > $@ && rm -f $@.tmp $@.h2m

man: $(MANS)

# install -D makes the folders; -m 644 for data, 755 for tools and scripts.
install: all man
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR) $(DESTDIR)$(COMPDIR) $(DESTDIR)$(DOCDIR)/schemas
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(MANS) $(DESTDIR)$(MANDIR)/
	install -m 644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/
	install -m 644 schemas/*.md $(DESTDIR)$(DOCDIR)/schemas/
	@for f in $(DATA_FILES); do \
	    mode=644; [ -x $$f ] && mode=755; \
	    echo "install -D -m $$mode $$f $(DESTDIR)$(DATADIR)/$$f"; \
	    install -D -m $$mode $$f $(DESTDIR)$(DATADIR)/$$f || exit 1; done
	install -m 644 completion/rs.bash $(DESTDIR)$(COMPDIR)/rs-cat
	@for t in $(filter-out rs-cat,$(TOOL_NAMES)); do ln -sf rs-cat $(DESTDIR)$(COMPDIR)/$$t; done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(TOOL_NAMES)) \
	    $(addprefix $(DESTDIR)$(MANDIR)/,$(TOOL_NAMES:%=%.1)) \
	    $(addprefix $(DESTDIR)$(COMPDIR)/,$(TOOL_NAMES)) \
	    $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOC_FILES))) \
	    $(addprefix $(DESTDIR)$(DOCDIR)/,$(wildcard schemas/*.md)) \
	    $(addprefix $(DESTDIR)$(DATADIR)/,$(DATA_FILES))
	-rmdir $(DESTDIR)$(DOCDIR)/schemas $(DESTDIR)$(DOCDIR) \
	    $(addprefix $(DESTDIR)$(DATADIR)/,$(DATA_DIRS)) $(DESTDIR)$(DATADIR) 2>/dev/null

# The Debian package: install into a staging root with PREFIX=/usr (tools
# stripped, as Debian ships them), then
# dpkg-deb with packaging/control.in, Depends computed by dpkg-shlibdeps
# from the binaries (it wants a debian/control: a one-package stub).
DEB_VERSION := $(shell sed -n 's/^\#define RS_VERSION "\(.*\)"/\1/p' src/cli.h)
DEB_ARCH     = $(shell dpkg --print-architecture)
DEB_DIR      = $(BUILD)/deb
DEB          = $(BUILD)/recsys-pipes_$(DEB_VERSION)_$(DEB_ARCH).deb

deb: all
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/root/DEBIAN $(DEB_DIR)/shlibs/debian
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(DEB_DIR)/root) PREFIX=/usr
	strip --strip-unneeded $(DEB_DIR)/root/usr/bin/*
	printf 'Source: recsys-pipes\n\nPackage: recsys-pipes\nArchitecture: any\n' > $(DEB_DIR)/shlibs/debian/control
	cd $(DEB_DIR)/shlibs && dpkg-shlibdeps -O $(addprefix $(abspath $(DEB_DIR)/root)/usr/bin/,$(TOOL_NAMES)) \
	    2>/dev/null | sed -n 's/^shlibs:Depends=//p' > depends
	sed -e 's|@VERSION@|$(DEB_VERSION)|; s|@ARCH@|$(DEB_ARCH)|' \
	    -e "s|@DEPENDS@|$$(cat $(DEB_DIR)/shlibs/depends)|" \
	    -e "s|@SIZE@|$$(du -sk --exclude=DEBIAN $(DEB_DIR)/root | cut -f1)|" \
	    packaging/control.in > $(DEB_DIR)/root/DEBIAN/control
	install -m 755 packaging/prerm $(DEB_DIR)/root/DEBIAN/prerm
	dpkg-deb --root-owner-group -Zxz --build $(DEB_DIR)/root $(DEB)

.PHONY: man uninstall deb FORCE
FORCE:
