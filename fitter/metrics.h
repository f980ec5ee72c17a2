/* SPDX-License-Identifier: MIT */
/*
 * Goodness of fit, accumulated row by row in one pass:
 *   MAE  = mean |y - yhat|                     RMSE = sqrt(mean (y - yhat)^2)
 *   MAPE = 100 * mean |y - yhat| / |y| over the rows with |y| > floor (their count kept)
 *   R^2  = 1 - sum (y - yhat)^2 / sum (y - mean y)^2, the mean being this set's own
 * A metric that is undefined (no rows; no row above the floor; a constant y for R^2) is
 * NaN. Sums use Welford's update, so a large mean does not cancel the variance away.
 */
#ifndef FITTER_METRICS_H
#define FITTER_METRICS_H

#include <stddef.h>

struct metrics_acc {
	size_t n, ape_n;
	double floor;
	double sum_abs, sum_sq, sum_ape;
	double mean, m2; /* of y */
};

struct metrics {
	size_t rows, mape_rows;
	double mape_floor;
	double mae, rmse, mape, r2;
};

void metrics_init(struct metrics_acc *a, double mape_floor);
void metrics_add(struct metrics_acc *a, double y, double yhat);
void metrics_result(const struct metrics_acc *a, struct metrics *m);

#endif
