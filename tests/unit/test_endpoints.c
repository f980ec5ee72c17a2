// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <zlib.h>

#include "endpoints.h"

struct fixture {
	struct response resp;
	struct route route;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	return f ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	buf__free(&f->resp.body);
	free(f);
	return 0;
}

static bool route(struct fixture *f, const char *method, const char *target)
{
	buf__clear(&f->resp.body);
	f->resp.allow = NULL;
	return endpoint_route(method, strlen(method), target, strlen(target), &f->route,
			      &f->resp);
}

static void assert_error(struct fixture *f, int status, const char *text)
{
	assert_int_equal(f->resp.status, status);
	assert_non_null(f->resp.body.data);
	assert_string_equal(f->resp.body.data, text);
}

static void test_routes_valid_requests(void **state)
{
	struct fixture *f = *state;

	assert_true(route(f, "GET", "/cpu?iters=250"));
	assert_int_equal(f->route.id, EP_CPU);
	assert_int_equal(f->route.param, 250);
	assert_true(route(f, "GET", "/json?items=100000"));
	assert_int_equal(f->route.id, EP_JSON);
	assert_true(route(f, "GET", "/compress?kb=1"));
	assert_int_equal(f->route.id, EP_COMPRESS);
	assert_true(route(f, "GET", "/file?kb=16384"));
	assert_int_equal(f->route.id, EP_FILE);
	assert_true(route(f, "POST", "/post?kb=0"));
	assert_int_equal(f->route.id, EP_POST);
	assert_true(route(f, "GET", "/"));
	assert_int_equal(f->route.id, EP_INDEX);
	assert_true(route(f, "GET", "/healthz"));
	assert_true(route(f, "GET", "/stats"));
	assert_int_equal(f->route.id, EP_STATS);
}

static void test_parameter_errors_name_parameter_and_range(void **state)
{
	struct fixture *f = *state;

	assert_false(route(f, "GET", "/cpu"));
	assert_error(f, 400, "iters: missing; allowed range 1..1000000000\n");
	assert_false(route(f, "GET", "/cpu?iters=0"));
	assert_error(f, 400, "iters: \"0\" is out of range; allowed range 1..1000000000\n");
	assert_false(route(f, "GET", "/cpu?iters=1000000001"));
	assert_int_equal(f->resp.status, 400);
	assert_false(route(f, "GET", "/json?items=-1"));
	assert_error(f, 400, "items: \"-1\" is not a number; allowed range 1..100000\n");
	assert_false(route(f, "GET", "/file?kb=16385"));
	assert_error(f, 400, "kb: \"16385\" is out of range; allowed range 1..16384\n");
	assert_false(route(f, "GET", "/cpu?iters="));
	assert_error(f, 400, "iters: \"\" is not a number; allowed range 1..1000000000\n");
	assert_false(route(f, "GET", "/cpu?iters=1&iters=2"));
	assert_error(f, 400, "iters: given twice\n");
	assert_false(route(f, "GET", "/cpu?iters=1&x=2"));
	assert_error(f, 400, "unknown parameter \"x\"; /cpu takes iters=N\n");
	assert_false(route(f, "GET", "/healthz?verbose=1"));
	assert_error(f, 400, "unknown parameter \"verbose\"; /healthz takes none\n");
}

static void test_unknown_path_and_wrong_method(void **state)
{
	struct fixture *f = *state;

	assert_false(route(f, "GET", "/etc/passwd"));
	assert_error(f, 404, "no endpoint at /etc/passwd; GET / lists them\n");
	assert_false(route(f, "GET", "/cpux?iters=1"));
	assert_int_equal(f->resp.status, 404);
	assert_false(route(f, "GET", "/post?kb=1"));
	assert_int_equal(f->resp.status, 405);
	assert_string_equal(f->resp.allow, "POST");
	assert_false(route(f, "DELETE", "/cpu?iters=1"));
	assert_int_equal(f->resp.status, 405);
	assert_string_equal(f->resp.allow, "GET");
}

static json_t *run_json(struct fixture *f, const char *target)
{
	struct workload_stats stats = { 0 };
	json_error_t err;

	assert_true(route(f, "GET", target));
	endpoint_run(&f->route, &stats, &f->resp);
	assert_int_equal(f->resp.status, 200);
	return json_loadb(f->resp.body.data, f->resp.body.len, 0, &err);
}

static void test_cpu_is_deterministic(void **state)
{
	struct fixture *f = *state;
	json_t *a = run_json(f, "/cpu?iters=1000"), *b;

	assert_non_null(a);
	assert_int_equal(json_integer_value(json_object_get(a, "iters")), 1000);
	b = run_json(f, "/cpu?iters=1000");
	assert_true(json_equal(a, b));
	assert_int_not_equal(workload_cpu_loop(1000), workload_cpu_loop(1001));
	json_decref(a);
	json_decref(b);
}

static void test_json_has_n_records(void **state)
{
	struct fixture *f = *state;
	json_t *doc = run_json(f, "/json?items=250");

	assert_non_null(doc);
	assert_true(json_is_array(doc));
	assert_int_equal(json_array_size(doc), 250);
	assert_string_equal(json_string_value(json_object_get(json_array_get(doc, 249), "name")),
			    "item-000249");
	json_decref(doc);
}

static void test_compress_reports_sizes_and_is_partly_compressible(void **state)
{
	struct fixture *f = *state;
	json_t *doc = run_json(f, "/compress?kb=256"), *again;
	json_int_t in, out;

	assert_non_null(doc);
	in = json_integer_value(json_object_get(doc, "input_bytes"));
	out = json_integer_value(json_object_get(doc, "output_bytes"));
	assert_int_equal(in, 256 * 1024);
	/* partly compressible: clearly smaller, clearly not trivial */
	assert_true(out < in * 8 / 10);
	assert_true(out > in / 10);
	again = run_json(f, "/compress?kb=256");
	assert_true(json_equal(doc, again));
	json_decref(doc);
	json_decref(again);
}

static void test_fill_data_is_position_addressed(void **state)
{
	unsigned char whole[8192], part[100];

	workload_fill_data(0, whole, sizeof(whole));
	workload_fill_data(5000, part, sizeof(part));
	assert_memory_equal(whole + 5000, part, sizeof(part));
}

static void test_file_and_post_results(void **state)
{
	struct fixture *f = *state;
	struct workload_stats stats = { 0 };

	assert_true(route(f, "GET", "/file?kb=3"));
	endpoint_run(&f->route, &stats, &f->resp);
	assert_int_equal(f->resp.file_bytes, 3072);
	f->resp.file_bytes = 0;

	assert_true(route(f, "POST", "/post?kb=2"));
	endpoint_post_result(&f->route, 2048, 0xdeadbeef, &f->resp);
	assert_string_equal(f->resp.body.data,
			    "{\"endpoint\":\"post\",\"kb\":2,\"bytes\":2048,\"crc32\":\"deadbeef\"}\n");
}

static void test_stats_counts(void **state)
{
	struct fixture *f = *state;
	struct workload_stats stats = { 0 };
	json_error_t err;
	json_t *doc;

	atomic_store(&stats.requests[EP_CPU], 7);
	atomic_store(&stats.status_class[4], 2);
	assert_true(route(f, "GET", "/stats"));
	endpoint_run(&f->route, &stats, &f->resp);
	doc = json_loadb(f->resp.body.data, f->resp.body.len, 0, &err);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "requests"), "cpu")),
			 7);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "responses"),
							    "4xx")), 2);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_routes_valid_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parameter_errors_name_parameter_and_range,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_path_and_wrong_method, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_is_deterministic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_has_n_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compress_reports_sizes_and_is_partly_compressible,
						setup, teardown),
		cmocka_unit_test(test_fill_data_is_position_addressed),
		cmocka_unit_test_setup_teardown(test_file_and_post_results, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_counts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
