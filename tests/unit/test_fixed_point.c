// SPDX-License-Identifier: MIT
#include <errno.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixed_point.h"

typedef unsigned __int128 u128;

#define REQUIRED_MIN 1e-7
#define REQUIRED_REL_ERR 1e-4
#define SWEEP_POINTS 2000000

/* What fixed_weight_apply() must compute, without any chance of wrapping. */
static u128 apply_wide(const struct fixed_weight *w, uint64_t signal)
{
	return ((u128)signal * w->mantissa + ((u128)1 << (w->shift - 1))) >> w->shift;
}

static struct fixed_weight encode_ok(double weight)
{
	struct fixed_weight w = { 0 };

	assert_int_equal(fixed_weight_encode(weight, &w), 0);
	assert_true(w.mantissa < FIXED_MANTISSA_LIMIT);
	assert_true(w.shift >= 1 && w.shift <= FIXED_SHIFT_MAX);
	assert_int_equal(w.pad, 0);
	return w;
}

static void test_bounds_of_the_required_range(void **state)
{
	struct fixed_weight hi = encode_ok(FIXED_WEIGHT_MAX);
	struct fixed_weight lo = encode_ok(REQUIRED_MIN);

	/* 1e6 < 2^20 needs shift 7; 1e-7 ~ 2^-23.3 needs shift 50: inside [1, 63]. */
	assert_int_equal(hi.shift, 7);
	assert_int_equal(lo.shift, 50);
	assert_true(hi.mantissa >= FIXED_MANTISSA_LIMIT / 2); /* full precision at both ends */
	assert_true(lo.mantissa >= FIXED_MANTISSA_LIMIT / 2);
	assert_true(fabs(fixed_weight_decode(&hi) - 1e6) <= 1e6 * ldexp(1, -27));
	assert_true(fabs(fixed_weight_decode(&lo) - 1e-7) <= 1e-7 * ldexp(1, -27));

	/* The full-precision range reaches down to 2^-37. */
	struct fixed_weight min_full = encode_ok(FIXED_WEIGHT_MIN_FULL);

	assert_int_equal(min_full.shift, 63);
	assert_true(min_full.mantissa == FIXED_MANTISSA_LIMIT / 2);
	assert_true(fixed_weight_decode(&min_full) == FIXED_WEIGHT_MIN_FULL);
}

static void test_relative_error_over_the_range(void **state)
{
	double worst = 0, prev_decoded = 0;
	double span = log(FIXED_WEIGHT_MAX / REQUIRED_MIN);

	/* Log-spaced sweep, both ends included, plus neighbours of every power of two. */
	for (int i = 0; i <= SWEEP_POINTS; i++) {
		double w = REQUIRED_MIN * exp(span * i / SWEEP_POINTS);

		if (i == SWEEP_POINTS)
			w = FIXED_WEIGHT_MAX;
		struct fixed_weight f = encode_ok(w);
		double d = fixed_weight_decode(&f);
		double rel = fabs(d - w) / w;

		if (rel > worst)
			worst = rel;
		/* Encoding never reorders weights. */
		assert_true(d >= prev_decoded);
		prev_decoded = d;
	}
	for (int e = -24; e <= 19; e++) {
		double p = ldexp(1, e);
		double around[] = { nextafter(p, 0), p, nextafter(p, INFINITY) };

		for (int k = 0; k < 3; k++) {
			struct fixed_weight f = encode_ok(around[k]);
			double rel = fabs(fixed_weight_decode(&f) - around[k]) / around[k];

			if (rel > worst)
				worst = rel;
		}
	}
	print_message("worst relative error over [1e-7, 1e6]: %.3g\n", worst);
	assert_true(worst <= ldexp(1, -27));
	assert_true(worst <= REQUIRED_REL_ERR);
}

static void test_no_overflow_at_any_shift(void **state)
{
	/* The largest mantissa at every shift, times the largest signal, plus rounding. */
	for (uint32_t s = 1; s <= FIXED_SHIFT_MAX; s++) {
		struct fixed_weight w = { .mantissa = FIXED_MANTISSA_LIMIT - 1, .shift = s };
		u128 sum = (u128)FIXED_SIGNAL_MAX * w.mantissa + ((u128)1 << (s - 1));

		assert_true(sum <= UINT64_MAX);
		assert_true(fixed_weight_apply(&w, FIXED_SIGNAL_MAX) ==
			    (uint64_t)apply_wide(&w, FIXED_SIGNAL_MAX));
	}
}

static void test_products(void **state)
{
	static const uint64_t signals[] = {
		1, 3, 999, 1000000, 123456789, 10000000000ULL, 99999999999ULL, FIXED_SIGNAL_MAX
	};
	double span = log(FIXED_WEIGHT_MAX / REQUIRED_MIN);
	double worst = 0;

	for (int i = 0; i <= 200000; i++) {
		double w = i == 200000 ? FIXED_WEIGHT_MAX : REQUIRED_MIN * exp(span * i / 200000);
		struct fixed_weight f = encode_ok(w);

		for (size_t k = 0; k < sizeof(signals) / sizeof(signals[0]); k++) {
			uint64_t sig = signals[k];
			uint64_t got = fixed_weight_apply(&f, sig);
			long double exact = (long double)w * sig;

			/* Bit-exact with the wide reference: nothing wrapped. */
			assert_true((u128)got == apply_wide(&f, sig));
			/* Within weight precision plus the final rounding to an integer. */
			assert_true(fabsl((long double)got - exact) <=
				    exact * 0x1p-27L + 0.5L + 1e-9L);
			if (exact >= 1e4) {
				double rel = (double)(fabsl((long double)got - exact) / exact);

				if (rel > worst)
					worst = rel;
			}
		}
	}
	print_message("worst relative error of products >= 1e4: %.3g\n", worst);
	assert_true(worst <= REQUIRED_REL_ERR);

	/* Concrete: 10 s of runtime at 2.5 score units per ns. */
	struct fixed_weight f = encode_ok(2.5);

	assert_true(fixed_weight_apply(&f, 10000000000ULL) == 25000000000ULL);
	f = encode_ok(1.0);
	assert_true(fixed_weight_apply(&f, 12345) == 12345);
	f = encode_ok(0.5);
	assert_true(fixed_weight_apply(&f, 3) == 2); /* 1.5 rounds to nearest (up) */
}

static void test_zero_and_tiny(void **state)
{
	struct fixed_weight z = encode_ok(0);

	assert_true(z.mantissa == 0);
	assert_true(fixed_weight_apply(&z, FIXED_SIGNAL_MAX) == 0);
	assert_true(fixed_weight_decode(&z) == 0);

	/* Below 2^-37 precision degrades gracefully: absolute error <= 2^-64. */
	double tiny[] = { 1e-12, 3e-15, 1e-18, 6e-20, 5e-20, 1e-30, DBL_MIN, DBL_TRUE_MIN };

	for (size_t i = 0; i < sizeof(tiny) / sizeof(tiny[0]); i++) {
		struct fixed_weight f = encode_ok(tiny[i]);

		assert_int_equal(f.shift, 63);
		assert_true(fabs(fixed_weight_decode(&f) - tiny[i]) <= ldexp(1, -64));
		assert_true(fixed_weight_apply(&f, FIXED_SIGNAL_MAX) ==
			    (uint64_t)apply_wide(&f, FIXED_SIGNAL_MAX));
	}
}

static void test_rejects(void **state)
{
	struct fixed_weight w = { .mantissa = 77, .shift = 5 };
	double bad[] = { -1, -DBL_TRUE_MIN, NAN, INFINITY, -INFINITY, nextafter(1e6, 2e6), 1e300 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fixed_weight_encode(bad[i], &w), -ERANGE);
	assert_true(w.mantissa == 77 && w.shift == 5); /* untouched */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds_of_the_required_range),
		cmocka_unit_test(test_relative_error_over_the_range),
		cmocka_unit_test(test_no_overflow_at_any_shift),
		cmocka_unit_test(test_products),
		cmocka_unit_test(test_zero_and_tiny),
		cmocka_unit_test(test_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
