# collector/: http_energy (the collector). The energy sources and measure_idle_power are in
# collector/module.mk.
HTTP_ENERGY_CORE_SRCS := collector/kernel_signals.c collector/kernel_features.c collector/cpu_freq.c \
	collector/request_tracking.c collector/attribution.c collector/header_ports.c \
	collector/request_log.c
$(call obj_of,collector/kernel_signals.c collector/request_tracking.c): $(BUILD)/gen/http_energy.skel.h

UNIT_TESTS += test_cpu_freq
test_cpu_freq_SRCS := tests/unit/test_cpu_freq.c collector/cpu_freq.c
test_cpu_freq_CFLAGS := -I collector

UNIT_TESTS += test_interval_csv
test_interval_csv_SRCS := tests/unit/test_interval_csv.c collector/interval_csv.c
test_interval_csv_CFLAGS := -I collector

PROGRAMS += http_energy
# '=': ENERGY_SOURCE_SRCS comes from collector/module.mk, read after this file.
http_energy_SRCS = collector/http_energy.c collector/interval_csv.c $(HTTP_ENERGY_CORE_SRCS) \
	$(ENERGY_SOURCE_SRCS) $(OPERATORS_SRCS)
http_energy_LIBS := -lbpf -lelf -lz
# The GPU source (collector/gpu.mk; dlopen, hence -ldl).
http_energy_SRCS += $(GPU_SOURCE_SRCS)
http_energy_LIBS += -ldl

INTEGRATION_TESTS += tests/integration/test_http_energy_signals.sh
INTEGRATION_TESTS += tests/integration/test_http_energy_irq.sh
INTEGRATION_TESTS += tests/integration/test_http_energy_cut.sh
INTEGRATION_TESTS += tests/integration/test_http_energy_ready.sh
INTEGRATION_TESTS += tests/integration/test_http_energy_procs.sh
INTEGRATION_TESTS += tests/integration/test_http_energy_wakeups.sh
BENCH_SCRIPTS += bench/collector_overhead.sh

UNIT_TESTS += test_request_log
test_request_log_SRCS := tests/unit/test_request_log.c collector/request_log.c
test_request_log_CFLAGS := -I collector -I bpf
test_request_log_LIBS := -lbpf

UNIT_TESTS += test_attribution
test_attribution_SRCS := tests/unit/test_attribution.c collector/attribution.c
test_attribution_CFLAGS := -I collector
INTEGRATION_TESTS += tests/integration/test_http_energy_requests.sh
INTEGRATION_TESTS += tests/integration/test_request_records.sh

UNIT_TESTS += test_header_ports
test_header_ports_SRCS := tests/unit/test_header_ports.c collector/header_ports.c
test_header_ports_CFLAGS := -I collector
INTEGRATION_TESTS += tests/integration/test_requests_framing.sh
# Issue 15: operators (every cgroup, Prometheus, service).
UNIT_TESTS += test_k8s_meta
test_k8s_meta_SRCS := tests/unit/test_k8s_meta.c collector/k8s_meta.c
test_k8s_meta_CFLAGS := -I collector
UNIT_TESTS += test_accounts
test_accounts_SRCS := tests/unit/test_accounts.c collector/accounts.c collector/k8s_meta.c
test_accounts_CFLAGS := -I collector
OPERATORS_SRCS := collector/operators.c collector/accounts.c collector/k8s_meta.c \
	collector/cgroup_names.c collector/metrics_format.c collector/metrics_http.c
UNIT_TESTS += test_metrics_format
test_metrics_format_SRCS := tests/unit/test_metrics_format.c collector/metrics_format.c \
	collector/accounts.c collector/k8s_meta.c collector/metrics_http.c
test_metrics_format_CFLAGS := -I collector
INTEGRATION_TESTS += tests/integration/test_metrics_operators.sh
INTEGRATION_TESTS += tests/integration/test_metrics_prometheus.sh
INTEGRATION_TESTS += tests/integration/test_install.sh
INTEGRATION_TESTS += tests/integration/test_deploy_kubernetes.sh
BENCH_SCRIPTS += bench/metrics_cost.sh
