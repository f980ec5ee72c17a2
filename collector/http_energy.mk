# collector/: http_energy (the collector). The energy sources and measure_idle_power are in
# collector/module.mk.
HTTP_ENERGY_CORE_SRCS := collector/kernel_signals.c collector/kernel_features.c collector/cpu_freq.c
$(call obj_of,collector/kernel_signals.c): $(BUILD)/gen/signals.skel.h

UNIT_TESTS += test_cpu_freq
test_cpu_freq_SRCS := tests/unit/test_cpu_freq.c collector/cpu_freq.c
test_cpu_freq_CFLAGS := -I collector

UNIT_TESTS += test_interval_csv
test_interval_csv_SRCS := tests/unit/test_interval_csv.c collector/interval_csv.c
test_interval_csv_CFLAGS := -I collector
