// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "cpu_freq.h"

static void test_cpuinfo_parsing(void **state)
{
	const char *text = "processor\t: 0\nmodel name\t: X\ncpu MHz\t\t: 2095.996\n\n"
			   "processor\t: 1\ncpu MHz\t\t: 800.000\n\nprocessor\t: 7\ncpu MHz : 1\n";
	uint32_t khz[2] = { 0, 0 };

	/* processor 7 is beyond ncpus: ignored, never written out of bounds */
	assert_int_equal(cpu_freq_from_cpuinfo(text, khz, 2), 2);
	assert_int_equal(khz[0], 2095996);
	assert_int_equal(khz[1], 800000);
	assert_int_equal(cpu_freq_from_cpuinfo("cpu MHz : 5\n", khz, 2), 0);
	assert_int_equal(cpu_freq_from_cpuinfo("processor : 0\ncpu MHz : abc\n", khz, 2), 0);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_seed_prefers_cpufreq_then_cpuinfo(void **state)
{
	char root[] = "/tmp/test_cpu_freq.XXXXXX", path[256];
	uint32_t khz[2];

	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/proc", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/cpuinfo", root);
	write_file(path, "processor : 0\ncpu MHz : 1000.0\nprocessor : 1\ncpu MHz : 1000.0\n");
	assert_int_equal(cpu_freq_seed(root, khz, 2), CPU_FREQ_CPUINFO);
	assert_int_equal(khz[1], 1000000);

	snprintf(path, sizeof(path), "mkdir -p %s/sys/devices/system/cpu/cpu1/cpufreq", root);
	assert_int_equal(system(path), 0);
	snprintf(path, sizeof(path), "%s/sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq",
		 root);
	write_file(path, "3400000\n");
	assert_int_equal(cpu_freq_seed(root, khz, 2), CPU_FREQ_CPUFREQ);
	assert_int_equal(khz[0], 0); /* no cpufreq for CPU 0: unknown, not guessed */
	assert_int_equal(khz[1], 3400000);

	snprintf(path, sizeof(path), "rm -rf %s", root);
	assert_int_equal(system(path), 0);
	assert_int_equal(cpu_freq_seed(root, khz, 2), CPU_FREQ_UNKNOWN);
	assert_int_equal(khz[0], 0);
}

static void set_cur_freq(const char *root, int cpu, const char *text)
{
	char path[512];

	snprintf(path, sizeof(path), "mkdir -p %s/sys/devices/system/cpu/cpu%d/cpufreq", root, cpu);
	assert_int_equal(system(path), 0);
	snprintf(path, sizeof(path), "%s/sys/devices/system/cpu/cpu%d/cpufreq/scaling_cur_freq",
		 root, cpu);
	write_file(path, text);
}

/* An HWP-like driver: no cpu_frequency events, scaling_cur_freq moves underneath. */
static void test_refresh_rereads_cpus_without_events(void **state)
{
	char root[] = "/tmp/test_cpu_freq.XXXXXX", cmd[256];
	uint32_t khz[3];
	uint64_t events[3] = { 0, 0, 0 }, seen[3] = { 0, 0, 0 };
	bool changed[3];

	assert_non_null(mkdtemp(root));
	set_cur_freq(root, 0, "1200000\n");
	set_cur_freq(root, 1, "1200000\n");
	/* CPU 2 has no cpufreq directory at all */
	assert_int_equal(cpu_freq_seed(root, khz, 3), CPU_FREQ_CPUFREQ);
	assert_int_equal(khz[0], 1200000);
	assert_int_equal(cpu_freq_refresh(root, 3, events, seen, khz, changed), 0);

	set_cur_freq(root, 0, "3100000\n");
	set_cur_freq(root, 1, "2900000\n");
	events[1] = 5; /* CPU 1's tracepoint fired: its event value stands */
	khz[1] = 2000000;
	assert_int_equal(cpu_freq_refresh(root, 3, events, seen, khz, changed), 1);
	assert_true(changed[0]);
	assert_int_equal(khz[0], 3100000);
	assert_false(changed[1]);
	assert_int_equal(khz[1], 2000000);
	assert_int_equal(seen[1], 5);
	assert_false(changed[2]);
	assert_int_equal(khz[2], 0);

	/* next interval: no events anywhere; CPU 1 is re-read now, CPU 0 is unchanged */
	assert_int_equal(cpu_freq_refresh(root, 3, events, seen, khz, changed), 1);
	assert_false(changed[0]);
	assert_true(changed[1]);
	assert_int_equal(khz[1], 2900000);

	set_cur_freq(root, 0, "garbage\n");
	assert_int_equal(cpu_freq_refresh(root, 3, events, seen, khz, changed), 0);
	assert_int_equal(khz[0], 3100000); /* an unreadable value changes nothing */

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuinfo_parsing),
		cmocka_unit_test(test_seed_prefers_cpufreq_then_cpuinfo),
		cmocka_unit_test(test_refresh_rereads_cpus_without_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
