// SPDX-License-Identifier: MIT
/*
 * The synthetic energy source: its reference model, its arithmetic on fed signals and on
 * /proc/stat busy time, its seeded noise, and that it never passes for a measurement.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "capture.h"
#include "config.h"
#include "energy_source.h"
#include "energy_source_impl.h"
#include "es_fixture.h"

#define NONOISE "synthetic:tests/fixtures/synthetic_nonoise.conf"
#define STAT_ROOT "tests/fixtures/sysfs/proc_stat"

static void test_builtin_model_is_the_committed_conf(void **state)
{
	struct energy_config builtin, file;

	es_synthetic_reference_model(&builtin);
	assert_int_equal(config_parse_file("configs/synthetic_host.conf", &file), 0);
	assert_true(config_equal(&builtin, &file));
	assert_int_equal(config_validate(&builtin, "built-in"), 0);
}

static void test_never_passes_for_a_measurement(void **state)
{
	struct fake f = { 0 };
	struct energy_source_opts o = fake_opts(&f, STAT_ROOT);
	struct energy_source *src;

	assert_int_equal(energy_source__open("synthetic", &o, &src), 0);
	assert_string_equal(energy_source__name(src), "synthetic");
	assert_false(energy_source__is_measured(src));
	assert_string_equal(
		energy_source__describe(src),
		"synthetic (a model, NOT a measurement): built-in reference model "
		"(configs/synthetic_host.conf), idle 9500000 uW, noise 120000 uW, seed 1; "
		"busy time from " STAT_ROOT "/proc/stat until the collector feeds signals");
	energy_source__close(src);
}

static void test_model_on_fed_signals(void **state)
{
	struct fake f = { .now_ns = 1000000000 };
	struct energy_source_opts o = fake_opts(&f, STAT_ROOT);
	struct energy_source *src;
	struct interval_signals sig = {
		.t_start_ns = 1000000000,
		.t_end_ns = 1500000000,
		.host = { .runtime_ns = 300000000,
			  .wakeups = 100,
			  .migrations = 10,
			  .pmu = { [PMU_CYCLES] = 1000000, [PMU_CACHE_MISSES] = 400 } },
		.num_freqs = 3,
		.freqs = { { 0, 100000000 }, { 1500000, 100000000 }, { 2500000, 50000000 } },
	};
	struct signals_available av = { .pmu = true };
	uint64_t uj, t;
	/*
	 * idle 2 W * 0.5 s                           1000000
	 * kHz 0: 1e8 ns * 0.004                       400000
	 * 1.5 GHz -> the 1 GHz entry: 1e8 * 0.001     100000
	 * 2.5 GHz -> the 2 GHz entry: 5e7 * 0.003     150000
	 * runtime no entry covers: 5e7 at kHz 0       200000
	 * 100 wakeups * 3 + 10 migrations * 7            370
	 * 1e6 cycles * 0.001 + 400 misses * 0.25        1100
	 */
	const double want = 1851470;

	assert_int_equal(energy_source__open(NONOISE, &o, &src), 0);
	assert_int_equal(energy_source__feed_signals(src, &sig, &av), 0);
	f.now_ns += 500000000;
	assert_int_equal(energy_source__read(src, &uj, &t), 0);
	assert_true(fabs((double)uj - want) <= 1);
	assert_true(t == f.now_ns);

	/* Two feeds before one read add up. */
	assert_int_equal(energy_source__feed_signals(src, &sig, &av), 0);
	assert_int_equal(energy_source__feed_signals(src, &sig, &av), 0);
	f.now_ns += 1000000000;
	assert_int_equal(energy_source__read(src, &uj, &t), 0);
	assert_true(fabs((double)uj - 3 * want) <= 2);

	/* Nobody fed this interval: idle over the clock's time, busy time re-based. */
	f.now_ns += 250000000;
	assert_int_equal(energy_source__read(src, &uj, &t), 0);
	assert_true(fabs((double)uj - (3 * want + 500000)) <= 2);
	energy_source__close(src);
}

static void put_stat(const char *root, uint64_t user, uint64_t system, uint64_t idle, uint64_t irq,
		     uint64_t steal)
{
	char text[256];

	snprintf(text, sizeof(text),
		 "cpu  %llu 0 %llu %llu 77 %llu 0 %llu 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 5\n",
		 (unsigned long long)user, (unsigned long long)system, (unsigned long long)idle,
		 (unsigned long long)irq, (unsigned long long)steal);
	put(root, "proc/stat", text);
}

static void test_proc_stat_busy_time(void **state)
{
	struct fake f = { .now_ns = 1000000000 };
	char root[64], path[128];
	struct energy_source_opts o;
	struct energy_source *src;
	struct capture cap;
	uint64_t uj, t;
	long hz = sysconf(_SC_CLK_TCK);

	scratch_tree("proc_stat", root, sizeof(root));
	o = fake_opts(&f, root);
	put_stat(root, 1000, 300, 50000, 5, 7);
	assert_int_equal(energy_source__open(NONOISE, &o, &src), 0);

	/* 1 s; busy +50 ticks (user 30, system 10, irq 5, steal 5), idle and iowait ignored. */
	put_stat(root, 1030, 310, 50150, 10, 12);
	f.now_ns += 1000000000;
	assert_int_equal(energy_source__read(src, &uj, &t), 0);
	/* 2 W * 1 s + 0.004 uJ/ns (kHz 0) * 50 ticks */
	assert_true(fabs((double)uj - (2e6 + 0.004 * 50 * 1e9 / (double)hz)) <= 1);

	/* An idle second: idle power only. */
	uint64_t before = uj;

	f.now_ns += 1000000000;
	assert_int_equal(energy_source__read(src, &uj, &t), 0);
	assert_true(uj - before == 2000000);

	/* /proc/stat vanishing mid-run is an error, not a silent 0. */
	snprintf(path, sizeof(path), "%s/proc/stat", root);
	unlink(path);
	capture_begin(&cap);
	assert_int_equal(energy_source__read(src, &uj, &t), -ENOENT);
	char want[256];

	snprintf(want, sizeof(want), "%s: energy source synthetic: %s: No such file or directory\n",
		 program_invocation_short_name, path);
	assert_string_equal(capture_end(&cap), want);
	energy_source__close(src);

	/* Without /proc/stat from the start: said once at open, then idle only. */
	capture_begin(&cap);
	assert_int_equal(energy_source__open(NONOISE, &o, &src), 0);
	snprintf(want, sizeof(want),
		 "%s: energy source synthetic: %s: No such file or directory; busy time counts "
		 "as 0 unless the collector feeds signals\n",
		 program_invocation_short_name, path);
	assert_string_equal(capture_end(&cap), want);
	assert_non_null(strstr(energy_source__describe(src), "no busy time"));
	f.now_ns += 3000000000;
	assert_int_equal(energy_source__read(src, &uj, &t), 0);
	assert_true(uj == 6000000);
	energy_source__close(src);
	scratch_remove(root);
}

static uint64_t rng(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

/* Readings after 100 intervals of pseudo-random signals. */
static void run_fed(uint64_t seed, uint64_t *out, size_t n)
{
	struct fake f = { .now_ns = 5 };
	struct energy_source_opts o = fake_opts(&f, STAT_ROOT);
	struct energy_source *src;
	uint64_t s = 12345, t;

	o.seed = seed;
	assert_int_equal(energy_source__open("synthetic", &o, &src), 0);
	for (size_t i = 0; i < n; i++) {
		struct interval_signals sig = { .t_end_ns = 200000000 };
		struct signals_available av = { 0 };

		sig.host.runtime_ns = rng(&s) % 400000000;
		sig.host.wakeups = rng(&s) % 5000;
		sig.host.migrations = rng(&s) % 100;
		assert_int_equal(energy_source__feed_signals(src, &sig, &av), 0);
		f.now_ns += 200000000;
		assert_int_equal(energy_source__read(src, &out[i], &t), 0);
	}
	energy_source__close(src);
}

static void test_deterministic_for_a_seed(void **state)
{
	uint64_t a[100], b[100], c[100];
	bool differs = false;

	run_fed(42, a, 100);
	run_fed(42, b, 100);
	run_fed(43, c, 100);
	assert_memory_equal(a, b, sizeof(a));
	for (int i = 0; i < 100; i++)
		differs |= a[i] != c[i];
	assert_true(differs);
}

static void test_noise_has_the_configured_spread(void **state)
{
	enum { N = 4000 };
	struct fake f = { 0 };
	struct energy_source_opts o = fake_opts(&f, STAT_ROOT);
	struct energy_source *src;
	struct interval_signals idle = { .t_end_ns = 200000000 };
	struct signals_available av = { 0 };
	double sum = 0, sum2 = 0, mean, sd;
	uint64_t prev = 0, uj, t;

	assert_int_equal(energy_source__open("synthetic", &o, &src), 0);
	for (int i = 0; i < N; i++) {
		double p;

		energy_source__feed_signals(src, &idle, &av);
		assert_int_equal(energy_source__read(src, &uj, &t), 0);
		assert_true(uj >= prev); /* cumulative: never backwards */
		p = (double)(uj - prev) / 0.2; /* uW */
		prev = uj;
		sum += p;
		sum2 += p * p;
	}
	mean = sum / N;
	sd = sqrt(sum2 / N - mean * mean);
	print_message("synthetic idle: mean %.0f uW, sd %.0f uW\n", mean, sd);
	/* 9.5 W and 0.12 W: the mean within 4 standard errors, the sd within 5%. */
	assert_true(fabs(mean - 9500000) < 4 * 120000 / sqrt(N) + 10);
	assert_true(fabs(sd - 120000) < 0.05 * 120000);
	energy_source__close(src);
}

static void test_conf_errors_are_said_once(void **state)
{
	struct energy_source *src = NULL;
	struct capture cap;
	char dir[64], path[128], spec[160], want[300];
	FILE *fp;

	capture_begin(&cap);
	assert_true(energy_source__open("synthetic:/nonexistent/model.conf", NULL, &src) < 0);
	snprintf(want, sizeof(want), "%s: /nonexistent/model.conf: No such file or directory\n",
		 program_invocation_short_name);
	assert_string_equal(capture_end(&cap), want);

	scratch_tree(NULL, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/model.conf", dir);
	fp = fopen(path, "w");
	fputs("idle_power_uw = 5\nwakeup_penalty = lots\n", fp);
	fclose(fp);
	snprintf(spec, sizeof(spec), "synthetic:%s", path);
	capture_begin(&cap);
	assert_int_equal(energy_source__open(spec, NULL, &src), -EINVAL);
	snprintf(want, sizeof(want), "%s: %s:2: wakeup_penalty: \"lots\" is not a number\n",
		 program_invocation_short_name, path);
	assert_string_equal(capture_end(&cap), want);
	assert_null(src);

	/* opts->synthetic_conf is the model of a plain "synthetic". */
	struct energy_source_opts o = { .synthetic_conf = "tests/fixtures/synthetic_nonoise.conf",
					.root_dir = STAT_ROOT };

	assert_int_equal(energy_source__open("synthetic", &o, &src), 0);
	assert_non_null(strstr(energy_source__describe(src),
			       "tests/fixtures/synthetic_nonoise.conf, idle 2000000 uW"));
	energy_source__close(src);
	unlink(path);
	scratch_remove(dir);
}

/*
 * Effects the fitted model does not have (issue 17): per page-cache hit, per writeback,
 * and runtime energy scaled by 1 + gain * utilisation (runtime / (duration * CPUs)).
 */
/* Without a PMU the counters mean nothing: no cycles, instructions or cache-miss term. */
static void test_no_pmu_no_counter_terms(void **state)
{
	struct fake f = { .now_ns = 1000000000 };
	struct energy_source_opts o = fake_opts(&f, STAT_ROOT);
	struct energy_source *src;
	struct interval_signals sig = {
		.t_end_ns = 500000000,
		.host = { .pmu = { 1000000, 2000000, 400 } },
	};
	struct signals_available av = { .pmu = false };
	uint64_t uj, t;

	assert_int_equal(energy_source__open(NONOISE, &o, &src), 0);
	assert_int_equal(energy_source__feed_signals(src, &sig, &av), 0);
	f.now_ns += 500000000;
	assert_int_equal(energy_source__read(src, &uj, &t), 0);
	assert_true(fabs((double)uj - 1000000) <= 1); /* idle 2 W * 0.5 s only */
	energy_source__close(src);
}

static void test_unmodelled_effects(void **state)
{
	char path[] = "/tmp/test_synth_extra.XXXXXX", spec[64];
	FILE *f;
	int fd = mkstemp(path);
	struct fake fk = { .now_ns = 1000000000 };
	struct energy_source_opts o = fake_opts(&fk, STAT_ROOT);
	struct energy_source *src;
	struct interval_signals sig = {
		.t_end_ns = 500000000,
		.host = { .runtime_ns = 300000000,
			  .wakeups = 100,
			  .page_cache_hits = 10000,
			  .writebacks = 300 },
		.num_freqs = 1,
		.freqs = { { 1000000, 300000000 } },
		/* A feature of the table's host block: the model evaluates it like the rest. */
		.softirqs = { .valid = true, .count = { [SOFTIRQ_NET_RX] = 1000 } },
	};
	struct signals_available av = { .page_cache = true, .writebacks = true };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	double util, want;
	uint64_t uj, t;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "attribution_mode = model\nenergy_source = synthetic\nidle_power_uw = 0\n"
		   "wakeup_penalty = 3\nfreq_khz = 1000000 0.001\n"
		   "synthetic_page_cache_hit_uj = 0.5\nsynthetic_writeback_uj = 2\n"
		   "synthetic_util_gain = 0.1\nsoftirq_net_rx_weight = 0.25\n");
	fclose(f);
	snprintf(spec, sizeof(spec), "synthetic:%s", path);
	/* From this host: the CPU count sets the utilisation. */
	util = 300000000.0 / (500000000.0 * (double)(cpus < 1 ? 1 : cpus));
	if (util > 1)
		util = 1;
	want = 300000000 * 0.001 * (1 + 0.1 * util) + 10000 * 0.5 + 300 * 2 + 100 * 3 + 1000 * 0.25;
	assert_int_equal(energy_source__open(spec, &o, &src), 0);
	assert_int_equal(energy_source__feed_signals(src, &sig, &av), 0);
	fk.now_ns += 500000000;
	assert_int_equal(energy_source__read(src, &uj, &t), 0);
	assert_true(fabs((double)uj - want) <= 1);
	energy_source__close(src);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_model_is_the_committed_conf),
		cmocka_unit_test(test_never_passes_for_a_measurement),
		cmocka_unit_test(test_model_on_fed_signals),
		cmocka_unit_test(test_no_pmu_no_counter_terms),
		cmocka_unit_test(test_unmodelled_effects),
		cmocka_unit_test(test_proc_stat_busy_time),
		cmocka_unit_test(test_deterministic_for_a_seed),
		cmocka_unit_test(test_noise_has_the_configured_spread),
		cmocka_unit_test(test_conf_errors_are_said_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
