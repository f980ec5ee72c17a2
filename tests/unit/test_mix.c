// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mix.h"

/* Writes text to a temporary file; the caller unlinks path. */
static void write_temp(char *path, size_t size, const char *text)
{
	int fd;

	snprintf(path, size, "/tmp/test_mix.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Loads a mix file holding text; returns the error and the message printed on stderr. */
static int load_text(const char *text, struct mix **m, char *msg, size_t msg_size)
{
	char path[64], errpath[64];
	int saved = dup(STDERR_FILENO), efd, err;
	ssize_t n;

	write_temp(path, sizeof(path), text);
	write_temp(errpath, sizeof(errpath), "");
	efd = open(errpath, O_WRONLY | O_TRUNC);
	assert_true(efd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(efd, STDERR_FILENO);
	err = mix__from_file(path, m);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(efd);
	efd = open(errpath, O_RDONLY);
	n = read(efd, msg, msg_size - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(efd);
	unlink(path);
	unlink(errpath);
	return err;
}

static void test_profiles(void **state)
{
	const char *singles[] = { "cpu", "json", "compress", "file", "post" };
	struct mix *m;

	assert_int_equal(mix__from_profile("mixed", &m), 0);
	assert_int_equal(mix__size(m), 5);
	for (size_t i = 0; i < 5; i++) {
		const struct mix_entry *e = mix__entry(m, i);

		assert_true(mix__probability(m, i) == 0.2);
		if (strcmp(e->method, "POST") == 0) {
			/* The workload server wants a body of exactly kb KiB. */
			assert_string_equal(e->target, "/post?kb=16");
			assert_int_equal(e->body_kb, 16);
		} else {
			assert_string_equal(e->method, "GET");
			assert_int_equal(e->body_kb, 0);
		}
	}
	mix__free(m);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(mix__from_profile(singles[i], &m), 0);
		assert_int_equal(mix__size(m), 1);
		assert_non_null(strstr(mix__entry(m, 0)->target, singles[i]));
		mix__free(m);
	}
	assert_int_equal(mix__from_profile("bogus", &m), -ENOENT);
}

static void test_paths(void **state)
{
	const char *good[] = { "/cpu?iters=1", "POST /post?kb=4", "HEAD /x" };
	const char *bad[][1] = { { "cpu" },	{ "GET  /x" },	    { "/a b" }, { "G(T /x" },
				 { "/a#frag" }, { "/caf\xc3\xa9" }, { " /x" } };
	struct mix *m;

	assert_int_equal(mix__from_paths(good, 3, 4, &m), 0);
	assert_int_equal(mix__size(m), 3);
	assert_string_equal(mix__entry(m, 0)->method, "GET");
	assert_int_equal(mix__entry(m, 0)->body_kb, 0);
	assert_string_equal(mix__entry(m, 1)->method, "POST");
	assert_string_equal(mix__entry(m, 1)->target, "/post?kb=4");
	assert_int_equal(mix__entry(m, 1)->body_kb, 4);
	assert_int_equal(mix__entry(m, 2)->body_kb, 0);
	assert_string_equal(mix__entry(m, 1)->name, "POST /post?kb=4");
	mix__free(m);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("case %zu\n", i);
		assert_int_equal(mix__from_paths(bad[i], 1, 0, &m), -EINVAL);
	}
}

static void test_file_valid(void **state)
{
	const char *text = "[{\"path\":\"/cpu?iters=20000\",\"weight\":3},\n"
			   " {\"method\":\"POST\",\"path\":\"/post?kb=64\",\"body_kb\":64,"
			   "\"weight\":1.5,\"name\":\"upload\"},\n"
			   " {\"path\":\"/healthz\"}]\n";
	char msg[512];
	struct mix *m;

	assert_int_equal(load_text(text, &m, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	assert_int_equal(mix__size(m), 3);
	assert_true(mix__entry(m, 0)->weight == 3);
	assert_string_equal(mix__entry(m, 1)->name, "upload");
	assert_int_equal(mix__entry(m, 1)->body_kb, 64);
	assert_true(mix__entry(m, 2)->weight == 1);
	assert_string_equal(mix__entry(m, 2)->name, "GET /healthz");
	assert_true(mix__probability(m, 0) == 3 / 5.5);
	mix__free(m);
}

static void test_file_errors(void **state)
{
	const struct {
		const char *text;
		const char *want; /* part of the message */
	} cases[] = {
		{ "[{\"path\":\"/a\"},", ":1:15: invalid JSON" },
		{ "{\"path\":\"/a\"}", "expected a JSON array" },
		{ "[]", "0 entries" },
		{ "[1]", "entry 1: entry: 1 is not an object" },
		{ "[{\"path\":\"/a\"},{\"paht\":\"/b\"}]", "entry 2: paht: unknown key" },
		{ "[{\"weight\":2}]", "entry 1: path: missing" },
		{ "[{\"path\":\"a\"}]", "entry 1: path: \"a\" must start with '/'" },
		{ "[{\"path\":5}]", "entry 1: path: 5 is not a string" },
		{ "[{\"path\":\"/a\",\"weight\":0}]", "entry 1: weight: 0 is out of range" },
		{ "[{\"path\":\"/a\",\"weight\":-1}]", "entry 1: weight: -1 is out of range" },
		{ "[{\"path\":\"/a\",\"weight\":\"3\"}]",
		  "entry 1: weight: \"3\" is not a number" },
		{ "[{\"path\":\"/a\",\"weight\":1e10}]", "weight: 10000000000.0 is out of range" },
		{ "[{\"path\":\"/a\",\"method\":\"PO ST\"}]", "method: \"PO ST\" is not an HTTP" },
		{ "[{\"method\":\"POST\",\"path\":\"/a\",\"body_kb\":1.5}]",
		  "body_kb: 1.5 is not an integer" },
		{ "[{\"method\":\"POST\",\"path\":\"/a\",\"body_kb\":-1}]",
		  "body_kb: -1 is out of range" },
		{ "[{\"method\":\"POST\",\"path\":\"/a\",\"body_kb\":65537}]",
		  "body_kb: 65537 is out of range" },
		{ "[{\"path\":\"/a\",\"body_kb\":4}]", "body_kb: 4 needs a method that sends" },
		{ "[{\"path\":\"/a\",\"path\":\"/b\"}]", "duplicate object key" },
		{ "[{\"path\":\"/a\",\"name\":\"\"}]", "name: \"\" must be 1 to 63" },
	};
	char msg[512];
	struct mix *m = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = load_text(cases[i].text, &m, msg, sizeof(msg));

		print_message("case %zu: %s", i, msg);
		assert_int_equal(err, -EINVAL);
		assert_non_null(strstr(msg, cases[i].want));
		/* One line, naming the program and the file. */
		assert_non_null(strstr(msg, "test_mix: /tmp/test_mix."));
		assert_non_null(strchr(msg, '\n'));
		assert_int_equal(strchr(msg, '\n')[1], '\0');
	}
	assert_int_equal(mix__from_file("/nonexistent/mix.json", &m), -ENOENT);
}

static void test_file_too_many_entries(void **state)
{
	char text[MIX_MAX_ENTRIES * 20 + 64], msg[512];
	size_t n = 0;
	struct mix *m;

	text[n++] = '[';
	for (int i = 0; i <= MIX_MAX_ENTRIES; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s{\"path\":\"/%d\"}",
				      i ? "," : "", i);
	snprintf(text + n, sizeof(text) - n, "]");
	assert_int_equal(load_text(text, &m, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "65 entries"));
}

/* Pearson's chi-square of observed counts against the mix's probabilities. */
static double chi_square(const struct mix *m, const uint64_t *counts, uint64_t draws,
			 const double *p)
{
	double chi2 = 0;

	for (size_t i = 0; i < mix__size(m); i++) {
		double want = (double)draws * (p ? p[i] : mix__probability(m, i));
		double d = (double)counts[i] - want;

		chi2 += d * d / want;
	}
	return chi2;
}

static void test_weighting_chi_square(void **state)
{
	const char *text = "[{\"path\":\"/a\",\"weight\":3},{\"path\":\"/b\",\"weight\":1},"
			   "{\"path\":\"/c\",\"weight\":2},{\"path\":\"/d\",\"weight\":4},"
			   "{\"path\":\"/e\",\"weight\":0.5}]";
	const double uniform[5] = { 0.2, 0.2, 0.2, 0.2, 0.2 };
	const uint64_t draws = 100000;
	uint64_t counts[5] = { 0 };
	struct xoshiro256 rng;
	struct mix *m;
	char msg[256];
	double chi2;

	assert_int_equal(load_text(text, &m, msg, sizeof(msg)), 0);
	xoshiro256_seed(&rng, 12345, 0);
	for (uint64_t i = 0; i < draws; i++) {
		size_t k = mix__draw(m, &rng);

		assert_true(k < 5);
		counts[k]++;
	}
	chi2 = chi_square(m, counts, draws, NULL);
	print_message("counts %lu %lu %lu %lu %lu, chi2 %.2f\n", (unsigned long)counts[0],
		      (unsigned long)counts[1], (unsigned long)counts[2], (unsigned long)counts[3],
		      (unsigned long)counts[4], chi2);
	/* 4 degrees of freedom: 18.47 is the 0.1% critical value. */
	assert_true(chi2 < 18.47);
	/* The same counts are nowhere near a uniform mix: the test can tell. */
	assert_true(chi_square(m, counts, draws, uniform) > 1000);
	mix__free(m);
}

static void test_rng_reproducible(void **state)
{
	struct xoshiro256 a, b, c;
	struct mix *m;
	int same_as_other_stream = 0;

	assert_int_equal(mix__from_profile("mixed", &m), 0);
	xoshiro256_seed(&a, 1, 7);
	xoshiro256_seed(&b, 1, 7);
	xoshiro256_seed(&c, 1, 8);
	for (int i = 0; i < 1000; i++) {
		size_t x = mix__draw(m, &a);

		assert_int_equal(x, mix__draw(m, &b));
		same_as_other_stream += x == mix__draw(m, &c);
	}
	/* Independent streams agree about a fifth of the time, not always. */
	assert_true(same_as_other_stream > 120 && same_as_other_stream < 280);
	xoshiro256_seed(&a, 2, 7);
	xoshiro256_seed(&b, 1, 7);
	assert_true(xoshiro256_next(&a) != xoshiro256_next(&b));
	mix__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profiles),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_file_valid),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_file_too_many_entries),
		cmocka_unit_test(test_weighting_chi_square),
		cmocka_unit_test(test_rng_reproducible),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
