// SPDX-License-Identifier: MIT
/* The request log's pure part: a BPF event as a record, a record as a CSV row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
			    "header_skip,mode");
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
				    "1234,,model\n");
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
	assert_string_equal(b.data, ",20,30,77,100,101,5,,,200,,300,123456,1.000,,batched,model\n");
	buf__free(&b);
	assert_string_equal(record_header_skip_name(RECORD_HEADER_PORT), "port");
	assert_string_equal(record_header_skip_name(RECORD_HEADER_INTERIM), "interim");
	assert_string_equal(record_header_skip_name(200), "other");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_row),
		cmocka_unit_test(test_escaped_target),
		cmocka_unit_test(test_cut_target),
		cmocka_unit_test(test_no_header_no_head),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
