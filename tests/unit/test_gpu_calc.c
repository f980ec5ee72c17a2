// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gpu_calc.h"

#define MS 1000000ULL

static void test_counter_forward(void **state)
{
	uint64_t d = 7;

	assert_int_equal(gpu_counter_delta(1000, 1500, 0, 100 * MS, &d), GPU_COUNTER_OK);
	assert_int_equal(d, 500);
	assert_int_equal(gpu_counter_delta(1500, 1500, 0, 100 * MS, &d), GPU_COUNTER_OK);
	assert_int_equal(d, 0);
}

static void test_counter_wraps_at_its_range(void **state)
{
	uint64_t d = 0;

	/* 64-bit NVML counter: 500 mJ to the top, 700 after it. */
	assert_int_equal(gpu_counter_delta(UINT64_MAX - 499, 700, 0, 100 * MS, &d),
			 GPU_COUNTER_WRAP);
	assert_int_equal(d, 1200);
	/* DCGM's int64 field wraps at 2^63. */
	assert_int_equal(gpu_counter_delta((1ULL << 63) - 10, 5, 1ULL << 63, 100 * MS, &d),
			 GPU_COUNTER_WRAP);
	assert_int_equal(d, 15);
}

static void test_counter_reset_is_not_a_wrap(void **state)
{
	uint64_t d = 99;

	/* Back from 5,000,000 to 300: the driver reloaded; no GPU makes 2^64 mJ in 100 ms. */
	assert_int_equal(gpu_counter_delta(5000000, 300, 0, 100 * MS, &d), GPU_COUNTER_RESET);
	assert_int_equal(d, 0);
	/* A wrap bigger than 10 kW over the interval is a reset too. */
	assert_int_equal(gpu_counter_delta((1ULL << 63) - 2000000, 0, 1ULL << 63, 100 * MS, &d),
			 GPU_COUNTER_RESET);
	/* 10 kW for 100 ms is 1e6 mJ: exactly that is still a wrap. */
	assert_int_equal(gpu_counter_delta((1ULL << 63) - 1000000, 0, 1ULL << 63, 100 * MS, &d),
			 GPU_COUNTER_WRAP);
	assert_int_equal(d, 1000000);
	/* A previous value outside the range is not trusted. */
	assert_int_equal(gpu_counter_delta(1ULL << 63, 5, 1ULL << 63, 100 * MS, &d),
			 GPU_COUNTER_RESET);
}

static void test_integrate_power(void **state)
{
	/* 100 W to 200 W over 100 ms: 150 W average, 15 J. */
	assert_int_equal(gpu_integrate_uj(100000, 200000, 100 * MS), 15000000);
	assert_int_equal(gpu_integrate_uj(0, 0, 100 * MS), 0);
	/* Rounded to nearest: 1 mW for 1.5 ms is 1.5 µJ -> 2; for 1.4 ms 1.4 -> 1. */
	assert_int_equal(gpu_integrate_uj(1, 1, 1500000), 2);
	assert_int_equal(gpu_integrate_uj(1, 1, 1400000), 1);
	/* No overflow at 10 kW for an hour. */
	assert_int_equal(gpu_integrate_uj(10000000, 10000000, 3600ULL * 1000 * MS),
			 36000000000000ULL);
}

static void test_split_by_sm_with_largest_remainder(void **state)
{
	const struct gpu_proc_sample s[] = {
		{ .pid = 10, .sm_util = 30, .mem_util = 1 },
		{ .pid = 20, .sm_util = 10, .mem_util = 90 },
		{ .pid = 10, .sm_util = 20 }, /* the same process, a later sample */
		{ .pid = 5, .sm_util = 0, .mem_util = 50 }, /* no SM: no share */
	};
	struct gpu_proc_energy out[4];

	/* 50 : 10 of 1000 = 833.3 and 166.7: the leftover µJ goes to the larger remainder. */
	assert_int_equal(gpu_split_energy(1000, s, 4, out), 2);
	assert_int_equal(out[0].pid, 10);
	assert_int_equal(out[0].energy_uj, 833);
	assert_int_equal(out[1].pid, 20);
	assert_int_equal(out[1].energy_uj, 167);
}

static void test_split_by_memory_when_no_sm(void **state)
{
	const struct gpu_proc_sample s[] = {
		{ .pid = 7, .mem_util = 30 },
		{ .pid = 3, .mem_util = 10 },
	};
	struct gpu_proc_energy out[2];

	assert_int_equal(gpu_split_energy(400, s, 2, out), 2);
	assert_int_equal(out[0].pid, 3);
	assert_int_equal(out[0].energy_uj, 100);
	assert_int_equal(out[1].pid, 7);
	assert_int_equal(out[1].energy_uj, 300);
}

static void test_split_nothing_without_weights(void **state)
{
	const struct gpu_proc_sample s[] = { { .pid = 7 }, { .pid = 8 } };
	struct gpu_proc_energy out[2];

	assert_int_equal(gpu_split_energy(400, s, 2, out), 0);
	assert_int_equal(gpu_split_energy(400, s, 0, out), 0);
}

static void test_split_ties_go_to_the_lower_pid(void **state)
{
	const struct gpu_proc_sample s[] = {
		{ .pid = 30, .sm_util = 1 },
		{ .pid = 10, .sm_util = 1 },
		{ .pid = 20, .sm_util = 1 },
	};
	struct gpu_proc_energy out[3];
	uint64_t sum = 0;

	assert_int_equal(gpu_split_energy(2, s, 3, out), 3);
	assert_int_equal(out[0].energy_uj, 1); /* pid 10 */
	assert_int_equal(out[1].energy_uj, 1); /* pid 20 */
	assert_int_equal(out[2].energy_uj, 0); /* pid 30 */
	/* Large values add up exactly too. */
	assert_int_equal(gpu_split_energy(UINT64_MAX / 2, s, 3, out), 3);
	for (int i = 0; i < 3; i++)
		sum += out[i].energy_uj;
	assert_true(sum == UINT64_MAX / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_forward),
		cmocka_unit_test(test_counter_wraps_at_its_range),
		cmocka_unit_test(test_counter_reset_is_not_a_wrap),
		cmocka_unit_test(test_integrate_power),
		cmocka_unit_test(test_split_by_sm_with_largest_remainder),
		cmocka_unit_test(test_split_by_memory_when_no_sm),
		cmocka_unit_test(test_split_nothing_without_weights),
		cmocka_unit_test(test_split_ties_go_to_the_lower_pid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
