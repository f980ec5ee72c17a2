/* SPDX-License-Identifier: MIT */
/*
 * Each CPU's frequency at start-up, before any cpu_frequency event: cpufreq's
 * scaling_cur_freq, else /proc/cpuinfo's "cpu MHz", else 0 (unknown). Paths are read
 * below root so tests can use fake trees.
 */
#ifndef COLLECTOR_CPU_FREQ_H
#define COLLECTOR_CPU_FREQ_H

#include <stdint.h>

enum cpu_freq_origin {
	CPU_FREQ_UNKNOWN,
	CPU_FREQ_CPUFREQ,
	CPU_FREQ_CPUINFO,
};

/*
 * Fills khz[0 .. ncpus) and returns where the values came from (the best source that
 * gave any CPU a value).
 */
enum cpu_freq_origin cpu_freq_seed(const char *root, uint32_t *khz, int ncpus);

/* Parses /proc/cpuinfo text: "processor : N" blocks with "cpu MHz : F". Pure. */
int cpu_freq_from_cpuinfo(const char *text, uint32_t *khz, int ncpus);

const char *cpu_freq_origin_name(enum cpu_freq_origin origin);

#endif
