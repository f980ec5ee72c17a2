// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * The floor of the socket-map mechanism that request tracking rewrites responses with
 * (bench/overhead.sh, issue 14): what it costs a server only to have its sockets in a
 * sockhash with an sk_msg program on it, whatever that program does.
 *
 *   sockops   puts every established TCP socket of the cgroup in sock_hash (unless
 *             insert_sockets is false), keyed by its socket cookie; a socket leaves the
 *             map by itself when it closes
 *   sk_msg    returns SK_PASS and nothing else (attached only in the "floor" mode)
 *   tp_btf    sched_switch and softirq_entry programs that return at once (--tp only, the
 *             "tp-floor" mode): what any tp_btf hook costs a run on this host, before its
 *             first instruction of work (issue 14's floor for the scheduler hooks)
 *   hook_*    (--hooks, the "hooks" modes) programs that return at once at every hook
 *             http_energy attaches with request records (--no-header --request-log), with
 *             read_clock one clock read where the collector's program needs a time: the
 *             least any design with these hooks can cost a request
 *
 * Nothing is counted in sk_msg: a shared counter would add its own cost to the floor.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile bool insert_sockets = true;
const volatile bool read_clock = false; /* --clock */
const volatile __u64 tracked_cgroup_id = 0; /* the cgroup's id: whose sockets' ops read it */

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 1); /* set by the loader */
	__type(key, __u64);
	__type(value, __u64);
} sock_hash SEC(".maps");

/* Read by the loader at exit: sockets put in sock_hash, and inserts the map refused. */
__u64 inserted = 0;
__u64 insert_failed = 0;

SEC("sockops")
int floor_sockops(struct bpf_sock_ops *skops)
{
	__u64 cookie;

	if (skops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB &&
	    skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
		return 1;
	if (!insert_sockets)
		return 1;
	cookie = bpf_get_socket_cookie(skops);
	if (bpf_sock_hash_update(skops, &sock_hash, &cookie, BPF_ANY))
		__sync_fetch_and_add(&insert_failed, 1);
	else
		__sync_fetch_and_add(&inserted, 1);
	return 1;
}

SEC("sk_msg")
int floor_msg(struct sk_msg_md *msg)
{
	return SK_PASS;
}

SEC("tp_btf/sched_switch")
int floor_sched_switch(void *ctx)
{
	return 0;
}

SEC("tp_btf/softirq_entry")
int floor_softirq_entry(void *ctx)
{
	return 0;
}

/*
 * --hooks: the collector's hooks with request records. A time where its program needs one
 * (a slice's or an interrupt's edge, a socket op's watermark, a head's or response's end);
 * the helper call is kept whatever its result (clang cannot drop a call through a helper).
 */
static __always_inline void clock_read(void)
{
	if (read_clock)
		bpf_ktime_get_ns();
}

#define HOOK(name, sec, clock)        \
	SEC(sec)                      \
	int hook_##name(void *ctx)    \
	{                             \
		if (clock)            \
			clock_read(); \
		return 0;             \
	}

HOOK(sched_switch, "tp_btf/sched_switch", 1)
HOOK(sched_wakeup, "tp_btf/sched_wakeup", 0)
HOOK(sched_wakeup_new, "tp_btf/sched_wakeup_new", 0)
HOOK(sched_migrate_task, "tp_btf/sched_migrate_task", 0)
HOOK(sched_process_exit, "tp_btf/sched_process_exit", 0)
HOOK(irq_entry, "tp_btf/irq_handler_entry", 1)
HOOK(irq_exit, "tp_btf/irq_handler_exit", 1)
HOOK(softirq_entry, "tp_btf/softirq_entry", 1)
HOOK(softirq_exit, "tp_btf/softirq_exit", 1)
HOOK(hrtimer_entry, "tp_btf/hrtimer_expire_entry", 0)
HOOK(hrtimer_exit, "tp_btf/hrtimer_expire_exit", 0)
HOOK(writeback, "tp_btf/writeback_dirty_folio", 0)
HOOK(page_cache, "tp_btf/mm_filemap_get_pages", 0)

/* A socket op's watermark: the collector reads the clock for the tracked cgroup's sockets
 * only, after the same cheapest exit (the socket's cgroup; its IP family test aside). */
static __always_inline void sock_clock_read(struct sock *sk)
{
	struct cgroup *cg;

	if (!read_clock || !sk)
		return;
	cg = sk->sk_cgrp_data.cgroup;
	if (cg && cg->kn->id == tracked_cgroup_id)
		bpf_ktime_get_ns();
}

#define SOCK_HOOK(name, sec)                       \
	SEC(sec)                                   \
	int BPF_PROG(hook_##name, struct sock *sk) \
	{                                          \
		sock_clock_read(sk);               \
		return 0;                          \
	}

SOCK_HOOK(recv, "tp_btf/sock_recv_length")
SOCK_HOOK(send, "tp_btf/sock_send_length")

SEC("cgroup_skb/ingress")
int hook_ingress(struct __sk_buff *skb)
{
	clock_read();
	return 1;
}

/* One read a segment: the collector reads two where a response starts and ends in one
 * (docs/overhead.md: one would do), none where a segment holds no payload. */
SEC("cgroup_skb/egress")
int hook_egress(struct __sk_buff *skb)
{
	clock_read();
	return 1;
}
