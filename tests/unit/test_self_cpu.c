// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "self_cpu.h"

static json_t *dump(struct self_cpu *s)
{
	char *text = self_cpu__json(s);
	json_t *j;

	assert_non_null(text);
	j = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(j);
	return j;
}

static void check_entry(json_t *j, const char *target, json_int_t requests, double us)
{
	json_t *e = json_object_get(j, target);

	assert_non_null(e);
	assert_int_equal(json_integer_value(json_array_get(e, 0)), requests);
	assert_true(json_real_value(json_array_get(e, 1)) > us - 1e-6 &&
		    json_real_value(json_array_get(e, 1)) < us + 1e-6);
}

static void sums_per_target(void **state)
{
	struct self_cpu *s = self_cpu__new();
	json_t *j;

	(void)state;
	assert_non_null(s);
	j = dump(s);
	assert_int_equal(json_object_size(j), 0); /* nothing served: no entry, no (other) */
	json_decref(j);
	self_cpu__add(s, "/cpu?iters=1", 12, 1500);
	self_cpu__add(s, "/cpu?iters=1xx", 12, 2500); /* only the given length counts */
	self_cpu__add(s, "/cpu?iters=01", 13, 7);
	j = dump(s);
	assert_int_equal(json_object_size(j), 2);
	check_entry(j, "/cpu?iters=1", 2, 4.0);
	check_entry(j, "/cpu?iters=01", 1, 0.007);
	json_decref(j);
	self_cpu__free(s);
}

static void escapes_and_cuts(void **state)
{
	struct self_cpu *s = self_cpu__new();
	char long_target[300];
	json_t *j;

	(void)state;
	self_cpu__add(s, "/a b\x80\"", 6, 1000);
	memset(long_target, 'x', sizeof(long_target));
	self_cpu__add(s, long_target, sizeof(long_target), 1000);
	self_cpu__add(s, long_target, SELF_CPU_TARGET_MAX + 1, 1000); /* the same once cut */
	j = dump(s);
	check_entry(j, "/a%20b%80\"", 1, 1.0);
	long_target[SELF_CPU_TARGET_MAX] = '\0';
	check_entry(j, long_target, 2, 2.0);
	json_decref(j);
	self_cpu__free(s);
}

static void bounded_with_other(void **state)
{
	struct self_cpu *s = self_cpu__new();
	char t[32];
	json_t *j;

	(void)state;
	for (int i = 0; i < SELF_CPU_TARGETS + 5; i++) {
		int n = snprintf(t, sizeof(t), "/t%d", i);

		self_cpu__add(s, t, (size_t)n, 1000);
	}
	self_cpu__add(s, "/t0", 3, 1000); /* a kept target still counts as itself */
	j = dump(s);
	assert_int_equal(json_object_size(j), SELF_CPU_TARGETS + 1);
	check_entry(j, "/t0", 2, 2.0);
	check_entry(j, SELF_CPU_OTHER, 5, 5.0);
	assert_null(json_object_get(j, "/t64"));
	json_decref(j);
	self_cpu__free(s);
}

/* A target spelled like the overflow key is kept apart from it (a JSON key appears once). */
static void other_key_is_no_target(void **state)
{
	struct self_cpu *s = self_cpu__new();
	char t[32];
	json_t *j;

	(void)state;
	self_cpu__add(s, SELF_CPU_OTHER, strlen(SELF_CPU_OTHER), 7000);
	for (int i = 0; i < SELF_CPU_TARGETS + 2; i++) {
		int n = snprintf(t, sizeof(t), "/t%d", i);

		self_cpu__add(s, t, (size_t)n, 1000);
	}
	j = dump(s);
	assert_int_equal(json_object_size(j), SELF_CPU_TARGETS + 1);
	check_entry(j, SELF_CPU_OTHER, 3, 3.0);
	assert_null(json_object_get(j, "/t63"));
	json_decref(j);
	self_cpu__free(s);
}

static void thread_clock_moves_with_work(void **state)
{
	uint64_t t0 = self_cpu__thread_ns(), t1;
	volatile uint64_t x = 1;

	(void)state;
	assert_true(t0 > 0);
	for (int i = 0; i < 20000000; i++)
		x = x * 6364136223846793005ULL + 1;
	t1 = self_cpu__thread_ns();
	assert_true(t1 > t0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sums_per_target),
		cmocka_unit_test(escapes_and_cuts),
		cmocka_unit_test(bounded_with_other),
		cmocka_unit_test(other_key_is_no_target),
		cmocka_unit_test(thread_clock_moves_with_work),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
