# workload/: workload_server, the HTTP server every experiment runs against.
PROGRAMS += workload_server
workload_server_SRCS := workload/server.c workload/endpoints.c workload/data_file.c \
	workload/self_cpu.c
workload_server_LIBS := -ljansson -lz

UNIT_TESTS += test_endpoints
test_endpoints_SRCS := tests/unit/test_endpoints.c workload/endpoints.c
test_endpoints_LIBS := -ljansson -lz

INTEGRATION_TESTS += tests/integration/test_workload_server.sh
BENCH_SCRIPTS += bench/server_vs_nginx.sh
test_endpoints_CFLAGS := -I workload

UNIT_TESTS += test_self_cpu
test_self_cpu_SRCS := tests/unit/test_self_cpu.c workload/self_cpu.c
test_self_cpu_LIBS := -ljansson
test_self_cpu_CFLAGS := -I workload
