/* SPDX-License-Identifier: MIT */
/*
 * What a run measured, per mix entry (endpoint): responses, latency, X-Energy-Score and
 * errors by kind. Each worker thread fills its own and the main thread merges them.
 */
#ifndef HTTP_ENERGY_BENCH_STATS_H
#define HTTP_ENERGY_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "resp_reader.h"

enum bench_error {
	BENCH_ERR_CONNECT, /* could not connect (or the connect timed out) */
	BENCH_ERR_TIMEOUT, /* no complete response within --timeout */
	BENCH_ERR_READ, /* reset, or closed before the response was complete */
	BENCH_ERR_WRITE, /* reset or closed while sending the request */
	BENCH_ERR_PARSE, /* not a valid HTTP/1.1 response */
	BENCH_ERR_4XX, /* a complete response with status 400..499 */
	BENCH_ERR_5XX, /* status 500 and above */
	BENCH_ERR__COUNT,
};

/* "connect", "timeout", "read", "write", "parse", "4xx", "5xx" */
const char *bench_error_name(enum bench_error e);

struct endpoint_stats {
	uint64_t responses; /* complete responses, any status */
	uint64_t ok; /* complete responses with status below 400 */
	uint64_t errors[BENCH_ERR__COUNT];
	uint64_t energy_invalid; /* X-Energy-Score headers that were not a number */
	uint64_t body_bytes;
	struct hist *latency_ns; /* responses with status below 400 */
	struct hist *energy_uj; /* NULL until a response carries X-Energy-Score */
};

/* Why errors of one kind happened: an errno, or the status of a 4xx/5xx response. */
#define BENCH_MAX_CAUSES 4
struct bench_cause {
	int code;
	uint64_t count;
};

struct bench_stats {
	size_t n;
	struct endpoint_stats *ep;
	uint64_t errors[BENCH_ERR__COUNT]; /* not tied to a request: connect, stray bytes */
	/* The first BENCH_MAX_CAUSES distinct causes per kind; the rest in other_causes. */
	struct bench_cause causes[BENCH_ERR__COUNT][BENCH_MAX_CAUSES];
	uint64_t other_causes[BENCH_ERR__COUNT];
	uint64_t connects; /* connections established */
	uint64_t bytes_read;
	uint64_t bytes_written;
	uint64_t in_flight_at_end; /* requests sent but not answered when the run ended */
	uint64_t backlog_at_end; /* open loop: requests due but not yet sent */
};

struct bench_stats *bench_stats__new(size_t n_endpoints);
void bench_stats__free(struct bench_stats *s);

/* A complete response to a request for endpoint ep. Returns -ENOMEM or 0. */
int bench_stats__response(struct bench_stats *s, size_t ep, const struct resp_result *res,
			  uint64_t latency_ns);
/* An error; ep is SIZE_MAX when no request was involved. err: its errno. */
void bench_stats__error(struct bench_stats *s, size_t ep, enum bench_error kind, int err);
int bench_stats__merge(struct bench_stats *dst, const struct bench_stats *src);

/* Totals over all endpoints (and the errors tied to none). */
uint64_t bench_stats__responses(const struct bench_stats *s);
uint64_t bench_stats__ok(const struct bench_stats *s);
uint64_t bench_stats__errors(const struct bench_stats *s, enum bench_error kind);
uint64_t bench_stats__all_errors(const struct bench_stats *s);

#endif
