// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "guard.h"
#include "http_parser.h"

#define MAX_HEADERS 16

struct parsed {
	struct guarded g;
	struct http_request req;
	struct http_header headers[MAX_HEADERS];
};

/* Parses s placed against a guard page; returns the parser's result. */
static int parse_req(struct parsed *p, const char *s, size_t len)
{
	const char *buf = guarded_place(&p->g, s, len);
	int rc;

	assert_non_null(buf);
	rc = http_parse_request(buf, len, &p->req, p->headers, MAX_HEADERS);
	guarded_free(&p->g);
	return rc;
}

static int parse_req_str(const char *s)
{
	struct parsed p;

	return parse_req(&p, s, strlen(s));
}

static void assert_span(const char *ptr, size_t len, const char *want)
{
	assert_int_equal(len, strlen(want));
	assert_memory_equal(ptr, want, len);
}

static void test_simple_get(void **state)
{
	const char *s = "GET /cpu?iters=10 HTTP/1.1\r\nHost: a\r\nX-Long:  v a l  \r\n\r\n";
	struct http_request req;
	struct http_header h[MAX_HEADERS];
	int rc = http_parse_request(s, strlen(s), &req, h, MAX_HEADERS);

	assert_int_equal(rc, (int)strlen(s));
	assert_span(req.method, req.method_len, "GET");
	assert_span(req.target, req.target_len, "/cpu?iters=10");
	assert_int_equal(req.version_major, 1);
	assert_int_equal(req.version_minor, 1);
	assert_int_equal(req.num_headers, 2);
	assert_span(h[0].name, h[0].name_len, "Host");
	assert_span(h[0].value, h[0].value_len, "a");
	assert_span(h[1].value, h[1].value_len, "v a l");
}

static void test_no_headers_and_empty_value(void **state)
{
	struct parsed p;
	const char *s = "GET / HTTP/1.0\r\n\r\n";
	const char *e = "GET / HTTP/1.1\r\nX-Empty:\r\n\r\n";

	assert_int_equal(parse_req(&p, s, strlen(s)), (int)strlen(s));
	assert_int_equal(p.req.num_headers, 0);
	assert_int_equal(p.req.version_minor, 0);
	assert_int_equal(parse_req(&p, e, strlen(e)), (int)strlen(e));
	assert_int_equal(p.req.num_headers, 1);
	assert_int_equal(p.headers[0].value_len, 0);
}

/* Every proper prefix of a valid request is incomplete, and the parser never reads past it. */
static void test_every_prefix_is_incomplete(void **state)
{
	const char *s = "POST /post?kb=1 HTTP/1.1\r\nHost: localhost:8080\r\n"
			"Content-Length: 1024\r\nConnection: keep-alive\r\n\r\n";
	size_t len = strlen(s);
	struct parsed p;

	for (size_t i = 0; i < len; i++)
		assert_int_equal(parse_req(&p, s, i), HTTP_PARSE_INCOMPLETE);
	assert_int_equal(parse_req(&p, s, len), (int)len);
}

static void test_pipelined_requests(void **state)
{
	const char *s = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c";
	size_t off = 0, len = strlen(s);
	struct http_request req;
	struct http_header h[MAX_HEADERS];
	struct guarded g;
	const char *buf = guarded_place(&g, s, len);
	int rc;

	assert_non_null(buf);
	rc = http_parse_request(buf, len, &req, h, MAX_HEADERS);
	assert_int_equal(rc, 19);
	assert_span(req.target, req.target_len, "/a");
	off += (size_t)rc;
	rc = http_parse_request(buf + off, len - off, &req, h, MAX_HEADERS);
	assert_int_equal(rc, 28);
	assert_span(req.target, req.target_len, "/b");
	off += (size_t)rc;
	assert_int_equal(http_parse_request(buf + off, len - off, &req, h, MAX_HEADERS),
			 HTTP_PARSE_INCOMPLETE);
	guarded_free(&g);
}

static void test_leading_empty_lines(void **state)
{
	struct parsed p;

	assert_int_equal(parse_req_str("\r\n\r\nGET / HTTP/1.1\r\n\r\n"), 22);
	assert_int_equal(parse_req(&p, "\r\n", 2), HTTP_PARSE_INCOMPLETE);
	assert_int_equal(parse_req(&p, "\r\n\r", 3), HTTP_PARSE_INCOMPLETE);
	assert_int_equal(parse_req_str("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n"), HTTP_PARSE_ERROR);
}

static void test_malformed(void **state)
{
	const char *bad[] = {
		"GET / HTTP/1.1\nHost: a\r\n\r\n",	  /* bare LF */
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",	  /* space before colon */
		"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", /* obs-fold */
		"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
		"GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", /* control character */
		"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",	  /* bare CR */
		"GET /  HTTP/1.1\r\n\r\n",		  /* two spaces */
		" GET / HTTP/1.1\r\n\r\n",
		"GET / http/1.1\r\n\r\n",
		"GET / HTTP/1\r\n\r\n",
		"GET / HTTP/1.10\r\n\r\n",
		"GET /\r\n\r\n",
		"GET\r\n\r\n",
		"G(T / HTTP/1.1\r\n\r\n",
		"GET /a\x7f HTTP/1.1\r\n\r\n",
		"\x16\x03\x01\x02", /* a TLS ClientHello fails before any CRLF */
		"GET / HTTP/1.1\nHost: x\n", /* bare LF, detected before the head ends */
	};
	struct parsed p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("case %zu\n", i);
		assert_int_equal(parse_req(&p, bad[i], strlen(bad[i])), HTTP_PARSE_ERROR);
	}
	/* The HTTP/2 preface parses; the server answers its version with 505. */
	assert_int_equal(parse_req(&p, "PRI * HTTP/2.0\r\n\r\n", 18), 18);
	assert_int_equal(p.req.version_major, 2);
	/* NUL inside the target */
	assert_int_equal(parse_req(&p, "GET /\0 HTTP/1.1\r\n\r\n", 19), HTTP_PARSE_ERROR);
}

static void test_too_many_headers(void **state)
{
	char s[4096];
	size_t n = (size_t)snprintf(s, sizeof(s), "GET / HTTP/1.1\r\n");
	struct parsed p;

	for (int i = 0; i < MAX_HEADERS; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "X-%d: %d\r\n", i, i);
	memcpy(s + n, "\r\n", 2);
	assert_int_equal(parse_req(&p, s, n + 2), (int)(n + 2));
	assert_int_equal(p.req.num_headers, MAX_HEADERS);
	n += (size_t)snprintf(s + n, sizeof(s) - n, "X-last: 1\r\n\r\n");
	assert_int_equal(parse_req(&p, s, n), HTTP_PARSE_TOO_MANY_HEADERS);
}

static int framing_of(const char *head, struct http_framing *f)
{
	struct http_request req;
	struct http_header h[MAX_HEADERS];
	int rc = http_parse_request(head, strlen(head), &req, h, MAX_HEADERS);

	assert_true(rc > 0);
	return http_framing_parse(h, req.num_headers, req.version_minor, f);
}

static void test_framing(void **state)
{
	struct http_framing f;

	assert_int_equal(framing_of("POST / HTTP/1.1\r\ncontent-length: 42\r\n\r\n", &f), 0);
	assert_int_equal(f.content_length, 42);
	assert_true(f.keep_alive);
	assert_false(f.chunked);

	assert_int_equal(framing_of("GET / HTTP/1.1\r\n\r\n", &f), 0);
	assert_int_equal(f.content_length, -1);

	assert_int_equal(framing_of("GET / HTTP/1.1\r\nConnection: foo, Close\r\n\r\n", &f), 0);
	assert_false(f.keep_alive);
	assert_int_equal(framing_of("GET / HTTP/1.0\r\n\r\n", &f), 0);
	assert_false(f.keep_alive);
	assert_int_equal(framing_of("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &f), 0);
	assert_true(f.keep_alive);

	assert_int_equal(framing_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
				    &f), 0);
	assert_true(f.chunked);
	assert_int_equal(framing_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", &f), 0);
	assert_false(f.chunked);
	assert_true(f.has_transfer_encoding);

	assert_int_equal(framing_of("POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", &f), 0);
	assert_true(f.expect_continue);

	assert_int_equal(framing_of("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
				    &f), HTTP_PARSE_ERROR);
	assert_int_equal(framing_of("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &f),
			 HTTP_PARSE_ERROR);
	assert_int_equal(framing_of("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", &f),
			 HTTP_PARSE_ERROR);
	assert_int_equal(framing_of("POST / HTTP/1.1\r\nContent-Length: 9999999999999999999\r\n\r\n",
				    &f), HTTP_PARSE_ERROR);
	assert_int_equal(framing_of("POST / HTTP/1.1\r\nContent-Length: 3\r\n"
				    "Transfer-Encoding: chunked\r\n\r\n", &f), HTTP_PARSE_ERROR);
}

static void test_response(void **state)
{
	const char *s = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc";
	struct http_response r;
	struct http_header h[MAX_HEADERS];
	struct guarded g;
	const char *buf;

	assert_int_equal(http_parse_response(s, strlen(s), &r, h, MAX_HEADERS), (int)strlen(s) - 3);
	assert_int_equal(r.status, 404);
	assert_span(r.reason, r.reason_len, "Not Found");
	assert_int_equal(r.num_headers, 1);

	assert_true(http_parse_response("HTTP/1.1 204\r\n\r\n", 16, &r, h, MAX_HEADERS) > 0);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.reason_len, 0);

	for (size_t i = 0; i < strlen(s) - 3; i++) {
		buf = guarded_place(&g, s, i);
		assert_int_equal(http_parse_response(buf, i, &r, h, MAX_HEADERS),
				 HTTP_PARSE_INCOMPLETE);
		guarded_free(&g);
	}
	assert_int_equal(http_parse_response("SSH-2.0", 7, &r, h, MAX_HEADERS), HTTP_PARSE_ERROR);
	assert_int_equal(http_parse_response("HTTP/1.1 2x0 OK\r\n\r\n", 19, &r, h, MAX_HEADERS),
			 HTTP_PARSE_ERROR);
	assert_int_equal(http_parse_response("HTTP/1.1 099 X\r\n\r\n", 18, &r, h, MAX_HEADERS),
			 HTTP_PARSE_ERROR);
}

static void test_target_and_query(void **state)
{
	const char *t = "/cpu?iters=10&&flag&x=";
	const char *path, *query, *name, *value;
	size_t path_len, query_len, name_len, value_len, pos = 0;

	http_target_split(t, strlen(t), &path, &path_len, &query, &query_len);
	assert_span(path, path_len, "/cpu");
	assert_span(query, query_len, "iters=10&&flag&x=");

	assert_int_equal(http_query_next(query, query_len, &pos, &name, &name_len, &value,
					 &value_len), 1);
	assert_span(name, name_len, "iters");
	assert_span(value, value_len, "10");
	assert_int_equal(http_query_next(query, query_len, &pos, &name, &name_len, &value,
					 &value_len), 1);
	assert_span(name, name_len, "flag");
	assert_int_equal(value_len, 0);
	assert_int_equal(http_query_next(query, query_len, &pos, &name, &name_len, &value,
					 &value_len), 1);
	assert_span(name, name_len, "x");
	assert_int_equal(value_len, 0);
	assert_int_equal(http_query_next(query, query_len, &pos, &name, &name_len, &value,
					 &value_len), 0);

	http_target_split("/healthz", 8, &path, &path_len, &query, &query_len);
	assert_int_equal(path_len, 8);
	assert_null(query);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_no_headers_and_empty_value),
		cmocka_unit_test(test_every_prefix_is_incomplete),
		cmocka_unit_test(test_pipelined_requests),
		cmocka_unit_test(test_leading_empty_lines),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_too_many_headers),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_target_and_query),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
