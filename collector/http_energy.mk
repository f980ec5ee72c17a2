# collector/: http_energy (the collector). Its energy sources are in collector/energy/, its
# GPU source in collector/gpu/.
HTTP_ENERGY_CORE_SRCS := collector/signals.c collector/kernel_features.c collector/cpu_freq.c \
	collector/requests.c collector/attribution.c collector/header_ports.c \
	collector/softirqs.c collector/bpf_loader.c collector/fixed_point.c
# The one module that includes the skeleton.
$(call obj_of,collector/bpf_loader.c): $(BUILD)/gen/http_energy.skel.h

UNIT_TESTS += test_kernel_features
test_kernel_features_SRCS := tests/unit/test_kernel_features.c collector/kernel_features.c
test_kernel_features_CFLAGS := -I collector
test_kernel_features_LIBS := -lbpf -lz

UNIT_TESTS += test_cpu_freq
test_cpu_freq_SRCS := tests/unit/test_cpu_freq.c collector/cpu_freq.c
test_cpu_freq_CFLAGS := -I collector

UNIT_TESTS += test_softirqs
test_softirqs_SRCS := tests/unit/test_softirqs.c collector/softirqs.c
test_softirqs_CFLAGS := -I collector

UNIT_TESTS += test_interval_csv
test_interval_csv_SRCS := tests/unit/test_interval_csv.c collector/interval_csv.c \
	collector/csv_file.c
test_interval_csv_CFLAGS := -I collector

# The append-only CSV writer under the interval and GPU CSVs.
UNIT_TESTS += test_csv_file
test_csv_file_SRCS := tests/unit/test_csv_file.c collector/csv_file.c
test_csv_file_CFLAGS := -I collector

PROGRAMS += http_energy
# '=': ENERGY_SOURCE_SRCS, GPU_SOURCE_SRCS and OPERATORS_SRCS come from collector/energy/,
# collector/gpu/ and collector/operators/, read after this file.
http_energy_SRCS = collector/http_energy.c collector/interval_csv.c collector/csv_file.c \
	$(HTTP_ENERGY_CORE_SRCS) $(ENERGY_SOURCE_SRCS) $(OPERATORS_SRCS)
http_energy_LIBS := -lbpf -lelf -lz
# The GPU source (collector/gpu/gpu.mk; dlopen, hence -ldl).
http_energy_SRCS += $(GPU_SOURCE_SRCS)
http_energy_LIBS += -ldl

INTEGRATION_TESTS += tests/integration/test_http_energy_signals.sh
INTEGRATION_TESTS += tests/integration/test_http_energy_irq.sh
INTEGRATION_TESTS += tests/integration/test_http_energy_cut.sh
INTEGRATION_TESTS += tests/integration/test_http_energy_ready.sh
INTEGRATION_TESTS += tests/integration/test_http_energy_procs.sh
INTEGRATION_TESTS += tests/integration/test_http_energy_wakeups.sh
INTEGRATION_TESTS += tests/integration/test_http_energy_partial_attach.sh
BENCH_SCRIPTS += bench/collector_overhead.sh

UNIT_TESTS += test_requests
test_requests_SRCS := tests/unit/test_requests.c collector/requests.c collector/fixed_point.c
test_requests_CFLAGS := -I collector -I bpf
test_requests_LIBS := -lbpf

UNIT_TESTS += test_attribution
test_attribution_SRCS := tests/unit/test_attribution.c collector/attribution.c
test_attribution_CFLAGS := -I collector
INTEGRATION_TESTS += tests/integration/test_http_energy_requests.sh
INTEGRATION_TESTS += tests/integration/test_request_records.sh

UNIT_TESTS += test_header_ports
test_header_ports_SRCS := tests/unit/test_header_ports.c collector/header_ports.c
test_header_ports_CFLAGS := -I collector
INTEGRATION_TESTS += tests/integration/test_requests_framing.sh
INTEGRATION_TESTS += tests/integration/test_framers_agree.sh
