// SPDX-License-Identifier: MIT
/* The request log's pure part: a BPF event as a record, a record as a CSV row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "request_energy.h"
#include "request_log.h"

static struct request_event event(const char *line)
{
	struct request_event e = { 0 };

	e.head_ns = 10;
	e.first_write_ns = 20;
	e.end_ns = 30;
	e.cgroup_id = 77;
	e.conn = 5;
	e.pid = 100;
	e.tid = 101;
	e.request_bytes = 40;
	e.response_bytes = 300;
	e.cpu_ns = 123456;
	e.energy_uj_fx = 1234 * REQ_FRAC_ONE + REQ_FRAC_ONE / 4; /* 1234.25 µJ */
	e.header_uj = 1234;
	e.status = 200;
	e.header_skip = REC_SKIP_WRITTEN;
	e.line_len = (unsigned short)strlen(line);
	memcpy(e.line, line, e.line_len);
	return e;
}

static void test_header(void **state)
{
	(void)state;
	assert_string_equal(request_log_csv_header(),
			    "head_ns,first_write_ns,end_ns,cgroup_id,pid,tid,conn,method,target,"
			    "status,request_bytes,response_bytes,cpu_ns,energy_uj,header_uj,"
			    "header_skip,mode,tail");
}

static void test_row(void **state)
{
	struct request_event e = event("GET /a?b=1 HTTP/1.1\r\nHost: x\r\n");
	struct request_record r;
	struct buf b = BUF_INIT;

	(void)state;
	request_record_from_event(&e, &r);
	assert_int_equal(r.method_len, 3);
	assert_memory_equal(r.method, "GET", 3);
	assert_int_equal(r.target_len, 6);
	assert_memory_equal(r.target, "/a?b=1", 6);
	assert_int_equal(r.target_cut, 0);
	assert_int_equal(request_record_format_csv(&r, "model", &b), 0);
	assert_string_equal(b.data, "10,20,30,77,100,101,5,GET,/a?b=1,200,40,300,123456,1234.250,"
				    "1234,,model,\n");
	buf__free(&b);
}

/* Commas and quotes are quoted per RFC 4180; bytes outside printable ASCII become %XX. */
static void test_escaped_target(void **state)
{
	struct request_event e = event("GET /x,\"y\"\x01\xff HTTP/1.1\r\n");
	struct request_record r;
	struct buf b = BUF_INIT;

	(void)state;
	request_record_from_event(&e, &r);
	assert_int_equal(request_record_format_csv(&r, "psys", &b), 0);
	assert_non_null(strstr(b.data, ",GET,\"/x,\"\"y\"\"%01%FF\",200,"));
	buf__free(&b);
}

/* A line cut before the target's end (too long, or split across segments): flagged. */
static void test_cut_target(void **state)
{
	char line[REQ_LINE_MAX];
	struct request_event e;
	struct request_record r;

	(void)state;
	memset(line, 'a', sizeof(line));
	memcpy(line, "GET /", 5);
	e = event("");
	memcpy(e.line, line, sizeof(line));
	e.line_len = REQ_LINE_MAX;
	request_record_from_event(&e, &r);
	assert_int_equal(r.target_cut, 1);
	assert_int_equal(r.target_len, REQUEST_TARGET_MAX);
	e = event("POST /split");
	request_record_from_event(&e, &r);
	assert_int_equal(r.target_cut, 1);
	assert_int_equal(r.target_len, 6);
}

/*
 * A slot's record (request_event_of_slot(), BPF's and user space's one copy) carries its
 * line's line_len bytes and nothing past them reaches the target: a reused slot keeps an
 * earlier request's bytes past line_len (issue 14 tried copying only line_len's words).
 */
static void test_slot_line_len(void **state)
{
	static const char stale[] = "GET /tiny?id=long-and-stale HTTP/1.1\r\nHost: t";
	struct req_slot s;
	struct request_event e;
	struct request_record r;
	unsigned short len;

	(void)state;
	for (len = 1; len <= REQ_LINE_MAX + 1; len++) {
		memset(&s, 0, sizeof(s));
		memset(s.line, 'z', sizeof(s.line));
		memcpy(s.line, stale, sizeof(stale) - 1);
		memcpy(s.line, "GET /s", 6);
		s.line_len = len;
		memset(&e, 'x', sizeof(e));
		request_event_of_slot(&e, 5, &s, 0, 0);
		assert_int_equal(e.line_len, len > REQ_LINE_MAX ? REQ_LINE_MAX : len);
		assert_memory_equal(e.line, s.line, e.line_len);
		request_record_from_event(&e, &r);
		if (len == 6) { /* "GET /s", split there: the target is cut, not "/song..." */
			assert_int_equal(r.target_len, 2);
			assert_memory_equal(r.target, "/s", 2);
			assert_int_equal(r.target_cut, 1);
		}
	}
}

/* No header: the reason is named and header_uj is empty; no head seen: empty head cells. */
static void test_no_header_no_head(void **state)
{
	struct request_event e = event("");
	struct request_record r;
	struct buf b = BUF_INIT;

	(void)state;
	e.head_ns = 0;
	e.header_skip = REC_SKIP_BATCHED;
	e.energy_uj_fx = REQ_FRAC_ONE - 1; /* 0.99998 µJ rounds to 1.000 */
	request_record_from_event(&e, &r);
	assert_int_equal(request_record_format_csv(&r, "model", &b), 0);
	assert_string_equal(b.data,
			    ",20,30,77,100,101,5,,,200,,300,123456,1.000,,batched,model,\n");
	buf__free(&b);
	assert_string_equal(record_header_skip_name(RECORD_HEADER_PORT), "port");
	assert_string_equal(record_header_skip_name(RECORD_HEADER_INTERIM), "interim");
	assert_string_equal(record_header_skip_name(200), "other");
}

/* The formatter before it wrote digits itself (snprintf per cell): the reference. */
static void old_format(const struct request_record *r, const char *mode, char *out, size_t n)
{
	uint64_t fx = r->energy_uj_fx;
	uint64_t milli = (fx >> REQ_FRAC_BITS) * 1000 +
			 (((fx & (REQ_FRAC_ONE - 1)) * 1000 + REQ_FRAC_ONE / 2) >> REQ_FRAC_BITS);
	char head[24] = "", req[24] = "", hdr[24] = "";

	if (r->head_ns) {
		snprintf(head, sizeof(head), "%" PRIu64, r->head_ns);
		snprintf(req, sizeof(req), "%" PRIu64, r->request_bytes);
	}
	if (r->header_skip == RECORD_HEADER_WRITTEN)
		snprintf(hdr, sizeof(hdr), "%" PRIu64, r->header_uj);
	snprintf(out, n,
		 "%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu32 ",%" PRIu32 ",%" PRIu64
		 ",%.*s,%.*s,%" PRIu16 ",%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ".%03" PRIu64
		 ",%s,%s,%s,%s\n",
		 head, r->first_write_ns, r->end_ns, r->cgroup_id, r->pid, r->tid, r->conn,
		 (int)r->method_len, r->method, (int)r->target_len, r->target, r->status, req,
		 r->response_bytes, r->cpu_ns, milli / 1000, milli % 1000, hdr,
		 record_header_skip_name(r->header_skip), mode, r->tail_cut ? "stop" : "");
}

/* The digit writer against snprintf on edge values: 0, 9/10, 2^32 - 1, 2^64 - 1. */
static void test_numbers_as_snprintf(void **state)
{
	static const uint64_t v64[] = { 0, 1, 9, 10, 99, 1000, UINT32_MAX, (uint64_t)UINT32_MAX + 1,
					UINT64_MAX / 10, UINT64_MAX };
	static const uint64_t fx[] = { 0, 1, REQ_FRAC_ONE / 2, REQ_FRAC_ONE - 1, REQ_FRAC_ONE,
				       1000 * REQ_FRAC_ONE + 7, (UINT64_MAX >> 12) };
	static const uint32_t v32[] = { 0, 7, 65535, UINT32_MAX };
	char want[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(v64) / sizeof(v64[0]); i++) {
		for (size_t j = 0; j < sizeof(fx) / sizeof(fx[0]); j++) {
			struct request_event e = event("GET / HTTP/1.1\r\n");
			struct request_record r;
			struct buf b = BUF_INIT;

			request_record_from_event(&e, &r);
			r.head_ns = v64[(i + j) % 10];
			r.first_write_ns = v64[i];
			r.end_ns = v64[(i + 1) % 10];
			r.cgroup_id = v64[(i + 2) % 10];
			r.conn = v64[(i + 3) % 10];
			r.request_bytes = v64[(i + 4) % 10];
			r.response_bytes = v64[(i + 5) % 10];
			r.cpu_ns = v64[(i + 6) % 10];
			r.header_uj = v64[(i + 7) % 10];
			r.pid = v32[i % 4];
			r.tid = v32[(i + j) % 4];
			r.status = (uint16_t)v32[j % 4];
			r.energy_uj_fx = fx[j];
			r.header_skip = (uint8_t)(j % RECORD_HEADER_SKIPS);
			r.tail_cut = (uint8_t)(i & 1);
			old_format(&r, j & 1 ? "psys" : "model", want, sizeof(want));
			assert_int_equal(request_record_format_csv(&r, j & 1 ? "psys" : "model", &b),
					 0);
			assert_string_equal(b.data, want);
			buf__free(&b);
		}
	}
}

/* Written at stop without its tail: the last column says so. */
static void test_tail_cut(void **state)
{
	struct request_event e = event("GET /idle HTTP/1.1\r\n");
	struct request_record r;
	struct buf b = BUF_INIT;

	(void)state;
	request_record_from_event(&e, &r);
	r.tail_cut = 1;
	assert_int_equal(request_record_format_csv(&r, "model", &b), 0);
	assert_string_equal(b.data, "10,20,30,77,100,101,5,GET,/idle,200,40,300,123456,1234.250,"
				    "1234,,model,stop\n");
	buf__free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_row),
		cmocka_unit_test(test_escaped_target),
		cmocka_unit_test(test_cut_target),
		cmocka_unit_test(test_slot_line_len),
		cmocka_unit_test(test_no_header_no_head),
		cmocka_unit_test(test_numbers_as_snprintf),
		cmocka_unit_test(test_tail_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
