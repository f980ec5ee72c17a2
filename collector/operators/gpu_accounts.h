/* SPDX-License-Identifier: MIT */
/*
 * Cumulative per-process GPU energy for the metrics endpoint (docs/gpu.md, docs/metrics.md):
 * each interval, each physical GPU's per-process shares (gpu_sample.procs) are added to
 * the account of (GPU, pid, start time).
 *
 * Bounds: at most max_processes accounts over all GPUs. Each interval a GPU's shares with
 * the most energy enter first while there is room; the rest add to the GPU's "other"
 * account, so Σ accounts + other = Σ shares of each GPU while nothing is dropped. Accounts
 * idle for ACCOUNTS_IDLE_INTERVALS are dropped (their place is free again). A reused PID is
 * a new account (keyed by start time); a pid /proc does not know (another PID namespace,
 * or gone already) is keyed with start 0 and no comm.
 */
#ifndef COLLECTOR_GPU_ACCOUNTS_H
#define COLLECTOR_GPU_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "accounts.h"
#include "../gpu/gpu_calc.h"

#define GPU_ACCOUNTS_MAX_GPUS 64 /* "other" accounts; later GPU indices share the last */

struct gpu_process_account {
	uint32_t gpu; /* physical GPU index */
	uint32_t pid;
	uint64_t start; /* 0: unknown */
	char comm[ACCOUNTS_COMM_LEN];
	uint64_t energy_uj; /* cumulative */
	uint64_t last_seen; /* interval number */
};

struct gpu_other_account {
	uint32_t gpu;
	uint64_t energy_uj;
};

struct gpu_accounts_opts {
	uint32_t max_processes; /* 0: 64 */
	/* as accounts_opts.identify: -ENOENT when no process has that pid */
	int (*identify)(void *ctx, uint32_t tgid, uint64_t *start, char comm[ACCOUNTS_COMM_LEN]);
	void *ctx;
};

struct gpu_accounts;

int gpu_accounts__new(const struct gpu_accounts_opts *opts, struct gpu_accounts **out);
/* One GPU's shares in this interval (call for each GPU, then end_interval). 0 or -ENOMEM. */
int gpu_accounts__add(struct gpu_accounts *a, uint32_t gpu, const struct gpu_proc_energy *procs,
		      size_t n);
/* Drops accounts idle for ACCOUNTS_IDLE_INTERVALS; the next interval begins. */
void gpu_accounts__end_interval(struct gpu_accounts *a);
/* Valid until the next add or end_interval. */
size_t gpu_accounts__processes(const struct gpu_accounts *a,
			       const struct gpu_process_account **out);
size_t gpu_accounts__others(const struct gpu_accounts *a, const struct gpu_other_account **out);
void gpu_accounts__free(struct gpu_accounts *a);

#endif
