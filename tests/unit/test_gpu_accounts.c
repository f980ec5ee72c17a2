// SPDX-License-Identifier: MIT
/* collector/operators/gpu_accounts.c: per-process GPU energy, bounded, PID reuse not merged. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "gpu_accounts.h"

/* pid 9 does not exist; pid 7's start time is whatever *ctx says (PID reuse). */
static int identify(void *ctx, uint32_t tgid, uint64_t *start, char comm[ACCOUNTS_COMM_LEN])
{
	if (tgid == 9)
		return -ENOENT;
	*start = tgid == 7 ? *(uint64_t *)ctx : 100 + tgid;
	snprintf(comm, ACCOUNTS_COMM_LEN, "p%u", tgid);
	return 0;
}

static const struct gpu_process_account *find(const struct gpu_accounts *a, uint32_t gpu,
					      uint32_t pid, uint64_t start)
{
	const struct gpu_process_account *p;
	size_t n = gpu_accounts__processes(a, &p);

	for (size_t i = 0; i < n; i++)
		if (p[i].gpu == gpu && p[i].pid == pid && p[i].start == start)
			return &p[i];
	return NULL;
}

static uint64_t other(const struct gpu_accounts *a, uint32_t gpu)
{
	const struct gpu_other_account *o;
	size_t n = gpu_accounts__others(a, &o);

	for (size_t i = 0; i < n; i++)
		if (o[i].gpu == gpu)
			return o[i].energy_uj;
	return UINT64_MAX; /* no series */
}

static void test_sums_and_keys(void **state)
{
	uint64_t start7 = 500;
	struct gpu_accounts_opts o = { .max_processes = 8, .identify = identify, .ctx = &start7 };
	struct gpu_proc_energy g0[] = { { 7, 30 }, { 9, 5 } }, g1[] = { { 7, 11 } };
	struct gpu_accounts *a;
	const struct gpu_process_account *p;

	assert_int_equal(gpu_accounts__new(&o, &a), 0);
	assert_int_equal(gpu_accounts__add(a, 0, g0, 2), 0);
	assert_int_equal(gpu_accounts__add(a, 1, g1, 1), 0);
	gpu_accounts__end_interval(a);
	assert_int_equal(gpu_accounts__add(a, 0, g0, 2), 0);
	gpu_accounts__end_interval(a);
	p = find(a, 0, 7, 500);
	assert_non_null(p);
	assert_int_equal(p->energy_uj, 60);
	assert_string_equal(p->comm, "p7");
	assert_int_equal(find(a, 1, 7, 500)->energy_uj, 11); /* per GPU */
	p = find(a, 0, 9, 0); /* unknown to /proc: start 0, no comm */
	assert_non_null(p);
	assert_int_equal(p->energy_uj, 10);
	assert_string_equal(p->comm, "");
	assert_int_equal(other(a, 0), 0);
	assert_int_equal(other(a, 1), 0);
	assert_int_equal(other(a, 2), UINT64_MAX);
	/* pid 7 reused: a new account, the old one keeps its total */
	start7 = 900;
	assert_int_equal(gpu_accounts__add(a, 0, g0, 1), 0);
	assert_int_equal(find(a, 0, 7, 900)->energy_uj, 30);
	assert_int_equal(find(a, 0, 7, 500)->energy_uj, 60);
	gpu_accounts__free(a);
}

/* Over the bound: the biggest shares of the interval get accounts, the rest go to their
 * GPU's other; Σ accounts + other = Σ shares. Idle accounts go and free their place. */
static void test_bound_and_idle(void **state)
{
	uint64_t start7 = 1;
	struct gpu_accounts_opts o = { .max_processes = 2, .identify = identify, .ctx = &start7 };
	struct gpu_proc_energy s[] = { { 1, 10 }, { 2, 40 }, { 3, 30 }, { 4, 0 } };
	struct gpu_proc_energy late[] = { { 5, 1 } };
	struct gpu_accounts *a;
	const struct gpu_process_account *p;

	assert_int_equal(gpu_accounts__new(&o, &a), 0);
	assert_int_equal(gpu_accounts__add(a, 3, s, 4), 0);
	assert_non_null(find(a, 3, 2, 102));
	assert_non_null(find(a, 3, 3, 103));
	assert_null(find(a, 3, 1, 101));
	assert_null(find(a, 3, 4, 104)); /* nothing: no account */
	assert_int_equal(other(a, 3), 10);
	for (int i = 0; i < ACCOUNTS_IDLE_INTERVALS; i++)
		gpu_accounts__end_interval(a);
	assert_int_equal(gpu_accounts__processes(a, &p), 2);
	assert_int_equal(gpu_accounts__add(a, 3, late, 1), 0);
	assert_int_equal(other(a, 3), 11); /* still full */
	gpu_accounts__end_interval(a);
	assert_int_equal(gpu_accounts__processes(a, &p), 0); /* idle for 50: dropped */
	assert_int_equal(gpu_accounts__add(a, 3, late, 1), 0);
	assert_int_equal(find(a, 3, 5, 105)->energy_uj, 1);
	gpu_accounts__free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sums_and_keys),
		cmocka_unit_test(test_bound_and_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
