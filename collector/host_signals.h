/* SPDX-License-Identifier: MIT */
/*
 * Host-wide signals of one sampling interval (all CPUs, all tasks), as the collector
 * measures them. The synthetic energy source evaluates its reference model on these.
 */
#ifndef HTTP_ENERGY_HOST_SIGNALS_H
#define HTTP_ENERGY_HOST_SIGNALS_H

#include <stdbool.h>
#include <stdint.h>

#define HOST_SIGNALS_MAX_FREQS 64

struct host_freq_runtime {
	uint64_t khz; /* 0: frequency unknown */
	uint64_t runtime_ns;
};

struct host_signals {
	uint64_t duration_ns; /* the interval's length */
	uint64_t runtime_ns; /* on-CPU time of all tasks, summed over CPUs */
	uint64_t wakeups;
	uint64_t migrations;
	uint64_t cycles;
	uint64_t instructions;
	uint64_t cache_misses;
	bool cycles_measured; /* false: no PMU, the counter above means nothing */
	bool instructions_measured;
	bool cache_misses_measured;
	uint64_t page_cache_hits; /* 0 when not measured */
	uint64_t writebacks; /* 0 when not measured */
	/*
	 * runtime_ns split by CPU frequency, at most HOST_SIGNALS_MAX_FREQS entries (merge
	 * the rest). Runtime that no entry covers counts as kHz 0.
	 */
	uint32_t num_freqs;
	struct host_freq_runtime freqs[HOST_SIGNALS_MAX_FREQS];
};

#endif
