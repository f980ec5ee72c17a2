// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "capture.h"
#include "csv_file.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t cap = 0;

	assert_non_null(f);
	if (getdelim(&text, &cap, '\0', f) < 0) {
		free(text);
		text = strdup("");
	}
	fclose(f);
	return text;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void temp_path(char *path)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
}

static void append(struct csv_file *f, const char *rows)
{
	uint64_t n = 0;

	for (const char *p = rows; *p; p++)
		n += *p == '\n';
	assert_int_equal(buf__append(csv_file__rows(f), rows, strlen(rows)), 0);
	assert_int_equal(csv_file__append(f, n), 0);
}

/* A new (empty) file gets the header; reopened, it is appended to without a second one. */
static void test_header_then_append(void **state)
{
	char path[] = "/tmp/test_csv_file.XXXXXX";
	struct csv_file *f;
	char *text;

	(void)state;
	temp_path(path);
	assert_int_equal(csv_file__open(path, "a,b", false, "test CSV", &f), 0);
	assert_false(csv_file__existed(f));
	append(f, "1,2\n");
	append(f, "3,4\n5,6\n");
	assert_int_equal(csv_file__rows_written(f), 3);
	csv_file__close(f);
	assert_int_equal(csv_file__open(path, "a,b", false, "test CSV", &f), 0);
	assert_true(csv_file__existed(f));
	assert_int_equal(csv_file__rows_written(f), 0);
	append(f, "7,8\n");
	csv_file__close(f);
	text = slurp(path);
	assert_string_equal(text, "a,b\n1,2\n3,4\n5,6\n7,8\n");
	free(text);
	unlink(path);
}

/* Another header is refused (file untouched, one line naming file and line 1); a header
 * extended with columns is accepted only with more_columns. */
static void test_refusal_and_more_columns(void **state)
{
	char path[] = "/tmp/test_csv_file.XXXXXX";
	struct csv_file *f = NULL;
	struct capture c;
	const char *err;
	char want[128];
	char *text;

	(void)state;
	temp_path(path);
	spit(path, "a,c\n1,2\n");
	capture_begin(&c);
	assert_int_equal(csv_file__open(path, "a,b", true, "test CSV", &f), -EINVAL);
	err = capture_end(&c);
	snprintf(want, sizeof(want), "%s:1: the file exists and its header is not the test CSV",
		 path);
	assert_non_null(strstr(err, want));
	assert_null(strchr(strchr(err, '\n') + 1, '\n')); /* one line */
	text = slurp(path);
	assert_string_equal(text, "a,c\n1,2\n");
	free(text);

	spit(path, "a,b,z\n1,2,3\n");
	capture_begin(&c);
	assert_int_equal(csv_file__open(path, "a,b", false, "test CSV", &f), -EINVAL);
	capture_end(&c);
	assert_int_equal(csv_file__open(path, "a,b", true, "test CSV", &f), 0);
	append(f, "4,5\n");
	csv_file__close(f);
	text = slurp(path);
	assert_string_equal(text, "a,b,z\n1,2,3\n4,5\n");
	free(text);
	unlink(path);
}

/* A write that fails part-way leaves no part of the rows, and the message names the line
 * the first of them would have been. */
static void test_failed_write_is_cut_back(void **state)
{
	char path[] = "/tmp/test_csv_file.XXXXXX";
	struct rlimit old, lim;
	struct csv_file *f;
	struct capture c;
	const char *rows = "3,4,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n5,6\n";
	char first[512] = "";
	char want[128], *expect;
	char *text;
	int err;

	(void)state;
	temp_path(path);
	memset(first, 'x', sizeof(first) - 2);
	first[sizeof(first) - 2] = '\n';
	assert_int_equal(csv_file__open(path, "a,b", false, "test CSV", &f), 0);
	append(f, first);
	/* Room for 10 more bytes: write(2) lands some, then fails with EFBIG. (The limit is
	 * every file's: the first row keeps it above what the error message needs.) */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = strlen("a,b\n") + strlen(first) + 10;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(buf__append(csv_file__rows(f), rows, strlen(rows)), 0);
	capture_begin(&c);
	err = csv_file__append(f, 2);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(err, -EFBIG);
	snprintf(want, sizeof(want), "%s:3: writing test CSV rows: ", path);
	assert_non_null(strstr(capture_end(&c), want));
	assert_int_equal(csv_file__rows_written(f), 1);
	append(f, "7,8\n"); /* and the file goes on from the last whole row */
	csv_file__close(f);
	assert_true(asprintf(&expect, "a,b\n%s7,8\n", first) > 0);
	text = slurp(path);
	assert_string_equal(text, expect);
	free(text);
	free(expect);
	unlink(path);
}

/* buf__write_rows (the request log's batches): a write that fails part-way keeps the rows
 * that landed whole and takes back the part of the next. */
static void test_rows_that_landed_stay(void **state)
{
	char path[] = "/tmp/test_csv_file.XXXXXX";
	const char *rows = "1234\n5678\nabcdefgh\n";
	struct rlimit old, lim;
	struct buf b = { 0 };
	off_t size = 2;
	size_t kept = 99;
	char *text;
	int fd, err;

	(void)state;
	temp_path(path);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "a\n", 2), 2);
	assert_int_equal(buf__append(&b, rows, strlen(rows)), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 2 + 12; /* two rows and two bytes of the third land, then EFBIG */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	err = buf__write_rows(&b, fd, &size, &kept);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(err, -EFBIG);
	assert_int_equal(kept, 10);
	assert_int_equal(size, 12);
	assert_int_equal(write(fd, "z\n", 2), 2); /* the file goes on after the last whole row */
	close(fd);
	text = slurp(path);
	assert_string_equal(text, "a\n1234\n5678\nz\n");
	free(text);
	buf__free(&b);
	unlink(path);
}

/* Log rotation: after the file is moved away, reopen starts a new one with the header. */
static void test_reopen(void **state)
{
	char path[] = "/tmp/test_csv_file.XXXXXX";
	char moved[64];
	struct csv_file *f;
	char *text;

	(void)state;
	temp_path(path);
	snprintf(moved, sizeof(moved), "%s.1", path);
	assert_int_equal(csv_file__open(path, "a,b", false, "test CSV", &f), 0);
	append(f, "1,2\n");
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(csv_file__reopen(f), 0);
	assert_false(csv_file__existed(f));
	append(f, "3,4\n");
	assert_int_equal(csv_file__rows_written(f), 2);
	csv_file__close(f);
	text = slurp(moved);
	assert_string_equal(text, "a,b\n1,2\n");
	free(text);
	text = slurp(path);
	assert_string_equal(text, "a,b\n3,4\n");
	free(text);
	unlink(path);
	unlink(moved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_then_append),
		cmocka_unit_test(test_refusal_and_more_columns),
		cmocka_unit_test(test_failed_write_is_cut_back),
		cmocka_unit_test(test_rows_that_landed_stay),
		cmocka_unit_test(test_reopen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
