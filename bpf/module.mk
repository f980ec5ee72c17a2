# bpf/: BPF programs, compiled with clang against a vmlinux.h generated from this kernel's
# BTF, and wrapped in libbpf skeletons (build/gen/*.skel.h) that the collector includes.
BPF_OBJS := http_energy
BPF_SRCS := signals requests
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
BPF_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Werror -Wno-unused-function \
	-I $(BUILD)/gen -I bpf

$(BUILD)/gen/vmlinux.h: | $(DEPS_STAMP)
	$(Q)mkdir -p $(dir $@)
	$(call msg,BTF,$@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

BPF_HEADERS := $(wildcard bpf/*.h) common/model_features.h

$(BUILD)/bpf/%.o: bpf/%.bpf.c $(BPF_HEADERS) $(BUILD)/gen/vmlinux.h
	$(Q)mkdir -p $(dir $@)
	$(call msg,BPF,$<)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp && mv $@.tmp $@

# One object (and skeleton) from all sources: their shared maps are declared __weak and
# merged by the static linker.
$(BUILD)/bpf/http_energy.bpf.o: $(patsubst %,$(BUILD)/bpf/%.o,$(BPF_SRCS))
	$(call msg,BPF-LD,$@)
	$(Q)$(BPFTOOL) gen object $@.tmp $^ && mv $@.tmp $@

$(BUILD)/gen/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

# Each .bpf.c defines what it owns; the shared headers only what both use.
INTEGRATION_TESTS += tests/integration/test_bpf_layout.sh

BPF_SKELETONS := $(patsubst %,$(BUILD)/gen/%.skel.h,$(BPF_OBJS))
.SECONDARY: $(patsubst %,$(BUILD)/bpf/%.bpf.o,$(BPF_OBJS)) $(patsubst %,$(BUILD)/bpf/%.o,$(BPF_SRCS))

# The request-head state machine (bpf/http_head.h) is plain C: tested and fuzzed host-side,
# differentially against common/http_parser.c and bench/http_chunked.c.
UNIT_TESTS += test_http_head
test_http_head_SRCS := tests/unit/test_http_head.c bench/http_chunked.c
test_http_head_CFLAGS := -I bench

FUZZERS += fuzz_http_head
fuzz_http_head_SRCS := tests/fuzz/fuzz_http_head.c bench/http_chunked.c
fuzz_http_head_CFLAGS := -I bench
INTEGRATION_TESTS += tests/integration/test_requests_ingress.sh

# The word-at-a-time scan on_egress frames response heads with (bpf/byte_scan.h), against a
# byte loop.
UNIT_TESTS += test_byte_scan
test_byte_scan_SRCS := tests/unit/test_byte_scan.c

# The weights' fixed point (bpf/fixed_point.h) and the per-request arithmetic
# (bpf/request_energy.h) run in the kernel; the encoder is the collector's
# (collector/fixed_point.c).
UNIT_TESTS += test_fixed_point test_request_energy
test_fixed_point_SRCS := tests/unit/test_fixed_point.c collector/fixed_point.c
test_request_energy_SRCS := tests/unit/test_request_energy.c collector/fixed_point.c
