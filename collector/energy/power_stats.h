/* SPDX-License-Identifier: MIT */
/*
 * Summary statistics of power samples, robust to the odd spike: median, the median
 * absolute deviation (MAD) and a fluctuation score built on it, next to the raw range.
 */
#ifndef HTTP_ENERGY_POWER_STATS_H
#define HTTP_ENERGY_POWER_STATS_H

#include <stddef.h>

/* 1.4826 * MAD estimates the standard deviation of normally distributed samples. */
#define POWER_STATS_MAD_TO_SIGMA 1.4826

struct power_stats {
	size_t n;
	double median_uw;
	double mean_uw;
	double mad_uw; /* median of |sample - median| */
	double min_uw, max_uw;
	/* 1.4826 * MAD / median: a robust coefficient of variation. 0 when every sample is
	 * equal, INFINITY when the median is 0 but the samples differ. */
	double fluctuation;
	double range_fraction; /* (max - min) / median, same conventions */
};

/* 0, or -EINVAL when n is 0 or a sample is not finite. samples_uw is not modified. */
int power_stats_compute(const double *samples_uw, size_t n, struct power_stats *out);

#endif
