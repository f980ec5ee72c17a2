// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * Host-wide and per-process signals for the interval CSV: on-CPU runtime per process and
 * CPU frequency, idle, IRQ and softirq time per CPU, kernel-thread and cgroup runtime,
 * wakeups, migrations, PMU counters, page-cache hits and writebacks. Slices of threads
 * serving a request are also charged to that request (requests.bpf.h).
 *
 * sched_switch is the hot path: per-CPU array lookups, a per-CPU cache for the process,
 * one task-storage lookup for the request, no loops over data, no strings. See signals.h
 * for how intervals are cut.
 */
#include "http_energy.bpf.h"
#include "requests.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

SEC("tp_btf/sched_switch")
int BPF_PROG(on_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct cpu_state *st;
	struct cpu_signals *bins;
	struct slice_owner owner;
	struct slice slice;

	if (!get_cpu(&st, &bins))
		return 0;
	/* The tracepoint fires before the switch: current is still prev. */
	owner_of_task(prev, current_in_tracked_cgroup(), &owner);
	if (charge_slice(st, bins, &owner, &slice, true))
		charge_request_of_task(prev, &slice);
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
	struct task_struct *task = bpf_get_current_task_btf();
	struct cpu_state *st;
	struct spill_ctx flush_ctx;
	struct cpu_signals *bins;
	struct slice_owner owner;
	struct slice slice;
	__u64 now;

	if (!get_cpu(&st, &bins))
		return 0;
	owner_of_task(task, current_in_tracked_cgroup(), &owner);
	if (charge_slice(st, bins, &owner, &slice, true))
		charge_request_of_task(task, &slice);
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
	struct cpu_state *st;
	struct cpu_signals *bins;
	struct proc_signals *p;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!get_cpu(&st, &bins))
		return;
	bins->wakeups++;
	if (!tgid)
		return; /* woken from interrupt context on an idle CPU: host-wide only */
	charge_request_event(bpf_get_current_task_btf(), REQ_EVENT_WAKEUP);
	p = get_proc(st, bins, tgid, current_khz(), bpf_get_current_cgroup_id());
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
	struct cpu_state *st;
	struct cpu_signals *bins;
	struct proc_signals *p;

	if (!get_cpu(&st, &bins))
		return 0;
	bins->migrations++;
	charge_request_event(task, REQ_EVENT_MIGRATION);
	p = get_proc(st, bins, task->tgid, current_khz(), task_cgroup_id(task));
	if (p)
		p->migrations++;
	return 0;
}

SEC("tp_btf/cpu_frequency")
int BPF_PROG(on_cpu_frequency, unsigned int state, unsigned int cpu_id)
{
	struct model_params *m = get_model();
	__u32 cpu = cpu_id;

	bpf_map_update_elem(&cpu_khz, &cpu, &state, BPF_ANY);
	if (track_requests && m)
		bpf_map_update_elem(&cpu_freq_weight, &cpu, freq_weight(m, state), BPF_ANY);
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
	struct cpu_state *st;
	struct cpu_signals *bins;
	struct proc_signals *p;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!get_cpu(&st, &bins))
		return;
	if (writeback)
		bins->writebacks += n;
	else
		bins->page_cache_hits += n;
	if (!tgid)
		return;
	p = get_proc(st, bins, tgid, current_khz(), bpf_get_current_cgroup_id());
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
