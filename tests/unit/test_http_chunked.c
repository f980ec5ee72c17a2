// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guard.h"
#include "http_chunked.h"
#include "http_parser.h"

struct decoded {
	char data[8192];
	size_t data_len;
	size_t consumed;
	int error;
	bool done;
};

/*
 * Feeds s to a fresh decoder in pieces of at most piece bytes (0: all at once), each
 * piece placed against a guard page, and collects the decoded data.
 */
static void decode_pieces(const char *s, size_t len, size_t piece, struct decoded *out)
{
	struct http_chunked c;
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	http_chunked_init(&c);
	while (off < len && !http_chunked_done(&c)) {
		size_t n = piece && len - off > piece ? piece : len - off;
		struct guarded g;
		const char *buf = guarded_place(&g, s + off, n);
		size_t used = 0;

		assert_non_null(buf);
		while (used < n && !http_chunked_done(&c)) {
			const char *data;
			size_t data_len;
			ssize_t rc =
				http_chunked_decode(&c, buf + used, n - used, &data, &data_len);

			if (rc < 0) {
				out->error = (int)rc;
				guarded_free(&g);
				return;
			}
			assert_true(rc > 0);
			if (data_len) {
				assert_true(data >= buf + used && data + data_len <= buf + n);
				assert_true(out->data_len + data_len <= sizeof(out->data));
				memcpy(out->data + out->data_len, data, data_len);
				out->data_len += data_len;
			}
			used += (size_t)rc;
		}
		guarded_free(&g);
		off += used;
		if (used < n)
			break; /* done before the end of the piece */
	}
	out->consumed = off;
	out->done = http_chunked_done(&c);
}

static void assert_decodes(const char *s, size_t body_len, const char *want)
{
	size_t len = strlen(s);
	struct decoded d;

	/* Whole, every piece size (1 = byte by byte), and every two-way split. */
	for (size_t piece = 0; piece <= len; piece++) {
		decode_pieces(s, len, piece, &d);
		assert_int_equal(d.error, 0);
		assert_true(d.done);
		assert_int_equal(d.consumed, body_len);
		assert_int_equal(d.data_len, strlen(want));
		assert_memory_equal(d.data, want, d.data_len);
	}
}

static void test_simple(void **state)
{
	assert_decodes("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 26, "hello world");
	assert_decodes("0\r\n\r\n", 5, "");
	assert_decodes("A\r\n0123456789\r\na\r\nabcdefghij\r\n000\r\n\r\n", 37,
		       "0123456789abcdefghij");
}

static void test_extensions_and_trailers(void **state)
{
	const char *ext = "5;name=val\r\nhello\r\n3 ; x\r\nabc\r\n0;last\r\n\r\n";
	const char *trl = "3\r\nabc\r\n0\r\nX-Energy-Score: 17\r\nEmpty:\r\n\r\n";

	assert_decodes(ext, strlen(ext), "helloabc");
	assert_decodes(trl, strlen(trl), "abc");
}

static void test_stops_at_end_of_body(void **state)
{
	const char *s = "2\r\nok\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n";
	struct decoded d;

	for (size_t piece = 0; piece < strlen(s); piece++) {
		decode_pieces(s, strlen(s), piece, &d);
		assert_true(d.done);
		assert_int_equal(d.consumed, 12);
	}
}

static void test_large_chunk_counts_bytes(void **state)
{
	struct http_chunked c;
	const char *data;
	size_t data_len;
	char block[1000];

	memset(block, 'x', sizeof(block));
	http_chunked_init(&c);
	assert_int_equal(http_chunked_decode(&c, "1000\r\n", 6, &data, &data_len), 6);
	assert_int_equal(data_len, 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(http_chunked_decode(&c, block, sizeof(block), &data, &data_len),
				 1000);
		assert_int_equal(data_len, 1000);
	}
	/* 0x1000 = 4096: 96 bytes left, then the CRLF and the rest. */
	assert_int_equal(http_chunked_decode(&c, block, sizeof(block), &data, &data_len), 96);
	assert_int_equal(c.data_bytes, 4096);
	assert_int_equal(http_chunked_decode(&c, "\r\n0\r\n\r\n", 7, &data, &data_len), 7);
	assert_true(http_chunked_done(&c));
	assert_int_equal(http_chunked_decode(&c, "x", 1, &data, &data_len), 0);
}

static void test_malformed(void **state)
{
	char long_ext[HTTP_CHUNKED_MAX_LINE + 16];
	const char *bad[] = {
		"\r\n", /* no size */
		"g\r\n", /* not hex */
		"-5\r\nhello\r\n", /* sign */
		"0x5\r\nhello\r\n", /* prefix */
		"5\nhello\r\n0\r\n\r\n", /* bare LF after size */
		"5\r\nhelloX\r\n0\r\n\r\n", /* data longer than the size */
		"5\r\nhello\r\r", /* CR CR */
		"5\r\nhello\n", /* bare LF after data */
		"5 \r\nhello\r\n", /* whitespace not followed by ';' */
		"5;a\x01z\r\nhello\r\n", /* control character in an extension */
		"11111111111111111\r\n", /* 17 hex digits: beyond 64 bits */
		"0\r\nBad Header\r\n\r\n", /* trailer without a colon */
		"0\r\n: x\r\n\r\n", /* empty trailer name */
		"0\r\nX: a\x7f\r\n\r\n", /* DEL in a trailer */
		"0\r\n\r\r", /* final CR not followed by LF */
		"000000000000000000000000000000001\r\n", /* 33 digits */
	};
	struct decoded d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("case %zu\n", i);
		for (size_t piece = 0; piece <= strlen(bad[i]); piece++) {
			decode_pieces(bad[i], strlen(bad[i]), piece, &d);
			assert_int_equal(d.error, HTTP_PARSE_ERROR);
		}
	}

	memcpy(long_ext, "1;", 2);
	memset(long_ext + 2, 'e', sizeof(long_ext) - 2);
	decode_pieces(long_ext, sizeof(long_ext), 0, &d);
	assert_int_equal(d.error, HTTP_PARSE_ERROR);
}

static void test_error_is_sticky(void **state)
{
	struct http_chunked c;
	const char *data;
	size_t data_len;

	http_chunked_init(&c);
	assert_int_equal(http_chunked_decode(&c, "z", 1, &data, &data_len), HTTP_PARSE_ERROR);
	assert_int_equal(http_chunked_decode(&c, "0\r\n\r\n", 5, &data, &data_len),
			 HTTP_PARSE_ERROR);
	assert_false(http_chunked_done(&c));
}

/* Random bytes never crash the decoder or make it read outside its input. */
static void test_random_input(void **state)
{
	char buf[64];
	unsigned seed = 1;
	struct decoded d;

	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)(rand_r(&seed) % sizeof(buf)) + 1;

		for (size_t i = 0; i < len; i++) {
			static const char alphabet[] = "0123456789abcdefABCDEF;= \t\r\n:xX\x01";

			buf[i] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		}
		decode_pieces(buf, len, (size_t)(round % 5), &d);
		assert_true(d.error == 0 || d.error == HTTP_PARSE_ERROR);
		assert_true(d.consumed <= len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_extensions_and_trailers),
		cmocka_unit_test(test_stops_at_end_of_body),
		cmocka_unit_test(test_large_chunk_counts_bytes),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_error_is_sticky),
		cmocka_unit_test(test_random_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
