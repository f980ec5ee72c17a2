// SPDX-License-Identifier: MIT
#include "gpu_calc.h"

#include <stdbool.h>
#include <stdlib.h>

enum gpu_counter_step gpu_counter_delta(uint64_t last_mj, uint64_t now_mj, uint64_t range_mj,
					uint64_t dt_ns, uint64_t *delta_mj)
{
	unsigned __int128 max_step = (unsigned __int128)GPU_MAX_POWER_MW * dt_ns / 1000000000ULL;
	unsigned __int128 wrapped;

	*delta_mj = 0;
	if (now_mj >= last_mj) {
		*delta_mj = now_mj - last_mj;
		return GPU_COUNTER_OK;
	}
	if (range_mj && last_mj >= range_mj)
		return GPU_COUNTER_RESET; /* a value outside the range: nothing to trust */
	wrapped = (range_mj ? (unsigned __int128)range_mj : (unsigned __int128)1 << 64) - last_mj +
		  now_mj;
	if (wrapped > max_step)
		return GPU_COUNTER_RESET;
	*delta_mj = (uint64_t)wrapped;
	return GPU_COUNTER_WRAP;
}

uint64_t gpu_integrate_uj(uint64_t p0_mw, uint64_t p1_mw, uint64_t dt_ns)
{
	/* mW * ns = 1e-12 J = 1e-6 µJ; the trapezoid halves the sum. */
	unsigned __int128 e = ((unsigned __int128)p0_mw + p1_mw) * dt_ns;

	return (uint64_t)((e + 1000000) / 2000000);
}

struct weight {
	uint32_t pid;
	uint64_t sm, mem;
	uint64_t rem; /* remainder of the share's division */
};

static int cmp_pid(const void *a, const void *b)
{
	uint32_t x = ((const struct weight *)a)->pid, y = ((const struct weight *)b)->pid;

	return x < y ? -1 : x > y;
}

static int cmp_rem_desc(const void *a, const void *b)
{
	const struct weight *x = a, *y = b;

	if (x->rem != y->rem)
		return x->rem > y->rem ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

size_t gpu_split_energy(uint64_t energy_uj, const struct gpu_proc_sample *samples, size_t n,
			struct gpu_proc_energy *out)
{
	struct weight *w;
	unsigned __int128 total_sm = 0, total_mem = 0, total;
	uint64_t given = 0;
	size_t m = 0, k = 0;
	bool by_sm;

	if (!n)
		return 0;
	w = calloc(n, sizeof(*w));
	if (!w)
		return 0; /* unsplit: the caller shows no shares */
	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < m && w[j].pid != samples[i].pid; j++)
			;
		if (j == m)
			w[m++].pid = samples[i].pid;
		w[j].sm += samples[i].sm_util;
		w[j].mem += samples[i].mem_util;
		total_sm += samples[i].sm_util;
		total_mem += samples[i].mem_util;
	}
	by_sm = total_sm > 0;
	total = by_sm ? total_sm : total_mem;
	if (!total)
		goto cleanup;
	for (size_t j = 0; j < m; j++) {
		uint64_t wt = by_sm ? w[j].sm : w[j].mem;
		unsigned __int128 p = (unsigned __int128)energy_uj * wt;

		if (!wt)
			continue;
		w[k] = w[j];
		w[k].sm = (uint64_t)(p / total); /* the share, from here on */
		w[k].rem = (uint64_t)(p % total);
		given += w[k].sm;
		k++;
	}
	qsort(w, k, sizeof(*w), cmp_rem_desc);
	for (size_t j = 0; given < energy_uj && j < k; j++, given++)
		w[j].sm++;
	qsort(w, k, sizeof(*w), cmp_pid);
	for (size_t j = 0; j < k; j++)
		out[j] = (struct gpu_proc_energy){ .pid = w[j].pid, .energy_uj = w[j].sm };
cleanup:
	free(w);
	return k;
}
