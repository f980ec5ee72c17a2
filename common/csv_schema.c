// SPDX-License-Identifier: MIT
#include "csv_schema.h"

#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define FEATURE_NAME_(ID, name, weight, avail, fit, field) [CSV_##ID] = #name,

static const char *const names[CSV_COLUMNS] = {
	[CSV_INTERVAL] = "interval",
	[CSV_LABEL] = "label",
	[CSV_T_START_NS] = "t_start_ns",
	[CSV_T_END_NS] = "t_end_ns",
	[CSV_ENERGY_SOURCE] = "energy_source",
	[CSV_INTERVAL_PSYS_UJ] = "interval_psys_uj",
	[CSV_IDLE_UJ] = "idle_uj",
	[CSV_ACTIVE_PSYS_UJ] = "active_psys_uj",
	[CSV_RUNTIME_NS] = "runtime_ns",
	MODEL_FEATURES(FEATURE_NAME_)
	[CSV_FREQ_RUNTIME_NS] = "freq_runtime_ns",
	[CSV_IDLE_NS] = "idle_ns",
	[CSV_IRQ_NS] = "irq_ns",
	[CSV_SOFTIRQ_NS] = "softirq_ns",
	[CSV_KTHREAD_RUNTIME_NS] = "kthread_runtime_ns",
	[CSV_PAGE_CACHE_HITS] = "page_cache_hits",
	[CSV_WRITEBACKS] = "writebacks",
	[CSV_CGROUP_RUNTIME_NS] = "cgroup_runtime_ns",
	[CSV_REQUESTS] = "requests",
	[CSV_REQUEST_ENERGY_UJ] = "request_energy_uj",
	[CSV_ATTRIBUTED_UJ] = "attributed_uj",
	[CSV_GPU_ENERGY_UJ] = "gpu_energy_uj",
	[CSV_REQUEST_UJ] = "request_uj",
	[CSV_NOT_A_REQUEST_UJ] = "not_a_request_uj",
	[CSV_RECORDS_DROPPED] = "records_dropped",
};

const char *csv_column_name(enum csv_column col)
{
	return col < CSV_COLUMNS ? names[col] : NULL;
}

int csv_column_find(const char *name)
{
	for (int i = 0; i < CSV_COLUMNS; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

static char header_line[1024];

static void build_header(void)
{
	size_t o = 0;

	for (int i = 0; i < CSV_COLUMNS; i++)
		o += (size_t)snprintf(header_line + o, sizeof(header_line) - o, "%s%s", i ? "," : "",
				      names[i]);
}

const char *csv_header(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, build_header);
	return header_line;
}

int csv_quote(const char *field, char *out, size_t out_len)
{
	size_t o = 0;
	bool quote = strpbrk(field, ",\"\r\n") != NULL;

	if (quote) {
		if (o + 1 >= out_len)
			return -1;
		out[o++] = '"';
	}
	for (const char *p = field; *p; p++) {
		size_t need = (quote && *p == '"') ? 2 : 1;

		if (o + need >= out_len)
			return -1;
		if (need == 2)
			out[o++] = '"';
		out[o++] = *p;
	}
	if (quote) {
		if (o + 1 >= out_len)
			return -1;
		out[o++] = '"';
	}
	out[o] = '\0';
	return (int)o;
}
