// SPDX-License-Identifier: MIT
#include "stats.h"

#include <errno.h>
#include <stdlib.h>

static const char *const error_names[BENCH_ERR__COUNT] = {
	[BENCH_ERR_CONNECT] = "connect", [BENCH_ERR_TIMEOUT] = "timeout", [BENCH_ERR_READ] = "read",
	[BENCH_ERR_WRITE] = "write",	 [BENCH_ERR_PARSE] = "parse",	  [BENCH_ERR_4XX] = "4xx",
	[BENCH_ERR_5XX] = "5xx",
};

const char *bench_error_name(enum bench_error e)
{
	return e < BENCH_ERR__COUNT ? error_names[e] : "?";
}

struct bench_stats *bench_stats__new(size_t n_endpoints)
{
	struct bench_stats *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->n = n_endpoints;
	s->ep = calloc(n_endpoints, sizeof(*s->ep));
	if (!s->ep)
		goto fail;
	for (size_t i = 0; i < n_endpoints; i++) {
		s->ep[i].latency_ns = hist__new();
		if (!s->ep[i].latency_ns)
			goto fail;
	}
	return s;
fail:
	bench_stats__free(s);
	errno = ENOMEM;
	return NULL;
}

void bench_stats__free(struct bench_stats *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->ep && i < s->n; i++) {
		hist__free(s->ep[i].latency_ns);
		hist__free(s->ep[i].energy_uj);
	}
	free(s->ep);
	free(s);
}

static void add_cause(struct bench_stats *s, enum bench_error kind, int code, uint64_t n)
{
	struct bench_cause *c = s->causes[kind];

	for (int i = 0; i < BENCH_MAX_CAUSES; i++) {
		if (c[i].count == 0)
			c[i].code = code;
		if (c[i].code == code) {
			c[i].count += n;
			return;
		}
	}
	s->other_causes[kind] += n;
}

int bench_stats__response(struct bench_stats *s, size_t ep, const struct resp_result *res,
			  uint64_t latency_ns)
{
	struct endpoint_stats *e = &s->ep[ep];

	e->responses++;
	e->body_bytes += res->body_bytes;
	if (res->status >= 500) {
		e->errors[BENCH_ERR_5XX]++;
		add_cause(s, BENCH_ERR_5XX, res->status, 1);
	} else if (res->status >= 400) {
		e->errors[BENCH_ERR_4XX]++;
		add_cause(s, BENCH_ERR_4XX, res->status, 1);
	} else {
		e->ok++;
		hist__record(e->latency_ns, latency_ns);
	}
	if (res->energy_invalid)
		e->energy_invalid++;
	if (res->has_energy) {
		if (!e->energy_uj) {
			e->energy_uj = hist__new();
			if (!e->energy_uj)
				return -ENOMEM;
		}
		hist__record(e->energy_uj, res->energy_uj);
	}
	return 0;
}

void bench_stats__error(struct bench_stats *s, size_t ep, enum bench_error kind, int err)
{
	if (ep < s->n)
		s->ep[ep].errors[kind]++;
	else
		s->errors[kind]++;
	add_cause(s, kind, err, 1);
}

int bench_stats__merge(struct bench_stats *dst, const struct bench_stats *src)
{
	for (size_t i = 0; i < dst->n && i < src->n; i++) {
		struct endpoint_stats *d = &dst->ep[i];
		const struct endpoint_stats *s = &src->ep[i];

		d->responses += s->responses;
		d->ok += s->ok;
		d->energy_invalid += s->energy_invalid;
		d->body_bytes += s->body_bytes;
		for (int k = 0; k < BENCH_ERR__COUNT; k++)
			d->errors[k] += s->errors[k];
		hist__merge(d->latency_ns, s->latency_ns);
		if (s->energy_uj) {
			if (!d->energy_uj) {
				d->energy_uj = hist__new();
				if (!d->energy_uj)
					return -ENOMEM;
			}
			hist__merge(d->energy_uj, s->energy_uj);
		}
	}
	for (int k = 0; k < BENCH_ERR__COUNT; k++) {
		dst->errors[k] += src->errors[k];
		for (int i = 0; i < BENCH_MAX_CAUSES; i++)
			if (src->causes[k][i].count)
				add_cause(dst, (enum bench_error)k, src->causes[k][i].code,
					  src->causes[k][i].count);
		dst->other_causes[k] += src->other_causes[k];
	}
	dst->connects += src->connects;
	dst->bytes_read += src->bytes_read;
	dst->bytes_written += src->bytes_written;
	dst->in_flight_at_end += src->in_flight_at_end;
	dst->backlog_at_end += src->backlog_at_end;
	return 0;
}

uint64_t bench_stats__responses(const struct bench_stats *s)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->ep[i].responses;
	return n;
}

uint64_t bench_stats__ok(const struct bench_stats *s)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->ep[i].ok;
	return n;
}

uint64_t bench_stats__errors(const struct bench_stats *s, enum bench_error kind)
{
	uint64_t n = s->errors[kind];

	for (size_t i = 0; i < s->n; i++)
		n += s->ep[i].errors[kind];
	return n;
}

uint64_t bench_stats__all_errors(const struct bench_stats *s)
{
	uint64_t n = 0;

	for (int k = 0; k < BENCH_ERR__COUNT; k++)
		n += bench_stats__errors(s, (enum bench_error)k);
	return n;
}
