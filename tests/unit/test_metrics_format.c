// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "metrics_format.h"
#include "metrics_http.h"

static int identify(void *ctx, uint32_t tgid, uint64_t *start, char comm[ACCOUNTS_COMM_LEN])
{
	*start = 1000 + tgid;
	snprintf(comm, ACCOUNTS_COMM_LEN, tgid == 2 ? "we\"ird\\na" : "p%u", tgid);
	return 0;
}

static const char *cgroup_path(void *ctx, uint64_t id)
{
	return id == 9 ? "/kubepods/burstable/pod0b8e1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b" : "/sys";
}

static char *format(const struct metrics_input *in, struct buf *b)
{
	buf__clear(b);
	assert_int_equal(metrics_format(in, b), 0);
	assert_int_equal(buf__append(b, "", 1), 0);
	return b->data;
}

static void test_node_and_info(void **state)
{
	struct metrics_input in = { .version = "v1", .energy_source = "synthetic", .mode = "psys",
				    .signals = "irq", .idle_uj = 1500000, .dynamic_uj = 2000001,
				    .busy_ns = 1500000000, .intervals = 7 };
	struct buf b = BUF_INIT;
	char *t = format(&in, &b);

	assert_non_null(strstr(t, "http_energy_info{version=\"v1\",energy_source=\"synthetic\","
				  "measured=\"false\",mode=\"psys\",signals=\"irq\"} 1\n"));
	assert_non_null(strstr(t, "# TYPE http_energy_node_energy_joules_total counter\n"));
	assert_non_null(strstr(t, "http_energy_node_energy_joules_total{component=\"idle\"} "
				  "1.500000\n"));
	assert_non_null(strstr(t, "{component=\"dynamic\"} 2.000001\n"));
	assert_non_null(strstr(t, "http_energy_node_cpu_seconds_total{mode=\"busy\"} "
				  "1.500000000\n"));
	assert_non_null(strstr(t, "http_energy_intervals_total 7\n"));
	/* no accounts, no requests: none of their families */
	assert_null(strstr(t, "http_energy_cgroup_energy_joules_total"));
	assert_null(strstr(t, "http_energy_requests_total"));
	assert_null(strstr(t, "http_energy_route_"));
	buf__free(&b);
}

/* Issue 16: GPU energy as its own family, per physical GPU; no GPU, no family. */
static void test_gpus(void **state)
{
	struct metrics_gpu g[2] = {
		{ .index = 0, .uuid = "GPU-aaaa", .energy_uj = 12345678, .power_known = true,
		  .power_mw = 61250 },
		{ .index = 1, .uuid = "GPU-b\"b", .energy_uj = 7 },
	};
	struct metrics_input in = { .version = "v", .energy_source = "", .mode = "psys",
				    .signals = "", .gpus = g, .num_gpus = 2 };
	struct buf b = BUF_INIT;
	char *t = format(&in, &b);

	assert_non_null(strstr(t, "# TYPE http_energy_gpu_energy_joules_total counter\n"));
	assert_non_null(strstr(t, "http_energy_gpu_energy_joules_total{gpu=\"0\",uuid=\"GPU-aaaa\"}"
				  " 12.345678\n"));
	assert_non_null(strstr(t, "{gpu=\"1\",uuid=\"GPU-b\\\"b\"} 0.000007\n"));
	assert_non_null(strstr(t, "http_energy_gpu_power_watts{gpu=\"0\",uuid=\"GPU-aaaa\"} "
				  "61.250\n"));
	assert_null(strstr(t, "http_energy_gpu_power_watts{gpu=\"1\""));
	/* no GPU splits per process: no per-process family */
	assert_null(strstr(t, "http_energy_process_gpu_energy_joules_total"));
	{
		struct gpu_process_account p[2] = {
			{ .gpu = 1,
			  .pid = 42,
			  .start = 777,
			  .comm = "trainer",
			  .energy_uj = 2500000 },
			{ .gpu = 1, .pid = 43, .energy_uj = 1 },
		};
		struct gpu_other_account o = { .gpu = 1, .energy_uj = 3 };

		in.gpu_procs = p;
		in.num_gpu_procs = 2;
		in.gpu_others = &o;
		in.num_gpu_others = 1;
		t = format(&in, &b);
		assert_non_null(strstr(t, "# TYPE http_energy_process_gpu_energy_joules_total "
					  "counter\n"));
		assert_non_null(strstr(t, "http_energy_process_gpu_energy_joules_total{pid=\"42\","
					  "start=\"777\",comm=\"trainer\",gpu=\"1\"} 2.500000\n"));
		assert_non_null(
			strstr(t, "{pid=\"43\",start=\"\",comm=\"\",gpu=\"1\"} 0.000001\n"));
		assert_non_null(strstr(t, "{pid=\"other\",start=\"\",comm=\"\",gpu=\"1\"} "
					  "0.000003\n"));
		in.num_gpu_procs = in.num_gpu_others = 0;
	}
	in.num_gpus = 0;
	t = format(&in, &b);
	assert_null(strstr(t, "http_energy_gpu_"));
	buf__free(&b);
}

static const char *route_cgroup(void *ctx, uint64_t id)
{
	return id == 7 ? "/svc" : NULL;
}

/* Issue 15: per-route families, exact lines: status classes seen, nJ-exact energy, the
 * histogram cumulative with +Inf = count, "_other" routes and cgroups. */
static void test_routes(void **state)
{
	struct route_stats r[3] = {
		{ .cgroup_id = 7,
		  .method = "GET",
		  .path = "/a\"b",
		  .requests = { 3, 0, 1 },
		  .energy_uj = 1500000,
		  .energy_frac = 1 << 15,
		  .cpu_ns = 2000000001,
		  .buckets = { [1] = 1, [3] = 2 },
		  .over_buckets = 1 },
		{ .cgroup_id = 7,
		  .other_route = true,
		  .requests = { [ROUTE_CODE_OTHER] = 2 },
		  .energy_uj = 3,
		  .energy_frac = 65535,
		  .buckets = { 2 } },
		{ .other_cgroup = true,
		  .method = "PUT",
		  .path = "/x",
		  .requests = { [3] = 1 },
		  .buckets = { 1 } },
	};
	struct metrics_input in = { .version = "v",
				    .energy_source = "",
				    .mode = "psys",
				    .signals = "",
				    .routes = r,
				    .num_routes = 3,
				    .cgroup_name = route_cgroup };
	struct buf b = BUF_INIT;
	char *t = format(&in, &b);
	const char *l = "{cgroup=\"/svc\",method=\"GET\",route=\"/a\\\"b\"";

	assert_non_null(strstr(t, "# TYPE http_energy_route_requests_total counter\n"));
	assert_non_null(strstr(t, "http_energy_route_requests_total{cgroup=\"/svc\",method=\"GET\","
				  "route=\"/a\\\"b\",code_class=\"2xx\"} 3\n"));
	assert_non_null(strstr(t, ",code_class=\"4xx\"} 1\n"));
	assert_null(strstr(t, ",code_class=\"3xx\""));
	assert_non_null(strstr(t,
			       "http_energy_route_requests_total{cgroup=\"/svc\",method=\"_other\","
			       "route=\"_other\",code_class=\"other\"} 2\n"));
	assert_non_null(strstr(t,
			       "http_energy_route_requests_total{cgroup=\"_other\",method=\"PUT\","
			       "route=\"/x\",code_class=\"5xx\"} 1\n"));
	/* 1.5 J + half a µJ; 3 µJ + 65535/65536 µJ rounds up to 4 µJ */
	assert_non_null(strstr(t, "http_energy_route_energy_joules_total{cgroup=\"/svc\","
				  "method=\"GET\",route=\"/a\\\"b\"} 1.500000500\n"));
	assert_non_null(strstr(t, "route=\"_other\"} 0.000004000\n"));
	assert_non_null(strstr(t, "http_energy_route_cpu_seconds_total{cgroup=\"/svc\","
				  "method=\"GET\",route=\"/a\\\"b\"} 2.000000001\n"));
	assert_non_null(strstr(t, "# TYPE http_energy_route_request_energy_joules histogram\n"));
	{
		char want[256];
		const char *le[] = { "0.000001", "0.000004", "0.000016", "0.000064" };
		uint64_t cum[] = { 0, 1, 1, 3 };

		for (int i = 0; i < 4; i++) {
			snprintf(want, sizeof(want),
				 "http_energy_route_request_energy_joules_bucket%s,le=\"%s\"} %u\n",
				 l, le[i], (unsigned)cum[i]);
			assert_non_null(strstr(t, want));
		}
		snprintf(want, sizeof(want),
			 "http_energy_route_request_energy_joules_bucket%s,le=\"16.777216\"} 3\n",
			 l);
		assert_non_null(strstr(t, want));
		snprintf(want, sizeof(want),
			 "http_energy_route_request_energy_joules_bucket%s,le=\"+Inf\"} 4\n", l);
		assert_non_null(strstr(t, want));
		snprintf(want, sizeof(want),
			 "http_energy_route_request_energy_joules_sum%s} "
			 "1.500000500\n",
			 l);
		assert_non_null(strstr(t, want));
		snprintf(want, sizeof(want), "http_energy_route_request_energy_joules_count%s} 4\n",
			 l);
		assert_non_null(strstr(t, want));
	}
	/* no record stream: no dropped-records series */
	assert_null(strstr(t, "http_energy_records_dropped_total"));
	buf__free(&b);
}

static void test_every_family_has_help_and_type_once(void **state)
{
	struct accounts_opts ao = { .max_cgroups = 4, .max_processes = 4, .identify = identify,
				    .cgroup_path = cgroup_path };
	struct proc_interval procs[2] = { { .tgid = 2, .cgroup_id = 9 }, { .tgid = 3, .cgroup_id = 4 } };
	uint64_t uj[2] = { 1234567, 1 };
	struct request_totals rt = { .heads = 3, .responses = 3, .injected = 2, .energy_uj = 9 };
	struct route_stats route = { .cgroup_id = 4,
				     .method = "GET",
				     .path = "/cpu",
				     .requests = { 2 },
				     .energy_uj = 300,
				     .buckets = { 1 },
				     .over_buckets = 1 };
	uint64_t dropped = 5;
	struct metrics_input in = { .version = "v",
				    .energy_source = "",
				    .mode = "model",
				    .signals = "",
				    .requests = &rt,
				    .routes = &route,
				    .num_routes = 1,
				    .records_dropped = &dropped };
	struct accounts *a;
	struct buf b = BUF_INIT;
	char *t, *line;
	char seen[64][96];
	int nseen = 0;

	assert_int_equal(accounts__new(&ao, &a), 0);
	assert_int_equal(accounts__add_interval(a, procs, uj, 2), 0);
	in.accounts = a;
	t = format(&in, &b);
	assert_non_null(strstr(t, "http_energy_cgroup_energy_joules_total{cgroup=\"/kubepods/"
				  "burstable/pod0b8e1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b\",pod_uid=\""
				  "0b8e1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b\",qos=\"burstable\","
				  "container_id=\"\"} 1.234567\n"));
	assert_non_null(strstr(t, "{cgroup=\"_other\",pod_uid=\"\",qos=\"\",container_id=\"\"} "
				  "0.000000\n"));
	/* a comm with a quote, a backslash: escaped */
	assert_non_null(strstr(t, "http_energy_process_energy_joules_total{pid=\"2\","
				  "start=\"1002\",comm=\"we\\\"ird\\\\na\"} 1.234567\n"));
	assert_non_null(strstr(t, "http_energy_headers_skipped_total{reason=\"push_failed\"} 0\n"));
	assert_non_null(strstr(t,
			       "http_energy_route_request_energy_joules_bucket{cgroup=\"(id 4)\","
			       "method=\"GET\",route=\"/cpu\",le=\"0.000001\"} 1\n"));
	assert_non_null(strstr(t, "le=\"+Inf\"} 2\n"));
	assert_non_null(strstr(t, "http_energy_records_dropped_total 5\n"));
	/* each TYPE line once; counters end in _total; every sample after its family's TYPE */
	for (line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
		char name[96], type[16];

		if (sscanf(line, "# TYPE %95s %15s", name, type) == 2) {
			for (int i = 0; i < nseen; i++)
				assert_string_not_equal(seen[i], name);
			assert_true(nseen < 64);
			strcpy(seen[nseen++], name);
			if (strcmp(type, "counter") == 0)
				assert_non_null(strstr(name, "_total"));
			assert_int_equal(strncmp(name, "http_energy_", 12), 0);
			continue;
		}
		if (line[0] == '#')
			continue;
		assert_true(nseen > 0);
		assert_int_equal(strncmp(line, seen[nseen - 1], strlen(seen[nseen - 1])), 0);
	}
	assert_true(nseen > 20);
	accounts__free(a);
	buf__free(&b);
}

static void test_label_values_are_valid_utf8(void **state)
{
	struct buf b = BUF_INIT;

	/* é, a 4-byte emoji, then: a truncated 2-byte sequence, a stray continuation byte,
	 * an overlong '/', a surrogate, 0xff */
	assert_int_equal(metrics_append_label_value(&b, "\xc3\xa9\xf0\x9f\x98\x80|\xc3|\x80|"
							"\xc0\xaf|\xed\xa0\x80|\xff\"\\\n"),
			 0);
	assert_int_equal(buf__append(&b, "", 1), 0);
	assert_string_equal(b.data, "\xc3\xa9\xf0\x9f\x98\x80|?|?|??|???|?\\\"\\\\\\n");
	buf__free(&b);
}

static void test_parse_addr(void **state)
{
	char host[64];
	uint16_t port;

	assert_int_equal(metrics_parse_addr("127.0.0.1:9100", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 9100);
	assert_int_equal(metrics_parse_addr("[::1]:0", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 0);
	assert_int_equal(metrics_parse_addr(":80", host, sizeof(host), &port), 0);
	assert_string_equal(host, "");
	assert_int_equal(metrics_parse_addr("localhost:65535", host, sizeof(host), &port), 0);
	assert_int_equal(metrics_parse_addr("localhost", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(metrics_parse_addr("::1:80", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(metrics_parse_addr("h:65536", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(metrics_parse_addr("h:-1", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(metrics_parse_addr("h:", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(metrics_parse_addr("[::1]80", host, sizeof(host), &port), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_and_info),
		cmocka_unit_test(test_gpus),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_every_family_has_help_and_type_once),
		cmocka_unit_test(test_label_values_are_valid_utf8),
		cmocka_unit_test(test_parse_addr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
