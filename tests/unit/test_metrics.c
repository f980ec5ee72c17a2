// SPDX-License-Identifier: MIT
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "metrics.h"

static void near(double got, double want)
{
	if (fabs(got - want) > 1e-12 * (1 + fabs(want))) {
		print_error("got %.17g, want %.17g\n", got, want);
		fail();
	}
}

/* y = 1 2 3 4, yhat = 1.5 2 2 5, floor 1.5, worked by hand:
 * |e| = 0.5 0 1 1: MAE 2.5/4 = 0.625, RMSE sqrt(2.25/4) = 0.75;
 * MAPE over y = 2 3 4: (0 + 1/3 + 1/4) / 3 = 7/36 -> 19.444...%;
 * mean y 2.5, SS_tot 2.25+0.25+0.25+2.25 = 5, SS_res 2.25: R^2 = 0.55. */
static void test_tiny_table(void **state)
{
	static const double y[] = { 1, 2, 3, 4 }, yhat[] = { 1.5, 2, 2, 5 };
	struct metrics_acc a;
	struct metrics m;

	metrics_init(&a, 1.5);
	for (int i = 0; i < 4; i++)
		metrics_add(&a, y[i], yhat[i]);
	metrics_result(&a, &m);
	assert_int_equal(m.rows, 4);
	assert_int_equal(m.mape_rows, 3);
	near(m.mape_floor, 1.5);
	near(m.mae, 0.625);
	near(m.rmse, 0.75);
	near(m.mape, 100.0 * 7 / 36);
	near(m.r2, 0.55);
}

static void test_negative_targets_and_perfect_fit(void **state)
{
	struct metrics_acc a;
	struct metrics m;

	/* |y| decides the floor: -10 counts, 0.5 does not. */
	metrics_init(&a, 1);
	metrics_add(&a, -10, -8);
	metrics_add(&a, 0.5, 0.5);
	metrics_result(&a, &m);
	assert_int_equal(m.mape_rows, 1);
	near(m.mape, 20);
	metrics_init(&a, 0);
	for (int i = 0; i < 10; i++)
		metrics_add(&a, i, i);
	metrics_result(&a, &m);
	near(m.r2, 1);
	near(m.mae, 0);
	/* Predicting the mean scores R^2 = 0; worse is negative. */
	metrics_init(&a, 0);
	metrics_add(&a, 1, 2);
	metrics_add(&a, 3, 2);
	metrics_result(&a, &m);
	near(m.r2, 0);
	metrics_init(&a, 0);
	metrics_add(&a, 1, 3);
	metrics_add(&a, 3, 1);
	metrics_result(&a, &m);
	near(m.r2, -3);
}

static void test_undefined_is_nan(void **state)
{
	struct metrics_acc a;
	struct metrics m;

	metrics_init(&a, 0);
	metrics_result(&a, &m);
	assert_int_equal(m.rows, 0);
	assert_true(isnan(m.mae) && isnan(m.rmse) && isnan(m.mape) && isnan(m.r2));
	metrics_add(&a, 5, 4); /* a constant target */
	metrics_add(&a, 5, 6);
	metrics_result(&a, &m);
	assert_true(isnan(m.r2));
	near(m.mae, 1);
	metrics_init(&a, 100); /* no row above the floor */
	metrics_add(&a, 5, 4);
	metrics_result(&a, &m);
	assert_true(isnan(m.mape));
	assert_int_equal(m.mape_rows, 0);
}

/* A large offset does not cancel the variance away (Welford). */
static void test_large_offset(void **state)
{
	struct metrics_acc a;
	struct metrics m;

	metrics_init(&a, 0);
	for (int i = 0; i < 1000; i++)
		metrics_add(&a, 1e12 + (i % 2 ? 1 : -1), 1e12);
	metrics_result(&a, &m);
	near(m.r2, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tiny_table),
		cmocka_unit_test(test_negative_targets_and_perfect_fit),
		cmocka_unit_test(test_undefined_is_nan),
		cmocka_unit_test(test_large_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
