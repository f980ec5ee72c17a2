/* SPDX-License-Identifier: MIT */
/*
 * The host-wide signals collector: loads and attaches signals.bpf.c, probing each hook,
 * and cuts the kernel's counters into intervals that end exactly at the boundaries.
 *
 *   kernel_signals__open()  probe, open, set rodata and map sizes, load, attach, start
 *   kernel_signals__cut()   end the interval now; fills *out with everything charged in it
 *   kernel_signals__close() detach and free everything
 */
#ifndef COLLECTOR_KERNEL_SIGNALS_H
#define COLLECTOR_KERNEL_SIGNALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signals.h" /* bpf/: shared with the BPF side */

#define SIGNALS_MAX_FREQS 64 /* distinct kHz values reported per interval */
#define SIGNALS_OVERFLOW_ENTRIES 8 /* kHz values of the process-map overflow bucket */

struct signals_opts {
	uint64_t cgroup_id; /* 0: no tracked cgroup */
	uint32_t cgroup_level;
	uint32_t max_procs;	/* process map entries per interval; 0: default 8192 */
	const char *root;	/* below which sysfs and procfs are read; NULL: "/" */
	bool track_requests;	/* load the request programs (request_tracking.h attaches) */
	uint32_t max_conns;	/* tracked connections; 0: default 65536 */
	uint32_t record_ring_kb; /* issue 13: request records' ring buffer; 0: no records */
	/*
	 * Called at every cut (the first one inside kernel_signals__open too) right after the
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
};

struct kernel_signals;
struct http_energy_bpf;

int kernel_signals__open(const struct signals_opts *opts, struct kernel_signals **out);
int kernel_signals__cut(struct kernel_signals *s, struct interval_signals *out);
const struct signals_available *kernel_signals__available(const struct kernel_signals *s);
/*
 * Drops the proc_energy_uj entries (request tracking's per-process totals) of processes
 * that ended at least one whole interval ago, as sched_process_exit recorded them: the
 * map keeps live processes only, and a reused PID starts again from 0. Call after each
 * cut's energy was added. Returns how many were dropped.
 */
int kernel_signals__forget_exited(struct kernel_signals *s);
/* The sched_switch program's fd, for run_time_ns/run_cnt statistics. */
int kernel_signals__switch_prog_fd(const struct kernel_signals *s);
/* The loaded object, for request_tracking__attach(). */
struct http_energy_bpf *kernel_signals__bpf(const struct kernel_signals *s);
void kernel_signals__close(struct kernel_signals *s);

#endif
