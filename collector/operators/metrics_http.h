/* SPDX-License-Identifier: MIT */
/*
 * The metrics endpoint: a thread that serves the last published exposition on
 * GET /metrics (docs/metrics.md). The sampler publishes a copy once per interval; the
 * only lock it takes is held for a pointer swap, so no scraper can delay a boundary.
 * Bounded: max_clients connections (more are closed at once), max_request bytes of request
 * head, timeout_ms for a whole exchange; a slow reader holds one reference to one
 * snapshot, never more.
 */
#ifndef COLLECTOR_METRICS_HTTP_H
#define COLLECTOR_METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct metrics_server_opts {
	const char *addr;     /* HOST:PORT, [V6]:PORT or :PORT (all addresses); port 0: any */
	uint32_t max_clients; /* 0: 16 */
	uint32_t timeout_ms;  /* 0: 5000 */
	uint32_t max_request; /* 0: 4096 */
};

/* Splits HOST:PORT (pure). host gets "" for ":PORT". 0 or -EINVAL. */
int metrics_parse_addr(const char *addr, char *host, size_t host_len, uint16_t *port);

struct metrics_server;

int metrics_server__start(const struct metrics_server_opts *opts, struct metrics_server **out);
/* "HOST:PORT" as bound (the port chosen when 0 was asked for). */
const char *metrics_server__address(const struct metrics_server *s);
/* Serves a copy of text[0 .. len) from now on. 0 or -ENOMEM (the old one stays). */
int metrics_server__publish(struct metrics_server *s, const char *text, size_t len);
void metrics_server__stats(const struct metrics_server *s, uint64_t *scrapes, uint64_t *refused);
/* Stops the thread, closes every connection, frees everything. */
void metrics_server__stop(struct metrics_server *s);

#endif
