// SPDX-License-Identifier: MIT
/*
 * bpf/http_head.h, the kernel-side request-head state machine, run host-side: a table of
 * adversarial streams, each checked against what it must do and against
 * common/http_parser.c at every split into two segments and byte by byte; and at a guard
 * page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../fuzz/http_head_diff.h"
#include "guard.h"

struct head_case {
	const char *name;
	const char *bytes;
	size_t heads; /* heads the state machine must count */
	int end; /* enum hd_end */
	unsigned int kind0; /* the first head's kind, when there is one */
};

#define CRLF "\r\n"
#define GET "GET / HTTP/1.1" CRLF "Host: a" CRLF CRLF

static const struct head_case cases[] = {
	{ "one GET", GET, 1, HD_CLEAN, HH_KIND_PLAIN },
	{ "pipelined GETs", GET GET GET, 3, HD_CLEAN, HH_KIND_PLAIN },
	{ "HTTP/1.0, no fields", "GET / HTTP/1.0" CRLF CRLF, 1, HD_CLEAN, HH_KIND_PLAIN },
	{ "HEAD", "HEAD / HTTP/1.1" CRLF CRLF GET, 2, HD_CLEAN, HH_KIND_HEAD },
	{ "HEADX is plain", "HEADX / HTTP/1.1" CRLF CRLF, 1, HD_CLEAN, HH_KIND_PLAIN },
	{ "HEA is plain", "HEA / HTTP/1.1" CRLF CRLF, 1, HD_CLEAN, HH_KIND_PLAIN },
	{ "head (lower case) is plain", "head / HTTP/1.1" CRLF CRLF, 1, HD_CLEAN, HH_KIND_PLAIN },
	{ "CONNECT then a tunnel", "CONNECT a:443 HTTP/1.1" CRLF CRLF GET "\x16\x03\x01", 1,
	  HD_TUNNEL, HH_KIND_CONNECT },
	{ "4 empty lines before a request", CRLF CRLF CRLF CRLF GET, 1, HD_CLEAN, 0 },
	{ "5 empty lines before a request", CRLF CRLF CRLF CRLF CRLF GET, 0, HD_REJECTED, 0 },
	/* bare LF: the old parser ended heads at LF LF and counted a head inside a body */
	{ "bare-LF head", "GET / HTTP/1.1\nHost: a\n\n", 0, HD_REJECTED, 0 },
	{ "bare-LF head with a head in its body",
	  "POST / HTTP/1.1\nContent-Length: 18\n\nGET / HTTP/1.1\n\n\n\n", 0, HD_REJECTED, 0 },
	{ "bare LF ending a field", "GET / HTTP/1.1" CRLF "A: b\n" CRLF, 0, HD_REJECTED, 0 },
	{ "bare LF ending the head", "GET / HTTP/1.1" CRLF "A: b" CRLF "\n", 0, HD_REJECTED, 0 },
	{ "bare CR in a value", "GET / HTTP/1.1" CRLF "A: b\rc" CRLF CRLF, 0, HD_REJECTED, 0 },
	{ "CR CR LF", "GET / HTTP/1.1\r\r\n" CRLF, 0, HD_REJECTED, 0 },
	{ "LF before a request line", "\n" GET, 0, HD_REJECTED, 0 },
	{ "CRLF mixed with LF between requests", GET "\r\n\n" GET, 1, HD_REJECTED, 0 },
	{ "a request line without version", "GET /" CRLF CRLF, 0, HD_REJECTED, 0 },
	{ "HTTP/2.0 (505)", "GET / HTTP/2.0" CRLF CRLF, 0, HD_REJECTED, 0 },
	{ "HTTP/1.9 is 1.x", "GET / HTTP/1.9" CRLF CRLF, 1, HD_CLEAN, 0 },
	{ "the HTTP/2 preface", "PRI * HTTP/2.0" CRLF CRLF "SM" CRLF CRLF, 0, HD_REJECTED, 0 },
	{ "double space", "GET  / HTTP/1.1" CRLF CRLF, 0, HD_REJECTED, 0 },
	{ "a status line is not a request", "HTTP/1.1 200 OK" CRLF CRLF, 0, HD_REJECTED, 0 },
	{ "TLS", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 0, HD_REJECTED, 0 },
	{ "obs-fold", "GET / HTTP/1.1" CRLF "A: b" CRLF " c" CRLF CRLF, 0, HD_REJECTED, 0 },
	{ "space before the colon", "GET / HTTP/1.1" CRLF "A : b" CRLF CRLF, 0, HD_REJECTED, 0 },
	{ "an empty field name", "GET / HTTP/1.1" CRLF ": b" CRLF CRLF, 0, HD_REJECTED, 0 },
	{ "a DEL in a value", "GET / HTTP/1.1" CRLF "A: \x7f" CRLF CRLF, 0, HD_REJECTED, 0 },
	{ "obs-text in a value", "GET / HTTP/1.1" CRLF "A: \xe9t\xe9" CRLF CRLF, 1, HD_CLEAN, 0 },
	/* bodies */
	{ "a body holding heads",
	  "POST / HTTP/1.1" CRLF "Content-Length: 18" CRLF CRLF "GET / HTTP/1.1" CRLF CRLF GET, 2,
	  HD_CLEAN, 0 },
	{ "a body holding CRLFCRLF",
	  "POST / HTTP/1.1" CRLF "content-LENGTH:4" CRLF CRLF CRLF CRLF GET, 2, HD_CLEAN, 0 },
	{ "Content-Length: 0", "POST / HTTP/1.1" CRLF "Content-Length: 0" CRLF CRLF GET, 2,
	  HD_CLEAN, 0 },
	{ "Content-Length with leading zeros",
	  "POST / HTTP/1.1" CRLF "Content-Length: 0004" CRLF CRLF "abcd" GET, 2, HD_CLEAN, 0 },
	{ "Content-Length with spaces and tabs around",
	  "POST / HTTP/1.1" CRLF "Content-Length: \t 2 \t" CRLF CRLF "ab" GET, 2, HD_CLEAN, 0 },
	{ "Content-Length with a space inside",
	  "POST / HTTP/1.1" CRLF "Content-Length: 1 2" CRLF CRLF, 0, HD_REJECTED, 0 },
	{ "Content-Length empty", "POST / HTTP/1.1" CRLF "Content-Length:  " CRLF CRLF, 0,
	  HD_REJECTED, 0 },
	{ "Content-Length signed", "POST / HTTP/1.1" CRLF "Content-Length: +2" CRLF CRLF "ab", 0,
	  HD_REJECTED, 0 },
	{ "Content-Length list", "POST / HTTP/1.1" CRLF "Content-Length: 2, 2" CRLF CRLF "ab", 0,
	  HD_REJECTED, 0 },
	{ "Content-Length twice, equal",
	  "POST / HTTP/1.1" CRLF "Content-Length: 2" CRLF "Content-Length: 2" CRLF CRLF "ab", 0,
	  HD_REJECTED, 0 },
	{ "Content-Length 18 digits",
	  "POST / HTTP/1.1" CRLF "Content-Length: 999999999999999999" CRLF CRLF "ab", 1,
	  HD_INCOMPLETE, 0 },
	{ "Content-Length 19 digits",
	  "POST / HTTP/1.1" CRLF "Content-Length: 0000000000000000001" CRLF CRLF "a", 0,
	  HD_REJECTED, 0 },
	{ "Content-Length-X is another field",
	  "POST / HTTP/1.1" CRLF "Content-Length-X: 5" CRLF CRLF GET, 2, HD_CLEAN, 0 },
	{ "X-Content-Length is another field",
	  "POST / HTTP/1.1" CRLF "X-Content-Length: 5" CRLF CRLF GET, 2, HD_CLEAN, 0 },
	{ "Content-Length and Transfer-Encoding",
	  "POST / HTTP/1.1" CRLF "Content-Length: 3" CRLF "Transfer-Encoding: chunked" CRLF CRLF
	  "0" CRLF CRLF,
	  0, HD_REJECTED, 0 },
	/* chunked request bodies */
	{ "chunked",
	  "POST / HTTP/1.1" CRLF "Transfer-Encoding: chunked" CRLF CRLF "5;ext=1" CRLF "GET /" CRLF
	  "1A" CRLF "GET / HTTP/1.1\r\n\r\n\r\n\r\nxxxx" CRLF "0" CRLF "Trailer: x" CRLF CRLF GET,
	  2, HD_CLEAN, 0 },
	{ "chunked, codings before it",
	  "POST / HTTP/1.1" CRLF "Transfer-Encoding: gzip, CHUNKED " CRLF CRLF "0" CRLF CRLF GET, 2,
	  HD_CLEAN, 0 },
	{ "chunked not last (400)",
	  "POST / HTTP/1.1" CRLF "Transfer-Encoding: chunked, gzip" CRLF CRLF "0" CRLF CRLF GET, 0,
	  HD_REJECTED, 0 },
	{ "chunked then a trailing comma",
	  "POST / HTTP/1.1" CRLF "Transfer-Encoding: chunked," CRLF CRLF "0" CRLF CRLF, 0,
	  HD_REJECTED, 0 },
	{ "a second Transfer-Encoding decides",
	  "POST / HTTP/1.1" CRLF "Transfer-Encoding: chunked" CRLF
	  "Transfer-Encoding: gzip" CRLF CRLF,
	  0, HD_REJECTED, 0 },
	{ "chunkedx is not chunked", "POST / HTTP/1.1" CRLF "Transfer-Encoding: chunkedx" CRLF CRLF,
	  0, HD_REJECTED, 0 },
	{ "a bad chunk size",
	  "POST / HTTP/1.1" CRLF "Transfer-Encoding: chunked" CRLF CRLF "g" CRLF, 1, HD_REJECTED,
	  0 },
	{ "chunk data without its CRLF",
	  "POST / HTTP/1.1" CRLF "Transfer-Encoding: chunked" CRLF CRLF "2" CRLF "abX", 1,
	  HD_REJECTED, 0 },
	{ "33 size digits",
	  "POST / HTTP/1.1" CRLF "Transfer-Encoding: chunked" CRLF CRLF
	  "000000000000000000000000000000001" CRLF "a" CRLF "0" CRLF CRLF,
	  1, HD_REJECTED, 0 },
	{ "a chunk size over 2^64",
	  "POST / HTTP/1.1" CRLF "Transfer-Encoding: chunked" CRLF CRLF "10000000000000000" CRLF, 1,
	  HD_REJECTED, 0 },
	{ "unfinished chunked body",
	  "POST / HTTP/1.1" CRLF "Transfer-Encoding: chunked" CRLF CRLF "5" CRLF "ab", 1,
	  HD_INCOMPLETE, 0 },
	{ "incomplete head", "GET / HTTP/1.1" CRLF "Host:", 0, HD_INCOMPLETE, 0 },
};

static void check_case(const struct head_case *c, const uint8_t *buf, size_t len)
{
	struct hd_trace k, r, e;
	const char *why;

	hd_kernel_trace(buf, len, NULL, 0, &k);
	hd_reference_trace(buf, len, &r);
	/* ingress's walk (hh_passes() bytes passed over) = hh_step() on every byte */
	hd_every_byte = true;
	hd_kernel_trace(buf, len, NULL, 0, &e);
	hd_every_byte = false;
	if (hd_disagreement(&k, &e) || k.end != e.end) {
		print_error("case \"%s\": passing bytes over changes the heads\n", c->name);
		fail();
	}
	why = hd_disagreement(&k, &r);
	if (why || k.n != c->heads || k.end != c->end || (c->heads && k.kinds[0] != c->kind0)) {
		print_error("case \"%s\": %s\n", c->name, why ? why : "not what the table says");
		hd_print(stderr, "state machine", &k);
		hd_print(stderr, "http_parser  ", &r);
		fail();
	}
	/* every split into two segments, and byte by byte: the same heads */
	for (size_t cut = 1; cut < len; cut++) {
		struct hd_trace s;

		hd_kernel_trace(buf, len, &cut, 1, &s);
		if (hd_disagreement(&s, &k) || s.end != k.end) {
			print_error("case \"%s\": split at %zu differs\n", c->name, cut);
			fail();
		}
	}
	if (len > 1) {
		size_t *cuts = malloc((len - 1) * sizeof(*cuts));
		struct hd_trace s;

		assert_non_null(cuts);
		for (size_t i = 0; i < len - 1; i++)
			cuts[i] = i + 1;
		hd_kernel_trace(buf, len, cuts, len - 1, &s);
		free(cuts);
		assert_null(hd_disagreement(&s, &k));
	}
}

static void test_adversarial_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i], (const uint8_t *)cases[i].bytes, strlen(cases[i].bytes));
}

/* Each stream's last byte right before a PROT_NONE page: no read past the segment. */
static void test_at_guard_page(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].bytes);
		struct guarded g;
		const char *buf = guarded_place(&g, cases[i].bytes, len);

		assert_non_null(buf);
		check_case(&cases[i], (const uint8_t *)buf, len);
		guarded_free(&g);
	}
}

/* The head ends at the blank line's LF, wherever the segments are cut. */
static void test_head_end_offsets(void **state)
{
	static const char s[] = "POST /p HTTP/1.1" CRLF "Content-Length: 3" CRLF CRLF "abc" CRLF
				"HEAD /h HTTP/1.0" CRLF CRLF;
	struct hd_trace k;

	hd_kernel_trace((const uint8_t *)s, sizeof(s) - 1, NULL, 0, &k);
	assert_int_equal(k.n, 2);
	assert_int_equal(k.ends[0], strstr(s, "abc") - s);
	assert_int_equal(k.ends[1], sizeof(s) - 1);
	assert_int_equal(k.kinds[0], HH_KIND_PLAIN);
	assert_int_equal(k.kinds[1], HH_KIND_HEAD);
	assert_int_equal(k.end, HD_CLEAN);
}

/* A huge Content-Length is skipped in bulk, across many segments, to the byte. */
static void test_bulk_skip(void **state)
{
	struct http_head_parser p;
	const char *h = "PUT / HTTP/1.1" CRLF "Content-Length: 100000000000" CRLF CRLF;
	unsigned long long left = 100000000000ULL, n;
	int heads = 0;

	hh_init(&p);
	for (const char *c = h; *c; c++)
		heads += hh_step(&p, (unsigned char)*c) == HH_HEAD_END;
	assert_int_equal(heads, 1);
	assert_true(hh_skipping(&p));
	while (left) {
		n = hh_skip(&p, left > 65536 ? 65536 : left);
		assert_true(n > 0);
		left -= n;
	}
	assert_false(hh_skipping(&p));
	assert_int_equal(p.state, HH_START);
	assert_int_equal(hh_skip(&p, 10), 0);
	assert_int_equal(hh_step(&p, 'G'), HH_MORE);
}

/*
 * Every byte hh_passes() accepts, in each state it accepts any in, is one hh_step() takes
 * with HH_MORE and nothing changed (but a name's length once it can be neither field);
 * and it accepts none where the name may still be Content-Length.
 */
static void test_passes_changes_nothing(void **state)
{
	static const char *const prefixes[] = {
		"GET /a",		   /* HH_TARGET */
		"GET / HTTP/1.1" CRLF "Host:",	   /* HH_VALUE, a field nobody reads */
		"GET / HTTP/1.1" CRLF "Xy",	   /* HH_NAME, neither field */
		"GET / HTTP/1.1" CRLF "Co",	   /* HH_NAME, may be Content-Length */
		"GET / HTTP/1.1" CRLF "Content-Length: 1", /* HH_VALUE, Content-Length */
		"GET / HTTP/1.1" CRLF,	   /* HH_LINE_START */
	};
	static const int accepts[] = { 1, 1, 1, 0, 0, 0 };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		struct http_head_parser p, q;
		int any = 0;

		hh_init(&p);
		for (const char *c = prefixes[i]; *c; c++)
			assert_int_equal(hh_step(&p, (unsigned char)*c), HH_MORE);
		for (unsigned int b = 0; b < 256; b++) {
			if (!hh_passes(&p, (unsigned char)b))
				continue;
			any = 1;
			q = p;
			assert_int_equal(hh_step(&q, (unsigned char)b), HH_MORE);
			assert_int_equal(q.state, p.state);
			assert_int_equal(q.flags, p.flags);
			assert_int_equal(q.field, p.field);
			assert_int_equal(q.match, p.match);
			assert_true(q.value == p.value && q.body_left == p.body_left);
			assert_int_equal(q.count, p.count);
			assert_int_equal(q.kind, p.kind);
			if (p.state != HH_NAME)
				assert_int_equal(q.pos, p.pos);
		}
		if (any != accepts[i])
			fail_msg("prefix %zu: hh_passes() accepts %s byte", i, any ? "a" : "no");
	}
}

/* Rejected is for good. */
static void test_reject_is_sticky(void **state)
{
	struct http_head_parser p;
	const char *s = GET;

	hh_init(&p);
	assert_int_equal(hh_step(&p, '\n'), HH_REJECT);
	for (const char *c = s; *c; c++)
		assert_int_equal(hh_step(&p, (unsigned char)*c), HH_REJECT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adversarial_table), cmocka_unit_test(test_at_guard_page),
		cmocka_unit_test(test_head_end_offsets),  cmocka_unit_test(test_bulk_skip),
		cmocka_unit_test(test_reject_is_sticky), cmocka_unit_test(test_passes_changes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
