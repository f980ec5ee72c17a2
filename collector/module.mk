# collector/: measure_idle_power (http_energy is in http_energy.mk; the energy sources it
# reads are in collector/energy/energy.mk).
PROGRAMS += measure_idle_power
# '=': ENERGY_SOURCE_SRCS comes from collector/energy/energy.mk, read after this file.
measure_idle_power_SRCS = collector/measure_idle_power.c collector/energy/power_stats.c \
	$(ENERGY_SOURCE_SRCS)
measure_idle_power_LIBS := -ljansson

INTEGRATION_TESTS += tests/integration/test_measure_idle_power.sh
