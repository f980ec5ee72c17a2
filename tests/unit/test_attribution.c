// SPDX-License-Identifier: MIT
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "attribution.h"

static struct proc_interval proc(uint32_t tgid, uint32_t khz, uint64_t runtime_ns,
				 uint64_t wakeups)
{
	struct proc_interval p = { .tgid = tgid, .khz = khz };

	p.s.runtime_ns = runtime_ns;
	p.s.wakeups = wakeups;
	return p;
}

static void test_score_uses_frequency_and_penalties(void **state)
{
	struct energy_config cfg;
	struct proc_interval p = proc(1, 2500000, 1000, 3);

	config_defaults(&cfg);
	cfg.wakeup_penalty = 10;
	cfg.migration_penalty = 100;
	p.s.migrations = 2;
	p.s.pmu[PMU_CYCLES] = 1000000;
	cfg.cycles_weight = 0.5;
	assert_int_equal(config_set_freq(&cfg, 2000000, 2.0), 0);
	/* 2.0 * 1000 ns (nearest configured kHz below) + 3 * 10 + 2 * 100 */
	assert_true(fabs(attribution_score(&cfg, &p, false) - 2230.0) < 1e-9);
	assert_true(fabs(attribution_score(&cfg, &p, true) - 502230.0) < 1e-9);
	p.khz = 1000000; /* below every entry: default_multiplier (1.0) */
	assert_true(fabs(attribution_score(&cfg, &p, false) - 1230.0) < 1e-9);
}

static void test_psys_split_conserves_active_energy_exactly(void **state)
{
	struct energy_config cfg;
	struct proc_interval procs[50];
	uint64_t uj[50], sum = 0;
	double scratch[50];
	struct attribution_result a;

	config_defaults(&cfg);
	srand(7);
	for (int i = 0; i < 50; i++)
		procs[i] = proc((uint32_t)i + 1, 0, (uint64_t)(rand() % 1000000), (uint64_t)(rand() % 5));
	attribution_split(&cfg, procs, 50, 1234567, false, uj, scratch, &a);
	for (int i = 0; i < 50; i++)
		sum += uj[i];
	assert_true(a.factor_valid);
	assert_int_equal(sum, 1234567);
	assert_int_equal(a.attributed_uj, 1234567);
	/* each share is within 1 µJ of score * factor */
	for (int i = 0; i < 50; i++) {
		double exact = attribution_score(&cfg, &procs[i], false) * a.factor;

		assert_true(fabs((double)uj[i] - exact) < 1.0);
	}
}

static void test_psys_negative_active_gives_nothing(void **state)
{
	struct energy_config cfg;
	struct proc_interval procs[2] = { proc(1, 0, 100, 0), proc(2, 0, 300, 0) };
	uint64_t uj[2];
	double scratch[2];
	struct attribution_result a;

	config_defaults(&cfg);
	attribution_split(&cfg, procs, 2, -5000, false, uj, scratch, &a);
	assert_int_equal(a.attributed_uj, 0);
	assert_int_equal(uj[0] + uj[1], 0);
	assert_true(a.factor_valid);
	assert_true(a.factor == 0);
	/* nothing ran: no factor */
	procs[0].s.runtime_ns = procs[1].s.runtime_ns = 0;
	attribution_split(&cfg, procs, 2, 5000, false, uj, scratch, &a);
	assert_false(a.factor_valid);
	assert_int_equal(a.attributed_uj, 0);
}

static void test_model_mode_scores_are_microjoules(void **state)
{
	struct energy_config cfg;
	struct proc_interval procs[2] = { proc(1, 0, 1000000, 4), proc(2, 0, 2000000, 0) };
	uint64_t uj[2];
	double scratch[2];
	struct attribution_result a;

	config_defaults(&cfg);
	cfg.attribution_mode = ATTRIBUTION_MODEL;
	cfg.default_multiplier = 0.002;
	cfg.wakeup_penalty = 1.5;
	attribution_split(&cfg, procs, 2, 0, false, uj, scratch, &a);
	assert_int_equal(uj[0], 2006); /* 0.002 * 1e6 + 4 * 1.5 */
	assert_int_equal(uj[1], 4000);
	assert_int_equal(a.attributed_uj, 6006);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_score_uses_frequency_and_penalties),
		cmocka_unit_test(test_psys_split_conserves_active_energy_exactly),
		cmocka_unit_test(test_psys_negative_active_gives_nothing),
		cmocka_unit_test(test_model_mode_scores_are_microjoules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
