/* SPDX-License-Identifier: MIT */
/*
 * The Prometheus text exposition (format 0.0.4) of the collector's state: a pure function
 * from a metrics_input to text. Every name, label and bound is in docs/metrics.md.
 */
#ifndef COLLECTOR_METRICS_FORMAT_H
#define COLLECTOR_METRICS_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accounts.h"
#include "buf.h"
#include "gpu_accounts.h"
#include "../requests_api.h"
#include "routes.h"

/* A physical GPU (docs/gpu.md): energy summed over the intervals its counter or power was
 * read; the power of the last interval, if known. */
#define METRICS_MAX_GPUS 64
struct metrics_gpu {
	uint32_t index;
	const char *uuid;
	uint64_t energy_uj; /* cumulative */
	bool power_known;
	uint64_t power_mw;
};

struct metrics_input {
	const char *version;
	const char *energy_source; /* "" when none is open (model mode without a CSV) */
	bool measured;		   /* false for the synthetic source */
	const char *mode;	   /* psys or model */
	const char *signals;	   /* which optional signals are on, e.g. "irq,softirq" */
	uint64_t interval_ms;
	/* cumulative µJ: node = idle + dynamic; attributed <= dynamic in psys mode */
	uint64_t node_uj, idle_uj, dynamic_uj, attributed_uj;
	/* cumulative ns, summed over CPUs */
	uint64_t busy_ns, idle_ns, irq_ns, softirq_ns, kthread_ns;
	uint64_t intervals, overruns, proc_overflows;
	uint64_t last_interval_ns;
	const struct request_totals *requests; /* NULL: request tracking off (or not yet on) */
	const struct accounts *accounts;       /* NULL: no per-cgroup/process series */
	/* per-route request metrics (routes.h); the cgroup label from cgroup_name (NULL or a
	 * NULL answer: "(id N)") */
	const struct route_stats *routes;
	size_t num_routes;
	const char *(*cgroup_name)(void *ctx, uint64_t id);
	void *cgroup_ctx;
	/* Hook for the request log (issue 13): records lost before they reached user space.
	 * NULL: no record stream, no series. */
	const uint64_t *records_dropped;
	const struct metrics_gpu *gpus; /* at most METRICS_MAX_GPUS */
	size_t num_gpus;
	/* per-process GPU energy (gpu_accounts.h); one "other" per GPU that splits */
	const struct gpu_process_account *gpu_procs;
	size_t num_gpu_procs;
	const struct gpu_other_account *gpu_others;
	size_t num_gpu_others;
	uint64_t scrapes, scrapes_refused; /* the server's own counters */
	uint64_t cgroup_walks;
};

/* Appends the whole exposition to out. 0 or -ENOMEM. */
int metrics_format(const struct metrics_input *in, struct buf *out);

/* Appends s as a label value: backslash, double quote and newline escaped; bytes that are
 * not valid UTF-8 (a truncated comm, an odd cgroup name) become '?'. */
int metrics_append_label_value(struct buf *out, const char *s);

#endif
