// SPDX-License-Identifier: MIT
#include "mix.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parser.h"
#include "log.h"

#define MAX_WEIGHT 1e9

struct mix {
	size_t n;
	double cum[MIX_MAX_ENTRIES]; /* cumulative probability up to and including i */
	double total_weight;
	struct mix_entry e[MIX_MAX_ENTRIES];
};

struct profile_request {
	const char *method;
	const char *target;
	uint64_t body_kb;
	double weight;
};

/*
 * Moderate parameters: each request takes a few milliseconds of server CPU on a laptop
 * core. The mixed profile weighs the five endpoints equally, so each gets about a fifth
 * of the requests and a comparable sample for its per-endpoint figures.
 */
static const struct profile_request profile_cpu = { "GET", "/cpu?iters=200000", 0, 1 };
static const struct profile_request profile_json = { "GET", "/json?items=200", 0, 1 };
static const struct profile_request profile_compress = { "GET", "/compress?kb=64", 0, 1 };
static const struct profile_request profile_file = { "GET", "/file?kb=64", 0, 1 };
static const struct profile_request profile_post = { "POST", "/post?kb=16", 16, 1 };

static const struct {
	const char *name;
	const struct profile_request *requests[5];
} profiles[] = {
	{ "mixed",
	  { &profile_cpu, &profile_json, &profile_compress, &profile_file, &profile_post } },
	{ "cpu", { &profile_cpu } },
	{ "json", { &profile_json } },
	{ "compress", { &profile_compress } },
	{ "file", { &profile_file } },
	{ "post", { &profile_post } },
};

const char *mix_profile_names(void)
{
	return "mixed, cpu, json, compress, file, post";
}

/* NULL when t can go on a request line as it is, else why not. */
static const char *target_problem(const char *t)
{
	size_t len = strlen(t);

	if (t[0] != '/')
		return "must start with '/'";
	if (len >= MIX_MAX_TARGET)
		return "is too long";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];

		if (c <= 0x20 || c >= 0x7f)
			return "has a space or a character that needs percent-encoding";
		if (c == '#')
			return "has a fragment ('#')";
	}
	return NULL;
}

static const char *method_problem(const char *m)
{
	size_t len = strlen(m);

	if (len == 0 || len >= sizeof(((struct mix_entry *)0)->method))
		return "must be 1 to 15 characters";
	for (size_t i = 0; i < len; i++)
		if (!http_is_tchar((unsigned char)m[i]))
			return "is not an HTTP method token";
	return NULL;
}

static bool method_has_no_body(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

static struct mix *mix_alloc(void)
{
	struct mix *m = calloc(1, sizeof(*m));

	if (!m)
		log_error("out of memory");
	return m;
}

/* The caller has validated every field. */
static void mix_add(struct mix *m, const char *method, const char *target, uint64_t body_kb,
		    double weight, const char *name)
{
	struct mix_entry *e = &m->e[m->n++];

	snprintf(e->method, sizeof(e->method), "%s", method);
	snprintf(e->target, sizeof(e->target), "%s", target);
	e->body_kb = body_kb;
	e->weight = weight;
	if (name)
		snprintf(e->name, sizeof(e->name), "%s", name);
	else
		snprintf(e->name, sizeof(e->name), "%s %s", method, target);
}

static void mix_finish(struct mix *m)
{
	double run = 0;

	m->total_weight = 0;
	for (size_t i = 0; i < m->n; i++)
		m->total_weight += m->e[i].weight;
	for (size_t i = 0; i < m->n; i++) {
		run += m->e[i].weight;
		m->cum[i] = run / m->total_weight;
	}
	m->cum[m->n - 1] = 1.0; /* no rounding gap at the top */
}

int mix__from_profile(const char *profile, struct mix **out)
{
	struct mix *m;

	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		if (strcmp(profiles[i].name, profile) != 0)
			continue;
		m = mix_alloc();
		if (!m)
			return -ENOMEM;
		for (size_t k = 0; k < 5 && profiles[i].requests[k]; k++) {
			const struct profile_request *r = profiles[i].requests[k];

			mix_add(m, r->method, r->target, r->body_kb, r->weight, NULL);
		}
		mix_finish(m);
		*out = m;
		return 0;
	}
	log_error("--profile: \"%s\" is not a profile (%s)", profile, mix_profile_names());
	return -ENOENT;
}

int mix__from_paths(const char *const *paths, size_t n, uint64_t body_kb, struct mix **out)
{
	struct mix *m;
	int err = -EINVAL;

	if (n > MIX_MAX_ENTRIES) {
		log_error("--path: %zu paths: at most %d", n, MIX_MAX_ENTRIES);
		return -EINVAL;
	}
	m = mix_alloc();
	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char method[16] = "GET";
		const char *target = paths[i], *sp = strchr(paths[i], ' '), *why;

		if (sp) {
			size_t mlen = (size_t)(sp - paths[i]);

			if (mlen == 0 || mlen >= sizeof(method)) {
				log_error("--path: \"%s\": method must be 1 to 15 characters",
					  paths[i]);
				goto cleanup;
			}
			memcpy(method, paths[i], mlen);
			method[mlen] = '\0';
			target = sp + 1;
		}
		why = method_problem(method);
		if (why) {
			log_error("--path: \"%s\": method %s", paths[i], why);
			goto cleanup;
		}
		why = target_problem(target);
		if (why) {
			log_error("--path: \"%s\": the path %s", paths[i], why);
			goto cleanup;
		}
		mix_add(m, method, target, method_has_no_body(method) ? 0 : body_kb, 1.0, NULL);
	}
	mix_finish(m);
	*out = m;
	m = NULL;
	err = 0;
cleanup:
	free(m);
	return err;
}

/* A JSON value as short text for an error message; the caller frees it. */
static char *json_text(const json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	if (s && strlen(s) > 60)
		strcpy(s + 57, "...");
	return s;
}

/* Prints "FILE: entry I: KEY: VALUE WHY" and returns -EINVAL. */
static int entry_error(const char *file, size_t i, const char *key, const json_t *v,
		       const char *why)
{
	char *text = v ? json_text(v) : NULL;

	log_error("%s: entry %zu: %s: %s%s%s", file, i, key, text ? text : "", text ? " " : "",
		  why);
	free(text);
	return -EINVAL;
}

static int parse_entry(struct mix *m, const char *file, size_t i, json_t *obj)
{
	const char *key, *method = "GET", *target = NULL, *name = NULL, *why;
	uint64_t body_kb = 0;
	double weight = 1.0;
	json_t *v;

	if (!json_is_object(obj))
		return entry_error(file, i, "entry", obj, "is not an object");
	json_object_foreach(obj, key, v)
	{
		if (strcmp(key, "path") == 0) {
			if (!json_is_string(v))
				return entry_error(file, i, key, v, "is not a string");
			target = json_string_value(v);
			why = target_problem(target);
			if (why)
				return entry_error(file, i, key, v, why);
		} else if (strcmp(key, "method") == 0) {
			if (!json_is_string(v))
				return entry_error(file, i, key, v, "is not a string");
			method = json_string_value(v);
			why = method_problem(method);
			if (why)
				return entry_error(file, i, key, v, why);
		} else if (strcmp(key, "body_kb") == 0) {
			if (!json_is_integer(v))
				return entry_error(file, i, key, v, "is not an integer (KiB)");
			if (json_integer_value(v) < 0 || json_integer_value(v) > MIX_MAX_BODY_KB)
				return entry_error(file, i, key, v, "is out of range 0..65536");
			body_kb = (uint64_t)json_integer_value(v);
		} else if (strcmp(key, "weight") == 0) {
			if (!json_is_number(v))
				return entry_error(file, i, key, v, "is not a number");
			weight = json_number_value(v);
			if (!(weight > 0) || weight > MAX_WEIGHT)
				return entry_error(file, i, key, v,
						   "is out of range (> 0 and <= 1e9)");
		} else if (strcmp(key, "name") == 0) {
			if (!json_is_string(v))
				return entry_error(file, i, key, v, "is not a string");
			name = json_string_value(v);
			if (name[0] == '\0' || strlen(name) >= MIX_MAX_NAME)
				return entry_error(file, i, key, v, "must be 1 to 63 characters");
			for (const char *c = name; *c; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					return entry_error(file, i, key, v,
							   "has a control character");
		} else {
			return entry_error(file, i, key, NULL,
					   "unknown key (path, method, body_kb, weight, name)");
		}
	}
	if (!target)
		return entry_error(file, i, "path", NULL, "missing");
	if (body_kb > 0 && method_has_no_body(method))
		return entry_error(file, i, "body_kb", json_object_get(obj, "body_kb"),
				   "needs a method that sends a body, not GET or HEAD");
	mix_add(m, method, target, body_kb, weight, name);
	return 0;
}

int mix__from_file(const char *file, struct mix **out)
{
	struct mix *m = NULL;
	json_t *root = NULL;
	json_error_t jerr;
	FILE *f;
	int err;

	f = fopen(file, "r");
	if (!f) {
		err = -errno;
		log_error("%s: %s", file, strerror(errno));
		return err;
	}
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		log_error("%s:%d:%d: invalid JSON: %s", file, jerr.line, jerr.column, jerr.text);
		err = -EINVAL;
		goto cleanup;
	}
	err = -EINVAL;
	if (!json_is_array(root)) {
		log_error("%s: expected a JSON array of requests", file);
		goto cleanup;
	}
	if (json_array_size(root) == 0 || json_array_size(root) > MIX_MAX_ENTRIES) {
		log_error("%s: %zu entries: need 1 to %d", file, json_array_size(root),
			  MIX_MAX_ENTRIES);
		goto cleanup;
	}
	m = mix_alloc();
	if (!m) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < json_array_size(root); i++) {
		err = parse_entry(m, file, i + 1, json_array_get(root, i));
		if (err)
			goto cleanup;
	}
	mix_finish(m);
	*out = m;
	m = NULL;
	err = 0;
cleanup:
	free(m);
	json_decref(root);
	fclose(f);
	return err;
}

void mix__free(struct mix *m)
{
	free(m);
}

size_t mix__size(const struct mix *m)
{
	return m->n;
}

const struct mix_entry *mix__entry(const struct mix *m, size_t i)
{
	return &m->e[i];
}

double mix__probability(const struct mix *m, size_t i)
{
	return m->e[i].weight / m->total_weight;
}

size_t mix__draw(const struct mix *m, struct xoshiro256 *r)
{
	double u = xoshiro256_unit(r);
	size_t lo = 0, hi = m->n - 1;

	/* The first entry whose cumulative probability exceeds u. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (u < m->cum[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}
