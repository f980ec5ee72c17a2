/* SPDX-License-Identifier: MIT */
/*
 * Energy for operators (docs/metrics.md, docs/csv-format.md): each interval's energy split
 * over every cgroup that ran, the bounded per-cgroup and per-process accounts, the
 * --cgroup-csv rows and the --metrics-addr endpoint. The sampler calls
 * operators__interval() once per interval, after attribution.
 *
 * Conservation, in every interval: Σ cgroup rows + other + idle + unattributed = the
 * measured energy. idle = min(idle_power_uw * duration, measured); dynamic = the rest;
 * unattributed = dynamic - Σ attributed (psys: 0 unless no process scored; model mode:
 * the model's error, signed).
 */
#ifndef COLLECTOR_OPERATORS_H
#define COLLECTOR_OPERATORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../gpu/gpu_source.h"
#include "../signals_api.h"
#include "../requests_api.h"
#include "routes.h"

struct operators_opts {
	const char *metrics_addr; /* NULL: no endpoint */
	const char *cgroup_csv;	  /* NULL: no file */
	const char *cgroup_mount; /* the cgroup2 mount */
	uint32_t max_cgroups;	  /* 0: 2048 */
	uint32_t max_processes;	  /* 0: 64 */
	uint32_t max_routes;	  /* per cgroup; 0: ROUTES_DEFAULT_MAX_ROUTES */
	const char *label;
	const char *version;
	const char *mode;    /* psys or model */
	const char *signals; /* which optional signals are on */
};

struct operators_interval {
	uint64_t interval;
	const char *energy_source; /* "" when none */
	bool measured;
	uint64_t energy_uj; /* measured in the interval */
	uint64_t idle_uj;   /* idle_power_uw * duration */
	const struct interval_signals *sig;
	const uint64_t *proc_uj; /* per sig->procs entry */
	uint64_t attributed_uj;
	const struct request_totals *requests; /* NULL: none */
	/* Issue 13's hook: the request log's count of records lost before user space read
	 * them (cumulative). NULL: no record stream, no http_energy_records_dropped_total. */
	const uint64_t *records_dropped;
	uint64_t overruns;		       /* cumulative */
	const struct gpu_sample *gpus;	       /* this interval's (gpu_source__samples) */
	size_t num_gpus;
};

struct operators;

/* NULL *out (and 0) when neither the endpoint nor the CSV is asked for. */
int operators__open(const struct operators_opts *opts, struct operators **out);
int operators__interval(struct operators *op, const struct operators_interval *iv);
/*
 * The per-route aggregation the completed-response records go to (routes__add(), from
 * the record consumer's thread); NULL without --metrics-addr. Published with each
 * interval's exposition.
 */
struct routes *operators__routes(struct operators *op);
/* SIGHUP: reopens the cgroup CSV (a new file gets the header). */
int operators__reopen(struct operators *op);
uint64_t operators__csv_rows(const struct operators *op);
void operators__close(struct operators *op);

/* The cgroup CSV's header (docs/csv-format.md), without a newline. */
extern const char operators_cgroup_csv_header[];

#endif
