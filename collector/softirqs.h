/* SPDX-License-Identifier: MIT */
/*
 * Softirq counts per vector, host-wide, per interval: differences of /proc/softirqs, the
 * kernel's own per-CPU counters (each softirq handler run counts once), summed over CPUs.
 * Reading the file costs no hook; it is the count Tycho takes from softirq_entry
 * (docs/csv-format.md).
 *
 * The file has a header of CPU columns ("CPU0 CPU1 ...", possible CPUs, so the count may
 * differ between hosts and, with hotplug, between kernels) and one row per vector
 * ("NET_RX: 12 34"). The groups are the vectors that matter for a server on their own, and
 * the rest (HI, IRQ_POLL, TASKLET, HRTIMER, any new one) summed.
 */
#ifndef COLLECTOR_SOFTIRQS_H
#define COLLECTOR_SOFTIRQS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum softirq_group {
	SOFTIRQ_NET_RX,
	SOFTIRQ_NET_TX,
	SOFTIRQ_BLOCK,
	SOFTIRQ_TIMER,
	SOFTIRQ_SCHED,
	SOFTIRQ_RCU,
	SOFTIRQ_OTHER,
	SOFTIRQ_GROUPS,
};

/* One interval's counts (model_features.h's softirq_* features). */
struct softirq_counts {
	bool valid; /* false: unmeasured in this interval (empty CSV cells) */
	uint64_t count[SOFTIRQ_GROUPS];
};

/*
 * Parses the text of /proc/softirqs into each group's total over all CPUs. On a malformed
 * text returns -EINVAL and writes one line "NAME:LINE: WHAT" into err (name is what the
 * message calls the file); nothing is printed.
 */
int softirqs_parse(const char *name, const char *text, size_t len, uint64_t totals[SOFTIRQ_GROUPS],
		   char *err, size_t err_len);

struct softirqs;

/*
 * root: the directory below which proc/softirqs is read (NULL: "/"). Takes the first
 * sample. A missing or malformed file is not an error: one line says so and every
 * interval is unmeasured. 0 or -ENOMEM.
 */
int softirqs__open(const char *root, struct softirqs **out);
/*
 * Takes a sample now (at an interval boundary) and fills out with the counts since the
 * previous one. Unmeasured when either sample failed or a total went down (a CPU's
 * counters gone); a failure is reported once, the first time.
 */
void softirqs__sample(struct softirqs *s, struct softirq_counts *out);
void softirqs__close(struct softirqs *s);

#endif
