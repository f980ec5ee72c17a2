/* SPDX-License-Identifier: MIT */
/*
 * Per-route request metrics (docs/metrics.md) from the completed-response records
 * (request_record.h): per cgroup, method and route, the requests by status class, their
 * energy and CPU time, and an energy histogram.
 *
 * Route: the target's path, without query and fragment; an absolute-form target
 * (http://host/p) gives its path; control bytes become '?'; percent-escapes stay as they
 * are; cut to ROUTES_PATH_MAX bytes at a UTF-8 boundary.
 *
 * Bounds: the first max_routes distinct (method, route) pairs of a cgroup have stats of
 * their own, the rest add to that cgroup's "_other" route; the first max_cgroups cgroups
 * have routes of their own, later ones share one "_other" cgroup (itself bounded the same
 * way). So at most (max_cgroups + 1) * (max_routes + 1) entries, whatever arrives.
 *
 * Threads: routes__add() (the record consumer) and routes__snapshot() (the sampler, once
 * per interval) take one mutex (priority-inheriting: the sampler may run SCHED_FIFO) for
 * O(1) and for a copy of the entries; the metrics endpoint never touches it.
 */
#ifndef COLLECTOR_ROUTES_H
#define COLLECTOR_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "request_record.h"

#define ROUTES_PATH_MAX 96
#define ROUTES_DEFAULT_MAX_ROUTES 100
#define ROUTES_MAX_MAX_ROUTES 1000 /* --metrics-max-routes range: 1..this */
#define ROUTES_DEFAULT_MAX_CGROUPS 16

enum route_code_class {
	ROUTE_2XX,
	ROUTE_3XX,
	ROUTE_4XX,
	ROUTE_5XX,
	ROUTE_CODE_OTHER, /* 1xx, and anything outside 100..599 */
	ROUTE_CODE_CLASSES,
};

/* Upper bounds (µJ, le inclusive) of the energy histogram: 4^0 .. 4^12 µJ; +Inf follows. */
#define ROUTES_ENERGY_BUCKETS 13
extern const uint64_t routes_bucket_uj[ROUTES_ENERGY_BUCKETS];

struct route_stats {
	uint64_t cgroup_id;
	bool other_cgroup; /* over max_cgroups: cgroup_id is 0 */
	bool other_route; /* over max_routes: method and path are "" */
	char method[REQUEST_METHOD_MAX + 1];
	char path[ROUTES_PATH_MAX + 1];
	uint64_t requests[ROUTE_CODE_CLASSES];
	uint64_t energy_uj; /* cumulative, whole µJ ... */
	uint32_t energy_frac; /* ... plus this many 1/2^16 µJ */
	uint64_t cpu_ns;
	uint64_t buckets[ROUTES_ENERGY_BUCKETS]; /* per bucket, not cumulative */
	uint64_t over_buckets; /* above the last bound */
};

struct routes_opts {
	uint32_t max_routes; /* per cgroup; 0: ROUTES_DEFAULT_MAX_ROUTES */
	uint32_t max_cgroups; /* 0: ROUTES_DEFAULT_MAX_CGROUPS */
};

/* A copy of every entry, in the order they first appeared; owned by the caller. */
struct routes_snapshot {
	struct route_stats *routes;
	size_t num, cap;
	uint64_t records; /* records added so far */
};

struct routes;

int routes__new(const struct routes_opts *opts, struct routes **out);
/* Adds one completed response. 0, or -EINVAL for a NULL record. Never allocates more
 * than the bound; may allocate (-ENOMEM) while growing towards it. */
int routes__add(struct routes *r, const struct request_record *rec);
/* routes__add() with the request log's consumer signature (request_log.h,
 * request_record_fn), ctx being the struct routes: request_log__add_consumer(log,
 * routes_record_consumer, operators__routes(op)) when that is not NULL. */
void routes_record_consumer(const struct request_record *rec, void *ctx);
/* Copies the current entries into snap (grown as needed). 0 or -ENOMEM. */
int routes__snapshot(struct routes *r, struct routes_snapshot *snap);
void routes_snapshot_free(struct routes_snapshot *snap);
void routes__free(struct routes *r);

/* The route of a raw target (pure): writes at most ROUTES_PATH_MAX bytes and a NUL to
 * out[ROUTES_PATH_MAX + 1]; returns the length. */
size_t routes_normalise(const char *target, size_t len, char *out);
enum route_code_class route_code_class(uint16_t status);
/* "2xx", "3xx", "4xx", "5xx", "other". */
const char *route_code_class_name(enum route_code_class c);

#endif
