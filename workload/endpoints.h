/* SPDX-License-Identifier: MIT */
/*
 * workload_server's endpoints: routing, parameter validation and the work itself.
 * No socket I/O happens here; server.c reads request bodies and writes responses.
 */
#ifndef WORKLOAD_ENDPOINTS_H
#define WORKLOAD_ENDPOINTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum endpoint_id {
	EP_INDEX,
	EP_HEALTHZ,
	EP_STATS,
	EP_CPU,
	EP_JSON,
	EP_COMPRESS,
	EP_FILE,
	EP_POST,
	EP_COUNT,
	EP_NONE = EP_COUNT, /* no endpoint matched, or the request was refused */
};

#define CPU_ITERS_MAX 1000000000ULL
#define JSON_ITEMS_MAX 100000ULL
#define COMPRESS_KB_MAX 16384ULL
#define FILE_KB_MAX 16384ULL
#define POST_KB_MAX 65536ULL
#define MAX_BODY_BYTES (64ULL << 20)
#define DATA_FILE_NAME "workload.dat"

/* Counters shared by all workers; /stats reports them. */
struct workload_stats {
	atomic_uint_fast64_t requests[EP_COUNT + 1]; /* [EP_NONE]: unrouted */
	atomic_uint_fast64_t status_class[6];	      /* [1] 1xx ... [5] 5xx */
	atomic_uint_fast64_t connections;
	atomic_int_fast64_t in_flight; /* requests being served now (a /stats request counts) */
	uint64_t start_ns;
};

struct response {
	int status;
	const char *content_type;
	const char *allow; /* Allow header for 405 */
	struct buf body;
	uint64_t file_bytes; /* > 0: the body is the data file's first file_bytes */
	bool close;	      /* close the connection after this response */
};

/* The outcome of routing: an endpoint with its validated parameter, or a ready error. */
struct route {
	enum endpoint_id id;
	uint64_t param; /* iters, items or kb */
};

const char *endpoint_name(enum endpoint_id id);

/*
 * Matches method and target. Returns true with *route filled when the request is valid;
 * false with resp filled with the error (400, 404, 405) when it is not.
 */
bool endpoint_route(const char *method, size_t method_len, const char *target,
		    size_t target_len, struct route *route, struct response *resp);

/* Runs a GET endpoint and fills resp (200, or 500 when memory runs out). */
void endpoint_run(const struct route *route, const struct workload_stats *stats,
		  struct response *resp);

/* The /post answer for a body of `bytes` bytes with CRC-32 `crc`. */
void endpoint_post_result(const struct route *route, uint64_t bytes, uint32_t crc,
			  struct response *resp);

/* A plain-text error response: "<text>\n". */
void response_error(struct response *resp, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *http_reason(int status);

/* Deterministic, partly compressible bytes: byte i of the stream is the same on every run. */
void workload_fill_data(uint64_t offset, unsigned char *out, size_t len);

/* The CPU endpoint's arithmetic loop (exposed for tests). */
uint64_t workload_cpu_loop(uint64_t iters);

#endif
