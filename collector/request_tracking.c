// SPDX-License-Identifier: MIT
#include "request_tracking.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixed_point.h"
#include "header_ports.h"
#include "http_energy.skel.h"
#include "kernel_features.h"
#include "log.h"
#include "request_energy.h"

#define DEFAULT_MAX_CONNS 65536

struct request_tracking {
	struct http_energy_bpf *skel;
	struct bpf_link *links[3];
	int sk_msg_attached;
	int ncpus;
	struct request_counters *vals;
	struct model_params params;
};

static int encode(double w, struct model_weight *out, const char *what)
{
	struct fixed_weight fw;

	if (fixed_weight_encode(w, &fw)) {
		log_error("%s: %g cannot be used in the kernel (0..%g)", what, w, FIXED_WEIGHT_MAX);
		return -ERANGE;
	}
	out->mantissa = fw.mantissa;
	out->shift = fw.shift;
	out->pad = 0;
	return 0;
}

int model_params_from_config(const struct energy_config *cfg, struct model_params *out)
{
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->mode = cfg->attribution_mode == ATTRIBUTION_MODEL ? ATTRIB_MODEL : ATTRIB_PSYS;
	out->num_freqs = cfg->num_freqs < MODEL_MAX_FREQS ? (unsigned)cfg->num_freqs
							   : MODEL_MAX_FREQS;
	for (unsigned i = 0; i < out->num_freqs && !err; i++) {
		out->freq_khz[i] = cfg->freqs[i].freq_khz;
		err = encode(cfg->freqs[i].weight, &out->freq[i], "freq_khz");
	}
	err = err ?: encode(cfg->default_multiplier, &out->default_multiplier,
			    "default_multiplier");
	err = err ?: encode(cfg->wakeup_penalty, &out->wakeup, "wakeup_penalty");
	err = err ?: encode(cfg->migration_penalty, &out->migration, "migration_penalty");
	err = err ?: encode(cfg->cycles_weight, &out->pmu[PMU_CYCLES], "cycles_weight");
	err = err ?: encode(cfg->instructions_weight, &out->pmu[PMU_INSTRUCTIONS],
			    "instructions_weight");
	err = err ?: encode(cfg->cache_miss_weight, &out->pmu[PMU_CACHE_MISSES],
			    "cache_miss_weight");
	return err;
}

/* The ring buffer's size: a power-of-two number of pages, at least one. */
static uint32_t ring_bytes(uint32_t kb)
{
	uint64_t want = (uint64_t)kb * 1024, page = (uint64_t)sysconf(_SC_PAGESIZE), sz = page;

	while (sz < want && sz < (1ULL << 30))
		sz <<= 1;
	return (uint32_t)sz;
}

int request_tracking__prepare(struct http_energy_bpf *skel, bool enable, uint32_t max_conns,
			      uint32_t record_ring_kb)
{
	struct bpf_program *request_progs[] = { skel->progs.on_sockops, skel->progs.on_ingress,
						skel->progs.on_msg, skel->progs.recv_fexit,
						skel->progs.recv_tp, skel->progs.recv_kprobe };
	int err;

	skel->rodata->track_requests = enable;
	bpf_map__set_max_entries(skel->maps.conns, max_conns ? max_conns : DEFAULT_MAX_CONNS);
	bpf_map__set_max_entries(skel->maps.sock_hash, max_conns ? max_conns : DEFAULT_MAX_CONNS);
	/* a request awaiting its response per slot: up to CONN_KINDS per connection, but
	 * most connections hold one or none */
	bpf_map__set_max_entries(skel->maps.req_slots, max_conns ? max_conns : DEFAULT_MAX_CONNS);
	skel->rodata->emit_records = enable && record_ring_kb > 0;
	bpf_map__set_max_entries(skel->maps.records, ring_bytes(enable ? record_ring_kb : 0));
	if (!enable) {
		for (size_t i = 0; i < sizeof(request_progs) / sizeof(request_progs[0]); i++)
			bpf_program__set_autoload(request_progs[i], false);
		return 0;
	}
	/* One receive hook: fexit where the kernel allows it, else the tracepoint. */
	err = probe_fentry("tcp_recvmsg", true);
	bpf_program__set_autoload(skel->progs.recv_fexit, err == 0);
	if (err) {
		bool tp = kernel_has_tracepoint("sock_recv_length");

		log_info("requests: fexit/tcp_recvmsg refused by the kernel (%s); using %s",
			 strerror(-err), tp ? "tp_btf/sock_recv_length" : "kprobe/tcp_recvmsg");
		bpf_program__set_autoload(skel->progs.recv_tp, tp);
		bpf_program__set_autoload(skel->progs.recv_kprobe, !tp);
	} else {
		bpf_program__set_autoload(skel->progs.recv_tp, false);
		bpf_program__set_autoload(skel->progs.recv_kprobe, false);
	}
	return 0;
}

/* Each CPU's weight at its current kHz, until cpu_frequency events keep it current. */
static int seed_cpu_weights(struct request_tracking *rt, const struct energy_config *cfg)
{
	for (int cpu = 0; cpu < rt->ncpus && cpu < SIGNALS_MAX_CPUS; cpu++) {
		uint32_t key = (uint32_t)cpu, khz = 0;
		struct model_weight w;
		int err;

		bpf_map__lookup_elem(rt->skel->maps.cpu_khz, &key, sizeof(key), &khz, sizeof(khz), 0);
		err = encode(config_freq_weight(cfg, khz), &w, "freq_khz");
		if (err)
			return err;
		if (bpf_map__update_elem(rt->skel->maps.cpu_freq_weight, &key, sizeof(key), &w,
					 sizeof(w), BPF_ANY))
			return -errno;
	}
	return 0;
}

int request_tracking__set_cpu_khz(struct request_tracking *rt, const struct energy_config *cfg,
				  uint32_t cpu, uint32_t khz)
{
	struct model_weight w;
	int err = encode(config_freq_weight(cfg, khz), &w, "freq_khz");

	if (err)
		return err;
	if (bpf_map__update_elem(rt->skel->maps.cpu_freq_weight, &cpu, sizeof(cpu), &w, sizeof(w),
				 BPF_ANY))
		return -errno;
	return 0;
}

static struct bpf_program *recv_hook(struct http_energy_bpf *skel, const char **name)
{
	if (bpf_program__autoload(skel->progs.recv_fexit)) {
		*name = "fexit/tcp_recvmsg";
		return skel->progs.recv_fexit;
	}
	if (bpf_program__autoload(skel->progs.recv_tp)) {
		*name = "tp_btf/sock_recv_length";
		return skel->progs.recv_tp;
	}
	*name = "kprobe/tcp_recvmsg";
	return skel->progs.recv_kprobe;
}

/* Before anything is attached: nothing reads the .bss yet. */
static void set_header_opts(struct http_energy_bpf *skel, const struct header_opts *h)
{
	skel->bss->no_sk_msg = h->no_header && !h->records;
	skel->bss->header_none = h->no_header;
	skel->bss->header_quantum_uj = h->quantum_uj;
	skel->bss->header_ports_filter = h->port_bits != NULL;
	if (h->port_bits)
		memcpy(skel->bss->header_port_bits, h->port_bits,
		       sizeof(skel->bss->header_port_bits));
}

int request_tracking__attach(struct http_energy_bpf *skel, const char *cgroup_path,
			     const struct energy_config *cfg, const struct header_opts *hopts,
			     struct request_tracking **out)
{
	struct request_tracking *rt = calloc(1, sizeof(*rt));
	const char *recv_name;
	struct bpf_program *recv;
	int cg_fd = -1, err, zero = 0;

	if (!rt)
		return -ENOMEM;
	rt->skel = skel;
	rt->ncpus = libbpf_num_possible_cpus();
	rt->vals = calloc((size_t)rt->ncpus, sizeof(*rt->vals));
	if (!rt->vals) {
		err = -ENOMEM;
		goto fail;
	}
	err = model_params_from_config(cfg, &rt->params);
	if (err)
		goto fail;
	if (bpf_map__update_elem(skel->maps.model, &zero, sizeof(zero), &rt->params,
				 sizeof(rt->params), BPF_ANY)) {
		err = -errno;
		log_error("requests: writing the model: %s", strerror(errno));
		goto fail;
	}
	err = seed_cpu_weights(rt, cfg);
	if (err)
		goto fail;
	set_header_opts(skel, hopts);
	cg_fd = open(cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		err = -errno;
		log_error("%s: %s", cgroup_path, strerror(errno));
		goto fail;
	}
	rt->links[0] = bpf_program__attach_cgroup(skel->progs.on_sockops, cg_fd);
	if (!rt->links[0]) {
		err = -errno;
		log_error("requests: attaching sockops to %s: %s", cgroup_path, strerror(errno));
		goto fail;
	}
	rt->links[1] = bpf_program__attach_cgroup(skel->progs.on_ingress, cg_fd);
	if (!rt->links[1]) {
		err = -errno;
		log_error("requests: attaching cgroup_skb/ingress to %s: %s", cgroup_path,
			  strerror(errno));
		goto fail;
	}
	if (!skel->bss->no_sk_msg) {
		err = bpf_prog_attach(bpf_program__fd(skel->progs.on_msg),
				      bpf_map__fd(skel->maps.sock_hash), BPF_SK_MSG_VERDICT, 0);
		if (err) {
			err = -errno;
			log_error("requests: attaching sk_msg to the sockhash: %s", strerror(errno));
			goto fail;
		}
		rt->sk_msg_attached = 1;
	}
	recv = recv_hook(skel, &recv_name);
	if (recv == skel->progs.recv_kprobe)
		rt->links[2] = bpf_program__attach_kprobe(recv, false, "tcp_recvmsg");
	else
		rt->links[2] = bpf_program__attach(recv);
	if (!rt->links[2]) {
		err = -errno;
		log_error("requests: attaching %s: %s; no receive hook is left, so threads cannot "
			  "be bound to requests", recv_name, strerror(errno));
		goto fail;
	}
	log_info("requests: sockops and cgroup_skb/ingress on %s, %s, work follows the "
		 "connection of each socket operation (receive: %s; send: sk_msg); %s mode",
		 cgroup_path,
		 skel->bss->no_sk_msg ? "no sk_msg (--no-header: responses are not rewritten or "
					"counted)"
		 : hopts->no_header   ? "sk_msg on the sockhash, framing only (--no-header with "
					"--request-log: nothing rewritten)"
				      : "sk_msg on the sockhash",
		 recv_name, config_mode_name(cfg->attribution_mode));
	if (!hopts->no_header && (hopts->port_bits || hopts->quantum_uj > 1))
		log_info("requests: X-Energy-Score on %s, rounded to a multiple of %u uJ",
			 hopts->port_bits ? "the --header-ports only" : "every port",
			 hopts->quantum_uj > 1 ? hopts->quantum_uj : 1);
	close(cg_fd);
	*out = rt;
	return 0;
fail:
	if (cg_fd >= 0)
		close(cg_fd);
	request_tracking__detach(rt);
	return err;
}

int request_tracking__set_factor(struct request_tracking *rt, double uj_per_score)
{
	struct fixed_weight fw;

	if (uj_per_score > FIXED_WEIGHT_MAX)
		uj_per_score = FIXED_WEIGHT_MAX;
	if (uj_per_score < 0 || fixed_weight_encode(uj_per_score, &fw))
		return -ERANGE;
	/* One aligned 64-bit store into the mmap'ed .bss: BPF reads old or new, never a mix
	 * (rewriting {mantissa, shift} in the model map could be read half-way). */
	__atomic_store_n(&rt->skel->bss->uj_per_score_word, req_factor_pack(&fw),
			 __ATOMIC_RELEASE);
	return 0;
}

int request_tracking__totals(struct request_tracking *rt, struct request_totals *out)
{
	int zero = 0;

	memset(out, 0, sizeof(*out));
	if (bpf_map__lookup_elem(rt->skel->maps.req_counters, &zero, sizeof(zero), rt->vals,
				 sizeof(*rt->vals) * (size_t)rt->ncpus, 0))
		return -errno;
	for (int cpu = 0; cpu < rt->ncpus; cpu++) {
		const struct request_counters *c = &rt->vals[cpu];

		out->heads += c->heads;
		out->responses += c->responses;
		out->injected += c->injected;
		for (int i = 0; i < SKIP_REASONS; i++)
			out->skipped[i] += c->skipped[i];
		out->energy_uj += c->energy_uj;
		out->informational += c->informational;
		out->desynced += c->desynced;
		out->not_http += c->not_http;
		out->conn_overflows += c->conn_overflows;
		out->too_deep += c->too_deep;
		out->resynced += c->resynced;
		out->early_heads += c->early_heads;
		for (int i = 0; i < UNFRAMED_REASONS; i++)
			out->unframed[i] += c->unframed[i];
		for (int i = 0; i < END_REASONS; i++)
			out->ended[i] += c->ended[i];
		out->completed += c->completed;
		out->completed_uj_fx += c->completed_uj_fx;
		out->records_dropped += c->records_dropped;
	}
	return 0;
}

int request_tracking__records_fd(struct request_tracking *rt)
{
	return bpf_map__fd(rt->skel->maps.records);
}

void request_tracking__add_process_energy(struct request_tracking *rt, uint32_t tgid,
					  uint64_t uj)
{
	uint64_t total = 0;

	bpf_map__lookup_elem(rt->skel->maps.proc_energy_uj, &tgid, sizeof(tgid), &total,
			     sizeof(total), 0);
	total += uj;
	bpf_map__update_elem(rt->skel->maps.proc_energy_uj, &tgid, sizeof(tgid), &total,
			     sizeof(total), BPF_ANY);
}

const char *skip_reason_name(enum skip_reason reason)
{
	switch (reason) {
	case SKIP_BATCHED: return "batched";
	case SKIP_PORT: return "other port";
	case SKIP_PULL_FAILED: return "pull failed";
	case SKIP_PUSH_FAILED: return "push failed";
	default: return "?";
	}
}

const char *unframed_reason_name(enum unframed_reason reason)
{
	switch (reason) {
	case UNFRAMED_NOT_A_STATUS: return "status not HTTP/1.x";
	case UNFRAMED_HEAD_TOO_LONG: return "head too long";
	case UNFRAMED_TRANSFER_CODING: return "transfer coding";
	case UNFRAMED_LENGTH: return "conflicting lengths";
	case UNFRAMED_BAD_HEAD: return "bad head";
	case UNFRAMED_BAD_CHUNK: return "bad chunk";
	case UNFRAMED_UNSOLICITED: return "unsolicited";
	case UNFRAMED_PULL_FAILED: return "unreadable";
	case UNFRAMED_TOO_COMPLEX: return "too complex";
	default: return "?";
	}
}

const char *http_end_name(enum http_end how)
{
	switch (how) {
	case END_UPGRADED: return "upgraded";
	case END_TUNNEL: return "tunnel";
	case END_CLOSE_DELIMITED: return "close-delimited";
	default: return "?";
	}
}

void request_tracking__detach(struct request_tracking *rt)
{
	if (!rt)
		return;
	for (int i = 0; i < 3; i++)
		bpf_link__destroy(rt->links[i]);
	if (rt->sk_msg_attached)
		bpf_prog_detach2(bpf_program__fd(rt->skel->progs.on_msg),
				 bpf_map__fd(rt->skel->maps.sock_hash), BPF_SK_MSG_VERDICT);
	free(rt->vals);
	free(rt);
}
