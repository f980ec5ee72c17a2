/* SPDX-License-Identifier: MIT */
/*
 * Per-request attribution: the user side of requests.bpf.c. The object is loaded and
 * attached by bpf_loader.h, from struct request_settings; this module gets the loaded
 * maps (struct request_handles) and never sees the skeleton.
 *
 *   requests__open()     after load, before bpf_loader__attach_requests(): write
 *                                the model and each CPU's frequency weight
 *   requests__set_factor()  psys mode: the live µJ per score unit (one atomic
 *                                64-bit store: BPF never reads half a factor)
 *   requests__totals()   cumulative counters, summed over CPUs
 *   requests__records_fd()  the records ring buffer, for request_log.h
 *   requests__stop_records()  at stop, before the last totals: no more records from BPF
 *   requests__take_waiting()  at stop: the records still waiting for their tail
 */
#ifndef COLLECTOR_REQUESTS_API_H
#define COLLECTOR_REQUESTS_API_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "signals.h"

struct requests;

/* Before load: what the request side needs of the object (bpf_loader applies it). */
struct request_settings {
	bool enable;		 /* load the request programs at all */
	uint32_t max_conns;	 /* tracked connections; 0: default 65536 */
	uint32_t record_ring_kb; /* request records' ring buffer, rounded up to a power-of-two
				  * number of pages; 0: no records (the BPF side then never
				  * touches the ring buffer or the request slots) */
	bool egress_framing;	 /* records only (--no-header with records): frame responses
				  * from cgroup_skb/egress, bind writes at tp_btf/sock_send_length,
				  * no sk_msg (where the kernel has the tracepoint) */
};

/* After load: the request side's maps and words (bpf_loader fills it). */
struct request_handles {
	int model_fd;
	int cpu_freq_weight_fd;
	int cpu_khz_fd;	     /* read only: each CPU's kHz, kept by the signals side */
	int req_counters_fd;
	int proc_energy_fd;
	int records_fd; /* the records ring buffer; -1 without records */
	int req_slots_fd; /* the records' slots (struct req_slot); -1 without records */
	int slot_ring_fd; /* their first place (an mmapable array of struct req_slot); -1 */
	uint64_t *uj_per_score_word; /* in the mmap'ed .bss: psys mode's µJ per score unit */
	uint32_t *records_stopped;   /* in the mmap'ed .bss: no record sent once set */
};

/* What is done to responses (--no-header, --header-ports, --header-quantum-uj). */
struct header_opts {
	bool no_header;		   /* no sk_msg: no socket in the sockhash, nothing rewritten */
	const uint64_t *port_bits; /* header_ports.h bit set; NULL: every port */
	uint32_t quantum_uj;	   /* header value rounded to a multiple of this; 0 or 1: none */
	bool records;		   /* --request-log: responses are framed even with no_header
				    * (by cgroup_skb/egress where the loader chose it, else sk_msg) */
};

struct request_totals {
	uint64_t heads;
	uint64_t responses;
	uint64_t injected;
	uint64_t skipped[SKIP_REASONS];
	uint64_t energy_uj;
	uint64_t informational;
	uint64_t desynced;
	uint64_t not_http;
	uint64_t conn_overflows;
	uint64_t too_deep;    /* connections with more than CONN_KINDS requests awaiting */
	uint64_t resynced;    /* connections back in step after a sequence gap */
	uint64_t early_heads; /* heads in the segment that completed a handshake */
	uint64_t unframed[UNFRAMED_REASONS];
	uint64_t ended[END_REASONS];
	uint64_t completed;	  /* responses that reached their last byte */
	uint64_t completed_uj_fx; /* their whole-request energy (request_energy.h units) */
	uint64_t records_dropped; /* records the ring buffer had no room for */
	uint64_t late_ends;	  /* records only: last bytes framed after their send returned */
};

/* The model BPF evaluates, from a config (weights as fixed point). 0 or -ERANGE. Pure. */
int model_params_from_config(const struct energy_config *cfg, struct model_params *out);

int requests__open(const struct request_handles *h, const struct energy_config *cfg,
		   struct requests **out);
int requests__set_factor(struct requests *rt, double uj_per_score);
int requests__totals(struct requests *rt, struct request_totals *out);
/* A CPU's model weight after its kHz changed without a cpu_frequency event (the kernel
 * keeps cpu_freq_weight current itself when events come). 0 or a negative errno. */
int requests__set_cpu_khz(struct requests *rt, const struct energy_config *cfg, uint32_t cpu,
			  uint32_t khz);
/* Adds µJ to a process's cumulative total in the proc_energy_uj map. */
void requests__add_process_energy(struct requests *rt, uint32_t tgid, uint64_t uj);
/* Drops the proc_energy_uj entries of processes that ended (signals__take_exited):
 * the map keeps live processes only, and a reused PID starts again from 0. */
void requests__forget_processes(struct requests *rt, const uint32_t *tgids, int n);
const char *skip_reason_name(enum skip_reason reason);
const char *unframed_reason_name(enum unframed_reason reason);
const char *http_end_name(enum http_end how);
/* The records ring buffer's map fd (request_log.h reads it); -1 without records. */
int requests__records_fd(struct requests *rt);
/*
 * At stop (issue 13): takes out of the slot map each record whose response ended but whose
 * tail has not (the writer's next receive never came), as the event BPF would have sent
 * without that tail; BPF can no longer send them (the delete decides, as in emit_slot()).
 * *out (malloc'd, the caller frees) and *n; 0 or a negative errno. On an error *out and *n
 * still hold what was taken (BPF can no longer send those): write them.
 */
int requests__take_waiting(struct requests *rt, struct request_event **out, size_t *n);
/*
 * Its part for slot_ring (entries mapped at ring): each ended slot, copied, then taken with
 * its tag's compare-and-swap to 0 (the close's drop in BPF may win it), appended to *ev
 * (*taken used of *cap, grown before a slot is taken). Exposed for its unit test.
 */
int requests__take_ring_slots(struct req_slot *ring, uint32_t entries, struct request_event **ev,
			      size_t *taken, size_t *cap);
/*
 * At stop, before the last interval's requests__totals(): BPF sends and counts no more
 * records (they stay in their slots for requests__take_waiting()), so that the last
 * interval and the records written agree exactly.
 */
void requests__stop_records(struct requests *rt);
void requests__close(struct requests *rt);

#endif
