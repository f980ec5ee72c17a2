/* SPDX-License-Identifier: MIT */
/*
 * Streaming decoder for the chunked transfer coding (RFC 9112 7.1).
 *
 * Pure: allocates nothing, does no I/O, never reads outside [buf, buf + len) and keeps
 * no pointer into buf between calls, so input may be split anywhere (even inside a
 * chunk-size line or a CRLF). Chunk extensions and trailer fields are checked and
 * skipped. Strict like the head parser: lines end in CRLF, sizes are hex digits only.
 *
 *	struct http_chunked c;
 *	http_chunked_init(&c);
 *	while (!http_chunked_done(&c) && have input) {
 *		n = http_chunked_decode(&c, buf, len, &data, &data_len);
 *		if (n < 0) -> malformed
 *		use data[0 .. data_len); buf += n; len -= n;
 *	}
 * Bytes after the end of the chunked body are never consumed: they belong to the
 * next message.
 */
#ifndef HTTP_ENERGY_HTTP_CHUNKED_H
#define HTTP_ENERGY_HTTP_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest chunk-extension or trailer line accepted, in bytes. */
#define HTTP_CHUNKED_MAX_LINE 4096

struct http_chunked {
	int state;
	unsigned size_digits;
	size_t line_len;
	uint64_t chunk_left;
	uint64_t data_bytes; /* chunk data decoded so far */
};

void http_chunked_init(struct http_chunked *c);

/*
 * Consumes framing bytes and at most one run of chunk data from buf. Returns the number
 * of bytes consumed (0 only when len is 0 or the body is already complete) and sets
 * *data, *data_len to the chunk data found in buf (data_len 0 when none), or returns
 * HTTP_PARSE_ERROR (from http_parser.h) for a malformed body; the decoder then stays in
 * the error state.
 */
ssize_t http_chunked_decode(struct http_chunked *c, const char *buf, size_t len, const char **data,
			    size_t *data_len);

/* True once the last chunk, the trailer section and the final CRLF have been consumed. */
bool http_chunked_done(const struct http_chunked *c);

#endif
