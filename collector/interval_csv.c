// SPDX-License-Identifier: MIT
#include "interval_csv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv_schema.h"
#include "feature_values.h"
#include "log.h"

struct interval_csv {
	int fd;
	char *path;
	off_t size;
	uint64_t rows;
	struct buf line;
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
	bool existing;
	int err;

	if (!w)
		return -ENOMEM;
	w->fd = -1;
	w->path = strdup(path);
	if (!w->path) {
		err = -ENOMEM;
		log_error("%s: %s", path, strerror(-err));
		goto fail;
	}
	/* More columns may follow ours: a newer collector's, appended at the end. */
	w->fd = csv_open_append(path, csv_header(), true, "interval CSV", &w->size, &existing);
	if (w->fd < 0) {
		err = w->fd;
		goto fail;
	}
	if (existing)
		log_info("appending to %s", path);
	*out = w;
	return 0;
fail:
	interval_csv__close(w);
	return err;
}

int interval_csv__append(struct interval_csv *w, const struct interval_row *row)
{
	int err;

	buf__clear(&w->line);
	err = interval_csv_format_row(row, &w->line);
	if (!err)
		err = buf__write_whole(&w->line, w->fd, &w->size);
	if (err) {
		log_error("%s: writing interval %" PRIu64 ": %s", w->path, row->interval,
			  strerror(-err));
		return err;
	}
	w->rows++;
	return 0;
}

int interval_csv__reopen(struct interval_csv *w)
{
	struct interval_csv *fresh;
	int err = interval_csv__open(w->path, &fresh);

	if (err)
		return err; /* rows keep going to the file already open */
	close(w->fd);
	w->fd = fresh->fd;
	w->size = fresh->size;
	fresh->fd = -1;
	interval_csv__close(fresh);
	return 0;
}

uint64_t interval_csv__rows(const struct interval_csv *w)
{
	return w->rows;
}

void interval_csv__close(struct interval_csv *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	buf__free(&w->line);
	free(w->path);
	free(w);
}
