// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "url.h"

static void check(const char *text, const char *host, const char *port, const char *base,
		  const char *host_header)
{
	struct url u;

	print_message("%s\n", text);
	assert_int_equal(url_parse(text, &u), 0);
	assert_string_equal(u.host, host);
	assert_string_equal(u.port, port);
	assert_string_equal(u.base, base);
	assert_string_equal(u.host_header, host_header);
}

static void test_valid(void **state)
{
	check("http://127.0.0.1:8080/", "127.0.0.1", "8080", "", "127.0.0.1:8080");
	check("http://localhost:8080", "localhost", "8080", "", "localhost:8080");
	check("HTTP://example.com", "example.com", "80", "", "example.com");
	check("http://[::1]:9000/api/", "::1", "9000", "/api", "[::1]:9000");
	check("http://[::1]", "::1", "80", "", "[::1]");
	check("http://h:08080/a/b//", "h", "8080", "/a/b", "h:08080");
}

static void test_invalid(void **state)
{
	const char *bad[] = {
		"https://x",  "ftp://x",      "127.0.0.1:80",	  "http://",
		"http://:80", "http://h:0",   "http://h:65536",	  "http://h:abc",
		"http://h:",  "http://[::1",  "http://[zz]:1",	  "http://[::1]x",
		"http://u@h", "http://h/a?b", "http://h?b",	  "http://h/a b",
		"http://h h", "http://h/a#f", "http://[1.2.3.4]", "http://h:-1",
	};
	struct url u;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("%s\n", bad[i]);
		assert_int_equal(url_parse(bad[i], &u), -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
