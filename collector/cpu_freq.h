/* SPDX-License-Identifier: MIT */
/*
 * Each CPU's frequency at start-up, before any cpu_frequency event: cpufreq's
 * scaling_cur_freq, else /proc/cpuinfo's "cpu MHz", else 0 (unknown). Paths are read
 * below root so tests can use fake trees.
 */
#ifndef COLLECTOR_CPU_FREQ_H
#define COLLECTOR_CPU_FREQ_H

#include <stdbool.h>
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

/* One CPU's cpufreq scaling_cur_freq below root: 0 and *khz, or a negative errno. */
int cpu_freq_read_cur(const char *root, int cpu, uint32_t *khz);

/*
 * Once per interval, for drivers that emit no cpu_frequency events (HWP/EPP and other
 * hardware-managed P-states): every CPU whose event count did not move since the last call
 * (events[cpu] == seen[cpu]) has its scaling_cur_freq re-read, and where that differs from
 * khz[cpu] it is stored there and changed[cpu] is set. A CPU whose events did fire keeps
 * what they said. seen[] becomes events[]. Returns the number of CPUs changed.
 */
int cpu_freq_refresh(const char *root, int ncpus, const uint64_t *events, uint64_t *seen,
		     uint32_t *khz, bool *changed);

/* Parses /proc/cpuinfo text: "processor : N" blocks with "cpu MHz : F". Pure. */
int cpu_freq_from_cpuinfo(const char *text, uint32_t *khz, int ncpus);

const char *cpu_freq_origin_name(enum cpu_freq_origin origin);

#endif
