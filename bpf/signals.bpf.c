// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * Host-wide and per-process signals for the interval CSV: on-CPU runtime per process and
 * CPU frequency, idle, IRQ and softirq time per CPU, kernel-thread and cgroup runtime,
 * wakeups, migrations, PMU counters, page-cache hits and writebacks. Slices of threads
 * serving a request are also charged to that request (below, through requests.bpf.h).
 *
 * sched_switch is the hot path: one per-CPU array lookup (cpu_state: the slice sums wait
 * there for the flush, which moves them into the bins), a per-CPU cache for the process,
 * one task-storage lookup for the request, no loops over data, no strings. See signals.h
 * for how intervals are cut. The maps defined here are this side's alone; what
 * requests.bpf.c needs too is in http_energy.bpf.h (cpu_state) and requests.bpf.h (the
 * per-thread accumulator, the model).
 *
 * Interrupt safety. Per-CPU state (struct cpu_state, the cache slots, the bins and the
 * process hash entries reached through them) is read-modify-written with plain loads and
 * stores, which is only correct while nothing else on the CPU can run in between:
 *   - sched_switch runs with interrupts off (inside __schedule, rq lock held);
 *   - flush_cpu runs either in the flush IPI (interrupts off) or, on the CPU of the
 *     sampler itself, in process context with only preemption off: there interrupts and
 *     softirqs can run inside it, so it raises st->flushing while it works;
 *   - sched_migrate_task runs under the rq or pi lock, so with interrupts off, but it can
 *     interrupt an in-process flush_cpu: it leaves the slots alone while st->flushing.
 * Every other hook can be interrupted (softirqs run with interrupts on; page-cache hooks,
 * writeback and a task waking itself run in process context) and the flush IPI can land
 * in the middle of it. Those hooks write nothing but the pend_* counters of cpu_state, and
 * only with atomic adds (one instruction: an interrupt is wholly before or after it) where
 * another writer of the same counter could interrupt them (softirq_exit adds plainly:
 * softirqs do not nest). The pend_* counters only grow: the next slice charge, with
 * interrupts off, moves what the running task's counters grew by since its last take
 * (took_*) into that task's slot, and the flush moves what every counter grew by since
 * the last flush (flush_took_*) into the bins: single-writer hand-overs with plain loads
 * and stores, and no new map lookup on sched_switch. The choice over a re-entrancy guard: a
 * guard has to drop or defer what arrives while it is held, and sched_switch cannot be
 * deferred; the hand-over loses nothing and makes the interruptible hooks cheaper (no bins
 * or slot lookups at all).
 * IRQ and softirq ends are pending too; softirq_exit raises st->softirq_exiting so that a
 * flush landing inside it does not also charge the handler that is being closed.
 */
#include "http_energy.bpf.h"
#include "requests.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define PF_KTHREAD 0x00200000

/* The PMU counters are open: slices read them, and slice_score() scales their deltas. */
const volatile bool has_pmu = false;

/* What the slice that just ended cost: for charging a request too. */
struct slice {
	__u64 ns;
	__u32 khz;
	__u64 pmu[PMU_COUNTERS];
};

/* Written by user space through the mmap'ed .bss; a CPU adopts it when flushed. */
__u32 epoch = 0;

/* This CPU's kernel CPU time by kind (flush_cpu_kirq; resolved only where it loads). */
extern struct kernel_cpustat kernel_cpustat __ksym __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2); /* by epoch parity */
	__type(key, __u32);
	__type(value, struct cpu_signals);
} cpu_bins SEC(".maps");

/* Current kHz of each CPU: written by cpu_frequency (which may run on another CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SIGNALS_MAX_CPUS);
	__type(key, __u32);
	__type(value, __u32);
} cpu_khz SEC(".maps");

/* cpu_frequency events per CPU (cumulative): user space re-reads scaling_cur_freq for the
 * CPUs whose count does not move (drivers that emit no events). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SIGNALS_MAX_CPUS);
	__type(key, __u32);
	__type(value, __u64);
} cpu_freq_events SEC(".maps");

/* Per-process signals, one map per epoch parity so the idle one can be drained whole. */
struct proc_map {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096); /* set at load time */
	__type(key, struct proc_key);
	__type(value, struct proc_signals);
};
struct proc_map procs0 SEC(".maps");
struct proc_map procs1 SEC(".maps");

struct pmu_map {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
};
struct pmu_map pmu_cycles SEC(".maps");
struct pmu_map pmu_instructions SEC(".maps");
struct pmu_map pmu_cache_misses SEC(".maps");

static const struct proc_signals zero_proc = {};

/*
 * Interrupt context. Best: preempt_count (CO-RE): per-CPU __preempt_count on x86 (Linux
 * 6.15+ and before 6.2), pcpu_hot.preempt_count in between; the task's on arm64. The
 * kernel resolves a per-CPU variable only when it is in kallsyms (CONFIG_KALLSYMS_ALL), so
 * the programs that read it (the *_pc wakeup hooks) are loaded only then; otherwise
 * in_handler() tells from this CPU's own IRQ, softirq and hrtimer-callback depths.
 */
#define HE_SOFTIRQ_OFFSET 0x00000100u /* serving a softirq (not just BH disabled) */
#define HE_HARDIRQ_MASK 0x000f0000u
#define HE_NMI_MASK 0x00f00000u

#if defined(__TARGET_ARCH_x86)
extern const int __preempt_count __ksym __weak;
struct pcpu_hot___he {
	int preempt_count;
} __attribute__((preserve_access_index));
extern struct pcpu_hot___he pcpu_hot __ksym __weak;
#endif

static __always_inline bool in_interrupt_context(void)
{
	unsigned int pc = 0;

#if defined(__TARGET_ARCH_x86)
	if (&__preempt_count)
		pc = *(int *)bpf_this_cpu_ptr(&__preempt_count);
	else if (bpf_core_field_exists(pcpu_hot.preempt_count))
		pc = ((struct pcpu_hot___he *)bpf_this_cpu_ptr(&pcpu_hot))->preempt_count;
#elif defined(__TARGET_ARCH_arm64)
	pc = BPF_CORE_READ(bpf_get_current_task_btf(), thread_info.preempt.count);
#endif
	return pc & (HE_NMI_MASK | HE_HARDIRQ_MASK | HE_SOFTIRQ_OFFSET);
}

/* Inside a device IRQ handler, a softirq or an hrtimer callback, as our hooks saw them. */
static __always_inline bool in_handler(const struct cpu_state *st)
{
	return st->irq_depth | st->softirq_depth | st->timer_depth;
}

/* The atomic add the interruptible hooks use (see "Interrupt safety" above). */
#define pend_add(field, n) __sync_fetch_and_add(&(field), (n))

static __always_inline struct cpu_signals *get_bins(const struct cpu_state *st)
{
	__u32 parity = st->epoch & 1;

	return bpf_map_lookup_elem(&cpu_bins, &parity);
}

/* This CPU's state and the bins of its epoch; false if either lookup fails. */
static __always_inline bool get_cpu(struct cpu_state **st, struct cpu_signals **bins)
{
	*st = get_state();
	if (!*st)
		return false;
	*bins = get_bins(*st);
	return *bins != NULL;
}

static __always_inline __u32 current_khz(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	__u32 *khz = bpf_map_lookup_elem(&cpu_khz, &cpu);

	return khz ? *khz : 0;
}

/*
 * This CPU's kHz for the slice charge: the copy in cpu_state, re-read from cpu_khz only
 * when a frequency event for this CPU moved st->khz_gen (measured: reading cpu_khz each
 * switch cost 20-40 ns, a global generation in .bss 10-20 ns, docs/overhead.md); user
 * space's own writes of cpu_khz are adopted at the next flush (reload). The generation is
 * read before cpu_khz, and cpu_frequency writes cpu_khz before bumping it: an event in
 * between leaves the copy one generation behind, so the next switch reads again; nothing
 * is missed. (That order holds on x86; a weakly ordered CPU such as arm64 may see the new
 * generation with the old kHz, and then keeps it until its next flush reloads: at most one
 * interval late.)
 */
static __always_inline __u32 state_khz(struct cpu_state *st, bool reload)
{
	__u32 gen = *(volatile __u32 *)&st->khz_gen;

	if (reload || gen != st->khz_gen_seen) {
		barrier();
		st->khz = current_khz();
		st->khz_gen_seen = gen;
	}
	return st->khz;
}

static __always_inline struct proc_signals *lookup_proc(void *map, struct proc_key *key)
{
	struct proc_signals *p = bpf_map_lookup_elem(map, key);

	if (p)
		return p;
	/* Full map: -E2BIG; a racing insert on another CPU: -EEXIST, then it is there. */
	bpf_map_update_elem(map, key, &zero_proc, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/*
 * The process hash entry of (tgid, khz) in this CPU's epoch. When the map is full: the
 * overflow bucket of the bins (user space reports it as process PROC_OVERFLOW_TGID, so
 * its energy is attributed there, visibly, and never moved to another process). The bins
 * are looked up only then: the slice charge has none at hand (issue 14).
 */
static __always_inline struct proc_signals *hash_proc(const struct cpu_state *st,
						      const struct proc_key *key)
{
	struct proc_key k = *key;
	struct cpu_signals *bins;
	struct proc_signals *p;

	if (st->epoch & 1)
		p = lookup_proc(&procs1, &k);
	else
		p = lookup_proc(&procs0, &k);
	if (p)
		return p;
	bins = get_bins(st);
	if (!bins)
		return NULL;
	bins->proc_overflows++;
	bins->overflow_khz = key->khz;
	return &bins->overflow;
}

/* Moves a cache slot's counts into the process hash and frees the slot. */
static __always_inline void spill_slot(const struct cpu_state *st, struct proc_cache_slot *slot)
{
	struct proc_signals *p;

	if (!slot->used)
		return;
	p = hash_proc(st, &slot->key);
	if (p) {
		p->runtime_ns += slot->s.runtime_ns;
		p->wakeups += slot->s.wakeups;
		p->migrations += slot->s.migrations;
		p->pmu[PMU_CYCLES] += slot->s.pmu[PMU_CYCLES];
		p->pmu[PMU_INSTRUCTIONS] += slot->s.pmu[PMU_INSTRUCTIONS];
		p->pmu[PMU_CACHE_MISSES] += slot->s.pmu[PMU_CACHE_MISSES];
		p->page_cache_hits += slot->s.page_cache_hits;
		p->writebacks += slot->s.writebacks;
	}
	__builtin_memset(&slot->s, 0, sizeof(slot->s));
	slot->used = 0;
}

/* This CPU's accumulator for (tgid, khz, cgroup): a cache slot, spilling its previous
 * owner. */
static __always_inline struct proc_signals *get_proc(struct cpu_state *st, __u32 tgid,
						     __u32 khz, __u64 cgid)
{
	__u32 idx = ((tgid ^ (khz >> 8)) * 2654435761u) >> 26; /* top 6 bits: 64 slots */
	struct proc_cache_slot *slot = &st->cache[idx & (PROC_CACHE_SLOTS - 1)];

	if (slot->used && (slot->key.tgid != tgid || slot->key.khz != khz ||
			   slot->key.cgroup_id != cgid))
		spill_slot(st, slot);
	if (!slot->used) {
		slot->used = 1;
		slot->key.tgid = tgid;
		slot->key.khz = khz;
		slot->key.cgroup_id = cgid;
	}
	return &slot->s;
}

static __always_inline void add_freq_runtime(struct cpu_state *st, struct cpu_signals *bins,
					     __u32 khz, __u64 delta)
{
	__u32 hint = st->freq_hint & (SIGNALS_FREQ_SLOTS - 1);

	/* The frequency rarely changes between slices: the hinted slot almost always fits. */
	if (bins->freq[hint].khz == khz && bins->freq[hint].runtime_ns) {
		bins->freq[hint].runtime_ns += delta;
		return;
	}
	for (__u32 i = 0; i < SIGNALS_FREQ_SLOTS; i++) {
		if (bins->freq[i].runtime_ns == 0 || bins->freq[i].khz == khz) {
			bins->freq[i].khz = khz;
			bins->freq[i].runtime_ns += delta;
			st->freq_hint = i;
			return;
		}
	}
	bins->freq[0].runtime_ns += delta; /* more kHz values than slots: user space says so */
}

/* Runtime at khz into this CPU's sums; into the bins only when the kHz changes. */
static __always_inline void acc_freq_runtime(struct cpu_state *st, __u32 khz, __u64 delta)
{
	if (khz != st->acc_khz && st->acc_freq_ns) {
		struct cpu_signals *bins = get_bins(st);

		if (bins)
			add_freq_runtime(st, bins, st->acc_khz, st->acc_freq_ns);
		st->acc_freq_ns = 0;
	}
	st->acc_khz = khz;
	st->acc_freq_ns += delta;
}

/* The slice sums since the last flush into the bins of the interval that ends. */
static __always_inline void take_slice_sums(struct cpu_state *st, struct cpu_signals *bins)
{
	bins->runtime_ns += st->acc_runtime_ns;
	bins->idle_ns += st->acc_idle_ns;
	bins->switches += st->acc_switches;
	bins->kthread_runtime_ns += st->acc_kthread_runtime_ns;
	bins->cgroup_runtime_ns += st->acc_cgroup_runtime_ns;
	if (st->acc_freq_ns)
		add_freq_runtime(st, bins, st->acc_khz, st->acc_freq_ns);
	st->acc_runtime_ns = 0;
	st->acc_idle_ns = 0;
	st->acc_switches = 0;
	st->acc_kthread_runtime_ns = 0;
	st->acc_cgroup_runtime_ns = 0;
	st->acc_freq_ns = 0;
}

static __always_inline void read_pmu(struct cpu_state *st, __u64 out[PMU_COUNTERS])
{
	struct bpf_perf_event_value v;

	if (!bpf_perf_event_read_value(&pmu_cycles, BPF_F_CURRENT_CPU, &v, sizeof(v))) {
		out[PMU_CYCLES] = v.counter - st->pmu_last[PMU_CYCLES];
		st->pmu_last[PMU_CYCLES] = v.counter;
	}
	if (!bpf_perf_event_read_value(&pmu_instructions, BPF_F_CURRENT_CPU, &v, sizeof(v))) {
		out[PMU_INSTRUCTIONS] = v.counter - st->pmu_last[PMU_INSTRUCTIONS];
		st->pmu_last[PMU_INSTRUCTIONS] = v.counter;
	}
	if (!bpf_perf_event_read_value(&pmu_cache_misses, BPF_F_CURRENT_CPU, &v, sizeof(v))) {
		out[PMU_CACHE_MISSES] = v.counter - st->pmu_last[PMU_CACHE_MISSES];
		st->pmu_last[PMU_CACHE_MISSES] = v.counter;
	}
}

/* The task a slice is charged to, as scalars: sk_msg programs have no task_struct. */
struct slice_owner {
	__u32 pid;
	__u32 tgid;
	bool kthread;
	bool in_cgroup;
	__u64 cgroup_id; /* issue 15: the owner's cgroup2 id */
};

/*
 * Charges the slice that ends now to its owner (the task leaving the CPU, the task running
 * at a flush, or the thread writing a response) and starts the next slice. Returns false
 * when there was no slice to charge (idle, or the first event on this CPU).
 */
/* The pending counts of the interruptible hooks (see "Interrupt safety"). */
struct pending {
	__u64 task_wakeups;
	__u64 page_cache_hits;
	__u64 writebacks;
};

/*
 * Takes the pending counts: the running task's into *task for its slot, at every slice
 * charge; the host-wide ones into the bins, at the flush only (issue 14: a switch need not
 * touch them, and each still lands in the interval it happened in, the flush being the
 * boundary). The pend_* counters only grow; what they grew by since the last take is
 * moved (one load each, a plain store of the took field: issue 14 took the atomic
 * subtractions out of sched_switch). A hook interrupting this adds to pend_* only, so its
 * count is either in the value read here or left for the next take: nothing is lost,
 * nothing is taken twice. took_* has one writer at a time: the slice charge (interrupts
 * off), or the flush, which no slice charge can interrupt; flush_took_* the flush alone.
 */
#define take_into(took, name)                                                                 \
	({                                                                                    \
		__u64 now_ = *(volatile __u64 *)&st->pend_##name, d_ = now_ - st->took##name; \
		st->took##name = now_;                                                        \
		d_;                                                                           \
	})
#define take_one(name) take_into(took_, name)

static __always_inline void take_pending(struct cpu_state *st, struct pending *task)
{
	task->task_wakeups = take_one(task_wakeups);
	task->page_cache_hits = take_one(page_cache_hits);
	task->writebacks = take_one(writebacks);
}

/* The host-wide pending counts into the bins of the interval that ends (the flush). */
static __always_inline void take_host_pending(struct cpu_state *st, struct cpu_signals *bins)
{
	bins->wakeups += take_into(flush_took_, wakeups);
	bins->migrations += take_into(flush_took_, migrations);
	bins->irq_ns += take_into(flush_took_, irq_ns);
	bins->softirq_ns += take_into(flush_took_, softirq_ns);
	bins->page_cache_hits += take_into(flush_took_, page_cache_hits);
	bins->writebacks += take_into(flush_took_, writebacks);
}

static __always_inline bool charge_slice(struct cpu_state *st, const struct slice_owner *owner,
					 struct slice *out, bool read_counters)
{
	__u64 now = bpf_ktime_get_ns(), delta, pmu[PMU_COUNTERS] = {};
	struct pending pend;
	struct proc_signals *p;
	__u32 khz;

	take_pending(st, &pend);
	/* sk_msg programs may not read perf events: their slices leave the PMU deltas to
	 * the next switch. */
	if (has_pmu && read_counters)
		read_pmu(st, pmu);
	if (!st->slice_start_ns) {
		st->slice_start_ns = now; /* first event on this CPU: the slice start is unknown */
		return false;
	}
	delta = now - st->slice_start_ns;
	st->slice_start_ns = now;
	st->acc_switches++;
	if (owner->pid == 0) {
		st->acc_idle_ns += delta;
		return false;
	}
	st->acc_runtime_ns += delta;
	if (owner->kthread)
		st->acc_kthread_runtime_ns += delta;
	if (owner->in_cgroup)
		st->acc_cgroup_runtime_ns += delta;
	khz = state_khz(st, false);
	acc_freq_runtime(st, khz, delta);
	p = get_proc(st, owner->tgid, khz, owner->cgroup_id);
	p->runtime_ns += delta;
	p->wakeups += pend.task_wakeups;
	p->page_cache_hits += pend.page_cache_hits;
	p->writebacks += pend.writebacks;
	if (has_pmu) {
		struct cpu_signals *bins = get_bins(st);

		for (int i = 0; i < PMU_COUNTERS; i++) {
			if (bins)
				bins->pmu[i] += pmu[i];
			p->pmu[i] += pmu[i];
		}
	}
	out->ns = delta;
	out->khz = khz;
	if (has_pmu && read_counters) {
		for (int i = 0; i < PMU_COUNTERS; i++)
			out->pmu[i] = pmu[i];
	}
	return true;
}

/*
 * The request side of a slice (requests.bpf.h): a thread that worked on a tracked
 * connection gets its slices, wakeups and migrations in its pending accumulator.
 */
struct freq_search {
	const struct model_params *m;
	__u32 khz;
	__u32 found; /* 1 + the index of the last entry <= khz, 0 for none */
};

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

/* A slice's delta d, the part share (in 1/2^16) of it, times its weight. */
static __always_inline __u64 slice_term(const struct model_weight *w, __u64 d, __u64 share)
{
	if (d > FIXED_SIGNAL_MAX)
		d = FIXED_SIGNAL_MAX;
	return req_apply_fx((const struct fixed_weight *)w, (d * share) >> 16);
}

/*
 * How each row of MODEL_FEATURES_BPF (common/model_features.h) enters a request's charge,
 * by its avail column, so that a row added there needs no formula here. PMU rows are
 * deltas the slice carries (struct slice has the row's field, as struct proc_signals
 * does), charged pro rata with the part of the slice; SCHED rows are events, charged one
 * at a time where they happen (charge_request_event(task, MF_<ID>)). A row of a new kind
 * does not compile until it is given a line here.
 */
#define SLICE_TERM_SCHED(ID, field)
#define SLICE_TERM_PMU(ID, field) score += slice_term(&m->feature[MF_##ID], s->field, share);
#define SLICE_TERM_(ID, name, weight, avail, fit, field) SLICE_TERM_##avail(ID, field)

/* The part ns of a slice of s->ns: its runtime, and its PMU deltas pro rata. */
static __always_inline __u64 slice_score(const struct model_params *m, const struct slice *s,
					 __u64 ns)
{
	__u64 score = runtime_score(ns);

	if (has_pmu && s->ns) {
		/* share in 1/2^16; a slice under 2^47 ns (39 hours) keeps it exact enough */
		__u64 share = ns >= s->ns ? 1ULL << 16 : (ns << 16) / s->ns;

		MODEL_FEATURES_BPF(SLICE_TERM_)
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
static __always_inline void charge_request_of_task(struct cpu_state *st, struct task_struct *task,
						   const struct slice *s)
{
	struct thread_acct *t = thread_of(task);
	struct model_params *m;
	__u64 ns = s->ns, fx;

	if (!t)
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
	m = get_model();
	if (!m)
		return;
	fx = uj_fx_of_score(m, slice_score(m, s, ns));
	/* atomic: a socket op of this thread, preempted, may be taking the pending work */
	__sync_fetch_and_add(&t->pend_fx, fx);
	__sync_fetch_and_add(&t->pend_ns, ns);
}

/* One event of a SCHED feature (wakeups, migrations) to task's pending work. */
static __always_inline void charge_request_event(struct task_struct *task,
						 enum model_feature f)
{
	struct thread_acct *t = thread_of(task);
	struct model_params *m;

	if (!t)
		return;
	m = get_model();
	if (m)
		__sync_fetch_and_add(
			&t->pend_fx,
			uj_fx_of_score(m, req_apply_fx((const struct fixed_weight *)&m->feature[f],
						       1)));
}

/*
 * task is current (sched_switch's prev, the task running at a flush). Its cgroup by
 * direct loads, not two helper calls (issue 14): task_in_tracked() decides with an id
 * compare and a level compare, and asks the kernel only for a deeper cgroup.
 */
static __always_inline void owner_of_task(struct task_struct *task, struct slice_owner *o)
{
	struct cgroup *cg;

	o->pid = task->pid;
	if (!o->pid)
		return; /* idle: charge_slice reads nothing else (issue 14: no cgroup loads) */
	cg = task->cgroups->dfl_cgrp;
	o->tgid = task->tgid;
	o->kthread = task->flags & PF_KTHREAD;
	o->cgroup_id = cg->kn->id; /* issue 15; what bpf_get_current_cgroup_id() reads */
	o->in_cgroup = current_cgroup_in_tracked(o->cgroup_id, cg->level);
}

/* issue 15: the cgroup2 id of a task that need not be current. */
static __always_inline __u64 task_cgroup_id(struct task_struct *task)
{
	return BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct cpu_state *st = get_state();
	struct slice_owner owner;
	struct slice slice;

	if (!st)
		return 0;
	/*
	 * No hard IRQ or softirq handler spans a context switch (handlers run with preemption
	 * off; ksoftirqd runs each batch inside __do_softirq, between its entry and exit
	 * events, and schedules only after it), so a depth left here is an entry whose exit
	 * was never seen (e.g. attached in between): forget it rather than count an interrupt
	 * that never ends. (Not so on PREEMPT_RT, where softirqs are preemptible.)
	 */
	if (st->irq_depth | st->softirq_depth | st->timer_depth) {
		st->irq_depth = 0;
		st->softirq_depth = 0;
		st->timer_depth = 0;
	}
	/* The tracepoint fires before the switch: current is still prev. */
	owner_of_task(prev, &owner);
	/* Only a thread in the tracked cgroup serves requests (the receive binding binds
	 * no other): the others skip the task-storage lookup. */
	if (charge_slice(st, &owner, &slice, true) && owner.in_cgroup)
		charge_request_of_task(st, prev, &slice);
	return 0;
}

/*
 * Run by user space on each CPU (BPF_PROG_TEST_RUN with BPF_F_TEST_RUN_ON_CPU) at an
 * interval boundary: closes the running slice and any IRQ in progress into the old epoch,
 * then moves this CPU to the new one. On other CPUs it runs in an IPI (interrupts off);
 * on the sampler's own CPU in process context with preemption off, where interrupts can
 * land inside it: st->flushing tells sched_migrate_task to leave the slots alone. Neither
 * way can it interleave with sched_switch.
 */
struct spill_ctx {
	struct cpu_state *st;
};

static long spill_one(__u32 i, void *data)
{
	struct spill_ctx *c = data;

	if (i >= PROC_CACHE_SLOTS)
		return 1;
	spill_slot(c->st, &c->st->cache[i]);
	return 0;
}

static __always_inline int flush(bool kernel_irq_time)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct cpu_state *st;
	struct spill_ctx flush_ctx;
	struct cpu_signals *bins;
	struct slice_owner owner;
	struct slice slice;
	__u64 now;

	if (!get_cpu(&st, &bins))
		return 0;
	st->flushing = 1;
	barrier();
	owner_of_task(task, &owner);
	if (charge_slice(st, &owner, &slice, true) && owner.in_cgroup)
		charge_request_of_task(st, task, &slice);
	take_slice_sums(st, bins);
	take_host_pending(st, bins);
	state_khz(st, true); /* user space's writes of cpu_khz (seeding, re-reads) */
	now = bpf_ktime_get_ns();
	if (kernel_irq_time) {
		struct kernel_cpustat *kc = bpf_this_cpu_ptr(&kernel_cpustat);
		__u64 irq = kc->cpustat[CPUTIME_IRQ], softirq = kc->cpustat[CPUTIME_SOFTIRQ];

		/* The first flush (whose interval is dropped) takes the totals since boot. */
		bins->irq_ns += irq - st->kirq_last_ns;
		bins->softirq_ns += softirq - st->ksoftirq_last_ns;
		st->kirq_last_ns = irq;
		st->ksoftirq_last_ns = softirq;
	}
	/* An IRQ in progress here means this is the IPI inside it (the in-process flush
	 * runs outside handlers): its entry side is not running, the start is settled. */
	if (st->irq_depth) {
		bins->irq_ns += now - st->irq_start_ns;
		st->irq_start_ns = now;
	}
	/* A softirq that is being closed is charged whole by its exit. */
	if (st->softirq_depth && !st->softirq_exiting) {
		bins->softirq_ns += now - st->softirq_start_ns;
		st->softirq_start_ns = now;
	}
	flush_ctx.st = st;
	bpf_loop(PROC_CACHE_SLOTS, spill_one, &flush_ctx, 0);
	st->epoch = epoch;
	barrier();
	st->flushing = 0;
	return 0;
}

SEC("raw_tp")
int flush_cpu(void *ctx)
{
	return flush(false);
}

/*
 * IRQ and softirq time from the kernel's own accounting (issue 14): under
 * CONFIG_IRQ_TIME_ACCOUNTING the kernel adds each handler's ns to this CPU's kcpustat as
 * it ends (softirqs run by ksoftirqd excepted: they are that thread's runtime), so reading
 * it at each boundary replaces tracing every entry and exit. User space loads this flush
 * instead of flush_cpu, and no IRQ or softirq hook, only where the kernel resolves
 * kernel_cpustat (kallsyms: CONFIG_KALLSYMS_ALL).
 */
SEC("raw_tp")
int flush_cpu_kirq(void *ctx)
{
	return flush(true);
}

/*
 * A wakeup counts host-wide always, and for the running task (its process, its request)
 * only when the task caused it: not from a hard IRQ, a softirq, a timer callback or an
 * NMI, which merely interrupted whatever ran. Interruptible (a task may wake itself with
 * interrupts on): pending counts only. use_pc: tell interrupt context from preempt_count.
 */
static __always_inline void count_wakeup(bool use_pc)
{
	struct cpu_state *st = get_state();
	struct task_struct *cur;

	if (!st)
		return;
	pend_add(st->pend_wakeups, 1);
	if (use_pc ? in_interrupt_context() : in_handler(st))
		return;
	cur = bpf_get_current_task_btf();
	if (!cur->pid)
		return; /* the idle task (its tgid is 0 too) */
	pend_add(st->pend_task_wakeups, 1);
	charge_request_event(cur, MF_WAKEUPS);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(on_sched_wakeup, struct task_struct *p)
{
	count_wakeup(false);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(on_sched_wakeup_new, struct task_struct *p)
{
	count_wakeup(false);
	return 0;
}

/* The same, where preempt_count is readable (user space loads one pair or the other). */
SEC("tp_btf/sched_wakeup")
int BPF_PROG(on_sched_wakeup_pc, struct task_struct *p)
{
	count_wakeup(true);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(on_sched_wakeup_new_pc, struct task_struct *p)
{
	count_wakeup(true);
	return 0;
}

SEC("tp_btf/sched_migrate_task")
int BPF_PROG(on_sched_migrate_task, struct task_struct *task, int dest_cpu)
{
	struct cpu_state *st = get_state();
	struct proc_signals *p;

	if (!st)
		return 0;
	pend_add(st->pend_migrations, 1);
	charge_request_event(task, MF_MIGRATIONS);
	/* Interrupts are off here (rq or pi lock held), but this may interrupt an
	 * in-process flush_cpu: then the process's count is lost, the host-wide one not. */
	if (st->flushing)
		return 0;
	p = get_proc(st, task->tgid, state_khz(st, false), task_cgroup_id(task));
	p->migrations++;
	return 0;
}

SEC("tp_btf/cpu_frequency")
int BPF_PROG(on_cpu_frequency, unsigned int state, unsigned int cpu_id)
{
	struct model_params *m = get_model();
	__u32 cpu = cpu_id, zero = 0;
	struct cpu_state *target = bpf_map_lookup_percpu_elem(&cpu_state, &zero, cpu);
	__u64 *events;

	bpf_map_update_elem(&cpu_khz, &cpu, &state, BPF_ANY);
	if (target) /* after the write: see state_khz() */
		__sync_fetch_and_add(&target->khz_gen, 1);
	events = bpf_map_lookup_elem(&cpu_freq_events, &cpu);
	if (events)
		__sync_fetch_and_add(events, 1);
	if (track_requests && m)
		bpf_map_update_elem(&cpu_freq_weight, &cpu, freq_weight(m, state), BPF_ANY);
	return 0;
}

/*
 * IRQ and softirq time: the outermost handler's start is written before the depth that
 * publishes it (a flush landing in between sees depth 0 or the right start), and the
 * time of an ended handler is pending until the next slice charge. The exits are attached
 * before the entries, an exit without a seen entry is ignored, and sched_switch forgets a
 * depth left over (see on_sched_switch): no missed event can leave a CPU "in an IRQ".
 */
SEC("tp_btf/irq_handler_entry")
int BPF_PROG(on_irq_entry, int irq)
{
	struct cpu_state *st = get_state();

	if (!st)
		return 0;
	if (st->irq_depth == 0) {
		st->irq_start_ns = bpf_ktime_get_ns();
		barrier();
	}
	st->irq_depth++;
	return 0;
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(on_irq_exit, int irq)
{
	struct cpu_state *st = get_state();

	if (!st || !st->irq_depth)
		return 0; /* attached inside a handler: its entry was never seen */
	if (--st->irq_depth)
		return 0;
	pend_add(st->pend_irq_ns, bpf_ktime_get_ns() - st->irq_start_ns);
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(on_softirq_entry, unsigned int vec)
{
	struct cpu_state *st = get_state();

	if (!st)
		return 0;
	if (st->softirq_depth == 0) {
		st->softirq_start_ns = bpf_ktime_get_ns();
		barrier();
	}
	st->softirq_depth++;
	return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(on_softirq_exit, unsigned int vec)
{
	struct cpu_state *st = get_state();

	if (!st)
		return 0;
	st->softirq_exiting = 1;
	barrier();
	/* A plain add: softirqs do not nest, so no other writer of pend_softirq_ns can
	 * interrupt this, and the slice charge only reads it. */
	if (st->softirq_depth && --st->softirq_depth == 0)
		st->pend_softirq_ns += bpf_ktime_get_ns() - st->softirq_start_ns;
	barrier();
	st->softirq_exiting = 0;
	return 0;
}

/*
 * Processes that ended, with the epoch they ended in: user space then drops their entry
 * of proc_energy_uj (after one more interval, for the last slice of the last thread), so
 * the map holds live processes only and a reused PID starts from zero.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} exited_tgids SEC(".maps");

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_process_exit, struct task_struct *task)
{
	__u32 tgid = task->tgid, e = epoch;

	/* The last thread of the group: signal->live drops to 0 before this event. */
	if (!track_requests || BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	bpf_map_update_elem(&exited_tgids, &tgid, &e, BPF_ANY);
	return 0;
}

/* hrtimer callbacks (most timer-driven wakeups) run in hard IRQ or softirq context. */
SEC("tp_btf/hrtimer_expire_entry")
int BPF_PROG(on_hrtimer_entry, struct hrtimer *timer, ktime_t *now)
{
	struct cpu_state *st = get_state();

	if (st)
		st->timer_depth++;
	return 0;
}

SEC("tp_btf/hrtimer_expire_exit")
int BPF_PROG(on_hrtimer_exit, struct hrtimer *timer)
{
	struct cpu_state *st = get_state();

	if (st && st->timer_depth)
		st->timer_depth--;
	return 0;
}

/* Page-cache hits and writebacks: process context, interruptible; pending counts only. */
static __always_inline void count_page_event(bool writeback, __u64 n)
{
	struct cpu_state *st = get_state();

	if (!st)
		return;
	if (writeback)
		pend_add(st->pend_writebacks, n);
	else
		pend_add(st->pend_page_cache_hits, n);
}

SEC("tp_btf/writeback_dirty_folio")
int BPF_PROG(on_writeback_dirty_folio)
{
	count_page_event(true, 1);
	return 0;
}

/*
 * Page-cache hits: fentry where the kernel allows it, else a kprobe, else the
 * mm_filemap_get_pages tracepoint (Linux >= 6.8), which reports each batch of pages a
 * read takes from the page cache. User space picks one before load; the function name
 * (folio_mark_accessed or mark_page_accessed) is set then too.
 */
SEC("fentry/folio_mark_accessed")
int BPF_PROG(page_accessed_fentry)
{
	count_page_event(false, 1);
	return 0;
}

SEC("kprobe/folio_mark_accessed")
int BPF_KPROBE(page_accessed_kprobe)
{
	count_page_event(false, 1);
	return 0;
}

SEC("tp_btf/mm_filemap_get_pages")
int BPF_PROG(page_cache_get_pages, struct address_space *mapping, unsigned long index,
	     unsigned long last_index)
{
	count_page_event(false, last_index >= index ? last_index - index + 1 : 1);
	return 0;
}
