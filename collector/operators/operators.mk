# collector/operators/: what turns the collector's measured and attributed results into
# operators' outputs (docs/architecture.md): every cgroup's energy and the cgroup CSV, the
# Prometheus exposition, the per-route series, per-process GPU accounts, the request log.
# Linked into http_energy (collector/http_energy.mk). Issue 15: operators (every cgroup,
# Prometheus, service).
OPS := collector/operators
OPERATORS_SRCS := $(OPS)/operators.c $(OPS)/accounts.c $(OPS)/k8s_meta.c $(OPS)/cgroup_names.c \
	$(OPS)/metrics_format.c $(OPS)/metrics_http.c $(OPS)/routes.c $(OPS)/gpu_accounts.c \
	$(OPS)/request_log.c

UNIT_TESTS += test_k8s_meta
test_k8s_meta_SRCS := tests/unit/test_k8s_meta.c $(OPS)/k8s_meta.c
test_k8s_meta_CFLAGS := -I $(OPS)
UNIT_TESTS += test_accounts
test_accounts_SRCS := tests/unit/test_accounts.c $(OPS)/accounts.c $(OPS)/k8s_meta.c
test_accounts_CFLAGS := -I $(OPS)
UNIT_TESTS += test_metrics_format
test_metrics_format_SRCS := tests/unit/test_metrics_format.c $(OPS)/metrics_format.c \
	$(OPS)/accounts.c $(OPS)/k8s_meta.c $(OPS)/metrics_http.c $(OPS)/routes.c \
	$(OPS)/gpu_accounts.c
test_metrics_format_CFLAGS := -I $(OPS)
UNIT_TESTS += test_routes
test_routes_SRCS := tests/unit/test_routes.c $(OPS)/routes.c
test_routes_CFLAGS := -I $(OPS)
UNIT_TESTS += test_gpu_accounts
test_gpu_accounts_SRCS := tests/unit/test_gpu_accounts.c $(OPS)/gpu_accounts.c
test_gpu_accounts_CFLAGS := -I $(OPS)
UNIT_TESTS += test_request_log
test_request_log_SRCS := tests/unit/test_request_log.c $(OPS)/request_log.c
test_request_log_CFLAGS := -I $(OPS)
test_request_log_LIBS := -lbpf
INTEGRATION_TESTS += tests/integration/test_metrics_operators.sh
INTEGRATION_TESTS += tests/integration/test_metrics_prometheus.sh
INTEGRATION_TESTS += tests/integration/test_report_routes.sh
INTEGRATION_TESTS += tests/integration/test_install.sh
INTEGRATION_TESTS += tests/integration/test_deploy_kubernetes.sh
BENCH_SCRIPTS += bench/metrics_cost.sh
