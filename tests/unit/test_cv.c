// SPDX-License-Identifier: MIT
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cv.h"
#include "design.h"

static void test_parse(void **state)
{
	struct cv_spec s;
	char name[32];

	assert_int_equal(cv_parse("label", &s), 0);
	assert_int_equal(s.scheme, CV_LABEL);
	assert_int_equal(cv_parse("time:5", &s), 0);
	assert_int_equal(s.scheme, CV_TIME);
	assert_int_equal(s.k, 5);
	cv_name(&s, name, sizeof(name));
	assert_string_equal(name, "time:5");
	assert_int_equal(cv_parse("time:1", &s), -ERANGE);
	assert_int_equal(cv_parse("time:1001", &s), -ERANGE);
	assert_int_equal(cv_parse("time:", &s), -EINVAL);
	assert_int_equal(cv_parse("time:x", &s), -EINVAL);
	assert_int_equal(cv_parse("time", &s), -EINVAL);
	assert_int_equal(cv_parse("labels", &s), -EINVAL);
}

/* time:K cuts each run's used rows into K contiguous blocks; skipped rows have no fold. */
static void test_time_blocks_per_run(void **state)
{
	uint32_t run[] = { 0, 0, 0, 0, 0, 0, 1, 1, 1, 1 }, fold[10];
	uint8_t st[10];
	struct dataset ds = { .rows = 10, .run = run, .num_runs = 2 };
	struct cv_spec s = { .scheme = CV_TIME, .k = 3 };
	/* run 0: 5 used rows (row 2 skipped) -> blocks of 5/3; run 1: 4 rows. */
	static const uint32_t want[] = { 0, 0, CV_NO_FOLD, 1, 1, 2, 0, 0, 1, 2 };
	size_t n;

	memset(st, ROW_TRAIN, sizeof(st));
	st[2] = ROW_SKIPPED;
	assert_int_equal(cv_assign(&ds, st, &s, fold, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(fold[i], want[i]);
	/* More blocks than rows: an empty fold is an error. */
	s.k = 7;
	assert_int_equal(cv_assign(&ds, st, &s, fold, &n), -EINVAL);
}

static void test_label_folds(void **state)
{
	uint32_t label[] = { 0, 1, 1, 2, 0 }, run[5] = { 0 }, fold[5];
	uint8_t st[5];
	struct dataset ds = {
		.rows = 5, .label = label, .run = run, .num_runs = 1, .num_labels = 3
	};
	struct cv_spec s = { .scheme = CV_LABEL };
	size_t n;

	memset(st, ROW_TRAIN, sizeof(st));
	assert_int_equal(cv_assign(&ds, st, &s, fold, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(fold[i], label[i]);
	st[3] = ROW_SKIPPED; /* label 2's only row: that fold would be empty */
	assert_int_equal(cv_assign(&ds, st, &s, fold, &n), -EINVAL);
	ds.num_labels = 1;
	assert_int_equal(cv_assign(&ds, st, &s, fold, &n), -EINVAL);
}

static void test_dynamic_range(void **state)
{
	double target[101];
	uint8_t st[101];
	struct dataset ds = { .rows = 101, .target = target };
	double range;

	for (size_t i = 0; i < 101; i++)
		target[i] = 1000 + (double)i; /* idle floor 1000: the range does not see it */
	memset(st, ROW_TRAIN, sizeof(st));
	target[100] = 1e9; /* one outlier: P99 is not the maximum */
	st[0] = ROW_SKIPPED;
	assert_int_equal(cv_dynamic_range(&ds, st, &range), 0);
	/* 100 used values 1001..1099, 1e9: P1 = 1001.99, P99 = 1099 + 0.01 * (1e9 - 1099). */
	assert_true(fabs(range - (1099 + 0.01 * (1e9 - 1099) - 1001.99)) < 1e-9 * range);
}

static void test_coef_stability(void **state)
{
	/* Two features, three folds, stored fold-major (stride 2). */
	double coef[] = { 1.0, 0.5, 1.1, -0.1, 0.9, 0.4 };
	double se[] = { 0.2, 0.1, 0.2, 0.1, 0.2, NAN };
	struct cv_coef c;

	cv_coef_stats(coef, se, 3, 2, 1.0, &c);
	assert_false(c.sign_change);
	assert_false(c.moves); /* every fold within 0.2 of 1.0 */
	assert_true(c.min == 0.9 && c.max == 1.1);
	cv_coef_stats(coef + 1, se + 1, 3, 2, 0.4, &c);
	assert_true(c.sign_change);
	assert_true(c.moves); /* fold 2: |-0.1 - 0.4| > 0.1 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),	       cmocka_unit_test(test_time_blocks_per_run),
		cmocka_unit_test(test_label_folds),    cmocka_unit_test(test_dynamic_range),
		cmocka_unit_test(test_coef_stability),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
