/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * What signals.bpf.c and requests.bpf.c both need of request tracking, and nothing else:
 * the per-thread accumulator (thread_acct: the scheduler hooks add to it, socket
 * operations take from it), the model and each CPU's frequency weight (read by both), the
 * psys factor, the track_requests switch, and the score arithmetic both sides use. Both
 * objects define these __weak, so the static linker merges them into one. Every other
 * request map (sock_hash, conns, conn_index, early_conns, req_slots, records, req_counters,
 * proc_energy_uj) and the connection state are requests.bpf.c's own; the scheduler side of
 * the charge (slice_score, charge_request_of_task) is signals.bpf.c's.
 *
 * Which request a thread's CPU belongs to (issue 13): "a stretch belongs to the connection of
 * the socket operation that ends it". A thread's slices collect in its own pending
 * accumulator (task storage, struct thread_acct); every receive or send on a tracked
 * connection moves the pending work, plus the running slice up to now, into that
 * connection's current request (take_thread_work() in requests.bpf.c), and leaves a
 * watermark so that the next switch charges only what follows. One exception: the stretch
 * that ends at a receive, when the thread's last socket op wrote a response's last byte,
 * is that response's tail and goes to its record. An event loop does a
 * response's work just before writing it; a thread-per-connection server reads, works,
 * writes; a goroutine that resumes on another OS thread writes before it reads again. Work
 * never followed by a socket operation (helper threads, GC, idle loops, a thread's tail at
 * exit) stays pending: the "not a request" share (docs/attribution.md).
 */
#ifndef HTTP_ENERGY_REQUESTS_BPF_H
#define HTTP_ENERGY_REQUESTS_BPF_H

#include "http_energy.bpf.h"
#include "request_energy.h"

/* A thread's work since its last socket operation on a tracked connection (see above). */
struct thread_acct {
	__u64 pend_fx; /* 1/2^REQ_FRAC_BITS µJ; the scheduler hooks add, socket ops take */
	__u64 pend_ns;
	__u64 mark_ns; /* a socket op took the running slice up to here */
	/*
	 * The response whose last byte this thread wrote at its last socket operation: the
	 * stretch that ends at the thread's next receive is that response's tail (the rest of
	 * the write, its clean-up, the way back to a read), not the next request's. Written
	 * and read by the socket ops of this thread only (requests.bpf.c, take_thread_work).
	 */
	__u64 tail_cookie;
	__u32 tail_n;
	__u32 tail_open;
	/*
	 * The response this thread's last socket operation wrote part of (not its last byte):
	 * a stretch that ends at the thread's next receive, when that brings another
	 * connection's bytes, is still that response's work (an event loop's filter that
	 * produced output the full socket could not take). Same writers as the tail's.
	 */
	__u64 wr_cookie;
	__u32 wr_n;
	__u32 wr_open;
};

const volatile bool track_requests __weak = false;

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_acct);
} thread_acct SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct model_params);
} model SEC(".maps") __weak;

/* psys mode: µJ per score unit as req_factor_pack() packs it (0: none yet). User space
 * stores it with one aligned 64-bit write through the mmap'ed .bss; BPF reads it once. */
__u64 uj_per_score_word __weak = 0;

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

/* Keeps clang from dropping a bounds check the verifier needs to see. */
#define opaque(var) asm volatile("" : "+r"(var))

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

#endif
