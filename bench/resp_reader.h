/* SPDX-License-Identifier: MIT */
/*
 * Reads one HTTP/1.x response at a time from a byte stream that may be split anywhere:
 * the head (kept in a small buffer only while it is incomplete), then a body framed by
 * Content-Length, the chunked coding or the end of the connection. Bodies are counted,
 * never stored. Interim 1xx responses are skipped. Pure: no I/O, no clock.
 */
#ifndef HTTP_ENERGY_BENCH_RESP_READER_H
#define HTTP_ENERGY_BENCH_RESP_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_chunked.h"

#define RESP_MAX_HEAD 65536 /* bytes; a longer head is an error */
#define RESP_MAX_HEADERS 64

enum {
	RESP_MORE = 0, /* the response is not complete: feed more */
	RESP_DONE = 1, /* complete: see result */
};

struct resp_result {
	int status;
	bool keep_alive; /* the connection may carry the next request */
	bool has_energy; /* an X-Energy-Score header with a number */
	bool energy_invalid; /* an X-Energy-Score header that is not a number */
	uint64_t energy_uj;
	uint64_t body_bytes;
};

struct resp_reader {
	int state;
	bool head_request;
	bool got_bytes;
	char *head; /* an incomplete head carried over between reads */
	size_t head_len;
	size_t head_cap;
	uint64_t body_left;
	struct http_chunked chunked;
	struct resp_result result;
};

void resp_reader__init(struct resp_reader *r);
void resp_reader__free(struct resp_reader *r);

/* Expect the response to a new request (head_request: it was a HEAD, so no body). */
void resp_reader__start(struct resp_reader *r, bool head_request);

/*
 * Feeds bytes. Returns RESP_MORE or RESP_DONE with *consumed set (bytes after a complete
 * response are left unconsumed), -EPROTO for a malformed response, -EMSGSIZE for a head
 * longer than RESP_MAX_HEAD, -ENOMEM.
 */
int resp_reader__feed(struct resp_reader *r, const char *buf, size_t len, size_t *consumed);

/*
 * The peer closed the connection. Returns RESP_DONE when that ends a body read to the
 * end of the connection, -ENODATA when no byte of the response had arrived, else -EPROTO
 * (a truncated response).
 */
int resp_reader__eof(struct resp_reader *r);

/* True once any byte of the current response has arrived. */
bool resp_reader__started(const struct resp_reader *r);

#endif
