/* SPDX-License-Identifier: MIT */
/*
 * The one owner of the BPF object (bpf/signals.bpf.c + bpf/requests.bpf.c, linked into one
 * skeleton). Only this module includes the skeleton: it chooses the hooks this kernel
 * allows, sets rodata and map sizes, loads, attaches, keeps every link, and detaches
 * everything in one place. The signals and requests parts get handles (map fds, .bss
 * words) and never configure the object.
 *
 *   bpf_loader__open()             open, choose hooks, rodata, map sizes, load
 *   bpf_loader__signals()          handles for signals__bind()
 *   bpf_loader__attach_signals()   attach the scheduler, IRQ, frequency and page-cache hooks
 *   bpf_loader__requests()         handles for requests__open()
 *   bpf_loader__attach_requests()  header options, then sockops and ingress on the cgroup,
 *                                  sk_msg on the sockhash (not with no_header), the
 *                                  receive hook
 *   bpf_loader__destroy()          detach everything, free the object
 *
 * A failure at any step prints one line (the program or map, and the errno) and returns a
 * negative errno; what was attached stays recorded until bpf_loader__destroy(), which the
 * caller runs on every path.
 */
#ifndef COLLECTOR_BPF_LOADER_H
#define COLLECTOR_BPF_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "signals_api.h"
#include "requests_api.h"

struct bpf_loader_opts {
	uint64_t cgroup_id; /* the tracked cgroup (0: none) */
	uint32_t cgroup_level;
	uint32_t max_procs; /* process map entries per interval; 0: default 8192 */
	bool pmu;	    /* PMU counters are open: slices read them */
	const char *root;   /* below which /proc is read; NULL: "/" */
	struct request_settings requests;
};

struct bpf_loader;

int bpf_loader__open(const struct bpf_loader_opts *opts, struct bpf_loader **out);
const struct signals_handles *bpf_loader__signals(const struct bpf_loader *l);
/* Fills *hooks with the optional signals whose hooks attached. */
int bpf_loader__attach_signals(struct bpf_loader *l, struct signals_available *hooks);
const struct request_handles *bpf_loader__requests(const struct bpf_loader *l);
int bpf_loader__attach_requests(struct bpf_loader *l, const char *cgroup_path,
				const struct header_opts *hopts, const char *mode_name);
void bpf_loader__destroy(struct bpf_loader *l);

#endif
