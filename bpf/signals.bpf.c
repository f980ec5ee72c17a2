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
	owner_of_task(prev, current_in_tracked_cgroup(), &owner);
	if (charge_slice(st, bins, &owner, &slice, true))
		charge_request_of_task(prev, &slice);
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
	st->flushing = 1;
	barrier();
	owner_of_task(task, current_in_tracked_cgroup(), &owner);
	if (charge_slice(st, bins, &owner, &slice, true))
		charge_request_of_task(task, &slice);
	now = bpf_ktime_get_ns();
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
	flush_ctx.bins = bins;
	bpf_loop(PROC_CACHE_SLOTS, spill_one, &flush_ctx, 0);
	st->epoch = epoch;
	barrier();
	st->flushing = 0;
	return 0;
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

	if (!st)
		return;
	pend_add(st->pend_wakeups, 1);
	if (!(bpf_get_current_pid_tgid() >> 32))
		return;
	if (use_pc ? in_interrupt_context() : in_handler(st))
		return;
	pend_add(st->pend_task_wakeups, 1);
	charge_request_event(bpf_get_current_task_btf(), REQ_EVENT_WAKEUP);
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
	struct cpu_state *st;
	struct cpu_signals *bins;
	struct proc_signals *p;

	if (!get_cpu(&st, &bins))
		return 0;
	pend_add(st->pend_migrations, 1);
	charge_request_event(task, REQ_EVENT_MIGRATION);
	/* Interrupts are off here (rq or pi lock held), but this may interrupt an
	 * in-process flush_cpu: then the process's count is lost, the host-wide one not. */
	if (st->flushing)
		return 0;
	p = get_proc(st, bins, task->tgid, current_khz(), task_cgroup_id(task));
	p->migrations++;
	return 0;
}

SEC("tp_btf/cpu_frequency")
int BPF_PROG(on_cpu_frequency, unsigned int state, unsigned int cpu_id)
{
	struct model_params *m = get_model();
	__u32 cpu = cpu_id;
	__u64 *events;

	bpf_map_update_elem(&cpu_khz, &cpu, &state, BPF_ANY);
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
	if (st->softirq_depth && --st->softirq_depth == 0)
		pend_add(st->pend_softirq_ns, bpf_ktime_get_ns() - st->softirq_start_ns);
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
