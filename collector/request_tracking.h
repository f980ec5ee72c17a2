/* SPDX-License-Identifier: MIT */
/*
 * Per-request attribution: the user side of requests.bpf.c.
 *
 *   request_tracking__prepare()  before load: pick the receive hook (fexit/tcp_recvmsg,
 *                                else tp_btf/sock_recv_length, else kprobe/tcp_recvmsg),
 *                                size the maps, or leave every request program out
 *   request_tracking__attach()   after load: write the model and the header options,
 *                                attach sockops and ingress to the cgroup, sk_msg to the
 *                                sockhash (not with no_header), the receive hook
 *   request_tracking__set_factor()  psys mode: the live µJ per score unit (one atomic
 *                                64-bit store: BPF never reads half a factor)
 *   request_tracking__totals()   cumulative counters, summed over CPUs
 *   request_tracking__records_fd()  the records ring buffer, for request_log.h
 */
#ifndef COLLECTOR_REQUEST_TRACKING_H
#define COLLECTOR_REQUEST_TRACKING_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "signals.h"

struct http_energy_bpf;
struct request_tracking;

/* What is done to responses (--no-header, --header-ports, --header-quantum-uj). */
struct header_opts {
	bool no_header;		   /* no sk_msg: no socket in the sockhash, nothing rewritten */
	const uint64_t *port_bits; /* header_ports.h bit set; NULL: every port */
	uint32_t quantum_uj;	   /* header value rounded to a multiple of this; 0 or 1: none */
	bool records;		   /* --request-log: sk_msg frames even with no_header */
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
};

/* The model BPF evaluates, from a config (weights as fixed point). 0 or -ERANGE. Pure. */
int model_params_from_config(const struct energy_config *cfg, struct model_params *out);

/* record_ring_kb: the records ring buffer (rounded up to a power-of-two number of pages);
 * 0: no records (the BPF side then never touches the ring buffer or the request slots). */
int request_tracking__prepare(struct http_energy_bpf *skel, bool enable, uint32_t max_conns,
			      uint32_t record_ring_kb);
int request_tracking__attach(struct http_energy_bpf *skel, const char *cgroup_path,
			     const struct energy_config *cfg, const struct header_opts *hopts,
			     struct request_tracking **out);
int request_tracking__set_factor(struct request_tracking *rt, double uj_per_score);
int request_tracking__totals(struct request_tracking *rt, struct request_totals *out);
/* A CPU's model weight after its kHz changed without a cpu_frequency event (the kernel
 * keeps cpu_freq_weight current itself when events come). 0 or a negative errno. */
int request_tracking__set_cpu_khz(struct request_tracking *rt, const struct energy_config *cfg,
				  uint32_t cpu, uint32_t khz);
/* Adds µJ to a process's cumulative total in the proc_energy_uj map. */
void request_tracking__add_process_energy(struct request_tracking *rt, uint32_t tgid,
					  uint64_t uj);
const char *skip_reason_name(enum skip_reason reason);
const char *unframed_reason_name(enum unframed_reason reason);
const char *http_end_name(enum http_end how);
/* The records ring buffer's map fd (request_log.h reads it). */
int request_tracking__records_fd(struct request_tracking *rt);
void request_tracking__detach(struct request_tracking *rt);

#endif
