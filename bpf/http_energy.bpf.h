/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * What signals.bpf.c and requests.bpf.c share: maps and globals (declared __weak here so
 * the static linker merges the two objects' copies into one) and the slice accounting
 * both the scheduler hooks and the response writer use.
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
 * only with atomic adds (one instruction: an interrupt is wholly before or after it). The
 * next slice charge, with interrupts off, moves the pending counts into the bins and the
 * running task's slot: a plain single-writer hand-over, and no new map lookup on
 * sched_switch. The choice over a re-entrancy guard: a guard has to drop or defer what
 * arrives while it is held, and sched_switch cannot be deferred; the hand-over loses
 * nothing and makes the interruptible hooks cheaper (no bins or slot lookups at all).
 * IRQ and softirq ends are pending too; softirq_exit raises st->softirq_exiting so that a
 * flush landing inside it does not also charge the handler that is being closed.
 */
#ifndef HTTP_ENERGY_BPF_H
#define HTTP_ENERGY_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "signals.h"
#include "fixed_point.h"

#define PF_KTHREAD 0x00200000

const volatile __u64 tracked_cgroup_id __weak = 0;
const volatile __u32 tracked_cgroup_level __weak = 0;
const volatile bool has_pmu __weak = false;

/* Written by user space through the mmap'ed .bss; a CPU adopts it when flushed. */
__u32 epoch __weak = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_state);
} cpu_state SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2); /* by epoch parity */
	__type(key, __u32);
	__type(value, struct cpu_signals);
} cpu_bins SEC(".maps") __weak;

/* Current kHz of each CPU: written by cpu_frequency (which may run on another CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SIGNALS_MAX_CPUS);
	__type(key, __u32);
	__type(value, __u32);
} cpu_khz SEC(".maps") __weak;

/* cpu_frequency events per CPU (cumulative): user space re-reads scaling_cur_freq for the
 * CPUs whose count does not move (drivers that emit no events). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SIGNALS_MAX_CPUS);
	__type(key, __u32);
	__type(value, __u64);
} cpu_freq_events SEC(".maps") __weak;

/* Per-process signals, one map per epoch parity so the idle one can be drained whole. */
struct proc_map {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096); /* set at load time */
	__type(key, struct proc_key);
	__type(value, struct proc_signals);
};
struct proc_map procs0 SEC(".maps") __weak;
struct proc_map procs1 SEC(".maps") __weak;

struct pmu_map {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
};
struct pmu_map pmu_cycles SEC(".maps") __weak;
struct pmu_map pmu_instructions SEC(".maps") __weak;
struct pmu_map pmu_cache_misses SEC(".maps") __weak;

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

static __always_inline struct cpu_state *get_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu_state, &zero);
}

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

static __always_inline bool current_in_tracked_cgroup(void)
{
	if (!tracked_cgroup_id)
		return false;
	return bpf_get_current_ancestor_cgroup_id(tracked_cgroup_level) == tracked_cgroup_id;
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
 * its energy is attributed there, visibly, and never moved to another process).
 */
static __always_inline struct proc_signals *hash_proc(const struct cpu_state *st,
						      struct cpu_signals *bins,
						      const struct proc_key *key)
{
	struct proc_key k = *key;
	struct proc_signals *p;

	if (st->epoch & 1)
		p = lookup_proc(&procs1, &k);
	else
		p = lookup_proc(&procs0, &k);
	if (p)
		return p;
	bins->proc_overflows++;
	bins->overflow_khz = key->khz;
	return &bins->overflow;
}

/* Moves a cache slot's counts into the process hash and frees the slot. */
static __always_inline void spill_slot(const struct cpu_state *st, struct cpu_signals *bins,
				       struct proc_cache_slot *slot)
{
	struct proc_signals *p;

	if (!slot->used)
		return;
	p = hash_proc(st, bins, &slot->key);
	{
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
static __always_inline struct proc_signals *get_proc(struct cpu_state *st,
						     struct cpu_signals *bins, __u32 tgid,
						     __u32 khz, __u64 cgid)
{
	__u32 idx = ((tgid ^ (khz >> 8)) * 2654435761u) >> 26; /* top 6 bits: 64 slots */
	struct proc_cache_slot *slot = &st->cache[idx & (PROC_CACHE_SLOTS - 1)];

	if (slot->used && (slot->key.tgid != tgid || slot->key.khz != khz ||
			   slot->key.cgroup_id != cgid))
		spill_slot(st, bins, slot);
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

/* What the slice that just ended cost: for charging a request too. */
struct slice {
	__u64 ns;
	__u32 khz;
	__u64 pmu[PMU_COUNTERS];
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
 * Takes the pending counts: host-wide ones into the bins now, the running task's into
 * *task for its slot. Subtracting exactly what was read (atomically) keeps anything added
 * in between, should a caller ever be interruptible.
 */
static __always_inline void take_pending(struct cpu_state *st, struct cpu_signals *bins,
					 struct pending *task)
{
	__u64 wakeups = st->pend_wakeups, migrations = st->pend_migrations;
	__u64 irq_ns = st->pend_irq_ns, softirq_ns = st->pend_softirq_ns;

	task->task_wakeups = st->pend_task_wakeups;
	task->page_cache_hits = st->pend_page_cache_hits;
	task->writebacks = st->pend_writebacks;
	if (!(wakeups | migrations | irq_ns | softirq_ns | task->task_wakeups |
	      task->page_cache_hits | task->writebacks))
		return;
	if (wakeups) {
		pend_add(st->pend_wakeups, -wakeups);
		bins->wakeups += wakeups;
	}
	if (migrations) {
		pend_add(st->pend_migrations, -migrations);
		bins->migrations += migrations;
	}
	if (irq_ns) {
		pend_add(st->pend_irq_ns, -irq_ns);
		bins->irq_ns += irq_ns;
	}
	if (softirq_ns) {
		pend_add(st->pend_softirq_ns, -softirq_ns);
		bins->softirq_ns += softirq_ns;
	}
	if (task->task_wakeups)
		pend_add(st->pend_task_wakeups, -task->task_wakeups);
	if (task->page_cache_hits) {
		pend_add(st->pend_page_cache_hits, -task->page_cache_hits);
		bins->page_cache_hits += task->page_cache_hits;
	}
	if (task->writebacks) {
		pend_add(st->pend_writebacks, -task->writebacks);
		bins->writebacks += task->writebacks;
	}
}

static __always_inline bool charge_slice(struct cpu_state *st, struct cpu_signals *bins,
					 const struct slice_owner *owner, struct slice *out,
					 bool read_counters)
{
	__u64 now = bpf_ktime_get_ns(), delta, pmu[PMU_COUNTERS] = {};
	struct pending pend;
	struct proc_signals *p;
	__u32 khz;

	take_pending(st, bins, &pend);
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
	bins->switches++;
	if (owner->pid == 0) {
		bins->idle_ns += delta;
		return false;
	}
	bins->runtime_ns += delta;
	if (owner->kthread)
		bins->kthread_runtime_ns += delta;
	if (owner->in_cgroup)
		bins->cgroup_runtime_ns += delta;
	khz = current_khz();
	add_freq_runtime(st, bins, khz, delta);
	p = get_proc(st, bins, owner->tgid, khz, owner->cgroup_id);
	p->runtime_ns += delta;
	p->wakeups += pend.task_wakeups;
	p->page_cache_hits += pend.page_cache_hits;
	p->writebacks += pend.writebacks;
	if (has_pmu) {
		for (int i = 0; i < PMU_COUNTERS; i++) {
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

/* task is current (sched_switch's prev, the task running at a flush). */
static __always_inline void owner_of_task(struct task_struct *task, bool in_cgroup,
					  struct slice_owner *o)
{
	o->pid = task->pid;
	o->tgid = task->tgid;
	o->kthread = task->flags & PF_KTHREAD;
	o->in_cgroup = in_cgroup;
	o->cgroup_id = bpf_get_current_cgroup_id(); /* issue 15 */
}

/* issue 15: the cgroup2 id of a task that need not be current. */
static __always_inline __u64 task_cgroup_id(struct task_struct *task)
{
	return BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
}

#endif
