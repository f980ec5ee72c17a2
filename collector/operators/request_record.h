/* SPDX-License-Identifier: MIT */
/*
 * One completed response, as user space sees it: what the request log writes as a CSV row
 * (--request-log, docs/csv-format.md) and what the per-route aggregation and /metrics read.
 * Producers fill every field; fields may be added, never renamed or removed.
 */
#ifndef COLLECTOR_REQUEST_RECORD_H
#define COLLECTOR_REQUEST_RECORD_H

#include <stdint.h>

#define REQUEST_TARGET_MAX 128 /* target bytes kept; a longer target is cut, target_cut set */
#define REQUEST_METHOD_MAX 16  /* method bytes kept (a token, RFC 9110) */

/* Why a response carries no X-Energy-Score header (header_skip). */
enum record_header_skip {
	RECORD_HEADER_WRITTEN = 0, /* it has one: header_uj holds its value */
	RECORD_HEADER_NO_HEADER,   /* --no-header */
	RECORD_HEADER_PORT,	   /* local port not in --header-ports */
	RECORD_HEADER_BATCHED,	   /* began in a write after another response began in it */
	RECORD_HEADER_INTERIM,	   /* 101 and other responses that never carry one */
	RECORD_HEADER_FAILED,	   /* the kernel refused to push or pull the bytes */
	RECORD_HEADER_SEND_BUFFER, /* too little send-buffer room for it to go out whole */
	RECORD_HEADER_OTHER,
	RECORD_HEADER_SKIPS,
};

struct request_record {
	uint64_t head_ns;	 /* CLOCK_MONOTONIC: the request head's last byte arrived */
	uint64_t first_write_ns; /* the response's first byte was written */
	uint64_t end_ns;	 /* its last byte was written (response framing) */
	uint64_t cgroup_id;
	uint64_t conn;		 /* connection id: the socket's cookie */
	uint32_t pid;		 /* process (tgid) that wrote the response */
	uint32_t tid;		 /* thread that wrote it */
	uint64_t request_bytes;	 /* head and body */
	uint64_t response_bytes; /* head and body as the server wrote them, header excluded */
	uint64_t cpu_ns;	 /* CPU time charged to this request */
	uint64_t energy_uj_fx;	 /* whole request, in 1/2^REQ_FRAC_BITS µJ (request_energy.h) */
	uint64_t header_uj;	 /* the header's value, when header_skip == RECORD_HEADER_WRITTEN */
	uint16_t status;	 /* final status code */
	uint8_t header_skip;	 /* enum record_header_skip */
	uint8_t target_cut;	 /* the target was longer than REQUEST_TARGET_MAX */
	uint8_t tail_cut;	 /* written at collector stop: its tail is not included */
	uint16_t target_len;	 /* bytes in target (raw, not escaped, not NUL-terminated) */
	uint16_t method_len;
	char method[REQUEST_METHOD_MAX];
	char target[REQUEST_TARGET_MAX];
};

#endif
