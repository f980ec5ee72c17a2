// SPDX-License-Identifier: MIT
#include "hist.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SUB_BITS 7
#define SUB (1u << SUB_BITS)
#define VALUE_BITS 40
/* Shift 0 covers [0, 2 * SUB); each further shift one power of two of SUB buckets. */
#define NUM_BUCKETS ((VALUE_BITS - SUB_BITS + 1) * SUB)

struct hist {
	uint64_t count;
	uint64_t min;
	uint64_t max;
	uint64_t sum;
	uint64_t buckets[NUM_BUCKETS];
};

static unsigned bucket_of(uint64_t v)
{
	unsigned msb, shift;

	if (v > HIST_MAX_VALUE)
		v = HIST_MAX_VALUE;
	if (v < 2 * SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - SUB_BITS;
	return shift * SUB + (unsigned)(v >> shift);
}

/* The midpoint of bucket i. */
static uint64_t bucket_value(unsigned i)
{
	unsigned shift;
	uint64_t lo;

	if (i < 2 * SUB)
		return i;
	shift = i / SUB - 1;
	lo = (uint64_t)(i - shift * SUB) << shift;
	return lo + (((uint64_t)1 << shift) - 1) / 2;
}

struct hist *hist__new(void)
{
	struct hist *h = calloc(1, sizeof(*h));

	if (!h)
		errno = ENOMEM;
	return h;
}

void hist__free(struct hist *h)
{
	free(h);
}

void hist__reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

void hist__record(struct hist *h, uint64_t value)
{
	if (h->count == 0 || value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
	h->sum = h->sum + value < h->sum ? UINT64_MAX : h->sum + value;
	h->count++;
	h->buckets[bucket_of(value)]++;
}

void hist__merge(struct hist *dst, const struct hist *src)
{
	if (src->count == 0)
		return;
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->sum = dst->sum + src->sum < dst->sum ? UINT64_MAX : dst->sum + src->sum;
	dst->count += src->count;
	for (unsigned i = 0; i < NUM_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
}

uint64_t hist__count(const struct hist *h)
{
	return h->count;
}

uint64_t hist__min(const struct hist *h)
{
	return h->min;
}

uint64_t hist__max(const struct hist *h)
{
	return h->max;
}

uint64_t hist__sum(const struct hist *h)
{
	return h->sum;
}

double hist__mean(const struct hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}

uint64_t hist__percentile(const struct hist *h, double p)
{
	uint64_t rank, seen = 0;

	if (h->count == 0)
		return 0;
	if (p >= 100.0)
		return h->max;
	/* The epsilon keeps 99.9% of 1000 at rank 999 despite rounding. */
	rank = (uint64_t)ceil(p / 100.0 * (double)h->count - 1e-9);
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < NUM_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			uint64_t v = bucket_value(i);

			/* The bucket may be wider than what was seen in it. */
			if (v < h->min)
				v = h->min;
			if (v > h->max)
				v = h->max;
			return v;
		}
	}
	return h->max;
}
