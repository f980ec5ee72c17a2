/* SPDX-License-Identifier: MIT */
/*
 * Bounded cumulative energy accounts per cgroup and per process, for the metrics endpoint
 * and the cgroup CSV (docs/metrics.md). Each interval the attributed µJ of every process
 * entry (tgid, kHz, cgroup) is added to its cgroup and its process.
 *
 * Bounds: at most max_cgroups cgroups and max_processes processes have their own account;
 * the rest add to an "other" account of each kind, so Σ accounts + other = Σ attributed in
 * every interval. A process's account is keyed by (tgid, start time): a reused PID is a new
 * process. Accounts of processes that exited, and of cgroups removed and idle for
 * ACCOUNTS_IDLE_INTERVALS, are pruned. Processes enter by their energy in the interval
 * (the top max_processes of it); when the table is full, the least recently seen account
 * idle for ACCOUNTS_IDLE_INTERVALS gives up its place.
 */
#ifndef COLLECTOR_ACCOUNTS_H
#define COLLECTOR_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s_meta.h"
#include "../signals_api.h"

#define ACCOUNTS_IDLE_INTERVALS 50
#define ACCOUNTS_COMM_LEN 16

struct accounts_opts {
	uint32_t max_cgroups;
	uint32_t max_processes;
	/* The process now at tgid: start time (any unit that differs between two processes
	 * that had the same PID) and comm. -ENOENT when no process has that PID. */
	int (*identify)(void *ctx, uint32_t tgid, uint64_t *start, char comm[ACCOUNTS_COMM_LEN]);
	/* A cgroup id's path below the cgroup2 mount, NULL if none. */
	const char *(*cgroup_path)(void *ctx, uint64_t id);
	void *ctx;
};

struct cgroup_account {
	uint64_t id;
	char *path; /* NULL: never named (removed before a walk saw it) */
	struct k8s_meta k8s;
	uint64_t energy_uj; /* cumulative */
	uint64_t runtime_ns;
	uint64_t interval_uj; /* the last interval */
	uint64_t interval_runtime_ns;
	uint64_t last_seen; /* interval number */
};

struct process_account {
	uint32_t tgid;
	uint64_t start;
	char comm[ACCOUNTS_COMM_LEN];
	uint64_t cgroup_id; /* where it ran most, in the interval it entered */
	uint64_t energy_uj;
	uint64_t runtime_ns;
	uint64_t last_seen;
};

struct accounts_other {
	uint64_t energy_uj; /* cumulative */
	uint64_t runtime_ns;
	uint64_t interval_uj;
	uint64_t interval_runtime_ns;
};

struct accounts;

int accounts__new(const struct accounts_opts *opts, struct accounts **out);
/* One interval: uj[i] is the µJ attributed to procs[i]. 0 or -ENOMEM. */
int accounts__add_interval(struct accounts *a, const struct proc_interval *procs,
			   const uint64_t *uj, size_t n);
/* The accounts, in no particular order; valid until the next add. */
size_t accounts__cgroups(const struct accounts *a, const struct cgroup_account **out);
size_t accounts__processes(const struct accounts *a, const struct process_account **out);
const struct accounts_other *accounts__other_cgroups(const struct accounts *a);
const struct accounts_other *accounts__other_processes(const struct accounts *a);
uint64_t accounts__pruned_processes(const struct accounts *a);
uint64_t accounts__pruned_cgroups(const struct accounts *a);
void accounts__free(struct accounts *a);

#endif
