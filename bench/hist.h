/* SPDX-License-Identifier: MIT */
/*
 * Log-linear histogram of non-negative integers (latencies in ns, energies in uJ).
 *
 * Values below 256 are counted exactly; above, each power of two is split into 128
 * equal buckets, so a reported value (its bucket's midpoint) is within 0.4% of the true
 * one. Values up to HIST_MAX_VALUE (2^40 - 1: 18 minutes in ns) are kept at that
 * precision; larger ones land in the last bucket, though min, max and sum stay exact.
 * About 35 KiB each; recording is a few instructions and takes no lock (one histogram
 * per thread, merged at the end).
 */
#ifndef HTTP_ENERGY_BENCH_HIST_H
#define HTTP_ENERGY_BENCH_HIST_H

#include <stdint.h>

#define HIST_MAX_VALUE ((UINT64_C(1) << 40) - 1)

struct hist;

/* Returns NULL (errno ENOMEM) when out of memory. */
struct hist *hist__new(void);
void hist__free(struct hist *h);
void hist__reset(struct hist *h);

void hist__record(struct hist *h, uint64_t value);
/* Adds every count of src to dst. */
void hist__merge(struct hist *dst, const struct hist *src);

uint64_t hist__count(const struct hist *h);
uint64_t hist__min(const struct hist *h); /* 0 when empty */
uint64_t hist__max(const struct hist *h);
uint64_t hist__sum(const struct hist *h); /* saturates at UINT64_MAX */
double hist__mean(const struct hist *h);

/*
 * The nearest-rank percentile p (0 < p <= 100): the value of the ceil(p/100 * count)-th
 * smallest recorded value, to within the bucket precision. p = 100 gives the exact max;
 * an empty histogram gives 0.
 */
uint64_t hist__percentile(const struct hist *h, double p);

#endif
