// SPDX-License-Identifier: MIT
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "power_stats.h"

static void test_odd_count(void **state)
{
	/* Unsorted on purpose; one spike that the median and MAD shrug off. */
	const double v[] = { 103, 100, 5000, 98, 101 };
	struct power_stats s;

	assert_int_equal(power_stats_compute(v, 5, &s), 0);
	assert_int_equal(s.n, 5);
	assert_true(s.median_uw == 101);
	assert_true(s.mean_uw == 5402.0 / 5);
	/* deviations 2 1 4899 3 0 -> sorted 0 1 2 3 4899 -> MAD 2 */
	assert_true(s.mad_uw == 2);
	assert_true(s.min_uw == 98 && s.max_uw == 5000);
	assert_true(fabs(s.fluctuation - 1.4826 * 2 / 101) < 1e-15);
	assert_true(fabs(s.range_fraction - 4902.0 / 101) < 1e-12);
	assert_true(v[0] == 103 && v[2] == 5000); /* input untouched */
}

static void test_even_count(void **state)
{
	const double v[] = { 4, 1, 3, 2 };
	struct power_stats s;

	assert_int_equal(power_stats_compute(v, 4, &s), 0);
	assert_true(s.median_uw == 2.5);
	/* deviations 1.5 1.5 0.5 0.5 -> MAD 1 */
	assert_true(s.mad_uw == 1);
}

static void test_flat_and_zero(void **state)
{
	const double flat[] = { 7, 7, 7 };
	const double zero[] = { 0, 0, 0 };
	const double mostly_zero[] = { 0, 0, 0, 5, 9 };
	struct power_stats s;

	assert_int_equal(power_stats_compute(flat, 3, &s), 0);
	assert_true(s.fluctuation == 0 && s.range_fraction == 0 && s.mad_uw == 0);
	assert_int_equal(power_stats_compute(zero, 3, &s), 0);
	assert_true(s.fluctuation == 0 && s.median_uw == 0);
	assert_int_equal(power_stats_compute(mostly_zero, 5, &s), 0);
	assert_true(s.median_uw == 0);
	assert_true(s.mad_uw == 0 && s.fluctuation == 0); /* robust: three of five agree */
	assert_true(isinf(s.range_fraction));

	const double one[] = { 42 };

	assert_int_equal(power_stats_compute(one, 1, &s), 0);
	assert_true(s.median_uw == 42 && s.mad_uw == 0 && s.fluctuation == 0);
}

static void test_rejects(void **state)
{
	const double bad[] = { 1, NAN, 3 };
	const double inf[] = { 1, INFINITY };
	struct power_stats s = { .n = 99 };

	assert_int_equal(power_stats_compute(bad, 0, &s), -EINVAL);
	assert_int_equal(power_stats_compute(bad, 3, &s), -EINVAL);
	assert_int_equal(power_stats_compute(inf, 2, &s), -EINVAL);
	assert_int_equal(s.n, 99);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_odd_count),
		cmocka_unit_test(test_even_count),
		cmocka_unit_test(test_flat_and_zero),
		cmocka_unit_test(test_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
