// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guard.h"
#include "resp_reader.h"

struct outcome {
	int rc; /* last return of feed (or eof) */
	size_t consumed; /* bytes consumed in total */
	struct resp_result res;
};

/*
 * Feeds s in pieces of at most piece bytes (0: whole), each against a guard page; stops
 * at the first result other than RESP_MORE. With eof, signals the end of the connection
 * after the last byte.
 */
static struct outcome run_pieces(struct resp_reader *r, const char *s, size_t len, size_t piece,
				 bool eof, bool head_request)
{
	struct outcome o = { .rc = RESP_MORE };
	size_t off = 0;

	resp_reader__start(r, head_request);
	while (off < len) {
		size_t n = piece && len - off > piece ? piece : len - off, used;
		struct guarded g;
		const char *buf = guarded_place(&g, s + off, n);

		assert_non_null(buf);
		o.rc = resp_reader__feed(r, buf, n, &used);
		guarded_free(&g);
		assert_true(used <= n);
		off += used;
		o.consumed = off;
		if (o.rc != RESP_MORE)
			break;
		assert_int_equal(used, n); /* more is needed, so all was taken */
	}
	if (o.rc == RESP_MORE && eof)
		o.rc = resp_reader__eof(r);
	o.res = r->result;
	return o;
}

/* Every piece size must give the same outcome as feeding it all at once. */
static struct outcome run_all_splits(const char *s, size_t len, bool eof, bool head_request)
{
	struct resp_reader r;
	struct outcome first;

	resp_reader__init(&r);
	first = run_pieces(&r, s, len, 0, eof, head_request);
	for (size_t piece = 1; piece < len; piece++) {
		struct outcome o = run_pieces(&r, s, len, piece, eof, head_request);

		assert_int_equal(o.rc, first.rc);
		if (first.rc == RESP_DONE) {
			assert_int_equal(o.consumed, first.consumed);
			assert_memory_equal(&o.res, &first.res, sizeof(o.res));
		}
	}
	resp_reader__free(&r);
	return first;
}

static struct outcome run_str(const char *s)
{
	return run_all_splits(s, strlen(s), false, false);
}

static void test_content_length(void **state)
{
	const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Energy-Score: 1234\r\n\r\n"
			"hello";
	struct outcome o = run_str(s);

	assert_int_equal(o.rc, RESP_DONE);
	assert_int_equal(o.consumed, strlen(s));
	assert_int_equal(o.res.status, 200);
	assert_true(o.res.keep_alive);
	assert_true(o.res.has_energy);
	assert_int_equal(o.res.energy_uj, 1234);
	assert_int_equal(o.res.body_bytes, 5);
}

static void test_chunked(void **state)
{
	const char *s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
			"x-energy-score: 99\r\n\r\n"
			"4\r\nabcd\r\n10;ext=1\r\n0123456789abcdef\r\n0\r\nTrailer: x\r\n\r\n";
	struct outcome o = run_str(s);

	assert_int_equal(o.rc, RESP_DONE);
	assert_int_equal(o.consumed, strlen(s));
	assert_int_equal(o.res.body_bytes, 20);
	assert_int_equal(o.res.energy_uj, 99);
	assert_true(o.res.keep_alive);
}

static void test_extra_bytes_left_unconsumed(void **state)
{
	const char *s = "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nnoHTTP/1.1 200";
	struct outcome o = run_str(s);

	assert_int_equal(o.rc, RESP_DONE);
	assert_int_equal(o.consumed, strlen(s) - 12);
	assert_int_equal(o.res.status, 404);
	assert_false(o.res.has_energy);
}

static void test_interim_continue(void **state)
{
	const char *s = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
			"Content-Length: 0\r\n\r\n";
	struct outcome o = run_str(s);

	assert_int_equal(o.rc, RESP_DONE);
	assert_int_equal(o.consumed, strlen(s));
	assert_int_equal(o.res.status, 201);
}

static void test_connection_close_and_eof_body(void **state)
{
	const char *closing = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx";
	const char *eof_body = "HTTP/1.0 200 OK\r\nX-Energy-Score: 7\r\n\r\nuntil the end";
	const char *ka10 = "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n";
	struct outcome o = run_str(closing);

	assert_int_equal(o.rc, RESP_DONE);
	assert_false(o.res.keep_alive);

	o = run_all_splits(eof_body, strlen(eof_body), true, false);
	assert_int_equal(o.rc, RESP_DONE);
	assert_false(o.res.keep_alive);
	assert_int_equal(o.res.body_bytes, 13);
	assert_int_equal(o.res.energy_uj, 7);
	/* Without the close it is not complete. */
	o = run_all_splits(eof_body, strlen(eof_body), false, false);
	assert_int_equal(o.rc, RESP_MORE);

	o = run_str(ka10);
	assert_int_equal(o.rc, RESP_DONE);
	assert_true(o.res.keep_alive);
}

static void test_no_body_statuses(void **state)
{
	const char *s204 = "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n";
	const char *s304 = "HTTP/1.1 304 Not Modified\r\n\r\n";
	const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
	struct outcome o = run_str(s204);

	assert_int_equal(o.rc, RESP_DONE);
	assert_int_equal(o.consumed, strlen(s204));
	o = run_str(s304);
	assert_int_equal(o.rc, RESP_DONE);
	o = run_all_splits(head, strlen(head), false, true);
	assert_int_equal(o.rc, RESP_DONE);
	assert_int_equal(o.res.body_bytes, 0);
	o = run_all_splits(head, strlen(head), false, false);
	assert_int_equal(o.rc, RESP_MORE);
}

static void test_energy_header_values(void **state)
{
	struct outcome o;

	o = run_str("HTTP/1.1 200 OK\r\nX-Energy-Score: 12.6\r\nContent-Length: 0\r\n\r\n");
	assert_true(o.res.has_energy);
	assert_int_equal(o.res.energy_uj, 13);
	o = run_str("HTTP/1.1 200 OK\r\nX-Energy-Score: abc\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(o.rc, RESP_DONE);
	assert_false(o.res.has_energy);
	assert_true(o.res.energy_invalid);
	o = run_str("HTTP/1.1 200 OK\r\nX-Energy-Score: -5\r\nContent-Length: 0\r\n\r\n");
	assert_true(o.res.energy_invalid);
	o = run_str("HTTP/1.1 200 OK\r\nX-Energy-Score: 5\r\nX-Energy-Score: 6\r\n"
		    "Content-Length: 0\r\n\r\n");
	assert_int_equal(o.res.energy_uj, 5);
}

static void test_malformed(void **state)
{
	const char *bad[] = {
		"XTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
		"HTTP/2.0 200 OK\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
		"SSH-2.0-OpenSSH\r\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("case %zu\n", i);
		assert_int_equal(run_str(bad[i]).rc, -EPROTO);
	}
}

static void test_too_many_headers_and_huge_head(void **state)
{
	size_t cap = RESP_MAX_HEAD + 4096, n;
	char *s = malloc(cap);
	struct resp_reader r;
	struct outcome o;

	assert_non_null(s);
	n = (size_t)snprintf(s, cap, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i <= RESP_MAX_HEADERS; i++)
		n += (size_t)snprintf(s + n, cap - n, "X-%d: v\r\n", i);
	n += (size_t)snprintf(s + n, cap - n, "\r\n");
	assert_int_equal(run_str(s).rc, -EPROTO);

	/* One header line that never ends: rejected at RESP_MAX_HEAD, split or not. */
	n = (size_t)snprintf(s, cap, "HTTP/1.1 200 OK\r\nX-Big: ");
	memset(s + n, 'a', cap - n);
	resp_reader__init(&r);
	for (size_t piece = 0; piece <= 8192; piece += 4096) {
		o = run_pieces(&r, s, cap, piece, false, false);
		assert_int_equal(o.rc, -EMSGSIZE);
	}
	resp_reader__free(&r);
	free(s);
}

static void test_eof_cases(void **state)
{
	struct resp_reader r;
	struct outcome o;
	const char *part_head = "HTTP/1.1 200 OK\r\nContent-Le";
	const char *part_body = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
	const char *part_chunk = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab";

	resp_reader__init(&r);
	resp_reader__start(&r, false);
	assert_false(resp_reader__started(&r));
	assert_int_equal(resp_reader__eof(&r), -ENODATA);
	o = run_pieces(&r, part_head, strlen(part_head), 0, true, false);
	assert_int_equal(o.rc, -EPROTO);
	assert_true(resp_reader__started(&r));
	o = run_pieces(&r, part_body, strlen(part_body), 7, true, false);
	assert_int_equal(o.rc, -EPROTO);
	o = run_pieces(&r, part_chunk, strlen(part_chunk), 0, true, false);
	assert_int_equal(o.rc, -EPROTO);
	resp_reader__free(&r);
}

/* One reader serves many responses in a row, as on a keep-alive connection. */
static void test_reuse(void **state)
{
	const char *a = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Energy-Score: 1\r\n\r\nabc";
	const char *b = "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n";
	struct resp_reader r;
	struct outcome o;

	resp_reader__init(&r);
	for (int i = 0; i < 10; i++) {
		o = run_pieces(&r, a, strlen(a), (size_t)i, false, false);
		assert_int_equal(o.rc, RESP_DONE);
		assert_int_equal(o.res.status, 200);
		o = run_pieces(&r, b, strlen(b), (size_t)i, false, false);
		assert_int_equal(o.rc, RESP_DONE);
		assert_int_equal(o.res.status, 500);
		assert_false(o.res.has_energy);
	}
	resp_reader__free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_extra_bytes_left_unconsumed),
		cmocka_unit_test(test_interim_continue),
		cmocka_unit_test(test_connection_close_and_eof_body),
		cmocka_unit_test(test_no_body_statuses),
		cmocka_unit_test(test_energy_header_values),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_too_many_headers_and_huge_head),
		cmocka_unit_test(test_eof_cases),
		cmocka_unit_test(test_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
