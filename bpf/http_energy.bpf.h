/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * What signals.bpf.c and requests.bpf.c both need, and nothing else: the per-CPU slice
 * bookkeeping (cpu_state: the scheduler hooks write it, sk_msg and the request charge read
 * slice_start_ns) and the tracked cgroup (the receive hook tests it too). Both objects
 * define these __weak, so the static linker merges them into one. Every other map is
 * defined in the .bpf.c that owns it: the signals side's (bins, process maps, kHz, PMU
 * arrays) in signals.bpf.c, with the slice accounting and the rules for who may write
 * per-CPU state ("Interrupt safety"); the request side's in requests.bpf.c. What the
 * scheduler hooks share with request tracking is in requests.bpf.h.
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

/* The tracked cgroup: the scheduler hooks and the receive hook (requests.bpf.c) test it. */
const volatile __u64 tracked_cgroup_id __weak = 0;
const volatile __u32 tracked_cgroup_level __weak = 0;

static __always_inline bool current_in_tracked_cgroup(void)
{
	if (!tracked_cgroup_id)
		return false;
	return bpf_get_current_ancestor_cgroup_id(tracked_cgroup_level) == tracked_cgroup_id;
}

/*
 * The same, given the cgroup (id, level) of current or of a socket current reads: the
 * tracked cgroup itself and cgroups not below it are told apart without a helper call
 * (hot paths, issue 14); only a deeper cgroup asks the kernel about current's ancestors.
 */
static __always_inline bool current_cgroup_in_tracked(__u64 id, int level)
{
	if (id == tracked_cgroup_id)
		return id != 0;
	if (level <= (int)tracked_cgroup_level)
		return false;
	return current_in_tracked_cgroup();
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_state);
} cpu_state SEC(".maps") __weak;

static __always_inline struct cpu_state *get_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu_state, &zero);
}

#endif
