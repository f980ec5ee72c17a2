# bench/: bench_http, the experiment load generator, and the scripts that print figures.
PROGRAMS += bench_http
bench_http_SRCS := bench/main.c bench/hist.c bench/mix.c bench/url.c bench/resp_reader.c \
	bench/stats.c bench/request.c bench/worker.c bench/report.c bench/http_chunked.c
bench_http_LIBS := -ljansson

UNIT_TESTS += test_hist
test_hist_SRCS := tests/unit/test_hist.c bench/hist.c
test_hist_CFLAGS := -I bench

UNIT_TESTS += test_mix
test_mix_SRCS := tests/unit/test_mix.c bench/mix.c
test_mix_LIBS := -ljansson
test_mix_CFLAGS := -I bench

UNIT_TESTS += test_url
test_url_SRCS := tests/unit/test_url.c bench/url.c
test_url_CFLAGS := -I bench

UNIT_TESTS += test_resp_reader
test_resp_reader_SRCS := tests/unit/test_resp_reader.c bench/resp_reader.c bench/http_chunked.c
test_resp_reader_CFLAGS := -I bench

INTEGRATION_TESTS += tests/integration/test_bench_http.sh
INTEGRATION_TESTS += tests/integration/test_bench_http_workload.sh
INTEGRATION_TESTS += tests/integration/test_attribution_accuracy.sh
INTEGRATION_TESTS += tests/integration/test_bench_servers.sh
BENCH_SCRIPTS += bench/bench_vs_wrk.sh
BENCH_SCRIPTS += bench/attribution_accuracy.sh

FUZZERS += fuzz_resp_reader
fuzz_resp_reader_SRCS := tests/fuzz/fuzz_resp_reader.c bench/resp_reader.c bench/http_chunked.c

UNIT_TESTS += test_http_chunked
test_http_chunked_SRCS := tests/unit/test_http_chunked.c bench/http_chunked.c
test_http_chunked_CFLAGS := -I bench
