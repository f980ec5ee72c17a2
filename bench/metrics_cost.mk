# bench/metrics_cost.sh (issue 15's figure, docs/metrics.md) and spawn_load, the load it
# puts on the host. spawn_load is a bench-only binary like skmsg_floor: `make programs`
# builds it into $(BUILD)/bin, `make install` leaves it out.
SPAWN_LOAD_BIN := $(BUILD)/bin/spawn_load

$(SPAWN_LOAD_BIN): $(call obj_of,bench/spawn_load.c)
	$(Q)mkdir -p $(dir $@)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

programs: $(SPAWN_LOAD_BIN)
