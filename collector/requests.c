// SPDX-License-Identifier: MIT
#include "requests_api.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fixed_point.h"
#include "log.h"
#include "request_energy.h"

struct requests {
	struct request_handles h;
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
#define ENCODE_FEATURE_(ID, name, weight, avail, fit, field) \
	err = err ?: encode(cfg->weight, &out->feature[MF_##ID], #weight);
	MODEL_FEATURES_BPF(ENCODE_FEATURE_)
#undef ENCODE_FEATURE_
	return err;
}

/* Each CPU's weight at its current kHz, until cpu_frequency events keep it current. */
static int seed_cpu_weights(struct requests *rt, const struct energy_config *cfg)
{
	for (int cpu = 0; cpu < rt->ncpus && cpu < SIGNALS_MAX_CPUS; cpu++) {
		uint32_t key = (uint32_t)cpu, khz = 0;
		struct model_weight w;
		int err;

		bpf_map_lookup_elem(rt->h.cpu_khz_fd, &key, &khz);
		err = encode(config_freq_weight(cfg, khz), &w, "freq_khz");
		if (err)
			return err;
		if (bpf_map_update_elem(rt->h.cpu_freq_weight_fd, &key, &w, BPF_ANY)) {
			err = -errno;
			log_error("requests: writing cpu_freq_weight of CPU %d: %s", cpu,
				  strerror(errno));
			return err;
		}
	}
	return 0;
}

int requests__set_cpu_khz(struct requests *rt, const struct energy_config *cfg, uint32_t cpu,
			  uint32_t khz)
{
	struct model_weight w;
	int err = encode(config_freq_weight(cfg, khz), &w, "freq_khz");

	if (err)
		return err;
	if (bpf_map_update_elem(rt->h.cpu_freq_weight_fd, &cpu, &w, BPF_ANY))
		return -errno;
	return 0;
}

int requests__open(const struct request_handles *h, const struct energy_config *cfg,
		   struct requests **out)
{
	struct requests *rt = calloc(1, sizeof(*rt));
	int err, zero = 0;

	if (!rt)
		return -ENOMEM;
	rt->h = *h;
	rt->ncpus = libbpf_num_possible_cpus();
	rt->vals = calloc((size_t)rt->ncpus, sizeof(*rt->vals));
	if (!rt->vals) {
		err = -ENOMEM;
		goto fail;
	}
	err = model_params_from_config(cfg, &rt->params);
	if (err)
		goto fail;
	if (bpf_map_update_elem(h->model_fd, &zero, &rt->params, BPF_ANY)) {
		err = -errno;
		log_error("requests: writing the model: %s", strerror(errno));
		goto fail;
	}
	err = seed_cpu_weights(rt, cfg);
	if (err)
		goto fail;
	*out = rt;
	return 0;
fail:
	requests__close(rt);
	return err;
}

int requests__set_factor(struct requests *rt, double uj_per_score)
{
	struct fixed_weight fw;

	if (uj_per_score > FIXED_WEIGHT_MAX)
		uj_per_score = FIXED_WEIGHT_MAX;
	if (uj_per_score < 0 || fixed_weight_encode(uj_per_score, &fw))
		return -ERANGE;
	/* One aligned 64-bit store into the mmap'ed .bss: BPF reads old or new, never a mix
	 * (rewriting {mantissa, shift} in the model map could be read half-way). */
	__atomic_store_n(rt->h.uj_per_score_word, req_factor_pack(&fw),
			 __ATOMIC_RELEASE);
	return 0;
}

int requests__totals(struct requests *rt, struct request_totals *out)
{
	int zero = 0;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(rt->h.req_counters_fd, &zero, rt->vals))
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
		out->late_ends += c->late_ends;
	}
	return 0;
}

int requests__records_fd(struct requests *rt)
{
	return rt->h.records_fd;
}


void requests__stop_records(struct requests *rt)
{
	if (!rt || !rt->h.records_stopped)
		return;
	__atomic_store_n(rt->h.records_stopped, 1, __ATOMIC_SEQ_CST);
	/* a program that read the word before the store finishes within microseconds */
	usleep(2000);
}

/* Room for one more event in *ev (*taken used of *cap): before a slot is taken, so that an
 * allocation failure never loses one that BPF can no longer send. */
static int ev_room(struct request_event **ev, size_t taken, size_t *cap)
{
	size_t ncap = *cap ? 2 * *cap : 64;
	struct request_event *grown;

	if (taken < *cap)
		return 0;
	grown = realloc(*ev, ncap * sizeof(**ev));
	if (!grown)
		return -ENOMEM;
	*ev = grown;
	*cap = ncap;
	return 0;
}

int requests__take_ring_slots(struct req_slot *ring, uint32_t entries, struct request_event **ev,
			      size_t *taken, size_t *cap)
{
	struct req_slot slot;

	for (uint32_t i = 0; i < entries; i++) {
		uint64_t tag = __atomic_load_n(&ring[i].tag, __ATOMIC_ACQUIRE);

		/* REQ_SLOT_BUSY: being cleared for a new owner; what it holds is no record */
		if (!tag || tag == REQ_SLOT_BUSY || !ring[i].end_ns)
			continue;
		if (ev_room(ev, *taken, cap))
			return -ENOMEM;
		memcpy(&slot, &ring[i], sizeof(slot));
		if (!__atomic_compare_exchange_n(&ring[i].tag, &tag, 0, false, __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST))
			continue; /* BPF's drop at a close won: not ours */
		memset(&(*ev)[*taken], 0, sizeof(**ev));
		request_event_of_slot(&(*ev)[(*taken)++], slot.cookie, &slot, slot.rec_fx,
				      slot.rec_ns);
	}
	return 0;
}

/* slot_ring's ended slots (requests__take_ring_slots() over its mmap'd entries). */
static int take_ring(int fd, struct request_event **ev, size_t *taken, size_t *cap)
{
	struct bpf_map_info info = { 0 };
	uint32_t info_len = sizeof(info);
	struct req_slot *ring;
	size_t bytes;
	int err;

	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return -errno;
	if (info.value_size != sizeof(*ring))
		return -EINVAL;
	bytes = (size_t)info.max_entries * sizeof(*ring);
	ring = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ring == MAP_FAILED)
		return -errno;
	err = requests__take_ring_slots(ring, info.max_entries, ev, taken, cap);
	munmap(ring, bytes);
	return err;
}

int requests__take_waiting(struct requests *rt, struct request_event **out, size_t *n)
{
	struct bpf_map_info info = { 0 };
	uint32_t info_len = sizeof(info);
	struct req_slot_key *keys = NULL;
	struct request_event *ev = NULL;
	size_t nkeys = 0, cap = 0, taken = 0, ev_cap;
	struct req_slot slot;
	int fd = rt->h.req_slots_fd, err = 0;

	*out = NULL;
	*n = 0;
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return -errno;
	/* The keys first (deleting while walking would restart the walk); a walk that BPF's
	 * deletes restart is bounded (a key seen twice is taken once: the delete decides). */
	while (nkeys < 2 * (size_t)info.max_entries) {
		if (nkeys == cap) {
			size_t ncap = cap ? 2 * cap : 256;
			struct req_slot_key *grown = realloc(keys, ncap * sizeof(*keys));

			if (!grown) {
				err = -ENOMEM;
				goto cleanup;
			}
			keys = grown;
			cap = ncap;
		}
		if (bpf_map_get_next_key(fd, nkeys ? &keys[nkeys - 1] : NULL, &keys[nkeys]))
			break; /* ENOENT: the end */
		nkeys++;
	}
	ev = calloc(nkeys ? nkeys : 1, sizeof(*ev));
	if (!ev) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < nkeys; i++) {
		if (bpf_map_lookup_elem(fd, &keys[i], &slot) || !slot.end_ns)
			continue;
		if (bpf_map_delete_elem(fd, &keys[i]))
			continue; /* BPF sent it meanwhile */
		/* as emit_slot() would have sent it, with no tail added */
		memset(&ev[taken], 0, sizeof(ev[taken]));
		request_event_of_slot(&ev[taken++], keys[i].cookie, &slot, slot.rec_fx,
				      slot.rec_ns);
	}
	/* what the hash gave stays taken (BPF can no longer send it) even if the ring fails */
	ev_cap = nkeys ? nkeys : 1;
	err = take_ring(rt->h.slot_ring_fd, &ev, &taken, &ev_cap);
	*out = ev;
	*n = taken;
	ev = NULL;
cleanup:
	free(ev);
	free(keys);
	return err;
}

void requests__add_process_energy(struct requests *rt, uint32_t tgid, uint64_t uj)
{
	uint64_t total = 0;

	bpf_map_lookup_elem(rt->h.proc_energy_fd, &tgid, &total);
	total += uj;
	bpf_map_update_elem(rt->h.proc_energy_fd, &tgid, &total, BPF_ANY);
}

void requests__forget_processes(struct requests *rt, const uint32_t *tgids, int n)
{
	for (int i = 0; i < n; i++)
		bpf_map_delete_elem(rt->h.proc_energy_fd, &tgids[i]);
}

const char *skip_reason_name(enum skip_reason reason)
{
	switch (reason) {
	case SKIP_BATCHED: return "batched";
	case SKIP_PORT: return "other port";
	case SKIP_PULL_FAILED: return "pull failed";
	case SKIP_PUSH_FAILED: return "push failed";
	case SKIP_SEND_BUFFER: return "send buffer";
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
	case UNFRAMED_UNSEEN: return "unseen bytes";
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

void requests__close(struct requests *rt)
{
	if (!rt)
		return;
	free(rt->vals);
	free(rt);
}
