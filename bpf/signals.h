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

#include "../common/model_features.h" /* MODEL_MAX_FREQS: the one table */

#define SIGNALS_FREQ_SLOTS 16 /* distinct kHz per CPU per interval; more go to slot 0 */
#define SIGNALS_MAX_CPUS 1024
/*
 * The visible bucket for charges that found the process map full: user space reports it
 * as a process entry with this tgid (so its energy is attributed, not moved to others).
 */
#define PROC_OVERFLOW_TGID 0xffffffffu

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
	unsigned long long switches;	/* beside what every switch writes: one cache line */
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
	struct freq_slot freq[SIGNALS_FREQ_SLOTS];
	/* What those charges carried: reported as the process PROC_OVERFLOW_TGID at
	 * overflow_khz (the kHz of the latest one on this CPU). */
	struct proc_signals overflow;
	unsigned int overflow_khz;
	unsigned int overflow_pad;
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

/*
 * Per-CPU bookkeeping, never read as a signal.
 *
 * Who writes what: see "Interrupt safety" in signals.bpf.c. In short, only the slice
 * charge (sched_switch, flush_cpu) and sched_migrate_task touch the cache slots and the
 * bins; every other hook only adds to the pend_* counters (with atomic instructions where
 * another writer of the same counter can interrupt it), and the next slice charge moves
 * what they grew by into the running task's slot, the flush what they grew by into the
 * bins.
 */
struct cpu_state {
	/* What every sched_switch and the softirq hooks read or write, together (issue 14:
	 * fewer cache lines a run). */
	unsigned long long slice_start_ns; /* 0: nothing known yet on this CPU */
	unsigned int epoch;
	unsigned int irq_depth;
	unsigned int softirq_depth;
	unsigned int timer_depth;     /* inside an hrtimer callback (interrupt context) */
	unsigned int freq_hint;	      /* slot index last used */
	unsigned int softirq_exiting; /* softirq_exit is charging: the flush leaves it alone */
	unsigned long long softirq_start_ns;
	unsigned long long pend_softirq_ns;	 /* outermost softirq handlers that ended */
	unsigned long long pend_task_wakeups;	 /* caused by the running task itself */
	unsigned long long pend_page_cache_hits; /* by the running task (host-wide too) */
	unsigned long long pend_writebacks;	 /* by the running task (host-wide too) */
	/* The pend_* values the last slice charge took for the running task: it moves pend -
	 * took, so the pend_* counters only ever grow and the charge writes none of them (no
	 * atomics there). */
	unsigned long long took_task_wakeups;
	unsigned long long took_page_cache_hits;
	unsigned long long took_writebacks;
	unsigned long long pend_wakeups; /* host-wide, any context */
	/* The host-wide slice sums since the last flush, which moves them into the bins of
	 * its interval (issue 14: a switch looks up no bins). Written by the slice charge and
	 * the flush only, which never interleave. */
	unsigned long long acc_runtime_ns;
	unsigned long long acc_idle_ns;
	unsigned long long acc_switches;
	unsigned long long acc_kthread_runtime_ns;
	unsigned long long acc_cgroup_runtime_ns;
	unsigned long long acc_freq_ns; /* runtime at acc_khz */
	unsigned int acc_khz;
	/* This CPU's kHz, copied from cpu_khz when khz_gen moved past khz_gen_seen and at
	 * each flush (issue 14: no map lookup a switch). khz_gen is bumped by cpu_frequency,
	 * from any CPU (atomically), after it writes this CPU's cpu_khz: kept here, not in
	 * .bss, so a switch reads no other cache line for it (issue 14). */
	unsigned int khz;
	unsigned int khz_gen_seen;
	unsigned int khz_gen;
	/* The rest: the interruptible hooks' own fields and what only the flush takes. */
	unsigned long long irq_start_ns;
	unsigned int flushing; /* flush_cpu runs (interruptible when run in-process) */
	unsigned int flushing_pad;
	unsigned long long pend_migrations; /* host-wide */
	unsigned long long pend_irq_ns;	    /* outermost hard IRQ handlers that ended */
	/* The host-wide counts go to the bins at the flush only (issue 14: not on every
	 * switch): the pend_* values the last flush took. */
	unsigned long long flush_took_wakeups;
	unsigned long long flush_took_migrations;
	unsigned long long flush_took_irq_ns;
	unsigned long long flush_took_softirq_ns;
	unsigned long long flush_took_page_cache_hits;
	unsigned long long flush_took_writebacks;
	/* kcpustat's IRQ and softirq ns at the last flush (flush_cpu_kirq only) */
	unsigned long long kirq_last_ns;
	unsigned long long ksoftirq_last_ns;
	unsigned long long pmu_last[PMU_COUNTERS];
	struct proc_cache_slot cache[PROC_CACHE_SLOTS];
};

/* ---- request tracking (requests.bpf.c) ---- */

/* A TCP connection, the same from sockops, skb, sk_msg and struct sock: addresses in
 * IPv6 form (IPv4 as ::ffff:a.b.c.d), network byte order; ports in host byte order. */
struct conn_key {
	unsigned int local_ip[4];
	unsigned int remote_ip[4];
	unsigned int local_port;
	unsigned int remote_port;
};

enum attribution {
	ATTRIB_PSYS = 0,  /* weights make score units; uj_per_score_word turns them into µJ */
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
	/* per event, by enum model_feature (MODEL_FEATURES_BPF's rows; signals.bpf.c) */
	struct model_weight feature[MF_BPF_COUNT];
	/* psys mode's µJ per score unit is not here: see uj_per_score_word (requests.bpf.h) */
};

/* Responses that go without a header, the connection staying framed (requests.bpf.c). */
enum skip_reason {
	SKIP_BATCHED,	  /* began in a write after another response began in it */
	SKIP_PORT,	  /* the local port is not in --header-ports */
	SKIP_PULL_FAILED, /* bpf_msg_pull_data refused to make the header's room linear */
	SKIP_PUSH_FAILED, /* bpf_msg_push_data refused */
	SKIP_SEND_BUFFER, /* too little send-buffer room for the header to go out whole */
	SKIP_REASONS,
};

/* Why sk_msg left a connection alone for good: its responses could not be framed. */
enum unframed_reason {
	UNFRAMED_NOT_A_STATUS,	/* a response does not start with "HTTP/1.x NNN" */
	UNFRAMED_HEAD_TOO_LONG, /* a response head over RESP_HEAD_MAX bytes */
	UNFRAMED_TRANSFER_CODING, /* Transfer-Encoding other than exactly "chunked" */
	UNFRAMED_LENGTH,	/* conflicting or malformed Content-Length (or with chunked) */
	UNFRAMED_BAD_HEAD,	/* a header line without ':', obs-fold, a bare CR */
	UNFRAMED_BAD_CHUNK,	/* a malformed chunk size or chunk end */
	UNFRAMED_UNSOLICITED,	/* a response with no request (or over CONN_KINDS) awaiting */
	UNFRAMED_PULL_FAILED,	/* bpf_msg_pull_data refused bytes the framing needed */
	UNFRAMED_TOO_COMPLEX,	/* a write with more framing steps than one run can take */
	UNFRAMED_UNSEEN,	/* bytes sent without sk_msg, not inside a body (write_seq) */
	UNFRAMED_REASONS,
};

/* How HTTP ended on a connection (sk_msg leaves it alone from then on). */
enum http_end {
	END_UPGRADED,	     /* 101 Switching Protocols */
	END_TUNNEL,	     /* a 2xx response to CONNECT */
	END_CLOSE_DELIMITED, /* a body without Content-Length or chunked runs to the close */
	END_REASONS,
};

/* Cumulative, per CPU; user space takes differences. */
struct request_counters {
	unsigned long long heads;	   /* request heads seen on ingress */
	unsigned long long responses;	   /* final responses started (with or without header) */
	unsigned long long injected;
	unsigned long long skipped[SKIP_REASONS];
	unsigned long long energy_uj;	   /* µJ of every response started */
	unsigned long long informational;  /* 1xx interim responses (101 excepted) */
	unsigned long long desynced;	   /* TCP sequence gaps (each starts a resync) */
	unsigned long long not_http;	   /* connections found not to speak HTTP/1.x */
	unsigned long long conn_overflows; /* connections the map had no room for */
	/* ingress (requests.bpf.c): */
	unsigned long long too_deep;	   /* connections with more than CONN_KINDS awaiting */
	unsigned long long resynced;	   /* connections back in step after a gap */
	unsigned long long early_heads;	   /* heads in the segment completing a handshake */
	/* egress framing (sk_msg) */
	unsigned long long unframed[UNFRAMED_REASONS];
	unsigned long long ended[END_REASONS];
	/* issue 13: responses that reached their last byte (records), with or without a
	 * record sent; the energy they carried; records the ring buffer had no room for */
	unsigned long long completed;
	unsigned long long completed_uj_fx; /* 1/2^REQ_FRAC_BITS µJ (request_energy.h) */
	unsigned long long records_dropped;
	/* records only (cgroup_skb/egress framing): responses whose last byte was framed
	 * after the send that wrote it returned (no tail; docs/attribution.md) */
	unsigned long long late_ends;
};

/* enum record_header_skip (collector/operators/request_record.h) as BPF writes it */
enum rec_skip {
	REC_SKIP_WRITTEN,
	REC_SKIP_NO_HEADER,
	REC_SKIP_PORT,
	REC_SKIP_BATCHED,
	REC_SKIP_INTERIM,
	REC_SKIP_FAILED,
	REC_SKIP_SEND_BUFFER,
	REC_SKIP_OTHER,
};

#define REQ_LINE_MAX 160 /* request-line bytes kept: method, target and more */

/*
 * One completed response, from BPF to user space through the records ring buffer
 * (--request-log). The request line is raw: user space splits method and target.
 */
struct request_event {
	unsigned long long head_ns;	   /* the head's last byte arrived (0: not seen) */
	unsigned long long first_write_ns; /* the response's status line was written */
	unsigned long long end_ns;	   /* its last byte was written */
	unsigned long long cgroup_id;	   /* the writer's */
	unsigned long long conn;	   /* socket cookie */
	unsigned long long request_bytes;
	unsigned long long response_bytes;
	unsigned long long cpu_ns;
	unsigned long long energy_uj_fx;
	unsigned long long header_uj;
	unsigned int pid;
	unsigned int tid;
	unsigned short status;
	unsigned char header_skip; /* enum rec_skip */
	unsigned char line_cut;	   /* the request line was longer than line[] (or split) */
	unsigned short line_len;
	unsigned short pad;
	char line[REQ_LINE_MAX]; /* line_len bytes; the rest is undefined (not zeroed) */
};

/*
 * A request's line and arrival, kept from ingress to its response's end (--request-log
 * only): in requests.bpf.c's slot_ring (a pair of entries per connection, found by index),
 * else keyed by connection and request number in req_slots. User space reads both at stop:
 * records whose response ended but whose tail had not yet (issue 13).
 */
struct req_slot_key {
	unsigned long long cookie;
	unsigned int n; /* heads counted before it */
	unsigned int pad;
};

struct req_slot {
	unsigned long long head_ns;
	unsigned long long first_write_ns;
	unsigned long long cgroup_id;
	unsigned long long resp_start; /* out_total + offset of the status line's first byte */
	unsigned long long header_uj;
	unsigned int start_seq; /* the request line's first byte */
	unsigned int pid;
	unsigned int tid;
	unsigned short status;
	unsigned char header_skip;
	unsigned char line_cut;
	unsigned short line_len;
	unsigned short pad;
	unsigned int pad2;
	/* set at the response's last byte; the record goes out when its tail is known */
	unsigned long long end_ns; /* 0: the response has not ended */
	unsigned long long rec_fx;
	unsigned long long rec_ns;
	unsigned long long request_bytes;
	unsigned long long response_bytes;
	char line[REQ_LINE_MAX];
	/* slot_ring only (requests.bpf.c): whose slot this is; tag is req_slot_tag() of it, 0
	 * free, and the one word a taker's compare-and-swap decides on */
	unsigned long long cookie;
	unsigned long long tag;
};

/* A slot_ring entry being claimed: cleared by its claimer, no one's yet (never a real tag,
 * whose top bit is set). A taker never takes it, so no record is made of what it held. */
#define REQ_SLOT_BUSY 1ULL

/* A slot_ring entry's owner in one word, never 0: the connection (its cookie's low 39 bits:
 * two live connections 2^39 cookies apart at the same entry, never) and its request number
 * (modulo 2^24: a slot never outlives 2^24 later requests of its connection). */
static inline unsigned long long req_slot_tag(unsigned long long cookie, unsigned int n)
{
	return 1ULL << 63 | cookie << 24 | (n & 0xffffff);
}

/* The record of slot s of connection cookie, with fx/ns its energy and CPU: one definition
 * for BPF's emit_slot() and user space's records taken at stop. */
static inline void request_event_of_slot(struct request_event *e, unsigned long long cookie,
					 const struct req_slot *s, unsigned long long fx,
					 unsigned long long ns)
{
	e->head_ns = s->head_ns;
	e->first_write_ns = s->first_write_ns;
	e->end_ns = s->end_ns;
	e->cgroup_id = s->cgroup_id;
	e->conn = cookie;
	e->request_bytes = s->request_bytes;
	e->response_bytes = s->response_bytes;
	e->cpu_ns = ns;
	e->energy_uj_fx = fx;
	e->header_uj = s->header_uj;
	e->pid = s->pid;
	e->tid = s->tid;
	e->status = s->status;
	e->header_skip = s->header_skip;
	e->line_cut = s->line_cut;
	e->line_len = s->line_len > REQ_LINE_MAX ? REQ_LINE_MAX : s->line_len;
	e->pad = 0;
	/* all of it: copying only line_len's words measured no cheaper (docs/overhead.md) */
	__builtin_memcpy(e->line, s->line, REQ_LINE_MAX);
}

#endif
