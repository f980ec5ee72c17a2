// SPDX-License-Identifier: MIT
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "hist.h"

#define NS_PER_US 1000ull
#define NS_PER_S 1000000000ull

static double rel_err(uint64_t got, uint64_t want)
{
	return fabs((double)got - (double)want) / (double)want;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Deterministic uniform double in [0, 1). */
static double uniform(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(*s >> 11) / 9007199254740992.0;
}

/*
 * Every value from 1 us to 60 s, stepping 0.1%, reads back within 1% as the median of
 * {small, v, huge}, so the midpoint clamp to min/max cannot hide a bucketing error.
 */
static void test_every_value_within_one_percent(void **state)
{
	struct hist *h = hist__new();
	double worst = 0;

	assert_non_null(h);
	for (double v = 1000.0; v <= 60.0 * NS_PER_S; v *= 1.001) {
		uint64_t x = (uint64_t)v, got;

		hist__reset(h);
		hist__record(h, 1);
		hist__record(h, x);
		hist__record(h, 100 * 60 * NS_PER_S);
		got = hist__percentile(h, 50);
		if (rel_err(got, x) > worst)
			worst = rel_err(got, x);
		assert_true(rel_err(got, x) <= 0.01);
	}
	print_message("worst relative error %.4f%%\n", worst * 100);
	assert_true(worst > 0); /* the sweep crossed bucket boundaries */
	hist__free(h);
}

/* Percentiles of 200,000 log-uniform latencies agree with the sorted values within 1%. */
static void test_percentiles_match_sorted(void **state)
{
	const size_t n = 200000;
	const double ps[] = { 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99 };
	uint64_t *v = malloc(n * sizeof(*v)), seed = 42, sum = 0;
	struct hist *h = hist__new();

	assert_non_null(v);
	assert_non_null(h);
	for (size_t i = 0; i < n; i++) {
		double lo = log(1.0 * NS_PER_US), hi = log(60.0 * NS_PER_S);

		v[i] = (uint64_t)exp(lo + (hi - lo) * uniform(&seed));
		sum += v[i];
		hist__record(h, v[i]);
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		size_t rank = (size_t)ceil(ps[i] / 100.0 * (double)n - 1e-9);
		uint64_t want = v[rank - 1], got = hist__percentile(h, ps[i]);

		print_message("p%g: want %lu got %lu\n", ps[i], (unsigned long)want,
			      (unsigned long)got);
		assert_true(rel_err(got, want) <= 0.01);
	}
	assert_int_equal(hist__count(h), n);
	assert_int_equal(hist__min(h), v[0]);
	assert_int_equal(hist__max(h), v[n - 1]);
	assert_int_equal(hist__percentile(h, 100), v[n - 1]);
	assert_int_equal(hist__sum(h), sum);
	assert_true(fabs(hist__mean(h) - (double)sum / (double)n) < 1e-6 * hist__mean(h));
	free(v);
	hist__free(h);
}

static void test_small_values_exact(void **state)
{
	struct hist *h = hist__new();

	assert_non_null(h);
	for (uint64_t x = 0; x < 256; x++)
		hist__record(h, x);
	/* Nearest rank: p50 of 0..255 is the 128th value, 127. */
	assert_int_equal(hist__percentile(h, 50), 127);
	assert_int_equal(hist__percentile(h, 1), 2);
	assert_int_equal(hist__percentile(h, 0.0001), 0);
	assert_int_equal(hist__percentile(h, 100), 255);
	hist__free(h);
}

static void test_merge_equals_single(void **state)
{
	struct hist *a = hist__new(), *b = hist__new(), *all = hist__new();
	uint64_t seed = 7;

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(all);
	for (int i = 0; i < 50000; i++) {
		uint64_t x = (uint64_t)(uniform(&seed) * 1e9);

		hist__record(i % 3 ? a : b, x);
		hist__record(all, x);
	}
	hist__merge(a, b);
	assert_int_equal(hist__count(a), hist__count(all));
	assert_int_equal(hist__min(a), hist__min(all));
	assert_int_equal(hist__max(a), hist__max(all));
	assert_int_equal(hist__sum(a), hist__sum(all));
	for (double p = 0.5; p < 100; p += 0.5)
		assert_int_equal(hist__percentile(a, p), hist__percentile(all, p));
	hist__free(a);
	hist__free(b);
	hist__free(all);
}

static void test_empty_and_saturated(void **state)
{
	struct hist *h = hist__new(), *e = hist__new();
	uint64_t huge = 3600 * NS_PER_S; /* an hour: beyond HIST_MAX_VALUE */

	assert_non_null(h);
	assert_non_null(e);
	assert_int_equal(hist__percentile(e, 50), 0);
	assert_int_equal(hist__count(e), 0);
	assert_true(hist__mean(e) == 0.0);
	hist__merge(h, e);
	assert_int_equal(hist__count(h), 0);

	hist__record(h, huge);
	hist__record(h, huge);
	assert_int_equal(hist__max(h), huge);
	assert_int_equal(hist__percentile(h, 100), huge);
	/* Below the max the saturated bucket reads as the top of the range. */
	hist__record(h, 1);
	assert_true(hist__percentile(h, 50) >= HIST_MAX_VALUE / 101 * 100);
	assert_true(hist__percentile(h, 50) <= HIST_MAX_VALUE);
	hist__record(h, UINT64_MAX);
	assert_true(hist__sum(h) == UINT64_MAX);
	hist__free(h);
	hist__free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_value_within_one_percent),
		cmocka_unit_test(test_percentiles_match_sorted),
		cmocka_unit_test(test_small_values_exact),
		cmocka_unit_test(test_merge_equals_single),
		cmocka_unit_test(test_empty_and_saturated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
