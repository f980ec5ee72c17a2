# nginx_clock: nginx's own per-request clock (uprobes on the worker), the in-mix truth of
# bench/attribution_accuracy.sh's nginx part (docs/benchmarks.md). A bench-only binary like
# skmsg_floor: `make programs` builds it into $(BUILD)/bin, `make install` leaves it out.
# Its BPF object follows bpf/module.mk's rules (same flags, same vmlinux.h).
NGINX_CLOCK_BIN := $(BUILD)/bin/nginx_clock
NGINX_CLOCK_OBJ := $(BUILD)/bench-bpf/nginx_clock.bpf.o

$(NGINX_CLOCK_OBJ): bench/nginx_clock.bpf.c bench/nginx_clock.h $(BUILD)/gen/vmlinux.h
	$(Q)mkdir -p $(dir $@)
	$(call msg,BPF,$<)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp && mv $@.tmp $@

$(BUILD)/gen/nginx_clock.skel.h: $(NGINX_CLOCK_OBJ)
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name nginx_clock_bpf > $@.tmp && mv $@.tmp $@

$(call obj_of,bench/nginx_clock.c): $(BUILD)/gen/nginx_clock.skel.h

# libcommon by its path: COMMON_LIB is defined after the module includes.
$(NGINX_CLOCK_BIN): $(call obj_of,bench/nginx_clock.c bench/bpf_tool.c) $(BUILD)/libcommon.a
	$(Q)mkdir -p $(dir $@)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lbpf -lelf -lz $(LDLIBS)

programs: $(NGINX_CLOCK_BIN)
