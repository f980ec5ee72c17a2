// SPDX-License-Identifier: MIT
/*
 * /proc/softirqs: the parser on fixture files (tests/fixtures/softirqs), malformed ones
 * included, and the sampler's per-interval differences over a fake root.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "capture.h"
#include "softirqs.h"

#define FIX "tests/fixtures/softirqs/"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(65536);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, 65535, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static int parse_fixture(const char *file, uint64_t t[SOFTIRQ_GROUPS], char *err, size_t n)
{
	size_t len;
	char *text = slurp(file, &len);
	int ret = softirqs_parse(file, text, len, t, err, n);

	free(text);
	return ret;
}

static void test_parses_this_kernels_format(void **state)
{
	uint64_t t[SOFTIRQ_GROUPS];
	char err[256] = "";

	assert_int_equal(parse_fixture(FIX "2cpus.txt", t, err, sizeof(err)), 0);
	assert_true(t[SOFTIRQ_NET_RX] == 59657805ULL + 58662887ULL);
	assert_true(t[SOFTIRQ_NET_TX] == 24);
	assert_true(t[SOFTIRQ_BLOCK] == 248719);
	assert_true(t[SOFTIRQ_TIMER] == 985270 + 927462);
	assert_true(t[SOFTIRQ_SCHED] == 497313 + 492907);
	assert_true(t[SOFTIRQ_RCU] == 1572840 + 1612603);
	/* HI, IRQ_POLL, TASKLET, HRTIMER */
	assert_true(t[SOFTIRQ_OTHER] == 3 + 7 + 7 + 602264 + 614064);
}

/* Another CPU count, a blank line, a vector this code does not know (into "other"). */
static void test_other_cpu_counts_and_vectors(void **state)
{
	uint64_t t[SOFTIRQ_GROUPS];
	char err[256] = "";

	assert_int_equal(parse_fixture(FIX "4cpus_new_vector.txt", t, err, sizeof(err)), 0);
	assert_true(t[SOFTIRQ_TIMER] == 100);
	assert_true(t[SOFTIRQ_NET_RX] == 4);
	assert_true(t[SOFTIRQ_RCU] == 5);
	assert_true(t[SOFTIRQ_OTHER] == 101);
	assert_true(t[SOFTIRQ_NET_TX] == 0 && t[SOFTIRQ_BLOCK] == 0 && t[SOFTIRQ_SCHED] == 0);
}

static void test_malformed_files_name_file_line_value(void **state)
{
	uint64_t t[SOFTIRQ_GROUPS] = { 42 };
	char err[256];

	assert_int_equal(parse_fixture(FIX "bad_value.txt", t, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, FIX "bad_value.txt:3: \"5866x887\" is not a count");
	assert_true(t[0] == 42); /* untouched on error */
	assert_int_equal(parse_fixture(FIX "bad_columns.txt", t, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, FIX "bad_columns.txt:3: 1 values where the header has 2 CPUs");
	assert_int_equal(parse_fixture(FIX "bad_name.txt", t, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, FIX "bad_name.txt:2: \"TIMER\" is not a vector name (\"NAME:\")");
	assert_int_equal(parse_fixture(FIX "empty.txt", t, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, FIX "empty.txt: is empty");
	assert_int_equal(softirqs_parse("x", "  CPU0 cpu1\n", 12, t, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "x:1: \"cpu1\" is not a CPU column");
	assert_null(strchr(err, '\n'));
}

struct root {
	char dir[64];
	char proc[96];
	char file[128];
};

static void root_make(struct root *r)
{
	strcpy(r->dir, "/tmp/test_softirqs.XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->proc, sizeof(r->proc), "%s/proc", r->dir);
	snprintf(r->file, sizeof(r->file), "%s/softirqs", r->proc);
	assert_int_equal(mkdir(r->proc, 0755), 0);
}

static void root_put(const struct root *r, const char *fixture)
{
	size_t len;
	char *text = slurp(fixture, &len);
	FILE *f = fopen(r->file, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	free(text);
}

static void root_free(const struct root *r)
{
	unlink(r->file);
	rmdir(r->proc);
	rmdir(r->dir);
}

static void test_sampler_gives_interval_differences(void **state)
{
	struct softirq_counts c;
	struct softirqs *s;
	struct capture cap;
	struct root r;

	root_make(&r);
	root_put(&r, FIX "2cpus.txt");
	assert_int_equal(softirqs__open(r.dir, &s), 0);
	root_put(&r, FIX "2cpus_later.txt");
	softirqs__sample(s, &c);
	assert_true(c.valid);
	assert_true(c.count[SOFTIRQ_NET_RX] == 2000);
	assert_true(c.count[SOFTIRQ_NET_TX] == 10);
	assert_true(c.count[SOFTIRQ_BLOCK] == 5);
	assert_true(c.count[SOFTIRQ_TIMER] == 200);
	assert_true(c.count[SOFTIRQ_SCHED] == 1);
	assert_true(c.count[SOFTIRQ_RCU] == 10);
	assert_true(c.count[SOFTIRQ_OTHER] == 12); /* TASKLET 2 + HRTIMER 10 */
	softirqs__sample(s, &c);
	assert_true(c.valid && c.count[SOFTIRQ_NET_RX] == 0);

	/* A total going down (a CPU's column gone): that interval is unmeasured. */
	root_put(&r, FIX "2cpus.txt");
	softirqs__sample(s, &c);
	assert_false(c.valid);
	assert_true(c.count[SOFTIRQ_NET_RX] == 0);

	/* The file goes: unmeasured, said once; back: measured from the next interval. */
	unlink(r.file);
	capture_begin(&cap);
	softirqs__sample(s, &c);
	assert_false(c.valid);
	softirqs__sample(s, &c);
	assert_false(c.valid);
	assert_int_equal(capture_lines(capture_end(&cap)), 1);
	assert_non_null(strstr(cap.text, "proc/softirqs: No such file or directory"));
	root_put(&r, FIX "2cpus.txt");
	softirqs__sample(s, &c);
	assert_false(c.valid); /* no earlier sample to subtract */
	root_put(&r, FIX "2cpus_later.txt");
	softirqs__sample(s, &c);
	assert_true(c.valid && c.count[SOFTIRQ_NET_RX] == 2000);
	softirqs__close(s);
	root_free(&r);
}

static void test_missing_file_is_one_line_and_empty_cells(void **state)
{
	struct softirq_counts c;
	struct softirqs *s;
	struct capture cap;
	struct root r;

	root_make(&r);
	capture_begin(&cap);
	assert_int_equal(softirqs__open(r.dir, &s), 0);
	softirqs__sample(s, &c);
	assert_false(c.valid);
	assert_int_equal(capture_lines(capture_end(&cap)), 1);
	assert_non_null(strstr(cap.text, "softirq_* columns are empty"));
	softirqs__close(s);

	/* Malformed: the parser's line, once. */
	root_put(&r, FIX "bad_value.txt");
	capture_begin(&cap);
	assert_int_equal(softirqs__open(r.dir, &s), 0);
	softirqs__sample(s, &c);
	assert_false(c.valid);
	assert_int_equal(capture_lines(capture_end(&cap)), 1);
	assert_non_null(strstr(cap.text, "proc/softirqs:3: \"5866x887\" is not a count"));
	softirqs__close(s);
	softirqs__close(NULL);
	root_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parses_this_kernels_format),
		cmocka_unit_test(test_other_cpu_counts_and_vectors),
		cmocka_unit_test(test_malformed_files_name_file_line_value),
		cmocka_unit_test(test_sampler_gives_interval_differences),
		cmocka_unit_test(test_missing_file_is_one_line_and_empty_cells),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
