# http_energy — top-level Makefile.
#
# Every directory contributes a module.mk (and possibly more *.mk) that appends to PROGRAMS, UNIT_TESTS and
# INTEGRATION_TESTS and defines <name>_SRCS / <name>_LIBS; the rules below do the rest.
# Outputs go under build/. `make V=1` shows full commands; CI=true (or WERROR=1) adds -Werror.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DESTDIR ?=
BUILD ?= build

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-7s %s\n' "$(1)" "$(2)";
endif

WARNINGS := -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes \
	-Wno-unused-parameter
ifneq ($(filter true 1 yes,$(CI) $(WERROR)),)
WARNINGS += -Werror
endif

CFLAGS ?= -O2 -g
BASE_CFLAGS := -std=gnu11 $(WARNINGS) -D_GNU_SOURCE -MMD -MP -I common -I bpf -I $(BUILD)/gen
SAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
LDLIBS := -lm -lpthread

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

PROGRAMS :=
UNIT_TESTS :=
INTEGRATION_TESTS :=
BENCH_SCRIPTS :=
FUZZERS :=

.PHONY: all
all: programs

# Object files: normal ones under build/obj, sanitized ones (unit tests) under build/san.
obj_of = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
san_of = $(patsubst %.c,$(BUILD)/san/%.o,$(1))

DEPS_STAMP := $(BUILD)/.deps-installed

include common/module.mk
include $(filter-out common/module.mk,$(wildcard */*.mk */*/*.mk))

# Dependencies: install-deps.sh is fast when everything is present, so make asks it once
# per build directory and again whenever the script changes. (DEPS_STAMP is defined
# before the module includes: their rules expand it at once.)
REQUIRED_TOOLS := $(CC) $(CLANG) $(BPFTOOL) pkg-config curl wrk
MISSING_TOOLS := $(foreach t,$(REQUIRED_TOOLS),$(if $(shell command -v $(t) 2>/dev/null),,$(t)))
$(DEPS_STAMP): scripts/install-deps.sh $(if $(MISSING_TOOLS),FORCE)
	$(Q)mkdir -p $(BUILD)
	$(Q)bash scripts/install-deps.sh
	$(Q)touch $@

.PHONY: deps
deps: $(DEPS_STAMP)

$(BUILD)/gen/version.h: FORCE | $(DEPS_STAMP)
	$(Q)mkdir -p $(dir $@)
	$(Q)echo '#define HTTP_ENERGY_VERSION "$(VERSION)"' > $@.tmp
	$(Q)cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
FORCE:


$(BUILD)/obj/%.o: %.c $(BUILD)/gen/version.h | $(DEPS_STAMP)
	$(Q)mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(BASE_CFLAGS) $(CFLAGS) $($(notdir $*)_CFLAGS) -c -o $@ $<

$(BUILD)/san/%.o: %.c $(BUILD)/gen/version.h | $(DEPS_STAMP)
	$(Q)mkdir -p $(dir $@)
	$(call msg,CC-SAN,$<)
	$(Q)$(CC) $(BASE_CFLAGS) $(SAN_CFLAGS) $($(notdir $*)_CFLAGS) -c -o $@ $<

COMMON_LIB := $(BUILD)/libcommon.a
COMMON_SAN_LIB := $(BUILD)/libcommon-san.a

$(COMMON_LIB): $(call obj_of,$(COMMON_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(COMMON_SAN_LIB): $(call san_of,$(COMMON_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# $(1): program name. Links $(1)_SRCS with libcommon and $(1)_LIBS.
define program_rule
$(BUILD)/bin/$(1): $$(call obj_of,$$($(1)_SRCS)) $$($(1)_EXTRA_DEPS) $(COMMON_LIB)
	$$(Q)mkdir -p $$(dir $$@)
	$$(call msg,LINK,$$@)
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(COMMON_LIB) $$($(1)_LIBS) $$(LDLIBS)
endef

# $(1): unit test name. Sanitized objects of $(1)_SRCS, libcommon-san and cmocka.
define unit_test_rule
$(BUILD)/test/$(1): $$(call san_of,$$($(1)_SRCS)) $(COMMON_SAN_LIB)
	$$(Q)mkdir -p $$(dir $$@)
	$$(call msg,LINK,$$@)
	$$(Q)$$(CC) $$(SAN_CFLAGS) -o $$@ $$^ $$($(1)_LIBS) -lcmocka $$(LDLIBS)
endef

$(foreach p,$(PROGRAMS),$(eval $(call program_rule,$(p))))
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_test_rule,$(t))))

PROGRAM_BINS := $(addprefix $(BUILD)/bin/,$(PROGRAMS))
UNIT_TEST_BINS := $(addprefix $(BUILD)/test/,$(UNIT_TESTS))

.PHONY: programs unit-tests test unit-test integration-test
programs: $(PROGRAM_BINS)
unit-tests: $(UNIT_TEST_BINS)

# The runner prints each test's result and a closing "N passed, N failed" line.
test: programs unit-tests
	$(Q)BUILD=$(BUILD) bash tests/run-tests.sh $(UNIT_TEST_BINS) $(INTEGRATION_TESTS)

unit-test: unit-tests
	$(Q)BUILD=$(BUILD) bash tests/run-tests.sh $(UNIT_TEST_BINS)

integration-test: programs
	$(Q)BUILD=$(BUILD) bash tests/run-tests.sh $(INTEGRATION_TESTS)

# Benchmarks print figures; they are not tests. `make bench` runs them all.
.PHONY: bench
bench: programs
	$(Q)bash scripts/install-deps.sh --bench
	$(Q)set -e; for b in $(BENCH_SCRIPTS); do echo "== $$b"; BUILD=$(BUILD) bash $$b; done

# libFuzzer targets: $(1)_SRCS are built with clang, the fuzzer and ASan, and linked with
# common/ compiled the same way. `make fuzz FUZZ_SECONDS=N` runs each for N seconds on
# its corpus in tests/fuzz/corpus/NAME (seeds committed, findings kept out of git).
FUZZ_SECONDS ?= 30
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

define fuzzer_rule
$(BUILD)/fuzz/$(1): $$($(1)_SRCS) $(COMMON_SRCS) $(BUILD)/gen/version.h | $(DEPS_STAMP)
	$$(Q)mkdir -p $$(dir $$@)
	$$(call msg,FUZZ-CC,$$@)
	$$(Q)$$(CLANG) $$(filter-out -MMD -MP,$(BASE_CFLAGS)) $(FUZZ_CFLAGS) $$($(1)_CFLAGS) -o $$@ \
		$$($(1)_SRCS) $(COMMON_SRCS) $$($(1)_LIBS) $(LDLIBS)
endef
$(foreach f,$(FUZZERS),$(eval $(call fuzzer_rule,$(f))))

.PHONY: fuzz
fuzz: $(addprefix $(BUILD)/fuzz/,$(FUZZERS))
	$(Q)set -e; for f in $(FUZZERS); do \
		mkdir -p $(BUILD)/fuzz/corpus-$$f; \
		echo "== fuzzing $$f for $(FUZZ_SECONDS)s"; \
		$(BUILD)/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/$$f- \
			$(BUILD)/fuzz/corpus-$$f tests/fuzz/corpus/$$f; \
	done

# The main job (docs/experiments.md). Variables left empty take the scripts' defaults.
COLLECT_VARS = BUILD=$(BUILD) DURATION=$(DURATION) CONCURRENCY=$(CONCURRENCY) \
	PROFILE=$(PROFILE) LABEL=$(LABEL) CONFIG=$(CONFIG) ENERGY_SOURCE=$(ENERGY_SOURCE) \
	RUNS_DIR=$(RUNS_DIR) WARMUP=$(WARMUP)
.PHONY: collect fit experiment
collect: programs
	$(Q)$(COLLECT_VARS) bash scripts/collect.sh

# RUN=dir (default: the latest run under RUNS_DIR); FORCE=1 writes a model that fails the gate.
fit: programs
	$(Q)BUILD=$(BUILD) RUNS_DIR=$(RUNS_DIR) RUN=$(RUN) FORCE=$(FORCE) bash scripts/fit.sh

experiment: programs
	$(Q)$(COLLECT_VARS) FORCE=$(FORCE) bash scripts/experiment.sh

.PHONY: format
format:
	$(Q)clang-format -i $(shell git ls-files '*.c' '*.h')

# Man pages, one per program, from docs/PROGRAM.md (its title gives the section).
MAN_PAGES := $(foreach p,$(PROGRAMS),$(BUILD)/man/$(p).$(shell sed -n '1s/.*(\([0-9]\)).*/\1/p' docs/$(p).md 2>/dev/null))
$(BUILD)/man/%: scripts/md2man.py $(wildcard docs/*.md)
	$(Q)mkdir -p $(dir $@)
	$(call msg,MAN,$@)
	$(Q)python3 scripts/md2man.py docs/$(basename $(notdir $@)).md $(VERSION) > $@.tmp && mv $@.tmp $@
.PHONY: man
man: $(MAN_PAGES)

# docs/deploy.md: PREFIX and DESTDIR as usual; configs to $(DATADIR) (the shipped ones)
# and $(SYSCONFDIR)/http_energy (the one the service reads, never overwritten).
SYSCONFDIR ?= /etc
DATADIR ?= $(PREFIX)/share/http_energy
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
.PHONY: install
install: programs man
	$(Q)install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(SYSCONFDIR)/http_energy \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR)
	$(Q)install -m 0755 $(PROGRAM_BINS) $(DESTDIR)$(BINDIR)
	$(Q)install -m 0644 configs/*.conf $(DESTDIR)$(DATADIR)
	$(Q)[ -e $(DESTDIR)$(SYSCONFDIR)/http_energy/energy_model.conf ] || \
		install -m 0644 configs/energy_model.conf $(DESTDIR)$(SYSCONFDIR)/http_energy/
	$(Q)for m in $(MAN_PAGES); do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/; done
	$(Q)sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		deploy/systemd/http_energy.service.in > $(DESTDIR)$(UNITDIR)/http_energy.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/http_energy.service

.PHONY: clean
clean:
	$(Q)rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
