# collector/: energy sources, measure_idle_power (and, later, http_energy).
ENERGY_SOURCE_SRCS := collector/energy_source.c collector/energy_source_perf.c \
	collector/energy_source_powercap.c collector/energy_source_hwmon.c \
	collector/energy_source_replay.c collector/energy_source_synthetic.c

PROGRAMS += measure_idle_power
measure_idle_power_SRCS := collector/measure_idle_power.c collector/power_stats.c \
	$(ENERGY_SOURCE_SRCS)
measure_idle_power_LIBS := -ljansson

UNIT_TESTS += test_energy_source
test_energy_source_SRCS := tests/unit/test_energy_source.c $(ENERGY_SOURCE_SRCS)
test_energy_source_CFLAGS := -I collector

UNIT_TESTS += test_energy_source_synthetic
test_energy_source_synthetic_SRCS := tests/unit/test_energy_source_synthetic.c \
	$(ENERGY_SOURCE_SRCS)
test_energy_source_synthetic_CFLAGS := -I collector

UNIT_TESTS += test_power_stats
test_power_stats_SRCS := tests/unit/test_power_stats.c collector/power_stats.c
test_power_stats_CFLAGS := -I collector

INTEGRATION_TESTS += tests/integration/test_measure_idle_power.sh
