/* SPDX-License-Identifier: MIT */
/*
 * Command-line options from one table: getopt_long's list, the typed parse of each value
 * into its target and the --help text all come from the same rows, so they cannot drift.
 *
 *	static const struct opt table[] = {
 *		OPT_UINT("threads", "N", "worker threads (default 64)", &o->threads, 1, 4096),
 *		OPT_STRING("url", "URL", "the server", &o->url, .flags = OPT_REQUIRED),
 *		OPT_SEED("seed of the request choice", &o->seed),
 *		{ 0 },
 *	};
 *
 * Errors are one line to stderr in the config parser's form with the option as the place:
 * 'PROGRAM: --NAME: "VALUE" WHY' (WHY: "is out of range 1..4096", "is not a whole
 * number", ...). opts_parse() never exits; main() turns its result into the exit status:
 * 0 success and --help/--version, 1 runtime failure, 2 usage error (OPTS_EXIT_USAGE).
 * A scalar option given twice keeps the last value (getopt's rule); OPT_LIST collects.
 */
#ifndef HTTP_ENERGY_OPTIONS_H
#define HTTP_ENERGY_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define OPTS_EXIT_USAGE 2
#define OPTS_MAX 96 /* rows in one table */

enum opt_kind {
	OPTK_FLAG, /* bool: set to true; takes no value */
	OPTK_UINT, /* an unsigned integer of any width: decimal digits in [min, max] */
	OPTK_DOUBLE, /* double: a finite decimal in [dmin, dmax] */
	OPTK_STRING, /* const char *: the argument itself */
	OPTK_LIST, /* const char *[max]: repeatable, *count values so far */
	OPTK_CHOICE, /* int: the index of the argument in choices (NULL-terminated) */
	OPTK_CUSTOM, /* parse(arg, target, &why): 0 or negative with a static why */
};

#define OPT_REQUIRED 1u /* a usage error when not given */

struct opt {
	const char *name; /* without "--" */
	char short_name; /* 0: none */
	enum opt_kind kind;
	const char *arg; /* the value's name in the usage ("N", "SEC"); NULL for flags */
	const char *help; /* one paragraph; the usage wraps it */
	void *target;
	size_t size; /* OPTK_UINT: bytes of the target */
	uint64_t min, max; /* OPTK_UINT range; OPTK_LIST: max values */
	double dmin, dmax;
	const char *const *choices;
	size_t *count; /* OPTK_LIST */
	int (*parse)(const char *arg, void *target, const char **why);
	bool *seen; /* optional: set when the option is given */
	unsigned int flags;
};

/* Type-checked rows; more designated initializers may follow (.flags, .seen, .short_name). */
#define OPT__PTR(type, p) ((void *)(1 ? (p) : (type *)0))
/* The unsigned type behind p, by size (clang-format does not know _Generic). */
/* clang-format off */
#define OPT__USIZE(p)                                                                       \
	_Generic(*(p), unsigned char: 1, unsigned short: 2, unsigned int: sizeof(unsigned int), \
		 unsigned long: sizeof(unsigned long), unsigned long long: 8)
/* clang-format on */
#define OPT_FLAG(n, h, p, ...)                                                            \
	{                                                                                 \
		.name = (n), .kind = OPTK_FLAG, .help = (h), .target = OPT__PTR(bool, p), \
		__VA_ARGS__                                                               \
	}
#define OPT_UINT(n, a, h, p, lo, hi, ...)                                                       \
	{                                                                                       \
		.name = (n), .kind = OPTK_UINT, .arg = (a), .help = (h), .target = (void *)(p), \
		.size = OPT__USIZE(p), .min = (lo), .max = (hi), __VA_ARGS__                    \
	}
#define OPT_DOUBLE(n, a, h, p, lo, hi, ...)                                            \
	{                                                                              \
		.name = (n), .kind = OPTK_DOUBLE, .arg = (a), .help = (h),             \
		.target = OPT__PTR(double, p), .dmin = (lo), .dmax = (hi), __VA_ARGS__ \
	}
#define OPT_STRING(n, a, h, p, ...)                                        \
	{                                                                  \
		.name = (n), .kind = OPTK_STRING, .arg = (a), .help = (h), \
		.target = OPT__PTR(const char *, p), __VA_ARGS__           \
	}
#define OPT_LIST(n, a, h, array, cap, countp, ...)                       \
	{                                                                \
		.name = (n), .kind = OPTK_LIST, .arg = (a), .help = (h), \
		.target = OPT__PTR(const char *, array), .max = (cap),   \
		.count = OPT__PTR(size_t, countp), __VA_ARGS__           \
	}
#define OPT_CHOICE(n, a, h, p, names, ...)                                                        \
	{                                                                                         \
		.name = (n), .kind = OPTK_CHOICE, .arg = (a), .help = (h), .target = (void *)(p), \
		.size = sizeof(*(p)), .choices = (names), __VA_ARGS__                             \
	}
#define OPT_CUSTOM(n, a, h, p, fn, ...)                                                           \
	{                                                                                         \
		.name = (n), .kind = OPTK_CUSTOM, .arg = (a), .help = (h), .target = (void *)(p), \
		.parse = (fn), __VA_ARGS__                                                        \
	}
/* --seed N: the same syntax and meaning everywhere (a common/rng.h seed, default 1). */
#define OPTS_SEED_DEFAULT 1
#define OPT__STR(x) #x
#define OPT__XSTR(x) OPT__STR(x)
#define OPT_SEED(what, p)                                                                     \
	{                                                                                     \
		.name = "seed", .kind = OPTK_UINT, .arg = "N",                                \
		.help = what "; the same seed repeats the same sequence (default " OPT__XSTR( \
			OPTS_SEED_DEFAULT) ")",                                               \
		.target = OPT__PTR(uint64_t, p), .size = sizeof(uint64_t), .min = 0,          \
		.max = UINT64_MAX                                                             \
	}

struct opts_spec {
	const char *prog; /* for "Usage: PROG" and --version */
	const char *synopsis; /* what follows "Usage: PROG " (may hold newlines) */
	const char *about; /* paragraph(s) between the synopsis and the options; may be NULL */
	const char *footer; /* after the options (exit statuses); may be NULL */
	const struct opt *opts; /* ends with a row whose name is NULL */
	const char *args_name; /* named when too few arguments are given */
	unsigned int min_args, max_args; /* positional arguments */
};

enum opts_result {
	OPTS_RUN = 0, /* go on; *first_arg indexes the positional arguments */
	OPTS_DONE = 1, /* --help or --version answered on stdout: exit 0 */
	OPTS_USAGE = -1, /* a usage error, said in one line: exit OPTS_EXIT_USAGE */
};

/*
 * Parses argv (GNU getopt_long: options and arguments in any order, "--" ends options,
 * unambiguous prefixes of long names accepted). --help and --version are built in.
 * *first_arg is argv's index of the first positional argument (they are moved to the end).
 */
enum opts_result opts_parse(const struct opts_spec *spec, int argc, char **argv, int *first_arg);
/* The usage text from the table. */
void opts_usage(const struct opts_spec *spec, FILE *out);
/* A bad value found after parsing (a conflict, a check): one line; returns OPTS_USAGE. */
enum opts_result opts_error(const char *opt, const char *value, const char *why);
/* The exit status for a result: 0, or OPTS_EXIT_USAGE. */
int opts_exit_status(enum opts_result r);

#endif
