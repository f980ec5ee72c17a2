// SPDX-License-Identifier: MIT
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parse.h"

static void test_u64_accepts_plain_digits(void **state)
{
	uint64_t v = 7;

	assert_int_equal(parse_u64("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(parse_u64_n("12345abc", 5, 0, 99999, &v), 0);
	assert_int_equal(v, 12345);
}

static void test_u64_rejects_junk(void **state)
{
	uint64_t v = 7;
	const char *bad[] = { "", "-1", "+1", " 1", "1 ", "0x10", "1.0", "abc", "1e3" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_u64(bad[i], 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_u64(NULL, 0, 1, &v), -EINVAL);
	assert_int_equal(v, 7); /* untouched on error */
}

static void test_u64_range_and_overflow(void **state)
{
	uint64_t v = 7;

	assert_int_equal(parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_u64("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_u64("9", 10, 20, &v), -ERANGE);
	assert_int_equal(parse_u64("21", 10, 20, &v), -ERANGE);
	assert_int_equal(v, 7);
}

static void test_i64(void **state)
{
	int64_t v = 0;

	assert_int_equal(parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(parse_i64("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_i64("-5", 0, 10, &v), -ERANGE);
	assert_int_equal(parse_i64("--5", -10, 10, &v), -EINVAL);
	assert_int_equal(parse_i64("-", -10, 10, &v), -EINVAL);
}

static void test_double(void **state)
{
	double v = 0;

	assert_int_equal(parse_double("1.5e-3", 0, 1, &v), 0);
	assert_true(fabs(v - 0.0015) < 1e-15);
	assert_int_equal(parse_double("-2", -5, 5, &v), 0);
	assert_true(v == -2.0);
	assert_int_equal(parse_double("nan", -1e300, 1e300, &v), -EINVAL);
	assert_int_equal(parse_double("inf", -1e300, 1e300, &v), -EINVAL);
	assert_int_equal(parse_double("0x1p3", -1e300, 1e300, &v), -EINVAL);
	assert_int_equal(parse_double("1e999", -1e300, 1e300, &v), -ERANGE);
	assert_int_equal(parse_double("1.0x", 0, 5, &v), -EINVAL);
	assert_int_equal(parse_double("", 0, 5, &v), -EINVAL);
	assert_int_equal(parse_double("6", 0, 5, &v), -ERANGE);
	assert_int_equal(parse_double_n("2.5junk", 3, 0, 5, &v), 0);
	assert_true(v == 2.5);
	assert_string_equal(parse_strerror(-ERANGE), "is out of range");
	assert_string_equal(parse_strerror(-EINVAL), "is not a number");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64_accepts_plain_digits),
		cmocka_unit_test(test_u64_rejects_junk),
		cmocka_unit_test(test_u64_range_and_overflow),
		cmocka_unit_test(test_i64),
		cmocka_unit_test(test_double),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
