// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "design.h"
#include "split.h"

/* A dataset with only what the split reads: rows and their runs. */
static void make(struct dataset *ds, uint32_t *run, const size_t *run_rows, size_t runs)
{
	memset(ds, 0, sizeof(*ds));
	for (size_t r = 0; r < runs; r++)
		for (size_t k = 0; k < run_rows[r]; k++)
			run[ds->rows++] = (uint32_t)r;
	ds->run = run;
	ds->num_runs = runs;
}

static void test_time_split_takes_each_runs_last_rows(void **state)
{
	static const size_t run_rows[] = { 10, 5, 1, 7 };
	uint32_t run[32];
	uint8_t st[32];
	struct dataset ds;
	size_t test;

	make(&ds, run, run_rows, 4);
	memset(st, ROW_TRAIN, sizeof(st));
	st[9] = ROW_SKIPPED; /* the last row of run 0 is skipped: not counted, not test */
	assert_int_equal(split_rows(&ds, st, SPLIT_TIME, 0.2, 1, &test), 0);
	/* run 0: 9 used -> round(1.8) = 2: rows 7, 8; run 1: 5 -> 1: row 14; run 2: 1 -> 0;
	 * run 3: 7 -> round(1.4) = 1: row 22. */
	for (size_t i = 0; i < ds.rows; i++) {
		int want = (i == 7 || i == 8 || i == 14 || i == 22) ? ROW_TEST :
			   i == 9				    ? ROW_SKIPPED :
								      ROW_TRAIN;

		assert_int_equal(st[i], want);
	}
	assert_int_equal(test, 4);

	memset(st, ROW_TRAIN, sizeof(st));
	assert_int_equal(split_rows(&ds, st, SPLIT_TIME, 0, 1, &test), 0);
	assert_int_equal(test, 0);
}

static void test_random_split(void **state)
{
	static const size_t run_rows[] = { 1000 };
	uint32_t *run = calloc(1000, sizeof(*run));
	uint8_t a[1000], b[1000], c[1000];
	struct dataset ds;
	size_t test, late = 0;

	make(&ds, run, run_rows, 1);
	memset(a, ROW_TRAIN, sizeof(a));
	a[0] = ROW_SKIPPED;
	memcpy(b, a, sizeof(a));
	memcpy(c, a, sizeof(a));
	assert_int_equal(split_rows(&ds, a, SPLIT_RANDOM, 0.25, 7, &test), 0);
	assert_int_equal(test, 250); /* round(0.25 * 999) */
	assert_int_equal(a[0], ROW_SKIPPED);
	assert_int_equal(split_rows(&ds, b, SPLIT_RANDOM, 0.25, 7, &test), 0);
	assert_memory_equal(a, b, sizeof(a)); /* the same seed, the same split */
	assert_int_equal(split_rows(&ds, c, SPLIT_RANDOM, 0.25, 8, &test), 0);
	assert_true(memcmp(a, c, sizeof(a)) != 0);
	/* Spread over the whole run, not its end: about half in the second half. */
	for (size_t i = 500; i < 1000; i++)
		late += a[i] == ROW_TEST;
	assert_true(late > 90 && late < 160);
	free(run);
}

static void test_names(void **state)
{
	/* --split parses by these (common/options.h, OPT_CHOICE): index = enum value. */
	assert_string_equal(split_method_names[SPLIT_TIME], "time");
	assert_string_equal(split_method_names[SPLIT_RANDOM], "random");
	assert_null(split_method_names[SPLIT_RANDOM + 1]);
	assert_string_equal(split_method_name(SPLIT_RANDOM), "random");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_split_takes_each_runs_last_rows),
		cmocka_unit_test(test_random_split),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
