// SPDX-License-Identifier: MIT
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
	/* Host-wide-only features (softirq counts) have no per-process share. */
	cfg.softirq_net_rx_weight = 1000;
	cfg.softirq_other_weight = 1000;
	assert_true(fabs(attribution_score(&cfg, &p, false) - 1230.0) < 1e-9);
}

static void test_psys_split_conserves_active_energy_exactly(void **state)
{
	struct energy_config cfg;
	struct proc_interval procs[50];
	uint64_t uj[50], sum = 0;
	struct attribution_item scratch[50];
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
	struct attribution_item scratch[2];
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
	struct attribution_item scratch[2];
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

/* The split as it was before it was made O(n log n): the reference for the new one. */
static uint64_t old_split(const struct energy_config *cfg, const struct proc_interval *procs,
			  size_t n, int64_t active_uj, uint64_t *uj_out)
{
	double *frac = calloc(n ? n : 1, sizeof(*frac)), total = 0, factor;
	uint64_t target, given = 0;

	for (size_t i = 0; i < n; i++) {
		frac[i] = attribution_score(cfg, &procs[i], false);
		total += frac[i];
		uj_out[i] = 0;
	}
	if (total <= 0) {
		free(frac);
		return 0;
	}
	target = active_uj > 0 ? (uint64_t)active_uj : 0;
	factor = (double)target / total;
	for (size_t i = 0; i < n; i++) {
		double share = frac[i] * factor;

		uj_out[i] = (uint64_t)floor(share);
		frac[i] = share - floor(share);
		given += uj_out[i];
	}
	while (given < target && n > 0) {
		size_t best = 0;

		for (size_t i = 1; i < n; i++)
			if (frac[i] > frac[best])
				best = i;
		uj_out[best]++;
		frac[best] = -1;
		given++;
	}
	free(frac);
	return given;
}

/* Random processes, with many equal scores (ties in the remainders) among them. */
static void random_procs(struct proc_interval *procs, size_t n, unsigned int seed)
{
	srand(seed);
	for (size_t i = 0; i < n; i++) {
		uint64_t rt = (rand() % 4 == 0) ? 1000 * (uint64_t)(rand() % 3)
						: (uint64_t)rand() % 5000000;

		procs[i] = proc((uint32_t)i + 1, 0, rt, (uint64_t)(rand() % 7));
	}
}

static void test_split_equals_the_old_algorithm(void **state)
{
	enum { MAX = 300 };
	struct energy_config cfg;
	struct proc_interval procs[MAX];
	uint64_t uj[MAX], want[MAX];
	struct attribution_item scratch[MAX];
	struct attribution_result a;

	config_defaults(&cfg);
	cfg.wakeup_penalty = 250;
	for (unsigned int seed = 1; seed <= 400; seed++) {
		size_t n = 1 + (size_t)(seed * 7919u % MAX);
		int64_t active = (seed % 5 == 0) ? -(int64_t)seed : (int64_t)(seed * 104729u % 9000000);
		uint64_t old_given;

		random_procs(procs, n, seed);
		old_given = old_split(&cfg, procs, n, active, want);
		attribution_split(&cfg, procs, n, active, false, uj, scratch, &a);
		assert_memory_equal(uj, want, n * sizeof(uj[0]));
		assert_int_equal(a.attributed_uj, old_given);
		if (a.factor_valid)
			assert_int_equal(a.attributed_uj, active > 0 ? (uint64_t)active : 0);
	}
}

static double seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100k processes: the old O(n^2) loop took minutes here; this must take well under 1 s
 * (even under ASan on a loaded 2-CPU VM). */
static void test_split_of_100k_processes_is_fast(void **state)
{
	enum { N = 100000 };
	struct energy_config cfg;
	struct proc_interval *procs = calloc(N, sizeof(*procs));
	struct attribution_item *scratch = calloc(N, sizeof(*scratch));
	uint64_t *uj = calloc(N, sizeof(*uj)), sum = 0;
	struct attribution_result a;
	double t0, secs;

	assert_non_null(procs);
	assert_non_null(scratch);
	assert_non_null(uj);
	config_defaults(&cfg);
	random_procs(procs, N, 42);
	t0 = seconds_now();
	attribution_split(&cfg, procs, N, 987654321, false, uj, scratch, &a);
	secs = seconds_now() - t0;
	for (size_t i = 0; i < N; i++)
		sum += uj[i];
	assert_int_equal(sum, 987654321);
	assert_int_equal(a.attributed_uj, 987654321);
	print_message("100k processes split in %.3f s\n", secs);
	assert_true(secs < 1.0);
	free(procs);
	free(scratch);
	free(uj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_score_uses_frequency_and_penalties),
		cmocka_unit_test(test_psys_split_conserves_active_energy_exactly),
		cmocka_unit_test(test_psys_negative_active_gives_nothing),
		cmocka_unit_test(test_model_mode_scores_are_microjoules),
		cmocka_unit_test(test_split_equals_the_old_algorithm),
		cmocka_unit_test(test_split_of_100k_processes_is_fast),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
