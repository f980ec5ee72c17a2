# collector/energy/: the energy sources (docs/energy-sources.md), linked into http_energy
# and measure_idle_power, and the idle-power statistics measure_idle_power reports.
ENERGY_SOURCE_SRCS := collector/energy/energy_source.c collector/energy/energy_source_perf.c \
	collector/energy/energy_source_powercap.c collector/energy/energy_source_hwmon.c \
	collector/energy/energy_source_replay.c collector/energy/energy_source_synthetic.c

UNIT_TESTS += test_energy_source
test_energy_source_SRCS := tests/unit/test_energy_source.c $(ENERGY_SOURCE_SRCS)
test_energy_source_CFLAGS := -I collector/energy

UNIT_TESTS += test_energy_source_synthetic
test_energy_source_synthetic_SRCS := tests/unit/test_energy_source_synthetic.c \
	$(ENERGY_SOURCE_SRCS)
test_energy_source_synthetic_CFLAGS := -I collector/energy

UNIT_TESTS += test_power_stats
test_power_stats_SRCS := tests/unit/test_power_stats.c collector/energy/power_stats.c
test_power_stats_CFLAGS := -I collector/energy
