// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * nginx's own per-request clock for bench/attribution_accuracy.sh (issue 13): the in-mix
 * truth the other servers measure themselves (workload_server --self-cpu, go_server's and
 * node_server's /self-cpu), taken here by uprobes on the nginx worker, independent of
 * http_energy's attribution.
 *
 *   ngx_http_process_request(r)      entry: r's window opens (its head is read and parsed)
 *   ngx_open_cached_file(c, name, ..) entry: the file the thread's open window serves, its
 *                                    class (the last one opened wins: gzip_static's FILE.gz)
 *   ngx_http_free_request(r, rc)     entry: r's window closes
 *
 * A window counts as timed only when its thread did not wait inside it (nvcsw unchanged)
 * and no other window opened on that thread inside it (an event loop interleaves a heavy
 * response's later writes with other requests). Its ktime span, less the time the thread
 * spent preempted inside it (sched_switch), is then the thread's CPU time
 * (docs/benchmarks.md). The rest is counted by reason.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "nginx_clock.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct window {
	__u64 start_ns;
	__u64 nvcsw; /* the thread's voluntary switches at the open */
	__u64 nivcsw; /* and its preemptions */
	__u64 off_ns; /* the thread's time preempted (off CPU) at the open */
	__u64 seq; /* the thread's window count at the open */
	__u64 softirq_ns; /* the thread's softirq time at the open */
	__u32 tid;
	struct nginx_clock_key key; /* len 0: no file opened yet */
};

/* Open windows by request (ngx_http_request_t *); an entry left by a missed close is
 * overwritten when the address is used again. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct window);
} windows SEC(".maps");

/* Per thread: windows opened so far, the request of the last one (the class's owner), and
 * the softirq time it took so far (the one running now began at softirq_start). */
struct thread_state {
	__u64 seq;
	__u64 req;
	__u64 softirq_ns;
	__u64 softirq_start;
	__u64 off_ns; /* time off CPU after a preemption, so far */
	__u64 off_start; /* when it was preempted, 0: on CPU or waiting by itself */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct thread_state);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NGINX_CLOCK_MAX_CLASSES);
	__type(key, struct nginx_clock_key);
	__type(value, struct nginx_clock_class);
} classes SEC(".maps");

/* Read by the loader at exit: windows that could not be counted in any class. */
__u64 unnamed = 0; /* closed before any file was opened (an error response, a redirect) */
__u64 unopened = 0; /* closed without an open window (before the attach; a bad head) */
__u64 dropped = 0; /* a map was full */

SEC("uprobe")
int BPF_KPROBE(process_request, void *r)
{
	__u64 req = (__u64)r;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *ts, fresh = {};
	struct task_struct *task;
	struct window w = {};

	ts = bpf_map_lookup_elem(&threads, &tid);
	if (!ts) {
		bpf_map_update_elem(&threads, &tid, &fresh, BPF_NOEXIST);
		ts = bpf_map_lookup_elem(&threads, &tid);
		if (!ts) {
			__sync_fetch_and_add(&dropped, 1);
			return 0;
		}
	}
	ts->seq++;
	ts->req = req;
	w.seq = ts->seq;
	w.tid = tid;
	task = (struct task_struct *)bpf_get_current_task();
	w.nvcsw = BPF_CORE_READ(task, nvcsw);
	w.nivcsw = BPF_CORE_READ(task, nivcsw);
	w.off_ns = ts->off_ns;
	w.softirq_ns = ts->softirq_ns;
	w.start_ns = bpf_ktime_get_ns(); /* last: the probe's own work before it is outside */
	if (bpf_map_update_elem(&windows, &req, &w, BPF_ANY))
		__sync_fetch_and_add(&dropped, 1);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(open_cached_file, void *cache, void *name)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *ts;
	struct window *w;
	struct {
		__u64 len;
		__u64 data;
	} str; /* ngx_str_t: { size_t len; u_char *data; } */
	__u64 len, from;

	ts = bpf_map_lookup_elem(&threads, &tid);
	if (!ts)
		return 0;
	w = bpf_map_lookup_elem(&windows, &ts->req);
	if (!w || w->tid != tid || w->seq != ts->seq)
		return 0; /* not inside a window of this thread */
	if (bpf_probe_read_user(&str, sizeof(str), name))
		return 0;
	/* the tail of the path: the class is the name below the served root */
	len = str.len;
	from = 0;
	if (len > NGINX_CLOCK_NAME_MAX - 1) {
		from = len - (NGINX_CLOCK_NAME_MAX - 1);
		len = NGINX_CLOCK_NAME_MAX - 1;
	}
	__builtin_memset(w->key.name, 0, sizeof(w->key.name));
	w->key.len = 0; /* unnamed until the read succeeds */
	if (bpf_probe_read_user(w->key.name, len & (NGINX_CLOCK_NAME_MAX - 1),
				(void *)(str.data + from)))
		return 0;
	w->key.len = (__u32)len;
	w->key.full_len = str.len > 0xffffffffULL ? 0xffffffffU : (__u32)str.len;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(free_request, void *r)
{
	__u64 req = (__u64)r, now = bpf_ktime_get_ns(); /* first: the probe's work is outside */
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct nginx_clock_class *c, zero = {};
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct thread_state *ts;
	struct window *w;
	__u64 off;

	/* any request's end on this thread is inside the windows still open there: they are
	 * not one call chain (a heavy response's later writes run inside another request's
	 * window), so each end moves the thread's count after its own window is judged */
	ts = bpf_map_lookup_elem(&threads, &tid);
	w = bpf_map_lookup_elem(&windows, &req);
	if (!w) {
		__sync_fetch_and_add(&unopened, 1);
		if (ts)
			ts->seq++;
		return 0;
	}
	if (w->key.len == 0) {
		__sync_fetch_and_add(&unnamed, 1);
		goto out;
	}
	c = bpf_map_lookup_elem(&classes, &w->key);
	if (!c) {
		bpf_map_update_elem(&classes, &w->key, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&classes, &w->key);
		if (!c) {
			__sync_fetch_and_add(&dropped, 1);
			goto out;
		}
	}
	if (w->tid != tid || !ts)
		__sync_fetch_and_add(&c->moved, 1);
	else if (ts->seq != w->seq)
		__sync_fetch_and_add(&c->interleaved, 1);
	else if (BPF_CORE_READ(task, nvcsw) != w->nvcsw)
		__sync_fetch_and_add(&c->switched, 1); /* it waited: for the client, a file */
	else {
		/* preempted (runnable all along, one call chain): its time off CPU taken out */
		off = ts->off_ns - w->off_ns;
		if (BPF_CORE_READ(task, nivcsw) != w->nivcsw)
			__sync_fetch_and_add(&c->preempted, 1);
		__sync_fetch_and_add(&c->timed, 1);
		__sync_fetch_and_add(&c->ns, now - w->start_ns - off);
		__sync_fetch_and_add(&c->softirq_ns, ts->softirq_ns - w->softirq_ns);
	}
out:
	if (ts)
		ts->seq++;
	bpf_map_delete_elem(&windows, &req);
	return 0;
}

/*
 * Softirq work run on a worker thread (on an interrupt's exit or at local_bh_enable, as
 * a loopback write delivers its bytes) is inside a window's span: counted apart, so the
 * share of a class's clock that is the network stack's (any connection's packets) shows.
 * Only threads that opened a window are looked at.
 */
SEC("tp_btf/softirq_entry")
int BPF_PROG(softirq_entry, unsigned int vec_nr)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *ts = bpf_map_lookup_elem(&threads, &tid);

	if (ts)
		ts->softirq_start = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(softirq_exit, unsigned int vec_nr)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *ts = bpf_map_lookup_elem(&threads, &tid);

	if (ts && ts->softirq_start) {
		ts->softirq_ns += bpf_ktime_get_ns() - ts->softirq_start;
		ts->softirq_start = 0;
	}
	return 0;
}

/*
 * A worker thread's time off CPU after a preemption (a switch that counts in nivcsw),
 * taken out of the window it cut. Only threads that opened a window are looked at.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 prev_tid = (__u32)prev->pid, next_tid = (__u32)next->pid;
	struct thread_state *ts;

	ts = bpf_map_lookup_elem(&threads, &prev_tid);
	if (ts)
		/* the kernel's rule for nivcsw: preempted, or switched out still runnable */
		ts->off_start = preempt || prev->__state == 0 ? bpf_ktime_get_ns() : 0;
	ts = bpf_map_lookup_elem(&threads, &next_tid);
	if (ts && ts->off_start) {
		ts->off_ns += bpf_ktime_get_ns() - ts->off_start;
		ts->off_start = 0;
	}
	return 0;
}
