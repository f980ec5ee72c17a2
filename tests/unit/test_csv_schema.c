// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "csv_schema.h"

static void test_header_matches_column_names(void **state)
{
	char joined[1024] = "";

	for (int i = 0; i < CSV_COLUMNS; i++) {
		if (i)
			strcat(joined, ",");
		strcat(joined, csv_column_name((enum csv_column)i));
		assert_int_equal(csv_column_find(csv_column_name((enum csv_column)i)), i);
	}
	assert_string_equal(csv_header(), joined);
	assert_int_equal(csv_column_find("nope"), -1);
	assert_null(csv_column_name(CSV_COLUMNS));
}

static void test_design_order(void **state)
{
	/* The order of ../shared/design.md. */
	assert_int_equal(csv_column_find("interval"), 0);
	assert_int_equal(csv_column_find("energy_source"), 4);
	assert_int_equal(csv_column_find("freq_runtime_ns"), 14);
	assert_int_equal(csv_column_find("attributed_uj"), 24);
	/* The feature table's host block comes after every fixed column. */
	assert_int_equal(csv_column_find("records_dropped"), CSV_GPU_ENERGY_UJ + 3);
	assert_int_equal(csv_column_find("softirq_net_rx"), CSV_RECORDS_DROPPED + 1);
	assert_int_equal(csv_column_find("softirq_other"), CSV_COLUMNS - 1);
	assert_int_equal(csv_column_find("migrations"), CSV_MIGRATIONS);
	assert_int_equal(CSV_MIGRATIONS, 13);
}

static void test_quote(void **state)
{
	char out[32];

	assert_int_equal(csv_quote("plain", out, sizeof(out)), 5);
	assert_string_equal(out, "plain");
	assert_int_equal(csv_quote("a,b", out, sizeof(out)), 5);
	assert_string_equal(out, "\"a,b\"");
	assert_int_equal(csv_quote("say \"hi\"", out, sizeof(out)), 12);
	assert_string_equal(out, "\"say \"\"hi\"\"\"");
	assert_int_equal(csv_quote("line\nbreak", out, sizeof(out)), 12);
	assert_int_equal(csv_quote("0123456789", out, 10), -1);
	assert_int_equal(csv_quote("", out, sizeof(out)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_matches_column_names),
		cmocka_unit_test(test_design_order),
		cmocka_unit_test(test_quote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
