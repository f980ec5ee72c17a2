// SPDX-License-Identifier: MIT
#include "endpoints.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "http_parser.h"
#include "parse.h"
#include "rng.h"

struct endpoint_spec {
	const char *path;
	const char *method;
	const char *param; /* NULL: takes no parameter */
	uint64_t min, max;
	const char *summary;
};

static const struct endpoint_spec specs[EP_COUNT] = {
	[EP_INDEX] = { "/", "GET", NULL, 0, 0, "this list" },
	[EP_HEALTHZ] = { "/healthz", "GET", NULL, 0, 0, "liveness: \"ok\"" },
	[EP_STATS] = { "/stats", "GET", NULL, 0, 0, "request counts per endpoint (JSON)" },
	[EP_CPU] = { "/cpu", "GET", "iters", 1, CPU_ITERS_MAX,
		     "CPU-bound integer arithmetic loop of N iterations" },
	[EP_JSON] = { "/json", "GET", "items", 1, JSON_ITEMS_MAX,
		      "builds N records and serializes them as JSON (jansson)" },
	[EP_COMPRESS] = { "/compress", "GET", "kb", 1, COMPRESS_KB_MAX,
			  "deflates N KiB of reproducible, partly compressible data (zlib)" },
	[EP_FILE] = { "/file", "GET", "kb", 1, FILE_KB_MAX,
		      "sends the first N KiB of the data file (page cache reads)" },
	[EP_POST] = { "/post", "POST", "kb", 0, POST_KB_MAX,
		      "reads a body of exactly N KiB and checksums it (CRC-32)" },
};

const char *endpoint_name(enum endpoint_id id)
{
	static const char *const names[EP_COUNT + 1] = {
		[EP_INDEX] = "index", [EP_HEALTHZ] = "healthz", [EP_STATS] = "stats",
		[EP_CPU] = "cpu",     [EP_JSON] = "json",	[EP_COMPRESS] = "compress",
		[EP_FILE] = "file",   [EP_POST] = "post",	[EP_NONE] = "other",
	};

	return id <= EP_NONE ? names[id] : "other";
}

const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

void response_error(struct response *resp, int status, const char *fmt, ...)
{
	va_list ap;
	char text[512];

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	resp->status = status;
	resp->content_type = "text/plain";
	resp->file_bytes = 0;
	buf__clear(&resp->body);
	if (buf__appendf(&resp->body, "%s\n", text))
		resp->close = true; /* no memory for a body: the empty reply still has a status */
}

static void out_of_memory(struct response *resp)
{
	response_error(resp, 500, "out of memory");
	resp->close = true;
}

static bool span_is(const char *s, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(s, want, len) == 0;
}

/* Validates the query against the endpoint's one parameter. */
static bool parse_params(const struct endpoint_spec *spec, const char *query, size_t query_len,
			 struct route *route, struct response *resp)
{
	const char *name, *value;
	size_t name_len, value_len, pos = 0;
	bool seen = false;

	while (http_query_next(query, query_len, &pos, &name, &name_len, &value, &value_len)) {
		int err;

		if (!spec->param || !span_is(name, name_len, spec->param)) {
			if (spec->param)
				response_error(resp, 400, "unknown parameter \"%.*s\"; %s takes %s=N",
					       (int)(name_len > 64 ? 64 : name_len), name,
					       spec->path, spec->param);
			else
				response_error(resp, 400,
					       "unknown parameter \"%.*s\"; %s takes none",
					       (int)(name_len > 64 ? 64 : name_len), name,
					       spec->path);
			return false;
		}
		if (seen) {
			response_error(resp, 400, "%s: given twice", spec->param);
			return false;
		}
		seen = true;
		err = parse_u64_n(value, value_len, spec->min, spec->max, &route->param);
		if (err) {
			response_error(resp, 400, "%s: \"%.*s\" %s; allowed range %" PRIu64
				       "..%" PRIu64, spec->param,
				       (int)(value_len > 64 ? 64 : value_len), value,
				       parse_strerror(err), spec->min, spec->max);
			return false;
		}
	}
	if (spec->param && !seen) {
		response_error(resp, 400, "%s: missing; allowed range %" PRIu64 "..%" PRIu64,
			       spec->param, spec->min, spec->max);
		return false;
	}
	return true;
}

bool endpoint_route(const char *method, size_t method_len, const char *target,
		    size_t target_len, struct route *route, struct response *resp)
{
	const char *path, *query;
	size_t path_len, query_len;

	route->id = EP_NONE;
	route->param = 0;
	http_target_split(target, target_len, &path, &path_len, &query, &query_len);
	for (int i = 0; i < EP_COUNT; i++) {
		const struct endpoint_spec *spec = &specs[i];

		if (!span_is(path, path_len, spec->path))
			continue;
		if (!span_is(method, method_len, spec->method)) {
			response_error(resp, 405, "%s: method %.*s not allowed; use %s",
				       spec->path, (int)(method_len > 16 ? 16 : method_len),
				       method, spec->method);
			resp->allow = spec->method;
			return false;
		}
		if (!parse_params(spec, query, query_len, route, resp))
			return false;
		route->id = (enum endpoint_id)i;
		return true;
	}
	response_error(resp, 404, "no endpoint at %.*s; GET / lists them",
		       (int)(path_len > 128 ? 128 : path_len), path);
	return false;
}

void workload_fill_data(uint64_t offset, unsigned char *out, size_t len)
{
	static const char words[] = "energy request thread joule sample kernel cgroup socket ";

	/* 64-byte blocks: about half repeat text (compressible), half random bytes. */
	for (size_t i = 0; i < len; i++) {
		uint64_t pos = offset + i, block = pos / 64;
		uint64_t r = splitmix64_mix(block);

		if (r & 1)
			out[i] = (unsigned char)words[(pos + (r >> 8)) % (sizeof(words) - 1)];
		else
			out[i] = (unsigned char)(splitmix64_mix(block ^ (pos << 20)) >> 56);
	}
}

uint64_t workload_cpu_loop(uint64_t iters)
{
	uint64_t x = 0x243f6a8885a308d3ULL;

	for (uint64_t i = 0; i < iters; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		x += i;
	}
	return x;
}

static void run_cpu(uint64_t iters, struct response *resp)
{
	uint64_t result = workload_cpu_loop(iters);

	if (buf__appendf(&resp->body, "{\"endpoint\":\"cpu\",\"iters\":%" PRIu64
			 ",\"result\":\"%016" PRIx64 "\"}\n", iters, result))
		out_of_memory(resp);
}

static void run_json(uint64_t items, struct response *resp)
{
	json_t *array = json_array();
	char *text = NULL;

	if (!array)
		goto oom;
	for (uint64_t i = 0; i < items; i++) {
		char name[32];
		json_t *rec;

		snprintf(name, sizeof(name), "item-%06" PRIu64, i);
		rec = json_pack("{s:I, s:s, s:f, s:b, s:[s, s]}", "id", (json_int_t)i, "name",
				name, "value", (double)(i % 1000) * 0.25, "active", (int)(i % 2 == 0),
				"tags", i % 3 ? "blue" : "green", i % 5 ? "small" : "large");
		if (!rec || json_array_append_new(array, rec))
			goto oom;
	}
	text = json_dumps(array, JSON_COMPACT);
	if (!text)
		goto oom;
	buf__adopt(&resp->body, text, strlen(text));
	resp->content_type = "application/json";
	json_decref(array);
	return;
oom:
	json_decref(array);
	out_of_memory(resp);
}

static void run_compress(uint64_t kb, struct response *resp)
{
	enum { CHUNK = 64 * 1024 };
	unsigned char *in = malloc(CHUNK), *out = malloc(CHUNK);
	uint64_t total_in = kb * 1024, done = 0, total_out = 0;
	uLong crc = crc32(0, Z_NULL, 0);
	z_stream zs = { 0 };
	int zrc = Z_OK;

	if (!in || !out || deflateInit(&zs, Z_DEFAULT_COMPRESSION) != Z_OK)
		goto fail;
	while (zrc != Z_STREAM_END) {
		size_t n = total_in - done < CHUNK ? (size_t)(total_in - done) : CHUNK;
		int flush = done + n == total_in ? Z_FINISH : Z_NO_FLUSH;

		workload_fill_data(done, in, n);
		done += n;
		zs.next_in = in;
		zs.avail_in = (uInt)n;
		do {
			zs.next_out = out;
			zs.avail_out = CHUNK;
			zrc = deflate(&zs, flush);
			if (zrc == Z_STREAM_ERROR)
				goto fail_deflate;
			total_out += CHUNK - zs.avail_out;
			crc = crc32(crc, out, CHUNK - zs.avail_out);
		} while (zs.avail_out == 0);
		if (flush == Z_FINISH && zrc != Z_STREAM_END)
			goto fail_deflate;
	}
	deflateEnd(&zs);
	free(in);
	free(out);
	if (buf__appendf(&resp->body, "{\"endpoint\":\"compress\",\"kb\":%" PRIu64
			 ",\"input_bytes\":%" PRIu64 ",\"output_bytes\":%" PRIu64
			 ",\"crc32\":\"%08lx\"}\n", kb, total_in, total_out, crc))
		out_of_memory(resp);
	return;
fail_deflate:
	deflateEnd(&zs);
fail:
	free(in);
	free(out);
	response_error(resp, 500, "compress: zlib failed");
}

static void run_stats(const struct workload_stats *stats, struct response *resp)
{
	struct timespec ts;
	uint64_t now_ns;
	json_t *root, *reqs, *classes;
	char *text;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	root = json_object();
	reqs = json_object();
	classes = json_object();
	if (!root || !reqs || !classes)
		goto oom;
	json_object_set_new(root, "requests", reqs);
	json_object_set_new(root, "responses", classes);
	for (int i = 0; i <= EP_COUNT; i++)
		json_object_set_new(reqs, endpoint_name((enum endpoint_id)i),
				    json_integer((json_int_t)atomic_load(&stats->requests[i])));
	for (int c = 1; c <= 5; c++) {
		char key[4] = { (char)('0' + c), 'x', 'x', '\0' };

		json_object_set_new(classes, key,
				    json_integer((json_int_t)atomic_load(&stats->status_class[c])));
	}
	json_object_set_new(root, "connections",
			    json_integer((json_int_t)atomic_load(&stats->connections)));
	json_object_set_new(root, "in_flight",
			    json_integer((json_int_t)atomic_load(&stats->in_flight)));
	json_object_set_new(root, "uptime_s", json_real((double)(now_ns - stats->start_ns) / 1e9));
	text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));
	json_decref(root);
	if (!text)
		goto oom_text;
	buf__adopt(&resp->body, text, strlen(text));
	buf__append(&resp->body, "\n", 1);
	resp->content_type = "application/json";
	return;
oom:
	json_decref(root);
	json_decref(reqs);
	json_decref(classes);
oom_text:
	out_of_memory(resp);
}

static void run_index(struct response *resp)
{
	int err = buf__appendf(&resp->body, "workload_server endpoints:\n");

	for (int i = 0; i < EP_COUNT && !err; i++) {
		const struct endpoint_spec *s = &specs[i];
		char usage[64];

		if (s->param)
			snprintf(usage, sizeof(usage), "%s?%s=N", s->path, s->param);
		else
			snprintf(usage, sizeof(usage), "%s", s->path);
		err = buf__appendf(&resp->body, "  %-4s %-20s %s", s->method, usage, s->summary);
		if (!err && s->param)
			err = buf__appendf(&resp->body, "; N in %" PRIu64 "..%" PRIu64, s->min,
					   s->max);
		if (!err)
			err = buf__append(&resp->body, "\n", 1);
	}
	resp->content_type = "text/plain";
	if (err)
		out_of_memory(resp);
}

void endpoint_run(const struct route *route, const struct workload_stats *stats,
		  struct response *resp)
{
	resp->status = 200;
	resp->content_type = "application/json";
	buf__clear(&resp->body);
	switch (route->id) {
	case EP_INDEX:
		run_index(resp);
		break;
	case EP_HEALTHZ:
		resp->content_type = "text/plain";
		if (buf__append(&resp->body, "ok\n", 3))
			out_of_memory(resp);
		break;
	case EP_STATS:
		run_stats(stats, resp);
		break;
	case EP_CPU:
		run_cpu(route->param, resp);
		break;
	case EP_JSON:
		run_json(route->param, resp);
		break;
	case EP_COMPRESS:
		run_compress(route->param, resp);
		break;
	case EP_FILE:
		resp->content_type = "application/octet-stream";
		resp->file_bytes = route->param * 1024;
		break;
	case EP_POST:
	case EP_COUNT:
		response_error(resp, 500, "internal error: endpoint %d has no runner", route->id);
		break;
	}
}

void endpoint_post_result(const struct route *route, uint64_t bytes, uint32_t crc,
			  struct response *resp)
{
	resp->status = 200;
	resp->content_type = "application/json";
	buf__clear(&resp->body);
	if (buf__appendf(&resp->body, "{\"endpoint\":\"post\",\"kb\":%" PRIu64 ",\"bytes\":%" PRIu64
			 ",\"crc32\":\"%08" PRIx32 "\"}\n", route->param, bytes, crc))
		out_of_memory(resp);
}
