// SPDX-License-Identifier: MIT
#include "interval_csv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_file.h"
#include "csv_schema.h"
#include "feature_values.h"
#include "log.h"

struct interval_csv {
	struct csv_file *file;
};

uint64_t interval_idle_uj(uint64_t idle_power_uw, uint64_t duration_ns)
{
	unsigned __int128 p = (unsigned __int128)idle_power_uw * duration_ns;

	return (uint64_t)((p + 500000000) / 1000000000);
}

static int put_u64(struct buf *b, uint64_t v, bool valid)
{
	return valid ? buf__appendf(b, ",%" PRIu64, v) : buf__append(b, ",", 1);
}

static int put_text(struct buf *b, const char *text)
{
	char quoted[1024];
	int n = csv_quote(text ? text : "", quoted, sizeof(quoted));

	if (n < 0)
		return -E2BIG;
	return buf__appendf(b, ",%s", quoted);
}

int interval_csv_format_row(const struct interval_row *row, struct buf *out)
{
	const struct interval_signals *sig = row->sig;
	const struct cpu_signals *h = &sig->host;
	const struct signals_available *av = row->avail;
	uint64_t duration = sig->t_end_ns - sig->t_start_ns;
	uint64_t idle_uj = interval_idle_uj(row->idle_power_uw, duration);
	int64_t active = (int64_t)row->interval_psys_uj - (int64_t)idle_uj;
	int err = 0;

	err |= buf__appendf(out, "%" PRIu64, row->interval);
	err |= put_text(out, row->label);
	err |= buf__appendf(out, ",%" PRIu64 ",%" PRIu64, sig->t_start_ns, sig->t_end_ns);
	err |= put_text(out, row->energy_source);
	err |= buf__appendf(out, ",%" PRIu64 ",%" PRIu64 ",%" PRId64, row->interval_psys_uj,
			    idle_uj, active);
	err |= put_u64(out, h->runtime_ns, true);
#define PUT_FEATURE_(ID, name, weight, avail, fit, field)                                       \
	err |= put_u64(out, feature_host_value(sig, MF_##ID), feature_measured(sig, av, MF_##ID));
	MODEL_FEATURES_BPF(PUT_FEATURE_) /* wakeups .. migrations */
	err |= buf__append(out, ",", 1);
	for (size_t i = 0; i < sig->num_freqs; i++)
		err |= buf__appendf(out, "%s%" PRIu32 ":%" PRIu64, i ? ";" : "",
				    sig->freqs[i].khz, sig->freqs[i].runtime_ns);
	err |= put_u64(out, h->idle_ns, true);
	err |= put_u64(out, h->irq_ns, av->irq);
	err |= put_u64(out, h->softirq_ns, av->softirq);
	err |= put_u64(out, h->kthread_runtime_ns, true);
	err |= put_u64(out, h->page_cache_hits, av->page_cache);
	err |= put_u64(out, h->writebacks, av->writebacks);
	err |= put_u64(out, h->cgroup_runtime_ns, true);
	err |= put_u64(out, row->requests, row->have_requests && !row->no_responses);
	err |= put_u64(out, row->request_energy_uj, row->have_requests && !row->no_responses);
	err |= put_u64(out, row->attributed_uj, row->have_requests);
	err |= put_u64(out, row->gpu_energy_uj, row->have_gpu_energy);
	err |= put_u64(out, row->request_uj, row->have_requests && !row->no_responses);
	if (row->have_requests && !row->no_responses)
		err |= buf__appendf(out, ",%" PRId64, row->not_a_request_uj);
	else
		err |= buf__append(out, ",", 1);
	err |= put_u64(out, row->records_dropped, row->have_requests && !row->no_responses);
	MODEL_FEATURES_HOST(PUT_FEATURE_) /* after every fixed column (csv_schema.h) */
#undef PUT_FEATURE_
	err |= buf__append(out, "\n", 1);
	return err ? -ENOMEM : 0;
}

int interval_csv__open(const char *path, struct interval_csv **out)
{
	struct interval_csv *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	/* More columns may follow ours: a newer collector's, appended at the end. */
	err = csv_file__open(path, csv_header(), true, "interval CSV", &w->file);
	if (err) {
		free(w);
		return err;
	}
	if (csv_file__existed(w->file))
		log_info("appending to %s", path);
	*out = w;
	return 0;
}

int interval_csv__append(struct interval_csv *w, const struct interval_row *row)
{
	int err = interval_csv_format_row(row, csv_file__rows(w->file));

	if (err) {
		log_error("%s: formatting interval %" PRIu64 ": %s", csv_file__path(w->file),
			  row->interval, strerror(-err));
		return err;
	}
	return csv_file__append(w->file, 1);
}

int interval_csv__reopen(struct interval_csv *w)
{
	return csv_file__reopen(w->file);
}

uint64_t interval_csv__rows(const struct interval_csv *w)
{
	return csv_file__rows_written(w->file);
}

void interval_csv__close(struct interval_csv *w)
{
	if (!w)
		return;
	csv_file__close(w->file);
	free(w);
}
