// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * Host-wide and per-process signals for the interval CSV: on-CPU runtime per process and
 * CPU frequency, idle, IRQ and softirq time per CPU, kernel-thread and cgroup runtime,
 * wakeups, migrations, PMU counters, page-cache hits and writebacks.
 *
 * sched_switch is the hot path: one per-CPU array lookup for state and bins, one per-CPU
 * hash lookup for the process, no loops over data, no strings. See signals.h for how
 * intervals are cut.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "signals.h"

#define PF_KTHREAD 0x00200000

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u64 tracked_cgroup_id = 0;
const volatile __u32 tracked_cgroup_level = 0;
const volatile bool has_pmu = false;

/* Written by user space through the mmap'ed .bss; a CPU adopts it when flushed. */
__u32 epoch = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_state);
} cpu_state SEC(".maps");

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

static const struct proc_signals zero_proc;

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

/* The process hash entry of (tgid, khz) in this CPU's epoch; NULL (counted) when full. */
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
	if (!p)
		bins->proc_overflows++;
	return p;
}

/* Moves a cache slot's counts into the process hash and frees the slot. */
static __always_inline void spill_slot(const struct cpu_state *st, struct cpu_signals *bins,
				       struct proc_cache_slot *slot)
{
	struct proc_signals *p;

	if (!slot->used)
		return;
	p = hash_proc(st, bins, &slot->key);
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

/* This CPU's accumulator for (tgid, khz): a cache slot, spilling its previous owner. */
static __always_inline struct proc_signals *get_proc(struct cpu_state *st,
						     struct cpu_signals *bins, __u32 tgid,
						     __u32 khz)
{
	__u32 idx = ((tgid ^ (khz >> 8)) * 2654435761u) >> 26; /* top 6 bits: 64 slots */
	struct proc_cache_slot *slot = &st->cache[idx & (PROC_CACHE_SLOTS - 1)];

	if (slot->used && (slot->key.tgid != tgid || slot->key.khz != khz))
		spill_slot(st, bins, slot);
	if (!slot->used) {
		slot->used = 1;
		slot->key.tgid = tgid;
		slot->key.khz = khz;
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

/* Charges the slice that ends now to task (the one leaving the CPU, or running at a flush). */
static __always_inline void charge_slice(struct cpu_state *st, struct cpu_signals *bins,
					 struct task_struct *task, bool in_cgroup)
{
	__u64 now = bpf_ktime_get_ns(), delta, pmu[PMU_COUNTERS] = {};
	struct proc_signals *p;
	__u32 khz;

	if (has_pmu)
		read_pmu(st, pmu);
	if (!st->slice_start_ns) {
		st->slice_start_ns = now; /* first event on this CPU: the slice start is unknown */
		return;
	}
	delta = now - st->slice_start_ns;
	st->slice_start_ns = now;
	bins->switches++;
	if (task->pid == 0) {
		bins->idle_ns += delta;
		return;
	}
	bins->runtime_ns += delta;
	if (task->flags & PF_KTHREAD)
		bins->kthread_runtime_ns += delta;
	if (in_cgroup)
		bins->cgroup_runtime_ns += delta;
	khz = current_khz();
	add_freq_runtime(st, bins, khz, delta);
	p = get_proc(st, bins, task->tgid, khz);
	if (p)
		p->runtime_ns += delta;
	if (has_pmu) {
		for (int i = 0; i < PMU_COUNTERS; i++) {
			bins->pmu[i] += pmu[i];
			if (p)
				p->pmu[i] += pmu[i];
		}
	}
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct cpu_state *st = get_state();
	struct cpu_signals *bins;

	if (!st)
		return 0;
	bins = get_bins(st);
	if (!bins)
		return 0;
	/* The tracepoint fires before the switch: current is still prev. */
	charge_slice(st, bins, prev, current_in_tracked_cgroup());
	return 0;
}

/*
 * Run by user space on each CPU (BPF_PROG_TEST_RUN with BPF_F_TEST_RUN_ON_CPU) at an
 * interval boundary: closes the running slice and any IRQ in progress into the old epoch,
 * then moves this CPU to the new one. It runs with interrupts off on that CPU, so it
 * cannot interleave with sched_switch there.
 */
struct spill_ctx {
	struct cpu_state *st;
	struct cpu_signals *bins;
};

static long spill_one(__u32 i, void *data)
{
	struct spill_ctx *c = data;

	if (i >= PROC_CACHE_SLOTS)
		return 1;
	spill_slot(c->st, c->bins, &c->st->cache[i]);
	return 0;
}

SEC("raw_tp")
int flush_cpu(void *ctx)
{
	struct cpu_state *st = get_state();
	struct spill_ctx flush_ctx;
	struct cpu_signals *bins;
	__u64 now;

	if (!st)
		return 0;
	bins = get_bins(st);
	if (!bins)
		return 0;
	charge_slice(st, bins, bpf_get_current_task_btf(), current_in_tracked_cgroup());
	now = bpf_ktime_get_ns();
	if (st->irq_depth) {
		bins->irq_ns += now - st->irq_start_ns;
		st->irq_start_ns = now;
	}
	if (st->softirq_depth) {
		bins->softirq_ns += now - st->softirq_start_ns;
		st->softirq_start_ns = now;
	}
	flush_ctx.st = st;
	flush_ctx.bins = bins;
	bpf_loop(PROC_CACHE_SLOTS, spill_one, &flush_ctx, 0);
	st->epoch = epoch;
	return 0;
}

static __always_inline void count_wakeup(void)
{
	struct cpu_state *st = get_state();
	struct cpu_signals *bins;
	struct proc_signals *p;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!st)
		return;
	bins = get_bins(st);
	if (!bins)
		return;
	bins->wakeups++;
	if (!tgid)
		return; /* woken from interrupt context on an idle CPU: host-wide only */
	p = get_proc(st, bins, tgid, current_khz());
	if (p)
		p->wakeups++;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(on_sched_wakeup, struct task_struct *p)
{
	count_wakeup();
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(on_sched_wakeup_new, struct task_struct *p)
{
	count_wakeup();
	return 0;
}

SEC("tp_btf/sched_migrate_task")
int BPF_PROG(on_sched_migrate_task, struct task_struct *task, int dest_cpu)
{
	struct cpu_state *st = get_state();
	struct cpu_signals *bins;
	struct proc_signals *p;

	if (!st)
		return 0;
	bins = get_bins(st);
	if (!bins)
		return 0;
	bins->migrations++;
	p = get_proc(st, bins, task->tgid, current_khz());
	if (p)
		p->migrations++;
	return 0;
}

SEC("tp_btf/cpu_frequency")
int BPF_PROG(on_cpu_frequency, unsigned int state, unsigned int cpu_id)
{
	__u32 cpu = cpu_id;

	bpf_map_update_elem(&cpu_khz, &cpu, &state, BPF_ANY);
	return 0;
}

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(on_irq_entry, int irq)
{
	struct cpu_state *st = get_state();

	if (st && st->irq_depth++ == 0)
		st->irq_start_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(on_irq_exit, int irq)
{
	struct cpu_state *st = get_state();
	struct cpu_signals *bins;

	if (!st || !st->irq_depth)
		return 0; /* attached inside a handler: its entry was never seen */
	if (--st->irq_depth)
		return 0;
	bins = get_bins(st);
	if (bins)
		bins->irq_ns += bpf_ktime_get_ns() - st->irq_start_ns;
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(on_softirq_entry, unsigned int vec)
{
	struct cpu_state *st = get_state();

	if (st && st->softirq_depth++ == 0)
		st->softirq_start_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(on_softirq_exit, unsigned int vec)
{
	struct cpu_state *st = get_state();
	struct cpu_signals *bins;

	if (!st || !st->softirq_depth)
		return 0;
	if (--st->softirq_depth)
		return 0;
	bins = get_bins(st);
	if (bins)
		bins->softirq_ns += bpf_ktime_get_ns() - st->softirq_start_ns;
	return 0;
}

static __always_inline void count_page_event(bool writeback, __u64 n)
{
	struct cpu_state *st = get_state();
	struct cpu_signals *bins;
	struct proc_signals *p;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!st)
		return;
	bins = get_bins(st);
	if (!bins)
		return;
	if (writeback)
		bins->writebacks += n;
	else
		bins->page_cache_hits += n;
	if (!tgid)
		return;
	p = get_proc(st, bins, tgid, current_khz());
	if (!p)
		return;
	if (writeback)
		p->writebacks += n;
	else
		p->page_cache_hits += n;
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
