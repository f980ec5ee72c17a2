/* SPDX-License-Identifier: MIT */
/*
 * The host-wide signals collector: the user side of signals.bpf.c. It cuts the kernel's
 * counters into intervals that end exactly at the boundaries. The object is loaded and
 * attached by bpf_loader.h; this module gets the loaded maps (struct signals_handles) and
 * never sees the skeleton.
 *
 *   signals__open()   buffers and PMU counters (before the object is loaded)
 *   signals__bind()   after load, before attach: fill the PMU arrays, seed each
 *                            CPU's kHz
 *   signals__begin()  after attach: start the first interval
 *   signals__cut()    end the interval now; fills *out with everything charged in it
 *   signals__close()  free everything (the loader detaches)
 */
#ifndef COLLECTOR_SIGNALS_API_H
#define COLLECTOR_SIGNALS_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signals.h" /* bpf/: shared with the BPF side */
#include "softirqs.h"

#define SIGNALS_MAX_FREQS MODEL_MAX_FREQS /* distinct kHz values reported per interval */
#define SIGNALS_OVERFLOW_ENTRIES 8 /* kHz values of the process-map overflow bucket */
#define SIGNALS_DEFAULT_MAX_PROCS 8192 /* process map entries per interval */

struct signals_opts {
	uint32_t max_procs;	/* process map entries per interval; 0: the default */
	const char *root;	/* below which sysfs and procfs are read; NULL: "/" */
	/*
	 * Called at every cut (the first one inside signals__begin too) right after the
	 * boundary's timestamp is taken (t_ns, which becomes t_end_ns) and before any CPU is
	 * flushed: to read a meter at the boundary itself. An error fails the cut. May be NULL.
	 */
	int (*at_cut)(void *ctx, uint64_t t_ns);
	void *at_cut_ctx;
	/* Called after a cut for each CPU whose kHz was re-read as changed (scaling_cur_freq,
	 * where cpu_frequency events do not come); cpu_khz is already updated. May be NULL. */
	void (*on_freq_change)(void *ctx, uint32_t cpu, uint32_t khz);
	void *on_freq_change_ctx;
};

/* Which signals this kernel and host can measure; the others are empty CSV cells. */
struct signals_available {
	bool pmu;	   /* cycles, instructions, cache_misses */
	bool irq;
	bool softirq;
	bool page_cache;   /* page_cache_hits */
	bool writebacks;
	bool cpu_frequency; /* frequency changes are followed (else the seed values hold) */
};

struct freq_runtime {
	uint32_t khz;
	uint64_t runtime_ns;
};

struct proc_interval {
	uint32_t tgid;
	uint32_t khz;
	uint64_t cgroup_id; /* the cgroup2 id (directory inode) the process ran in */
	struct proc_signals s;
};

struct interval_signals {
	uint64_t t_start_ns; /* CLOCK_MONOTONIC */
	uint64_t t_end_ns;
	struct cpu_signals host; /* summed over CPUs; host.freq is not used */
	size_t num_freqs;	 /* sorted by kHz */
	struct freq_runtime freqs[SIGNALS_MAX_FREQS];
	bool freqs_truncated;	 /* more kHz values than slots: some runtime is in freqs[0] */
	size_t num_procs;	 /* per (tgid, kHz, cgroup); valid until the next cut */
	const struct proc_interval *procs; /* the overflow entries last, if any */
	/* What found the process map full (host.proc_overflows charges), as process
	 * PROC_OVERFLOW_TGID by kHz: also included in procs[]. */
	size_t num_overflow;
	struct proc_interval overflow[SIGNALS_OVERFLOW_ENTRIES];
	/* Not from the kernel object: the caller fills it (softirqs.h); cut leaves it unmeasured. */
	struct softirq_counts softirqs;
};

/* After load: the signals side's maps and words (bpf_loader fills it). */
struct signals_handles {
	int cpu_bins_fd;
	int procs_fd[2]; /* by epoch parity */
	int cpu_khz_fd;
	int cpu_freq_events_fd;
	int pmu_fd[PMU_COUNTERS]; /* perf event arrays, filled by bind when the PMU is open */
	int exited_tgids_fd;
	int flush_prog_fd;
	uint32_t *epoch; /* in the mmap'ed .bss: the epoch a CPU adopts when flushed */
};

struct signals;

int signals__open(const struct signals_opts *opts, struct signals **out);
int signals__bind(struct signals *s, const struct signals_handles *h);
/* hooks: what attached (bpf_loader__attach_signals); pmu is this module's own. */
int signals__begin(struct signals *s, const struct signals_available *hooks);
int signals__cut(struct signals *s, struct interval_signals *out);
const struct signals_available *signals__available(const struct signals *s);
/*
 * Takes (and forgets) up to max processes that ended at least one whole interval ago, as
 * sched_process_exit recorded them, so their last slices are drained: their tgids into
 * tgids, each once. Call after each cut's energy was added. Returns how many.
 */
int signals__take_exited(struct signals *s, uint32_t *tgids, int max);
void signals__close(struct signals *s);

#endif
