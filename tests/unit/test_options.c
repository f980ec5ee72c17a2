// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "capture.h"
#include "options.h"

struct target {
	bool flag;
	uint64_t seed;
	uint32_t threads;
	uint16_t port;
	double ratio;
	const char *name;
	const char *paths[3];
	size_t num_paths;
	int color;
	int even;
	bool ratio_seen;
};

static const char *const colors[] = { "red", "green", "blue", NULL };

static int parse_even(const char *arg, void *target, const char **why)
{
	if (strcmp(arg, "2") && strcmp(arg, "4")) {
		*why = "is not 2 or 4";
		return -1;
	}
	*(int *)target = arg[0] - '0';
	return 0;
}

/* The rows the tests parse with; t receives the values. */
#define ROWS(t)                                                                                 \
	OPT_FLAG("flag", "a flag", &(t)->flag), OPT_SEED("seed of the test", &(t)->seed),       \
		OPT_UINT("threads", "N", "threads", &(t)->threads, 1, 4096),                    \
		OPT_UINT("port", "N", "the port", &(t)->port, 0, 65535, .flags = OPT_REQUIRED), \
		OPT_DOUBLE("ratio", "F", "a ratio", &(t)->ratio, 0, 0.9,                        \
			   .seen = &(t)->ratio_seen),                                           \
		OPT_STRING("name", "NAME", "a name", &(t)->name, .short_name = 'n'),            \
		OPT_LIST("path", "P", "paths", (t)->paths, 3, &(t)->num_paths),                 \
		OPT_CHOICE("color", "C", "a color", &(t)->color, colors),                       \
		OPT_CUSTOM("even", "E", "2 or 4", &(t)->even, parse_even)

/* Parses the NULL-terminated words; returns the result, stderr in cap. */
static enum opts_result run(struct target *t, struct capture *cap, int *first, ...)
{
	const struct opt table[] = { ROWS(t), { 0 } };
	const struct opts_spec spec = { .prog = "prog",
					.synopsis = "[options] ARG",
					.opts = table,
					.args_name = "ARG",
					.min_args = 1,
					.max_args = 1 };
	char *argv[32] = { "prog" };
	int argc = 1;
	enum opts_result r;
	va_list ap;

	va_start(ap, first);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	memset(t, 0, sizeof(*t));
	capture_begin(cap);
	r = opts_parse(&spec, argc, argv, first);
	capture_end(cap);
	return r;
}

static void expect_line(const struct capture *cap, const char *want)
{
	const char *colon = strchr(cap->text, ':');

	assert_int_equal(capture_lines(cap->text), 1);
	assert_non_null(colon);
	assert_string_equal(colon + 2, want); /* after "PROGRAM: " */
}

static void test_values_reach_their_targets(void **state)
{
	struct target t;
	struct capture cap;
	int first = 0;

	assert_int_equal(run(&t, &cap, &first, "--flag", "arg", "--seed", "18446744073709551615",
			     "--threads=4096", "--port", "0", "--ratio", "0.5", "-n", "x", "--path",
			     "/a", "--path", "/b", "--color", "blue", "--even", "4", NULL),
			 OPTS_RUN);
	assert_string_equal(cap.text, "");
	assert_true(t.flag);
	assert_true(t.seed == UINT64_MAX);
	assert_int_equal(t.threads, 4096);
	assert_int_equal(t.port, 0);
	assert_true(t.ratio == 0.5 && t.ratio_seen);
	assert_string_equal(t.name, "x");
	assert_int_equal(t.num_paths, 2);
	assert_string_equal(t.paths[1], "/b");
	assert_int_equal(t.color, 2);
	assert_int_equal(t.even, 4);
	assert_int_equal(first, 19); /* getopt moved the one argument to the end */
}

static void test_ranges(void **state)
{
	struct target t;
	struct capture cap;
	int first;

	assert_int_equal(run(&t, &cap, &first, "--port", "65536", "a", NULL), OPTS_USAGE);
	expect_line(&cap, "--port: \"65536\" is out of range 0..65535\n");
	assert_int_equal(run(&t, &cap, &first, "--port", "1", "--threads", "0", "a", NULL),
			 OPTS_USAGE);
	expect_line(&cap, "--threads: \"0\" is out of range 1..4096\n");
	assert_int_equal(run(&t, &cap, &first, "--port", "1", "--threads", "1.5", "a", NULL),
			 OPTS_USAGE);
	expect_line(&cap, "--threads: \"1.5\" is not a whole number\n");
	assert_int_equal(run(&t, &cap, &first, "--port", "1", "--ratio", "0.95", "a", NULL),
			 OPTS_USAGE);
	expect_line(&cap, "--ratio: \"0.95\" is out of range 0..0.9\n");
	assert_int_equal(run(&t, &cap, &first, "--port", "1", "--ratio", "nan", "a", NULL),
			 OPTS_USAGE);
	expect_line(&cap, "--ratio: \"nan\" is not a number\n");
	assert_int_equal(run(&t, &cap, &first, "--port", "1", "--seed", "-1", "a", NULL),
			 OPTS_USAGE);
	expect_line(&cap, "--seed: \"-1\" is not a whole number\n");
	assert_int_equal(run(&t, &cap, &first, "--port", "1", "--color", "pink", "a", NULL),
			 OPTS_USAGE);
	expect_line(&cap, "--color: \"pink\" is not one of red, green, blue\n");
	assert_int_equal(run(&t, &cap, &first, "--port", "1", "--even", "3", "a", NULL),
			 OPTS_USAGE);
	expect_line(&cap, "--even: \"3\" is not 2 or 4\n");
	/* A value that would break the one line is quoted. */
	assert_int_equal(run(&t, &cap, &first, "--port", "1\n2", "a", NULL), OPTS_USAGE);
	expect_line(&cap, "--port: \"1\\x0a2\" is not a whole number\n");
}

static void test_missing_and_unknown(void **state)
{
	struct target t;
	struct capture cap;
	int first;

	assert_int_equal(run(&t, &cap, &first, "a", "--port", NULL), OPTS_USAGE);
	expect_line(&cap, "--port: needs a value (see --help)\n");
	assert_int_equal(run(&t, &cap, &first, "a", "-n", NULL), OPTS_USAGE);
	expect_line(&cap, "--name: needs a value (see --help)\n");
	assert_int_equal(run(&t, &cap, &first, "a", "--bogus", NULL), OPTS_USAGE);
	expect_line(&cap, "--bogus: unknown option (see --help)\n");
	assert_int_equal(run(&t, &cap, &first, "a", "-x", NULL), OPTS_USAGE);
	expect_line(&cap, "-x: unknown option (see --help)\n");
	assert_int_equal(run(&t, &cap, &first, "a", "--flag=yes", NULL), OPTS_USAGE);
	expect_line(&cap, "--flag: takes no value (see --help)\n");
	assert_int_equal(run(&t, &cap, &first, "a", NULL), OPTS_USAGE);
	expect_line(&cap, "--port is required (see --help)\n");
	assert_int_equal(run(&t, &cap, &first, "--port", "1", NULL), OPTS_USAGE);
	expect_line(&cap, "ARG is required (see --help)\n");
	assert_int_equal(run(&t, &cap, &first, "--port", "1", "a", "b", NULL), OPTS_USAGE);
	expect_line(&cap, "\"b\": unexpected argument (see --help)\n");
}

static void test_duplicates(void **state)
{
	struct target t;
	struct capture cap;
	int first;

	/* A scalar given twice keeps the last value; a list collects up to its capacity. */
	assert_int_equal(run(&t, &cap, &first, "--port", "1", "--port", "2", "a", NULL), OPTS_RUN);
	assert_int_equal(t.port, 2);
	assert_int_equal(run(&t, &cap, &first, "--port", "1", "a", "--path", "1", "--path", "2",
			     "--path", "3", "--path", "4", NULL),
			 OPTS_USAGE);
	expect_line(&cap, "--path: \"4\" is one too many: at most 3 are allowed\n");

	/* Two rows with one name are a bug in the program: refused, said once. */
	const struct opt twice[] = {
		OPT_FLAG("flag", "a", &t.flag),
		OPT_FLAG("flag", "b", &t.flag),
		{ 0 },
	};
	const struct opts_spec spec = { .prog = "prog", .synopsis = "", .opts = twice };
	char *argv[] = { "prog", NULL };

	capture_begin(&cap);
	assert_int_equal(opts_parse(&spec, 1, argv, &first), OPTS_USAGE);
	capture_end(&cap);
	expect_line(&cap, "option table: --flag defined twice\n");
}

static void test_help_and_version(void **state)
{
	struct target t;
	const struct opt table[] = { ROWS(&t), { 0 } };
	const struct opts_spec spec = { .prog = "prog",
					.synopsis = "[options] ARG",
					.about = "Does things.",
					.footer = "Exit status: 0.",
					.opts = table,
					.min_args = 1,
					.max_args = 1 };
	char *help[] = { "prog", "--help", NULL }, *version[] = { "prog", "--version", NULL };
	char out[4096];
	FILE *tmp = tmpfile();
	int saved = dup(1), first;
	size_t n;

	assert_non_null(tmp);
	fflush(stdout);
	dup2(fileno(tmp), 1);
	/* Neither needs the required option or the argument. */
	assert_int_equal(opts_parse(&spec, 2, help, &first), OPTS_DONE);
	assert_int_equal(opts_parse(&spec, 2, version, &first), OPTS_DONE);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, sizeof(out) - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	assert_non_null(strstr(out, "Usage: prog [options] ARG\n\nDoes things.\n\n"));
	assert_non_null(strstr(out, "\n  --threads N            threads\n"));
	assert_non_null(strstr(out, "\n  -n, --name NAME        a name\n"));
	assert_non_null(strstr(out, "\n  --seed N               seed of the test; the same seed"));
	assert_non_null(strstr(out, "\n  --help, --version\n\nExit status: 0.\n"));
	assert_non_null(strstr(out, "\nprog "));
	assert_int_equal(opts_exit_status(OPTS_DONE), 0);
	assert_int_equal(opts_exit_status(OPTS_USAGE), 2);
	for (char *line = out; *line; line = strchr(line, '\n') + 1)
		assert_true(strchr(line, '\n') - line <= 79);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_reach_their_targets),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_missing_and_unknown),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_help_and_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
