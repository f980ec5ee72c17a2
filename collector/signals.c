// SPDX-License-Identifier: MIT
#include "signals_api.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cpu_freq.h"
#include "log.h"

struct signals {
	struct signals_handles h;
	struct signals_available avail;
	int ncpus;		/* possible CPUs: per-CPU map value count */
	int *pmu_fds;		/* [PMU_COUNTERS][ncpus], -1 where not open */
	uint32_t epoch;
	uint64_t t_last_ns;
	struct cpu_signals *cpu_vals;	/* ncpus values of one cpu_bins entry */
	struct proc_key *keys;		/* drain buffers, max_procs entries */
	struct proc_signals *proc_vals;	/* max_procs * ncpus */
	struct proc_interval *procs;	/* the last interval's processes */
	uint32_t max_procs;
	bool batch_ok;
	int (*at_cut)(void *ctx, uint64_t t_ns);
	void *at_cut_ctx;
	/* Frequencies re-read each interval where cpufreq exists (cpu_freq_refresh). */
	bool freq_refresh;
	const char *root;
	uint32_t *khz;
	uint64_t *freq_events, *freq_seen;
	bool *freq_changed;
	void (*on_freq_change)(void *ctx, uint32_t cpu, uint32_t khz);
	void *on_freq_change_ctx;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int open_pmu(struct signals *s)
{
	static const uint64_t configs[PMU_COUNTERS] = {
		[PMU_CYCLES] = PERF_COUNT_HW_CPU_CYCLES,
		[PMU_INSTRUCTIONS] = PERF_COUNT_HW_INSTRUCTIONS,
		[PMU_CACHE_MISSES] = PERF_COUNT_HW_CACHE_MISSES,
	};
	static const char *const names[PMU_COUNTERS] = { "cycles", "instructions",
							 "cache-misses" };

	s->pmu_fds = malloc(sizeof(int) * PMU_COUNTERS * (size_t)s->ncpus);
	if (!s->pmu_fds)
		return -ENOMEM;
	for (int i = 0; i < PMU_COUNTERS * s->ncpus; i++)
		s->pmu_fds[i] = -1;
	for (int c = 0; c < PMU_COUNTERS; c++) {
		for (int cpu = 0; cpu < s->ncpus; cpu++) {
			struct perf_event_attr attr = { .type = PERF_TYPE_HARDWARE,
							.size = sizeof(attr),
							.config = configs[c] };
			int fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1,
					      PERF_FLAG_FD_CLOEXEC);

			if (fd < 0 && errno == ENODEV)
				continue; /* a possible but offline CPU */
			if (fd < 0) {
				log_info("signals: PMU counters unavailable (perf_event_open %s on "
					 "CPU %d: %s); cycles, instructions and cache_misses will "
					 "be empty", names[c], cpu, strerror(errno));
				return 0;
			}
			s->pmu_fds[c * s->ncpus + cpu] = fd;
		}
	}
	s->avail.pmu = true;
	return 0;
}

static int fill_pmu_maps(struct signals *s)
{
	for (int c = 0; c < PMU_COUNTERS; c++) {
		for (int cpu = 0; cpu < s->ncpus; cpu++) {
			uint32_t key = (uint32_t)cpu;
			int fd = s->pmu_fds[c * s->ncpus + cpu];

			if (fd >= 0 && bpf_map_update_elem(s->h.pmu_fd[c], &key, &fd, BPF_ANY))
				return -errno;
		}
	}
	return 0;
}

static void close_pmu(struct signals *s)
{
	if (!s->pmu_fds)
		return;
	for (int i = 0; i < PMU_COUNTERS * s->ncpus; i++)
		if (s->pmu_fds[i] >= 0)
			close(s->pmu_fds[i]);
	free(s->pmu_fds);
	s->pmu_fds = NULL;
}

static int seed_frequencies(struct signals *s, const char *root)
{
	uint32_t *khz = s->khz;
	enum cpu_freq_origin origin;
	int fd = s->h.cpu_khz_fd;

	origin = cpu_freq_seed(root, khz, s->ncpus);
	s->freq_refresh = origin == CPU_FREQ_CPUFREQ;
	for (int cpu = 0; cpu < s->ncpus && cpu < SIGNALS_MAX_CPUS; cpu++) {
		uint32_t key = (uint32_t)cpu;

		if (bpf_map_update_elem(fd, &key, &khz[cpu], BPF_ANY)) {
			int err = -errno;

			log_error("signals: seeding cpu_khz of CPU %d: %s", cpu, strerror(errno));
			return err;
		}
	}
	log_info("signals: CPU frequency at start from %s (CPU 0: %u kHz)%s",
		 cpu_freq_origin_name(origin), khz[0],
		 s->freq_refresh ? "; re-read each interval on CPUs without cpu_frequency events"
				 : "");
	return 0;
}

/* At a cut: CPUs whose cpu_frequency did not fire get scaling_cur_freq re-read. */
static void refresh_frequencies(struct signals *s)
{
	int fd = s->h.cpu_freq_events_fd, khz_fd;

	if (!s->freq_refresh)
		return;
	for (int cpu = 0; cpu < s->ncpus && cpu < SIGNALS_MAX_CPUS; cpu++) {
		uint32_t key = (uint32_t)cpu;

		if (bpf_map_lookup_elem(fd, &key, &s->freq_events[cpu]))
			s->freq_events[cpu] = s->freq_seen[cpu] + 1; /* unknown: leave it alone */
	}
	if (!cpu_freq_refresh(s->root, s->ncpus, s->freq_events, s->freq_seen, s->khz,
			      s->freq_changed))
		return;
	khz_fd = s->h.cpu_khz_fd;
	for (int cpu = 0; cpu < s->ncpus && cpu < SIGNALS_MAX_CPUS; cpu++) {
		uint32_t key = (uint32_t)cpu;

		if (!s->freq_changed[cpu])
			continue;
		bpf_map_update_elem(khz_fd, &key, &s->khz[cpu], BPF_ANY);
		log_debug("signals: CPU %d now at %u kHz (scaling_cur_freq)", cpu, s->khz[cpu]);
		if (s->on_freq_change)
			s->on_freq_change(s->on_freq_change_ctx, key, s->khz[cpu]);
	}
}

/* Moves every CPU to the new epoch, closing the slices running there. */
static int flush_cpus(struct signals *s)
{
	int fd = s->h.flush_prog_fd;

	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .flags = BPF_F_TEST_RUN_ON_CPU,
			    .cpu = (__u32)cpu);
		int err = bpf_prog_test_run_opts(fd, &opts);

		if (err == -ENXIO)
			continue; /* offline: nothing runs there */
		if (err) {
			log_error("signals: flushing CPU %d: %s", cpu, strerror(-err));
			return err;
		}
	}
	return 0;
}

static void merge_freqs(struct interval_signals *out, const struct freq_slot *slot)
{
	size_t i;

	if (!slot->runtime_ns)
		return;
	for (i = 0; i < out->num_freqs && out->freqs[i].khz < slot->khz; i++)
		;
	if (i < out->num_freqs && out->freqs[i].khz == slot->khz) {
		out->freqs[i].runtime_ns += slot->runtime_ns;
		return;
	}
	if (out->num_freqs == SIGNALS_MAX_FREQS) {
		out->freqs_truncated = true;
		out->freqs[0].runtime_ns += slot->runtime_ns;
		return;
	}
	memmove(&out->freqs[i + 1], &out->freqs[i], (out->num_freqs - i) * sizeof(out->freqs[0]));
	out->freqs[i].khz = slot->khz;
	out->freqs[i].runtime_ns = slot->runtime_ns;
	out->num_freqs++;
}

static bool proc_signals_empty(const struct proc_signals *p)
{
	static const struct proc_signals zero;

	return memcmp(p, &zero, sizeof(zero)) == 0;
}

/* A CPU's overflow bucket joins out->overflow[] by kHz (see PROC_OVERFLOW_TGID). */
static void add_overflow(struct interval_signals *out, const struct cpu_signals *c)
{
	struct proc_interval *o = NULL;
	const struct proc_signals *v = &c->overflow;

	if (proc_signals_empty(v))
		return;
	for (size_t i = 0; i < out->num_overflow; i++)
		if (out->overflow[i].khz == c->overflow_khz)
			o = &out->overflow[i];
	if (!o && out->num_overflow < SIGNALS_OVERFLOW_ENTRIES) {
		o = &out->overflow[out->num_overflow++];
		o->tgid = PROC_OVERFLOW_TGID;
		o->khz = c->overflow_khz;
	}
	if (!o)
		o = &out->overflow[0]; /* more kHz values than entries: merged */
	o->s.runtime_ns += v->runtime_ns;
	o->s.wakeups += v->wakeups;
	o->s.migrations += v->migrations;
	for (int i = 0; i < PMU_COUNTERS; i++)
		o->s.pmu[i] += v->pmu[i];
	o->s.page_cache_hits += v->page_cache_hits;
	o->s.writebacks += v->writebacks;
}

static int drain_bins(struct signals *s, uint32_t parity, struct interval_signals *out)
{
	int fd = s->h.cpu_bins_fd;
	struct cpu_signals *h = &out->host;

	if (bpf_map_lookup_elem(fd, &parity, s->cpu_vals))
		return -errno;
	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		const struct cpu_signals *c = &s->cpu_vals[cpu];

		h->runtime_ns += c->runtime_ns;
		h->idle_ns += c->idle_ns;
		h->irq_ns += c->irq_ns;
		h->softirq_ns += c->softirq_ns;
		h->kthread_runtime_ns += c->kthread_runtime_ns;
		h->cgroup_runtime_ns += c->cgroup_runtime_ns;
		h->wakeups += c->wakeups;
		h->migrations += c->migrations;
		for (int i = 0; i < PMU_COUNTERS; i++)
			h->pmu[i] += c->pmu[i];
		h->page_cache_hits += c->page_cache_hits;
		h->writebacks += c->writebacks;
		h->proc_overflows += c->proc_overflows;
		add_overflow(out, c);
		h->switches += c->switches;
		for (int i = 0; i < SIGNALS_FREQ_SLOTS; i++)
			merge_freqs(out, &c->freq[i]);
	}
	/* The 16-slot table was full on some CPU: slot 0 took the rest. */
	for (int cpu = 0; cpu < s->ncpus; cpu++)
		if (s->cpu_vals[cpu].freq[SIGNALS_FREQ_SLOTS - 1].runtime_ns)
			out->freqs_truncated = true;
	memset(s->cpu_vals, 0, sizeof(*s->cpu_vals) * (size_t)s->ncpus);
	if (bpf_map_update_elem(fd, &parity, s->cpu_vals, BPF_ANY))
		return -errno;
	return 0;
}

static void sum_proc(struct signals *s, const struct proc_key *key, const struct proc_signals *vals,
		     struct proc_interval *p)
{
	memset(p, 0, sizeof(*p));
	p->tgid = key->tgid;
	p->khz = key->khz;
	p->cgroup_id = key->cgroup_id;
	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		const struct proc_signals *v = &vals[cpu];

		p->s.runtime_ns += v->runtime_ns;
		p->s.wakeups += v->wakeups;
		p->s.migrations += v->migrations;
		for (int i = 0; i < PMU_COUNTERS; i++)
			p->s.pmu[i] += v->pmu[i];
		p->s.page_cache_hits += v->page_cache_hits;
		p->s.writebacks += v->writebacks;
	}
}

/* Empties the idle process map, in batches where the kernel has them. */
static int drain_procs(struct signals *s, int fd, struct interval_signals *out)
{
	size_t n = 0;

	if (s->batch_ok) {
		void *in = NULL;
		struct proc_key batch_key;

		for (;;) {
			__u32 count = s->max_procs - (uint32_t)n;
			int err;

			if (count == 0)
				break;
			err = bpf_map_lookup_and_delete_batch(fd, in, &batch_key, s->keys + n,
							      s->proc_vals + n * (size_t)s->ncpus,
							      &count, NULL);
			for (__u32 i = 0; i < count; i++)
				sum_proc(s, &s->keys[n + i], s->proc_vals + (n + i) * (size_t)s->ncpus,
					 &s->procs[n + i]);
			n += count;
			if (err == -ENOENT)
				break;
			if (err == -EINVAL || err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */) {
				if (n == 0) {
					s->batch_ok = false; /* old kernel: one at a time below */
					break;
				}
			}
			if (err) {
				log_error("signals: draining the process map: %s", strerror(-err));
				return err;
			}
			in = &batch_key;
		}
	}
	if (!s->batch_ok) {
		struct proc_key key;

		while (n < s->max_procs && bpf_map_get_next_key(fd, NULL, &key) == 0) {
			if (bpf_map_lookup_elem(fd, &key, s->proc_vals) == 0)
				sum_proc(s, &key, s->proc_vals, &s->procs[n++]);
			bpf_map_delete_elem(fd, &key);
		}
	}
	/* The overflow bucket is a process entry too (room kept for it: see open). */
	for (size_t i = 0; i < out->num_overflow; i++)
		s->procs[n++] = out->overflow[i];
	out->num_procs = n;
	out->procs = s->procs;
	return 0;
}

int signals__cut(struct signals *s, struct interval_signals *out)
{
	uint32_t old = s->epoch;
	uint64_t t;
	int err;

	/* Before the flush, at which each CPU adopts its cpu_khz entry (signals.bpf.c). */
	refresh_frequencies(s);
	t = now_ns();
	memset(out, 0, sizeof(*out));
	if (s->at_cut) {
		err = s->at_cut(s->at_cut_ctx, t);
		if (err)
			return err;
	}
	s->epoch++;
	__atomic_store_n(s->h.epoch, s->epoch, __ATOMIC_SEQ_CST);
	err = flush_cpus(s);
	if (err)
		return err;
	if (now_ns() - t > 10000000)
		log_info("signals: flushing the CPUs took %.1f ms",
			 (double)(now_ns() - t) / 1e6);
	out->t_start_ns = s->t_last_ns;
	out->t_end_ns = t;
	s->t_last_ns = t;
	err = drain_bins(s, old & 1, out);
	if (err) {
		log_error("signals: reading cpu_bins: %s", strerror(-err));
		return err;
	}
	return drain_procs(s, s->h.procs_fd[old & 1], out);
}

int signals__take_exited(struct signals *s, uint32_t *tgids, int max)
{
	int fd = s->h.exited_tgids_fd;
	uint32_t key, next, e;
	uint32_t *prev = NULL;
	int n = 0;

	/* Ended in epoch e: its last slices were drained by the cut that left epoch e + 1.
	 * (Empty unless on_process_exit is loaded: with request tracking.) */
	while (n < max && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &e) == 0 && (int32_t)(s->epoch - e) >= 2)
			tgids[n++] = key;
	}
	for (int i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &tgids[i]);
	return n;
}

const struct signals_available *signals__available(const struct signals *s)
{
	return &s->avail;
}

int signals__open(const struct signals_opts *opts, struct signals **out)
{
	struct signals *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	s->batch_ok = true;
	s->at_cut = opts->at_cut;
	s->at_cut_ctx = opts->at_cut_ctx;
	s->on_freq_change = opts->on_freq_change;
	s->on_freq_change_ctx = opts->on_freq_change_ctx;
	s->root = opts->root ? opts->root : "";
	s->max_procs = opts->max_procs ? opts->max_procs : SIGNALS_DEFAULT_MAX_PROCS;
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0 || s->ncpus > SIGNALS_MAX_CPUS) {
		log_error("signals: %d possible CPUs (at most %d supported)", s->ncpus,
			  SIGNALS_MAX_CPUS);
		err = -ERANGE;
		goto cleanup;
	}
	s->cpu_vals = calloc((size_t)s->ncpus, sizeof(*s->cpu_vals));
	s->keys = calloc(s->max_procs, sizeof(*s->keys));
	s->proc_vals = calloc((size_t)s->max_procs * (size_t)s->ncpus, sizeof(*s->proc_vals));
	s->procs = calloc(s->max_procs + SIGNALS_OVERFLOW_ENTRIES, sizeof(*s->procs));
	s->khz = calloc((size_t)s->ncpus, sizeof(*s->khz));
	s->freq_events = calloc((size_t)s->ncpus, sizeof(*s->freq_events));
	s->freq_seen = calloc((size_t)s->ncpus, sizeof(*s->freq_seen));
	s->freq_changed = calloc((size_t)s->ncpus, sizeof(*s->freq_changed));
	if (!s->cpu_vals || !s->keys || !s->proc_vals || !s->procs || !s->khz ||
	    !s->freq_events || !s->freq_seen || !s->freq_changed) {
		err = -ENOMEM;
		log_error("signals: out of memory for %u processes", s->max_procs);
		goto cleanup;
	}
	err = open_pmu(s);
	if (err)
		goto cleanup;
	*out = s;
	return 0;
cleanup:
	signals__close(s);
	return err;
}

int signals__bind(struct signals *s, const struct signals_handles *h)
{
	int err;

	s->h = *h;
	if (s->avail.pmu) {
		err = fill_pmu_maps(s);
		if (err) {
			log_error("signals: filling the PMU arrays: %s", strerror(-err));
			return err;
		}
	}
	return seed_frequencies(s, s->root);
}

int signals__begin(struct signals *s, const struct signals_available *hooks)
{
	struct interval_signals discard;
	bool pmu = s->avail.pmu;

	s->avail = *hooks;
	s->avail.pmu = pmu;
	/* Everything charged between attach and now belongs to no interval: drop it. */
	return signals__cut(s, &discard);
}

void signals__close(struct signals *s)
{
	if (!s)
		return;
	close_pmu(s);
	free(s->cpu_vals);
	free(s->keys);
	free(s->proc_vals);
	free(s->procs);
	free(s->khz);
	free(s->freq_events);
	free(s->freq_seen);
	free(s->freq_changed);
	free(s);
}
