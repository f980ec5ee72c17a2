// SPDX-License-Identifier: MIT
/*
 * gpu_source under ASan/UBSan against the fake NVML (tests/fake_gpu/), found through this
 * binary's RUNPATH (collector/gpu/gpu.mk). The end-to-end rows are tests/integration/test_gpu.sh.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "gpu_source.h"

#define MS 1000000ULL
#define V(s, m) ((s)->v[m])
#define HAS(s, m) (((s)->valid >> (m)) & 1)

static char script_path[] = "/tmp/test_gpu_source.XXXXXX";

/* GPU 0: counter, wraps at boundary 2, power unsupported; 1 MIG instance. GPU 1: no
 * counter (integrated), processes split, lost at boundary 3. */
static const char script[] = "gpu 0 GPU-a\n"
			     "gpu 1 GPU-b\n"
			     "mig 0 3 9 MIG-a\n"
			     "b 0 0 18446744073709551000 NS 1 2 3 4 50 100 1000 1500 7000\n"
			     "b 1 0 18446744073709551500 NS 1 2 3 4 50 100 1000 1500 7000\n"
			     "b 2 0 400 NS 1 2 3 4 50 100 1000 1500 7000\n"
			     "b 3 0 900 NS 1 2 3 4 ERR 100 1000 1500 7000\n"
			     "b 0 1 NS 100000 5 6 7 8 60 200 2000 1600 7100\n"
			     "b 1 1 NS 300000 5 6 7 8 60 200 2000 1600 7100\n"
			     "b 2 1 NS 100000 5 6 NS 8 60 200 2000 1600 7100\n"
			     "b 3 1 LOST LOST LOST LOST LOST LOST LOST LOST LOST LOST LOST\n"
			     "mb 0 0 3 10 20\nmb 1 0 3 11 20\nmb 2 0 3 12 20\nmb 3 0 3 ERR ERR\n"
			     "p 0 1 1:1:1\np 1 1 7:30:0,9:10:0\np 2 1 -\n";

static int setup(void **state)
{
	int fd = mkstemp(script_path);

	if (fd < 0 || write(fd, script, sizeof(script) - 1) != (ssize_t)sizeof(script) - 1)
		return -1;
	close(fd);
	setenv("HTTP_ENERGY_FAKE_GPU_SCRIPT", script_path, 1);
	return 0;
}

static int teardown(void **state)
{
	unlink(script_path);
	return 0;
}

static void test_kinds(void **state)
{
	struct gpu_source *g = (struct gpu_source *)1;

	/* --gpu parses by these (common/options.h, OPT_CHOICE): index = enum value. */
	assert_string_equal(gpu_kind_names[GPU_KIND_DCGM], "dcgm");
	assert_null(gpu_kind_names[GPU_KIND_NONE + 1]);
	assert_string_equal(gpu_kind_name(GPU_KIND_NONE), "none");
	assert_int_equal(gpu_source__open(GPU_KIND_NONE, NULL, &g), 0);
	assert_null(g);
	/* No fake DCGM on this binary's RUNPATH: an explicit dcgm is an error. */
	assert_int_equal(gpu_source__open(GPU_KIND_DCGM, NULL, &g), -ENODEV);
	assert_null(g);
}

static void test_intervals_over_the_fake_nvml(void **state)
{
	const struct gpu_sample *s;
	struct gpu_source *g;
	uint64_t total = 0;

	assert_int_equal(gpu_source__open(GPU_KIND_AUTO, NULL, &g), 0);
	assert_non_null(g);
	assert_string_equal(gpu_source__name(g), "nvml");
	assert_int_equal(gpu_source__begin(g, 1000 * MS), 0);

	/* Interval 0: counter +500 mJ; GPU 1 integrated 100 -> 300 W over 100 ms = 20 J. */
	assert_int_equal(gpu_source__sample(g, 1000 * MS, 1100 * MS), 0);
	assert_int_equal(gpu_source__samples(g, &s), 3);
	assert_string_equal(s[0].uuid, "GPU-a");
	assert_int_equal(s[1].mig_instance, 9);
	assert_string_equal(s[1].uuid, "MIG-a");
	assert_string_equal(s[2].uuid, "GPU-b");
	assert_true(HAS(&s[0], GPU_M_ENERGY_UJ) && V(&s[0], GPU_M_ENERGY_UJ) == 500000);
	assert_int_equal(s[0].method, GPU_ENERGY_COUNTER);
	assert_false(HAS(&s[0], GPU_M_POWER_MW));
	assert_int_equal(V(&s[0], GPU_M_TEMPERATURE_C), 50);
	assert_int_equal(s[1].valid,
			 (1u << GPU_M_MEMORY_USED_BYTES) | (1u << GPU_M_MEMORY_TOTAL_BYTES));
	assert_int_equal(V(&s[1], GPU_M_MEMORY_USED_BYTES), 11);
	assert_int_equal(V(&s[2], GPU_M_ENERGY_UJ), 20000000);
	assert_int_equal(s[2].method, GPU_ENERGY_INTEGRATED);
	assert_true(s[2].procs_valid);
	assert_int_equal(s[2].num_procs, 2);
	assert_int_equal(s[2].procs[0].pid, 7);
	assert_int_equal(s[2].procs[0].energy_uj, 15000000);
	assert_int_equal(s[2].procs[1].energy_uj, 5000000);
	assert_false(s[0].procs_valid); /* GPU 0 has no process utilisation */
	assert_true(gpu_source__total_uj(g, &total));
	assert_int_equal(total, 20500000);

	/* Interval 1: GPU 0 wraps (2^64 - 1500 + 400 = 516 mJ); nothing ran on GPU 1. */
	assert_int_equal(gpu_source__sample(g, 1100 * MS, 1200 * MS), 0);
	gpu_source__samples(g, &s);
	assert_int_equal(V(&s[0], GPU_M_ENERGY_UJ), 516000);
	assert_int_equal(V(&s[2], GPU_M_ENERGY_UJ), 20000000);
	assert_false(HAS(&s[2], GPU_M_ENC_UTIL));
	assert_true(s[2].procs_valid);
	assert_int_equal(s[2].num_procs, 0);

	/* Interval 2: GPU 1 lost: its row is empty, the sum unknown; temperature missing. */
	assert_int_equal(gpu_source__sample(g, 1200 * MS, 1300 * MS), 0);
	gpu_source__samples(g, &s);
	assert_true(s[2].lost);
	assert_int_equal(s[2].valid, 0);
	assert_false(HAS(&s[0], GPU_M_TEMPERATURE_C));
	assert_int_equal(V(&s[0], GPU_M_ENERGY_UJ), 500000);
	assert_int_equal(s[1].valid, 0);
	assert_false(gpu_source__total_uj(g, &total));

	/* Interval 3: past the script: every read fails; nothing is repeated as new. */
	assert_int_equal(gpu_source__sample(g, 1300 * MS, 1400 * MS), 0);
	gpu_source__samples(g, &s);
	assert_int_equal(s[0].valid, 0);
	assert_true(s[2].lost);
	assert_false(gpu_source__total_uj(g, &total));
	gpu_source__close(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_intervals_over_the_fake_nvml),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
