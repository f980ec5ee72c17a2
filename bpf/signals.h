/* SPDX-License-Identifier: MIT */
/*
 * Types and constants shared by signals.bpf.c and user space. Plain structs only.
 *
 * Interval accounting: user space owns an epoch counter. Each CPU charges into the buffers
 * of its own epoch's parity and moves to the new epoch only when user space runs the flush
 * program on it, which closes the slice running there at the boundary. After flushing
 * every CPU, nothing writes the old parity any more, and user space drains it.
 */
#ifndef HTTP_ENERGY_SIGNALS_H
#define HTTP_ENERGY_SIGNALS_H

#define SIGNALS_FREQ_SLOTS 16 /* distinct kHz per CPU per interval; more go to slot 0 */
#define SIGNALS_MAX_CPUS 1024
#define PROC_OVERFLOW_TGID 0xffffffffu /* charges that found the process map full */

enum pmu_counter {
	PMU_CYCLES,
	PMU_INSTRUCTIONS,
	PMU_CACHE_MISSES,
	PMU_COUNTERS,
};

/* Per process (tgid), CPU frequency and cgroup, per interval. */
struct proc_key {
	unsigned int tgid;
	unsigned int khz;
	unsigned long long cgroup_id; /* issue 15: the cgroup2 id the slice ran in */
};

struct proc_signals {
	unsigned long long runtime_ns;
	unsigned long long wakeups;	/* wakeups this process caused */
	unsigned long long migrations;	/* of this process's threads */
	unsigned long long pmu[PMU_COUNTERS];
	unsigned long long page_cache_hits;
	unsigned long long writebacks;	/* folios dirtied for writeback */
};

struct freq_slot {
	unsigned int khz;
	unsigned int pad;
	unsigned long long runtime_ns;
};

/* Host-wide bins, per CPU and per interval parity. */
struct cpu_signals {
	unsigned long long runtime_ns;	/* non-idle on-CPU time, IRQ time inside it included */
	unsigned long long idle_ns;	/* the idle task (pid 0) */
	unsigned long long irq_ns;	/* outermost hard IRQ handlers */
	unsigned long long softirq_ns;	/* outermost softirq handlers */
	unsigned long long kthread_runtime_ns;
	unsigned long long cgroup_runtime_ns; /* tasks in the tracked cgroup (or below it) */
	unsigned long long wakeups;
	unsigned long long migrations;
	unsigned long long pmu[PMU_COUNTERS];
	unsigned long long page_cache_hits;
	unsigned long long writebacks;
	unsigned long long proc_overflows; /* charges that found the process map full */
	unsigned long long switches;
	struct freq_slot freq[SIGNALS_FREQ_SLOTS];
};

#define PROC_CACHE_SLOTS 64 /* per CPU; a power of two */

/*
 * A per-CPU, direct-mapped cache of process accumulators in front of the process hash:
 * the hot path adds to a slot and touches the hash only when another (tgid, kHz) needs
 * the slot, and at each interval flush.
 */
struct proc_cache_slot {
	struct proc_key key;
	unsigned int used;
	unsigned int pad;
	struct proc_signals s;
};

/* Per-CPU bookkeeping, never read as a signal. */
struct cpu_state {
	unsigned long long slice_start_ns; /* 0: nothing known yet on this CPU */
	unsigned long long irq_start_ns;
	unsigned long long softirq_start_ns;
	unsigned long long pmu_last[PMU_COUNTERS];
	unsigned int epoch;
	unsigned int irq_depth;
	unsigned int softirq_depth;
	unsigned int freq_hint; /* slot index last used */
	struct proc_cache_slot cache[PROC_CACHE_SLOTS];
};

/* ---- request tracking (requests.bpf.c) ---- */

#define MODEL_MAX_FREQS 64

/* A TCP connection, the same from sockops, skb, sk_msg and struct sock: addresses in
 * IPv6 form (IPv4 as ::ffff:a.b.c.d), network byte order; ports in host byte order. */
struct conn_key {
	unsigned int local_ip[4];
	unsigned int remote_ip[4];
	unsigned int local_port;
	unsigned int remote_port;
};

enum attribution {
	ATTRIB_PSYS = 0,  /* weights make score units; uj_per_score turns them into µJ */
	ATTRIB_MODEL = 1, /* weights are µJ */
};

/* Weights as fixed_point.h encodes them ({mantissa, shift}). */
struct model_weight {
	unsigned long long mantissa;
	unsigned int shift;
	unsigned int pad;
};

struct model_params {
	unsigned int mode;	     /* enum attribution */
	unsigned int num_freqs;	     /* entries of freq_khz/freq, sorted by kHz */
	unsigned int freq_khz[MODEL_MAX_FREQS];
	struct model_weight freq[MODEL_MAX_FREQS]; /* per ns at that kHz */
	struct model_weight default_multiplier;	   /* below every configured kHz */
	struct model_weight wakeup;
	struct model_weight migration;
	struct model_weight pmu[PMU_COUNTERS];
	struct model_weight uj_per_score; /* psys mode: set by user space each interval */
};

enum skip_reason {
	SKIP_STATUS_SPLIT,   /* the status line is not wholly in the response's first write */
	SKIP_PULL_FAILED,    /* bpf_msg_pull_data refused */
	SKIP_PUSH_FAILED,    /* bpf_msg_push_data refused */
	SKIP_NOT_A_RESPONSE, /* a request was awaiting but the write is not "HTTP/1.x NNN" */
	SKIP_REASONS,
};

/* Cumulative, per CPU; user space takes differences. */
struct request_counters {
	unsigned long long heads;	   /* request heads seen on ingress */
	unsigned long long responses;	   /* responses started (injected or skipped) */
	unsigned long long injected;
	unsigned long long skipped[SKIP_REASONS];
	unsigned long long energy_uj;	   /* µJ of every response started */
	unsigned long long informational;  /* 1xx responses passed untouched */
	unsigned long long desynced;	   /* connections that lost TCP sequence sync */
	unsigned long long not_http;	   /* connections found not to speak HTTP/1.x */
	unsigned long long conn_overflows; /* connections the map had no room for */
};

#endif
