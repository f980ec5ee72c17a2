/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Request state shared by the scheduler hooks (which charge a request's thread) and the
 * socket programs in requests.bpf.c (which find requests and write their energy).
 *
 * Which request a thread's CPU belongs to (issue 13): "a stretch belongs to the connection of
 * the socket operation that ends it". A thread's slices collect in its own pending
 * accumulator (task storage, struct thread_acct); every receive or send on a tracked
 * connection moves the pending work, plus the running slice up to now, into that
 * connection's current request (cur_uj_fx), and leaves a watermark so that the next
 * switch charges only what follows. An event loop does a response's work just before
 * writing it; a thread-per-connection server reads, works, writes; a goroutine that
 * resumes on another OS thread writes before it reads again. Work never followed by a
 * socket operation (helper threads, GC, idle loops, a thread's tail at exit) stays pending:
 * the "not a request" share (docs/attribution.md).
 */
#ifndef HTTP_ENERGY_REQUESTS_BPF_H
#define HTTP_ENERGY_REQUESTS_BPF_H

#include "http_energy.bpf.h"
#include "http_head.h"
#include "request_energy.h"

/* conn_state.flags */
#define CONN_PASSIVE (1u << 0) /* accepted by the server: requests come in */
#define CONN_NOT_HTTP (1u << 1)
#define CONN_DESYNC (1u << 2)  /* lost TCP sequence sync: no more rewrites */
#define CONN_SEQ_VALID (1u << 3)
/*
 * Set by ingress (after creation the only writer of flags), read by sk_msg:
 *
 * CONN_UNFRAMED  for good: a head arrived while CONN_KINDS requests already awaited a
 *                response, so req_kind[] cannot hold its kind. heads stops counting;
 *                sk_msg leaves every later write on the connection alone.
 * CONN_RESYNC    ingress lost bytes (a TCP sequence gap). Heads counted before the gap
 *                are exact, in order, with their kinds: sk_msg may answer them. While
 *                the flag is set, ingress counts no head, so a response the server
 *                writes while heads == responses answers a request nobody counted:
 *                sk_msg leaves it alone. Its kind is unknown (a lost HEAD's response has
 *                no body whatever its Content-Length says), so sk_msg cannot be sure
 *                where it ends: when unsure, no header.
 *                Ingress clears the flag, then counts the head, only when (1) every
 *                head counted so far had its response started (heads == responses)
 *                when a segment arrived, (2) that segment starts with "METHOD " (upper
 *                case), and (3) a whole valid head parses from its first byte. A head
 *                counted after the flag clears is a request the server will answer
 *                next. Any doubt (a parse error, another gap) and the flag stays set:
 *                no header rather than a wrong one.
 */
#define CONN_UNFRAMED (1u << 4)
#define CONN_RESYNC (1u << 5)

#define CONN_KINDS 8 /* requests that may await a response at once (pipelining depth) */

/* What a request's method means for the framing of its response. */
enum req_kind {
	REQ_KIND_PLAIN = 0,
	REQ_KIND_HEAD = 1,    /* the response has no body, whatever its headers say */
	REQ_KIND_CONNECT = 2, /* a 2xx response ends HTTP on the connection */
};

/* conn_state.out_state: where sk_msg is in the response stream (requests.bpf.c) */
enum out_state {
	OUT_IDLE,	   /* at a response boundary: the next byte starts a status line */
	OUT_STATUS,	   /* in "HTTP/1.x NNN": out_match bytes of it seen */
	OUT_REASON,	   /* in the rest of the status line */
	OUT_LINE_START,	   /* at the start of a header line, or of the blank line */
	OUT_NAME,	   /* in a header name */
	OUT_VALUE,	   /* in a Content-Length or Transfer-Encoding value */
	OUT_SKIP_LINE,	   /* in a value nobody needs */
	OUT_HEAD_CR,	   /* the CR of the blank line */
	OUT_BODY,	   /* out_left body bytes to pass, by count */
	OUT_CHUNK_SIZE,	   /* in a chunk-size line's hex digits */
	OUT_CHUNK_EXT,	   /* after them, up to the line's end */
	OUT_CHUNK_DATA,	   /* out_left chunk bytes to pass, by count */
	OUT_CHUNK_CRLF,	   /* the CRLF after chunk data */
	OUT_TRAILER_START, /* at the start of a trailer line, or of the final blank line */
	OUT_TRAILER_LINE,
	OUT_TRAILER_CR,
	OUT_DONE,	   /* HTTP ended, or framing lost: the connection is left alone for good */
};

struct conn_state {
	/* The request being served, in 1/2^REQ_FRAC_BITS units (request_energy.h): added to
	 * atomically by the scheduler hooks, taken by sk_msg with an atomic subtraction. */
	__u64 cur_uj_fx;
	__u32 next_seq;	   /* next TCP sequence number expected on ingress */
	__u32 flags;
	/*
	 * Ingress (softirq) and sk_msg (process context) each write only their own counter,
	 * so neither does a read-modify-write of the other's: heads - responses requests
	 * await a response. req_kind[n % CONN_KINDS] is what request n asked for (enum
	 * req_kind), written by ingress before it counts the head.
	 */
	__u32 heads;	   /* request heads received (ingress only) */
	__u32 responses;   /* responses started (sk_msg only) */
	__u8 req_kind[CONN_KINDS];
	__u32 pad;
	struct http_head_parser hp; /* ingress only: where request heads end (http_head.h) */
	/*
	 * Egress: written by sk_msg only (sendmsg holds the socket lock, so one run at a time
	 * per connection). Each response is followed from its status line to its end.
	 */
	__u64 out_left;	    /* OUT_BODY, OUT_CHUNK_DATA: bytes to pass; else a number read */
	__u64 out_cl;	    /* this head's Content-Length */
	__u32 out_state;    /* enum out_state */
	__u32 out_head_len; /* bytes of this head (or of the trailers) so far */
	__u16 out_status;   /* this head's status code */
	__u8 out_kind;	    /* enum req_kind of the request this response answers */
	__u8 out_hdr;	    /* OUT_HDR_*: the header whose name or value is being read */
	__u8 out_match;	    /* bytes of that name, value or CRLF matched */
	__u8 out_phase;	    /* in a value: 0 before it, 1 in it, 2 after it */
	__u8 out_framing;   /* OUT_F_*: framing headers seen in this head */
	__u8 out_pending;   /* a header is owed at the start of the next write */
	__u64 out_pending_uj; /* its value */
	/* issue 13: the record of the response being written (sk_msg, and sockops at close) */
	__u64 cookie;	    /* socket cookie: the connection's id in records and req_slots */
	__u64 cur_ns;	    /* CPU ns in cur_uj_fx (atomic, as cur_uj_fx) */
	__u64 rec_uj_fx;    /* the response being written: its energy so far */
	__u64 rec_ns;
	__u64 out_total;    /* response bytes written on the connection before this write */
	__u32 rec_open;	    /* a final response started and has not reached its last byte */
	__u32 rec_pad;
};

/* A request's line and arrival, kept from ingress to its response's end (--request-log
 * only): keyed by connection and request number, NO_PREALLOC, so conns stays small. */
struct req_slot_key {
	__u64 cookie;
	__u32 n; /* heads counted before it */
	__u32 pad;
};

struct req_slot {
	__u64 head_ns;
	__u64 first_write_ns;
	__u64 cgroup_id;
	__u64 resp_start; /* out_total + offset of the status line's first byte */
	__u64 header_uj;
	__u32 start_seq;  /* the request line's first byte */
	__u32 pid;
	__u32 tid;
	__u16 status;
	__u8 header_skip;
	__u8 line_cut;
	__u16 line_len;
	__u16 pad;
	__u32 pad2;
	char line[REQ_LINE_MAX];
};

/* A thread's work since its last socket operation on a tracked connection (see above). */
struct thread_acct {
	__u64 pend_fx; /* 1/2^REQ_FRAC_BITS µJ; the scheduler hooks add, socket ops take */
	__u64 pend_ns;
	__u64 mark_ns; /* a socket op took the running slice up to here */
};

const volatile bool track_requests __weak = false;
/* --request-log: ingress keeps request lines, sk_msg sends records (zero cost otherwise) */
const volatile bool emit_records __weak = false;

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536); /* set at load time */
	__type(key, struct conn_key);
	__type(value, __u64);
} sock_hash SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* set at load time */
	__type(key, struct conn_key);
	__type(value, struct conn_state);
} conns SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_acct);
} thread_acct SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536); /* set at load time */
	__type(key, struct req_slot_key);
	__type(value, struct req_slot);
} req_slots SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* set at load time (--request-ring-kb) */
} records SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct model_params);
} model SEC(".maps") __weak;

/* psys mode: µJ per score unit as req_factor_pack() packs it (0: none yet). User space
 * stores it with one aligned 64-bit write through the mmap'ed .bss; BPF reads it once. */
__u64 uj_per_score_word __weak = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct request_counters);
} req_counters SEC(".maps") __weak;

/* Cumulative µJ attributed to each process (tgid), written by user space each interval
 * so that `bpftool map dump name proc_energy_uj` shows it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} proc_energy_uj SEC(".maps") __weak;

/* The model's weight for each CPU's current frequency: kept up to date by cpu_frequency
 * (and seeded by user space), so the hot path reads it instead of searching. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SIGNALS_MAX_CPUS);
	__type(key, __u32);
	__type(value, struct model_weight);
} cpu_freq_weight SEC(".maps") __weak;

static __always_inline struct model_params *get_model(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&model, &zero);
}

static __always_inline struct request_counters *get_counters(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&req_counters, &zero);
}

static __always_inline __u64 apply(const struct model_weight *w, __u64 signal)
{
	return fixed_weight_apply((const struct fixed_weight *)w, signal);
}

struct freq_search {
	const struct model_params *m;
	__u32 khz;
	__u32 found; /* 1 + the index of the last entry <= khz, 0 for none */
};

/* Keeps clang from dropping a bounds check the verifier needs to see. */
#define opaque(var) asm volatile("" : "+r"(var))

static long freq_search_step(__u32 i, void *data)
{
	struct freq_search *f = data;
	__u64 idx = i; /* 64-bit: no zero-extension copy for clang to take from i again */

	opaque(idx);
	if (idx >= MODEL_MAX_FREQS || idx >= f->m->num_freqs)
		return 1;
	if (f->m->freq_khz[idx] > f->khz)
		return 1; /* sorted: nothing further is <= khz */
	f->found = idx + 1;
	return 0;
}

/* The weight of the nearest configured frequency at or below khz, else the default.
 * Only the frequency-change path calls it; bpf_loop keeps its verification one pass. */
static __always_inline const struct model_weight *freq_weight(const struct model_params *m,
							       __u32 khz)
{
	struct freq_search f = { .m = m, .khz = khz, .found = 0 };

	bpf_loop(MODEL_MAX_FREQS, freq_search_step, &f, 0);
	__u64 idx = (__u64)f.found - 1;

	opaque(idx);
	if (f.found == 0 || idx >= MODEL_MAX_FREQS)
		return &m->default_multiplier;
	return &m->freq[idx];
}

/* A score (1/2^REQ_FRAC_BITS units) as µJ in the same units (model mode: already µJ). */
static __always_inline __u64 uj_fx_of_score(const struct model_params *m, __u64 score_fx)
{
	if (m->mode != ATTRIB_MODEL) {
		struct fixed_weight f = req_factor_unpack(*(volatile __u64 *)&uj_per_score_word);

		return req_scale_fx(&f, score_fx);
	}
	return score_fx;
}

/* The score of ns of this CPU's running at its frequency, in 1/2^REQ_FRAC_BITS units. */
static __always_inline __u64 runtime_score(__u64 ns)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct model_weight *w = bpf_map_lookup_elem(&cpu_freq_weight, &cpu);

	if (ns > FIXED_SIGNAL_MAX)
		ns = FIXED_SIGNAL_MAX;
	return w ? req_apply_fx((const struct fixed_weight *)w, ns) : 0;
}

/* The part ns of a slice of s->ns: its runtime, and its PMU deltas pro rata. */
static __always_inline __u64 slice_score(const struct model_params *m, const struct slice *s,
					 __u64 ns)
{
	__u64 score = runtime_score(ns);

	if (has_pmu && s->ns) {
		/* share in 1/2^16; a slice under 2^47 ns (39 hours) keeps it exact enough */
		__u64 share = ns >= s->ns ? 1ULL << 16 : (ns << 16) / s->ns;

		for (int i = 0; i < PMU_COUNTERS; i++) {
			__u64 d = s->pmu[i] > FIXED_SIGNAL_MAX ? FIXED_SIGNAL_MAX : s->pmu[i];

			score += req_apply_fx((const struct fixed_weight *)&m->pmu[i],
					      (d * share) >> 16);
		}
	}
	return score;
}

/* The thread's pending accumulator, if it ever worked on a tracked connection: one
 * task-storage lookup, nothing created (the scheduler hooks' only cost for other threads). */
static __always_inline struct thread_acct *thread_of(struct task_struct *task)
{
	if (!track_requests)
		return NULL;
	return bpf_task_storage_get(&thread_acct, task, NULL, 0);
}

/*
 * A slice of such a thread goes to its pending work: the part after the thread's
 * watermark, if the watermark falls inside the slice (a socket op took the part before
 * it). Called from the scheduler hooks right after charge_slice(), which left this CPU's
 * slice_start_ns at the slice's end.
 */
static __always_inline void charge_request_of_task(struct task_struct *task,
						   const struct slice *s)
{
	struct thread_acct *t = thread_of(task);
	struct model_params *m;
	struct cpu_state *st;
	__u64 ns = s->ns, fx;

	if (!t)
		return;
	m = get_model();
	st = get_state();
	if (!m || !st)
		return;
	if (t->mark_ns) {
		__u64 end = st->slice_start_ns, mark = *(volatile __u64 *)&t->mark_ns;

		if (mark >= end)
			ns = 0;
		else if (end - mark < ns)
			ns = end - mark;
	}
	if (!ns)
		return;
	fx = uj_fx_of_score(m, slice_score(m, s, ns));
	/* atomic: a socket op of this thread, preempted, may be taking the pending work */
	__sync_fetch_and_add(&t->pend_fx, fx);
	__sync_fetch_and_add(&t->pend_ns, ns);
}

enum { REQ_EVENT_WAKEUP, REQ_EVENT_MIGRATION };

static __always_inline void charge_request_event(struct task_struct *task, int event)
{
	struct thread_acct *t = thread_of(task);
	struct model_params *m;

	if (!t)
		return;
	m = get_model();
	if (m)
		__sync_fetch_and_add(
			&t->pend_fx,
			uj_fx_of_score(m, req_apply_fx((const struct fixed_weight *)(
							       event == REQ_EVENT_WAKEUP ? &m->wakeup
											  : &m->migration),
						       1)));
}

/*
 * A socket operation of the current thread on tracked connection c: the thread's pending
 * work and its running slice up to now go to c's current request. This runs outside the
 * scheduler hooks (preemptible, interruptible), so it writes no per-CPU state: it reads the
 * slice's start (a racing switch or flush makes it later than now: nothing is added),
 * moves the watermark first, and takes the pending work with atomic subtractions (a
 * switch adding meanwhile keeps its part). The process still gets its whole slice at the
 * switch: only the request side moves.
 */
static __always_inline void take_thread_work(struct conn_state *c)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct thread_acct *t;
	struct model_params *m;
	struct cpu_state *st;
	__u64 now, start, prev, ns = 0, fx = 0, pfx, pns;

	t = bpf_task_storage_get(&thread_acct, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t)
		return;
	now = bpf_ktime_get_ns();
	prev = t->mark_ns;
	t->mark_ns = now;
	asm volatile("" ::: "memory");
	st = get_state();
	m = get_model();
	if (!st || !m)
		return;
	start = *(volatile __u64 *)&st->slice_start_ns;
	if (prev > start)
		start = prev;
	if (start && start < now) {
		ns = now - start;
		fx = uj_fx_of_score(m, runtime_score(ns));
	}
	pfx = *(volatile __u64 *)&t->pend_fx;
	pns = *(volatile __u64 *)&t->pend_ns;
	if (pfx)
		__sync_fetch_and_add(&t->pend_fx, -pfx);
	if (pns)
		__sync_fetch_and_add(&t->pend_ns, -pns);
	fx += pfx;
	ns += pns;
	if (fx)
		__sync_fetch_and_add(&c->cur_uj_fx, fx);
	if (ns)
		__sync_fetch_and_add(&c->cur_ns, ns);
}

#endif
