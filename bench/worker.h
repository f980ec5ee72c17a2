/* SPDX-License-Identifier: MIT */
/*
 * One bench_http thread: an epoll loop driving its share of the keep-alive connections
 * with non-blocking sockets. Closed loop (each connection sends its next request as soon
 * as the previous response is complete) or open loop (requests are due at fixed times
 * and latency is measured from when each was due, so a slow server cannot hide its
 * queueing: no coordinated omission).
 */
#ifndef HTTP_ENERGY_BENCH_WORKER_H
#define HTTP_ENERGY_BENCH_WORKER_H

#include <stdint.h>
#include <sys/socket.h>

#include "mix.h"
#include "request.h"
#include "stats.h"

struct worker_config {
	unsigned index; /* this thread, 0 .. threads - 1 */
	unsigned threads; /* all threads (open loop: the schedule interleaves them) */
	unsigned nconns; /* connections of this thread */
	uint64_t conn_base; /* global number of its first connection (PRNG stream) */
	uint64_t seed;
	double rate; /* requests/s of the whole run; 0 = closed loop */
	const struct mix *mix;
	const struct request_set *requests;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	uint64_t start_ns; /* CLOCK_MONOTONIC: the run (and the open-loop schedule) starts */
	uint64_t measure_ns; /* results from here on count (after the warm-up) */
	uint64_t end_ns; /* the run ends */
	uint64_t timeout_ns; /* per connect and per request */
	int wake_fd; /* an eventfd that becomes readable when the run must stop early */
};

struct worker;

/* Returns NULL (errno set) on failure. */
struct worker *worker__new(const struct worker_config *cfg);
/* Starts the thread; returns 0 or a negative errno. */
int worker__start(struct worker *w);
/* Waits for the thread; returns its error (0, or a negative errno it stopped on). */
int worker__join(struct worker *w);
const struct bench_stats *worker__stats(const struct worker *w);
void worker__free(struct worker *w);

#endif
