/* SPDX-License-Identifier: MIT */
/*
 * Energy sources: one interface over the ways a host can tell its energy use
 * (docs/energy-sources.md).
 *
 *   psys, rapl        perf power PMU (type, event and scale from sysfs), system-wide
 *   powercap          /sys/class/powercap/intel-rapl:N (psys zone, else packages)
 *   hwmon             /sys/class/hwmon/hwmonN/energyM_input
 *   replay:FILE       a "t_ns,energy_uj" CSV trace, replayed in real time
 *   synthetic[:CONF]  a reference model (not a measurement) plus seeded noise
 *   auto              the first of psys, rapl, powercap, hwmon that opens
 *
 * Every sysfs and /proc path is read below opts->root_dir, so tests point sources at fake
 * trees. Errors are printed once, by these functions, as
 * "PROGRAM: energy source NAME: WHAT: WHY"; auto prints one line per source it rejects.
 */
#ifndef HTTP_ENERGY_ENERGY_SOURCE_H
#define HTTP_ENERGY_ENERGY_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "../signals_api.h" /* struct interval_signals */

struct energy_source;

struct energy_source_opts {
	const char *root_dir; /* NULL or "" = "/" */
	uint64_t seed; /* synthetic noise */
	/* Model of a plain "synthetic"; NULL = the built-in reference model, which is
	 * configs/synthetic_host.conf (a unit test keeps the two equal). */
	const char *synthetic_conf;
	/* Test hooks; NULL means the real thing. */
	uint64_t (*clock_ns)(void *ctx); /* CLOCK_MONOTONIC */
	/* perf_event_open(2) of {type, config} system-wide on cpu: an fd or -errno. */
	int (*perf_open)(void *ctx, uint32_t type, uint64_t config, int cpu);
	void *hook_ctx;
};

/*
 * The names the collector knows: psys, rapl, powercap, hwmon, replay:FILE,
 * synthetic[:CONF], auto. 0, or -EINVAL with *why set to a static reason.
 */
int energy_source_check(const char *spec, const char **why);
/* spec as in energy_model.conf's energy_source; opts may be NULL. 0 or -errno. */
int energy_source__open(const char *spec, const struct energy_source_opts *opts,
			struct energy_source **out);
/*
 * Cumulative energy in µJ (from an arbitrary origin: only differences mean anything) and
 * the CLOCK_MONOTONIC time it belongs to. Counter wraps are handled and logged; a counter
 * that goes backwards, a file that vanished or a replay past its end is an error.
 */
int energy_source__read(struct energy_source *src, uint64_t *energy_uj, uint64_t *t_ns);
/*
 * The interval's host-wide signals (sig->host, freqs, softirqs) and what this host
 * measures, fed before each read. Only synthetic uses them (it falls back to /proc/stat
 * busy time when nobody feeds it); the others ignore them.
 */
int energy_source__feed_signals(struct energy_source *src, const struct interval_signals *sig,
				const struct signals_available *av);

/* "psys", "rapl", "powercap", "hwmon", "replay" or "synthetic" (never "auto"). */
const char *energy_source__name(const struct energy_source *src);
/* One line: what was found (files, PMU type/config/scale, zones, model). */
const char *energy_source__describe(const struct energy_source *src);
/* false for synthetic: its numbers are a model, not a measurement. */
bool energy_source__is_measured(const struct energy_source *src);
void energy_source__close(struct energy_source *src);

#endif
