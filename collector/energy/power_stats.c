// SPDX-License-Identifier: MIT
#include "power_stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of v[0..n), n > 0; sorts v. */
static double median_sorting(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* spread / median with the conventions of struct power_stats. */
static double relative(double spread, double median)
{
	if (spread == 0)
		return 0;
	return median > 0 ? spread / median : INFINITY;
}

int power_stats_compute(const double *samples_uw, size_t n, struct power_stats *out)
{
	struct power_stats s = { .n = n };
	double *work, sum = 0;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(samples_uw[i]))
			return -EINVAL;
	work = malloc(n * sizeof(*work));
	if (!work)
		return -ENOMEM;
	memcpy(work, samples_uw, n * sizeof(*work));
	s.median_uw = median_sorting(work, n);
	s.min_uw = work[0];
	s.max_uw = work[n - 1];
	for (size_t i = 0; i < n; i++) {
		sum += samples_uw[i];
		work[i] = fabs(samples_uw[i] - s.median_uw);
	}
	s.mean_uw = sum / (double)n;
	s.mad_uw = median_sorting(work, n);
	free(work);
	s.fluctuation = relative(POWER_STATS_MAD_TO_SIGMA * s.mad_uw, s.median_uw);
	s.range_fraction = relative(s.max_uw - s.min_uw, s.median_uw);
	*out = s;
	return 0;
}
