// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "header_ports.h"

static uint64_t bits[HEADER_PORT_WORDS];

static unsigned count(void)
{
	unsigned n = 0;

	for (unsigned p = 0; p < 65536; p++)
		n += header_ports_has(bits, p);
	return n;
}

static void test_ports_and_ranges(void **state)
{
	const char *why = NULL;

	assert_int_equal(header_ports_parse("80,8000-8099,65535", bits, &why), 0);
	assert_true(header_ports_has(bits, 80));
	assert_true(header_ports_has(bits, 8000));
	assert_true(header_ports_has(bits, 8063));
	assert_true(header_ports_has(bits, 8064));
	assert_true(header_ports_has(bits, 8099));
	assert_true(header_ports_has(bits, 65535));
	assert_false(header_ports_has(bits, 81));
	assert_false(header_ports_has(bits, 7999));
	assert_false(header_ports_has(bits, 8100));
	assert_false(header_ports_has(bits, 0));
	assert_int_equal(count(), 102);
	assert_int_equal(header_ports_parse("1-65535", bits, &why), 0);
	assert_int_equal(count(), 65535);
	assert_int_equal(header_ports_parse("443", bits, &why), 0);
	assert_int_equal(count(), 1); /* a second parse starts from nothing */
	assert_int_equal(header_ports_parse("9-9", bits, &why), 0);
	assert_true(header_ports_has(bits, 9));
}

static void test_bad_lists(void **state)
{
	const char *bad[] = { "", ",", "80,", ",80", "80,,81", "0", "65536", "99999999999999999999",
			      "8099-8000", "80-", "-80", "80 ,81", " 80", "http", "0x50",
			      "1-2-3", "+80" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;

		assert_int_equal(header_ports_parse(bad[i], bits, &why), -EINVAL);
		assert_non_null(why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ports_and_ranges),
		cmocka_unit_test(test_bad_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
