// SPDX-License-Identifier: MIT
#include "metrics_format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const skip_names[] = {
	[SKIP_BATCHED] = "batched",
	[SKIP_PORT] = "other_port",
	[SKIP_PULL_FAILED] = "pull_failed",
	[SKIP_PUSH_FAILED] = "push_failed",
	[SKIP_SEND_BUFFER] = "send_buffer",
};
_Static_assert(sizeof(skip_names) / sizeof(skip_names[0]) == SKIP_REASONS,
	       "a name for every skip reason");

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if the bytes there are not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0; /* overlong, out of range, or a surrogate */
	return n;
}

int metrics_append_label_value(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int err = 0;

	while (*p && !err) {
		size_t n = utf8_len(p);

		if (*p == '\\')
			err = buf__append(out, "\\\\", 2);
		else if (*p == '"')
			err = buf__append(out, "\\\"", 2);
		else if (*p == '\n')
			err = buf__append(out, "\\n", 2);
		else if (n == 0)
			err = buf__append(out, "?", 1); /* Prometheus refuses invalid UTF-8 */
		else
			err = buf__append(out, p, n);
		p += n ? n : 1;
	}
	return err;
}

struct fmt {
	struct buf *out;
	int err;
};

static void put(struct fmt *f, const char *s)
{
	if (!f->err)
		f->err = buf__append(f->out, s, strlen(s));
}

static void putf(struct fmt *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct fmt *f, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		f->err = -EOVERFLOW;
		return;
	}
	put(f, line);
}

static void label(struct fmt *f, const char *s)
{
	if (!f->err)
		f->err = metrics_append_label_value(f->out, s ? s : "");
}

static void header(struct fmt *f, const char *name, const char *type, const char *help)
{
	putf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* µJ and ns as base units, exactly (no binary rounding of the integer part). */
static void joules(struct fmt *f, uint64_t uj)
{
	putf(f, " %" PRIu64 ".%06" PRIu64 "\n", uj / 1000000, uj % 1000000);
}

static void seconds(struct fmt *f, uint64_t ns)
{
	putf(f, " %" PRIu64 ".%09" PRIu64 "\n", ns / 1000000000, ns % 1000000000);
}

static void node(struct fmt *f, const struct metrics_input *in)
{
	header(f, "http_energy_info", "gauge",
	       "The collector: version, energy source, attribution mode, optional signals on.");
	put(f, "http_energy_info{version=\"");
	label(f, in->version);
	put(f, "\",energy_source=\"");
	label(f, in->energy_source);
	putf(f, "\",measured=\"%s\",mode=\"", in->measured ? "true" : "false");
	label(f, in->mode);
	put(f, "\",signals=\"");
	label(f, in->signals);
	put(f, "\"} 1\n");

	header(f, "http_energy_node_energy_joules_total", "counter",
	       "Energy the source measured, split into idle (idle_power_uw, at most the "
	       "measured energy) and dynamic (the rest).");
	put(f, "http_energy_node_energy_joules_total{component=\"idle\"}");
	joules(f, in->idle_uj);
	put(f, "http_energy_node_energy_joules_total{component=\"dynamic\"}");
	joules(f, in->dynamic_uj);

	header(f, "http_energy_attributed_energy_joules_total", "counter",
	       "Energy attributed to processes (and so to cgroups): psys mode splits the "
	       "dynamic energy by score, model mode evaluates the model.");
	put(f, "http_energy_attributed_energy_joules_total");
	joules(f, in->attributed_uj);

	header(f, "http_energy_node_cpu_seconds_total", "counter",
	       "CPU time summed over CPUs: busy (any task; IRQ time inside it), idle, and the "
	       "irq, softirq and kernel-thread parts of busy.");
	put(f, "http_energy_node_cpu_seconds_total{mode=\"busy\"}");
	seconds(f, in->busy_ns);
	put(f, "http_energy_node_cpu_seconds_total{mode=\"idle\"}");
	seconds(f, in->idle_ns);
	put(f, "http_energy_node_cpu_seconds_total{mode=\"irq\"}");
	seconds(f, in->irq_ns);
	put(f, "http_energy_node_cpu_seconds_total{mode=\"softirq\"}");
	seconds(f, in->softirq_ns);
	put(f, "http_energy_node_cpu_seconds_total{mode=\"kernel_thread\"}");
	seconds(f, in->kthread_ns);

	header(f, "http_energy_interval_seconds", "gauge",
	       "Length of the last sampling interval.");
	put(f, "http_energy_interval_seconds");
	seconds(f, in->last_interval_ns);
}

static void cgroup_labels(struct fmt *f, const struct cgroup_account *c)
{
	char unnamed[64];

	put(f, "{cgroup=\"");
	if (c->path) {
		label(f, c->path);
	} else {
		snprintf(unnamed, sizeof(unnamed), "(id %" PRIu64 ")", c->id);
		label(f, unnamed);
	}
	put(f, "\",pod_uid=\"");
	label(f, c->k8s.pod_uid);
	put(f, "\",qos=\"");
	label(f, c->k8s.qos);
	put(f, "\",container_id=\"");
	label(f, c->k8s.container_id);
	put(f, "\"}");
}

static const char other_labels[] = "{cgroup=\"_other\",pod_uid=\"\",qos=\"\",container_id=\"\"}";

static void cgroups(struct fmt *f, const struct accounts *a)
{
	const struct cgroup_account *c;
	size_t n = accounts__cgroups(a, &c);

	header(f, "http_energy_cgroup_energy_joules_total", "counter",
	       "Energy attributed to the processes of a cgroup (its own, not its children's); "
	       "cgroup=\"_other\": cgroups over --metrics-max-cgroups.");
	for (size_t i = 0; i < n; i++) {
		put(f, "http_energy_cgroup_energy_joules_total");
		cgroup_labels(f, &c[i]);
		joules(f, c[i].energy_uj);
	}
	put(f, "http_energy_cgroup_energy_joules_total");
	put(f, other_labels);
	joules(f, accounts__other_cgroups(a)->energy_uj);

	header(f, "http_energy_cgroup_cpu_seconds_total", "counter",
	       "On-CPU time of the processes of a cgroup, summed over CPUs.");
	for (size_t i = 0; i < n; i++) {
		put(f, "http_energy_cgroup_cpu_seconds_total");
		cgroup_labels(f, &c[i]);
		seconds(f, c[i].runtime_ns);
	}
	put(f, "http_energy_cgroup_cpu_seconds_total");
	put(f, other_labels);
	seconds(f, accounts__other_cgroups(a)->runtime_ns);
}

static void processes(struct fmt *f, const struct accounts *a)
{
	const struct process_account *p;
	size_t n = accounts__processes(a, &p);
	const char *metric[2] = { "http_energy_process_energy_joules_total",
				  "http_energy_process_cpu_seconds_total" };
	const char *help[2] = {
		"Energy attributed to a process (pid, start time in clock ticks since boot); "
		"pid=\"other\": processes without a series of their own (over "
		"--metrics-max-processes, or exited within the interval).",
		"On-CPU time of a process, summed over CPUs; pid=\"other\" as above.",
	};

	for (int m = 0; m < 2; m++) {
		header(f, metric[m], "counter", help[m]);
		for (size_t i = 0; i < n; i++) {
			putf(f, "%s{pid=\"%u\",start=\"%" PRIu64 "\",comm=\"", metric[m], p[i].tgid,
			     p[i].start);
			label(f, p[i].comm);
			put(f, "\"}");
			if (m == 0)
				joules(f, p[i].energy_uj);
			else
				seconds(f, p[i].runtime_ns);
		}
		putf(f, "%s{pid=\"other\",start=\"\",comm=\"\"}", metric[m]);
		if (m == 0)
			joules(f, accounts__other_processes(a)->energy_uj);
		else
			seconds(f, accounts__other_processes(a)->runtime_ns);
	}
}

static void requests(struct fmt *f, const struct request_totals *r)
{
	header(f, "http_energy_requests_total", "counter",
	       "HTTP/1.x request heads seen in the tracked cgroup.");
	putf(f, "http_energy_requests_total %" PRIu64 "\n", r->heads);
	header(f, "http_energy_responses_total", "counter", "Responses started.");
	putf(f, "http_energy_responses_total %" PRIu64 "\n", r->responses);
	header(f, "http_energy_response_energy_joules_total", "counter",
	       "Energy of every response started.");
	put(f, "http_energy_response_energy_joules_total");
	joules(f, r->energy_uj);
	header(f, "http_energy_headers_written_total", "counter",
	       "X-Energy-Score headers written into responses.");
	putf(f, "http_energy_headers_written_total %" PRIu64 "\n", r->injected);
	header(f, "http_energy_headers_skipped_total", "counter",
	       "Responses left without the header, by reason.");
	for (int i = 0; i < SKIP_REASONS; i++)
		putf(f, "http_energy_headers_skipped_total{reason=\"%s\"} %" PRIu64 "\n",
		     skip_names[i], r->skipped[i]);
	header(f, "http_energy_connections_dropped_total", "counter",
	       "Connections no longer tracked, by reason.");
	putf(f, "http_energy_connections_dropped_total{reason=\"lost_sync\"} %" PRIu64 "\n",
	     r->desynced);
	putf(f, "http_energy_connections_dropped_total{reason=\"not_http\"} %" PRIu64 "\n",
	     r->not_http);
	putf(f, "http_energy_connections_dropped_total{reason=\"map_full\"} %" PRIu64 "\n",
	     r->conn_overflows);
}

/* µJ plus 1/2^16 µJ as joules, to the nanojoule. */
static void joules_fx(struct fmt *f, uint64_t uj, uint32_t frac)
{
	uint64_t nj = ((uint64_t)frac * 1000 + (1u << 15)) >> 16;

	if (nj == 1000) {
		uj++;
		nj = 0;
	}
	putf(f, " %" PRIu64 ".%06" PRIu64 "%03" PRIu64 "\n", uj / 1000000, uj % 1000000, nj);
}

/* {cgroup="...",method="...",route="..." (no closing brace: a label may follow) */
static void route_labels(struct fmt *f, const struct metrics_input *in, const struct route_stats *r)
{
	const char *name = NULL;
	char unnamed[64];

	put(f, "{cgroup=\"");
	if (r->other_cgroup) {
		put(f, "_other");
	} else {
		if (in->cgroup_name)
			name = in->cgroup_name(in->cgroup_ctx, r->cgroup_id);
		if (!name) {
			snprintf(unnamed, sizeof(unnamed), "(id %" PRIu64 ")", r->cgroup_id);
			name = unnamed;
		}
		label(f, name);
	}
	put(f, "\",method=\"");
	label(f, r->other_route ? "_other" : r->method);
	put(f, "\",route=\"");
	label(f, r->other_route ? "_other" : r->path);
	put(f, "\"");
}

static uint64_t route_requests(const struct route_stats *r)
{
	uint64_t n = 0;

	for (int c = 0; c < ROUTE_CODE_CLASSES; c++)
		n += r->requests[c];
	return n;
}

static void routes(struct fmt *f, const struct metrics_input *in)
{
	const char *hist = "http_energy_route_request_energy_joules";

	if (!in->num_routes)
		return;
	header(f, "http_energy_route_requests_total", "counter",
	       "Completed requests by cgroup, method, route (path without query) and status "
	       "class; route=\"_other\": routes over --metrics-max-routes.");
	for (size_t i = 0; i < in->num_routes; i++) {
		for (int c = 0; c < ROUTE_CODE_CLASSES; c++) {
			if (!in->routes[i].requests[c])
				continue; /* a class appears with its first request */
			put(f, "http_energy_route_requests_total");
			route_labels(f, in, &in->routes[i]);
			putf(f, ",code_class=\"%s\"} %" PRIu64 "\n", route_code_class_name(c),
			     in->routes[i].requests[c]);
		}
	}
	header(f, "http_energy_route_energy_joules_total", "counter",
	       "Energy of the completed requests of a route.");
	for (size_t i = 0; i < in->num_routes; i++) {
		put(f, "http_energy_route_energy_joules_total");
		route_labels(f, in, &in->routes[i]);
		put(f, "}");
		joules_fx(f, in->routes[i].energy_uj, in->routes[i].energy_frac);
	}
	header(f, "http_energy_route_cpu_seconds_total", "counter",
	       "CPU time charged to the completed requests of a route.");
	for (size_t i = 0; i < in->num_routes; i++) {
		put(f, "http_energy_route_cpu_seconds_total");
		route_labels(f, in, &in->routes[i]);
		put(f, "}");
		seconds(f, in->routes[i].cpu_ns);
	}
	header(f, hist, "histogram", "Energy of each completed request of a route.");
	for (size_t i = 0; i < in->num_routes; i++) {
		const struct route_stats *r = &in->routes[i];
		uint64_t cumulative = 0;

		for (int b = 0; b < ROUTES_ENERGY_BUCKETS; b++) {
			uint64_t le = routes_bucket_uj[b];

			cumulative += r->buckets[b];
			putf(f, "%s_bucket", hist);
			route_labels(f, in, r);
			putf(f, ",le=\"%" PRIu64 ".%06" PRIu64 "\"} %" PRIu64 "\n", le / 1000000,
			     le % 1000000, cumulative);
		}
		putf(f, "%s_bucket", hist);
		route_labels(f, in, r);
		putf(f, ",le=\"+Inf\"} %" PRIu64 "\n", cumulative + r->over_buckets);
		putf(f, "%s_sum", hist);
		route_labels(f, in, r);
		put(f, "}");
		joules_fx(f, r->energy_uj, r->energy_frac);
		putf(f, "%s_count", hist);
		route_labels(f, in, r);
		putf(f, "} %" PRIu64 "\n", route_requests(r));
	}
}

static void collector(struct fmt *f, const struct metrics_input *in)
{
	header(f, "http_energy_intervals_total", "counter", "Sampling intervals completed.");
	putf(f, "http_energy_intervals_total %" PRIu64 "\n", in->intervals);
	header(f, "http_energy_interval_overruns_total", "counter",
	       "Interval boundaries the sampler missed (the next interval was longer).");
	putf(f, "http_energy_interval_overruns_total %" PRIu64 "\n", in->overruns);
	header(f, "http_energy_process_map_full_total", "counter",
	       "Charges that found the kernel's per-process map full (kept host-wide only).");
	putf(f, "http_energy_process_map_full_total %" PRIu64 "\n", in->proc_overflows);
	if (in->records_dropped) {
		header(f, "http_energy_records_dropped_total", "counter",
		       "Request records lost before user space read them (ring buffer full).");
		putf(f, "http_energy_records_dropped_total %" PRIu64 "\n", *in->records_dropped);
	}
	if (in->accounts) {
		header(f, "http_energy_accounts_pruned_total", "counter",
		       "Series dropped: processes that exited, cgroups removed.");
		putf(f, "http_energy_accounts_pruned_total{kind=\"process\"} %" PRIu64 "\n",
		     accounts__pruned_processes(in->accounts));
		putf(f, "http_energy_accounts_pruned_total{kind=\"cgroup\"} %" PRIu64 "\n",
		     accounts__pruned_cgroups(in->accounts));
	}
	header(f, "http_energy_cgroup_walks_total", "counter",
	       "Walks of the cgroup2 mount to name new cgroup ids.");
	putf(f, "http_energy_cgroup_walks_total %" PRIu64 "\n", in->cgroup_walks);
	header(f, "http_energy_scrapes_total", "counter",
	       "Requests the metrics endpoint answered (up to the last interval).");
	putf(f, "http_energy_scrapes_total %" PRIu64 "\n", in->scrapes);
	header(f, "http_energy_scrapes_refused_total", "counter",
	       "Connections the metrics endpoint closed: over the client limit, too slow, or "
	       "not a valid request.");
	putf(f, "http_energy_scrapes_refused_total %" PRIu64 "\n", in->scrapes_refused);
}

/* Physical GPUs only (a MIG instance has no energy of its own): bounded by the host's GPUs. */
static void gpus(struct fmt *f, const struct metrics_input *in)
{
	size_t n = in->num_gpus < METRICS_MAX_GPUS ? in->num_gpus : METRICS_MAX_GPUS;

	if (!n)
		return;
	header(f, "http_energy_gpu_energy_joules_total", "counter",
	       "GPU energy (docs/gpu.md): the driver's energy counter, else power integrated "
	       "over each interval; a separate domain from the node's energy.");
	for (size_t i = 0; i < n; i++) {
		putf(f, "http_energy_gpu_energy_joules_total{gpu=\"%u\",uuid=\"", in->gpus[i].index);
		label(f, in->gpus[i].uuid);
		put(f, "\"}");
		joules(f, in->gpus[i].energy_uj);
	}
	header(f, "http_energy_gpu_power_watts", "gauge", "GPU power in the last interval.");
	for (size_t i = 0; i < n; i++) {
		if (!in->gpus[i].power_known)
			continue;
		putf(f, "http_energy_gpu_power_watts{gpu=\"%u\",uuid=\"", in->gpus[i].index);
		label(f, in->gpus[i].uuid);
		putf(f, "\"} %" PRIu64 ".%03" PRIu64 "\n", in->gpus[i].power_mw / 1000,
		     in->gpus[i].power_mw % 1000);
	}
	if (!in->num_gpu_others)
		return;
	header(f, "http_energy_process_gpu_energy_joules_total", "counter",
	       "GPU energy split by the driver's per-process utilisation (docs/gpu.md); "
	       "pid=\"other\": processes over --metrics-max-processes.");
	for (size_t i = 0; i < in->num_gpu_procs; i++) {
		const struct gpu_process_account *p = &in->gpu_procs[i];

		putf(f, "http_energy_process_gpu_energy_joules_total{pid=\"%u\",start=\"", p->pid);
		if (p->start)
			putf(f, "%" PRIu64, p->start);
		put(f, "\",comm=\"");
		label(f, p->comm);
		putf(f, "\",gpu=\"%u\"}", p->gpu);
		joules(f, p->energy_uj);
	}
	for (size_t i = 0; i < in->num_gpu_others; i++) {
		putf(f,
		     "http_energy_process_gpu_energy_joules_total{pid=\"other\",start=\"\","
		     "comm=\"\",gpu=\"%u\"}",
		     in->gpu_others[i].gpu);
		joules(f, in->gpu_others[i].energy_uj);
	}
}

int metrics_format(const struct metrics_input *in, struct buf *out)
{
	struct fmt f = { .out = out };
	size_t start = out->len;

	node(&f, in);
	if (in->accounts) {
		cgroups(&f, in->accounts);
		processes(&f, in->accounts);
	}
	if (in->requests)
		requests(&f, in->requests);
	routes(&f, in);
	gpus(&f, in);
	collector(&f, in);
	if (f.err)
		out->len = start;
	return f.err;
}
