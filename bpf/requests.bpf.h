/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Request state shared by the scheduler hooks (which charge a request's thread) and the
 * socket programs in requests.bpf.c (which find requests and write their energy).
 *
 * A connection's "current" accumulator collects the work of the request its server
 * thread is serving: everything the bound thread does between one response's first
 * write and the next. A pipelined batch is served in order, so each response gets the
 * work done for it, never its neighbour's.
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
};

/* A response writer's watermark: the scheduler hooks charge its connection's request only
 * with the part of its running slice after mark_ns (sk_msg gave the rest to a response). */
struct writer_mark {
	__u64 mark_ns;
};

struct thread_binding {
	struct conn_key key;
	__u32 bound;
	__u32 pad;
};

const volatile bool track_requests __weak = false;

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
	__type(value, struct thread_binding);
} thread_conn SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct writer_mark);
} writer_mark SEC(".maps") __weak;

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

/* Adds score (1/2^REQ_FRAC_BITS units; µJ in model mode) to a connection's request. */
static __always_inline void add_to_request(struct conn_state *c, const struct model_params *m,
					   __u64 score_fx)
{
	__u64 uj_fx = score_fx;

	if (m->mode != ATTRIB_MODEL) {
		struct fixed_weight f = req_factor_unpack(*(volatile __u64 *)&uj_per_score_word);

		uj_fx = req_scale_fx(&f, score_fx);
	}
	if (uj_fx)
		__sync_fetch_and_add(&c->cur_uj_fx, uj_fx);
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

static __always_inline struct conn_state *bound_conn(struct task_struct *task)
{
	struct thread_binding *b;

	if (!track_requests)
		return NULL;
	b = bpf_task_storage_get(&thread_conn, task, NULL, 0);
	if (!b || !b->bound)
		return NULL;
	return bpf_map_lookup_elem(&conns, &b->key);
}

/*
 * A slice of a thread that serves a request goes to that request: the part after the
 * thread's response watermark, if the watermark falls inside the slice (the part before it
 * went to the response sk_msg was writing). Called from the scheduler hooks right after
 * charge_slice(), which left this CPU's slice_start_ns at the slice's end.
 */
static __always_inline void charge_request_of_task(struct task_struct *task,
						   const struct slice *s)
{
	struct conn_state *c = bound_conn(task);
	struct writer_mark *wm;
	struct model_params *m;
	struct cpu_state *st;
	__u64 ns = s->ns;

	if (!c)
		return;
	m = get_model();
	if (!m)
		return;
	wm = bpf_task_storage_get(&writer_mark, task, NULL, 0);
	st = get_state();
	if (wm && st && wm->mark_ns) {
		__u64 end = st->slice_start_ns, mark = wm->mark_ns;

		if (mark >= end)
			ns = 0;
		else if (end - mark < ns)
			ns = end - mark;
	}
	add_to_request(c, m, slice_score(m, s, ns));
}

enum { REQ_EVENT_WAKEUP, REQ_EVENT_MIGRATION };

static __always_inline void charge_request_event(struct task_struct *task, int event)
{
	struct conn_state *c = bound_conn(task);
	struct model_params *m;

	if (!c)
		return;
	m = get_model();
	if (m)
		add_to_request(c, m,
			       req_apply_fx((const struct fixed_weight *)(event == REQ_EVENT_WAKEUP
									   ? &m->wakeup
									   : &m->migration),
					    1));
}

#endif
