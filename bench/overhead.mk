# bench/overhead.sh (issue 14's figures, docs/overhead.md) and skmsg_floor, the socket-map
# floor it measures the collector against. skmsg_floor is a bench-only binary: `make
# programs` builds it into $(BUILD)/bin, `make install` leaves it out. Its BPF object
# follows bpf/module.mk's rules (same flags, same vmlinux.h); its skeleton is
# build/gen/skmsg_floor.skel.h.
SKMSG_FLOOR_BIN := $(BUILD)/bin/skmsg_floor
SKMSG_FLOOR_OBJ := $(BUILD)/bench-bpf/skmsg_floor.bpf.o

$(SKMSG_FLOOR_OBJ): bench/skmsg_floor.bpf.c $(BUILD)/gen/vmlinux.h
	$(Q)mkdir -p $(dir $@)
	$(call msg,BPF,$<)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp && mv $@.tmp $@

$(BUILD)/gen/skmsg_floor.skel.h: $(SKMSG_FLOOR_OBJ)
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name skmsg_floor_bpf > $@.tmp && mv $@.tmp $@

$(call obj_of,bench/skmsg_floor.c): $(BUILD)/gen/skmsg_floor.skel.h
skmsg_floor_CFLAGS := -I collector # kernel_features.h: the collector's own probes of the kernel

# libcommon by its path: COMMON_LIB is defined after the module includes.
$(SKMSG_FLOOR_BIN): $(call obj_of,bench/skmsg_floor.c bench/bpf_tool.c collector/kernel_features.c) \
		    $(BUILD)/libcommon.a
	$(Q)mkdir -p $(dir $@)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lbpf -lelf -lz $(LDLIBS)

programs: $(SKMSG_FLOOR_BIN)

BENCH_SCRIPTS += bench/overhead.sh

# What request tracking costs the traffic itself (segments per response).
INTEGRATION_TESTS += tests/integration/test_requests_cost.sh
# skmsg_floor --hooks: the floor programs sit at the collector's hooks and run there.
INTEGRATION_TESTS += tests/integration/test_skmsg_floor.sh
