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
 *
 * Nothing is counted in sk_msg: a shared counter would add its own cost to the floor.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile bool insert_sockets = true;

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
