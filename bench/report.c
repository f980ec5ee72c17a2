// SPDX-License-Identifier: MIT
#include "report.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "version.h"

#define NAME_COLUMNS 30

static const double percentiles[] = { 50, 90, 99, 99.9 };
static const char *const percentile_keys[] = { "p50", "p90", "p99", "p99_9" };
#define NUM_PERCENTILES (sizeof(percentiles) / sizeof(percentiles[0]))

double report_measured_s(const struct bench_run *run)
{
	if (run->stop_ns <= run->measure_ns)
		return 0;
	return (double)(run->stop_ns - run->measure_ns) / 1e9;
}

const char *report_error_text(enum bench_error kind, int code, char *buf, size_t size)
{
	switch (kind) {
	case BENCH_ERR_TIMEOUT:
		return "no complete response within --timeout";
	case BENCH_ERR_READ:
		if (code == ENODATA)
			return "the server closed the connection before responding";
		if (code == EPROTO)
			return "the server closed the connection in the middle of a response";
		break;
	case BENCH_ERR_PARSE:
		if (code == EBADMSG)
			return "bytes the server sent when no response was due";
		if (code == EMSGSIZE)
			return "a response head longer than 64 KiB";
		if (code == EPROTO)
			return "not a valid HTTP/1.1 response";
		break;
	case BENCH_ERR_4XX:
	case BENCH_ERR_5XX:
		snprintf(buf, size, "status %d", code);
		return buf;
	default:
		break;
	}
	return strerror(code);
}

/* Three significant digits and a unit. */
static const char *fmt_ns(char *buf, size_t size, uint64_t ns)
{
	static const struct {
		double div;
		const char *unit;
	} units[] = { { 1e9, "s" }, { 1e6, "ms" }, { 1e3, "us" }, { 1, "ns" } };

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		double v = (double)ns / units[i].div;

		if (v >= 1 || units[i].div == 1) {
			snprintf(buf, size, "%.*f%s",
				 v < 10	 ? 2 :
				 v < 100 ? 1 :
					   0,
				 v, units[i].unit);
			return buf;
		}
	}
	return buf;
}

static const char *fmt_bytes(char *buf, size_t size, uint64_t b)
{
	if (b >= 1000000000)
		snprintf(buf, size, "%.2f GB", (double)b / 1e9);
	else if (b >= 1000000)
		snprintf(buf, size, "%.2f MB", (double)b / 1e6);
	else
		snprintf(buf, size, "%.2f kB", (double)b / 1e3);
	return buf;
}

static const char *short_name(char *buf, size_t size, const char *name)
{
	if (strlen(name) <= NAME_COLUMNS)
		return name;
	snprintf(buf, size, "%.*s...", NAME_COLUMNS - 3, name);
	return buf;
}

/* All endpoints' latencies in one histogram; NULL when out of memory. */
static struct hist *overall_latency(const struct bench_stats *s)
{
	struct hist *h = hist__new();

	for (size_t i = 0; h && i < s->n; i++)
		hist__merge(h, s->ep[i].latency_ns);
	return h;
}

static void print_latency_cells(FILE *out, const struct hist *h)
{
	char buf[32];

	for (size_t p = 0; p < NUM_PERCENTILES; p++)
		fprintf(out, " %8s",
			hist__count(h) ?
				fmt_ns(buf, sizeof(buf), hist__percentile(h, percentiles[p])) :
				"-");
	fprintf(out, " %8s", hist__count(h) ? fmt_ns(buf, sizeof(buf), hist__max(h)) : "-");
}

static void print_errors(FILE *out, const struct bench_stats *s)
{
	uint64_t total = bench_stats__all_errors(s);

	fprintf(out, "  errors     %lu", (unsigned long)total);
	for (int k = 0; k < BENCH_ERR__COUNT; k++)
		fprintf(out, "%s %s %lu", k ? "," : ":", bench_error_name((enum bench_error)k),
			(unsigned long)bench_stats__errors(s, (enum bench_error)k));
	fprintf(out, "\n");
	for (int k = 0; k < BENCH_ERR__COUNT; k++) {
		const struct bench_cause *c = s->causes[k];
		char buf[32];

		if (!c[0].count)
			continue;
		fprintf(out, "    %-8s", bench_error_name((enum bench_error)k));
		for (int i = 0; i < BENCH_MAX_CAUSES && c[i].count; i++)
			fprintf(out, "%s %lu %s", i ? "," : "", (unsigned long)c[i].count,
				report_error_text((enum bench_error)k, c[i].code, buf,
						  sizeof(buf)));
		if (s->other_causes[k])
			fprintf(out, ", %lu other", (unsigned long)s->other_causes[k]);
		fprintf(out, "\n");
	}
}

static void print_energy(FILE *out, const struct bench_run *run)
{
	const struct bench_stats *s = run->stats;
	uint64_t with = 0, total_uj = 0, invalid = 0;
	char buf[64];

	for (size_t i = 0; i < s->n; i++) {
		invalid += s->ep[i].energy_invalid;
		if (s->ep[i].energy_uj) {
			with += hist__count(s->ep[i].energy_uj);
			total_uj += hist__sum(s->ep[i].energy_uj);
		}
	}
	if (with == 0) {
		fprintf(out, "  energy     no response carried X-Energy-Score%s\n",
			invalid ? " with a number" : "");
		if (invalid)
			fprintf(out, "             %lu X-Energy-Score headers were not numbers\n",
				(unsigned long)invalid);
		return;
	}
	fprintf(out, "  energy     X-Energy-Score on %lu of %lu responses, total %lu uJ",
		(unsigned long)with, (unsigned long)bench_stats__responses(s),
		(unsigned long)total_uj);
	if (invalid)
		fprintf(out, " (%lu headers not numbers)", (unsigned long)invalid);
	fprintf(out, "\n\n  %-*s %10s %10s %10s %10s %14s\n", NAME_COLUMNS,
		"energy per endpoint (uJ)", "responses", "mean", "p50", "p99", "total");
	for (size_t i = 0; i < s->n; i++) {
		const struct hist *h = s->ep[i].energy_uj;

		fprintf(out, "  %-*s", NAME_COLUMNS,
			short_name(buf, sizeof(buf), mix__entry(run->mix, i)->name));
		if (!h || hist__count(h) == 0) {
			fprintf(out, " %10d %10s %10s %10s %14s\n", 0, "-", "-", "-", "-");
			continue;
		}
		fprintf(out, " %10lu %10.1f %10lu %10lu %14lu\n", (unsigned long)hist__count(h),
			hist__mean(h), (unsigned long)hist__percentile(h, 50),
			(unsigned long)hist__percentile(h, 99), (unsigned long)hist__sum(h));
	}
}

void report_print(FILE *out, const struct bench_run *run)
{
	const struct bench_stats *s = run->stats;
	double secs = report_measured_s(run);
	uint64_t responses = bench_stats__responses(s), ok = bench_stats__ok(s);
	struct hist *all = overall_latency(s);
	char b1[32], b2[32], name[64];

	fprintf(out, "bench_http %s: %s (%s), %s\n", HTTP_ENERGY_VERSION, run->url, run->address,
		run->mix_source);
	if (run->rate > 0)
		fprintf(out, "  open loop at %.6g req/s", run->rate);
	else
		fprintf(out, "  closed loop");
	fprintf(out, ", %u threads, %u connections, seed %lu, %.2f s measured", run->threads,
		run->concurrency, (unsigned long)run->seed, secs);
	if (run->warmup_s > 0)
		fprintf(out, " after %.2f s warm-up", run->warmup_s);
	fprintf(out, "%s\n\n", run->interrupted ? " (interrupted)" : "");

	fprintf(out, "  requests   %lu responses, %.1f req/s (%lu ok, %.1f ok/s)\n",
		(unsigned long)responses, secs > 0 ? (double)responses / secs : 0.0,
		(unsigned long)ok, secs > 0 ? (double)ok / secs : 0.0);
	if (all && hist__count(all)) {
		fprintf(out, "  latency    mean %s",
			fmt_ns(b1, sizeof(b1), (uint64_t)hist__mean(all)));
		for (size_t p = 0; p < NUM_PERCENTILES; p++)
			fprintf(out, ", p%g %s", percentiles[p],
				fmt_ns(b1, sizeof(b1), hist__percentile(all, percentiles[p])));
		fprintf(out, ", max %s (ok responses%s)\n", fmt_ns(b1, sizeof(b1), hist__max(all)),
			run->rate > 0 ? ", from each request's scheduled time" : "");
	}
	print_errors(out, s);
	fprintf(out, "  transfer   %s read, %s written, %lu connections opened\n",
		fmt_bytes(b1, sizeof(b1), s->bytes_read),
		fmt_bytes(b2, sizeof(b2), s->bytes_written), (unsigned long)s->connects);
	if (run->peak_rss_kib)
		fprintf(out, "  memory     peak RSS %.1f MiB\n", (double)run->peak_rss_kib / 1024);
	if (run->rate > 0)
		fprintf(out,
			"  at end     %lu requests in flight (not counted), %lu due but never sent\n",
			(unsigned long)s->in_flight_at_end, (unsigned long)s->backlog_at_end);
	print_energy(out, run);

	fprintf(out, "\n  %-*s %9s %9s %7s %8s %8s %8s %8s %8s\n", NAME_COLUMNS, "endpoint",
		"responses", "req/s", "errors", "p50", "p90", "p99", "p99.9", "max");
	for (size_t i = 0; i < s->n; i++) {
		const struct endpoint_stats *e = &s->ep[i];
		uint64_t errors = 0;

		for (int k = 0; k < BENCH_ERR__COUNT; k++)
			errors += e->errors[k];
		fprintf(out, "  %-*s %9lu %9.1f %7lu", NAME_COLUMNS,
			short_name(name, sizeof(name), mix__entry(run->mix, i)->name),
			(unsigned long)e->responses, secs > 0 ? (double)e->responses / secs : 0.0,
			(unsigned long)errors);
		print_latency_cells(out, e->latency_ns);
		fprintf(out, "\n");
	}
	hist__free(all);
}

/* json_object_set_new() that tolerates a NULL value (out of memory: dropped). */
static void set(json_t *obj, const char *key, json_t *v)
{
	if (v)
		json_object_set_new(obj, key, v);
}

static json_t *latency_json(const struct hist *h)
{
	json_t *o = json_object();

	set(o, "count", json_integer((json_int_t)hist__count(h)));
	if (!hist__count(h))
		return o;
	set(o, "mean_us", json_real(hist__mean(h) / 1e3));
	set(o, "min_us", json_real((double)hist__min(h) / 1e3));
	for (size_t p = 0; p < NUM_PERCENTILES; p++) {
		char key[16];

		snprintf(key, sizeof(key), "%s_us", percentile_keys[p]);
		set(o, key, json_real((double)hist__percentile(h, percentiles[p]) / 1e3));
	}
	set(o, "max_us", json_real((double)hist__max(h) / 1e3));
	return o;
}

static json_t *errors_json(const uint64_t *errors)
{
	json_t *o = json_object();

	for (int k = 0; k < BENCH_ERR__COUNT; k++)
		set(o, bench_error_name((enum bench_error)k), json_integer((json_int_t)errors[k]));
	return o;
}

/* {"read": [{"code": 104, "cause": "Connection reset by peer", "count": 3}], ...} */
static json_t *causes_json(const struct bench_stats *s)
{
	json_t *o = json_object();

	for (int k = 0; o && k < BENCH_ERR__COUNT; k++) {
		json_t *list = json_array();
		char buf[32];

		for (int i = 0; list && i < BENCH_MAX_CAUSES && s->causes[k][i].count; i++) {
			const struct bench_cause *c = &s->causes[k][i];

			json_array_append_new(
				list, json_pack("{s:i, s:s, s:I}", "code", c->code, "cause",
						report_error_text((enum bench_error)k, c->code, buf,
								  sizeof(buf)),
						"count", (json_int_t)c->count));
		}
		if (list && s->other_causes[k])
			json_array_append_new(list,
					      json_pack("{s:n, s:s, s:I}", "code", "cause", "other",
							"count", (json_int_t)s->other_causes[k]));
		set(o, bench_error_name((enum bench_error)k), list);
	}
	return o;
}

static json_t *energy_json(const struct endpoint_stats *e)
{
	json_t *o = json_object();
	const struct hist *h = e->energy_uj;
	uint64_t n = h ? hist__count(h) : 0;

	set(o, "responses_with_header", json_integer((json_int_t)n));
	set(o, "invalid_headers", json_integer((json_int_t)e->energy_invalid));
	set(o, "total_uj", json_integer((json_int_t)(n ? hist__sum(h) : 0)));
	set(o, "mean_uj", n ? json_real(hist__mean(h)) : json_null());
	set(o, "p50_uj", n ? json_integer((json_int_t)hist__percentile(h, 50)) : json_null());
	set(o, "p99_uj", n ? json_integer((json_int_t)hist__percentile(h, 99)) : json_null());
	return o;
}

/* ISO 8601 UTC time of monotonic instant t, from the run's real-time anchor. */
static json_t *time_json(const struct bench_run *run, uint64_t t)
{
	uint64_t ns = (uint64_t)run->start_real.tv_sec * 1000000000ull +
		      (uint64_t)run->start_real.tv_nsec + (t - run->start_ns);
	time_t secs = (time_t)(ns / 1000000000ull);
	struct tm tm;
	char buf[64], out[80];

	gmtime_r(&secs, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, sizeof(out), "%s.%06luZ", buf, (unsigned long)(ns % 1000000000ull / 1000));
	return json_string(out);
}

static json_t *options_json(const struct bench_run *run)
{
	json_t *o = json_object(), *mix = json_array();

	set(o, "url", json_string(run->url));
	set(o, "address", json_string(run->address));
	set(o, "mix_source", json_string(run->mix_source));
	set(o, "mode", json_string(run->rate > 0 ? "open" : "closed"));
	set(o, "rate_per_s", run->rate > 0 ? json_real(run->rate) : json_null());
	set(o, "threads", json_integer(run->threads));
	set(o, "concurrency", json_integer(run->concurrency));
	set(o, "duration_s", json_real(run->duration_s));
	set(o, "warmup_s", json_real(run->warmup_s));
	set(o, "timeout_s", json_real(run->timeout_s));
	set(o, "seed", json_integer((json_int_t)run->seed));
	for (size_t i = 0; mix && i < mix__size(run->mix); i++) {
		const struct mix_entry *e = mix__entry(run->mix, i);

		json_array_append_new(mix,
				      json_pack("{s:s, s:s, s:s, s:I, s:f, s:f}", "name", e->name,
						"method", e->method, "path", e->target, "body_kb",
						(json_int_t)e->body_kb, "weight", e->weight,
						"probability", mix__probability(run->mix, i)));
	}
	set(o, "mix", mix);
	return o;
}

int report_write_json(FILE *f, const struct bench_run *run)
{
	const struct bench_stats *s = run->stats;
	double secs = report_measured_s(run);
	uint64_t responses = bench_stats__responses(s), ok = bench_stats__ok(s);
	uint64_t errors[BENCH_ERR__COUNT], with = 0, total_uj = 0, invalid = 0;
	json_t *root = json_object(), *totals = json_object(), *eps = json_array(),
	       *energy = json_object();
	struct hist *all = overall_latency(s);
	int err = 0;

	if (!root || !totals || !eps || !energy || !all) {
		err = -ENOMEM;
		goto cleanup;
	}
	set(root, "tool", json_string("bench_http"));
	set(root, "version", json_string(HTTP_ENERGY_VERSION));
	set(root, "options", options_json(run));
	set(root, "start_time", time_json(run, run->start_ns));
	set(root, "measure_start_time", time_json(run, run->measure_ns));
	set(root, "end_time", time_json(run, run->stop_ns));
	set(root, "measure_start_monotonic_ns", json_integer((json_int_t)run->measure_ns));
	set(root, "end_monotonic_ns", json_integer((json_int_t)run->stop_ns));
	set(root, "measured_s", json_real(secs));
	set(root, "interrupted", json_boolean(run->interrupted));
	set(root, "peak_rss_kib",
	    run->peak_rss_kib ? json_integer((json_int_t)run->peak_rss_kib) : json_null());

	set(totals, "responses", json_integer((json_int_t)responses));
	set(totals, "ok", json_integer((json_int_t)ok));
	set(totals, "errors", json_integer((json_int_t)bench_stats__all_errors(s)));
	set(totals, "requests_per_s", json_real(secs > 0 ? (double)responses / secs : 0));
	set(totals, "ok_per_s", json_real(secs > 0 ? (double)ok / secs : 0));
	set(totals, "bytes_read", json_integer((json_int_t)s->bytes_read));
	set(totals, "bytes_written", json_integer((json_int_t)s->bytes_written));
	set(totals, "connections_opened", json_integer((json_int_t)s->connects));
	set(totals, "in_flight_at_end", json_integer((json_int_t)s->in_flight_at_end));
	set(totals, "backlog_at_end", json_integer((json_int_t)s->backlog_at_end));
	set(totals, "latency", latency_json(all));
	set(root, "totals", totals);
	totals = NULL;

	for (int k = 0; k < BENCH_ERR__COUNT; k++)
		errors[k] = bench_stats__errors(s, (enum bench_error)k);
	set(root, "errors", errors_json(errors));
	set(root, "error_causes", causes_json(s));

	for (size_t i = 0; i < s->n; i++) {
		const struct endpoint_stats *e = &s->ep[i];
		const struct mix_entry *m = mix__entry(run->mix, i);
		json_t *o = json_object();
		uint64_t n_err = 0;

		if (!o)
			continue;
		for (int k = 0; k < BENCH_ERR__COUNT; k++)
			n_err += e->errors[k];
		set(o, "name", json_string(m->name));
		set(o, "method", json_string(m->method));
		set(o, "path", json_string(m->target));
		set(o, "responses", json_integer((json_int_t)e->responses));
		set(o, "ok", json_integer((json_int_t)e->ok));
		set(o, "error_count", json_integer((json_int_t)n_err));
		set(o, "requests_per_s", json_real(secs > 0 ? (double)e->responses / secs : 0));
		set(o, "body_bytes", json_integer((json_int_t)e->body_bytes));
		set(o, "errors", errors_json(e->errors));
		set(o, "latency", latency_json(e->latency_ns));
		set(o, "energy", energy_json(e));
		json_array_append_new(eps, o);
		invalid += e->energy_invalid;
		if (e->energy_uj) {
			with += hist__count(e->energy_uj);
			total_uj += hist__sum(e->energy_uj);
		}
	}
	set(root, "endpoints", eps);
	eps = NULL;
	set(energy, "responses_with_header", json_integer((json_int_t)with));
	set(energy, "invalid_headers", json_integer((json_int_t)invalid));
	set(energy, "total_uj", json_integer((json_int_t)total_uj));
	set(energy, "mean_uj", with ? json_real((double)total_uj / (double)with) : json_null());
	set(root, "energy", energy);
	energy = NULL;

	errno = 0;
	if (json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) < 0 ||
	    fputc('\n', f) == EOF || fflush(f) == EOF)
		err = -(errno ? errno : EIO);
cleanup:
	json_decref(root);
	json_decref(totals);
	json_decref(eps);
	json_decref(energy);
	hist__free(all);
	return err;
}
