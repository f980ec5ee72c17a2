/* SPDX-License-Identifier: MIT */
/*
 * The interval CSV's columns (docs/csv-format.md), in file order. http_energy writes them;
 * fit_energy finds them by name. More columns may follow these in a file.
 */
#ifndef HTTP_ENERGY_CSV_SCHEMA_H
#define HTTP_ENERGY_CSV_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "model_features.h"

#define CSV_FEATURE_COLUMN_(ID, name, weight, avail, fit, field) CSV_##ID,

enum csv_column {
	CSV_INTERVAL,
	CSV_LABEL,
	CSV_T_START_NS,
	CSV_T_END_NS,
	CSV_ENERGY_SOURCE,
	CSV_INTERVAL_PSYS_UJ,
	CSV_IDLE_UJ,
	CSV_ACTIVE_PSYS_UJ,
	CSV_RUNTIME_NS,
	MODEL_FEATURES_BPF(CSV_FEATURE_COLUMN_) /* wakeups, cycles, ..., migrations */
	CSV_FREQ_RUNTIME_NS,
	CSV_IDLE_NS,
	CSV_IRQ_NS,
	CSV_SOFTIRQ_NS,
	CSV_KTHREAD_RUNTIME_NS,
	CSV_PAGE_CACHE_HITS,
	CSV_WRITEBACKS,
	CSV_CGROUP_RUNTIME_NS,
	CSV_REQUESTS,
	CSV_REQUEST_ENERGY_UJ,
	CSV_ATTRIBUTED_UJ,
	CSV_GPU_ENERGY_UJ,
	CSV_REQUEST_UJ,		/* issue 13: whole-request energy of responses completed */
	CSV_NOT_A_REQUEST_UJ,	/* the tracked cgroup's energy no completed request took */
	CSV_RECORDS_DROPPED,	/* request records the ring buffer had no room for */
	/* Add fixed columns above this line; the host-wide features always come last. */
	MODEL_FEATURES_HOST(CSV_FEATURE_COLUMN_) /* softirq_net_rx, ... */
	CSV_COLUMNS,
};

const char *csv_column_name(enum csv_column col);
/* The column with this name, or -1. */
int csv_column_find(const char *name);
/* The header line, without a newline: "interval,label,...,softirq_other". */
const char *csv_header(void);

/*
 * Appends field to out (of out_len bytes, NUL-terminated), quoted per RFC 4180 when it
 * holds a comma, quote, CR or LF. Returns the length written, or -1 if it did not fit.
 */
int csv_quote(const char *field, char *out, size_t out_len);

#endif
