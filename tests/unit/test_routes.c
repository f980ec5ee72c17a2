// SPDX-License-Identifier: MIT
/* collector/operators/routes.c: route normalisation, status classes, bounds, exact energy sums. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "request_energy.h"
#include "routes.h"

static const char *norm(const char *target)
{
	static char out[ROUTES_PATH_MAX + 1];

	routes_normalise(target, strlen(target), out);
	return out;
}

static void test_normalise(void **state)
{
	char out[ROUTES_PATH_MAX + 1], lng[200];
	size_t n;

	assert_string_equal(norm("/cpu?iters=10"), "/cpu");
	assert_string_equal(norm("/a/b#frag?x"), "/a/b");
	assert_string_equal(norm("/p%20q?x=%41"), "/p%20q"); /* escapes stay */
	assert_string_equal(norm("/"), "/");
	assert_string_equal(norm("?only"), "");
	assert_string_equal(norm("*"), "*");
	assert_string_equal(norm("example.com:443"), "example.com:443");
	assert_string_equal(norm("http://example.com/x/y?z"), "/x/y");
	assert_string_equal(norm("HTTPS://example.com"), "/");
	assert_string_equal(norm("http://example.com?q"), "/");
	assert_string_equal(norm("/a\tb\x7f"), "/a?b?");
	/* a NUL inside the raw bytes does not end the route early */
	n = routes_normalise("/a\0b?q", 6, out);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "/a?b", 5);
	/* long: cut at ROUTES_PATH_MAX, not inside a UTF-8 sequence */
	memset(lng, 'a', sizeof(lng));
	lng[0] = '/';
	n = routes_normalise(lng, sizeof(lng), out);
	assert_int_equal(n, ROUTES_PATH_MAX);
	assert_int_equal(strlen(out), ROUTES_PATH_MAX);
	lng[ROUTES_PATH_MAX - 1] = (char)0xc3; /* "é" across the cut */
	lng[ROUTES_PATH_MAX] = (char)0xa9;
	n = routes_normalise(lng, sizeof(lng), out);
	assert_int_equal(n, ROUTES_PATH_MAX - 1);
}

static void test_code_class(void **state)
{
	assert_int_equal(route_code_class(200), ROUTE_2XX);
	assert_int_equal(route_code_class(299), ROUTE_2XX);
	assert_int_equal(route_code_class(304), ROUTE_3XX);
	assert_int_equal(route_code_class(404), ROUTE_4XX);
	assert_int_equal(route_code_class(599), ROUTE_5XX);
	assert_int_equal(route_code_class(101), ROUTE_CODE_OTHER);
	assert_int_equal(route_code_class(0), ROUTE_CODE_OTHER);
	assert_int_equal(route_code_class(600), ROUTE_CODE_OTHER);
	assert_string_equal(route_code_class_name(ROUTE_5XX), "5xx");
	assert_string_equal(route_code_class_name(ROUTE_CODE_OTHER), "other");
}

static struct request_record rec(uint64_t cg, const char *method, const char *target,
				 uint16_t status, uint64_t energy_fx, uint64_t cpu_ns)
{
	struct request_record r = {
		.cgroup_id = cg, .status = status, .energy_uj_fx = energy_fx, .cpu_ns = cpu_ns
	};

	r.method_len = (uint16_t)strlen(method);
	memcpy(r.method, method, r.method_len);
	r.target_len = (uint16_t)strlen(target);
	memcpy(r.target, target, r.target_len);
	return r;
}

static const struct route_stats *find(const struct routes_snapshot *s, uint64_t cg,
				      const char *method, const char *path)
{
	for (size_t i = 0; i < s->num; i++) {
		const struct route_stats *e = &s->routes[i];

		if (e->cgroup_id == cg && !e->other_cgroup && !e->other_route &&
		    !strcmp(e->method, method) && !strcmp(e->path, path))
			return e;
	}
	return NULL;
}

/* One route per (cgroup, method, path): the query does not split it; sums are exact. */
static void test_aggregates(void **state)
{
	struct routes *r;
	struct routes_snapshot s = { 0 };
	const struct route_stats *e;
	struct request_record a = rec(5, "GET", "/cpu?iters=1", 200, REQ_FRAC_ONE / 2, 10);
	struct request_record b = rec(5, "GET", "/cpu?iters=99", 503, 5 * REQ_FRAC_ONE + 1, 20);
	struct request_record c = rec(5, "POST", "/cpu", 201, 17 * REQ_FRAC_ONE, 30);
	struct request_record d = rec(6, "GET", "/cpu", 200, 0, 40);

	assert_int_equal(routes__new(NULL, &r), 0);
	assert_int_equal(routes__add(r, &a), 0);
	assert_int_equal(routes__add(r, &a), 0);
	assert_int_equal(routes__add(r, &b), 0);
	assert_int_equal(routes__add(r, &c), 0);
	routes_record_consumer(&d, r); /* the request log's consumer signature */
	assert_int_equal(routes__add(r, NULL), -EINVAL);
	assert_int_equal(routes__snapshot(r, &s), 0);
	assert_int_equal(s.num, 3);
	assert_int_equal(s.records, 5);
	e = find(&s, 5, "GET", "/cpu");
	assert_non_null(e);
	assert_int_equal(e->requests[ROUTE_2XX], 2);
	assert_int_equal(e->requests[ROUTE_5XX], 1);
	/* 0.5 + 0.5 + 5 + 1/65536 µJ */
	assert_int_equal(e->energy_uj, 6);
	assert_int_equal(e->energy_frac, 1);
	assert_int_equal(e->cpu_ns, 40);
	/* 0.5 µJ <= 1 µJ; 5.00002 µJ in (4, 16] */
	assert_int_equal(e->buckets[0], 2);
	assert_int_equal(e->buckets[2], 1);
	e = find(&s, 5, "POST", "/cpu");
	assert_non_null(e);
	assert_int_equal(e->requests[ROUTE_2XX], 1);
	assert_int_equal(e->buckets[3], 1); /* 17 µJ in (16, 64] */
	e = find(&s, 6, "GET", "/cpu");
	assert_non_null(e);
	assert_int_equal(e->buckets[0], 1); /* 0 µJ: the first bucket */
	routes_snapshot_free(&s);
	routes__free(r);
}

/* A bucket bound is inclusive; above the last one only +Inf counts it. */
static void test_bucket_edges(void **state)
{
	struct routes *r;
	struct routes_snapshot s = { 0 };
	struct request_record x;

	assert_int_equal(routes__new(NULL, &r), 0);
	x = rec(1, "GET", "/", 200, 4 * REQ_FRAC_ONE, 0);
	routes__add(r, &x);
	x.energy_uj_fx = 4 * REQ_FRAC_ONE + 1;
	routes__add(r, &x);
	x.energy_uj_fx = (routes_bucket_uj[ROUTES_ENERGY_BUCKETS - 1] << REQ_FRAC_BITS) + 1;
	routes__add(r, &x);
	assert_int_equal(routes__snapshot(r, &s), 0);
	assert_int_equal(s.routes[0].buckets[1], 1);
	assert_int_equal(s.routes[0].buckets[2], 1);
	assert_int_equal(s.routes[0].over_buckets, 1);
	routes_snapshot_free(&s);
	routes__free(r);
}

/* The first max_routes routes of a cgroup are kept, the rest go to its _other route; the
 * first max_cgroups cgroups are kept, the rest share the _other cgroup, itself bounded.
 * Nothing is lost: Σ requests = records. */
static void test_bounds(void **state)
{
	struct routes_opts o = { .max_routes = 3, .max_cgroups = 2 };
	struct routes *r;
	struct routes_snapshot s = { 0 };
	uint64_t total = 0, other_route = 0, other_cg = 0;
	char target[32];

	assert_int_equal(routes__new(&o, &r), 0);
	for (uint64_t cg = 1; cg <= 5; cg++) {
		for (int i = 0; i < 10; i++) {
			struct request_record x;

			snprintf(target, sizeof(target), "/r%d?q=%d", i, i);
			x = rec(cg, "GET", target, 200, REQ_FRAC_ONE, 1);
			assert_int_equal(routes__add(r, &x), 0);
		}
	}
	assert_int_equal(routes__snapshot(r, &s), 0);
	/* 3 cgroups (2 + _other) x (3 routes + _other) */
	assert_int_equal(s.num, 12);
	for (size_t i = 0; i < s.num; i++) {
		total += s.routes[i].requests[ROUTE_2XX];
		if (s.routes[i].other_route)
			other_route += s.routes[i].requests[ROUTE_2XX];
		if (s.routes[i].other_cgroup)
			other_cg += s.routes[i].requests[ROUTE_2XX];
	}
	assert_int_equal(total, 50);
	assert_int_equal(s.records, 50);
	assert_int_equal(other_route, 7 + 7 + 21); /* 7 of each kept cgroup, 7 of each folded one */
	assert_int_equal(other_cg, 30);
	assert_non_null(find(&s, 1, "GET", "/r2"));
	assert_null(find(&s, 1, "GET", "/r3"));
	assert_null(find(&s, 3, "GET", "/r0")); /* cgroup 3 is in _other */
	routes_snapshot_free(&s);
	routes__free(r);
}

/* A method or target with odd bytes neither breaks the key nor the bound. */
static void test_odd_bytes(void **state)
{
	struct routes *r;
	struct routes_snapshot s = { 0 };
	struct request_record x = rec(1, "G\nT", "/x", 200, 0, 0);

	assert_int_equal(routes__new(NULL, &r), 0);
	x.method_len = 60000; /* a producer bug: clamped to the buffer */
	x.target_len = 60000;
	assert_int_equal(routes__add(r, &x), 0);
	assert_int_equal(routes__snapshot(r, &s), 0);
	assert_int_equal(s.num, 1);
	assert_int_equal(s.routes[0].method[1], '?');
	assert_true(strlen(s.routes[0].method) <= REQUEST_METHOD_MAX);
	routes_snapshot_free(&s);
	routes__free(r);
}

/* Records from one thread while another snapshots: every snapshot is whole (Σ requests ==
 * records at that instant), the last one has all. ASan/UBSan (and TSan if built so). */
struct adder {
	struct routes *r;
	int n;
};

static void *add_many(void *arg)
{
	struct adder *a = arg;
	char target[32];

	for (int i = 0; i < a->n; i++) {
		struct request_record x;

		snprintf(target, sizeof(target), "/t%d", (i / 3) % 150);
		x = rec(1 + i % 3, "GET", target, 200, REQ_FRAC_ONE, 1);
		routes__add(a->r, &x);
	}
	return NULL;
}

static void test_concurrent_snapshots(void **state)
{
	struct routes *r;
	struct routes_snapshot s = { 0 };
	struct adder a = { .n = 20000 };
	pthread_t t;
	uint64_t sum;

	assert_int_equal(routes__new(NULL, &r), 0);
	a.r = r;
	assert_int_equal(pthread_create(&t, NULL, add_many, &a), 0);
	for (int k = 0; k < 200; k++) {
		assert_int_equal(routes__snapshot(r, &s), 0);
		sum = 0;
		for (size_t i = 0; i < s.num; i++)
			sum += s.routes[i].requests[ROUTE_2XX];
		assert_int_equal(sum, s.records);
	}
	pthread_join(t, NULL);
	assert_int_equal(routes__snapshot(r, &s), 0);
	assert_int_equal(s.records, 20000);
	assert_int_equal(s.num, 3 * 101); /* 150 distinct routes, 100 kept, per cgroup */
	routes_snapshot_free(&s);
	routes__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_code_class),
		cmocka_unit_test(test_aggregates),
		cmocka_unit_test(test_bucket_edges),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_odd_bytes),
		cmocka_unit_test(test_concurrent_snapshots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
