// SPDX-License-Identifier: MIT
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "log.h"
#include "parse.h"
#include "version.h"

/* getopt_long's val for row i is VAL_BASE + i: above every short option's char. */
#define VAL_BASE 256
#define VAL_HELP (VAL_BASE + OPTS_MAX)
#define VAL_VERSION (VAL_HELP + 1)
#define HELP_COL 25 /* where help text starts in the usage */
#define USAGE_WIDTH 79

enum opts_result opts_error(const char *opt, const char *value, const char *why)
{
	char q[256];

	log_error("%s: \"%s\" %s", opt, log_quote(value, strlen(value), q, sizeof(q)), why);
	return OPTS_USAGE;
}

int opts_exit_status(enum opts_result r)
{
	return r == OPTS_USAGE ? OPTS_EXIT_USAGE : 0;
}

static size_t table_len(const struct opt *opts)
{
	size_t n = 0;

	while (opts[n].name)
		n++;
	return n;
}

/* A table a program cannot parse with is a bug: said once, as a usage error. */
static int check_table(const struct opt *opts, size_t n)
{
	const char *why = NULL;
	size_t i, j;

	if (n > OPTS_MAX) {
		log_error("option table: %zu rows; at most %d", n, OPTS_MAX);
		return -EINVAL;
	}
	for (i = 0; i < n && !why; i++) {
		const struct opt *o = &opts[i];

		for (j = 0; j < i && !why; j++) {
			if (!strcmp(opts[j].name, o->name) ||
			    (o->short_name && o->short_name == opts[j].short_name))
				why = "defined twice";
		}
		if (!strcmp(o->name, "help") || !strcmp(o->name, "version"))
			why = "is built in";
		else if (!o->target || !o->help)
			why = "has no target or no help";
		else if ((o->kind == OPTK_FLAG) != !o->arg)
			why = "a flag has no value name; every other option has one";
		else if (o->kind == OPTK_UINT &&
			 (o->min > o->max || (o->size < 8 && o->max >> (8 * o->size)) ||
			  (o->size & (o->size - 1))))
			why = "has a range its target cannot hold";
		else if (o->kind == OPTK_DOUBLE && !(o->dmin <= o->dmax))
			why = "has an empty range";
		else if (o->kind == OPTK_LIST && (!o->count || !o->max))
			why = "is a list without a count or a capacity";
		else if (o->kind == OPTK_CHOICE && (!o->choices || o->size != sizeof(int)))
			why = "is a choice without names or with a target that is not an int";
		else if (o->kind == OPTK_CUSTOM && !o->parse)
			why = "has no parse function";
	}
	if (why) {
		log_error("option table: --%s %s", opts[i - 1].name, why);
		return -EINVAL;
	}
	return 0;
}

static void store_uint(const struct opt *o, uint64_t v)
{
	switch (o->size) {
	case 1:
		*(uint8_t *)o->target = (uint8_t)v;
		break;
	case 2:
		*(uint16_t *)o->target = (uint16_t)v;
		break;
	case 4:
		*(uint32_t *)o->target = (uint32_t)v;
		break;
	default:
		*(uint64_t *)o->target = v;
		break;
	}
}

static enum opts_result parse_value(const struct opt *o, const char *arg)
{
	char name[80], why[256];
	const char *w = NULL;
	uint64_t u;
	double d;
	int err;

	snprintf(name, sizeof(name), "--%s", o->name);
	switch (o->kind) {
	case OPTK_FLAG:
		*(bool *)o->target = true;
		return OPTS_RUN;
	case OPTK_UINT:
		err = parse_u64(arg, o->min, o->max, &u);
		if (!err) {
			store_uint(o, u);
			return OPTS_RUN;
		}
		if (err == -ERANGE)
			snprintf(why, sizeof(why), "is out of range %" PRIu64 "..%" PRIu64, o->min,
				 o->max);
		else
			snprintf(why, sizeof(why), "is not a whole number");
		return opts_error(name, arg, why);
	case OPTK_DOUBLE:
		err = parse_double(arg, o->dmin, o->dmax, &d);
		if (!err) {
			*(double *)o->target = d;
			return OPTS_RUN;
		}
		if (err == -ERANGE)
			snprintf(why, sizeof(why), "is out of range %.15g..%.15g", o->dmin,
				 o->dmax);
		else
			snprintf(why, sizeof(why), "is not a number");
		return opts_error(name, arg, why);
	case OPTK_STRING:
		*(const char **)o->target = arg;
		return OPTS_RUN;
	case OPTK_LIST:
		if (*o->count >= o->max) {
			snprintf(why, sizeof(why),
				 "is one too many: at most %" PRIu64 " are allowed", o->max);
			return opts_error(name, arg, why);
		}
		((const char **)o->target)[(*o->count)++] = arg;
		return OPTS_RUN;
	case OPTK_CHOICE: {
		size_t len = 0;

		for (int i = 0; o->choices[i]; i++) {
			if (!strcmp(arg, o->choices[i])) {
				*(int *)o->target = i;
				return OPTS_RUN;
			}
		}
		len = (size_t)snprintf(why, sizeof(why), "is not one of");
		for (int i = 0; o->choices[i] && len < sizeof(why); i++)
			len += (size_t)snprintf(why + len, sizeof(why) - len, "%s %s", i ? "," : "",
						o->choices[i]);
		return opts_error(name, arg, why);
	}
	case OPTK_CUSTOM:
		if (!o->parse(arg, o->target, &w))
			return OPTS_RUN;
		return opts_error(name, arg, w ? w : "is not valid");
	}
	return OPTS_USAGE;
}

static const struct opt *by_short(const struct opt *opts, size_t n, int c)
{
	for (size_t i = 0; i < n; i++) {
		if (opts[i].short_name && opts[i].short_name == c)
			return &opts[i];
	}
	return NULL;
}

/* getopt's ':' and '?': a value missing, a flag given one, or an unknown option. */
static enum opts_result getopt_error(const struct opt *opts, size_t n, int c, char **argv)
{
	const struct opt *o = NULL;

	if (optopt >= VAL_BASE && optopt < VAL_BASE + (int)n)
		o = &opts[optopt - VAL_BASE];
	else if (optopt > 0 && optopt < VAL_BASE)
		o = by_short(opts, n, optopt);
	if (c == ':' && o)
		log_error("--%s: needs a value (see --help)", o->name);
	else if (o)
		log_error("--%s: takes no value (see --help)", o->name);
	else if (optopt == VAL_HELP || optopt == VAL_VERSION)
		log_error("%s: takes no value (see --help)", argv[optind - 1]);
	else if (optopt > 0 && optopt < VAL_BASE)
		log_error("-%c: unknown option (see --help)", optopt);
	else
		log_error("%s: unknown option (see --help)", argv[optind - 1]);
	return OPTS_USAGE;
}

enum opts_result opts_parse(const struct opts_spec *spec, int argc, char **argv, int *first_arg)
{
	struct option longopts[OPTS_MAX + 3];
	char shortopts[2 * OPTS_MAX + 2];
	bool given[OPTS_MAX] = { false };
	size_t n = table_len(spec->opts), s = 0;
	enum opts_result r;
	unsigned int args;
	int c;

	if (check_table(spec->opts, n))
		return OPTS_USAGE;
	shortopts[s++] = ':'; /* a missing value returns ':', told apart from unknown '?' */
	for (size_t i = 0; i < n; i++) {
		const struct opt *o = &spec->opts[i];

		longopts[i] =
			(struct option){ o->name,
					 o->kind == OPTK_FLAG ? no_argument : required_argument,
					 NULL, VAL_BASE + (int)i };
		if (o->short_name) {
			shortopts[s++] = o->short_name;
			if (o->kind != OPTK_FLAG)
				shortopts[s++] = ':';
		}
	}
	shortopts[s] = '\0';
	longopts[n] = (struct option){ "help", no_argument, NULL, VAL_HELP };
	longopts[n + 1] = (struct option){ "version", no_argument, NULL, VAL_VERSION };
	longopts[n + 2] = (struct option){ 0 };

	optind = 0; /* a full restart: parsing twice in one process (tests) works */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct opt *o;

		if (c == ':' || c == '?')
			return getopt_error(spec->opts, n, c, argv);
		if (c == VAL_HELP) {
			opts_usage(spec, stdout);
			return OPTS_DONE;
		}
		if (c == VAL_VERSION) {
			printf("%s %s\n", spec->prog, HTTP_ENERGY_VERSION);
			return OPTS_DONE;
		}
		o = c >= VAL_BASE ? &spec->opts[c - VAL_BASE] : by_short(spec->opts, n, c);
		if (!o)
			return OPTS_USAGE; /* getopt returned what we never asked for */
		r = parse_value(o, optarg);
		if (r != OPTS_RUN)
			return r;
		given[o - spec->opts] = true;
		if (o->seen)
			*o->seen = true;
	}
	for (size_t i = 0; i < n; i++) {
		if ((spec->opts[i].flags & OPT_REQUIRED) && !given[i]) {
			log_error("--%s is required (see --help)", spec->opts[i].name);
			return OPTS_USAGE;
		}
	}
	args = (unsigned int)(argc - optind);
	if (args > spec->max_args) {
		char q[256];

		log_error("\"%s\": unexpected argument (see --help)",
			  log_quote(argv[optind + spec->max_args],
				    strlen(argv[optind + spec->max_args]), q, sizeof(q)));
		return OPTS_USAGE;
	}
	if (args < spec->min_args) {
		log_error("%s is required (see --help)",
			  spec->args_name ? spec->args_name : "an argument");
		return OPTS_USAGE;
	}
	*first_arg = optind;
	return OPTS_RUN;
}

/* "  --name ARG" then the help, wrapped at USAGE_WIDTH with continuations at HELP_COL. */
static void usage_row(FILE *out, const struct opt *o)
{
	char left[128];
	const char *p = o->help;
	int col;

	col = snprintf(left, sizeof(left), "  %s%s%s--%s%s%s", o->short_name ? "-" : "",
		       o->short_name ? (char[2]){ o->short_name, 0 } : "",
		       o->short_name ? ", " : "", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
	fputs(left, out);
	if (col > HELP_COL - 2) {
		fputs("  ", out);
		col += 2;
	} else {
		fprintf(out, "%*s", HELP_COL - col, "");
		col = HELP_COL;
	}
	while (*p) {
		size_t word = strcspn(p, " ");
		bool first = col == HELP_COL || p == o->help;

		if (!first && col + 1 + (int)word > USAGE_WIDTH) {
			fprintf(out, "\n%*s", HELP_COL, "");
			col = HELP_COL;
			first = true;
		}
		if (!first) {
			fputc(' ', out);
			col++;
		}
		fwrite(p, 1, word, out);
		col += (int)word;
		p += word;
		while (*p == ' ')
			p++;
	}
	fputc('\n', out);
}

void opts_usage(const struct opts_spec *spec, FILE *out)
{
	fprintf(out, "Usage: %s %s\n\n", spec->prog, spec->synopsis);
	if (spec->about)
		fprintf(out, "%s\n\n", spec->about);
	for (const struct opt *o = spec->opts; o->name; o++)
		usage_row(out, o);
	fputs("  --help, --version\n", out);
	if (spec->footer)
		fprintf(out, "\n%s\n", spec->footer);
}
