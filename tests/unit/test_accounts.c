// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "accounts.h"

/* A fake host: start time per PID (0: no such process), and which cgroup ids exist. */
struct host {
	uint64_t start[64];
	bool cgroup_gone[64];
};

static int identify(void *ctx, uint32_t tgid, uint64_t *start, char comm[ACCOUNTS_COMM_LEN])
{
	struct host *h = ctx;

	if (tgid >= 64 || !h->start[tgid])
		return -ENOENT;
	*start = h->start[tgid];
	snprintf(comm, ACCOUNTS_COMM_LEN, "p%u", tgid);
	return 0;
}

static const char *cgroup_path(void *ctx, uint64_t id)
{
	static char buf[64];
	struct host *h = ctx;

	if (id >= 64 || h->cgroup_gone[id])
		return NULL;
	snprintf(buf, sizeof(buf), "/cg%llu", (unsigned long long)id);
	return buf;
}

static struct proc_interval entry(uint32_t tgid, uint64_t cgroup, uint64_t runtime_ns)
{
	struct proc_interval p = { .tgid = tgid, .cgroup_id = cgroup };

	p.s.runtime_ns = runtime_ns;
	return p;
}

static struct accounts *make(struct host *h, uint32_t max_cgroups, uint32_t max_processes)
{
	struct accounts_opts o = { .max_cgroups = max_cgroups, .max_processes = max_processes,
				   .identify = identify, .cgroup_path = cgroup_path, .ctx = h };
	struct accounts *a;

	assert_int_equal(accounts__new(&o, &a), 0);
	return a;
}

static uint64_t sum_cgroups(struct accounts *a, bool interval)
{
	const struct cgroup_account *c;
	size_t n = accounts__cgroups(a, &c);
	uint64_t s = interval ? accounts__other_cgroups(a)->interval_uj
			      : accounts__other_cgroups(a)->energy_uj;

	for (size_t i = 0; i < n; i++)
		s += interval ? c[i].interval_uj : c[i].energy_uj;
	return s;
}

static uint64_t sum_processes(struct accounts *a)
{
	const struct process_account *p;
	size_t n = accounts__processes(a, &p);
	uint64_t s = accounts__other_processes(a)->energy_uj;

	for (size_t i = 0; i < n; i++)
		s += p[i].energy_uj;
	return s;
}

static void test_conservation_with_bounds(void **state)
{
	struct host h = { .start = { [1] = 5, [2] = 5, [3] = 5, [4] = 5 } };
	struct accounts *a = make(&h, 2, 2);
	struct proc_interval procs[] = { entry(1, 10, 100), entry(2, 11, 200), entry(3, 12, 300),
					 entry(4, 12, 50), entry(1, 10, 10) };
	uint64_t uj[] = { 1000, 2000, 3000, 500, 7 };
	const struct cgroup_account *c;
	const struct process_account *p;

	assert_int_equal(accounts__add_interval(a, procs, uj, 5), 0);
	/* cgroups 10 and 11 came first; 12 is over the bound */
	assert_int_equal(accounts__cgroups(a, &c), 2);
	assert_int_equal(accounts__other_cgroups(a)->interval_uj, 3500);
	assert_int_equal(sum_cgroups(a, true), 6507);
	assert_string_equal(c[0].path, "/cg10");
	assert_int_equal(c[0].energy_uj, 1007);
	assert_int_equal(c[0].runtime_ns, 110);
	/* the top two processes this interval: 3 (3000) and 2 (2000) */
	assert_int_equal(accounts__processes(a, &p), 2);
	assert_true((p[0].tgid == 3 && p[1].tgid == 2) || (p[0].tgid == 2 && p[1].tgid == 3));
	assert_int_equal(accounts__other_processes(a)->energy_uj, 1507);
	assert_int_equal(sum_processes(a), 6507);
	/* a second interval keeps adding up */
	assert_int_equal(accounts__add_interval(a, procs, uj, 5), 0);
	assert_int_equal(sum_cgroups(a, false), 2 * 6507);
	assert_int_equal(sum_processes(a), 2 * 6507);
	accounts__free(a);
}

static void test_pid_reuse_not_merged(void **state)
{
	struct host h = { .start = { [7] = 100 } };
	struct accounts *a = make(&h, 8, 8);
	struct proc_interval procs[] = { entry(7, 1, 100) };
	uint64_t uj[] = { 40 };
	const struct process_account *p;

	assert_int_equal(accounts__add_interval(a, procs, uj, 1), 0);
	h.start[7] = 200; /* PID 7 exited and was reused */
	uj[0] = 5;
	assert_int_equal(accounts__add_interval(a, procs, uj, 1), 0);
	assert_int_equal(accounts__processes(a, &p), 1);
	assert_int_equal(p[0].start, 200);
	assert_int_equal(p[0].energy_uj, 5);
	assert_int_equal(accounts__pruned_processes(a), 1);
	accounts__free(a);
}

static void test_exited_pruned_and_short_lived_to_other(void **state)
{
	struct host h = { .start = { [3] = 1 } };
	struct accounts *a = make(&h, 8, 8);
	struct proc_interval procs[] = { entry(3, 1, 100), entry(9, 1, 100) };
	uint64_t uj[] = { 10, 20 };
	const struct process_account *p;

	assert_int_equal(accounts__add_interval(a, procs, uj, 2), 0);
	/* 9 was gone before the interval ended: its energy is in "other" */
	assert_int_equal(accounts__processes(a, &p), 1);
	assert_int_equal(accounts__other_processes(a)->energy_uj, 20);
	h.start[3] = 0;
	assert_int_equal(accounts__add_interval(a, NULL, NULL, 0), 0);
	assert_int_equal(accounts__processes(a, &p), 0);
	assert_int_equal(accounts__pruned_processes(a), 1);
	accounts__free(a);
}

static void test_removed_cgroup_pruned_after_idle(void **state)
{
	struct host h = { 0 };
	struct accounts *a = make(&h, 8, 8);
	struct proc_interval procs[] = { entry(1, 20, 100), entry(1, 21, 100) };
	uint64_t uj[] = { 10, 20 };
	const struct cgroup_account *c;

	assert_int_equal(accounts__add_interval(a, procs, uj, 2), 0);
	h.cgroup_gone[20] = true;
	for (int i = 0; i < ACCOUNTS_IDLE_INTERVALS - 1; i++)
		assert_int_equal(accounts__add_interval(a, NULL, NULL, 0), 0);
	assert_int_equal(accounts__cgroups(a, &c), 2);
	assert_int_equal(accounts__add_interval(a, NULL, NULL, 0), 0);
	assert_int_equal(accounts__cgroups(a, &c), 1); /* 21 still exists */
	assert_int_equal(c[0].id, 21);
	assert_int_equal(accounts__pruned_cgroups(a), 1);
	accounts__free(a);
}

static void test_kubernetes_labels(void **state)
{
	struct host h = { 0 };
	struct accounts *a = make(&h, 8, 8);
	struct proc_interval procs[] = { entry(1, 5, 100) };
	uint64_t uj[] = { 1 };
	const struct cgroup_account *c;

	assert_int_equal(accounts__add_interval(a, procs, uj, 1), 0);
	assert_int_equal(accounts__cgroups(a, &c), 1);
	assert_string_equal(c[0].k8s.pod_uid, ""); /* "/cg5" is no pod */
	accounts__free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conservation_with_bounds),
		cmocka_unit_test(test_pid_reuse_not_merged),
		cmocka_unit_test(test_exited_pruned_and_short_lived_to_other),
		cmocka_unit_test(test_removed_cgroup_pruned_after_idle),
		cmocka_unit_test(test_kubernetes_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
