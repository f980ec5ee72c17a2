/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.x message-head parser: request and status lines, header fields, framing.
 *
 * Allocates nothing, does no I/O and never reads outside [buf, buf + len). Returned
 * pointers point into buf and stay valid as long as buf does.
 *
 * http_parse_request() and http_parse_response() return:
 *   > 0                          the head is complete: the number of bytes up to and
 *                                including its blank line (leading empty lines too);
 *                                *msg, headers[0 .. msg->num_headers) are filled in
 *   HTTP_PARSE_INCOMPLETE        no blank line yet: read more and call again with the
 *                                whole head (nothing in *msg is valid)
 *   HTTP_PARSE_ERROR             malformed: answer 400 and close
 *   HTTP_PARSE_TOO_MANY_HEADERS  more than max_headers fields: answer 431 and close
 *
 * Strict by design, because a kernel-side parser must agree with ours on where a head
 * ends: lines end in CRLF (a bare LF or CR is an error), no whitespace before ':', no
 * obsolete line folding, no control characters in values. Up to 4 empty lines before a
 * request line are skipped (RFC 9112 2.2).
 */
#ifndef HTTP_ENERGY_HTTP_PARSER_H
#define HTTP_ENERGY_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	HTTP_PARSE_ERROR = -1,
	HTTP_PARSE_INCOMPLETE = -2,
	HTTP_PARSE_TOO_MANY_HEADERS = -3,
};

struct http_header {
	const char *name;
	size_t name_len;
	const char *value; /* leading and trailing whitespace removed */
	size_t value_len;
};

struct http_request {
	const char *method;
	size_t method_len;
	const char *target; /* origin-form: path and optional "?query" */
	size_t target_len;
	int version_major;
	int version_minor;
	size_t num_headers;
};

struct http_response {
	int version_major;
	int version_minor;
	int status;
	const char *reason;
	size_t reason_len;
	size_t num_headers;
};

int http_parse_request(const char *buf, size_t len, struct http_request *req,
		       struct http_header *headers, size_t max_headers);
int http_parse_response(const char *buf, size_t len, struct http_response *resp,
			struct http_header *headers, size_t max_headers);

/* How the body is delimited and whether the connection persists. */
struct http_framing {
	int64_t content_length; /* -1 when there is no Content-Length */
	bool chunked;		/* Transfer-Encoding whose last coding is chunked */
	bool has_transfer_encoding;
	bool keep_alive;	/* from the version and the Connection header */
	bool expect_continue;	/* Expect: 100-continue */
};

/*
 * Reads Content-Length, Transfer-Encoding, Connection and Expect. Returns 0, or
 * HTTP_PARSE_ERROR for a malformed or repeated Content-Length, or both Content-Length
 * and Transfer-Encoding (a smuggling vector, RFC 9112 6.3).
 */
int http_framing_parse(const struct http_header *headers, size_t num_headers,
		       int version_minor, struct http_framing *out);

/* A token character (RFC 9110 5.6.2 tchar): methods and header names. */
bool http_is_tchar(unsigned char c);

/* Case-insensitive comparison of a header's name. */
bool http_header_is(const struct http_header *h, const char *name);

/* Splits target into path and query (query_len 0 and query NULL when there is none). */
void http_target_split(const char *target, size_t target_len, const char **path,
		       size_t *path_len, const char **query, size_t *query_len);

/*
 * Iterates over "name=value" pairs of a query string. *pos starts at 0. Returns 1 and
 * fills name/value (value_len 0 for "name" or "name="), or 0 at the end. No decoding.
 */
int http_query_next(const char *query, size_t query_len, size_t *pos, const char **name,
		    size_t *name_len, const char **value, size_t *value_len);

#endif
