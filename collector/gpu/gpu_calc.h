/* SPDX-License-Identifier: MIT */
/*
 * The pure arithmetic of the GPU source (docs/gpu.md): energy counter deltas with wraps and
 * resets, power integration, and the per-process split of a GPU's interval energy.
 */
#ifndef COLLECTOR_GPU_CALC_H
#define COLLECTOR_GPU_CALC_H

#include <stddef.h>
#include <stdint.h>

/* No GPU draws this much; a counter step above it over an interval is not a wrap. */
#define GPU_MAX_POWER_MW 10000000ULL /* 10 kW */

enum gpu_counter_step {
	GPU_COUNTER_OK, /* now >= last: delta = now - last */
	GPU_COUNTER_WRAP, /* went past the top of its range: delta added back */
	GPU_COUNTER_RESET, /* went back (driver reloaded): delta unknown */
};

/*
 * The mJ a cumulative counter advanced from last to now over dt_ns. range_mj is the
 * counter's modulus (0: 2^64). A reading below the last one is a wrap when the wrapped
 * step fits GPU_MAX_POWER_MW over dt_ns, else a reset (the counter restarted): then
 * *delta_mj is 0 and the caller must not use it.
 */
enum gpu_counter_step gpu_counter_delta(uint64_t last_mj, uint64_t now_mj, uint64_t range_mj,
					uint64_t dt_ns, uint64_t *delta_mj);

/* µJ of a power that went linearly from p0_mw to p1_mw over dt_ns (trapezoid), rounded. */
uint64_t gpu_integrate_uj(uint64_t p0_mw, uint64_t p1_mw, uint64_t dt_ns);

/* One per-process utilisation sample of the driver. */
struct gpu_proc_sample {
	uint32_t pid;
	uint32_t sm_util; /* % */
	uint32_t mem_util; /* % */
};

/* A process's share of a GPU's interval energy. */
struct gpu_proc_energy {
	uint32_t pid;
	uint64_t energy_uj;
};

/*
 * Splits energy_uj among the processes of samples[] (a pid may appear in several samples)
 * in proportion to the sum of each one's SM utilisation; when every SM utilisation is 0,
 * by memory utilisation; when that is 0 too, nobody gets any (returns 0). Shares are
 * rounded down and the µJ left over go one each to the largest remainders (ties: lower
 * pid), so the shares add up to energy_uj exactly. out[] (room for n entries) is sorted by
 * pid and holds only processes with a non-zero weight. Returns the number of entries.
 */
size_t gpu_split_energy(uint64_t energy_uj, const struct gpu_proc_sample *samples, size_t n,
			struct gpu_proc_energy *out);

#endif
