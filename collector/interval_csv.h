/* SPDX-License-Identifier: MIT */
/*
 * The interval CSV (docs/csv-format.md): one row per psys_interval_ms.
 *
 * interval_csv_format_row() is pure. The writer appends whole rows only: a row is one
 * write(2), and a short or failed write is cut back off the file, so a reader never sees
 * half a row. An existing file is appended to if its header is ours, else refused.
 */
#ifndef COLLECTOR_INTERVAL_CSV_H
#define COLLECTOR_INTERVAL_CSV_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "signals_api.h"

struct interval_row {
	uint64_t interval;
	const char *label;
	const char *energy_source;
	uint64_t interval_psys_uj; /* measured (or modelled, for synthetic) energy */
	uint64_t idle_power_uw;	   /* idle_uj = idle_power_uw * duration */
	const struct interval_signals *sig;
	const struct signals_available *avail;
	bool have_requests; /* false until request tracking fills the last three */
	bool no_responses;  /* --no-header without records: responses unmeasured (empty) */
	uint64_t requests;
	uint64_t request_energy_uj;
	uint64_t attributed_uj;
	bool have_gpu_energy; /* false: an empty gpu_energy_uj (no GPU source, or unknown) */
	uint64_t gpu_energy_uj;
	/* issue 13, with have_requests and responses framed (else empty cells) */
	uint64_t request_uj;	  /* whole-request µJ of the responses completed */
	int64_t not_a_request_uj; /* the tracked cgroup's µJ less request_uj (signed) */
	uint64_t records_dropped;
};

/* µJ used by idle_power_uw over duration_ns, rounded to nearest. */
uint64_t interval_idle_uj(uint64_t idle_power_uw, uint64_t duration_ns);

/* Appends one CSV line (with '\n') to out. 0 or -ENOMEM. */
int interval_csv_format_row(const struct interval_row *row, struct buf *out);

struct interval_csv;

int interval_csv__open(const char *path, struct interval_csv **out);
int interval_csv__append(struct interval_csv *w, const struct interval_row *row);
/* Log rotation (SIGHUP): opens the path again (a new file gets the header) and writes the
 * next rows there; on failure the old file stays in use. */
int interval_csv__reopen(struct interval_csv *w);
uint64_t interval_csv__rows(const struct interval_csv *w);
void interval_csv__close(struct interval_csv *w);

#endif
