// SPDX-License-Identifier: MIT
/*
 * The request energy arithmetic the BPF side runs (bpf/request_energy.h): sub-µJ
 * remainders, the psys factor as one word, header quantisation.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "request_energy.h"

typedef unsigned __int128 u128;

static struct fixed_weight enc(double weight)
{
	struct fixed_weight w = { 0 };

	assert_int_equal(fixed_weight_encode(weight, &w), 0);
	return w;
}

/* The old accounting: every event rounded to a whole µJ before it was added. */
static uint64_t rounded_each(const struct fixed_weight *w, uint64_t signal, int times)
{
	uint64_t sum = 0;

	for (int i = 0; i < times; i++)
		sum += fixed_weight_apply(w, signal);
	return sum;
}

static uint64_t remainder_kept(const struct fixed_weight *w, uint64_t signal, int times)
{
	uint64_t fx = 0;

	for (int i = 0; i < times; i++)
		fx += req_apply_fx(w, signal);
	return req_uj_of_fx(fx);
}

/* A weight under 0.5 µJ per event: 1000 events of 0.3 µJ are 300 µJ, not 0. */
static void test_sub_uj_events_add_up(void **state)
{
	struct fixed_weight w = enc(0.3);

	assert_int_equal(rounded_each(&w, 1, 1000), 0); /* what the header said before */
	assert_int_equal(remainder_kept(&w, 1, 1000), 300);
	/* 0.001 µJ/ns over 10000 slices of 300 ns: 3000 µJ (each slice 0.3 µJ) */
	w = enc(0.001);
	assert_int_equal(rounded_each(&w, 300, 10000), 0);
	assert_int_equal(remainder_kept(&w, 300, 10000), 3000);
	/* and 0.6 µJ events no longer count as 1 µJ each */
	w = enc(0.6);
	assert_int_equal(rounded_each(&w, 1, 1000), 1000);
	assert_int_equal(remainder_kept(&w, 1, 1000), 600);
}

/* req_apply_fx is weight × signal × 2^16, to within rounding, across the weight range. */
static void test_apply_fx_matches_wide_arithmetic(void **state)
{
	const double weights[] = { 1e-7, 3.3e-5, 0.001, 0.3, 1, 7.5, 1000, 123456, 1e6 };
	const uint64_t signals[] = { 0, 1, 7, 300, 123456, 1000000000ULL, FIXED_SIGNAL_MAX };

	for (size_t i = 0; i < sizeof(weights) / sizeof(weights[0]); i++) {
		struct fixed_weight w = enc(weights[i]);

		for (size_t j = 0; j < sizeof(signals) / sizeof(signals[0]); j++) {
			u128 exact = ((u128)signals[j] * w.mantissa << REQ_FRAC_BITS) >> w.shift;
			u128 got = req_apply_fx(&w, signals[j]);

			if (exact > UINT64_MAX) {
				assert_true(got == UINT64_MAX); /* saturates, never wraps */
				continue;
			}
			assert_true(got + 1 >= exact && got <= exact + 1);
		}
	}
}

/* psys: score in fractions × µJ-per-score, also for scores with a fractional part. */
static void test_scale_fx(void **state)
{
	struct fixed_weight f = enc(2.5);
	uint64_t score_fx = (uint64_t)(10.25 * REQ_FRAC_ONE); /* 10.25 score units */

	/* 25.625 µJ */
	assert_int_equal(req_scale_fx(&f, score_fx), (uint64_t)(25.625 * REQ_FRAC_ONE));
	assert_int_equal(req_uj_of_fx(req_scale_fx(&f, score_fx)), 26);
	f = enc(0.01);
	assert_int_equal(req_uj_of_fx(req_scale_fx(&f, 40 * REQ_FRAC_ONE)), 0);
	assert_int_equal(req_uj_of_fx(req_scale_fx(&f, 60 * REQ_FRAC_ONE)), 1);
	f = enc(1e6);
	assert_true(req_scale_fx(&f, UINT64_MAX) == UINT64_MAX);
}

static void test_uj_of_fx_rounds_to_nearest(void **state)
{
	assert_int_equal(req_uj_of_fx(0), 0);
	assert_int_equal(req_uj_of_fx(REQ_FRAC_ONE / 2 - 1), 0);
	assert_int_equal(req_uj_of_fx(REQ_FRAC_ONE / 2), 1);
	assert_int_equal(req_uj_of_fx(5 * REQ_FRAC_ONE + REQ_FRAC_ONE / 2 + 1), 6);
	assert_true(req_uj_of_fx(UINT64_MAX) == UINT64_MAX >> REQ_FRAC_BITS);
}

/* The factor as one word: what user space packs, BPF unpacks exactly. */
static void test_factor_word_round_trips(void **state)
{
	const double factors[] = { 1e-7, 0.0123, 1, 42.5, 1e6 };

	for (size_t i = 0; i < sizeof(factors) / sizeof(factors[0]); i++) {
		struct fixed_weight w = enc(factors[i]);
		uint64_t word = req_factor_pack(&w);
		struct fixed_weight back = req_factor_unpack(word);

		assert_true(back.mantissa == w.mantissa);
		assert_int_equal(back.shift, w.shift);
		assert_true(word != 0);
	}
	struct fixed_weight none = req_factor_unpack(0);

	assert_int_equal(req_uj_of_fx(req_scale_fx(&none, 1000 * REQ_FRAC_ONE)), 0);
}

static void test_quantize(void **state)
{
	assert_int_equal(req_quantize(1234, 0), 1234);
	assert_int_equal(req_quantize(1234, 1), 1234);
	assert_int_equal(req_quantize(1234, 100), 1200);
	assert_int_equal(req_quantize(1250, 100), 1300);
	assert_int_equal(req_quantize(1249, 100), 1200);
	assert_int_equal(req_quantize(49, 100), 0);
	assert_int_equal(req_quantize(50, 100), 100);
	assert_int_equal(req_quantize(4, 3), 3);
	assert_int_equal(req_quantize(5, 3), 6);
	for (uint64_t uj = 0; uj < 5000; uj += 7)
		assert_int_equal(req_quantize(uj, 1000) % 1000, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sub_uj_events_add_up),
		cmocka_unit_test(test_apply_fx_matches_wide_arithmetic),
		cmocka_unit_test(test_scale_fx),
		cmocka_unit_test(test_uj_of_fx_rounds_to_nearest),
		cmocka_unit_test(test_factor_word_round_trips),
		cmocka_unit_test(test_quantize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
