// SPDX-License-Identifier: MIT
#include "metrics.h"

#include <math.h>
#include <string.h>

void metrics_init(struct metrics_acc *a, double mape_floor)
{
	memset(a, 0, sizeof(*a));
	a->floor = mape_floor;
}

void metrics_add(struct metrics_acc *a, double y, double yhat)
{
	double e = fabs(y - yhat), delta = y - a->mean;

	a->n++;
	a->sum_abs += e;
	a->sum_sq += e * e;
	a->mean += delta / (double)a->n;
	a->m2 += delta * (y - a->mean);
	if (fabs(y) > a->floor) {
		a->ape_n++;
		a->sum_ape += e / fabs(y);
	}
}

void metrics_result(const struct metrics_acc *a, struct metrics *m)
{
	double n = (double)a->n;

	m->rows = a->n;
	m->mape_rows = a->ape_n;
	m->mape_floor = a->floor;
	m->mae = a->n ? a->sum_abs / n : NAN;
	m->rmse = a->n ? sqrt(a->sum_sq / n) : NAN;
	m->mape = a->ape_n ? 100 * a->sum_ape / (double)a->ape_n : NAN;
	m->r2 = a->n && a->m2 > 0 ? 1 - a->sum_sq / a->m2 : NAN;
}
